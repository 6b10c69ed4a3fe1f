"""Libraries built on Redis scripting, used unchanged against a respcache server.

``limits`` (rate limiting: its Redis storage runs every strategy as Lua through
EVALSHA) and ``python-redis-lock`` (its release, extend and reset are Lua
scripts, waiting uses BLPOP on a signal list), both from the ``[test]`` extra.
The same tests pass against redis-server (``RCTEST_IMPL=redis``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

pytestmark = [pytest.mark.integration]

limits = pytest.importorskip("limits")
redis_lock = pytest.importorskip("redis_lock")


@pytest.mark.parametrize(
    "strategy",
    ["FixedWindowRateLimiter", "MovingWindowRateLimiter", "SlidingWindowCounterRateLimiter"],
)
def test_limits_rate_limiting(respcache_server: Any, strategy: str) -> None:
    from limits import parse, storage, strategies

    store = storage.RedisStorage(f"redis://{respcache_server.host}:{respcache_server.port}")
    assert store.check()
    limiter = getattr(strategies, strategy)(store)
    limit = parse("3/minute")
    key = f"user-{strategy}"
    assert [limiter.hit(limit, key) for _ in range(4)] == [True, True, True, False]
    assert not limiter.test(limit, key)
    stats = limiter.get_window_stats(limit, key)
    assert stats.remaining == 0 and stats.reset_time > time.time() - 1
    assert limiter.hit(limit, f"someone-else-{strategy}")  # limits are per key
    limiter.clear(limit, key)
    assert limiter.hit(limit, key)


def test_python_redis_lock(respcache_server: Any) -> None:
    with respcache_server.client() as conn, respcache_server.client() as other:
        lock = redis_lock.Lock(conn, "resource", expire=30, id=b"first")
        assert lock.acquire(blocking=False)
        assert lock.locked()
        contender = redis_lock.Lock(other, "resource", expire=30)
        assert not contender.acquire(blocking=False)
        lock.extend(expire=60)  # a Lua script: refused unless we own it
        assert 55 <= conn.ttl("lock:resource") <= 60
        with pytest.raises(redis_lock.NotAcquired):
            contender.extend(expire=10)

        got: list[bool] = []
        waiter = threading.Thread(target=lambda: got.append(contender.acquire(timeout=10)))
        waiter.start()
        time.sleep(0.1)
        lock.release()  # a Lua script: deletes the lock and signals the waiter
        waiter.join(15)
        assert got == [True]
        assert contender.locked() and contender.get_owner_id() == contender.id
        contender.release()
        with pytest.raises(redis_lock.NotAcquired):
            contender.release()

        assert redis_lock.Lock(conn, "a", expire=30).acquire(blocking=False)
        assert redis_lock.Lock(conn, "b", expire=30).acquire(blocking=False)
        redis_lock.reset_all(conn)  # a Lua script over every lock key
        assert conn.keys("lock:*") == []
