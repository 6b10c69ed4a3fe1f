"""Hash commands through the engine: replies and errors as Redis 7.0.15 gives them (the
expected values were read from a real redis-server), long double HINCRBYFLOAT, memory
accounting, keyspace events, replication, OBJECT ENCODING, HRANDFIELD and HSCAN."""

from __future__ import annotations

import pytest
from conftest import run

from respcache.commands import Client, Engine
from respcache.commands.hashes import encoding, field_cost
from respcache.errors import CommandError
from respcache.protocol.encoder import encode
from respcache.protocol.types import OK
from respcache.store.values import CONTAINER_OVERHEAD, EXPIRE_OVERHEAD, HashValue, entry_size

WRONGTYPE = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = CommandError("ERR syntax error")
NOT_INTEGER = CommandError("ERR value is not an integer or out of range")
NOT_FLOAT = CommandError("ERR value is not a valid float")


def check_memory(engine: Engine) -> None:
    """``used_memory`` is the sum of the entries, and every hash's estimate its contents'."""
    ks = engine.keyspace
    total = 0
    for db in ks.dbs:
        for key, value in db.data.items():
            total += entry_size(key, value)
            if type(value) is HashValue:
                expected = CONTAINER_OVERHEAD + sum(field_cost(f, v) for f, v in value.items())
                assert value.nbytes == expected
        total += EXPIRE_OVERHEAD * len(db.expires)
    assert ks.used_memory == total


@pytest.fixture
def events(engine: Engine) -> list[tuple[str, bytes, bytes]]:
    out: list[tuple[str, bytes, bytes]] = []
    engine.notify_hook = lambda kind, event, db, key: out.append((kind, event, key))
    return out


# --- setting and reading fields ----------------------------------------------------------------


def test_hset_hget_hmget(
    client: Client, engine: Engine, events: list[tuple[str, bytes, bytes]]
) -> None:
    assert run(client, "HSET", "h", "a", "1", "b", "2") == 2
    assert run(client, "HSET", "h", "a", "10", "c", "3") == 1
    assert run(client, "HSET", "h", "a", "x", "a", "y") == 0  # the last value wins
    assert run(client, "HGET", "h", "a") == b"y"
    assert run(client, "HGET", "h", "nope") is None
    assert run(client, "HGET", "nokey", "a") is None
    assert run(client, "HMGET", "h", "a", "nope", "c") == [b"y", None, b"3"]
    assert run(client, "HMGET", "nokey", "a", "b") == [None, None]
    assert events == [("n", b"new", b"h")] + [("h", b"hset", b"h")] * 3
    check_memory(engine)


def test_hset_and_hmset_need_pairs(client: Client) -> None:
    assert run(client, "HSET", "h", "a", "1", "b") == CommandError(
        "ERR wrong number of arguments for 'hset' command"
    )
    assert run(client, "HMSET", "h", "a", "1", "b") == CommandError(
        "ERR wrong number of arguments for 'hmset' command"
    )
    assert run(client, "HSET", "h", "a") == CommandError(
        "ERR wrong number of arguments for 'hset' command"
    )
    assert run(client, "EXISTS", "h") == 0


def test_hmset_replies_ok(client: Client) -> None:
    assert run(client, "HMSET", "h", "a", "1", "b", "2") == OK
    assert run(client, "HGETALL", "h") == {b"a": b"1", b"b": b"2"}


def test_hsetnx(client: Client, events: list[tuple[str, bytes, bytes]]) -> None:
    assert run(client, "HSETNX", "h", "a", "1") == 1
    assert run(client, "HSETNX", "h", "a", "2") == 0
    assert run(client, "HGET", "h", "a") == b"1"
    assert events == [("n", b"new", b"h"), ("h", b"hset", b"h")]


def test_hgetall_hkeys_hvals_keep_insertion_order(client: Client) -> None:
    run(client, "HSET", "h", "b", "1", "a", "2", "c", "3")
    run(client, "HDEL", "h", "b")
    run(client, "HSET", "h", "b", "4", "a", "5")
    assert encode(run(client, "HGETALL", "h")) == (
        b"*6\r\n$1\r\na\r\n$1\r\n5\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n4\r\n"
    )
    assert run(client, "HKEYS", "h") == [b"a", b"c", b"b"]
    assert run(client, "HVALS", "h") == [b"5", b"3", b"4"]
    client.resp = 3
    assert encode(run(client, "HGETALL", "h"), True).startswith(b"%3\r\n$1\r\na\r\n$1\r\n5\r\n")
    assert encode(run(client, "HGETALL", "nokey"), True) == b"%0\r\n"
    assert run(client, "HKEYS", "nokey") == []
    assert run(client, "HVALS", "nokey") == []


