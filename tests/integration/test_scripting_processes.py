"""Scripting with real processes: effects replication to a follower, redis-py's scripts and locks.

A leader and a follower (``respcache-server`` processes on loopback): a script's
writes reach the follower as the commands it ran, inside MULTI/EXEC, and the
follower never runs Lua (its MONITOR-free check: the follower's own commandstats
show no EVAL). redis-py's ``register_script`` and ``Lock`` (sync and asyncio) run
unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
import redis.asyncio
from support import respcache_is_redis
from test_replication import FAST, Cluster, digest, wait_synced

pytestmark = [pytest.mark.integration]


@pytest.mark.skipif(respcache_is_redis(), reason="respcache's synchronous replication")
def test_script_effects_reach_the_follower(server_factory: Any) -> None:
    cluster = Cluster(server_factory, **FAST)
    follower = cluster.follower()
    wait_synced(cluster.leader, follower)
    with cluster.leader.client() as leader, follower.client() as replica:
        body = (
            "redis.call('set', KEYS[1], ARGV[1]) "
            "redis.call('incrby', KEYS[2], math.random(1000)) "
            "redis.call('rpush', KEYS[3], redis.call('time')[1]) "
            "return redis.call('get', KEYS[2])"
        )
        value = leader.eval(body, 3, "a", "n", "l", "v")
        # Acknowledged only once the follower applied the unit: read it at once.
        assert replica.get("n") == value
        assert replica.get("a") == b"v"
        assert replica.lrange("l", 0, -1) == leader.lrange("l", 0, -1)
        leader.eval("return redis.call('get', 'a')", 0)  # replicates nothing
        sha = leader.script_load("return redis.call('incr', KEYS[1])")
        assert leader.evalsha(sha, 1, "counter") == 1
        assert replica.get("counter") == b"1"
        stats = replica.info("commandstats")
        assert "cmdstat_eval" not in stats and "cmdstat_evalsha" not in stats
        assert stats["cmdstat_incrby"]["calls"] == 1
        assert replica.execute_command("DEBUG", "DIGEST") == leader.execute_command(
            "DEBUG", "DIGEST"
        )
        # A may-write script on the read-only follower is refused; read-only ones run.
        with pytest.raises(redis.ResponseError, match="read only replica"):
            replica.eval("return redis.call('set', 'x', 1)", 0)
        assert replica.eval_ro("return redis.call('get', KEYS[1])", 1, "a") == b"v"
        assert replica.eval("#!lua flags=no-writes\nreturn redis.call('get', 'a')", 0) == b"v"
    assert digest(cluster.leader) == digest(follower)


def test_redis_py_register_script_and_pipeline(respcache_server: Any) -> None:
    with respcache_server.client() as c:
        c.script_flush()
        incr_if = c.register_script(
            "local v = tonumber(redis.call('get', KEYS[1]) or '0') "
            "if v < tonumber(ARGV[1]) then return redis.call('incr', KEYS[1]) end return v"
        )
        assert incr_if(keys=["cnt"], args=[2]) == 1
        assert incr_if(keys=["cnt"], args=[2]) == 2
        assert incr_if(keys=["cnt"], args=[2]) == 2
        c.script_flush()
        pipe = c.pipeline()
        incr_if(keys=["cnt2"], args=[5], client=pipe)
        incr_if(keys=["cnt2"], args=[5], client=pipe)
        assert pipe.execute() == [1, 2]  # SCRIPT EXISTS then LOAD inside the pipeline


def test_redis_py_lock_sync(respcache_server: Any) -> None:
    with respcache_server.client() as c:
        lock = c.lock("resource", timeout=5)
        assert lock.acquire(blocking=False)
        assert not c.lock("resource", timeout=5).acquire(blocking=False)
        assert lock.extend(5)
        assert 5000 < c.pttl("resource") <= 10000
        assert lock.reacquire()
        assert c.pttl("resource") <= 5000
        lock.release()
        assert c.get("resource") is None
        assert lock.acquire(blocking=False)
        c.set("resource", "someone else")
        with pytest.raises(redis.exceptions.LockNotOwnedError):
            lock.release()  # the release script compares tokens
        assert c.get("resource") == b"someone else"


def test_redis_py_lock_asyncio(respcache_server: Any) -> None:
    async def main() -> None:
        c: Any = redis.asyncio.Redis(host=respcache_server.host, port=respcache_server.port)
        try:
            lock = c.lock("aresource", timeout=5)
            assert await lock.acquire(blocking=False)
            assert await lock.extend(2)
            assert await lock.reacquire()
            await lock.release()
            assert await c.get("aresource") is None
        finally:
            await c.aclose()

    asyncio.run(main())


FUNCTION_LIB = (
    "#!lua name=counters\n"
    "redis.register_function('bump', function(keys, args) "
    "return redis.call('incrby', keys[1], args[1]) end)"
)


@pytest.mark.skipif(respcache_is_redis(), reason="respcache's synchronous replication")
def test_functions_replicate_and_ride_the_full_sync(server_factory: Any) -> None:
    cluster = Cluster(server_factory, **FAST)
    with cluster.leader.client() as leader:
        assert leader.function_load(FUNCTION_LIB) == b"counters"
        leader.fcall("bump", 1, "c", 5)
        late = cluster.follower()  # full sync carries the library
        wait_synced(cluster.leader, late)
        with late.client() as replica:
            assert [lib[1] for lib in replica.function_list()] == [b"counters"]
            leader.function_load(FUNCTION_LIB.replace("incrby", "decrby"), replace=True)
            assert leader.fcall("bump", 1, "c", 2) == 3
            assert replica.get("c") == b"3"
            assert replica.function_dump() == leader.function_dump()
            leader.function_delete("counters")
            assert replica.function_list() == []
