#!/usr/bin/env python3
"""Where a pipelined batch of 16 SETs/GETs spends its CPU, and what a key costs in memory.

    PYTHONPATH=$PWD .venv/bin/python bench/breakdown.py            # both tables
    PYTHONPATH=$PWD .venv/bin/python bench/breakdown.py time       # or: memory

Compiled or pure is whatever ``import respcache`` gives (``RESPCACHE_PURE=1`` for pure);
the first line says which.

**Time** (µs of CPU per command, batches of 16 as ``redis-benchmark -P 16`` sends them,
best of ``--repeat``). Each layer is measured on its own, from the inside out, on the
same keys and values: the store call alone (``Database.set``/``lookup``), the handler
(``set_``/``get``), ``Engine.call`` (clock, statistics, propagation), ``Engine.execute``
(lookup, arity, gates), the parser alone (``feed`` + ``next_command``), then the whole
``RespConnection.data_received`` as ``bench/hotpath.py`` runs it (its transport only
counts). Each row's *own* time is its figure minus the layer it wraps; the connection's
own time (reply dispatch, the output list, ``join``) is the whole minus parse and
execute. The kernel and event loop are measured over a real socket pair, with the
client in another process (its CPU is not counted): the server's CPU per read with a
protocol that only writes a fixed 16-reply answer (the floor: ``select``, ``recv``,
callback, ``send``), and the same with the real ``RespConnection``.

**Memory** (bytes per key, ``tracemalloc`` over 100,000 keys, so allocator rounding
is included): the dict entry of ``Database.data`` (an ``OrderedDict``: its hash table
share and its linked-list node are measured apart, against a plain ``dict``), the key
object, the value object, a TTL entry in ``Database.expires``, and the access clock
(LFU counter in ``Database.lfu``; the LRU clock is the OrderedDict order itself).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from hotpath import CountingTransport, batches  # noqa: E402

import respcache  # noqa: E402
from respcache.config import Config  # noqa: E402
from respcache.protocol.parser import RequestParser  # noqa: E402
from respcache.server.app import Server  # noqa: E402
from respcache.server.connection import RespConnection  # noqa: E402

PER_READ = 16


def compiled_state() -> str:
    from respcache.protocol import parser

    build = "compiled (mypyc)" if parser.__file__.endswith(".so") else "pure Python"
    try:
        import uvloop
    except ImportError:
        return f"{build}, asyncio event loop"
    return f"{build}, uvloop {uvloop.__version__}"


def best(fn: Callable[[], float], repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def timed(fn: Callable[[], None], count: int) -> float:
    gc.collect()
    start = time.process_time()
    fn()
    return (time.process_time() - start) / count * 1e6


class Harness:
    def __init__(self, command: str, count: int) -> None:
        self.server = Server(Config(save=""))
        self.count = count
        self.command = command
        self.conn = RespConnection(self.server)
        self.conn.connection_made(CountingTransport())  # type: ignore[arg-type]
        client = self.conn.client
        assert client is not None
        self.client = client
        self.chunks = batches(command, count, PER_READ)
        parser = RequestParser()
        self.argvs: list[list[bytes]] = []
        for chunk in self.chunks:
            parser.feed(chunk)
            while (argv := parser.next_command()) is not None:
                self.argvs.append(argv)
        # Keys present (GET finds them, SET overwrites: redis-benchmark's steady state).
        for argv in batches("set", count, 100):
            self.conn.data_received(argv)
        self.engine = self.server.engine
        self.spec = self.engine.lookup(self.argvs[0])

    def connection(self) -> asyncio.Protocol:
        return RespConnection(self.server)

    def whole(self) -> float:
        conn = self.conn

        def run() -> None:
            for chunk in self.chunks:
                conn.data_received(chunk)

        return timed(run, self.count)

    def parse(self) -> float:
        def run() -> None:
            parser = RequestParser()
            for chunk in self.chunks:
                parser.feed(chunk)
                while parser.next_command() is not None:
                    pass

        return timed(run, self.count)

    def _batched(self, one: Callable[[list[bytes]], object]) -> Callable[[], None]:
        ks = self.engine.keyspace
        argvs = self.argvs

        def run() -> None:
            for i in range(0, len(argvs), PER_READ):
                ks.hold_clock(time.perf_counter_ns() + 1_000_000)
                for argv in argvs[i : i + PER_READ]:
                    one(argv)
                ks.release_clock()

        return run

    def execute(self) -> float:
        execute, client = self.engine.execute, self.client
        return timed(self._batched(lambda argv: execute(client, argv)), self.count)

    def call(self) -> float:
        call, client, spec = self.engine.call, self.client, self.spec
        return timed(self._batched(lambda argv: call(client, spec, argv)), self.count)

    def handler(self) -> float:
        handler, client = self.spec.handler, self.client
        assert handler is not None
        return timed(self._batched(lambda argv: handler(client, argv)), self.count)

    def store(self) -> float:
        db = self.client.db
        if self.command == "set":
            store = db.set
            return timed(self._batched(lambda argv: store(argv[1], argv[2])), self.count)
        lookup = db.lookup
        return timed(self._batched(lambda argv: lookup(argv[1])), self.count)

    def lambda_floor(self) -> float:
        """The cost of the measuring loop itself (a lambda call per command)."""
        return timed(self._batched(lambda argv: None), self.count)


# --- the event loop and the kernel, over a real socket pair ------------------------------

CLIENT = r"""
import os, socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
batch = bytes.fromhex(sys.argv[2]); expect = int(sys.argv[3]); rounds = int(sys.argv[4])
for _ in range(rounds):
    sock.sendall(batch)
    got = 0
    while got < expect:
        got += len(sock.recv(1 << 16))
