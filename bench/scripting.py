#!/usr/bin/env python3
"""EVALSHA of a small conditional-INCR script: respcache against redis-server with redis-benchmark.

    .venv/bin/python bench/scripting.py              # 50 clients, 100000 requests each side
    .venv/bin/python bench/scripting.py -n 20000     # shorter

Both servers run on free loopback ports (``--save ''``; redis-server also with
``--appendonly no``), one measured at a time. The script (loaded with SCRIPT
LOAD on each server) increments a counter only while it is below a limit::

    local v = tonumber(redis.call('GET', KEYS[1]) or '0')
    if v < tonumber(ARGV[1]) then return redis.call('INCR', KEYS[1]) end
    return v

``redis-benchmark -c 50 -n N EVALSHA <sha> 1 counter:__rand_int__ 1000000 -r 10000``
measures requests per second; the ratio respcache / redis-server is printed.
"""

from __future__ import annotations

import argparse
import csv
import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

SCRIPT = (
    "local v = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if v < tonumber(ARGV[1]) then return redis.call('INCR', KEYS[1]) end "
    "return v"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            redis.Redis(port=port).ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server on {port} did not start: {argv}")


def measure(port: int, requests: int, clients: int) -> float:
    sha = redis.Redis(port=port).script_load(SCRIPT)
    out = subprocess.run(
        [
            "redis-benchmark",
            "-p",
            str(port),
            "-c",
            str(clients),
            "-n",
            str(requests),
            "-r",
            "10000",
            "--csv",
            "EVALSHA",
            sha,
            "1",
            "counter:__rand_int__",
            "1000000",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return float(rows[-1][1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100000, help="requests per server")
    parser.add_argument("-c", type=int, default=50, help="clients")
    args = parser.parse_args()
    venv = Path(sys.executable).parent
    rc_port, redis_port = free_port(), free_port()
    servers = [
        start(
            [
                str(venv / "respcache-server"),
                "--port",
                str(rc_port),
                "--save",
                "",
                "--loglevel",
                "warning",
            ],
            rc_port,
        ),
        start(
            ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
            redis_port,
        ),
    ]
    try:
        ours = measure(rc_port, args.n, args.c)
        theirs = measure(redis_port, args.n, args.c)
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(10)
    print("| server | EVALSHA requests/s |")
    print("|---|---|")
    print(f"| respcache | {ours:,.0f} |")
    print(f"| redis-server 7.0.15 | {theirs:,.0f} |")
    print(f"ratio respcache / redis-server: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
