#!/usr/bin/env python3
"""Latency breakdown of a SET with two synchronous followers, from timestamps.

    PYTHONPATH=$PWD .venv/bin/python bench/repl_latency.py              # unloaded and loaded
    PYTHONPATH=$PWD .venv/bin/python bench/repl_latency.py --load 0     # unloaded only

A leader and two followers run as real processes (``python -m respcache``) through
this file's ``--probe`` mode, which wraps four methods of the pure-Python replication
modules before the server starts (nothing in the server's code changes, the compiled
modules are untouched) and records ``time.perf_counter_ns()`` (CLOCK_MONOTONIC: one
clock for every process on the machine) at each step:

    t0  the bench client sends ``SET probe:<i> ...``          (this process)
    t1  the leader propagates it (``LeaderStream.propagate``: parsed, executed)
    t2  the leader writes the stream to the followers (``LeaderStream.flush``)
    t3  a follower receives it (``FollowerSession.receive`` entered)
    t4  the follower applied it and has its ACK ready (``receive`` returned)
    t5  the leader reads that follower's ``REPLCONF ACK`` (``LeaderSide.ack``)
    t6  the leader commits the offset (``LeaderSide.ack`` moves ``CommitGate.committed``: both followers acked)
    t7  the bench client reads the reply                       (this process)

Probe writes are matched by their key (``probe:<i>``) and replication offset, so
the breakdown holds while ``redis-benchmark -t set -c 50`` loads the leader
(``--load N``: that many requests in the background). Each phase prints its
median and p99 over the probes; the phases of a probe add up to its t7 - t0.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


# --- probe mode: runs inside each server process ------------------------------------------


def probe(trace_path: str, server_argv: list[str]) -> None:
    from respcache.replication import follower, leader, leader_stream

    events: list[tuple[Any, ...]] = []
    clock = time.perf_counter_ns

    # (The wrapped classes are the interpreted ones: the commit gate is compiled, so a
    # commit is seen where an ACK moves it, in LeaderSide.ack.)
    orig_propagate = leader_stream.LeaderStream.propagate
    orig_flush = leader_stream.LeaderStream.flush
    orig_ack = leader.LeaderSide.ack
    orig_receive = follower.FollowerSession.receive

    def propagate(self: Any, db: int, commands: list[list[bytes]]) -> None:
        now = clock()
        orig_propagate(self, db, commands)
        for argv in commands:
            if len(argv) > 1 and argv[1].startswith(b"probe:"):
                events.append(("propagate", now, argv[1].decode(), self._base + len(self._out)))

    def flush(self: Any) -> None:
        pending = bool(self._out)
        now = clock()
        orig_flush(self)
        if pending:
            events.append(("flush", now, self._base))

    def ack(self: Any, link: Any, offset: int) -> None:
        now = clock()
        events.append(("ack", now, link.fid, offset))
        before = self.gate.committed
        orig_ack(self, link, offset)
        if self.gate.committed > before:  # committed by this ACK (before the replies leave)
            events.append(("commit", now, self.gate.committed))

    def receive(self: Any, data: bytes) -> bytes:
        start = clock()
        out = orig_receive(self, data)
        if self.state == "streaming":
            events.append(("receive", start, clock(), self.offset))
        return out

    leader_stream.LeaderStream.propagate = propagate  # type: ignore[method-assign]
    leader_stream.LeaderStream.flush = flush  # type: ignore[method-assign]
    leader.LeaderSide.ack = ack  # type: ignore[method-assign]
    follower.FollowerSession.receive = receive  # type: ignore[method-assign]

    def dump() -> None:
        with open(trace_path, "w") as f:
            json.dump(events, f)

    atexit.register(dump)
    signal.signal(signal.SIGUSR1, lambda *_: dump())
    from respcache.cli import main

    sys.argv = ["respcache", *server_argv]
    main()


# --- the bench ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def roundtrip(sock: socket.socket, payload: bytes) -> bytes:
    sock.sendall(payload)
    data = b""
    while not data.endswith(b"\r\n"):
        data += sock.recv(65536)
    return data


def command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def info(port: int) -> dict[str, str]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(command(b"INFO", b"replication"))
        data = b""
        while True:
            data += sock.recv(65536)
            head, _, rest = data.partition(b"\r\n")
            if head.startswith(b"$") and len(rest) >= int(head[1:]) + 2:
                break
    text = rest.decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


class Node:
    def __init__(self, name: str, workdir: str, *args: str) -> None:
        self.name = name
        self.port = free_port()
        self.trace = os.path.join(workdir, f"{name}.json")
        argv = [sys.executable, __file__, "--probe", self.trace, "--"]
        argv += ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--loglevel", "warning", "--dir", workdir, *args]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(argv, cwd=workdir, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if roundtrip(sock, command(b"PING")).startswith(b"+PONG"):
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def events(self) -> list[list[Any]]:
        self.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        with open(self.trace) as f:
            result: list[list[Any]] = json.load(f)
            return result

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


PHASES = [
    ("client -> leader executed (network in, queueing, parse, execute)", "t1-t0"),
    ("leader executed -> stream written (flush scheduled per loop turn)", "t2-t1"),
    ("stream written -> follower reads it (network, follower's loop)", "t3-t2"),
    ("follower apply + ACK built", "t4-t3"),
    ("follower ACK -> leader reads it (network, leader's loop)", "t5-t4"),
    ("leader: first ACK read -> commit (waits for the second follower)", "t6-t5"),
    ("commit -> client reads the reply (reply write, network out)", "t7-t6"),
    ("= total", "t7-t0"),
]


def breakdown(
    probes: list[tuple[str, int, int]], leader: list[list[Any]], followers: list[list[list[Any]]]
) -> dict[str, list[float]]:
    propagated = {e[2]: (e[1], e[3]) for e in leader if e[0] == "propagate"}
    flushes = [(e[2], e[1]) for e in leader if e[0] == "flush"]
    acks = [(e[3], e[1]) for e in leader if e[0] == "ack"]
    commits = [(e[2], e[1]) for e in leader if e[0] == "commit"]
    receives = [[(e[3], e[1], e[2]) for e in f if e[0] == "receive"] for f in followers]

    def first(pairs: list[tuple[int, Any]], offset: int) -> Any:
        return next(v for o, v in pairs if o >= offset)

    out: dict[str, list[float]] = {label: [] for label, _ in PHASES}
    for key, t0, t7 in probes:
        if key not in propagated:
            continue
        t1, offset = propagated[key]
        t2 = first(flushes, offset)
        recv = [next((a, b) for o, a, b in r if o >= offset) for r in receives]
        # The first follower to apply it and the first ACK covering it decide t3..t5
        # (the commit then waits for the other follower: t6 - t5).
        t3, t4 = min(recv, key=lambda ab: ab[1])
        t5 = first(acks, offset)
        t6 = first(commits, offset)
        t = {"t0": t0, "t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "t6": t6, "t7": t7}
        for label, span in PHASES:
            a, b = span.split("-")
            out[label].append((t[a] - t[b]) / 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--probe"]:
        probe(args_in[1], args_in[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--probes", type=int, default=2000)
    parser.add_argument("--load", type=int, default=200_000, help="background SETs (0: none)")
    args = parser.parse_args(args_in)
    workdir = tempfile.mkdtemp(prefix="bench-repl-latency-")
    nodes: list[Node] = []
    try:
        leader = Node("leader", workdir)
        nodes.append(leader)
        for i in (1, 2):
            nodes.append(
                Node(f"follower{i}", workdir, "--replicaof", "127.0.0.1", str(leader.port))
            )
        deadline = time.monotonic() + 60
        while info(leader.port).get("connected_slaves") != "2" or any(
            info(n.port).get("master_link_status") != "up" for n in nodes[1:]
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("followers did not connect")
            time.sleep(0.1)
        time.sleep(1)  # both in the ISR
        for load in sorted({0, args.load}):
            bench = None
            if load:
                load_argv = ["redis-benchmark", "-p", str(leader.port), "-t", "set", "-c", "50"]
                load_argv += ["-d", "100", "-r", "100000", "-n", str(load), "-q"]
                bench = subprocess.Popen(
                    load_argv,
                    stdout=subprocess.DEVNULL,
                )
                time.sleep(1)
            probes = []
            value = b"x" * 100
            with socket.create_connection(("127.0.0.1", leader.port)) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for i in range(args.probes):
                    key = b"probe:%d:%d" % (load, i)
                    payload = command(b"SET", key, value)
                    t0 = time.perf_counter_ns()
                    reply = roundtrip(sock, payload)
                    t7 = time.perf_counter_ns()
                    assert reply == b"+OK\r\n", reply
                    probes.append((key.decode(), t0, t7))
                    if bench is not None and bench.poll() is not None:
                        break
            if bench is not None:
                bench.kill()
                bench.wait()
            phases = breakdown(probes, leader.events(), [n.events() for n in nodes[1:]])
            count = len(phases["= total"])
            title = "with redis-benchmark -c 50 SET load" if load else "unloaded (one client)"
            print(f"\n### SET with 2 synchronous followers, {title}: {count} probes, µs\n")
            print("| phase | median | p99 |")
            print("|---|---:|---:|")
            for label, _ in PHASES:
                values = sorted(phases[label])
                p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
                print(f"| {label} | {statistics.median(values):.0f} | {p99:.0f} |")
    finally:
        for node in reversed(nodes):
            node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
