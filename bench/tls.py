#!/usr/bin/env python3
"""What TLS costs: GET/SET throughput over plain TCP and over TLS, respcache beside redis-server.

    .venv/bin/python bench/tls.py                  # -n 100000, then -P 16
    .venv/bin/python bench/tls.py -n 20000 --no-pipeline

Both servers run with a plain ``port`` and a ``tls-port`` (certificates made with
``openssl`` in a temporary directory, ``tls-auth-clients no``); each measurement is
``redis-benchmark -t get,set -c 50 -n N -r 100000 -d 100 [-P 16]`` against one server
and one port at a time, ``--tls --cacert`` for the TLS port. Prints requests per
second, the TLS/plain ratio of each server and respcache/redis over TLS.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import ServerProcess, free_port, start_redis, start_respcache  # noqa: E402
from support.tls import make_certs, server_options  # noqa: E402


def benchmark(port: int, extra: list[str], args: list[str]) -> dict[str, float]:
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "--csv", *extra, *args]
    print("  ", " ".join(cmd[1:]), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return {row[0]: float(row[1]) for row in rows[1:] if len(row) >= 2}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=100_000)
    parser.add_argument("--no-pipeline", action="store_true", help="skip the -P 16 runs")
    opts = parser.parse_args()
    base = ["-t", "get,set", "-c", "50", "-n", str(opts.requests), "-r", "100000", "-d", "100"]
    variants = [("", base)] + ([] if opts.no_pipeline else [("-P16", [*base, "-P", "16"])])
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as tmp:
        certs = make_certs(Path(tmp) / "certs")
        tls_ports = {"respcache": free_port(), "redis": free_port()}
        servers: dict[str, ServerProcess] = {
            "respcache": start_respcache(
                server_options(certs, tls_ports["respcache"]), workdir=Path(tmp)
            ),
            "redis": start_redis(server_options(certs, tls_ports["redis"]), workdir=Path(tmp)),
        }
        tls_flags = ["--tls", "--cacert", str(certs.ca)]
        rps: dict[tuple[str, str, str], float] = {}
        try:
            for suffix, args in variants:
                for name, server in servers.items():
                    for mode, port, extra in (
                        ("plain", server.port, []),
                        ("tls", tls_ports[name], tls_flags),
                    ):
                        with server.client() as r:
                            r.flushall()
                        for test, value in benchmark(port, extra, args).items():
                            rps[(f"{test}{suffix}", name, mode)] = value
        finally:
            for server in servers.values():
                server.stop()
    print("| test | respcache plain | respcache TLS | TLS/plain | redis plain | redis TLS "
          "| TLS/plain | respcache/redis (TLS) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for test in dict.fromkeys(key[0] for key in rps):
        rp, rt = rps[(test, "respcache", "plain")], rps[(test, "respcache", "tls")]
        sp, st = rps[(test, "redis", "plain")], rps[(test, "redis", "tls")]
        print(
            f"| {test} | {rp:,.0f} | {rt:,.0f} | {rt / rp:.2f} | {sp:,.0f} | {st:,.0f} "
            f"| {st / sp:.2f} | {rt / st:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
