#!/usr/bin/env python3
"""respcache against redis-server, side by side on this machine: throughput and memory.

    /tmp/venv/bin/python bench/run.py                 # everything (a few minutes)
    /tmp/venv/bin/python bench/run.py --quick         # smaller runs, to try it out
    /tmp/venv/bin/python bench/run.py -s get-set -s memory
    /tmp/venv/bin/python bench/run.py -s get-set --tests lpush,rpush,lpop   # data types

Both servers run on free loopback ports for the whole run (respcache with
``--save '' --loglevel warning``, redis-server also with ``--appendonly no``); each
measurement runs against one server at a time, so the idle one costs nothing. With
``--repeat N`` the servers take turns N times and each figure is the median: on a
shared 2-core machine single runs vary by 20% and more.
The results are printed as a markdown table and written to
``bench/results/<UTC timestamp>.json``.

Scenarios (``-s``, repeatable; default all):

``get-set``
    ``redis-benchmark -t get,set -c 50 -n 200000 -r 100000 -d 100``
``get-set-P16``
    the same with ``-P 16`` (pipelining)
``types``
    ``-t incr,lpush,lpop,sadd,hset,zadd`` with the same arguments (unpipelined)
``memory``
    RSS of each process after storing 1,000,000 keys (``key:000000000001``...) with
    100-byte values, written by a pipelined filler (``bench/fill.py``); also the
    per-key cost and respcache's own estimate (``INFO memory`` ``used_memory``).

``--variant base=HEAD~3`` (or ``compiled=/tmp/dir``, or ``pure=pure`` for this checkout
with ``RESPCACHE_PURE=1``) adds another respcache build to
the throughput scenarios of the same run: before/after figures against one redis-server
under the same neighbours.

A new scenario is a :class:`Scenario` subclass added to :data:`SCENARIOS`
(e.g. a replication scenario would start a leader and followers in ``run`` and
measure acknowledged writes).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the process helpers the tests use
sys.path.insert(0, str(ROOT / "bench"))

from fill import fill  # noqa: E402
from support import ServerProcess, start_redis, start_respcache  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def info_field(server: ServerProcess, section: str, name: str) -> str | None:
    with server.raw(timeout=60) as conn:
        reply = conn.call("INFO", section)
    if reply.kind != "$" or reply.value is None:
        return None
    for line in reply.value.decode().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def dbsize(server: ServerProcess) -> int | None:
    with server.raw(timeout=60) as conn:
        reply = conn.call("DBSIZE")
    return int(reply.value) if reply.kind == ":" else None


def flushall(server: ServerProcess) -> None:
    with server.raw(timeout=120) as conn:
        conn.call("FLUSHALL")


@dataclass
class Servers:
    respcache: ServerProcess
    redis: ServerProcess
    variants: dict[str, ServerProcess] = field(default_factory=dict)
    """Other respcache builds (``--variant``), measured in the throughput scenarios."""

    def each(self) -> list[tuple[str, ServerProcess]]:
        return [("respcache", self.respcache), ("redis", self.redis)]

    def throughput(self) -> list[tuple[str, ServerProcess]]:
        return [*self.each(), *self.variants.items()]

    def stop(self) -> None:
        for _, server in self.throughput():
            server.stop()


def start_variant(spec: str, tmp: Path) -> tuple[str, ServerProcess]:
    """``LABEL=REV`` (a git revision of this repository's ``respcache/``) or ``LABEL=DIR``
    (a directory holding a ``respcache`` package, e.g. a mypyc-compiled copy) or
    ``LABEL=pure`` (this checkout with ``RESPCACHE_PURE=1``: its pure-Python build)."""
    label, _, source = spec.partition("=")
    if not label or not source:
        raise SystemExit(f"--variant {spec!r}: expected LABEL=REV, LABEL=DIR or LABEL=pure")
    if source == "pure":  # this checkout with its mypyc-compiled modules turned off
        return label, _start_with(f"env RESPCACHE_PURE=1 {sys.executable} -m respcache", label)
    path = Path(source)
    if not (path / "respcache" / "__init__.py").exists():
        path = tmp / label
        path.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", source, "respcache"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(path)], input=archive, check=True)
    return label, _start_with(
        f"env PYTHONPATH={path.resolve()} {sys.executable} -m respcache", label
    )


def _start_with(command: str, label: str) -> ServerProcess:
    saved = os.environ.get("RCTEST_SERVER_CMD")
    os.environ["RCTEST_SERVER_CMD"] = command
    try:
        return start_respcache(name=f"respcache[{label}]")
    finally:
        if saved is None:
            del os.environ["RCTEST_SERVER_CMD"]
        else:
            os.environ["RCTEST_SERVER_CMD"] = saved


@dataclass
class Scenario:
    name: str
    description: str

    def run(self, servers: Servers, args: argparse.Namespace) -> dict[str, Any]:
        raise NotImplementedError

    def table(self, result: dict[str, Any]) -> list[list[str]]:
        raise NotImplementedError


def redis_benchmark(server: ServerProcess, bench_args: list[str]) -> dict[str, float]:
    """Run redis-benchmark --csv; requests per second by test name."""
    cmd = ["redis-benchmark", *server.cli_args(), "--csv", *bench_args]
    print(f"   {server.name}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    out: dict[str, float] = {}
    for row in rows[1:]:
        if len(row) >= 2:
            out[row[0]] = float(row[1])
    if not out:
        raise RuntimeError(f"no results from {' '.join(cmd)}:\n{result.stdout}\n{result.stderr}")
    return out


@dataclass
class Throughput(Scenario):
    """redis-benchmark against each server with the same arguments."""

    bench_args: list[str] = field(default_factory=list)

    def arguments(self, args: argparse.Namespace) -> list[str]:
        bench_args = list(self.bench_args)
        replace = {"-n": args.requests, "-t": args.tests}
        for flag, value in replace.items():
            if value is not None and flag in bench_args:
                bench_args[bench_args.index(flag) + 1] = str(value)
        return bench_args

    def run(self, servers: Servers, args: argparse.Namespace) -> dict[str, Any]:
        bench_args = self.arguments(args)
        result: dict[str, Any] = {"command": "redis-benchmark " + " ".join(bench_args), "rps": {}}
        runs: dict[str, list[dict[str, float]]] = {label: [] for label, _ in servers.throughput()}
        order = servers.throughput()
        for _ in range(args.repeat):
            # The servers take turns (A B, then B A...): a neighbour's burst on the
            # shared cores then falls on both alike, not on one server's whole series.
            for label, server in order:
                flushall(server)
                runs[label].append(redis_benchmark(server, bench_args))
            order = order[::-1]
        for label, series in runs.items():
            # The median run of each test (a 2-core machine is noisy).
            result["rps"][label] = {
                test: statistics.median(run[test] for run in series) for test in series[0]
            }
        result["runs"] = runs
        return result

    def table(self, result: dict[str, Any]) -> list[list[str]]:
        rows = []
        theirs = result["rps"]["redis"]
        for label, ours in result["rps"].items():
            if label == "redis":
                continue
            which = "" if label == "respcache" else f" [{label}]"
            for test in theirs:
                a, b = ours.get(test), theirs[test]
                ratio = f"{a / b:.2f}" if a else "-"
                rows.append(
                    [f"{test} ({self.name}){which}", f"{a:,.0f}" if a else "-", f"{b:,.0f}", ratio]
                )
        return rows


@dataclass
class Memory(Scenario):
    keys: int = 1_000_000
    value_size: int = 100
    fields: int = 0
    """0: string keys of ``value_size`` bytes; N: hashes of N fields of ``value_size`` bytes."""

    def run(self, servers: Servers, args: argparse.Namespace) -> dict[str, Any]:
        keys = args.keys or self.keys
        result: dict[str, Any] = {
            "keys": keys,
            "value_size": self.value_size,
            "fields": self.fields,
        }
        for label, server in servers.each():
            flushall(server)
            time.sleep(0.5)
            before = server.rss_bytes()
            print(f"   {server.name}: filling {keys:,} keys", file=sys.stderr, flush=True)
            started = time.monotonic()
            fill(
                server.host,
                server.port,
                keys,
                self.value_size,
                password=server.password,
                fields=self.fields,
            )
            elapsed = time.monotonic() - started
            time.sleep(1.0)
            after = server.rss_bytes()
            used = info_field(server, "memory", "used_memory")
            result[label] = {
                "rss_empty": before,
                "rss": after,
                "bytes_per_key": (after - before) / keys,
                "used_memory": int(used) if used and used.isdigit() else None,
                "dbsize": dbsize(server),
                "fill_seconds": round(elapsed, 2),
                "fill_ops_per_sec": round(keys / elapsed),
            }
            flushall(server)
        return result

    def table(self, result: dict[str, Any]) -> list[list[str]]:
        ours, theirs = result["respcache"], result["redis"]
        mb = 1024 * 1024
        what = f"{result['keys']:,} keys x {result['value_size']} B"
        if result.get("fields"):
            what = (
                f"{result['keys']:,} hashes x {result['fields']} fields x {result['value_size']} B"
            )

        def ratio(a: float | None, b: float | None) -> str:
            return f"{a / b:.2f}" if a and b else "-"

        def fmt_mb(v: float | None) -> str:
            return f"{v / mb:,.1f}" if v is not None else "-"

        return [
            [
                f"RSS MB ({what})",
                fmt_mb(ours["rss"]),
                fmt_mb(theirs["rss"]),
                ratio(ours["rss"], theirs["rss"]),
            ],
            [
                "bytes per key (RSS delta)",
                f"{ours['bytes_per_key']:.0f}",
                f"{theirs['bytes_per_key']:.0f}",
                ratio(ours["bytes_per_key"], theirs["bytes_per_key"]),
            ],
            [
                "used_memory MB (INFO)",
                fmt_mb(ours["used_memory"]),
                fmt_mb(theirs["used_memory"]),
                ratio(ours["used_memory"], theirs["used_memory"]),
            ],
            [
                "fill ops/s (SET or HSET, pipelined 1000)",
                f"{ours['fill_ops_per_sec']:,}",
                f"{theirs['fill_ops_per_sec']:,}",
                ratio(ours["fill_ops_per_sec"], theirs["fill_ops_per_sec"]),
            ],
        ]


BASE = ["-t", "get,set", "-c", "50", "-n", "200000", "-r", "100000", "-d", "100"]
TYPES = [*BASE[:1], "incr,lpush,lpop,sadd,hset,zadd", *BASE[2:]]
SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Throughput("get-set", "redis-benchmark " + " ".join(BASE), bench_args=BASE),
        Throughput("get-set-P16", "the same, pipelined 16", bench_args=[*BASE, "-P", "16"]),
        Throughput("types", "redis-benchmark " + " ".join(TYPES), bench_args=TYPES),
        Memory("memory", "RSS for 1,000,000 keys of 100 bytes"),
        Memory("memory-small", "RSS for 1,000,000 keys of 4 bytes", value_size=4),
        Memory(
            "memory-hash",
            "RSS for 1,000,000 hashes of 3 fields of 4 bytes",
            value_size=4,
            fields=3,
        ),
    )
}


def environment() -> dict[str, Any]:
    def output(cmd: list[str]) -> str:
        try:
            return subprocess.run(
                cmd, capture_output=True, text=True, check=False, cwd=ROOT
            ).stdout.strip()
        except OSError:
            return ""

    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    return {
        "cpus": os.cpu_count(),
        # Other processes share the cores (the ratio is the figure to read, not the rps).
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "event_loop": loop,
        "redis": output(["redis-server", "--version"]),
        "commit": output(["git", "rev-parse", "--short", "HEAD"]),
        "dirty": bool(output(["git", "status", "--porcelain", "--", "respcache"])),
    }


def markdown(rows: list[list[str]]) -> str:
    header = ["", "respcache", "redis", "ratio"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-s", "--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("-n", "--requests", type=int, default=None, help="redis-benchmark -n")
    parser.add_argument("-t", "--tests", default=None, help="redis-benchmark -t (e.g. lpush,rpush)")
    parser.add_argument("--keys", type=int, default=None, help="keys for the memory scenario")
    parser.add_argument("--repeat", type=int, default=1, help="runs per benchmark (median)")
    parser.add_argument("--quick", action="store_true", help="-n 20000 --keys 100000")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL=REV|DIR",
        help="also measure another respcache build (a git revision, or a directory with a "
        "respcache package) in the throughput scenarios, in the same run",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="JSON file (default: bench/results/)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.requests = args.requests or 20_000
        args.keys = args.keys or 100_000
    chosen = [SCENARIOS[name] for name in (args.scenario or list(SCENARIOS))]

    tmp = Path(tempfile.mkdtemp(prefix="bench-variants-"))
    servers = Servers(respcache=start_respcache(), redis=start_redis())
    for spec in args.variant:
        label, server = start_variant(spec, tmp)
        servers.variants[label] = server
    report: dict[str, Any] = {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "scenarios": {},
    }
    rows: list[list[str]] = []
    try:
        for scenario in chosen:
            print(f"== {scenario.name}: {scenario.description}", file=sys.stderr, flush=True)
            result = scenario.run(servers, args)
            report["scenarios"][scenario.name] = result
            rows += scenario.table(result)
    finally:
        servers.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report["environment"]["loadavg_at_end"] = os.getloadavg()
    table = markdown(rows)
    load = report["environment"]
    table += (
        f"\n\n{load['cpus']} CPUs, load average {load['loadavg_at_start'][0]:.1f} at start, "
        f"{load['loadavg_at_end'][0]:.1f} at end; median of {args.repeat} alternating run(s)"
    )
    print(table)
    report["markdown"] = table
    out = args.output or RESULTS / (report["time"].replace(":", "").replace("+0000", "Z") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
