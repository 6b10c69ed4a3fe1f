"""Sorted set commands through the engine: replies and errors as Redis 7.0.15 gives them
(the expected values were read from a real redis-server), score parsing, ranges, the
blocking pops (fake timers), set operations, memory accounting, keyspace events,
replication, OBJECT ENCODING and ZSCAN, and the value type itself."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from conftest import run

from respcache.commands import Blocked, Client, Engine
from respcache.commands.zsets import encoding, listpack_score_text, parse_score, strtod
from respcache.errors import CommandError
from respcache.protocol.encoder import encode
from respcache.protocol.types import NULL_ARRAY, OK, QUEUED
from respcache.store.values import CONTAINER_OVERHEAD, EXPIRE_OVERHEAD, entry_size
from respcache.store.zset import ZSetValue, member_cost, zset_elements, zset_extend

WRONGTYPE = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = CommandError("ERR syntax error")
NOT_INTEGER = CommandError("ERR value is not an integer or out of range")
NOT_FLOAT = CommandError("ERR value is not a valid float")
NOT_RANGE = CommandError("ERR min or max is not a float")
NOT_LEX = CommandError("ERR min or max not valid string range item")
POSITIVE = CommandError("ERR value is out of range, must be positive")

Events = list[tuple[str, bytes, bytes]]


def check_memory(engine: Engine) -> None:
    """``used_memory`` is the sum of the entries; every sorted set's estimate and order
    agree with its members."""
    ks = engine.keyspace
    total = 0
    for db in ks.dbs:
        for key, value in db.data.items():
            total += entry_size(key, value)
            if type(value) is ZSetValue:
                assert value.nbytes == CONTAINER_OVERHEAD + sum(member_cost(m) for m in value)
                assert list(value.order) == sorted((s, m) for m, s in value.items())
        total += EXPIRE_OVERHEAD * len(db.expires)
    assert ks.used_memory == total


@pytest.fixture
def events(engine: Engine) -> Events:
    out: Events = []
    engine.notify_hook = lambda kind, event, db, key: out.append((kind, event, key))
    return out


@pytest.fixture
def z(client: Client) -> Client:
    run(client, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
    return client


# --- score parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b"1", 1.0),
        (b"-0", -0.0),
        (b"1.5", 1.5),
        (b".5", 0.5),
        (b"5.", 5.0),
        (b"1e3", 1000.0),
        (b"0x10", 16.0),
        (b"0x1p3", 8.0),
        (b"-0x1.8P1", -3.0),
        (b"inf", math.inf),
        (b"-Infinity", -math.inf),
        (b"+inf", math.inf),
        (b"1e-310", 1e-310),
    ],
)
def test_parse_score_accepts(text: bytes, value: float) -> None:
    parsed = parse_score(text)
    assert parsed == value and math.copysign(1, parsed) == math.copysign(1, value)


@pytest.mark.parametrize(
    "text",
    [b"", b" 1", b"1 ", b"nan", b"abc", b"1e400", b"1e-400", b"1_0", b"1\x00", b"0x", b"infx"],
)
def test_parse_score_refuses(text: bytes) -> None:
    with pytest.raises(CommandError):
        parse_score(text)


def test_strtod_stops_where_c_does() -> None:
    assert strtod(b"  12abc") == (12.0, 4, False)
    assert strtod(b"0x") == (0.0, 1, False)
    assert strtod(b"1e") == (1.0, 1, False)
    assert strtod(b"infin")[1] == 3
    assert strtod(b"") == (0.0, 0, False)
    assert strtod(b"1e400") == (math.inf, 5, True)
    assert strtod(b"1e-400")[2] is True
    assert math.isnan(strtod(b"nan(123)")[0])


def test_score_range_parsing(z: Client) -> None:
    # Redis reads range bounds with strtod on a C string: spaces in front, "", "(".
    assert run(z, "ZCOUNT", "z", " 1", "2") == 2
    assert run(z, "ZCOUNT", "z", "", "(") == 0
    assert run(z, "ZCOUNT", "z", "0x1", "0x3") == 3
    assert run(z, "ZCOUNT", "z", "1\x002", "3") == 3  # the argument ends at the NUL
    assert run(z, "ZCOUNT", "z", "-1e400", "1e400") == 4
    assert run(z, "ZCOUNT", "z", "(-inf", "(+inf") == 4
    for bad in ("nan", "abc", "1 ", "+\x00", "(x"):
        assert run(z, "ZCOUNT", "z", bad, "1") == NOT_RANGE
    assert run(z, "ZCOUNT", "nokey", "x", "1") == NOT_RANGE  # parsed before the lookup


def test_lex_range_parsing(z: Client) -> None:
    assert run(z, "ZLEXCOUNT", "z", "-", "+") == 4
    assert run(z, "ZLEXCOUNT", "z", "+\x00x", "-") == 0  # "+" then a NUL still counts as "+"
    for bad in ("a", "", "+a", "-x"):
        assert run(z, "ZLEXCOUNT", "z", bad, "+") == NOT_LEX
    assert run(z, "ZLEXCOUNT", "nokey", "a", "+") == NOT_LEX


# --- ZADD, ZINCRBY ---------------------------------------------------------------------------


def test_zadd_basics(client: Client, engine: Engine, events: Events) -> None:
    assert run(client, "ZADD", "z", "1", "a", "2", "b", "1", "a") == 2
    assert run(client, "ZADD", "z", "5", "a") == 0
    assert run(client, "ZADD", "z", "CH", "5", "a", "6", "b", "7", "c") == 2
    assert run(client, "ZSCORE", "z", "b") == 6.0
    assert run(client, "ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"a", 5.0, b"b", 6.0, b"c", 7.0]
    assert events == [("n", b"new", b"z")] + [("z", b"zadd", b"z")] * 3
    run(client, "ZADD", "z", "5", "a")
    assert len(events) == 4  # nothing changed: no event
    check_memory(engine)


def test_zadd_conditions(client: Client) -> None:
    run(client, "ZADD", "n", "1", "m")
    assert run(client, "ZADD", "n", "XX", "5", "newm") == 0
    assert run(client, "ZADD", "n", "xx", "ch", "5", "m") == 1
    assert run(client, "ZADD", "n", "nx", "ch", "5", "m", "6", "o") == 1
    assert run(client, "ZADD", "n", "lt", "ch", "1", "m", "1", "o") == 2
    assert run(client, "ZADD", "n", "gt", "ch", "1", "m", "7", "o") == 1
    assert run(client, "ZADD", "n", "gt", "xx", "ch", "100", "m", "100", "p") == 1
    assert run(client, "ZRANGE", "n", "0", "-1", "WITHSCORES") == [b"o", 7.0, b"m", 100.0]
    assert run(client, "ZADD", "nokey", "xx", "1", "m") == 0
    assert run(client, "EXISTS", "nokey") == 0


def test_zadd_incr(client: Client, events: Events) -> None:
    assert run(client, "ZADD", "z", "INCR", "1.5", "m") == 1.5
    assert run(client, "ZADD", "z", "incr", "1", "m") == 2.5
    assert run(client, "ZADD", "z", "nx", "incr", "1", "m") is None
    assert run(client, "ZADD", "z", "xx", "incr", "1", "zz") is None
    assert run(client, "ZADD", "z", "gt", "incr", "-5", "m") is None
    assert run(client, "ZADD", "z", "lt", "incr", "-1", "m") == 1.5
    assert run(client, "ZADD", "nokey", "xx", "incr", "1", "m") is None
    assert run(client, "ZADD", "z", "incr", "0", "m") == 1.5
    # INCR by 0 changes nothing; creating the key sends "new" first
    assert [e for _k, e, _key in events] == [b"new"] + [b"zincr"] * 3


def test_zadd_errors(client: Client) -> None:
    run(client, "SET", "str", "x")
    assert run(client, "ZADD", "z", "nx", "xx", "1", "a") == CommandError(
        "ERR XX and NX options at the same time are not compatible"
    )
    for options in (("gt", "lt"), ("nx", "gt"), ("lt", "nx")):
        assert run(client, "ZADD", "z", *options, "1", "a") == CommandError(
            "ERR GT, LT, and/or NX options at the same time are not compatible"
        )
    assert run(client, "ZADD", "z", "incr", "1", "a", "2", "b") == CommandError(
        "ERR INCR option supports a single increment-element pair"
    )
    assert run(client, "ZADD", "z", "1", "a", "2") == SYNTAX
    assert run(client, "ZADD", "z", "foo", "1", "a") == SYNTAX
    assert run(client, "ZADD", "z", "incr", "1") == SYNTAX
    assert run(client, "ZADD", "z", "1") == CommandError(
        "ERR wrong number of arguments for 'zadd' command"
    )
    assert run(client, "ZADD", "z", "nan", "a") == NOT_FLOAT
    assert run(client, "ZADD", "z", "1", "a", "x", "b") == NOT_FLOAT
    assert run(client, "EXISTS", "z") == 0  # all or nothing
    assert run(client, "ZADD", "str", "1", "a") == WRONGTYPE
    assert run(client, "ZADD", "str", "x", "a") == NOT_FLOAT  # scores are parsed first


def test_zincrby(client: Client, events: Events) -> None:
    assert run(client, "ZINCRBY", "z", "2", "m") == 2.0
    assert run(client, "ZINCRBY", "z", "0x10", "m") == 18.0
    assert run(client, "ZINCRBY", "z", "inf", "m") == math.inf
    assert run(client, "ZINCRBY", "z", "-inf", "m") == CommandError(
        "ERR resulting score is not a number (NaN)"
    )
    assert run(client, "ZINCRBY", "z", "1e400", "m") == NOT_FLOAT
    assert run(client, "ZSCORE", "z", "m") == math.inf
    assert [e for _k, e, _key in events] == [b"new"] + [b"zincr"] * 3


def test_score_replies_are_doubles(client: Client) -> None:
    run(client, "ZADD", "z", "0.1", "x", "1e17", "y", "inf", "i")
    assert encode(run(client, "ZSCORE", "z", "x")) == b"$19\r\n0.10000000000000001\r\n"
    assert encode(run(client, "ZSCORE", "z", "y")) == b"$5\r\n1e+17\r\n"
    assert encode(run(client, "ZSCORE", "z", "i")) == b"$3\r\ninf\r\n"
    client.resp = 3
    assert encode(run(client, "ZSCORE", "z", "x"), True) == b",0.10000000000000001\r\n"
    assert encode(run(client, "ZMSCORE", "z", "x", "nope"), True) == (
        b"*2\r\n,0.10000000000000001\r\n_\r\n"
    )


def test_negative_zero_as_redis_stores_it(client: Client) -> None:
    # A listpack keeps integral scores as integers: -0 becomes 0; a skiplist keeps -0.
    run(client, "ZADD", "small", "-0", "a")
    assert encode(run(client, "ZSCORE", "small", "a")) == b"$1\r\n0\r\n"
    assert encode(run(client, "ZINCRBY", "z3", "-0", "a")) == b"$2\r\n-0\r\n"  # the reply...
    assert encode(run(client, "ZSCORE", "z3", "a")) == b"$1\r\n0\r\n"  # ...not what is kept
    run(client, "ZADD", "big", "0", "x" * 65)
    run(client, "ZADD", "big", "-0", "a")
    assert encode(run(client, "ZSCORE", "big", "a")) == b"$2\r\n-0\r\n"


# --- reads and removals ------------------------------------------------------------------------


def test_zscore_zmscore_zcard_zrank(z: Client) -> None:
    assert run(z, "ZSCORE", "z", "c") == 3.0
    assert run(z, "ZSCORE", "z", "nope") is None
    assert run(z, "ZSCORE", "nokey", "a") is None
    assert run(z, "ZMSCORE", "z", "a", "nope", "d") == [1.0, None, 4.0]
    assert run(z, "ZMSCORE", "nokey", "a") == [None]
    assert run(z, "ZCARD", "z") == 4
    assert run(z, "ZCARD", "nokey") == 0
    assert run(z, "ZRANK", "z", "c") == 2
    assert run(z, "ZREVRANK", "z", "c") == 1
    assert run(z, "ZRANK", "z", "nope") is None
    assert run(z, "ZRANK", "nokey", "a") is None
    assert run(z, "ZRANK", "z", "c", "WITHSCORE") == CommandError(
        "ERR wrong number of arguments for 'zrank' command"
    )


def test_ties_are_ordered_bytewise(client: Client) -> None:
    run(client, "ZADD", "z", "1", "b", "1", "ab", "1", "a", "1", "", "0", "z")
    assert run(client, "ZRANGE", "z", "0", "-1") == [b"z", b"", b"a", b"ab", b"b"]
    assert run(client, "ZRANK", "z", "ab") == 3


def test_zrem(z: Client, engine: Engine, events: Events) -> None:
    assert run(z, "ZREM", "z", "a", "nope", "a") == 1
    assert events[-1] == ("z", b"zrem", b"z")
    assert run(z, "ZREM", "z", "nope") == 0
    assert run(z, "ZREM", "nokey", "a") == 0
    assert run(z, "ZREM", "z", "b", "c", "d") == 3
    assert run(z, "EXISTS", "z") == 0
    assert events[-2:] == [("z", b"zrem", b"z"), ("g", b"del", b"z")]
    check_memory(engine)


def test_zcount_and_zlexcount(client: Client) -> None:
    run(client, "ZADD", "z", "1", "a", "1", "b", "1", "c", "2", "aa", "0", "zz", "3", "b0")
    assert run(client, "ZCOUNT", "z", "-inf", "+inf") == 6
    assert run(client, "ZCOUNT", "z", "(0", "(2") == 3
    assert run(client, "ZCOUNT", "z", "3", "1") == 0
    assert run(client, "ZCOUNT", "nokey", "1", "2") == 0
    assert run(client, "ZLEXCOUNT", "z", "[a", "[c") == 0  # mixed scores: zz comes first
    assert run(client, "ZLEXCOUNT", "z", "-", "+") == 6
    run(client, "ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d")
    assert run(client, "ZLEXCOUNT", "l", "[a", "[c") == 3
    assert run(client, "ZLEXCOUNT", "l", "(a", "(c") == 1
    assert run(client, "ZLEXCOUNT", "nokey", "-", "+") == 0


@pytest.mark.parametrize(
    "command",
    [
        ("ZADD", "str", "1", "a"),
        ("ZINCRBY", "str", "1", "a"),
        ("ZREM", "str", "a"),
        ("ZSCORE", "str", "a"),
        ("ZMSCORE", "str", "a"),
        ("ZCARD", "str"),
        ("ZCOUNT", "str", "0", "1"),
        ("ZLEXCOUNT", "str", "-", "+"),
        ("ZRANGE", "str", "0", "1"),
        ("ZRANGESTORE", "d", "str", "0", "1"),
        ("ZRANGEBYSCORE", "str", "0", "1"),
        ("ZREVRANGEBYSCORE", "str", "0", "1"),
        ("ZRANGEBYLEX", "str", "-", "+"),
        ("ZREVRANGEBYLEX", "str", "-", "+"),
        ("ZREVRANGE", "str", "0", "1"),
        ("ZRANK", "str", "a"),
        ("ZREVRANK", "str", "a"),
        ("ZREMRANGEBYRANK", "str", "0", "1"),
        ("ZREMRANGEBYSCORE", "str", "0", "1"),
        ("ZREMRANGEBYLEX", "str", "-", "+"),
        ("ZPOPMIN", "str"),
        ("ZPOPMAX", "str", "0"),
        ("BZPOPMIN", "nokey", "str", "1"),
        ("ZMPOP", "2", "nokey", "str", "MIN"),
        ("BZMPOP", "0", "1", "str", "MIN"),
        ("ZUNION", "2", "nokey", "str"),
        ("ZINTERSTORE", "d", "1", "str"),
        ("ZINTERCARD", "1", "str"),
        ("ZRANDMEMBER", "str"),
        ("ZRANDMEMBER", "str", "1"),
        ("ZSCAN", "str", "0"),
    ],
)
def test_wrongtype(client: Client, command: tuple[str, ...]) -> None:
    run(client, "SET", "str", "x")
    assert run(client, *command) == WRONGTYPE


# --- ZRANGE and its family ------------------------------------------------------------------------


def test_zrange_by_rank(z: Client) -> None:
    assert run(z, "ZRANGE", "z", "0", "-1") == [b"a", b"b", b"c", b"d"]
    assert run(z, "ZRANGE", "z", "-2", "-1") == [b"c", b"d"]
    assert run(z, "ZRANGE", "z", "5", "1") == []
    assert run(z, "ZRANGE", "z", "-100", "100") == [b"a", b"b", b"c", b"d"]
    assert run(z, "ZRANGE", "z", "0", "1", "REV") == [b"d", b"c"]
    assert run(z, "ZREVRANGE", "z", "0", "1", "WITHSCORES") == [b"d", 4.0, b"c", 3.0]
    assert run(z, "ZRANGE", "nokey", "0", "-1") == []


def test_zrange_by_score(z: Client) -> None:
    assert run(z, "ZRANGE", "z", "(1", "3", "BYSCORE", "WITHSCORES") == [b"b", 2.0, b"c", 3.0]
    assert run(z, "ZRANGE", "z", "3", "(1", "BYSCORE", "REV") == [b"c", b"b"]
    assert run(z, "ZRANGE", "z", "3", "(1", "byscore", "rev", "limit", "1", "1") == [b"b"]
    assert run(z, "ZRANGE", "z", "3", "(1", "byscore", "rev", "limit", "-1", "1") == []
    assert run(z, "ZRANGE", "z", "3", "(1", "byscore", "rev", "limit", "0", "0") == []
    assert run(z, "ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "-1") == [b"b", b"c", b"d"]
    assert run(z, "ZRANGEBYSCORE", "z", "-inf", "+inf", "withscores", "limit", "1", "2") == [
        b"b",
        2.0,
        b"c",
        3.0,
    ]
    assert run(z, "ZRANGEBYSCORE", "z", "2", "2") == [b"b"]
    assert run(z, "ZRANGEBYSCORE", "z", "(2", "2") == []
    assert run(z, "ZRANGEBYSCORE", "z", "+inf", "+inf") == []
    assert run(z, "ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "10", "1") == []
    assert run(z, "ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "2") == [b"c", b"b"]
    assert run(z, "ZREVRANGEBYSCORE", "z", "1", "4") == []


def test_zrange_by_lex(client: Client) -> None:
    run(client, "ZADD", "z", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e")
    assert run(client, "ZRANGEBYLEX", "z", "-", "+") == [b"a", b"b", b"c", b"d", b"e"]
    assert run(client, "ZRANGEBYLEX", "z", "(a", "[c") == [b"b", b"c"]
    assert run(client, "ZRANGEBYLEX", "z", "[b", "(d", "LIMIT", "1", "5") == [b"c"]
    assert run(client, "ZREVRANGEBYLEX", "z", "[c", "-") == [b"c", b"b", b"a"]
    assert run(client, "ZREVRANGEBYLEX", "z", "+", "(c", "LIMIT", "0", "1") == [b"e"]
    assert run(client, "ZRANGE", "z", "[d", "[b", "BYLEX", "REV") == [b"d", b"c", b"b"]
    assert run(client, "ZRANGEBYLEX", "z", "[c", "[a") == []
    assert run(client, "ZRANGEBYLEX", "z", "(c", "(c") == []
    assert run(client, "ZRANGEBYLEX", "z", "+", "-") == []


def test_lex_over_mixed_scores_walks_like_a_listpack(client: Client) -> None:
    run(client, "ZADD", "z", "1", "a", "1", "b", "1", "c", "2", "aa", "0", "zz", "3", "b0")
    # order: zz(0) a b c (1) aa(2) b0(3)
    assert run(client, "ZRANGEBYLEX", "z", "[b", "+") == [b"zz", b"a", b"b", b"c", b"aa", b"b0"]
    assert run(client, "ZRANGEBYLEX", "z", "(a", "[c") == []
    assert run(client, "ZREVRANGEBYLEX", "z", "[c", "(a") == []  # the first, zz, is > c
    assert run(client, "ZREVRANGEBYLEX", "z", "+", "[b") == [b"b0"]  # then aa < b stops it
    assert run(client, "ZRANGEBYLEX", "z", "-", "[b") == []
    assert run(client, "ZLEXCOUNT", "z", "[b", "+") == 6
    assert run(client, "ZREVRANGEBYLEX", "z", "+", "-") == [b"b0", b"aa", b"c", b"b", b"a", b"zz"]


def test_zrange_errors(z: Client) -> None:
    assert run(z, "ZRANGE", "z", "0", "-1", "LIMIT", "0", "1") == CommandError(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    )
    assert run(z, "ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1") == [b"a", b"b", b"c", b"d"]
    assert run(z, "ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES") == CommandError(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    )
    assert run(z, "ZRANGEBYLEX", "z", "-", "+", "WITHSCORES") == CommandError(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    )
    assert run(z, "ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX") == SYNTAX
    assert run(z, "ZRANGE", "z", "0", "-1", "REV", "REV") == SYNTAX
    assert run(z, "ZRANGE", "z", "0", "-1", "LIMIT", "1") == SYNTAX
    assert run(z, "ZRANGE", "z", "0", "-1", "LIMIT", "x", "1") == NOT_INTEGER
    assert run(z, "ZRANGE", "z", "x", "y") == NOT_INTEGER
    assert run(z, "ZRANGE", "z", "x", "y", "BYSCORE") == NOT_RANGE
    assert run(z, "ZRANGE", "z", "x", "y", "BYLEX") == NOT_LEX
    assert run(z, "ZRANGEBYSCORE", "z", "0", "1", "REV") == SYNTAX
    assert run(z, "ZREVRANGE", "z", "0", "1", "BYSCORE") == SYNTAX
    assert run(z, "ZRANGE", "z", "0", "-1", "WITHSCORES", "WITHSCORES") == [
        b"a",
        1.0,
        b"b",
        2.0,
        b"c",
        3.0,
        b"d",
        4.0,
    ]
    run(z, "SET", "str", "x")
    assert run(z, "ZRANGE", "str", "x", "y") == NOT_INTEGER  # options and range come first


def test_withscores_in_resp3_are_pairs(z: Client) -> None:
    z.resp = 3
    assert run(z, "ZRANGE", "z", "0", "1", "WITHSCORES") == [[b"a", 1.0], [b"b", 2.0]]
    assert encode(run(z, "ZRANGE", "z", "0", "0", "WITHSCORES"), True) == (
        b"*1\r\n*2\r\n$1\r\na\r\n,1\r\n"
    )


def test_zrangestore(z: Client, engine: Engine, events: Events) -> None:
    events.clear()
    assert run(z, "ZRANGESTORE", "dst", "z", "0", "1") == 2
    assert run(z, "ZRANGE", "dst", "0", "-1", "WITHSCORES") == [b"a", 1.0, b"b", 2.0]
    assert events == [("n", b"new", b"dst"), ("z", b"zrangestore", b"dst")]
    assert run(z, "ZRANGESTORE", "dst", "z", "(1", "+inf", "BYSCORE", "LIMIT", "0", "1") == 1
    assert run(z, "ZRANGE", "dst", "0", "-1") == [b"b"]
    assert run(z, "ZRANGESTORE", "dst", "z", "[c", "-", "BYLEX", "REV") == 3
    assert run(z, "ZRANGESTORE", "dst", "z", "4", "1", "BYSCORE", "REV") == 4
    events.clear()
    assert run(z, "ZRANGESTORE", "dst", "z", "10", "20") == 0
    assert run(z, "EXISTS", "dst") == 0
    assert events == [("g", b"del", b"dst")]
    assert run(z, "ZRANGESTORE", "dst", "nokey", "0", "-1") == 0
    assert run(z, "ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES") == SYNTAX
    assert run(z, "ZRANGESTORE", "z", "z", "1", "2") == 2  # onto its own source
    assert run(z, "ZRANGE", "z", "0", "-1") == [b"b", b"c"]
    check_memory(engine)


def test_zremrange(z: Client, engine: Engine, events: Events) -> None:
    run(z, "ZADD", "z", "5", "e", "6", "f")
    assert run(z, "ZREMRANGEBYRANK", "z", "0", "0") == 1
    assert run(z, "ZREMRANGEBYRANK", "z", "-1", "-1") == 1
    assert run(z, "ZREMRANGEBYRANK", "z", "5", "1") == 0
    assert run(z, "ZREMRANGEBYSCORE", "z", "(2", "3") == 1
    assert run(z, "ZRANGE", "z", "0", "-1") == [b"b", b"d", b"e"]
    assert [e for _k, e, _key in events][-3:] == [
        b"zremrangebyrank",
        b"zremrangebyrank",
        b"zremrangebyscore",
    ]
    run(z, "ZADD", "l", "0", "a", "0", "b", "0", "c")
    assert run(z, "ZREMRANGEBYLEX", "l", "(a", "+") == 2
    assert run(z, "ZREMRANGEBYLEX", "l", "-", "+") == 1
    assert run(z, "EXISTS", "l") == 0
    assert events[-2:] == [("z", b"zremrangebylex", b"l"), ("g", b"del", b"l")]
    assert run(z, "ZREMRANGEBYSCORE", "z", "-inf", "+inf") == 3
    assert run(z, "EXISTS", "z") == 0
    assert run(z, "ZREMRANGEBYRANK", "nokey", "0", "-1") == 0
    assert run(z, "ZREMRANGEBYRANK", "z", "x", "1") == NOT_INTEGER
    assert run(z, "ZREMRANGEBYSCORE", "z", "x", "1") == NOT_RANGE
    assert run(z, "ZREMRANGEBYLEX", "z", "x", "1") == NOT_LEX
    check_memory(engine)


# --- pops ----------------------------------------------------------------------------------------


def test_zpopmin_zpopmax(z: Client, engine: Engine, events: Events) -> None:
    assert run(z, "ZPOPMIN", "z") == [b"a", 1.0]
    assert run(z, "ZPOPMAX", "z", "2") == [b"d", 4.0, b"c", 3.0]
    assert events[-1] == ("z", b"zpopmax", b"z")
    assert run(z, "ZPOPMIN", "z", "0") == []
    assert run(z, "ZPOPMIN", "z", "10") == [b"b", 2.0]
    assert run(z, "EXISTS", "z") == 0
    assert events[-2:] == [("z", b"zpopmin", b"z"), ("g", b"del", b"z")]
    assert run(z, "ZPOPMIN", "z") == []
    assert run(z, "ZPOPMIN", "z", "-1") == POSITIVE
    assert run(z, "ZPOPMIN", "z", "x") == POSITIVE
    assert run(z, "ZPOPMIN", "z", "1", "2") == SYNTAX
    run(z, "SET", "str", "x")
    assert run(z, "ZPOPMIN", "str", "0") == WRONGTYPE  # looked up before the count matters
    check_memory(engine)


def test_zpop_in_resp3_nests_only_with_a_count(z: Client) -> None:
    z.resp = 3
    assert run(z, "ZPOPMIN", "z") == [b"a", 1.0]
    assert run(z, "ZPOPMIN", "z", "1") == [[b"b", 2.0]]


def test_zmpop(z: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    propagated.clear()
    assert run(z, "ZMPOP", "2", "nokey", "z", "MAX", "COUNT", "2") == [
        b"z",
        [[b"d", 4.0], [b"c", 3.0]],
    ]
    assert propagated == [(0, [b"ZPOPMAX", b"z", b"2"])]
    assert run(z, "ZMPOP", "1", "z", "min") == [b"z", [[b"a", 1.0]]]
    assert run(z, "ZMPOP", "1", "nokey", "min") == NULL_ARRAY
    assert run(z, "ZMPOP", "1", "z", "min", "count", "10") == [b"z", [[b"b", 2.0]]]
    assert run(z, "EXISTS", "z") == 0


def test_zmpop_errors(z: Client) -> None:
    numkeys = CommandError("ERR numkeys should be greater than 0")
    count = CommandError("ERR count should be greater than 0")
    assert run(z, "ZMPOP", "0", "z", "min") == numkeys
    assert run(z, "ZMPOP", "x", "z", "min") == numkeys
    assert run(z, "ZMPOP", "2", "z", "min") == SYNTAX
    assert run(z, "ZMPOP", "1", "z", "mid") == SYNTAX
    assert run(z, "ZMPOP", "1", "z", "min", "max") == SYNTAX
    assert run(z, "ZMPOP", "1", "z", "min", "count") == SYNTAX
    assert run(z, "ZMPOP", "1", "z", "min", "count", "1", "count", "2") == SYNTAX
    for bad in ("0", "-1", "x"):
        assert run(z, "ZMPOP", "1", "z", "min", "count", bad) == count


# --- blocking pops -------------------------------------------------------------------------------


class Timers:
    """A stand-in for loop.call_later that fires on demand."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None], Any]] = []

    def call_later(self, delay: float, fn: Callable[[], None]) -> Any:
        timers = self

        class Handle:
            def cancel(self) -> None:
                timers.pending[:] = [p for p in timers.pending if p[2] is not self]

        handle = Handle()
        self.pending.append((delay, fn, handle))
        return handle

    def fire_all(self) -> None:
        pending, self.pending = self.pending, []
        for _, fn, _handle in pending:
            fn()


