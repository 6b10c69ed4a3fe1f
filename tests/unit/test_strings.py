"""String commands through the engine: replies and errors as Redis 7.0.15 gives them
(the expected values were read from a real redis-server), expiry on a controlled clock,
what is replicated, keyspace events and OBJECT ENCODING of strings."""

from __future__ import annotations

import random

import pytest
from conftest import Clock, run

from respcache.commands import Client, Engine
from respcache.commands.registry import REGISTRY
from respcache.commands.strings import (
    format_long_double,
    incr_float,
    is_canonical_int,
    parse_long_double,
    rule_encoding,
)
from respcache.config import Config
from respcache.errors import CommandError
from respcache.protocol.types import OK
from respcache.store.values import ListValue

NOW_MS = 1_700_000_000_000
WRONGTYPE = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = CommandError("ERR syntax error")
NOT_INT = CommandError("ERR value is not an integer or out of range")
NOT_FLOAT = CommandError("ERR value is not a valid float")
TOO_LONG = CommandError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")


def invalid_expire(name: str) -> CommandError:
    return CommandError(f"ERR invalid expire time in '{name}' command")


def make_list(client: Client, key: bytes = b"l") -> None:
    value = ListValue()
    value.append(b"a")
    client.db.set(key, value)


@pytest.fixture
def events(engine: Engine) -> list[tuple[str, bytes, int, bytes]]:
    out: list[tuple[str, bytes, int, bytes]] = []
    engine.notify_hook = lambda kind, event, db, key: out.append((kind, event, db, key))
    return out


# --- command table ------------------------------------------------------------------------

# (arity, flags, first key, last key, step, ACL categories) from redis-server 7.0.15's
# COMMAND INFO; group and since from COMMAND DOCS.
STRING_TABLE = {
    "get": (2, "readonly fast", 1, 1, 1, "@read @string @fast", "1.0.0"),
    "set": (-3, "write denyoom", 1, 1, 1, "@write @string @slow", "1.0.0"),
    "setnx": (3, "write denyoom fast", 1, 1, 1, "@write @string @fast", "1.0.0"),
    "setex": (4, "write denyoom", 1, 1, 1, "@write @string @slow", "2.0.0"),
    "psetex": (4, "write denyoom", 1, 1, 1, "@write @string @slow", "2.6.0"),
    "mget": (-2, "readonly fast", 1, -1, 1, "@read @string @fast", "1.0.0"),
    "mset": (-3, "write denyoom", 1, -1, 2, "@write @string @slow", "1.0.1"),
    "msetnx": (-3, "write denyoom", 1, -1, 2, "@write @string @slow", "1.0.1"),
    "getset": (3, "write denyoom fast", 1, 1, 1, "@write @string @fast", "1.0.0"),
    "getdel": (2, "write fast", 1, 1, 1, "@write @string @fast", "6.2.0"),
    "getex": (-2, "write fast", 1, 1, 1, "@write @string @fast", "6.2.0"),
    "incr": (2, "write denyoom fast", 1, 1, 1, "@write @string @fast", "1.0.0"),
    "decr": (2, "write denyoom fast", 1, 1, 1, "@write @string @fast", "1.0.0"),
    "incrby": (3, "write denyoom fast", 1, 1, 1, "@write @string @fast", "1.0.0"),
    "decrby": (3, "write denyoom fast", 1, 1, 1, "@write @string @fast", "1.0.0"),
    "incrbyfloat": (3, "write denyoom fast", 1, 1, 1, "@write @string @fast", "2.6.0"),
    "append": (3, "write denyoom fast", 1, 1, 1, "@write @string @fast", "2.0.0"),
    "strlen": (2, "readonly fast", 1, 1, 1, "@read @string @fast", "2.2.0"),
    "getrange": (4, "readonly", 1, 1, 1, "@read @string @slow", "2.4.0"),
    "setrange": (4, "write denyoom", 1, 1, 1, "@write @string @slow", "2.2.0"),
    "substr": (4, "readonly", 1, 1, 1, "@read @string @slow", "1.0.0"),
    "lcs": (-3, "readonly", 1, 2, 1, "@read @string @slow", "7.0.0"),
}


@pytest.mark.parametrize("name", sorted(STRING_TABLE))
def test_command_table_matches_redis(name: str) -> None:
    arity, flags, first, last, step, acl, since = STRING_TABLE[name]
    spec = REGISTRY[name]
    assert spec.arity == arity
    assert spec.flags == frozenset(flags.split())
    assert (spec.first_key, spec.last_key, spec.step) == (first, last, step)
    assert spec.acl_categories == tuple(acl.split())
    assert spec.group == "string"
    assert spec.since == since
    assert spec.summary and spec.complexity


# --- GET / SET ----------------------------------------------------------------------------


def test_get_and_set(client: Client) -> None:
    assert run(client, "GET", "k") is None
    assert run(client, "SET", "k", "v") == OK
    assert run(client, "GET", "k") == b"v"
    assert run(client, "SET", "k", "") == OK
    assert run(client, "GET", "k") == b""


