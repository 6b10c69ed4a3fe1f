"""django-redis (the Django cache backend most projects use) against respcache:
set/get, concurrent incr from threads (no update lost), ttl/expire/persist,
delete_pattern and iter_keys (SCAN), and its lock (redis-py ``Lock``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

pytest.importorskip("django")
django_redis = pytest.importorskip("django_redis")

pytestmark = [pytest.mark.integration]


def _cache(server: Any) -> Any:
    from django.conf import settings

    if not settings.configured:
        settings.configure()
    from django_redis.cache import RedisCache

    return RedisCache(
        f"redis://{server.host}:{server.port}/3",
        {"KEY_PREFIX": "djr", "TIMEOUT": 300,
         "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"}},
    )  # fmt: skip


def test_django_redis_cache(respcache_server: Any) -> None:
    cache = _cache(respcache_server)
    cache.clear()
    cache.set("user:1", {"name": "ada"}, timeout=60)
    assert cache.get("user:1") == {"name": "ada"}
    assert 55 <= cache.ttl("user:1") <= 60
    assert cache.ttl("missing") == 0
    assert cache.persist("user:1")
    assert cache.ttl("user:1") is None
    assert cache.expire("user:1", 30)
    assert 25 <= cache.ttl("user:1") <= 30
    assert 25_000 <= cache.pttl("user:1") <= 30_000
    assert cache.set("user:1", "x", nx=True) is False

    cache.set("hits", 0, timeout=None)

    def bump() -> None:
        for _ in range(100):
            cache.incr("hits")

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get("hits") == 400
    assert cache.incr("hits", 10) == 410
    assert cache.decr("hits", 10) == 400

    cache.set_many({f"session:{i}": i for i in range(30)})
    cache.set("other:1", 1)
    assert sorted(cache.iter_keys("session:*")) == sorted(f"session:{i}" for i in range(30))
    assert sorted(cache.keys("session:1*")) == sorted(
        f"session:{i}" for i in range(30) if str(i).startswith("1")
    )
    assert cache.delete_pattern("session:*") == 30
    assert cache.keys("session:*") == []
    assert cache.get("other:1") == 1

    lock = cache.lock("job", timeout=10)
    assert lock.acquire(blocking=False)
    assert not cache.lock("job", timeout=10).acquire(blocking=False)
    got: list[bool] = []
    waiter = threading.Thread(
        target=lambda: got.append(cache.lock("job", timeout=10, blocking_timeout=10).acquire())
    )
    waiter.start()
    lock.release()
    waiter.join(15)
    assert got == [True]
    cache.delete("job")
    cache.clear()
