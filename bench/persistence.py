#!/usr/bin/env python3
"""RDB benchmark: SAVE and BGSAVE time, BGSAVE's copy-on-write memory and restart load time
for N string keys, respcache beside redis-server under the same settings.

    .venv/bin/python bench/persistence.py --keys 1000000 --value-size 100

Each server gets its own temporary directory and a free loopback port, is filled with
``bench/fill.py``'s pipelined SETs, then: SAVE (timed by the client), BGSAVE (from the
command to ``rdb_bgsave_in_progress:0``; ``rdb_last_cow_size`` is the child's private
dirty memory at its end, the extra memory the save cost), and a restart (SIGTERM with
``save ""``, so the file is the SAVE's) timed from the exec to the first PONG. Every
process is stopped at the end.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fill import fill

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _call(port: int, *args: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=600) as s:
        s.sendall(
            b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args)
        )
        data = b""
        while not data.endswith(b"\r\n") or (data[:1] == b"$" and data.count(b"\r\n") < 2):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        return data


def _info(port: int) -> dict[str, str]:
    text = _call(port, "INFO", "persistence").decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _start(argv: list[str], port: int, workdir: Path) -> tuple[subprocess.Popen[bytes], float]:
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            if _call(port, "PING").startswith(b"+PONG"):
                return proc, time.monotonic() - started
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited")
        time.sleep(0.02)


def measure(name: str, argv_base: list[str], keys: int, value_size: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    port = _free_port()
    argv = [*argv_base, "--port", str(port), "--dir", str(workdir), "--save", ""]
    proc, _ = _start(argv, port, workdir)
    try:
        fill("127.0.0.1", port, keys, value_size, 1000)
        t0 = time.monotonic()
        assert _call(port, "SAVE").startswith(b"+OK")
        save_s = time.monotonic() - t0
        t0 = time.monotonic()
        assert b"started" in _call(port, "BGSAVE")
        while _info(port)["rdb_bgsave_in_progress"] == "0" and time.monotonic() - t0 < 1:
            time.sleep(0.005)
        while _info(port)["rdb_bgsave_in_progress"] != "0":
            time.sleep(0.01)
        bgsave_s = time.monotonic() - t0
        info = _info(port)
        cow = int(info["rdb_last_cow_size"])
        size = (workdir / "dump.rdb").stat().st_size
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        proc, load_s = _start(argv, port, workdir)
        loaded = _call(port, "DBSIZE")
        assert loaded == b":%d\r\n" % keys, loaded
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "save_s": save_s,
        "bgsave_s": bgsave_s,
        "cow_mb": cow / 1e6,
        "file_mb": size / 1e6,
        "load_s": load_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--value-size", type=int, default=100)
    args = parser.parse_args()
    servers = {
        "respcache": [str(REPO / ".venv/bin/respcache-server"), "--loglevel", "warning"],
        "redis": [
            shutil.which("redis-server") or "redis-server",
            "--appendonly",
            "no",
            "--loglevel",
            "warning",
        ],
    }
    results = {
        name: measure(name, argv, args.keys, args.value_size) for name, argv in servers.items()
    }
    print(f"{args.keys} keys, {args.value_size}-byte values")
    print(f"{'':10} {'SAVE s':>8} {'BGSAVE s':>9} {'COW MB':>8} {'file MB':>8} {'load s':>7}")
    for name, r in results.items():
        print(
            f"{name:10} {r['save_s']:8.2f} {r['bgsave_s']:9.2f} {r['cow_mb']:8.1f} {r['file_mb']:8.1f} {r['load_s']:7.2f}"
        )
    rc, rd = results["respcache"], results["redis"]
    print(
        "ratios respcache/redis: "
        + ", ".join(f"{k} {rc[k] / rd[k]:.1f}x" for k in ("save_s", "bgsave_s", "load_s") if rd[k])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
