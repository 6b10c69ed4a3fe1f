"""DUMP payloads move between respcache and redis-server 7.0 both ways, for every type
and encoding; RESTORE's options and errors are Redis's."""

from __future__ import annotations

from typing import Any

import pytest
from support import ServerFactory
from test_persistence_processes import _content, _fill
from test_rdb_interop import _fill as _fill_every_encoding

pytestmark = pytest.mark.integration


def _copy_all(src: Any, dst: Any) -> None:
    for db in range(16):
        src.select(db)
        dst.select(db)
        for key in src.scan_iter(count=1000):
            payload = src.dump(key)
            pttl = src.pexpiretime(key)
            dst.restore(key, max(pttl, 0), payload, replace=True, absttl=True)
    src.select(0)
    dst.select(0)


def test_payloads_cross_both_ways(server_factory: ServerFactory) -> None:
    redis = server_factory.redis()
    ours = server_factory.respcache()
    back = server_factory.redis()
    r, o, b = redis.client(), ours.client(), back.client()
    _fill(r)
    _fill_every_encoding(r)
    expected = _content(r)
    _copy_all(r, o)  # Redis payloads restored by respcache
    assert _content(o) == expected
    _copy_all(o, b)  # respcache payloads restored by Redis
    assert _content(b) == expected
    for db, key in expected:
        r.select(db)
        b.select(db)
        assert b.object("encoding", key) == r.object("encoding", key), key


def test_restore_options_and_errors_match_redis(server_factory: ServerFactory) -> None:
    servers = [server_factory.redis(), server_factory.respcache()]
    transcripts = []
    for server in servers:
        raw = server.raw()
        raw.call("SET", "src", "value")
        payload = raw.call("DUMP", "src").value
        out = [
            raw.call("RESTORE", "src", "0", payload),
            raw.call("RESTORE", "new", "-1", payload),
            raw.call("RESTORE", "new", "x", payload),
            raw.call("RESTORE", "new", "0", payload[:-1] + b"\x00"),
            raw.call("RESTORE", "new", "0", b"short"),
            raw.call("RESTORE", "new", "0", payload, "BOGUS"),
            raw.call("RESTORE", "new", "0", payload, "IDLETIME", "-1"),
            raw.call("RESTORE", "new", "0", payload, "FREQ", "300"),
            raw.call("RESTORE", "new", "0", payload, "FREQ", "1", "IDLETIME", "1"),
            raw.call("RESTORE", "new", "0", payload, "REPLACE", "IDLETIME", "10"),
            raw.call("RESTORE", "src", "0", payload, "REPLACE"),
            raw.call("RESTORE", "t1", "100000", payload),
            raw.call("RESTORE", "t2", "1", payload, "ABSTTL"),  # already expired: not created
            raw.call("EXISTS", "t2"),
            raw.call("RESTORE", "src", "1", payload, "REPLACE", "ABSTTL"),  # deletes src
            raw.call("EXISTS", "src"),
            raw.call("DUMP", "missing"),
        ]
        pttl = raw.call("PTTL", "t1").value
        out.append(90000 < int(pttl) <= 100000)
        transcripts.append(out)
    assert transcripts[1] == transcripts[0]


def _migrate_transcript(source: Any, target: Any, dead_port: int) -> list[Any]:
    s, t = source.raw(), target.raw()
    host, port = "127.0.0.1", str(target.port)
    s.call("SET", "a", "1")
    s.call("RPUSH", "b", "x", "y")
    s.call("SET", "c", "3", "PX", "100000")
    s.call("SET", "d", "4")
    t.call("SET", "d", "old")
    out = [
        s.call("MIGRATE", host, port, "a", "0", "5000"),
        s.call("EXISTS", "a"),
        t.call("GET", "a"),
        s.call("MIGRATE", host, port, "", "0", "5000", "KEYS", "b", "c", "missing"),
        s.call("EXISTS", "b", "c"),
        t.call("LRANGE", "b", "0", "-1"),
        0 < int(t.call("PTTL", "c").value) <= 100000,
        s.call("MIGRATE", host, port, "d", "0", "5000"),  # BUSYKEY on the target
        s.call("EXISTS", "d"),
        s.call("MIGRATE", host, port, "d", "0", "5000", "COPY", "REPLACE"),
        s.call("EXISTS", "d"),
        t.call("GET", "d"),
        s.call("MIGRATE", host, port, "nothing", "0", "5000"),
        s.call("MIGRATE", host, port, "d", "0", "5000", "KEYS", "d"),
        s.call("MIGRATE", host, port, "d", "0", "5000", "BOGUS"),
        s.call("MIGRATE", host, port, "d", "0", "5000", "AUTH"),
        s.call("MIGRATE", host, port, "d", "x", "5000"),
        s.call("MIGRATE", host, port, "d", "3", "5000", "AUTH", "wrong"),
        s.call("MIGRATE", "127.0.0.1", str(dead_port), "d", "0", "500"),
        s.call("MIGRATE", host, port, "d", "3", "5000"),
        t.call("SELECT", "3"),
        t.call("GET", "d"),
    ]
    return out


def test_migrate_matches_redis_in_both_directions(server_factory: ServerFactory) -> None:
    from support import free_port

    dead = free_port()
    expected = _migrate_transcript(server_factory.redis(), server_factory.redis(), dead)
    assert _migrate_transcript(server_factory.respcache(), server_factory.redis(), dead) == expected
    assert _migrate_transcript(server_factory.redis(), server_factory.respcache(), dead) == expected


def test_migrate_with_auth(server_factory: ServerFactory) -> None:
    source = server_factory.respcache()
    target = server_factory.redis(requirepass="s3cret")
    s = source.raw()
    s.call("SET", "k", "v")
    s.call("SET", "k2", "v2")
    port = str(target.port)
    assert s.call("MIGRATE", "127.0.0.1", port, "k", "0", "5000", "AUTH", "s3cret").value == b"OK"
    reply = s.call("MIGRATE", "127.0.0.1", port, "k2", "0", "5000", "AUTH2", "default", "s3cret")
    assert reply.value == b"OK"
    t = target.client()
    assert t.get("k") == b"v" and t.get("k2") == b"v2"