@pytest.fixture
def timers(engine: Engine) -> Timers:
    timers = Timers()
    engine.call_later = timers.call_later
    return timers


def block(client: Client, *args: str) -> Blocked:
    reply = run(client, *args)
    assert isinstance(reply, Blocked), reply
    client.engine.blocked_clients.park(client, reply)
    return reply


def test_bzpopmin_pops_at_once_and_replicates_zpopmin(
    z: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    propagated.clear()
    assert run(z, "BZPOPMIN", "nokey", "z", "1") == [b"z", b"a", 1.0]
    assert run(z, "BZPOPMAX", "z", "0") == [b"z", b"d", 4.0]
    assert propagated == [(0, [b"ZPOPMIN", b"z"]), (0, [b"ZPOPMAX", b"z"])]
    z.resp = 3
    assert run(z, "BZPOPMIN", "z", "0") == [b"z", b"b", 2.0]  # flat in RESP3 too


def test_zmpop_replicates_the_count_it_popped(
    z: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    # Redis's zset.tcl "ZMPOP/BZMPOP propagate as pop with count command to replica":
    # COUNT 10 on four members replicates ZPOPMIN z 4, not 10.
    propagated.clear()
    assert run(z, "ZMPOP", "1", "z", "MIN", "COUNT", "10")[0] == b"z"
    run(z, "ZADD", "z", "1", "a", "2", "b")
    assert run(z, "BZMPOP", "0", "1", "z", "MAX", "COUNT", "10")[0] == b"z"
    pops = [argv for _, argv in propagated if argv[0].startswith(b"ZPOP")]
    assert pops == [[b"ZPOPMIN", b"z", b"4"], [b"ZPOPMAX", b"z", b"2"]]


def test_bzpopmin_blocks_and_is_served(
    engine: Engine, timers: Timers, propagated: list[tuple[int, list[bytes]]]
) -> None:
    waiter, writer = engine.new_client(), engine.new_client()
    blocked = block(waiter, "BZPOPMIN", "k1", "k2", "0.5")
    assert blocked.keys == [b"k1", b"k2"] and blocked.timeout == 0.5
    run(writer, "ZADD", "k2", "7", "m", "8", "n")
    assert waiter.pushed == [[b"k2", b"m", 7.0]]
    assert propagated[-1] == (0, [b"ZPOPMIN", b"k2"])
    assert timers.pending == []  # the timer was cancelled
    assert run(writer, "ZRANGE", "k2", "0", "-1") == [b"n"]


def test_bzpop_timeout_and_sub_second_precision(engine: Engine, timers: Timers) -> None:
    waiter = engine.new_client()
    blocked = block(waiter, "BZPOPMAX", "k", "0.25")
    assert blocked.timeout == 0.25
    assert [delay for delay, _fn, _h in timers.pending] == [0.25]
    timers.fire_all()
    assert waiter.pushed == [NULL_ARRAY]
    assert block(waiter, "BZPOPMAX", "k", "0.0001").timeout == 0.001  # rounded up to 1 ms
    assert block(engine.new_client(), "BZPOPMAX", "k", "0").timeout == 0


def test_bzpop_timeout_errors(client: Client) -> None:
    negative = CommandError("ERR timeout is negative")
    not_float = CommandError("ERR timeout is not a float or out of range")
    assert run(client, "BZPOPMIN", "k", "-1") == negative
    assert run(client, "BZPOPMIN", "k", "inf") == negative
    assert run(client, "BZPOPMIN", "k", "1e30") == negative
    assert run(client, "BZPOPMIN", "k", "x") == not_float
    assert run(client, "BZPOPMIN", "k", "nan") == not_float
    assert run(client, "BZMPOP", "-1", "1", "k", "min") == negative
    assert run(client, "BZMPOP", "x", "1", "k", "min") == not_float
    assert run(client, "BZMPOP", "x", "0", "k", "min") == CommandError(
        "ERR numkeys should be greater than 0"
    )  # the timeout is read last


def test_bzpop_inside_multi_does_not_block(client: Client) -> None:
    assert run(client, "MULTI") == OK
    assert run(client, "BZPOPMIN", "nokey", "0") == QUEUED
    assert run(client, "BZMPOP", "0", "1", "nokey", "MIN") == QUEUED
    assert run(client, "EXEC") == [NULL_ARRAY, NULL_ARRAY]


def test_blocked_client_is_served_from_the_ready_key(engine: Engine, timers: Timers) -> None:
    waiter, writer = engine.new_client(), engine.new_client()
    block(waiter, "BZMPOP", "0", "2", "k1", "k2", "MAX", "COUNT", "5")
    run(writer, "MULTI")
    run(writer, "ZADD", "k2", "1", "x")
    run(writer, "ZADD", "k1", "2", "y")
    run(writer, "EXEC")
    assert waiter.pushed == [[b"k2", [[b"x", 1.0]]]]
    assert run(writer, "ZCARD", "k1") == 1


def test_retyped_key_keeps_the_client_waiting(engine: Engine, timers: Timers) -> None:
    waiter, writer = engine.new_client(), engine.new_client()
    block(waiter, "BZPOPMIN", "k", "0")
    run(writer, "SET", "k", "string")
    assert waiter.pushed == []
    run(writer, "DEL", "k")
    run(writer, "ZADD", "k", "1", "m")
    assert waiter.pushed == [[b"k", b"m", 1.0]]


def test_waiters_are_served_in_order(engine: Engine, timers: Timers) -> None:
    first, second, writer = engine.new_client(), engine.new_client(), engine.new_client()
    block(first, "BZPOPMIN", "k", "0")
    block(second, "BZPOPMAX", "k", "0")
    run(writer, "ZADD", "k", "1", "a")
    assert first.pushed == [[b"k", b"a", 1.0]]
    assert second.pushed == []
    run(writer, "ZADD", "k", "2", "b", "3", "c")
    assert second.pushed == [[b"k", b"c", 3.0]]


# --- ZUNION, ZINTER, ZDIFF ------------------------------------------------------------------------


@pytest.fixture
def ab(client: Client) -> Client:
    run(client, "ZADD", "a", "1", "x", "2", "y", "3", "z")
    run(client, "ZADD", "b", "10", "y", "20", "z", "30", "w")
    run(client, "SADD", "s", "y", "w", "q")
    return client


def test_zunion(ab: Client) -> None:
    assert run(ab, "ZUNION", "2", "a", "b", "WITHSCORES") == [
        b"x",
        1.0,
        b"y",
        12.0,
        b"z",
        23.0,
        b"w",
        30.0,
    ]
    assert run(ab, "ZUNION", "3", "a", "b", "s", "weights", "1", "2", "3", "withscores") == [
        b"x",
        1.0,
        b"q",
        3.0,
        b"y",
        25.0,
        b"z",
        43.0,
        b"w",
        63.0,
    ]
    assert run(ab, "ZUNION", "2", "a", "b", "AGGREGATE", "MIN") == [b"x", b"y", b"z", b"w"]
    assert run(ab, "ZUNION", "2", "a", "b", "aggregate", "max", "withscores") == [
        b"x",
        1.0,
        b"y",
        10.0,
        b"z",
        20.0,
        b"w",
        30.0,
    ]
    assert run(ab, "ZUNION", "1", "nokey") == []


def test_zinter_and_zdiff(ab: Client) -> None:
    assert run(ab, "ZINTER", "2", "a", "b", "WITHSCORES") == [b"y", 12.0, b"z", 23.0]
    assert run(ab, "ZINTER", "3", "a", "b", "s", "WITHSCORES") == [b"y", 13.0]
    assert run(ab, "ZINTER", "2", "a", "b", "weights", "0", "-1", "withscores") == [
        b"z",
        -20.0,
        b"y",
        -10.0,
    ]
    assert run(ab, "ZINTER", "2", "a", "nokey") == []
    assert run(ab, "ZDIFF", "2", "a", "b", "WITHSCORES") == [b"x", 1.0]
    assert run(ab, "ZDIFF", "2", "b", "s", "WITHSCORES") == [b"z", 20.0]
    assert run(ab, "ZDIFF", "2", "a", "a") == []
    assert run(ab, "ZDIFF", "1", "nokey") == []


def test_infinities_and_nan_rules(client: Client) -> None:
    run(client, "ZADD", "i1", "inf", "m", "-inf", "n")
    run(client, "ZADD", "i2", "-inf", "m", "inf", "n")
    run(client, "ZADD", "zero", "0", "m")
    assert run(client, "ZUNION", "2", "i1", "i2", "WITHSCORES") == [b"m", 0.0, b"n", 0.0]
    assert run(client, "ZUNION", "1", "i1", "WEIGHTS", "0", "WITHSCORES") == [b"m", 0.0, b"n", 0.0]
    negative_zero = run(client, "ZUNION", "1", "zero", "WEIGHTS", "-1", "WITHSCORES")
    assert encode(negative_zero) == b"*2\r\n$1\r\nm\r\n$2\r\n-0\r\n"
    run(client, "ZUNIONSTORE", "stored", "1", "zero", "WEIGHTS", "-1")
    assert encode(run(client, "ZSCORE", "stored", "m")) == b"$1\r\n0\r\n"  # listpack


def test_store_variants(ab: Client, engine: Engine, events: Events) -> None:
    events.clear()
    assert run(ab, "ZUNIONSTORE", "d", "2", "a", "b") == 4
    assert run(ab, "ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "2", "3") == 2
    assert run(ab, "ZRANGE", "d", "0", "-1", "WITHSCORES") == [b"y", 34.0, b"z", 66.0]
    assert run(ab, "ZDIFFSTORE", "d", "2", "a", "b") == 1
    assert [e for _k, e, _key in events] == [
        b"new",
        b"zunionstore",
        b"zinterstore",
        b"zdiffstore",
    ]
    events.clear()
    assert run(ab, "ZINTERSTORE", "d", "2", "a", "nokey") == 0
    assert run(ab, "EXISTS", "d") == 0
    assert events == [("g", b"del", b"d")]
    run(ab, "SET", "d", "x", "EX", "100")
    assert run(ab, "ZUNIONSTORE", "d", "1", "s") == 3
    assert run(ab, "TYPE", "d") == "zset" and run(ab, "TTL", "d") == -1
    check_memory(engine)


def test_setop_errors(ab: Client) -> None:
    assert run(ab, "ZUNION", "0", "a") == CommandError(
        "ERR at least 1 input key is needed for 'zunion' command"
    )
    assert run(ab, "ZUNIONSTORE", "d", "-1", "a") == CommandError(
        "ERR at least 1 input key is needed for 'zunionstore' command"
    )
    assert run(ab, "ZINTERCARD", "0", "a") == CommandError(
        "ERR at least 1 input key is needed for 'zintercard' command"
    )
    assert run(ab, "ZUNION", "x", "a") == NOT_INTEGER
    assert run(ab, "ZUNIONSTORE", "d", "3", "a") == SYNTAX
    assert run(ab, "ZUNIONSTORE", "d", "1", "a", "weights") == SYNTAX
    assert run(ab, "ZUNIONSTORE", "d", "2", "a", "b", "weights", "1") == SYNTAX
    assert run(ab, "ZUNIONSTORE", "d", "1", "a", "weights", "x") == CommandError(
        "ERR weight value is not a float"
    )
    assert run(ab, "ZUNIONSTORE", "d", "1", "a", "aggregate", "avg") == SYNTAX
    assert run(ab, "ZUNIONSTORE", "d", "1", "a", "withscores") == SYNTAX
    assert run(ab, "ZDIFF", "1", "a", "weights", "1") == SYNTAX
    assert run(ab, "ZDIFF", "1", "a", "aggregate", "sum") == SYNTAX
    run(ab, "SET", "str", "x")
    assert run(ab, "ZUNION", "2", "str", "a", "weights", "x") == WRONGTYPE  # keys first


def test_zintercard(ab: Client) -> None:
    assert run(ab, "ZINTERCARD", "2", "a", "b") == 2
    assert run(ab, "ZINTERCARD", "2", "a", "b", "LIMIT", "1") == 1
    assert run(ab, "ZINTERCARD", "3", "a", "b", "s") == 1
    assert run(ab, "ZINTERCARD", "2", "nokey", "a") == 0
    assert run(ab, "ZINTERCARD", "1", "a", "LIMIT", "-1") == CommandError(
        "ERR LIMIT can't be negative"
    )
    assert run(ab, "ZINTERCARD", "1", "a", "LIMIT", "x") == CommandError(
        "ERR LIMIT can't be negative"
    )
    assert run(ab, "ZINTERCARD", "1", "nokey", "a") == SYNTAX
    assert run(ab, "ZINTERCARD", "1", "a", "withscores") == SYNTAX


# --- ZRANDMEMBER, ZSCAN ---------------------------------------------------------------------------


def test_zrandmember(z: Client) -> None:
    assert run(z, "ZRANDMEMBER", "z") in (b"a", b"b", b"c", b"d")
    two = run(z, "ZRANDMEMBER", "z", "2", "WITHSCORES")
    assert isinstance(two, list) and len(two) == 4 and two[0] != two[2]
    assert run(z, "ZRANDMEMBER", "z", "10") == [b"a", b"b", b"c", b"d"]
    many = run(z, "ZRANDMEMBER", "z", "-6")
    assert isinstance(many, list) and len(many) == 6
    z.resp = 3
    pairs = run(z, "ZRANDMEMBER", "z", "-3", "WITHSCORES")
    assert isinstance(pairs, list) and all(isinstance(p, list) and len(p) == 2 for p in pairs)
    assert run(z, "ZRANDMEMBER", "z", "0") == []
    assert run(z, "ZRANDMEMBER", "nokey") is None
    assert run(z, "ZRANDMEMBER", "nokey", "2") == []


def test_zrandmember_errors(z: Client) -> None:
    assert run(z, "ZRANDMEMBER", "z", "x") == NOT_INTEGER
    assert run(z, "ZRANDMEMBER", "z", "1", "foo") == SYNTAX
    assert run(z, "ZRANDMEMBER", "z", "1", "withscores", "x") == SYNTAX
    assert run(z, "ZRANDMEMBER", "z", "-9223372036854775808") == CommandError(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert run(z, "ZRANDMEMBER", "z", "-4611686018427387904", "withscores") == CommandError(
        "ERR value is out of range"
    )


def test_zscan_of_a_listpack(client: Client) -> None:
    run(client, "ZADD", "z", "1e17", "c", "0.1", "b", "-inf", "d", "1e19", "e", "-0", "a")
    assert run(client, "ZSCAN", "z", "5", "COUNT", "1") == [
        b"0",
        [
            b"d",
            b"-inf",
            b"a",
            b"0",
            b"b",
            b"0.10000000000000001",
            b"c",
            b"100000000000000000",
            b"e",
            b"1e+19",
        ],
    ]
    assert run(client, "ZSCAN", "z", "0", "MATCH", "b") == [b"0", [b"b", b"0.10000000000000001"]]


def test_zscan_of_a_skiplist(client: Client) -> None:
    run(client, "ZADD", "z", *[x for i in range(300) for x in (str(i / 2), f"m{i}")])
    seen: dict[bytes, bytes] = {}
    cursor = b"0"
    for _ in range(300):
        reply = run(client, "ZSCAN", "z", cursor, "COUNT", "40")
        assert isinstance(reply, list)
        cursor, flat = reply  # type: ignore[assignment]
        assert isinstance(flat, list)
        for i in range(0, len(flat), 2):
            seen[flat[i]] = flat[i + 1]  # type: ignore[index]
        if cursor == b"0":
            break
    assert cursor == b"0" and len(seen) == 300
    assert seen[b"m3"] == b"1.5" and seen[b"m4"] == b"2"


def test_zscan_errors(z: Client) -> None:
    assert run(z, "ZSCAN", "z", "x") == CommandError("ERR invalid cursor")
    assert run(z, "ZSCAN", "nokey", "0", "COUNT", "x") == [b"0", []]
    assert run(z, "ZSCAN", "z", "0", "COUNT", "0") == SYNTAX
    assert run(z, "ZSCAN", "z", "0", "COUNT", "x") == NOT_INTEGER
    assert run(z, "ZSCAN", "z", "0", "MATCH") == SYNTAX


def test_listpack_score_text() -> None:
    assert listpack_score_text(4611686018427387904.0) == b"4611686018427387904"
    assert listpack_score_text(-4611686018427387904.0) == b"-4611686018427387904"
    assert listpack_score_text(1e19) == b"1e+19"
    assert listpack_score_text(2.5) == b"2.5"
    assert listpack_score_text(math.inf) == b"inf"


# --- encoding and the value type --------------------------------------------------------------------


def test_encoding_converts_once_and_for_all(client: Client, engine: Engine) -> None:
    run(client, "ZADD", "z", *[x for i in range(128) for x in (str(i), f"m{i}")])
    value = engine.keyspace.dbs[0].data[b"z"]
    assert isinstance(value, ZSetValue) and encoding(value) == b"listpack"
    run(client, "ZADD", "z", "1", "one more")
    assert encoding(value) == b"skiplist"
    run(client, "ZREMRANGEBYRANK", "z", "0", "100")
    assert encoding(value) == b"skiplist"  # Redis never converts back
    run(client, "ZADD", "long", "1", "x" * 65)
    assert encoding(engine.keyspace.dbs[0].data[b"long"]) == b"skiplist"  # type: ignore[arg-type]
    run(client, "ZUNIONSTORE", "u", "1", "z")  # a computed result is converted back
    assert encoding(engine.keyspace.dbs[0].data[b"u"]) == b"listpack"  # type: ignore[arg-type]


def test_copy_makes_an_independent_sorted_set(z: Client) -> None:
    assert run(z, "COPY", "z", "z2") == 1
    run(z, "ZADD", "z2", "9", "new")
    assert run(z, "ZCARD", "z") == 4
    assert run(z, "ZRANGE", "z2", "-1", "-1") == [b"new"]


def test_value_type_ranges() -> None:
    zset = ZSetValue()
    for member, score in ((b"a", 1.0), (b"b", 2.0), (b"c", 2.0), (b"d", 3.0)):
        zset.insert(member, score)
    assert zset.rank(b"c") == 2 and zset.rank(b"x") is None
    assert zset.score_span(2.0, False, 2.0, False) == (1, 3)
    assert zset.score_span(2.0, True, math.inf, False) == (3, 4)
    assert zset.score_span(math.inf, False, math.inf, False) == (4, 4)
    assert zset.score_span(3.0, False, 1.0, False) == (3, 3)
    zset.rescore(b"a", 5.0)
    assert zset.at(-1) == (5.0, b"a")
    assert zset.remove_span(0, 2)[0] == 2
    assert [m for _s, m in zset.items_in_order()] == [b"d", b"a"]
    assert zset.remove(b"nope") == 0


def test_flat_form_round_trips() -> None:
    zset = ZSetValue()
    zset.insert(b"x" * 70, -0.0)  # a skiplist: -0 kept
    zset.insert(b"a", math.inf)
    zset.insert(b"b", 0.1)
    items = list(zset_elements(zset))
    assert items[1::2] == [b"-0.0", b"0.1", b"inf"]
    copy = ZSetValue()
    zset_extend(copy, items)
    assert dict(copy) == dict(zset)
    with pytest.raises(ValueError):
        zset_extend(copy, [b"odd"])