def test_get_wrong_type(client: Client) -> None:
    make_list(client)
    assert run(client, "GET", "l") == WRONGTYPE


def test_set_overwrites_other_types_and_drops_ttl(client: Client) -> None:
    make_list(client)
    assert run(client, "SET", "l", "v") == OK
    assert run(client, "GET", "l") == b"v"
    run(client, "SET", "k", "v", "EX", 100)
    run(client, "SET", "k", "w")
    assert run(client, "TTL", "k") == -1


@pytest.mark.parametrize(
    "options",
    [
        ["EX", "10", "PX", "10"],
        ["NX", "XX"],
        ["XX", "NX"],
        ["KEEPTTL", "EX", "10"],
        ["EX", "10", "KEEPTTL"],
        ["EXAT", "10", "PXAT", "10"],
        ["PX", "10", "EXAT", "10"],
        ["EX"],
        ["FOO"],
        ["PERSIST"],
        ["GET", "EX"],
    ],
)
def test_set_syntax_errors(client: Client, options: list[str]) -> None:
    assert run(client, "SET", "k", "v", *options) == SYNTAX
    assert run(client, "EXISTS", "k") == 0


@pytest.mark.parametrize(
    "options",
    [
        ["EX", "10", "EX", "20"],
        ["nx", "NX"],
        ["GET", "get"],
        ["KEEPTTL", "keepttl"],
        ["px", "5", "Px", "6"],
    ],
)
def test_set_accepts_repeated_options(client: Client, options: list[str]) -> None:
    reply = run(client, "SET", "k", "v", *options)
    assert reply in (OK, None)
    assert run(client, "GET", "k") == b"v"


@pytest.mark.parametrize(
    ("option", "amount"),
    [
        ("EX", "0"),
        ("EX", "-1"),
        ("PX", "0"),
        ("EXAT", "0"),
        ("PXAT", "0"),
        ("EX", "9223372036854775"),  # times 1000 plus now overflows
        ("EX", "9223372036854776"),
        ("EX", "9223372036854775807"),
        ("PX", "9223372036854775807"),
        ("PX", str(2**63 - 1 - NOW_MS + 1)),
    ],
)
def test_set_invalid_expire(client: Client, option: str, amount: str) -> None:
    assert run(client, "SET", "k", "v", option, amount) == invalid_expire("set")


def test_set_expire_not_an_integer(client: Client) -> None:
    assert run(client, "SET", "k", "v", "EX", "abc") == NOT_INT
    assert run(client, "SET", "k", "v", "EX", "1.5") == NOT_INT


def test_set_largest_absolute_times_are_accepted(client: Client) -> None:
    assert run(client, "SET", "k", "v", "EXAT", "9223372036854775") == OK
    assert run(client, "PEXPIRETIME", "k") == 9223372036854775000
    assert run(client, "SET", "k", "v", "PXAT", "9223372036854775807") == OK
    assert run(client, "PEXPIRETIME", "k") == 9223372036854775807
    assert run(client, "SET", "k", "v", "PX", str(2**63 - 1 - NOW_MS)) == OK


def test_set_nx_xx(client: Client) -> None:
    assert run(client, "SET", "k", "v", "XX") is None
    assert run(client, "EXISTS", "k") == 0
    assert run(client, "SET", "k", "v", "NX") == OK
    assert run(client, "SET", "k", "w", "NX") is None
    assert run(client, "GET", "k") == b"v"
    assert run(client, "SET", "k", "w", "XX") == OK
    assert run(client, "GET", "k") == b"w"


def test_set_get(client: Client) -> None:
    assert run(client, "SET", "k", "v", "GET") is None
    assert run(client, "SET", "k", "w", "GET") == b"v"
    assert run(client, "GET", "k") == b"w"


def test_set_get_with_nx_and_xx(client: Client) -> None:
    # NX GET: the old value is returned, the key is set only when it was missing.
    assert run(client, "SET", "k", "v", "NX", "GET") is None
    assert run(client, "SET", "k", "v2", "NX", "GET") == b"v"
    assert run(client, "GET", "k") == b"v"
    assert run(client, "SET", "k", "v3", "XX", "GET") == b"v"
    assert run(client, "GET", "k") == b"v3"
    assert run(client, "SET", "nokey", "v", "XX", "GET") is None
    assert run(client, "EXISTS", "nokey") == 0


def test_set_get_wrong_type_changes_nothing(client: Client) -> None:
    make_list(client)
    for extra in ([], ["NX"], ["XX"], ["EX", "10"]):
        assert run(client, "SET", "l", "v", "GET", *extra) == WRONGTYPE
    assert run(client, "TYPE", "l") == "list"


def test_set_get_checks_the_expire_before_the_type(client: Client) -> None:
    make_list(client)
    assert run(client, "SET", "l", "v", "GET", "EX", "0") == invalid_expire("set")


