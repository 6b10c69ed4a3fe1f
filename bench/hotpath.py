#!/usr/bin/env python3
"""CPU per command on the server's hot path, in process, without sockets.

    .venv/bin/python bench/hotpath.py                  # SET/GET, batches of 1 and 16
    .venv/bin/python bench/hotpath.py --profile set16  # cProfile of one case

A :class:`~respcache.server.connection.RespConnection` of a real
:class:`~respcache.server.app.Server` (default configuration, nothing listening)
gets its bytes from ``data_received`` and writes to a transport that only counts
them: what is left is exactly the work per command that ``redis-benchmark`` makes
the server do, minus the event loop and the kernel. On a shared machine this is a
steadier step-by-step measure than ``bench/run.py`` (which is the figure that
counts): each case is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from respcache.config import Config  # noqa: E402
from respcache.protocol.encoder import encode_command  # noqa: E402
from respcache.server.app import Server  # noqa: E402
from respcache.server.connection import RespConnection  # noqa: E402


class CountingTransport:
    """Enough of ``asyncio.Transport`` for a connection: writes are counted, not sent."""

    def __init__(self) -> None:
        self.written = 0
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)
        self.writes += 1

    def writelines(self, data: list[bytes]) -> None:
        self.written += sum(map(len, data))
        self.writes += 1

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name in ("peername", "sockname") else default

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def batches(command: str, count: int, per_read: int) -> list[bytes]:
    """``count`` commands as redis-benchmark sends them (random keys, 100-byte values)."""
    value = b"x" * 100
    out = []
    frames = []
    for i in range(count):
        key = b"key:%012d" % ((i * 7919) % 100_000)
        argv = {
            "set": [b"SET", key, value],
            "get": [b"GET", key],
            "incr": [b"INCR", b"counter:" + key[4:]],
            "lpush": [b"LPUSH", b"mylist", value],
            "hset": [b"HSET", b"myhash", key, value],
            "sadd": [b"SADD", b"myset", key],
            "zadd": [b"ZADD", b"myzset", b"%d" % (i % 1000), key],
        }[command]
        frames.append(encode_command(argv))
        if len(frames) == per_read:
            out.append(b"".join(frames))
            frames = []
    if frames:
        out.append(b"".join(frames))
    return out


def run_case(server: Server, command: str, per_read: int, count: int) -> float:
    """Microseconds of CPU per command."""
    conn = RespConnection(server)
    transport = CountingTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    data = batches(command, count, per_read)
    start = time.process_time()
    for chunk in data:
        conn.data_received(chunk)
    elapsed = time.process_time() - start
    conn.connection_lost(None)
    return elapsed / count * 1e6


CASES = {
    "set1": ("set", 1),
    "get1": ("get", 1),
    "set16": ("set", 16),
    "get16": ("get", 16),
    "incr1": ("incr", 1),
    "lpush1": ("lpush", 1),
    "hset1": ("hset", 1),
    "sadd1": ("sadd", 1),
    "zadd1": ("zadd", 1),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", choices=sorted(CASES), default=None)
    parser.add_argument("cases", nargs="*", default=["set1", "get1", "set16", "get16"])
    args = parser.parse_args(argv)
    server = Server(Config(save=""))
    # Fill the keyspace first so that GET finds values, as in redis-benchmark after SET.
    run_case(server, "set", 100, 100_000)
    if args.profile:
        command, per_read = CASES[args.profile]
        profiler = cProfile.Profile()
        profiler.enable()
        run_case(server, command, per_read, args.count)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return 0
    for name in args.cases:
        command, per_read = CASES[name]
        best = min(run_case(server, command, per_read, args.count) for _ in range(args.repeat))
        print(f"{name:8} {best:6.2f} us/command")
    return 0


if __name__ == "__main__":
    sys.exit(main())