sock.close()
"""


class FixedReply(asyncio.Protocol):
    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(self.reply)

    @staticmethod
    def factory(reply: bytes) -> Callable[[], asyncio.Protocol]:
        return lambda: FixedReply(reply)


class Socketed:
    """One :func:`loop_cost` measurement, a callable for :func:`best`."""

    def __init__(
        self, factory: Callable[[], asyncio.Protocol], batch: bytes, reply_len: int, rounds: int
    ) -> None:
        self.factory, self.batch, self.reply_len, self.rounds = factory, batch, reply_len, rounds

    def __call__(self) -> float:
        return loop_cost(self.factory, self.batch, self.reply_len, self.rounds)


def loop_cost(
    factory: Callable[[], asyncio.Protocol], batch: bytes, reply_len: int, rounds: int
) -> float:
    """Server CPU µs per read (one batch in, its replies out), client in another process."""

    async def serve() -> float:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        proto = factory()
        original_lost = proto.connection_lost

        def lost(exc: Exception | None) -> None:
            original_lost(exc)
            if not done.done():
                done.set_result(None)

        proto.connection_lost = lost  # type: ignore[method-assign]
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CLIENT,
                str(theirs.fileno()),
                batch.hex(),
                str(reply_len),
                str(rounds),
            ],
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        start = time.process_time()
        await loop.connect_accepted_socket(lambda: proto, ours)
        await done
        elapsed = time.process_time() - start
        child.wait()
        return elapsed / rounds * 1e6

    try:
        import uvloop  # the server's loop when installed (respcache.server.app.run)
    except ImportError:
        return asyncio.run(serve())
    return uvloop.run(serve())


def time_table(repeat: int, count: int, rounds: int) -> list[str]:
    rows = [
        "| layer (µs of CPU per command, -P16) | SET total | SET own | GET total | GET own |",
        "|---|---:|---:|---:|---:|",
    ]
    results: dict[str, dict[str, float]] = {}
    for command in ("set", "get"):
        h = Harness(command, count)
        r: dict[str, float] = {}
        floor = best(h.lambda_floor, repeat)
        r["store"] = best(h.store, repeat) - floor
        r["handler"] = best(h.handler, repeat) - floor
        r["call"] = best(h.call, repeat) - floor
        r["execute"] = best(h.execute, repeat) - floor
        r["parse"] = best(h.parse, repeat)
        r["whole"] = best(h.whole, repeat)
        batch = h.chunks[1]
        reply = b"+OK\r\n" * PER_READ if command == "set" else b"$100\r\n" + b"x" * 100 + b"\r\n"
        reply_len = len(reply) * (1 if command == "set" else PER_READ)
        fixed = reply if command == "set" else reply * PER_READ
        fixed_reply = FixedReply.factory(fixed)
        r["loop"] = best(Socketed(fixed_reply, batch, reply_len, rounds), repeat) / PER_READ
        r["real"] = best(Socketed(h.connection, batch, reply_len, rounds), repeat) / PER_READ
        results[command] = r
    layers = [
        ("store (Database.set / lookup)", "store", None),
        ("handler (set_ / get, key_modified)", "handler", "store"),
        ("Engine.call (clock, stats, propagation)", "call", "handler"),
        ("Engine.execute (lookup, arity, gates)", "execute", "call"),
        ("parser (feed + next_command)", "parse", None),
        ("connection (dispatch, encode, join)", "whole", "parse+execute"),
        ("= in process (bench/hotpath.py)", "whole", None),
        ("event loop + kernel (select, recv, send)", "loop", None),
        ("= real socket, whole server per command", "real", None),
    ]
    for label, key, minus in layers:
        cells = []
        for command in ("set", "get"):
            r = results[command]
            total = r[key]
            if minus is None:
                own = total
            elif minus == "parse+execute":
                own = total - r["parse"] - r["execute"]
            else:
                own = total - r[minus]
            cells += [f"{total:.2f}", f"{own:.2f}"]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    r = results["set"]
    rows.append("")
    rows.append(
        f"(real - in process - event loop = {r['real'] - r['whole'] - r['loop']:.2f} µs SET, "
        f"{results['get']['real'] - results['get']['whole'] - results['get']['loop']:.2f} µs GET: "
        "the transport.write of the real reply and the cache misses of a real run.)"
    )
    return rows


# --- memory ------------------------------------------------------------------------------


def measure(build: Callable[[], Any], n: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = build()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del keep
    return (after - before) / n


def memory_table(n: int) -> list[str]:
    from respcache.store.values import HashValue  # noqa: F401  (the type a small hash is)

    keys = [b"key:%012d" % i for i in range(n)]
    rows = [
        f"| component (bytes per key, tracemalloc over {n} keys) | 100-byte string"
        " | small value (1-4 byte string) | small hash (3 fields) |",
        "|---|---:|---:|---:|",
    ]

    key_obj = measure(lambda: [b"key:%012d" % i for i in range(n)], n) - 8  # minus the list slot
    dict_entry = measure(lambda: dict.fromkeys(keys), n)
    od_entry = measure(lambda: OrderedDict.fromkeys(keys), n)
    ttl_entry = measure(lambda: OrderedDict.fromkeys(keys, 1_700_000_000_000), n) + 0.0
    ttl_int = measure(lambda: [1_700_000_000_000 + i for i in range(n)], n) - 8
    lfu_entry = measure(lambda: dict.fromkeys(keys, 5), n)

    def values(kind: str) -> Callable[[], Any]:
        if kind == "string":
            return lambda: [b"%0100d" % i for i in range(n)]
        if kind == "int":
            return lambda: [b"%d" % (i % 10000) for i in range(n)]
        return lambda: [small_hash(i) for i in range(n)]

    def small_hash(i: int) -> object:
        server = _hash_server()
        client = server[1]
        key = b"h:%d" % i
        server[0].engine.execute(client, [b"HSET", key, b"f1", b"v1", b"f2", b"v2", b"f3", b"v3"])
        return client.db.data.pop(key)

    value_costs = {kind: measure(values(kind), n) - 8 for kind in ("string", "int", "hash")}
    components = [
        ("dict entry (hash table share)", dict_entry, dict_entry, dict_entry),
        (
            "ordered links (OrderedDict node, over dict)",
            od_entry - dict_entry,
            od_entry - dict_entry,
            od_entry - dict_entry,
        ),
        ("key object (16-byte key)", key_obj, key_obj, key_obj),
        ("value object", value_costs["string"], value_costs["int"], value_costs["hash"]),
    ]
    total = [sum(c[i] for c in components) for i in (1, 2, 3)]
    for label, *cells in components:
        rows.append(f"| {label} | " + " | ".join(f"{c:.0f}" for c in cells) + " |")
    rows.append(
        "| **= per key, no TTL, LRU** | " + " | ".join(f"**{t:.0f}**" for t in total) + " |"
    )
    rows.append(
        f"| + TTL entry (Database.expires node + int) | {ttl_entry + ttl_int:.0f} | {ttl_entry + ttl_int:.0f} | {ttl_entry + ttl_int:.0f} |"
    )
    rows.append(
        f"| + access clock (LFU policies only: Database.lfu entry) | {lfu_entry:.0f} | {lfu_entry:.0f} | {lfu_entry:.0f} |"
    )
    rows.append("| access clock (LRU policies: the OrderedDict order, above) | 0 | 0 | 0 |")
    return rows


_HASH: list[Any] = []


def _hash_server() -> tuple[Server, Any]:
    if not _HASH:
        server = Server(Config(save=""))
        conn = RespConnection(server)
        conn.connection_made(CountingTransport())  # type: ignore[arg-type]
        _HASH.extend([server, conn.client, conn])
    return _HASH[0], _HASH[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="*", default=["time", "memory"], choices=["time", "memory"])
    parser.add_argument("-n", "--count", type=int, default=64_000)
    parser.add_argument("--rounds", type=int, default=20_000, help="reads over the socket pair")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keys", type=int, default=100_000)
    args = parser.parse_args(argv)
    print(
        f"respcache {respcache.__file__}: {compiled_state()}, Python {sys.version.split()[0]}, pid {os.getpid()}"
    )
    if "time" in args.tables:
        print("\n".join(time_table(args.repeat, args.count, args.rounds)))
        print()
    if "memory" in args.tables:
        print("\n".join(memory_table(args.keys)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
