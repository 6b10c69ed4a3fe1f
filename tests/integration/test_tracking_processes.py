"""Client-side caching over real connections, byte for byte against redis-server 7.0.15:
RESP3 pushes in their place among a pipeline's replies, a RESP2 client redirecting to a
``__redis__:invalidate`` subscriber, BCAST, and redis-py's own client-side cache."""

from __future__ import annotations

import time

import pytest
from support import RawConnection, ServerFactory, encode_command

pytestmark = pytest.mark.integration


def _stream(conn: RawConnection, commands: list[tuple[str, ...]]) -> bytes:
    conn.send_raw(b"".join(encode_command(cmd) for cmd in commands))
    data = b""
    deadline = time.monotonic() + 10
    while not data.endswith(b"$3\r\nend\r\n") and time.monotonic() < deadline:
        data += conn.read_available(0.2)
    return data


def _drain(conn: RawConnection, until: bytes) -> bytes:
    data = b""
    deadline = time.monotonic() + 10
    while until not in data and time.monotonic() < deadline:
        data += conn.read_available(0.1)
    return data


PIPELINE = [
    ("CLIENT", "TRACKING", "on"),
    ("SET", "a", "1"),
    ("MGET", "a", "b"),
    ("SET", "a", "2"),
    ("GET", "a"),
    ("MULTI",),
    ("SET", "a", "3"),
    ("INCR", "b"),
    ("EXEC",),
    ("GET", "a"),
    ("FLUSHALL",),
    ("CLIENT", "TRACKINGINFO"),
    ("CLIENT", "GETREDIR"),
    ("ECHO", "end"),
]


def test_own_invalidations_follow_the_reply_that_caused_them(server_factory: ServerFactory) -> None:
    streams = []
    for server in (server_factory.respcache(), server_factory.redis()):
        with server.raw() as conn:
            conn.send_raw(encode_command(("HELLO", "3")))
            conn.read_reply()
            streams.append(_stream(conn, PIPELINE))
    assert streams[0] == streams[1]
    assert streams[0].count(b">2\r\n$10\r\ninvalidate\r\n") == 4


def _redirect_session(server: object) -> list[bytes]:
    out = []
    with server.raw() as target, server.raw() as tracker, server.raw() as writer:  # type: ignore[attr-defined]
        target_id = int(target.call("CLIENT", "ID").value)
        target.send("SUBSCRIBE", "__redis__:invalidate")
        target.read_reply()
        assert tracker.call("CLIENT", "TRACKING", "on", "REDIRECT", str(target_id)).text() == "OK"
        tracker.call("MGET", "k1", "k2")
        writer.call("MSET", "k1", "x", "k2", "y")
        out.append(_drain(target, b"k2\r\n"))
        tracker.call("GET", "k1")
        writer.call("FLUSHDB")
        out.append(_drain(target, b"$-1\r\n"))
        bcast = tracker  # switch modes: off, then BCAST
        bcast.call("CLIENT", "TRACKING", "off")
        bcast.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "REDIRECT", str(target_id))
        writer.call("MSET", "user:2", "a", "user:1", "b", "other", "c")
        out.append(_drain(target, b"user:2\r\n"))
    return out


def test_resp2_redirect_and_bcast_match_redis(server_factory: ServerFactory) -> None:
    ours = _redirect_session(server_factory.respcache())
    theirs = _redirect_session(server_factory.redis())
    assert ours == theirs
    assert ours[0] == (
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nk1\r\n"
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nk2\r\n"
    )


def test_expired_key_is_invalidated(server_factory: ServerFactory) -> None:
    server = server_factory.respcache()
    with server.raw() as conn:
        conn.send_raw(encode_command(("HELLO", "3")))
        conn.read_reply()
        conn.call("CLIENT", "TRACKING", "on")
        conn.call("SET", "k", "v", "PX", "50")
        conn.call("GET", "k")
        data = _drain(conn, b"k\r\n")  # the active expiry cycle deletes it
        assert data == b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"


def test_redis_py_client_side_cache(
    server_factory: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py 8 enables its cache only for servers reporting 7.4 or later: lifted here
    (docs/client-side-caching.md shows users the same line)."""
    import redis
    from redis.cache import CacheConfig
    from redis.connection import CacheProxyConnection

    monkeypatch.setattr(CacheProxyConnection, "MIN_ALLOWED_VERSION", "7.0.0")
    server = server_factory.respcache()
    cached = redis.Redis(
        host="127.0.0.1", port=server.port, protocol=3, cache_config=CacheConfig()
    )
    other = redis.Redis(host="127.0.0.1", port=server.port)
    try:
        other.set("greeting", "hello")
        assert cached.get("greeting") == b"hello"
        cache = cached.get_cache()
        assert cache is not None and cache.size == 1
        assert cached.get("greeting") == b"hello"  # served from the cache
        other.set("greeting", "bye")
        deadline = time.monotonic() + 5
        value = cached.get("greeting")
        while value != b"bye" and time.monotonic() < deadline:
            time.sleep(0.05)
            value = cached.get("greeting")
        assert value == b"bye"  # the invalidation push dropped the stale entry
    finally:
        cached.close()
        other.close()
