"""used_memory and maxmemory on a real server process: the startup overhead and the
clients' buffers count (commands/memory.py), so a limit just above used_memory
refuses writes with OOM and still serves reads, and eviction keeps under it."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from support import ServerFactory, wait_until

pytestmark = pytest.mark.integration


def memory(conn: Any) -> dict[str, Any]:
    info: dict[str, Any] = conn.info("memory")
    return info


def test_info_memory_adds_up(server_factory: ServerFactory) -> None:
    server = server_factory.respcache()
    with server.client() as conn:
        info = memory(conn)
        assert info["used_memory_startup"] > 0
        assert info["used_memory"] >= info["used_memory_startup"]
        assert info["used_memory_overhead"] + info["used_memory_dataset"] == info["used_memory"]
        # The cron samples this very client (clientsCron) within a tick or two.
        assert wait_until(lambda: memory(conn)["mem_clients_normal"] > 0, 5.0)
        conn.set("k", "v" * 1000)
        info = memory(conn)
        assert info["used_memory_dataset"] > 1000
        stats = conn.memory_stats()
        assert stats["startup.allocated"] == info["used_memory_startup"]
        assert stats["keys.count"] == 1
        conn.script_load("return 1")
        info = memory(conn)
        assert info["number_of_cached_scripts"] == 1
        assert info["used_memory_scripts"] > 0


def test_maxmemory_just_above_used_memory(server_factory: ServerFactory) -> None:
    server = server_factory.respcache()
    with server.client() as conn:
        conn.set("small", "v")
        used = memory(conn)["used_memory"]
        conn.config_set("maxmemory", used + 4096)
        assert conn.set("big", "x" * 20000) is True  # under the limit before it ran
        with pytest.raises(redis.exceptions.OutOfMemoryError, match=r"^command not allowed"):
            conn.set("more", "y")
        assert conn.get("small") == b"v"
        assert conn.get("big") == b"x" * 20000
        assert conn.eval("return redis.call('get', 'small')", 0) == b"v"
        with pytest.raises(redis.exceptions.OutOfMemoryError, match="used memory > 'maxmemory'"):
            conn.eval("return redis.call('set', 'x', 1)", 0)
        conn.delete("big")  # DEL is not denyoom: it frees the room
        assert conn.set("more", "y") is True
        conn.config_set("maxmemory", 0)


def test_empty_server_is_over_maxmemory_1(server_factory: ServerFactory) -> None:
    """Redis's TCL units (``maxmemory 1``) expect an empty server to be over it."""
    server = server_factory.respcache()
    with server.client() as conn:
        conn.config_set("maxmemory", 1)
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            conn.set("k", "v")
        assert conn.get("k") is None
        conn.config_set("maxmemory", 0)
        assert conn.set("k", "v") is True


def test_eviction_keeps_used_memory_under_maxmemory(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(maxmemory_policy="allkeys-lru")
    with server.client() as conn:
        limit = memory(conn)["used_memory"] + 200_000
        conn.config_set("maxmemory", limit)
        for i in range(200):
            conn.set(f"k{i}", "v" * 5000)
        info = memory(conn)
        assert conn.info("stats")["evicted_keys"] > 0
        assert info["used_memory"] <= limit + 10_000  # the last write lands above
        assert conn.get("k199") == b"v" * 5000  # the most recent key stays