def test_hlen_hexists_hstrlen(client: Client) -> None:
    run(client, "HSET", "h", "a", "hello", "b", "")
    assert run(client, "HLEN", "h") == 2
    assert run(client, "HLEN", "nokey") == 0
    assert run(client, "HEXISTS", "h", "a") == 1
    assert run(client, "HEXISTS", "h", "z") == 0
    assert run(client, "HEXISTS", "nokey", "a") == 0
    assert run(client, "HSTRLEN", "h", "a") == 5
    assert run(client, "HSTRLEN", "h", "b") == 0
    assert run(client, "HSTRLEN", "h", "z") == 0
    assert run(client, "HSTRLEN", "nokey", "z") == 0


def test_hdel_and_emptied_hash_is_deleted(
    client: Client, engine: Engine, events: list[tuple[str, bytes, bytes]]
) -> None:
    run(client, "HSET", "h", "a", "1", "b", "2")
    events.clear()
    assert run(client, "HDEL", "h", "a", "a", "z") == 1
    assert events == [("h", b"hdel", b"h")]
    assert run(client, "HDEL", "h", "z") == 0
    assert run(client, "HDEL", "nokey", "z") == 0
    assert run(client, "HDEL", "h", "b") == 1
    assert run(client, "EXISTS", "h") == 0
    assert events[-2:] == [("h", b"hdel", b"h"), ("g", b"del", b"h")]
    check_memory(engine)


def test_memory_follows_value_changes(client: Client, engine: Engine) -> None:
    run(client, "HSET", "h", "f", "x" * 100)
    check_memory(engine)
    run(client, "HSET", "h", "f", "y")
    check_memory(engine)
    run(client, "HINCRBYFLOAT", "h", "g", "1e300")
    check_memory(engine)
    run(client, "HINCRBY", "h", "i", "5")
    check_memory(engine)


@pytest.mark.parametrize(
    "command",
    [
        ("HSET", "str", "a", "1"),
        ("HMSET", "str", "a", "1"),
        ("HSETNX", "str", "a", "1"),
        ("HGET", "str", "a"),
        ("HMGET", "str", "a"),
        ("HDEL", "str", "a"),
        ("HEXISTS", "str", "a"),
        ("HGETALL", "str"),
        ("HKEYS", "str"),
        ("HVALS", "str"),
        ("HLEN", "str"),
        ("HSTRLEN", "str", "a"),
        ("HINCRBY", "str", "a", "1"),
        ("HINCRBYFLOAT", "str", "a", "1"),
        ("HRANDFIELD", "str"),
        ("HRANDFIELD", "str", "1"),
        ("HSCAN", "str", "0"),
    ],
)
def test_wrongtype(client: Client, command: tuple[str, ...]) -> None:
    run(client, "SET", "str", "x")
    assert run(client, *command) == WRONGTYPE


# --- HINCRBY ------------------------------------------------------------------------------------


def test_hincrby(client: Client, events: list[tuple[str, bytes, bytes]]) -> None:
    assert run(client, "HINCRBY", "h", "n", "-5") == -5
    assert run(client, "HINCRBY", "h", "n", "7") == 2
    assert run(client, "HGET", "h", "n") == b"2"
    assert events == [("n", b"new", b"h")] + [("h", b"hincrby", b"h")] * 2


def test_hincrby_errors(client: Client) -> None:
    run(client, "HSET", "h", "big", "9223372036854775807", "sp", " 1", "z", "007", "neg", "-0")
    overflow = CommandError("ERR increment or decrement would overflow")
    not_int = CommandError("ERR hash value is not an integer")
    assert run(client, "HINCRBY", "h", "big", "1") == overflow
    assert run(client, "HINCRBY", "h", "f", "1.5") == NOT_INTEGER
    assert run(client, "HINCRBY", "str", "f", "x") == NOT_INTEGER  # parsed before the lookup
    for field in ("sp", "z", "neg"):
        assert run(client, "HINCRBY", "h", field, "1") == not_int
    assert run(client, "HINCRBY", "h", "m", "-9223372036854775808") == -9223372036854775808
    assert run(client, "HINCRBY", "h", "m", "-1") == overflow


