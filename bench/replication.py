#!/usr/bin/env python3
"""Replication benchmark: respcache (synchronous) against Redis (asynchronous).

    /tmp/venv/bin/python bench/replication.py                  # everything
    /tmp/venv/bin/python bench/replication.py --quick          # shorter runs
    /tmp/venv/bin/python bench/replication.py -s throughput    # or: fullsync

Scenarios (every server on a free loopback port, stopped at the end):

``throughput``
    A leader with two followers: ``redis-benchmark -t set -c 50 -d 100 -n N -r 100000``
    against the leader. respcache acknowledges a SET only after both followers
    applied it; Redis acknowledges at once and replicates afterwards. Reports
    requests/s, p50 and p99 (ms) of each and the ratio respcache/Redis. Also
    the same against a standalone respcache, for the cost of replication itself.
``fullsync``
    A leader holding 1,000,000 keys of 100 bytes (``bench/fill.py``) and an empty
    standalone node that is told ``REPLICAOF <leader>``: the time from that
    command until the follower's link is up with the dataset loaded (polled
    every 10 ms). Redis runs with ``repl-diskless-sync yes`` and
    ``repl-diskless-sync-delay 0`` (its default delay of 5 s would only measure the
    wait) and, separately, with the disk-based sync.

Targets (the replication issue): throughput >= 0.5x Redis, p99 <= 3 ms,
full sync <= 2x Redis. Results print as a markdown table and go to
``bench/results/replication-<time>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def call(port: int, *args: str, timeout: float = 30.0) -> bytes:
    """One command over a raw socket; returns the raw reply payload (no parsing of arrays)."""
    payload = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        data = b""
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            data += chunk
            if data[:1] in (b"+", b"-", b":") and data.endswith(b"\r\n"):
                break
            if data[:1] == b"$":
                head, _, rest = data.partition(b"\r\n")
                if int(head[1:]) < 0 or len(rest) >= int(head[1:]) + 2:
                    break
    return data


def info(port: int) -> dict[str, str]:
    raw = call(port, "INFO", "replication")
    text = raw.partition(b"\r\n")[2].decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


@dataclass
class Server:
    kind: str  # "respcache" or "redis"
    port: int
    proc: subprocess.Popen[bytes]
    workdir: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start(kind: str, *args: str) -> Server:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix=f"bench-{kind}-")
    if kind == "redis":
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", workdir, "--loglevel", "warning"]
    else:
        argv = [PYTHON, "-m", "respcache", "--port", str(port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--loglevel", "warning"]
    argv += list(args)
    log = open(os.path.join(workdir, "server.log"), "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    server = Server(kind, port, proc, workdir)
    deadline = time.monotonic() + 30
    while True:
        try:
            if call(port, "PING", timeout=1).startswith(b"+PONG"):
                return server
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{kind} did not start: {argv}")
        time.sleep(0.05)


@contextlib.contextmanager
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        yield started
    finally:
        for server in reversed(started):
            server.stop()


def synced(leader: int, *followers: int) -> bool:
    offset = info(leader).get("master_repl_offset")
    for port in followers:
        f = info(port)
        if f.get("master_link_status") != "up" or f.get("slave_repl_offset") != offset:
            return False
    return True


def wait(predicate: object, timeout: float = 300.0, interval: float = 0.05) -> float:
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise TimeoutError("condition not met")
        time.sleep(interval)
    return time.monotonic() - started


# --- throughput ------------------------------------------------------------------------


@dataclass
class Throughput:
    setup: str
    rps: float
    p50_ms: float
    p99_ms: float
    extra: dict[str, str] = field(default_factory=dict)


def redis_benchmark(port: int, requests: int) -> Throughput:
    out = subprocess.run(
        [
            "redis-benchmark",
            "-p",
            str(port),
            "-t",
            "set",
            "-c",
            "50",
            "-d",
            "100",
            "-r",
            "100000",
            "-n",
            str(requests),
            "--csv",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = [line for line in out.splitlines() if line.startswith('"SET"')]
    fields = [f.strip('"') for f in lines[-1].split(",")]
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    return Throughput("", float(fields[1]), float(fields[4]), float(fields[6]))


def throughput(requests: int) -> list[Throughput]:
    results = []
    with servers() as started:
        solo = start("respcache")
        started.append(solo)
        result = redis_benchmark(solo.port, requests)
        result.setup = "respcache standalone"
        results.append(result)
    for kind, extra in (("respcache", ()), ("redis", ())):
        with servers() as started:
            leader = start(kind, *extra)
            started.append(leader)
            followers = [
                start(kind, "--replicaof", "127.0.0.1", str(leader.port)) for _ in range(2)
            ]
            started.extend(followers)
            wait(
                lambda leader=leader, followers=followers: synced(
                    leader.port, *(f.port for f in followers)
                )
            )
            result = redis_benchmark(leader.port, requests)
            wait(
                lambda leader=leader, followers=followers: synced(
                    leader.port, *(f.port for f in followers)
                )
            )
            result.setup = (
                "respcache leader + 2 synchronous followers"
                if kind == "respcache"
                else "redis leader + 2 asynchronous replicas"
            )
            results.append(result)
    return results


# --- full sync ------------------------------------------------------------------------------


@dataclass
class FullSync:
    setup: str
    keys: int
    seconds: float


def fill(port: int, keys: int) -> None:
    subprocess.run(
        [PYTHON, str(HERE / "fill.py"), "--port", str(port), "--keys", str(keys)], check=True
    )


def full_sync(keys: int) -> list[FullSync]:
    results = []
    setups = [
        ("respcache", (), "respcache (forked snapshot child, streamed)"),
        (
            "redis",
            ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"),
            "redis diskless (delay 0)",
        ),
        ("redis", ("--repl-diskless-sync", "no"), "redis disk-based"),
    ]
    for kind, extra, label in setups:
        with servers() as started:
            leader = start(kind, *extra)
            started.append(leader)
            fill(leader.port, keys)
            follower = start(kind)
            started.append(follower)
            began = time.monotonic()
            call(follower.port, "REPLICAOF", "127.0.0.1", str(leader.port))
            wait(
                lambda f=follower, leader=leader: (
                    synced(leader.port, f.port)
                    and info(f.port).get("master_sync_in_progress") == "0"
                ),
                interval=0.01,
            )
            seconds = time.monotonic() - began
            results.append(FullSync(label, keys, seconds))
    return results


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-s", "--scenario", action="append", choices=["throughput", "fullsync"])
    parser.add_argument("--quick", action="store_true", help="fewer requests and keys")
    parser.add_argument("-n", "--requests", type=int, default=None)
    parser.add_argument("--keys", type=int, default=None)
    args = parser.parse_args(argv)
    scenarios = args.scenario or ["throughput", "fullsync"]
    requests = args.requests or (50_000 if args.quick else 300_000)
    keys = args.keys or (100_000 if args.quick else 1_000_000)
    report: dict[str, object] = {"requests": requests, "keys": keys, "cpus": os.cpu_count()}
    lines = []
    if "throughput" in scenarios:
        results = throughput(requests)
        report["throughput"] = [asdict(r) for r in results]
        redis_rps = results[-1].rps
        lines += [
            f"### SET throughput (-c 50 -d 100, {requests} requests)",
            "",
            "| setup | requests/s | p50 ms | p99 ms | vs redis |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in results:
            lines.append(
                f"| {r.setup} | {r.rps:,.0f} | {r.p50_ms:.3f} | {r.p99_ms:.3f} "
                f"| {r.rps / redis_rps:.2f}x |"
            )
        lines.append("")
    if "fullsync" in scenarios:
        syncs = full_sync(keys)
        report["fullsync"] = [asdict(s) for s in syncs]
        best_redis = min(s.seconds for s in syncs if s.setup.startswith("redis"))
        lines += [
            f"### Full sync of {keys:,} keys of 100 bytes",
            "",
            "| setup | seconds | vs fastest redis |",
            "|---|---:|---:|",
        ]
        for s in syncs:
            lines.append(f"| {s.setup} | {s.seconds:.2f} | {s.seconds / best_redis:.2f}x |")
        lines.append("")
    print("\n".join(lines))
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H%M%SZ", time.gmtime())
    path = out_dir / f"replication-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"(results in {path.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
