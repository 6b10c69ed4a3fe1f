"""aiocache's RedisCache (on redis-py's asyncio client) against respcache:
set/get/add/increment/expire/multi_set/multi_get/delete/clear, its ``RedLock``
(SET NX PX to take it, a Lua script to release it) and ``OptimisticLock``
(WATCH/MULTI/EXEC: a concurrent change makes the write fail)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

aiocache = pytest.importorskip("aiocache")
redis = pytest.importorskip("redis")

pytestmark = [
    pytest.mark.integration,
    # aiocache 0.12 calls redis-py's deprecated setex and close
    pytest.mark.filterwarnings("ignore::DeprecationWarning:aiocache"),
]


def test_aiocache_redis_cache_and_locks(respcache_server: Any) -> None:
    import redis.asyncio as aioredis
    from aiocache.lock import OptimisticLock, OptimisticLockError, RedLock

    async def scenario() -> None:
        client = aioredis.Redis(host=respcache_server.host, port=respcache_server.port, db=5)
        cache = aiocache.RedisCache(
            endpoint=respcache_server.host, port=respcache_server.port, db=5, namespace="rcaio"
        )
        try:
            await cache.clear()
            assert await cache.set("k", "v", ttl=60)
            assert await cache.get("k") == "v"
            assert await cache.exists("k")
            with pytest.raises(ValueError):
                await cache.add("k", "again")
            assert await cache.add("fresh", 1)
            assert await cache.increment("n") == 1
            assert await cache.increment("n", 9) == 10
            assert await cache.expire("k", 100)
            assert 95 <= await client.ttl("rcaio:k") <= 100
            assert await cache.multi_set([("a", 1), ("b", 2)], ttl=30)
            assert await cache.multi_get(["a", "b", "zz"]) == [1, 2, None]
            assert await cache.delete("a") == 1
            assert await cache.get("a") is None

            order: list[str] = []

            async def critical(name: str) -> None:
                async with RedLock(cache, "resource", lease=5):
                    order.append(f"{name} in")
                    await asyncio.sleep(0.05)
                    order.append(f"{name} out")

            await asyncio.gather(critical("one"), critical("two"))
            assert order in (
                ["one in", "one out", "two in", "two out"],
                ["two in", "two out", "one in", "one out"],
            )

            await cache.set("doc", "v1")
            async with OptimisticLock(cache, "doc") as lock:
                await lock.cas("v2")
            assert await cache.get("doc") == "v2"
            with pytest.raises(OptimisticLockError):
                async with OptimisticLock(cache, "doc") as lock:
                    await cache.set("doc", "someone else")
                    await lock.cas("v3")
            assert await cache.get("doc") == "someone else"
            assert await cache.clear()
            assert await client.keys("rcaio*") == []
        finally:
            await cache.close()
            await client.aclose()

    asyncio.run(scenario())
