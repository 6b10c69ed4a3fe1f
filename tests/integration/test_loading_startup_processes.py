"""A node that loads its RDB or AOF at startup serves while it loads, as Redis does.

``key-load-delay`` (microseconds per key or command, Redis's test hook) makes the load
slow, ``loading-process-events-interval-bytes 1024`` makes the server serve often; the
tests poll, and at the end lower the delay (CONFIG SET has the ``loading`` flag) so the
load finishes quickly. No assertion depends on how long anything takes.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
from support import ServerFactory, ServerProcess, wait_until
from support.resp import RawConnection

pytestmark = pytest.mark.integration

KEYS = 10_000
LOADING = b"LOADING Redis is loading the dataset in memory"
INTERVAL = ("--loading-process-events-interval-bytes", "1024")
RDB_SLOW = ("--key-load-delay", "1000", *INTERVAL)  # ~45 keys (1 KiB) between two steps
AOF_SLOW = ("--key-load-delay", "200", *INTERVAL)  # the AOF steps every 1024 commands


def _answers_ping(server: ServerProcess, timeout: float) -> None:
    """Ready once PING gets any reply, LOADING included."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.proc is not None and server.proc.poll() is None, server.log_text()
        try:
            with RawConnection(server.host, server.port, timeout=5.0) as conn:
                conn.send_raw(b"*1\r\n$4\r\nPING\r\n")
                conn.read_reply()
            return
        except OSError:
            time.sleep(0.01)
    raise AssertionError(f"no reply to PING\n{server.log_text()}")


def _restart_loading(server: ServerProcess, *args: str) -> None:
    server.stop()
    server.proc = None
    server.argv = server.argv + list(args)
    server.wait_ready = lambda timeout=30.0: _answers_ping(server, timeout)  # type: ignore[method-assign]
    server.start()


def _persistence(r: Any) -> dict[str, str]:
    return {name: str(value) for name, value in r.info("persistence").items()}


def _check_loading(server: ServerProcess, total: int, keys: int, delay: str) -> None:
    """While loading: LOADING for data commands, PING refused too (as Redis), INFO and
    CONFIG served, the loading_* lines present; then the full dataset."""
    with RawConnection(server.host, server.port, timeout=10.0) as conn:
        conn.send_raw(b"*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n")
        reply = conn.read_reply()
        assert (reply.kind, reply.value) == ("-", LOADING)
        conn.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
        reply = conn.read_reply()
        assert (reply.kind, reply.value) == ("-", LOADING)
        conn.send_raw(b"*1\r\n$4\r\nPING\r\n")
        reply = conn.read_reply()
        assert (reply.kind, reply.value) == ("-", LOADING)
    r = server.client()
    info = _persistence(r)
    assert info["loading"] == "1"
    for name in (
        "loading_start_time",
        "loading_total_bytes",
        "loading_rdb_used_mem",
        "loading_loaded_bytes",
        "loading_loaded_perc",
        "loading_eta_seconds",
    ):
        assert name in info, info
    assert int(info["loading_total_bytes"]) == total
    assert 0 <= int(info["loading_loaded_bytes"]) < total
    assert abs(time.time() - int(info["loading_start_time"])) < 3600
    assert r.config_get("key-load-delay") == {"key-load-delay": delay}
    # Progress moves while the client waits (the server serves between steps).
    first = int(info["loading_loaded_bytes"])
    assert wait_until(lambda: int(_persistence(r).get("loading_loaded_bytes", total)) > first)
    r.config_set("key-load-delay", 0)
    assert wait_until(lambda: _persistence(r)["loading"] == "0", timeout=60)
    info = _persistence(r)
    assert "loading_total_bytes" not in info
    assert r.dbsize() == keys
    assert r.ping() is True
    assert r.set("k", "v") is True


def test_rdb_load_serves_loading_replies(server_factory: ServerFactory) -> None:
    server = server_factory.respcache({"enable-debug-command": "yes"})
    r = server.client()
    r.execute_command("DEBUG", "POPULATE", KEYS)
    r.save()
    size = (server.workdir / "dump.rdb").stat().st_size
    _restart_loading(server, *RDB_SLOW)
    _check_loading(server, size, KEYS, "1000")


def test_aof_load_serves_loading_replies(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(
        {"enable-debug-command": "yes", "appendonly": "yes", "aof-use-rdb-preamble": "no"}
    )
    r = server.client()
    r.execute_command("DEBUG", "POPULATE", 4 * KEYS)
    r.bgrewriteaof()
    assert wait_until(lambda: _persistence(r)["aof_rewrite_in_progress"] == "0")
    total = sum(p.stat().st_size for p in (server.workdir / "appendonlydir").glob("*.aof"))
    _restart_loading(server, *AOF_SLOW)
    _check_loading(server, total, 4 * KEYS, "200")


def test_shutdown_while_loading_saves_nothing(server_factory: ServerFactory) -> None:
    server = server_factory.respcache({"enable-debug-command": "yes"})
    r = server.client()
    r.execute_command("DEBUG", "POPULATE", KEYS)
    r.save()
    path: Path = server.workdir / "dump.rdb"
    before = path.read_bytes()
    _restart_loading(server, *RDB_SLOW, "--save", "3600 1")
    r = server.client()
    assert _persistence(r)["loading"] == "1"
    with contextlib.suppress(Exception):  # (the connection closes)
        r.shutdown()  # SHUTDOWN runs while loading; it must not save a partial dataset
    assert server.wait(30) == 0
    assert path.read_bytes() == before
