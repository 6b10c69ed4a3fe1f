"""Flask-Caching's RedisCache against respcache: a Flask app whose views are
cached (``@cache.cached``) and memoized (``@cache.memoize``), plus the
cache's own set/get/add/inc/dec/*_many/delete/clear."""

from __future__ import annotations

from typing import Any

import pytest

flask = pytest.importorskip("flask")
flask_caching = pytest.importorskip("flask_caching")
pytest.importorskip("redis")
from support import respcache_is_redis  # noqa: E402

pytestmark = [pytest.mark.integration]


def test_flask_caching_redis_cache(respcache_server: Any) -> None:
    app = flask.Flask("rcflask")
    cache = flask_caching.Cache(app, config={
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_URL": f"redis://{respcache_server.host}:{respcache_server.port}/4",
        "CACHE_KEY_PREFIX": "rcflask:",
        "CACHE_DEFAULT_TIMEOUT": 60,
    })  # fmt: skip
    calls: list[str] = []

    @app.route("/page")
    @cache.cached(timeout=60)
    def page() -> str:
        calls.append("page")
        return f"rendered {len(calls)}"

    @cache.memoize(timeout=60)
    def square(n: int) -> int:
        calls.append(f"square{n}")
        return n * n

    with app.app_context():
        cache.clear()
        client = app.test_client()
        assert client.get("/page").data == b"rendered 1"
        assert client.get("/page").data == b"rendered 1"  # served from the cache
        assert calls == ["page"]
        assert [square(3), square(3), square(4)] == [9, 9, 16]
        assert calls == ["page", "square3", "square4"]
        cache.delete_memoized(square, 3)
        assert square(3) == 9 and calls[-1] == "square3"

        assert cache.set("k", {"v": [1, 2]})
        assert cache.get("k") == {"v": [1, 2]}
        assert not cache.add("k", "other")
        assert cache.add("new", 1)
        assert cache.has("new")
        backend = cache.cache  # flask_caching.backends.RedisCache
        assert backend.inc("n") == 1 and backend.inc("n", 5) == 6 and backend.dec("n", 2) == 4
        assert cache.set_many({"a": 1, "b": 2})
        assert cache.get_many("a", "b", "zz") == [1, 2, None]
        assert cache.get_dict("a", "b") == {"a": 1, "b": 2}
        assert cache.delete_many("a", "b")
        assert cache.get("a") is None
        assert cache.delete("k") and cache.get("k") is None
        redis_client = backend._write_client
        assert 55 <= redis_client.ttl("rcflask:new") <= 60
        assert cache.clear()
        assert redis_client.keys("rcflask:*") == []


@pytest.mark.skipif(respcache_is_redis(), reason="redis-server is not a Sentinel")
def test_flask_caching_sentinel_cache_finds_the_leader(server_factory: Any) -> None:
    server = server_factory.respcache(cluster_name="rcflask")
    app = flask.Flask("rcflasksentinel")
    cache = flask_caching.Cache(app, config={
        "CACHE_TYPE": "RedisSentinelCache",
        "CACHE_REDIS_SENTINELS": [(server.host, server.port)],
        "CACHE_REDIS_SENTINEL_MASTER": "rcflask",
        "CACHE_KEY_PREFIX": "rcflask:",
    })  # fmt: skip
    with app.app_context():
        assert cache.set("k", [1, 2])
        assert cache.get("k") == [1, 2]
    with server.client() as direct:
        assert direct.exists("rcflask:k") == 1