def test_set_with_expire(client: Client, clock: Clock) -> None:
    assert run(client, "SET", "k", "v", "EX", 10) == OK
    assert run(client, "PTTL", "k") == 10_000
    run(client, "SET", "k", "v", "PX", 1500)
    assert run(client, "PTTL", "k") == 1500
    run(client, "SET", "k", "v", "EXAT", NOW_MS // 1000 + 20)
    assert run(client, "TTL", "k") == 20
    run(client, "SET", "k", "v", "PXAT", NOW_MS + 1234)
    assert run(client, "PTTL", "k") == 1234
    clock.advance(1.233)
    assert run(client, "GET", "k") == b"v"
    clock.advance(0.001)
    assert run(client, "GET", "k") is None


def test_set_keepttl(client: Client) -> None:
    run(client, "SET", "k", "v", "EX", 100)
    assert run(client, "SET", "k", "w", "KEEPTTL") == OK
    assert run(client, "TTL", "k") == 100
    assert run(client, "GET", "k") == b"w"
    assert run(client, "SET", "new", "v", "KEEPTTL") == OK
    assert run(client, "TTL", "new") == -1


def test_set_replication(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    run(client, "SET", "a", "1")
    run(client, "SET", "b", "2", "NX", "GET")
    run(client, "SET", "b", "3", "NX")  # not set: nothing replicated
    run(client, "SET", "c", "3", "XX", "get", "KEEPTTL", "GET")
    run(client, "SET", "b", "4", "XX", "get", "KEEPTTL", "GET")
    run(client, "SET", "d", "5", "EX", "10", "GET", "NX")
    run(client, "SET", "e", "6", "px", "2500")
    run(client, "SET", "f", "7", "PXAT", NOW_MS + 5)
    run(client, "SETEX", "g", "3", "v")
    run(client, "PSETEX", "h", "300", "v")
    assert propagated == [
        (0, [b"SET", b"a", b"1"]),
        (0, [b"SET", b"b", b"2", b"NX"]),
        (0, [b"SET", b"b", b"4", b"XX", b"KEEPTTL"]),
        (0, [b"SET", b"d", b"5", b"PXAT", b"%d" % (NOW_MS + 10_000)]),
        (0, [b"SET", b"e", b"6", b"PXAT", b"%d" % (NOW_MS + 2500)]),
        (0, [b"SET", b"f", b"7", b"PXAT", b"%d" % (NOW_MS + 5)]),
        (0, [b"SET", b"g", b"v", b"PXAT", b"%d" % (NOW_MS + 3000)]),
        (0, [b"SET", b"h", b"v", b"PXAT", b"%d" % (NOW_MS + 300)]),
    ]


def test_set_with_a_past_time_expires_lazily(
    client: Client,
    propagated: list[tuple[int, list[bytes]]],
    events: list[tuple[str, bytes, int, bytes]],
) -> None:
    # Redis 7.0 sets the key with its past expiry; it then expires on access.
    assert run(client, "SET", "k", "v", "EXAT", "1") == OK
    assert propagated == [(0, [b"SET", b"k", b"v", b"PXAT", b"1000"])]
    assert run(client, "EXISTS", "k") == 0
    assert propagated[1:] == [(0, [b"DEL", b"k"])]
    assert [e[1] for e in events] == [b"new", b"set", b"expire", b"expired"]
    assert run(client, "SET", "k", "v", "PXAT", "1", "GET") is None


def test_setnx(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    assert run(client, "SETNX", "k", "v") == 1
    assert run(client, "SETNX", "k", "w") == 0
    assert run(client, "GET", "k") == b"v"
    make_list(client)
    assert run(client, "SETNX", "l", "w") == 0
    assert propagated == [(0, [b"SETNX", b"k", b"v"])]


def test_setex_and_psetex(client: Client) -> None:
    assert run(client, "SETEX", "k", 10, "v") == OK
    assert run(client, "TTL", "k") == 10
    assert run(client, "PSETEX", "p", 1500, "v") == OK
    assert run(client, "PTTL", "p") == 1500
    make_list(client)
    assert run(client, "SETEX", "l", 10, "v") == OK
    assert run(client, "GET", "l") == b"v"


@pytest.mark.parametrize("name", ["setex", "psetex"])
@pytest.mark.parametrize("amount", ["0", "-1"])
def test_setex_invalid_expire(client: Client, name: str, amount: str) -> None:
    assert run(client, name.upper(), "k", amount, "v") == invalid_expire(name)
    assert run(client, name, "k", "abc", "v") == NOT_INT
    assert run(client, "EXISTS", "k") == 0


def test_setex_overflow(client: Client) -> None:
    assert run(client, "SETEX", "k", "9223372036854775", "v") == invalid_expire("setex")


# --- GETSET / GETDEL / GETEX ------------------------------------------------------------


def test_getset(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    assert run(client, "GETSET", "k", "v") is None
    run(client, "EXPIRE", "k", 100)
    assert run(client, "GETSET", "k", "w") == b"v"
    assert run(client, "TTL", "k") == -1
    make_list(client)
    assert run(client, "GETSET", "l", "v") == WRONGTYPE
    assert propagated[0] == (0, [b"SET", b"k", b"v"])
    assert propagated[-1] == (0, [b"SET", b"k", b"w"])


def test_getdel(
    client: Client,
    propagated: list[tuple[int, list[bytes]]],
    events: list[tuple[str, bytes, int, bytes]],
) -> None:
    assert run(client, "GETDEL", "k") is None
    run(client, "SET", "k", "v")
    assert run(client, "GETDEL", "k") == b"v"
    assert run(client, "EXISTS", "k") == 0
    make_list(client)
    assert run(client, "GETDEL", "l") == WRONGTYPE
    assert propagated == [(0, [b"SET", b"k", b"v"]), (0, [b"DEL", b"k"])]
    assert events[-1] == ("g", b"del", 0, b"k")


def test_getex_options(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    run(client, "SET", "k", "v")
    assert run(client, "GETEX", "k") == b"v"
    assert run(client, "GETEX", "k", "EX", 10) == b"v"
    assert run(client, "PTTL", "k") == 10_000
    assert run(client, "GETEX", "k", "PX", 500) == b"v"
    assert run(client, "PTTL", "k") == 500
    assert run(client, "GETEX", "k", "EXAT", NOW_MS // 1000 + 7) == b"v"
    assert run(client, "TTL", "k") == 7
    assert run(client, "GETEX", "k", "PXAT", NOW_MS + 70) == b"v"
    assert run(client, "PTTL", "k") == 70
    assert run(client, "GETEX", "k", "PERSIST") == b"v"
    assert run(client, "TTL", "k") == -1
    assert run(client, "GETEX", "k", "PERSIST") == b"v"  # no TTL: nothing to replicate
    assert propagated == [
        (0, [b"SET", b"k", b"v"]),
        (0, [b"PEXPIREAT", b"k", b"%d" % (NOW_MS + 10_000)]),
        (0, [b"PEXPIREAT", b"k", b"%d" % (NOW_MS + 500)]),
        (0, [b"PEXPIREAT", b"k", b"%d" % (NOW_MS + 7000)]),
        (0, [b"PEXPIREAT", b"k", b"%d" % (NOW_MS + 70)]),
        (0, [b"PERSIST", b"k"]),
    ]


def test_getex_past_time_deletes(
    client: Client,
    propagated: list[tuple[int, list[bytes]]],
    events: list[tuple[str, bytes, int, bytes]],
) -> None:
    run(client, "SET", "k", "v")
    assert run(client, "GETEX", "k", "PXAT", 1) == b"v"
    assert run(client, "EXISTS", "k") == 0
    assert propagated[-1] == (0, [b"DEL", b"k"])
    assert events[-1] == ("g", b"del", 0, b"k")


def test_getex_on_a_follower_keeps_past_times(client: Client, engine: Engine) -> None:
    run(client, "SET", "k", "v")
    engine.keyspace.expire_keys = False
    assert run(client, "GETEX", "k", "EXAT", 1) == b"v"
    assert engine.keyspace.dbs[0].get_expire(b"k") == 1000
    assert run(client, "GET", "k") is None  # hidden, not deleted
    assert b"k" in engine.keyspace.dbs[0].data


@pytest.mark.parametrize(
    "options",
    [["FOO"], ["EX", "1", "PX", "1"], ["PERSIST", "EX", "1"], ["EX"], ["NX"], ["GET"], ["KEEPTTL"]],
)
def test_getex_syntax_errors(client: Client, options: list[str]) -> None:
    run(client, "SET", "k", "v")
    assert run(client, "GETEX", "k", *options) == SYNTAX
    assert run(client, "GETEX", "nokey", *options) == SYNTAX


def test_getex_checks_the_expire_only_for_an_existing_string(client: Client) -> None:
    assert run(client, "GETEX", "nokey", "EX", 0) is None
    run(client, "SET", "k", "v")
    assert run(client, "GETEX", "k", "EX", 0) == invalid_expire("getex")
    assert run(client, "GETEX", "k", "PX", -1) == invalid_expire("getex")
    assert run(client, "GETEX", "k", "EX", "abc") == NOT_INT
    assert run(client, "GETEX", "k", "EX", "9223372036854775") == invalid_expire("getex")
    assert run(client, "GETEX", "k", "EXAT", "9223372036854775807") == invalid_expire("getex")
    make_list(client)
    assert run(client, "GETEX", "l", "EX", 0) == WRONGTYPE


# --- MGET / MSET / MSETNX ---------------------------------------------------------------


def test_mget(client: Client) -> None:
    run(client, "SET", "a", "1")
    make_list(client)
    assert run(client, "MGET", "a", "l", "nokey", "a") == [b"1", None, None, b"1"]


def test_mset(client: Client, events: list[tuple[str, bytes, int, bytes]]) -> None:
    run(client, "SET", "b", "old", "EX", 100)
    assert run(client, "MSET", "a", "1", "b", "2") == OK
    assert run(client, "MGET", "a", "b") == [b"1", b"2"]
    assert run(client, "TTL", "b") == -1
    assert run(client, "MSET", "a", "1", "b") == CommandError(
        "ERR wrong number of arguments for 'mset' command"
    )
    assert [e[1:] for e in events[-2:]] == [(b"set", 0, b"a"), (b"set", 0, b"b")]


def test_msetnx(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    assert run(client, "MSETNX", "a", "1", "b", "2") == 1
    assert run(client, "MSETNX", "a", "x", "zz", "y") == 0
    assert run(client, "EXISTS", "zz") == 0
    assert run(client, "GET", "a") == b"1"
    assert run(client, "MSETNX", "a", "1", "b") == CommandError(
        "ERR wrong number of arguments for 'msetnx' command"
    )
    assert propagated == [(0, [b"MSETNX", b"a", b"1", b"b", b"2"])]


# --- counters -----------------------------------------------------------------------------


def test_incr_family(client: Client, events: list[tuple[str, bytes, int, bytes]]) -> None:
    assert run(client, "INCR", "n") == 1
    assert run(client, "INCRBY", "n", 10) == 11
    assert run(client, "DECR", "n") == 10
    assert run(client, "DECRBY", "n", 20) == -10
    assert run(client, "INCRBY", "n", "-5") == -15
    assert run(client, "GET", "n") == b"-15"
    assert [e[1] for e in events] == [b"new"] + [b"incrby"] * 5  # dbAdd's "new" first


def test_incr_keeps_ttl(client: Client) -> None:
    run(client, "SET", "n", "1", "EX", 100)
    run(client, "INCR", "n")
    assert run(client, "TTL", "n") == 100


@pytest.mark.parametrize("value", [" 1", "1 ", "1.0", "+1", "01", "-0", "abc", "", "1e3"])
def test_incr_not_an_integer(client: Client, value: str) -> None:
    run(client, "SET", "n", value)
    assert run(client, "INCR", "n") == NOT_INT
    assert run(client, "GET", "n") == value.encode()


def test_incr_limits(client: Client) -> None:
    run(client, "SET", "n", "9223372036854775807")
    assert run(client, "INCR", "n") == CommandError("ERR increment or decrement would overflow")
    run(client, "SET", "n", "-9223372036854775808")
    assert run(client, "DECR", "n") == CommandError("ERR increment or decrement would overflow")
    assert run(client, "DECRBY", "n", "-9223372036854775808") == CommandError(
        "ERR decrement would overflow"
    )
    assert run(client, "INCRBY", "n", "9223372036854775808") == NOT_INT
    assert run(client, "DECRBY", "n", "1.5") == NOT_INT
    make_list(client)
    assert run(client, "INCR", "l") == WRONGTYPE
    assert run(client, "DECRBY", "l", 1) == WRONGTYPE


# --- INCRBYFLOAT ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("initial", "increment", "expected"),
    [
        (None, "1.5", b"1.5"),
        ("0.1", "0.2", b"0.3"),  # long double, not 0.30000000000000004
        ("10.50", "0.1", b"10.6"),
        ("10.6", "-5", b"5.6"),
        ("5.0e3", "2.0e2", b"5200"),
        ("0x10", "0x1p3", b"24"),
        ("24", "+1.5", b"25.5"),
        ("-0.0", "0", b"0"),
        ("3", "1.0000000000000000001", b"4"),
        ("4", "0.00000000000000001", b"4.00000000000000001"),
        ("4.00000000000000001", "0.000000000000000001", b"4.00000000000000001"),
        ("1e10", "0", b"10000000000"),
        ("1", "1e-20", b"1"),
        ("0", "0.000003814697265625", b"0.00000381469726562"),  # a tie, to even
        ("0", "0.000011444091796875", b"0.00001144409179688"),
        ("1.5", "-1.5", b"0"),
        ("-1", "0.25", b"-0.75"),
        (
            "1e300",
            "1",
            b"1000000000000000000008997324079559193870523944273290747938260082321265646596"
            b"180935755849152083750497190350372508614274835903592556184672983913096260520748"
            b"646287327135641843653294084255107606016789726652932370030551382947620994540294"
            b"772781889620606179267611627097410650567187386105690089424915104006144",
        ),
    ],
)
def test_incrbyfloat_matches_redis(
    client: Client, initial: str | None, increment: str, expected: bytes
) -> None:
    if initial is not None:
        run(client, "SET", "f", initial)
    assert run(client, "INCRBYFLOAT", "f", increment) == expected
    assert run(client, "GET", "f") == expected


def test_incrbyfloat_huge_values(client: Client) -> None:
    run(client, "SET", "f", "1.7976931348623157e308")
    reply = run(client, "INCRBYFLOAT", "f", "1.7976931348623157e308")
    assert isinstance(reply, bytes)
    assert reply.startswith(b"35953862697246313999184209354820886809677289388865835697")
    assert len(reply) == 309
    run(client, "SET", "f", "0")
    reply = run(client, "INCRBYFLOAT", "f", "1e4932")
    assert isinstance(reply, bytes)
    assert reply.startswith(b"1000000000000000000006018949387963891323837774254533114")
    assert len(reply) == 4933
    assert run(client, "INCRBYFLOAT", "f", "-1e4932") == b"0"


@pytest.mark.parametrize(
    "increment", [" 1", "1 ", "1e-5000", "1e5000", "nan", "abc", "", "1e", "0x", "1_0"]
)
def test_incrbyfloat_invalid_increment(client: Client, increment: str) -> None:
    run(client, "SET", "f", "1")
    assert run(client, "INCRBYFLOAT", "f", increment) == NOT_FLOAT
    assert run(client, "INCRBYFLOAT", "nokey", increment) == NOT_FLOAT


def test_incrbyfloat_errors(client: Client) -> None:
    nan_or_inf = CommandError("ERR increment would produce NaN or Infinity")
    run(client, "SET", "f", "1")
    assert run(client, "INCRBYFLOAT", "f", "inf") == nan_or_inf
    assert run(client, "INCRBYFLOAT", "f", "-Infinity") == nan_or_inf
    run(client, "SET", "f", "1e4932")
    assert run(client, "INCRBYFLOAT", "f", "1e4932") == nan_or_inf
    run(client, "SET", "f", "inf")
    assert run(client, "INCRBYFLOAT", "f", "abc") == NOT_FLOAT
    assert run(client, "INCRBYFLOAT", "f", "-inf") == nan_or_inf
    run(client, "SET", "f", "abc")
    assert run(client, "INCRBYFLOAT", "f", "1") == NOT_FLOAT
    make_list(client)
    assert run(client, "INCRBYFLOAT", "l", "1") == WRONGTYPE


def test_incrbyfloat_replicates_the_result_and_keeps_ttl(
    client: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    run(client, "SET", "f", "0.1", "EX", 100)
    assert run(client, "INCRBYFLOAT", "f", "0.2") == b"0.3"
    assert run(client, "TTL", "f") == 100
    assert propagated[-1] == (0, [b"SET", b"f", b"0.3", b"KEEPTTL"])


def test_long_double_helpers() -> None:
    assert parse_long_double(b"0.5") == 0.5
    assert format_long_double(parse_long_double(b"-0.125")) == b"-0.125"
    assert format_long_double(parse_long_double(b"1e-30")) == b"0"
    assert incr_float(None, b"3") == b"3"
    assert incr_float(b"1", b"0x.8") == b"1.5"
    with pytest.raises(CommandError):
        parse_long_double(b"1e")


# --- APPEND / STRLEN / GETRANGE / SETRANGE ----------------------------------------------


def test_append_and_strlen(client: Client, events: list[tuple[str, bytes, int, bytes]]) -> None:
    assert run(client, "STRLEN", "k") == 0
    assert run(client, "APPEND", "k", "Hello") == 5
    run(client, "EXPIRE", "k", 100)
    assert run(client, "APPEND", "k", " World") == 11
    assert run(client, "APPEND", "k", "") == 11
    assert run(client, "GET", "k") == b"Hello World"
    assert run(client, "STRLEN", "k") == 11
    assert run(client, "TTL", "k") == 100
    assert [e[1] for e in events[:2]] == [b"new", b"append"]
    make_list(client)
    assert run(client, "APPEND", "l", "x") == WRONGTYPE
    assert run(client, "STRLEN", "l") == WRONGTYPE


def test_append_and_setrange_limit() -> None:
    engine = Engine(Config(proto_max_bulk_len="1mb"))
    client = engine.new_client()
    limit = 1024 * 1024
    run(client, "SET", "k", b"x" * (limit - 1))
    assert run(client, "APPEND", "k", "yz") == TOO_LONG
    assert run(client, "APPEND", "k", "y") == limit
    assert run(client, "SETRANGE", "k", limit, "x") == TOO_LONG
    assert run(client, "SETRANGE", "k", limit - 1, "x") == limit
    assert run(client, "SETRANGE", "k", limit - 10, "") == limit
    assert run(client, "SETRANGE", "new", limit, "x") == TOO_LONG
    assert run(client, "SETRANGE", "new", limit, "") == 0
    client.is_master = True  # the replication link is never refused
    assert run(client, "APPEND", "k", "more") == limit + 4


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 4, b"Hello"),
        (-1, -5, b""),
        (-5, -1, b"World"),
        (0, -100, b"H"),
        (-100, -100, b"H"),
        (-100, -99, b"H"),
        (-100, -200, b""),
        (5, 3, b""),
        (0, 1000, b"Hello World"),
        (100, 1000, b""),
        (3, -200, b""),
    ],
)
def test_getrange(client: Client, start: int, end: int, expected: bytes) -> None:
    run(client, "SET", "s", "Hello World")
    assert run(client, "GETRANGE", "s", start, end) == expected
    assert run(client, "SUBSTR", "s", start, end) == expected


def test_getrange_edges(client: Client) -> None:
    assert run(client, "GETRANGE", "nokey", 0, 1) == b""
    run(client, "SET", "e", "")
    assert run(client, "GETRANGE", "e", 0, -1) == b""
    assert run(client, "GETRANGE", "e", -1, 0) == b""
    assert run(client, "GETRANGE", "e", "abc", 1) == NOT_INT
    assert run(client, "GETRANGE", "e", 0, "9223372036854775808") == NOT_INT
    make_list(client)
    assert run(client, "GETRANGE", "l", 0, 1) == WRONGTYPE


def test_setrange(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    assert run(client, "SETRANGE", "k", 3, "ab") == 5
    assert run(client, "GET", "k") == b"\x00\x00\x00ab"
    assert run(client, "SETRANGE", "k", 1, "XYZW") == 5
    assert run(client, "GET", "k") == b"\x00XYZW"
    assert run(client, "SETRANGE", "k", 0, "") == 5
    assert run(client, "SETRANGE", "nokey", 0, "") == 0
    assert run(client, "EXISTS", "nokey") == 0
    assert run(client, "SETRANGE", "k", -1, "x") == CommandError("ERR offset is out of range")
    assert run(client, "SETRANGE", "k", "abc", "x") == NOT_INT
    make_list(client)
    assert run(client, "SETRANGE", "l", 0, "") == WRONGTYPE
    assert [argv[0] for _, argv in propagated] == [b"SETRANGE", b"SETRANGE"]


# --- LCS ----------------------------------------------------------------------------------


def test_lcs_replies(client: Client) -> None:
    run(client, "MSET", "a", "ohmytext", "b", "mynewtext")
    assert run(client, "LCS", "a", "b") == b"mytext"
    assert run(client, "LCS", "a", "b", "LEN") == 6
    assert run(client, "LCS", "a", "b", "IDX") == {
        b"matches": [[[4, 7], [5, 8]], [[2, 3], [0, 1]]],
        b"len": 6,
    }
    assert run(client, "LCS", "a", "b", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN") == {
        b"matches": [[[4, 7], [5, 8], 4]],
        b"len": 6,
    }
    assert run(client, "LCS", "a", "b", "idx", "withmatchlen") == {
        b"matches": [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]],
        b"len": 6,
    }
    assert run(client, "LCS", "a", "b", "IDX", "MINMATCHLEN", -5) == run(
        client, "LCS", "a", "b", "IDX"
    )
    assert run(client, "LCS", "nokey", "nokey2") == b""
    assert run(client, "LCS", "a", "nokey", "IDX") == {b"matches": [], b"len": 0}


def test_lcs_errors(client: Client) -> None:
    run(client, "MSET", "a", "ohmytext", "b", "mynewtext")
    make_list(client)
    assert run(client, "LCS", "a", "b", "LEN", "IDX") == CommandError(
        "ERR If you want both the length and indexes, please just use IDX."
    )
    assert run(client, "LCS", "a", "b", "FOO") == SYNTAX
    assert run(client, "LCS", "a", "b", "MINMATCHLEN") == SYNTAX
    assert run(client, "LCS", "a", "b", "MINMATCHLEN", "abc") == NOT_INT
    not_strings = CommandError("ERR The specified keys must contain string values")
    assert run(client, "LCS", "a", "l") == not_strings
    assert run(client, "LCS", "l", "a", "FOO") == not_strings


def test_lcs_memory_limit() -> None:
    engine = Engine(Config(proto_max_bulk_len="1mb"))
    client = engine.new_client()
    run(client, "MSET", "a", "a" * 600, "b", "b" * 600)
    assert run(client, "LCS", "a", "b") == CommandError(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    )
    run(client, "MSET", "a", "a" * 400, "b", "b" * 400)
    assert run(client, "LCS", "a", "b", "LEN") == 0


def reference_lcs(
    a: bytes, b: bytes, minmatchlen: int, withmatchlen: bool
) -> tuple[bytes, list[list[object]], int]:
    """A direct transcription of Redis's lcsCommand (full DP table) to check against."""
    alen, blen = len(a), len(b)
    table = [[0] * (blen + 1) for _ in range(alen + 1)]
    for i in range(1, alen + 1):
        for j in range(1, blen + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    idx = table[alen][blen]
    result = bytearray(idx)
    matches: list[list[object]] = []
    ast, aend, bst, bend = alen, 0, 0, 0
    i, j = alen, blen
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if ast == alen:
                ast = aend = i - 1
                bst = bend = j - 1
            elif ast == i and bst == j:
                ast -= 1
                bst -= 1
            else:
                emit = True
            if ast == 0 or bst == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if table[i - 1][j] > table[i][j - 1]:
                i -= 1
            else:
                j -= 1
            if ast != alen:
                emit = True
        if emit:
            length = aend - ast + 1
            if minmatchlen == 0 or length >= minmatchlen:
                match: list[object] = [[ast, aend], [bst, bend]]
                if withmatchlen:
                    match.append(length)
                matches.append(match)
            ast = alen
    return bytes(result), matches, table[alen][blen]


def test_lcs_bit_parallel_matches_the_dynamic_programming_table(client: Client) -> None:
    rnd = random.Random(7)
    for _ in range(300):
        alphabet = b"abc"[: rnd.randint(1, 3)] + (b"xyz" if rnd.random() < 0.3 else b"")
        a = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 25)))
        b = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 25)))
        minmatchlen = rnd.choice([0, 0, 1, 2, 3])
        run(client, "MSET", "a", a, "b", b)
        string, matches, length = reference_lcs(a, b, minmatchlen, True)
        assert run(client, "LCS", "a", "b") == string
        assert run(client, "LCS", "a", "b", "LEN") == length
        reply = run(client, "LCS", "a", "b", "IDX", "MINMATCHLEN", minmatchlen, "WITHMATCHLEN")
        assert reply == {b"matches": matches, b"len": length}