# --- HINCRBYFLOAT: x87 long double, formatted like %.17Lf ---------------------------------------


@pytest.mark.parametrize(
    ("steps", "result"),
    [
        (["0.1", "0.2"], b"0.3"),
        (["1e-20"], b"0"),
        (["1.5e-7"], b"0.00000015"),
        (["123456789.123456789"], b"123456789.12345678899873747"),
        (["0x10"], b"16"),
        (["-0"], b"0"),
        (["3.0e3"], b"3000"),
        (["-1.5", "1.5"], b"0"),
        (["1e17", "0.5"], b"100000000000000000.5"),
        (
            ["1e300"],
            b"1000000000000000000008997324079559193870523944273290747938260082321265646596180935"
            b"755849152083750497190350372508614274835903592556184672983913096260520748646287327"
            b"135641843653294084255107606016789726652932370030551382947620994540294772781889620"
            b"606179267611627097410650567187386105690089424915104006144",
        ),
    ],
)
def test_hincrbyfloat_results(client: Client, steps: list[str], result: bytes) -> None:
    reply = None
    for step in steps:
        reply = run(client, "HINCRBYFLOAT", "h", "f", step)
    assert reply == result
    assert run(client, "HGET", "h", "f") == result


def test_hincrbyfloat_errors(client: Client) -> None:
    run(client, "HSET", "h", "sp", " 1", "inf", "inf", "nul", "\x00abc", "hex", "0x10")
    assert run(client, "HINCRBYFLOAT", "h", "f", "inf") == CommandError(
        "ERR value is NaN or Infinity"
    )
    for bad in (" 1", "", "nan", "1e5000", "1e-5000", "abc", "1\x00"):
        assert run(client, "HINCRBYFLOAT", "h", "f", bad) == NOT_FLOAT
    hash_not_float = CommandError("ERR hash value is not a float")
    assert run(client, "HINCRBYFLOAT", "h", "sp", "1") == hash_not_float
    assert run(client, "HINCRBYFLOAT", "h", "nul", "1") == hash_not_float
    assert run(client, "HINCRBYFLOAT", "h", "inf", "1") == CommandError(
        "ERR increment would produce NaN or Infinity"
    )
    assert run(client, "HINCRBYFLOAT", "h", "hex", "1") == b"17"
    assert run(client, "HINCRBYFLOAT", "h", "m", "1.18973149535723176502e+4932") != NOT_FLOAT
    assert run(client, "HINCRBYFLOAT", "h", "m", "1.18973149535723176502e+4932") == CommandError(
        "ERR increment would produce NaN or Infinity"
    )


def test_hincrbyfloat_replicates_as_hset(
    client: Client,
    propagated: list[tuple[int, list[bytes]]],
    events: list[tuple[str, bytes, bytes]],
) -> None:
    run(client, "HINCRBYFLOAT", "h", "f", "0.1")
    assert propagated == [(0, [b"HSET", b"h", b"f", b"0.1"])]
    assert events == [("n", b"new", b"h"), ("h", b"hincrbyfloat", b"h")]


# --- HRANDFIELD -----------------------------------------------------------------------------------


def test_hrandfield(client: Client) -> None:
    run(client, "HSET", "h", "a", "1", "b", "2", "c", "3")
    assert run(client, "HRANDFIELD", "h") in (b"a", b"b", b"c")
    two = run(client, "HRANDFIELD", "h", "2")
    assert isinstance(two, list) and len(set(two)) == 2  # type: ignore[arg-type]
    assert run(client, "HRANDFIELD", "h", "5") == [b"a", b"b", b"c"]
    assert run(client, "HRANDFIELD", "h", "5", "WITHVALUES") == [b"a", b"1", b"b", b"2", b"c", b"3"]
    many = run(client, "HRANDFIELD", "h", "-5", "withvalues")
    assert isinstance(many, list) and len(many) == 10
    pairs = {(many[i], many[i + 1]) for i in range(0, 10, 2)}
    assert pairs <= {(b"a", b"1"), (b"b", b"2"), (b"c", b"3")}
    client.resp = 3
    nested = run(client, "HRANDFIELD", "h", "-2", "WITHVALUES")
    assert isinstance(nested, list) and all(isinstance(p, list) and len(p) == 2 for p in nested)
    assert run(client, "HRANDFIELD", "h", "0") == []
    assert run(client, "HRANDFIELD", "nokey") is None
    assert run(client, "HRANDFIELD", "nokey", "3") == []


