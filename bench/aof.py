#!/usr/bin/env python3
"""AOF benchmark: SET throughput with ``appendfsync always``, ``everysec`` and ``no``, and
the restart time from an AOF of N keys, respcache beside redis-server under the same
settings.

    .venv/bin/python bench/aof.py                         # 1M keys for the restart
    .venv/bin/python bench/aof.py --keys 100000 --requests 20000

Throughput: ``redis-benchmark -t set -c 50 -n <requests> -r 100000 -d 100`` against a
fresh server with ``appendonly yes`` and the policy (each server in its own temporary
directory on a free loopback port). With ``always`` every reply waits for its fsync:
both servers group the writes of one event-loop iteration under one fsync, so the
figure depends mostly on the disk's fsync latency and on how many clients' writes one
iteration collects.

Restart: the server (``appendfsync everysec``) is filled with ``bench/fill.py``'s
pipelined SETs, so the AOF is a small base and an incremental file of N SETs (the
replay path, the slow one), then SIGTERM and a new process, timed from exec to the
first PONG with DBSIZE checked; then the same after ``BGREWRITEAOF`` (an RDB base).
Automatic rewrites are off (``auto-aof-rewrite-percentage 0``) so that the first
restart replays the N commands.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fill import fill
from persistence import _call, _free_port, _info, _start

REPO = Path(__file__).resolve().parent.parent
SERVERS = {
    "respcache": [str(REPO / ".venv/bin/respcache-server"), "--loglevel", "warning"],
    "redis": [shutil.which("redis-server") or "redis-server", "--loglevel", "warning"],
}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(120)
    except subprocess.TimeoutExpired:
        proc.kill()


def throughput(name: str, policy: str, requests: int) -> float:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-aof-{name}-"))
    port = _free_port()
    argv = [*SERVERS[name], "--port", str(port), "--dir", str(workdir), "--save", ""]
    argv += ["--appendonly", "yes", "--appendfsync", policy]
    proc, _ = _start(argv, port, workdir)
    try:
        out = subprocess.run(
            [
                *("redis-benchmark", "-p", str(port), "-t", "set", "-c", "50"),
                *("-n", str(requests), "-r", "100000", "-d", "100", "-q"),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=True,
        ).stdout
        match = re.search(r"SET: ([\d.]+) requests per second", out.replace("\r", "\n"))
        assert match, out
        return float(match.group(1))
    finally:
        _stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def restart(name: str, keys: int) -> tuple[float, float, float]:
    """(AOF MB, restart s from the incr file's SETs, restart s from an RDB base)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-aofload-{name}-"))
    port = _free_port()
    argv = [*SERVERS[name], "--port", str(port), "--dir", str(workdir), "--save", ""]
    argv += ["--appendonly", "yes", "--appendfsync", "everysec"]
    argv += ["--auto-aof-rewrite-percentage", "0"]  # the replay is what is measured first
    proc, _ = _start(argv, port, workdir)
    try:
        fill("127.0.0.1", port, keys, 100, 1000)
        size = sum(f.stat().st_size for f in (workdir / "appendonlydir").iterdir())
        _stop(proc)
        proc, replay_s = _start(argv, port, workdir)
        assert _call(port, "DBSIZE") == b":%d\r\n" % keys
        assert b"started" in _call(port, "BGREWRITEAOF")
        time.sleep(0.2)
        while _info(port)["aof_rewrite_in_progress"] != "0":
            time.sleep(0.05)
        _stop(proc)
        proc, base_s = _start(argv, port, workdir)
        assert _call(port, "DBSIZE") == b":%d\r\n" % keys
    finally:
        _stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
    return size / 1e6, replay_s, base_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--skip-restart", action="store_true")
    args = parser.parse_args()
    print(f"SET throughput (redis-benchmark -c 50 -n {args.requests} -d 100), requests/s")
    print(f"{'appendfsync':12} {'respcache':>10} {'redis':>10} {'ratio':>7}")
    for policy in ("always", "everysec", "no"):
        rc = throughput("respcache", policy, args.requests)
        rd = throughput("redis", policy, args.requests)
        print(f"{policy:12} {rc:10.0f} {rd:10.0f} {rc / rd:7.2f}")
    if not args.skip_restart:
        print(f"\nrestart from the AOF, {args.keys} keys of 100 bytes (exec to first PONG)")
        print(f"{'':10} {'AOF MB':>7} {'replay s':>9} {'RDB base s':>11}")
        res = {name: restart(name, args.keys) for name in SERVERS}
        for name, (mb, replay, base) in res.items():
            print(f"{name:10} {mb:7.1f} {replay:9.2f} {base:11.2f}")
        (_, rr, rb), (_, dr, db) = res["respcache"], res["redis"]
        print(f"ratios respcache/redis: replay {rr / dr:.1f}x, RDB base {rb / db:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
