"""SORT and SORT_RO; expected replies read from a real redis-server 7.0.15."""

from __future__ import annotations

from conftest import run

from respcache.commands import Client
from respcache.errors import CommandError


def setup(client: Client) -> None:
    run(client, "RPUSH", "l", 3, 1, 2, 10, "1.5", -1, 2)
    run(client, "MSET", "w_3", 30, "w_1", 10, "w_2", -5, "w_10", 100)
    run(client, "HSET", "h_1", "f", 9, "g", "a")
    run(client, "HSET", "h_2", "f", 1)


def test_numeric_alpha_limit(client: Client) -> None:
    setup(client)
    assert run(client, "SORT", "l") == [b"-1", b"1", b"1.5", b"2", b"2", b"3", b"10"]
    assert run(client, "SORT", "l", "ALPHA", "DESC") == [
        b"3", b"2", b"2", b"10", b"1.5", b"1", b"-1"
    ]  # fmt: skip
    assert run(client, "SORT", "l", "LIMIT", 1, 3) == [b"1", b"1.5", b"2"]
    assert run(client, "SORT", "l", "LIMIT", 10, 1) == []
    assert run(client, "SORT", "l", "BY", "nosort", "DESC", "LIMIT", 1, 2) == [b"-1", b"1.5"]


def test_by_and_get(client: Client) -> None:
    setup(client)
    assert run(client, "SORT", "l", "BY", "w_*") == [
        b"2", b"2", b"-1", b"1.5", b"1", b"3", b"10"
    ]  # fmt: skip
    assert run(client, "SORT", "l", "BY", "h_*->f", "GET", "h_*->g", "GET", "#", "LIMIT", 5, 2) == [
        None, b"2", b"a", b"1"
    ]  # fmt: skip


def test_store_is_a_replicated_write(client: Client, propagated: list) -> None:
    setup(client)
    propagated.clear()
    assert run(client, "SORT", "l", "BY", "w_*", "GET", "w_*", "STORE", "dst") == 7
    assert run(client, "LRANGE", "dst", 0, -1) == [
        b"-5", b"-5", b"", b"", b"10", b"30", b"100"
    ]  # fmt: skip
    assert run(client, "SORT", "nokey", "STORE", "dst") == 0
    assert run(client, "EXISTS", "dst") == 0
    run(client, "SORT", "l")
    assert [argv[0] for _db, argv in propagated] == [b"SORT", b"SORT"]


def test_sets_zsets_and_errors(client: Client) -> None:
    run(client, "SADD", "s", 5, 3, 9, 1)
    assert run(client, "SORT", "s", "BY", "nosort") == [b"1", b"3", b"5", b"9"]
    run(client, "ZADD", "z", 1, "c", 2, "b", 3, "a")
    assert run(client, "SORT", "z", "BY", "nosort", "DESC") == [b"a", b"b", b"c"]
    assert run(client, "OBJECT", "ENCODING", "z") == b"skiplist"
    run(client, "RPUSH", "bad", 1, "x")
    assert run(client, "SORT", "bad") == CommandError(
        "ERR One or more scores can't be converted into double"
    )
    assert run(client, "SORT", "bad", "ALPHA") == [b"1", b"x"]
    assert run(client, "SORT", "bad", "foo") == CommandError("ERR syntax error")
    assert run(client, "SORT_RO", "bad", "STORE", "x") == CommandError("ERR syntax error")
    run(client, "SET", "str", "x")
    assert run(client, "SORT", "str") == CommandError(
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    )


def test_command_getkeys_finds_the_store_key(client: Client) -> None:
    assert run(client, "COMMAND", "GETKEYS", "SORT", "abc", "STORE", "def") == [b"abc", b"def"]
    assert run(
        client, "COMMAND", "GETKEYS", "SORT", "abc", "GET", "store", "store", "x", "store", "y"
    ) == [b"abc", b"y"]
    assert run(client, "COMMAND", "GETKEYS", "SORT_RO", "abc", "STORE", "def") == [b"abc"]


def test_alpha_by_ties_with_limit_keep_redis_partial_quicksort_order(client: Client) -> None:
    # BY + LIMIT: Redis sorts with its partial quicksort (src/pqsort.c), which is not
    # stable; equal (here missing or equal) weights come out in its order, not the list's.
    run(client, "RPUSH", "sl", 3, 1, 2, "b", "a", 10, 1, 2, 3, "a", "b", "c", "d", "e", "f")
    assert run(client, "SORT", "sl", "BY", "nokey_*", "ALPHA", "LIMIT", 0, 5) == [
        b"f", b"1", b"2", b"b", b"a"
    ]  # fmt: skip
    assert run(client, "SORT", "sl", "BY", "nokey_*", "ALPHA", "DESC", "LIMIT", 1, 5) == [
        b"1", b"2", b"b", b"a", b"10"
    ]  # fmt: skip
    run(client, "MSET", "w_1", 5, "w_2", 5)
    assert run(client, "SORT", "sl", "BY", "w_*", "ALPHA", "LIMIT", 0, 3) == [b"3", b"c", b"d"]
    # The whole range: a stable sort, as glibc's qsort.
    assert run(client, "SORT", "sl", "BY", "nokey_*", "ALPHA") == [
        b"3", b"1", b"2", b"b", b"a", b"10", b"1", b"2", b"3", b"a", b"b", b"c", b"d", b"e", b"f"
    ]  # fmt: skip


def test_a_constant_by_skips_sorting_even_before_a_pattern(client: Client) -> None:
    # Redis sets "dontsort" at a BY without "*" and never clears it: the last BY is the
    # pattern, but nothing is sorted.
    run(client, "LPUSH", "k1", 1, 2)
    run(client, "MSET", "w_1", 1, "w_2", 2)
    assert run(client, "SORT", "k1", "BY", "nosort", "BY", "w_*") == [b"2", b"1"]
    assert run(client, "SORT", "k1", "BY", "w_*", "BY", "nosort", "DESC") == [b"1", b"2"]
    assert run(client, "SORT", "k1", "BY", "w_*", "DESC") == [b"2", b"1"]
