"""RDB files exchanged with a real redis-server 7.0, both ways, for every type and encoding.

The golden files are made here, by a redis-server this test starts and fills: its
``dump.rdb`` must load into a respcache keyspace with identical content, and the file
respcache writes from that keyspace must load into a fresh redis-server with identical
content, TTLs and encodings.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from support import ServerFactory

from respcache.persistence.rdb import load_rdb, write_keyspace
from respcache.store.keyspace import Keyspace
from respcache.store.values import HashValue, ListValue, SetValue
from respcache.store.zset import ZSetValue

pytestmark = pytest.mark.integration

FUTURE_MS = 4_102_444_800_000  # 2100-01-01


def _fill(r: Any) -> None:
    """One key per type and encoding Redis 7.0 writes, in two databases."""
    r.set("int:small", 42)
    r.set("int:neg", -70000)
    r.set("int:big", 12345678901234567)
    r.set("str:embstr", "hello")
    r.set("str:raw", "x" * 100)  # LZF-compressed in the file
    r.set("str:lorem", "the quick brown fox jumps over the lazy dog " * 3)
    r.set("str:binary", bytes(range(256)))
    r.set("str:empty", "")
    r.set("str:ttl", "v", pxat=FUTURE_MS)
    r.rpush("list:small", "a", "1", "-5", "b" * 70)
    r.rpush("list:long", *[f"item-{i}" for i in range(3000)])  # several quicklist nodes
    r.rpush("list:ints", *range(-300, 300))
    r.sadd("set:intset", 1, -2, 3, 2**62)
    r.sadd("set:hashtable", "a", "b", "c", 1)
    r.sadd("set:bigints", *range(600))  # more than set-max-intset-entries
    r.hset("hash:listpack", mapping={"a": "1", "b": "two", "c": "-3"})
    r.hset("hash:longvalue", mapping={"f": "v" * 100, "g": "1"})
    r.hset("hash:big", mapping={f"f{i}": i for i in range(700)})
    r.zadd("zset:listpack", {"a": 1, "b": 2.5, "c": -3, "inf": math.inf, "ninf": -math.inf})
    r.zadd("zset:skiplist", {f"m{i}": i / 7 for i in range(200)})
    r.zadd("zset:longmember", {"m" * 80: 1.5, "n": -0.0})
    r.hset("hash:ttl", "f", "v")
    r.pexpireat("hash:ttl", FUTURE_MS + 1234)
    r.select(3)
    r.set("db3:key", "in db 3")
    r.lpush("db3:list", "x")
    r.select(0)


def _content(r: Any) -> dict[tuple[int, bytes], tuple[str, Any, int]]:
    """Every key of every database: (type, value, PEXPIRETIME)."""
    out: dict[tuple[int, bytes], tuple[str, Any, int]] = {}
    for db in range(16):
        r.select(db)
        for key in r.scan_iter(count=1000):
            kind = r.type(key).decode()
            value: Any
            if kind == "string":
                value = r.get(key)
            elif kind == "list":
                value = r.lrange(key, 0, -1)
            elif kind == "set":
                value = sorted(r.smembers(key))
            elif kind == "hash":
                value = r.hgetall(key)
            else:
                value = [(m, s) for m, s in r.zrange(key, 0, -1, withscores=True)]
            out[db, key] = (kind, value, r.execute_command("PEXPIRETIME", key))
    r.select(0)
    return out


def _encodings(r: Any, keys: list[tuple[int, bytes]]) -> dict[tuple[int, bytes], bytes]:
    out = {}
    for db, key in keys:
        r.select(db)
        out[db, key] = r.object("encoding", key)
    r.select(0)
    return out


def _keyspace_content(ks: Keyspace) -> dict[tuple[int, bytes], tuple[str, Any, int]]:
    out: dict[tuple[int, bytes], tuple[str, Any, int]] = {}
    for db in ks.dbs:
        for key, value in db.data.items():
            plain: Any
            if type(value) is bytes:
                kind, plain = "string", value
            elif isinstance(value, ListValue):
                kind, plain = "list", list(value)
            elif isinstance(value, SetValue):
                kind, plain = "set", sorted(value)
            elif isinstance(value, HashValue):
                kind, plain = "hash", dict(value)
            else:
                assert isinstance(value, ZSetValue)
                kind, plain = "zset", [(m, s) for s, m in value.order]
            out[db.id, key] = (kind, plain, db.expires.get(key, -1))
    return out


def test_redis_rdb_loads_in_respcache_and_back(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    source = server_factory.redis(enable_debug_command="yes")
    r = source.client()
    _fill(r)
    expected = _content(r)
    encodings = _encodings(r, list(expected))
    assert r.save()
    golden = (source.workdir / "dump.rdb").read_bytes()
    assert golden[:9] == b"REDIS0010"

    # Redis → respcache
    ks = Keyspace(16)
    result = load_rdb(golden, ks)
    assert result.checksum_checked and result.aux["redis-ver"] == b"7.0.15"
    assert result.keys_loaded == len(expected)
    assert _keyspace_content(ks) == expected

    # respcache → Redis
    out_dir = tmp_path / "from-respcache"
    out_dir.mkdir()
    with open(out_dir / "dump.rdb", "wb") as f:
        write_keyspace(f, ks)
    target = server_factory.redis(enable_debug_command="yes", extra_args=["--dir", str(out_dir)])
    t = target.client()
    assert _content(t) == expected
    assert _encodings(t, list(expected)) == encodings
    assert t.execute_command("DEBUG", "DIGEST") == r.execute_command("DEBUG", "DIGEST")


def test_uncompressed_rdb_both_ways(server_factory: ServerFactory, tmp_path: Path) -> None:
    source = server_factory.redis(rdbcompression="no", rdbchecksum="no")
    r = source.client()
    _fill(r)
    expected = _content(r)
    assert r.save()
    ks = Keyspace(16)
    result = load_rdb((source.workdir / "dump.rdb").read_bytes(), ks)
    assert not result.checksum_checked
    assert _keyspace_content(ks) == expected
    out_dir = tmp_path / "plain"
    out_dir.mkdir()
    with open(out_dir / "dump.rdb", "wb") as f:
        write_keyspace(f, ks, compress=False, checksum=False)
    target = server_factory.redis(extra_args=["--dir", str(out_dir)])
    assert _content(target.client()) == expected


def test_lfu_counters_cross_both_ways(server_factory: ServerFactory, tmp_path: Path) -> None:
    source = server_factory.redis(maxmemory_policy="allkeys-lfu")
    r = source.client()
    r.set("hot", "v")
    r.execute_command("RESTORE", "warm", 0, r.dump("hot"), "FREQ", 77)
    assert r.save()
    ks = Keyspace(16, policy="allkeys-lfu")
    load_rdb((source.workdir / "dump.rdb").read_bytes(), ks)
    assert ks.lfu_counter(ks.dbs[0].lfu[b"warm"]) == 77
    out_dir = tmp_path / "lfu"
    out_dir.mkdir()
    with open(out_dir / "dump.rdb", "wb") as f:
        write_keyspace(f, ks)
    target = server_factory.redis(
        maxmemory_policy="allkeys-lfu", extra_args=["--dir", str(out_dir)]
    )
    assert target.client().object("freq", "warm") == 77
