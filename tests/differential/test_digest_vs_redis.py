"""DEBUG DIGEST and DEBUG DIGEST-VALUE compared byte for byte with redis-server 7.0.15.

The same writes go to both servers (every type, integer-encoded strings and set
members, listpack and skiplist sorted sets with integer and fractional scores, TTLs at
fixed absolute times, several databases, streams with deleted entries); then the
dataset digest and every key's DIGEST-VALUE must be equal, and change together.
"""

from __future__ import annotations

import random

import pytest
from support import RawConnection, ServerFactory

pytestmark = pytest.mark.integration

KEYS: list[bytes] = [
    b"s", b"int", b"neg", b"long", b"empty", b"l", b"li", b"set", b"iset", b"z", b"zbig",
    b"h", b"hbig", b"x", b"xempty", b"ttl", b"missing",
]  # fmt: skip

WRITES: list[tuple[object, ...]] = [
    ("SET", "s", "hello"),
    ("SET", "int", "12345"),
    ("SET", "neg", "-7"),
    ("SET", "long", "x" * 5000),
    ("SET", "empty", ""),
    ("RPUSH", "l", "a", "b", "c", "a"),
    ("RPUSH", "li", "1", "-2", "300000", "x" * 100),
    ("SADD", "set", "m1", "m2", "m3"),
    ("SADD", "iset", "1", "2", "3", "-100", "9999999999"),
    ("ZADD", "z", "1", "one", "2.5", "two", "-0.1", "neg", "3", "17", "inf", "top"),
    ("ZADD", "zbig", *[x for i in range(200) for x in (str(i / 7), f"m{i}")]),
    ("HSET", "h", "f1", "v1", "f2", "2", "3", "v3"),
    ("HSET", "hbig", *[x for i in range(200) for x in (f"f{i}", "y" * (i % 90))]),
    ("XADD", "x", "1-1", "f", "v", "n", "12"),
    ("XADD", "x", "1-2", "f", "w"),
    ("XADD", "x", "5-0", "other", "field", "n", "13"),
    ("XDEL", "x", "1-2"),
    ("XGROUP", "CREATE", "x", "g", "0"),
    ("XADD", "xempty", "2-0", "a", "b"),
    ("XDEL", "xempty", "2-0"),
    ("SET", "ttl", "v"),
    ("PEXPIREAT", "ttl", "99999999999999"),
    ("PEXPIREAT", "h", "99999999999998"),
    ("SELECT", "3"),
    ("SET", "s", "hello"),
    ("SADD", "set", "m1"),
    ("SELECT", "0"),
]


_TRICKY = ["007", "-0", "1e3", " 12", "9223372036854775807", "9223372036854775808", "\x00\xff"]


def _random_writes(seed: int) -> list[tuple[object, ...]]:
    """Seeded writes of near-integers and binary members to keys r:0..r:39 of db 5."""
    rng = random.Random(seed)

    def word() -> str:
        return rng.choice(_TRICKY) if rng.random() < 0.3 else str(rng.randrange(-999, 99999))

    out: list[tuple[object, ...]] = [("SELECT", "5")]
    for i in range(40):
        key = f"r:{i}"
        kind = i % 5
        items = [word() for _ in range(rng.randrange(1, 12))]
        if kind == 0:
            out.append(("SET", key, "".join(items)))
        elif kind == 1:
            out.append(("RPUSH", key, *items))
        elif kind == 2:
            out.append(("SADD", key, *items))
        elif kind == 3:
            out.append(("ZADD", key, *[x for m in items for x in (repr(rng.uniform(-9, 9)), m)]))
        else:
            out.append(("HSET", key, *[x for m in items for x in (m, word())]))
    out.append(("SELECT", "0"))
    return out


def _call(conn: RawConnection, *args: object) -> object:
    return conn.call(*args)


def test_digests_match_redis(server_factory: ServerFactory) -> None:
    ours = server_factory.respcache({"enable-debug-command": "yes"})
    theirs = server_factory.redis({"enable-debug-command": "yes"})
    with ours.raw() as a, theirs.raw() as b:
        assert _call(a, "DEBUG", "DIGEST") == _call(b, "DEBUG", "DIGEST") == ("+", b"0" * 40)
        for command in WRITES + _random_writes(7):
            assert _call(a, *command) == _call(b, *command), command
        digest = _call(b, "DEBUG", "DIGEST")
        assert _call(a, "DEBUG", "DIGEST") == digest
        assert _call(a, "DEBUG", "DIGEST-VALUE", *KEYS) == _call(b, "DEBUG", "DIGEST-VALUE", *KEYS)
        random_keys = [f"r:{i}" for i in range(40)]
        for conn in (a, b):
            assert _call(conn, "SELECT", "5") == ("+", b"OK")
            assert _call(conn, "DBSIZE") == (":", b"40")
        assert _call(a, "DEBUG", "DIGEST-VALUE", *random_keys) == _call(
            b, "DEBUG", "DIGEST-VALUE", *random_keys
        )
        for conn in (a, b):
            assert _call(conn, "SELECT", "0") == ("+", b"OK")
        for conn in (a, b):  # the same change shows on both
            assert _call(conn, "SELECT", "3") == ("+", b"OK")
            _call(conn, "LPUSH", "l3", "q")
            assert _call(conn, "SELECT", "0") == ("+", b"OK")
        assert _call(a, "DEBUG", "DIGEST") == _call(b, "DEBUG", "DIGEST") != digest
        assert _call(a, "DEBUG", "DIGEST-VALUE") == _call(b, "DEBUG", "DIGEST-VALUE")
