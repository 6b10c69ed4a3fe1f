#!/usr/bin/env python3
"""Stream throughput, respcache against redis-server side by side (well under a minute).

    .venv/bin/python bench/streams.py [--n 20000]

``xadd``: ``redis-benchmark -c 20 -n N XADD bench:s * f v`` (auto IDs, 20 clients).
``xreadgroup+xack``: one consumer reads a pre-filled stream of N entries through a
group, ``XREADGROUP ... COUNT 100 STREAMS s >`` then ``XACK`` of the 100 IDs, until
it is drained (a small redis-py client: what a worker does). Printed as a markdown
table of operations per second and respcache/redis ratios.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import ServerProcess, start_redis, start_respcache  # noqa: E402


def xadd_rps(server: ServerProcess, n: int) -> float:
    out = subprocess.run(
        ["redis-benchmark", *server.cli_args(), "--csv", "-c", "20", "-n", str(n),
         "XADD", "bench:s", "*", "f", "v"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    last = [line for line in out.splitlines() if line.startswith('"XADD')][-1]
    return float(last.split(",")[1].strip('"'))


def consume_rate(server: ServerProcess, n: int) -> float:
    c = server.client()
    c.delete("bench:q")
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd("bench:q", {"job": i}, id=f"{i + 1}-0")
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    c.xgroup_create("bench:q", "g", id="0")
    done = 0
    start = time.perf_counter()
    while True:
        reply = c.xreadgroup("g", "w", {"bench:q": ">"}, count=100)
        if not reply:
            break
        ids = [entry[0] for entry in reply[0][1]]
        done += c.xack("bench:q", "g", *ids)
    elapsed = time.perf_counter() - start
    assert done == n
    return n / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    servers = {"redis": start_redis(), "respcache": start_respcache()}
    try:
        rows = []
        for name, measure in (("xadd", xadd_rps), ("xreadgroup+xack (entries/s)", consume_rate)):
            rates = {label: measure(server, args.n) for label, server in servers.items()}
            rows.append((name, rates["redis"], rates["respcache"]))
    finally:
        for server in servers.values():
            server.stop()
    print("| test | redis-server | respcache | ratio |")
    print("|---|---|---|---|")
    for name, theirs, ours in rows:
        print(f"| {name} | {theirs:,.0f} | {ours:,.0f} | {ours / theirs:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