def test_hrandfield_errors(client: Client) -> None:
    run(client, "HSET", "h", "a", "1")
    out_of_range = CommandError("ERR value is out of range")
    assert run(client, "HRANDFIELD", "h", "x") == NOT_INTEGER
    assert run(client, "HRANDFIELD", "str", "x") == NOT_INTEGER  # parsed before the lookup
    assert run(client, "HRANDFIELD", "h", "1", "foo") == SYNTAX
    assert run(client, "HRANDFIELD", "h", "1", "withvalues", "x") == SYNTAX
    assert run(client, "HRANDFIELD", "nokey", "1", "foo") == SYNTAX
    assert run(client, "HRANDFIELD", "h", "-9223372036854775808") == CommandError(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert run(client, "HRANDFIELD", "h", "-4611686018427387904", "withvalues") == out_of_range
    assert run(client, "HRANDFIELD", "h", "4611686018427387904", "withvalues") == out_of_range
    assert run(client, "HRANDFIELD", "h", "4611686018427387904") == [b"a"]


def test_hrandfield_on_a_large_hash_survives_changes(client: Client) -> None:
    run(client, "HSET", "h", *[x for i in range(200) for x in (f"f{i}", str(i))])
    for i in range(150):
        assert run(client, "HRANDFIELD", "h") is not None
        run(client, "HDEL", "h", f"f{i}")
    run(client, "HSET", "h", "f0", "again")
    seen = set()
    for _ in range(2000):
        seen.add(run(client, "HRANDFIELD", "h"))
    assert seen == {f"f{i}".encode() for i in range(150, 200)} | {b"f0"}


# --- HSCAN ----------------------------------------------------------------------------------------


def test_hscan_of_a_listpack_is_whole(client: Client) -> None:
    run(client, "HSET", "h", "b", "1", "a", "2", "c", "3")
    assert run(client, "HSCAN", "h", "0", "COUNT", "1") == [
        b"0",
        [b"b", b"1", b"a", b"2", b"c", b"3"],
    ]
    assert run(client, "HSCAN", "h", "123", "MATCH", "a") == [b"0", [b"a", b"2"]]


def test_hscan_of_a_hashtable_visits_everything(client: Client) -> None:
    run(client, "HSET", "h", *[x for i in range(600) for x in (f"f{i}", str(i))])
    seen: dict[bytes, bytes] = {}
    cursor = b"0"
    for _ in range(1000):
        reply = run(client, "HSCAN", "h", cursor, "COUNT", "50")
        assert isinstance(reply, list)
        cursor, flat = reply  # type: ignore[assignment]
        assert isinstance(flat, list)
        for i in range(0, len(flat), 2):
            seen[flat[i]] = flat[i + 1]  # type: ignore[index]
        if cursor == b"0":
            break
    assert cursor == b"0"
    assert len(seen) == 600 and seen[b"f599"] == b"599"


def test_hscan_errors(client: Client) -> None:
    run(client, "HSET", "h", "a", "1")
    assert run(client, "HSCAN", "h", "x") == CommandError("ERR invalid cursor")
    assert run(client, "HSCAN", "nokey", "0", "foo") == [b"0", []]
    assert run(client, "HSCAN", "h", "0", "foo") == SYNTAX
    assert run(client, "HSCAN", "h", "0", "TYPE", "string") == SYNTAX
    assert run(client, "HSCAN", "h", "0", "NOVALUES") == SYNTAX  # 7.4, not 7.0


# --- encoding -------------------------------------------------------------------------------------


def test_encoding() -> None:
    h = HashValue()
    h[b"f"] = b"x" * 64
    assert encoding(h) == b"listpack"
    h[b"g"] = b"x" * 65
    assert encoding(h) == b"hashtable"
    big = HashValue()
    big.update((b"%d" % i, b"v") for i in range(512))
    assert encoding(big) == b"listpack"
    big[b"one more"] = b"v"
    assert encoding(big) == b"hashtable"


def test_a_hash_converted_to_hashtable_never_goes_back(client: Client) -> None:
    assert run(client, "HSET", "h", "f", "x" * 65) == 1
    assert run(client, "OBJECT", "ENCODING", "h") == b"hashtable"
    assert run(client, "HSET", "h", "f", "short") == 0
    assert run(client, "OBJECT", "ENCODING", "h") == b"hashtable"
    assert run(client, "HSET", "small", "f", "v") == 1
    assert run(client, "OBJECT", "ENCODING", "small") == b"listpack"