# --- encodings and events -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoding"),
    [
        (b"123", "int"),
        (b"-9223372036854775808", "int"),
        (b"9223372036854775808", "embstr"),
        (b"0", "int"),
        (b"-0", "embstr"),
        (b"01", "embstr"),
        (b"", "embstr"),
        (b"x" * 44, "embstr"),
        (b"x" * 45, "raw"),
        (b"1" * 21, "embstr"),
    ],
)
def test_string_encoding_rule(client: Client, value: bytes, encoding: str) -> None:
    assert rule_encoding(value) == encoding
    run(client, "SET", "k", value)
    assert run(client, "OBJECT", "ENCODING", "k") == encoding.encode()


def test_encodings_made_in_place(client: Client) -> None:
    run(client, "SET", "i", "1")
    run(client, "APPEND", "i", "2")
    assert run(client, "OBJECT", "ENCODING", "i") == b"raw"  # Redis: APPEND unshares
    run(client, "APPEND", "new", "123")
    assert run(client, "OBJECT", "ENCODING", "new") == b"int"
    run(client, "SETRANGE", "n", 0, "10")
    assert run(client, "OBJECT", "ENCODING", "n") == b"raw"
    run(client, "SET", "f", "3")
    run(client, "INCRBYFLOAT", "f", "1")
    assert run(client, "GET", "f") == b"4"
    assert run(client, "OBJECT", "ENCODING", "f") == b"int"  # one byte: cannot be told apart
    run(client, "INCRBYFLOAT", "f", "10")
    assert run(client, "OBJECT", "ENCODING", "f") == b"embstr"
    run(client, "INCR", "f")
    assert run(client, "OBJECT", "ENCODING", "f") == b"int"
    run(client, "SET", "i", "12")
    assert run(client, "OBJECT", "ENCODING", "i") == b"int"  # overwritten: mark is stale
    run(client, "APPEND", "i", "3")
    run(client, "RENAME", "i", "j")
    assert run(client, "OBJECT", "ENCODING", "j") == b"raw"
    run(client, "COPY", "j", "c", "DB", "1")
    run(client, "MOVE", "j", "2")
    run(client, "SELECT", "2")
    assert run(client, "OBJECT", "ENCODING", "j") == b"raw"
    run(client, "SELECT", "1")
    assert run(client, "OBJECT", "ENCODING", "c") == b"raw"


def test_is_canonical_int() -> None:
    assert is_canonical_int(b"-1")
    assert not is_canonical_int(b"-")
    assert not is_canonical_int(b"+1")
    assert not is_canonical_int(b"1 ")
    assert not is_canonical_int(b"9223372036854775808")


def test_keyspace_events(client: Client, events: list[tuple[str, bytes, int, bytes]]) -> None:
    run(client, "SET", "k", "1", "EX", 10)
    run(client, "INCRBYFLOAT", "k", "1.5")
    run(client, "SETRANGE", "k", 0, "x")
    run(client, "GETEX", "k", "PERSIST")
    run(client, "GETDEL", "k")
    assert events == [
        ("n", b"new", 0, b"k"),
        ("$", b"set", 0, b"k"),
        ("g", b"expire", 0, b"k"),
        ("$", b"incrbyfloat", 0, b"k"),
        ("$", b"setrange", 0, b"k"),
        ("g", b"persist", 0, b"k"),
        ("g", b"del", 0, b"k"),
    ]


def test_watch_is_invalidated_by_string_writes(client: Client, engine: Engine) -> None:
    other = engine.new_client()
    engine.watches.watch(other, b"k")
    run(client, "APPEND", "k", "x")
    assert other.dirty_cas
