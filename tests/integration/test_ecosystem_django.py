"""Django's own cache backend (``django.core.cache.backends.redis.RedisCache``,
on redis-py) against respcache: set/get/add/incr (concurrent increments from
threads lose none), the *_many calls, touch, delete and clear."""

from __future__ import annotations

import threading
from typing import Any

import pytest

django = pytest.importorskip("django")
pytest.importorskip("redis")

pytestmark = [pytest.mark.integration]


def _cache(server: Any, alias: str) -> Any:
    from django.conf import settings

    if not settings.configured:
        settings.configure()
    from django.core.cache.backends.redis import RedisCache

    return RedisCache(
        f"redis://{server.host}:{server.port}/2", {"KEY_PREFIX": alias, "TIMEOUT": 300}
    )


def test_django_redis_cache_backend(respcache_server: Any) -> None:
    cache = _cache(respcache_server, "djbuiltin")
    cache.clear()
    cache.set("greeting", {"text": "hello", "n": [1, 2]}, timeout=60)
    assert cache.get("greeting") == {"text": "hello", "n": [1, 2]}
    assert cache.get("missing", "default") == "default"
    assert not cache.add("greeting", "other")
    assert cache.add("fresh", 1)
    assert cache.has_key("fresh")
    assert cache.get_or_set("computed", lambda: "value") == "value"

    cache.set("counter", 0)

    def bump() -> None:
        for _ in range(100):
            cache.incr("counter")

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get("counter") == 400  # INCRBY: no update lost
    assert cache.decr("counter", 50) == 350
    with pytest.raises(ValueError):
        cache.incr("no-such-counter")

    cache.set_many({"a": 1, "b": "two", "c": 3.5})
    assert cache.get_many(["a", "b", "c", "zz"]) == {"a": 1, "b": "two", "c": 3.5}
    cache.delete_many(["a", "b"])
    assert cache.get_many(["a", "b", "c"]) == {"c": 3.5}

    assert cache.touch("c", timeout=100)
    client = cache._cache.get_client("c")
    assert 95 <= client.ttl(cache.make_and_validate_key("c")) <= 100
    assert cache.touch("c", timeout=None)
    assert client.ttl(cache.make_and_validate_key("c")) == -1
    cache.set("short", "x", timeout=0)  # zero timeout: not stored
    assert cache.get("short") is None
    assert cache.delete("c")
    assert not cache.delete("c")
    cache.clear()
    assert cache.get("greeting") is None
