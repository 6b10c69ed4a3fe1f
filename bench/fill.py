#!/usr/bin/env python3
"""Fill a server with N keys as fast as it takes them: pipelined SETs (or HSETs) on one socket.

    /tmp/venv/bin/python bench/fill.py --port 6379 --keys 1000000 --value-size 100
    /tmp/venv/bin/python bench/fill.py --port 6379 --keys 1000000 --value-size 4 --fields 3

Keys are ``key:%012d`` (redis-benchmark's format, 16 bytes), values ``value-size``
bytes; with ``--fields N`` each key is a hash of N fields ``f1``..``fN`` (one HSET each).
Commands go in batches of ``--batch``; the next batch is sent before the
replies of the previous one are read, so the server never waits for the client.
Every reply must be ``+OK`` (``:N`` for HSET).
"""

from __future__ import annotations

import argparse
import socket
import sys


def _batch(start: int, count: int, value: bytes, fields: int = 0) -> bytes:
    if fields:
        header = b"*%d\r\n$4\r\nHSET\r\n$16\r\n" % (2 + 2 * fields)
        pairs = (b"$%d\r\nf%d\r\n" % (len(b"f%d" % n), n) for n in range(1, fields + 1))
        tail = b"\r\n" + b"".join(p + b"$%d\r\n%s\r\n" % (len(value), value) for p in pairs)
    else:
        header = b"*3\r\n$3\r\nSET\r\n$16\r\n"
        tail = b"\r\n$%d\r\n%s\r\n" % (len(value), value)
    return b"".join(header + b"key:%012d" % i + tail for i in range(start, start + count))


def _expect_ok(
    sock: socket.socket, count: int, pending: bytearray, reply: bytes = b"+OK\r\n"
) -> None:
    need = len(reply) * count
    while len(pending) < need:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection while filling")
        pending += chunk
    replies = bytes(pending[:need])
    del pending[:need]
    if replies != reply * count:
        bad = replies.replace(reply, b"")[:200]
        raise RuntimeError(f"unexpected reply while filling: {bad!r}")


def fill(
    host: str,
    port: int,
    keys: int,
    value_size: int = 100,
    batch: int = 1000,
    password: str | None = None,
    fields: int = 0,
) -> None:
    value = b"x" * value_size
    reply = b":%d\r\n" % fields if fields else b"+OK\r\n"
    with socket.create_connection((host, port), timeout=120) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = bytearray()
        if password:
            sock.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(password), password.encode()))
            _expect_ok(sock, 1, pending)
        in_flight = 0
        for start in range(1, keys + 1, batch):
            count = min(batch, keys + 1 - start)
            sock.sendall(_batch(start, count, value, fields))
            if in_flight:
                _expect_ok(sock, in_flight, pending, reply)
            in_flight = count
        if in_flight:
            _expect_ok(sock, in_flight, pending, reply)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--password", default=None)
    parser.add_argument("--fields", type=int, default=0, help="hashes of this many fields")
    args = parser.parse_args(argv)
    fill(args.host, args.port, args.keys, args.value_size, args.batch, args.password, args.fields)
    return 0


if __name__ == "__main__":
    sys.exit(main())
