"""Keyspace notifications compared with a real redis-server 7.0.15, event by event.

With ``notify-keyspace-events KEAn`` a subscriber to every ``__key*__`` channel sees,
for each command, the events Redis sends and in Redis's order — including ``new``
(class ``n``, sent by ``dbAdd`` whenever a command creates a key, before the command's
own event).
"""

from __future__ import annotations

import pytest
import redis
from support import ServerFactory, wait_until

pytestmark = pytest.mark.integration

COMMANDS: list[tuple[str, ...]] = [
    ("SET", "s1", "v"),
    ("SET", "s1", "w"),
    ("SET", "s2", "v", "EX", "100"),
    ("SETNX", "s3", "v"),
    ("SETEX", "s4", "100", "v"),
    ("PSETEX", "s5", "100000", "v"),
    ("MSET", "m1", "a", "m2", "b", "s1", "c"),
    ("MSETNX", "m3", "a", "m4", "b"),
    ("APPEND", "ap", "x"),
    ("APPEND", "ap", "y"),
    ("INCR", "n1"),
    ("INCRBY", "n2", "5"),
    ("INCRBYFLOAT", "n3", "1.5"),
    ("DECR", "n4"),
    ("SETRANGE", "sr", "3", "x"),
    ("GETSET", "gs", "v"),
    ("SET", "gx", "v", "GET"),
    ("SETBIT", "b1", "7", "1"),
    ("BITFIELD", "b2", "SET", "u8", "0", "255"),
    ("BITOP", "OR", "b3", "b1", "b2"),
    ("HSET", "h1", "f", "v"),
    ("HSET", "h1", "g", "v"),
    ("HSETNX", "h2", "f", "v"),
    ("HINCRBY", "h3", "f", "1"),
    ("HINCRBYFLOAT", "h4", "f", "1.5"),
    ("HMSET", "h5", "f", "v"),
    ("SADD", "st", "a"),
    ("RPUSH", "l1", "a"),
    ("ZADD", "z1", "1", "a"),
    ("XADD", "x1", "*", "f", "v"),
    ("PFADD", "p1", "a"),
    ("GEOADD", "g1", "13.361389", "38.115556", "a"),
    ("COPY", "s1", "c1"),
    ("RENAME", "c1", "c2"),
    ("RENAMENX", "c2", "c3"),
    ("SET", "mv", "v"),
    ("MOVE", "mv", "1"),
    ("SUNIONSTORE", "su", "st"),
    ("LMOVE", "l1", "l2", "LEFT", "RIGHT"),
    ("SMOVE", "st", "st2", "a"),
    ("ZRANGESTORE", "z2", "z1", "0", "-1"),
    ("ZUNIONSTORE", "z3", "1", "z1"),
    ("GEOSEARCHSTORE", "g2", "g1", "FROMLONLAT", "13", "38", "BYRADIUS", "500", "km"),
    ("XGROUP", "CREATE", "x2", "grp", "$", "MKSTREAM"),
    ("PFMERGE", "p2", "p1"),
    ("SORT", "l2", "ALPHA", "STORE", "so"),
    ("RPOPLPUSH", "l2", "l3"),
    ("HSET", "h6", "f", "v"),
    ("DEL", "s1"),
    ("SET", "end", "v"),
]


def _events(host: str, port: int) -> list[tuple[str, str]]:
    r = redis.Redis(host=host, port=port, decode_responses=True)
    r.flushall()
    r.config_set("notify-keyspace-events", "KEAn")
    p = r.pubsub()
    p.psubscribe("__key*__:*")
    assert p.get_message(timeout=5)["type"] == "psubscribe"
    for args in COMMANDS:
        r.execute_command(*args)
    payload = r.dump("h6")
    r.restore("rs", 0, payload)
    r.restore("rs", 0, payload, replace=True)
    out: list[tuple[str, str]] = []

    def drained() -> bool:
        while (m := p.get_message(timeout=0.05)) is not None:
            out.append((m["channel"], m["data"]))
        return bool(out) and out[-1] == ("__keyevent@0__:set", "end")

    wait_until(drained, timeout=10)
    p.close()
    r.config_set("notify-keyspace-events", "")
    r.close()
    return out


def test_keyspace_events_match_redis(server_factory: ServerFactory) -> None:
    ours = server_factory.respcache()
    theirs = server_factory.redis()
    got, want = _events(ours.host, ours.port), _events(theirs.host, theirs.port)
    assert ("__keyevent@0__:new", "s1") in want
    missing = [e for e in want if e not in got]
    extra = [e for e in got if e not in want]
    assert got == want, f"missing {missing}\nextra {extra}"
