"""List commands through the engine: replies and errors as Redis 7.0 gives them (checked
against redis-server 7.0.15), memory accounting, notifications, replication, and the
blocking commands (FIFO service, timeouts on a fake timer, MULTI, deleted/retyped keys)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import run

from respcache.commands import Blocked, Client, Engine
from respcache.commands.lists import item_size, parse_timeout
from respcache.errors import CommandError
from respcache.protocol.types import NULL_ARRAY, OK, QUEUED, Reply
from respcache.store.values import CONTAINER_OVERHEAD, ENTRY_OVERHEAD, ListValue, bytes_size

WRONGTYPE = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_INTEGER = CommandError("ERR value is not an integer or out of range")
SYNTAX = CommandError("ERR syntax error")


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


def block(client: Client, *args: str | int | bytes) -> Blocked:
    """Run a blocking command that must block, and park the client as the server does."""
    reply = run(client, *args)
    assert isinstance(reply, Blocked), reply
    client.engine.blocked_clients.park(client, reply)
    return reply


def contents(client: Client, key: str) -> Reply | Blocked:
    return run(client, "LRANGE", key, 0, -1)


# --- push / pop -------------------------------------------------------------------------------


def test_push_orders_and_lengths(client: Client) -> None:
    assert run(client, "RPUSH", "l", "a", "b") == 2
    assert run(client, "LPUSH", "l", "x", "y") == 4
    assert contents(client, "l") == [b"y", b"x", b"a", b"b"]
    assert run(client, "LLEN", "l") == 4
    assert run(client, "LLEN", "nokey") == 0


def test_pushx_only_on_existing_lists(client: Client) -> None:
    assert run(client, "LPUSHX", "l", "a") == 0
    assert run(client, "RPUSHX", "l", "a") == 0
    assert run(client, "EXISTS", "l") == 0
    run(client, "RPUSH", "l", "m")
    assert run(client, "LPUSHX", "l", "x", "y") == 3
    assert run(client, "RPUSHX", "l", "z") == 4
    assert contents(client, "l") == [b"y", b"x", b"m", b"z"]


@pytest.mark.parametrize(
    "args",
    [
        ("LPUSH", "s", "a"),
        ("RPUSH", "s", "a"),
        ("LPUSHX", "s", "a"),
        ("RPUSHX", "s", "a"),
        ("LPOP", "s"),
        ("RPOP", "s", "1"),
        ("LLEN", "s"),
        ("LRANGE", "s", "0", "-1"),
        ("LINDEX", "s", "abc"),
        ("LSET", "s", "abc", "x"),
        ("LINSERT", "s", "before", "a", "x"),
        ("LREM", "s", "0", "a"),
        ("LTRIM", "s", "0", "1"),
        ("LPOS", "s", "c"),
        ("LMOVE", "s", "l", "left", "right"),
        ("RPOPLPUSH", "s", "l"),
        ("LMPOP", "2", "nokey", "s", "left"),
        ("BLPOP", "nokey", "s", "0"),
        ("BRPOPLPUSH", "s", "dst", "0"),
        ("BLMPOP", "0", "1", "s", "left"),
    ],
)
def test_wrongtype(client: Client, args: tuple[str, ...]) -> None:
    run(client, "SET", "s", "str")
    assert run(client, *args) == WRONGTYPE


def test_pop_single_and_count(client: Client) -> None:
    run(client, "RPUSH", "l", "a", "b", "c", "a", "b", "c")
    assert run(client, "RPOP", "l", 2) == [b"c", b"b"]
    assert run(client, "LPOP", "l") == b"a"
    assert run(client, "LPOP", "l", 0) == []
    assert run(client, "LPOP", "l", 10) == [b"b", b"c", b"a"]
    assert run(client, "EXISTS", "l") == 0


def test_pop_missing_key_null_forms(client: Client) -> None:
    assert run(client, "LPOP", "nokey") is None  # $-1 / _
    assert run(client, "LPOP", "nokey", 1) is NULL_ARRAY  # *-1 / _
    assert run(client, "RPOP", "nokey", 0) is NULL_ARRAY


@pytest.mark.parametrize("count", ["-1", "abc", "1.5", "9223372036854775808"])
def test_pop_count_errors_come_before_the_key(client: Client, count: str) -> None:
    run(client, "SET", "s", "str")
    assert run(client, "LPOP", "s", count) == CommandError(
        "ERR value is out of range, must be positive"
    )


def test_pop_arity(client: Client) -> None:
    assert run(client, "LPOP", "l", "1", "2") == CommandError(
        "ERR wrong number of arguments for 'lpop' command"
    )
    assert run(client, "RPOP", "l", "1", "2") == CommandError(
        "ERR wrong number of arguments for 'rpop' command"
    )


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("0", "-1", b"abcabc"),
        ("-100", "100", b"abcabc"),
        ("3", "1", b""),
        ("-1", "-2", b""),
        ("4", "5", b"bc"),
        ("-2", "-1", b"bc"),
        ("1", "1", b"b"),
        ("9223372036854775807", "-9223372036854775808", b""),
        ("-9223372036854775808", "9223372036854775807", b"abcabc"),
    ],
)
def test_lrange(client: Client, start: str, end: str, expected: bytes) -> None:
    run(client, "RPUSH", "l", *"abcabc")
    assert run(client, "LRANGE", "l", start, end) == [bytes([b]) for b in expected]


def test_lrange_walks_from_either_end_the_same(client: Client) -> None:
    items = [str(i) for i in range(300)]
    run(client, "RPUSH", "l", *items)
    assert run(client, "LRANGE", "l", 250, 260) == [i.encode() for i in items[250:261]]
    assert run(client, "LRANGE", "l", 3, 9) == [i.encode() for i in items[3:10]]


def test_lrange_errors_and_missing(client: Client) -> None:
    assert run(client, "LRANGE", "nokey", 0, -1) == []
    run(client, "SET", "s", "x")
    assert run(client, "LRANGE", "s", "x", "1") == NOT_INTEGER  # parsed before the lookup


def test_lindex(client: Client) -> None:
    run(client, "RPUSH", "l", "a", "b", "c")
    assert run(client, "LINDEX", "l", -1) == b"c"
    assert run(client, "LINDEX", "l", 0) == b"a"
    assert run(client, "LINDEX", "l", -3) == b"a"
    assert run(client, "LINDEX", "l", 3) is None
    assert run(client, "LINDEX", "l", -4) is None
    assert run(client, "LINDEX", "l", "abc") == NOT_INTEGER
    assert run(client, "LINDEX", "nokey", "abc") is None  # looked up before parsing


# --- in-place changes -----------------------------------------------------------------------------


def test_lset(client: Client) -> None:
    assert run(client, "LSET", "nokey", "abc", "x") == CommandError("ERR no such key")
    run(client, "RPUSH", "l", "a", "b")
    assert run(client, "LSET", "l", -1, "z") == OK
    assert run(client, "LSET", "l", 2, "z") == CommandError("ERR index out of range")
    assert run(client, "LSET", "l", "abc", "z") == NOT_INTEGER
    assert contents(client, "l") == [b"a", b"z"]


def test_linsert(client: Client) -> None:
    assert run(client, "LINSERT", "l", "middle", "a", "x") == SYNTAX
    assert run(client, "LINSERT", "nokey", "before", "a", "x") == 0
    run(client, "RPUSH", "l", "a", "c", "a")
    assert run(client, "LINSERT", "l", "BEFORE", "zz", "x") == -1
    assert run(client, "LINSERT", "l", "before", "a", "x") == 4
    assert run(client, "LINSERT", "l", "After", "c", "y") == 5
    assert contents(client, "l") == [b"x", b"a", b"c", b"y", b"a"]


def test_lrem(client: Client) -> None:
    run(client, "RPUSH", "l", *"abacada")
    assert run(client, "LREM", "l", "abc", "a") == NOT_INTEGER
    assert run(client, "LREM", "l", -2, "a") == 2
    assert contents(client, "l") == [b"a", b"b", b"a", b"c", b"d"]
    assert run(client, "LREM", "l", 1, "a") == 1
    assert contents(client, "l") == [b"b", b"a", b"c", b"d"]
    assert run(client, "LREM", "l", 0, "zz") == 0
    assert run(client, "LREM", "nokey", 0, "a") == 0
    assert run(client, "LREM", "l", "-9223372036854775808", "a") == 1
    run(client, "RPUSH", "l2", "x", "x")
    assert run(client, "LREM", "l2", 0, "x") == 2
    assert run(client, "EXISTS", "l2") == 0


def test_ltrim(client: Client) -> None:
    assert run(client, "LTRIM", "nokey", 0, 1) == OK
    run(client, "RPUSH", "l", *"abcdef")
    assert run(client, "LTRIM", "l", "a", 1) == NOT_INTEGER
    assert run(client, "LTRIM", "l", 1, -2) == OK
    assert contents(client, "l") == [b"b", b"c", b"d", b"e"]
    assert run(client, "LTRIM", "l", -100, 100) == OK
    assert contents(client, "l") == [b"b", b"c", b"d", b"e"]
    assert run(client, "LTRIM", "l", 5, 1) == OK
    assert run(client, "EXISTS", "l") == 0


# --- LPOS ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), 2),
        (("rank", "2"), 6),
        (("rank", "-1"), 9),
        (("rank", "-9223372036854775808"), 9),  # C's -LONG_MIN: every match qualifies
        (("count", "0"), [2, 6, 9]),
        (("count", "2", "rank", "-1"), [9, 6]),
        (("maxlen", "3", "count", "0"), [2]),
        (("rank", "2", "maxlen", "3"), None),
        (("RANK", "1", "COUNT", "1", "MAXLEN", "0"), [2]),
        (("count", "1", "rank", "5"), []),
    ],
)
def test_lpos(client: Client, options: tuple[str, ...], expected: Reply) -> None:
    run(client, "RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "b", "a", "c")
    assert run(client, "LPOS", "l", "c", *options) == expected


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            ("rank", "0"),
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second "
            "... or use negative to start from the end of the list",
        ),
        (("rank", "abc"), "ERR value is not an integer or out of range"),
        (("count", "abc"), "ERR COUNT can't be negative"),
        (("count", "-1"), "ERR COUNT can't be negative"),
        (("maxlen", "abc"), "ERR MAXLEN can't be negative"),
        (("maxlen", "-1"), "ERR MAXLEN can't be negative"),
        (("foo",), "ERR syntax error"),
        (("rank",), "ERR syntax error"),
    ],
)
def test_lpos_errors_come_before_the_key(
    client: Client, options: tuple[str, ...], error: str
) -> None:
    run(client, "SET", "s", "x")
    assert run(client, "LPOS", "s", "c", *options) == CommandError(error)


def test_lpos_missing_and_no_match(client: Client) -> None:
    assert run(client, "LPOS", "nokey", "c") is None
    assert run(client, "LPOS", "nokey", "c", "count", 1) == []
    run(client, "RPUSH", "l", "a")
    assert run(client, "LPOS", "l", "zz") is None
    assert run(client, "LPOS", "l", "zz", "count", 5) == []


# --- moving -------------------------------------------------------------------------------------------


def test_lmove_and_rpoplpush(client: Client) -> None:
    run(client, "RPUSH", "src", "a", "b", "c")
    assert run(client, "LMOVE", "src", "dst", "left", "RIGHT") == b"a"
    assert run(client, "LMOVE", "src", "dst", "Right", "left") == b"c"
    assert contents(client, "dst") == [b"c", b"a"]
    assert run(client, "RPOPLPUSH", "src", "dst") == b"b"
    assert run(client, "EXISTS", "src") == 0
    assert contents(client, "dst") == [b"b", b"c", b"a"]
    assert run(client, "RPOPLPUSH", "dst", "dst") == b"a"  # rotation
    assert contents(client, "dst") == [b"a", b"b", b"c"]


def test_lmove_errors(client: Client) -> None:
    run(client, "SET", "s", "x")
    run(client, "RPUSH", "l", "a")
    assert run(client, "LMOVE", "l", "dst", "up", "right") == SYNTAX
    assert run(client, "LMOVE", "nokey", "l", "up", "right") == SYNTAX
    assert run(client, "LMOVE", "nokey", "s", "left", "right") is None  # dst not checked
    assert run(client, "LMOVE", "l", "s", "left", "right") == WRONGTYPE
    assert contents(client, "l") == [b"a"]  # nothing popped


def test_single_element_rotation_keeps_the_list(client: Client) -> None:
    run(client, "RPUSH", "l", "a")
    assert run(client, "LMOVE", "l", "l", "right", "left") == b"a"
    assert contents(client, "l") == [b"a"]


# --- LMPOP ------------------------------------------------------------------------------------------------


def test_lmpop(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    run(client, "RPUSH", "l", "a", "b", "c")
    assert run(client, "LMPOP", 2, "nokey", "l", "right", "count", 2) == [b"l", [b"c", b"b"]]
    assert run(client, "LMPOP", 1, "l", "LEFT", "COUNT", 10) == [b"l", [b"a"]]
    assert run(client, "LMPOP", 2, "nokey", "l", "left") is NULL_ARRAY
    assert propagated[-2:] == [(0, [b"RPOP", b"l", b"2"]), (0, [b"LPOP", b"l", b"1"])]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("0", "l", "left"), "ERR numkeys should be greater than 0"),
        (("abc", "l", "left"), "ERR numkeys should be greater than 0"),
        (("-1", "l", "left"), "ERR numkeys should be greater than 0"),
        (("1", "l", "middle"), "ERR syntax error"),
        (("2", "l", "left"), "ERR syntax error"),
        (("1", "l", "left", "count", "0"), "ERR count should be greater than 0"),
        (("1", "l", "left", "count", "abc"), "ERR count should be greater than 0"),
        (("1", "l", "left", "count", "1", "count", "2"), "ERR syntax error"),
        (("1", "l", "left", "foo"), "ERR syntax error"),
        (("9223372036854775807", "l", "left"), "ERR syntax error"),
        (("1", "l"), "ERR wrong number of arguments for 'lmpop' command"),
    ],
)
def test_lmpop_errors(client: Client, args: tuple[str, ...], error: str) -> None:
    assert run(client, "LMPOP", *args) == CommandError(error)


# --- memory, notifications, replication -------------------------------------------------------------


def test_memory_accounting_follows_every_change(client: Client, engine: Engine) -> None:
    ks = engine.keyspace

    def expected() -> int:
        value = engine.keyspace.dbs[0].data.get(b"l")
        if value is None:
            return 0
        assert isinstance(value, ListValue)
        assert value.nbytes == CONTAINER_OVERHEAD + sum(item_size(e) for e in value)
        return ENTRY_OVERHEAD + bytes_size(b"l") + value.nbytes

    base = ks.used_memory
    steps: list[tuple[str | int, ...]] = [
        ("RPUSH", "l", "a" * 40, "b", "c" * 17),
        ("LPUSH", "l", "x"),
        ("LSET", "l", 0, "y" * 100),
        ("LINSERT", "l", "before", "b", "z" * 33),
        ("LREM", "l", 1, "b"),
        ("LTRIM", "l", 0, 1),
        ("LPOP", "l"),
        ("LMOVE", "l", "l", "left", "right"),
        ("RPOP", "l"),
    ]
    for step in steps:
        run(client, *step)
        assert ks.used_memory - base == expected(), step
    assert ks.used_memory == base


def test_events_and_new_key(client: Client, engine: Engine) -> None:
    events: list[tuple[str, bytes, int, bytes]] = []
    engine.notify_hook = lambda kind, event, db, key: events.append((kind, event, db, key))
    run(client, "RPUSH", "l", "a", "b")
    run(client, "LTRIM", "l", 0, -1)
    run(client, "LMOVE", "l", "m", "left", "right")
    run(client, "RPOP", "l")
    assert events == [
        ("n", b"new", 0, b"l"),
        ("l", b"rpush", 0, b"l"),
        ("l", b"ltrim", 0, b"l"),  # even when nothing is trimmed
        ("n", b"new", 0, b"m"),
        ("l", b"rpush", 0, b"m"),
        ("l", b"lpop", 0, b"l"),
        ("l", b"rpop", 0, b"l"),
        ("g", b"del", 0, b"l"),
    ]


def test_blocking_forms_replicate_as_non_blocking(
    client: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    run(client, "RPUSH", "a", *"12345")
    propagated.clear()
    run(client, "BLPOP", "a", 0)
    run(client, "BRPOP", "nokey", "a", 0)
    run(client, "BLMPOP", 0, 1, "a", "right", "count", 10)
    run(client, "RPUSH", "a", "1", "2")
    run(client, "BLMOVE", "a", "b", "left", "right", 0)
    run(client, "BRPOPLPUSH", "a", "b", 0)
    assert [argv for _, argv in propagated] == [
        [b"LPOP", b"a"],
        [b"RPOP", b"a"],
        [b"RPOP", b"a", b"3"],
        [b"RPUSH", b"a", b"1", b"2"],
        [b"LMOVE", b"a", b"b", b"left", b"right"],
        [b"RPOPLPUSH", b"a", b"b"],
    ]


# --- timeouts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (b"0", 0.0),
        (b"1", 1.0),
        (b"0.1", 0.1),
        (b"1e-5", 0.001),  # whole milliseconds, rounded up
        (b"-0.0001", 0.0),  # rounds up to 0: forever
        (b"0x10", 16.0),  # strtold reads hexadecimal
        (b"0x1p-20", 0.001),
        (b"+1.5", 1.5),
        (b"9e15", 0.0),  # longer than any timer: forever
    ],
)
def test_parse_timeout(text: bytes, seconds: float) -> None:
    assert parse_timeout(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"abc", "ERR timeout is not a float or out of range"),
        (b"", "ERR timeout is not a float or out of range"),
        (b" 1", "ERR timeout is not a float or out of range"),
        (b"1 ", "ERR timeout is not a float or out of range"),
        (b"nan", "ERR timeout is not a float or out of range"),
        (b"1_0", "ERR timeout is not a float or out of range"),
        (b"0x", "ERR timeout is not a float or out of range"),
        (b"1e5000", "ERR timeout is not a float or out of range"),  # beyond long double
        (b"1e-5000", "ERR timeout is not a float or out of range"),
        (b"-1", "ERR timeout is negative"),
        (b"inf", "ERR timeout is negative"),  # Redis's overflowing cast
        (b"1e30", "ERR timeout is negative"),
        (b"1.5e4000", "ERR timeout is negative"),
        (b"-inf", "ERR timeout is negative"),
    ],
)
def test_parse_timeout_errors(text: bytes, error: str) -> None:
    with pytest.raises(CommandError) as info:
        parse_timeout(text)
    assert info.value.message == error


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("BLPOP", "s", "abc"), "ERR timeout is not a float or out of range"),  # before the type
        (
            ("BLMOVE", "s", "d", "left", "right", "abc"),
            "ERR timeout is not a float or out of range",
        ),
        (("BLMOVE", "s", "d", "up", "right", "abc"), "ERR syntax error"),  # where first
        (("BLMPOP", "abc", "0", "l", "left"), "ERR numkeys should be greater than 0"),
        (("BLMPOP", "abc", "1", "l", "left", "count", "0"), "ERR count should be greater than 0"),
        (("BLMPOP", "-1", "1", "l", "left"), "ERR timeout is negative"),
        (("BRPOPLPUSH", "l", "d", "abc"), "ERR timeout is not a float or out of range"),
    ],
)
def test_blocking_argument_errors(client: Client, args: tuple[str, ...], error: str) -> None:
    run(client, "SET", "s", "x")
    assert run(client, *args) == CommandError(error)


# --- blocking -----------------------------------------------------------------------------------------


def test_served_at_once_when_a_list_has_elements(client: Client) -> None:
    run(client, "RPUSH", "b", "x", "y")
    assert run(client, "BLPOP", "a", "b", 0) == [b"b", b"x"]
    assert run(client, "BRPOP", "a", "b", 0) == [b"b", b"y"]
    assert run(client, "EXISTS", "b") == 0


def test_fifo_service_and_wake_up_from_another_client(
    engine: Engine, timers: Timers, propagated: list[tuple[int, list[bytes]]]
) -> None:
    first, second, pusher = engine.new_client(), engine.new_client(), engine.new_client()
    block(first, "BLPOP", "x", 5)
    block(second, "BLPOP", "x", 5)
    assert len(timers.pending) == 2
    propagated.clear()
    assert run(pusher, "RPUSH", "x", "1", "2", "3") == 3
    assert first.pushed == [[b"x", b"1"]]
    assert second.pushed == [[b"x", b"2"]]
    assert run(pusher, "LRANGE", "x", 0, -1) == [b"3"]
    assert timers.pending == []
    assert not engine.blocked_clients.waiting
    assert [argv for _, argv in propagated] == [
        [b"RPUSH", b"x", b"1", b"2", b"3"],
        [b"LPOP", b"x"],
        [b"LPOP", b"x"],
    ]


def test_one_element_serves_only_the_first_waiter(engine: Engine, timers: Timers) -> None:
    first, second, pusher = engine.new_client(), engine.new_client(), engine.new_client()
    block(first, "BRPOP", "q", 0)
    block(second, "BRPOP", "q", 0)
    run(pusher, "LPUSH", "q", "only")
    assert first.pushed == [[b"q", b"only"]]
    assert second.blocked is not None
    run(pusher, "LPUSH", "q", "next")
    assert second.pushed == [[b"q", b"next"]]


def test_served_from_the_key_that_became_ready(engine: Engine, timers: Timers) -> None:
    """Redis serves from the ready key, in the order keys became ready (not argument order)."""
    waiter, other, pusher = engine.new_client(), engine.new_client(), engine.new_client()
    block(waiter, "BLPOP", "a", "b", 0)
    block(other, "BLPOP", "b", 0)
    run(pusher, "MULTI")
    run(pusher, "RPUSH", "b", "x")
    run(pusher, "RPUSH", "a", "y")
    run(pusher, "RPUSH", "b", "z")
    assert run(pusher, "EXEC") == [1, 1, 2]
    assert waiter.pushed == [[b"b", b"x"]]
    assert other.pushed == [[b"b", b"z"]]
    assert run(pusher, "LRANGE", "a", 0, -1) == [b"y"]


def test_timeout_replies_null_array(engine: Engine, timers: Timers) -> None:
    c = engine.new_client()
    for args in (
        ("BLPOP", "q", "0.05"),
        ("BRPOPLPUSH", "q", "d", "0.05"),
        ("BLMOVE", "q", "d", "left", "left", "0.05"),
        ("BLMPOP", "0.05", "1", "q", "left"),
    ):
        blocked = block(c, *args)
        assert blocked.timeout == pytest.approx(0.05)
        assert timers.pending[0][0] == pytest.approx(0.05)
        timers.fire_all()
        assert c.pushed[-1] is NULL_ARRAY
        assert c.blocked is None
    assert not engine.blocked_clients.waiting


def test_zero_timeout_waits_forever(engine: Engine, timers: Timers) -> None:
    c = engine.new_client()
    block(c, "BLPOP", "q", 0)
    assert timers.pending == []
    assert c.blocked is not None


def test_blocking_inside_multi_acts_as_timeout(client: Client) -> None:
    run(client, "MULTI")
    for args in (
        ("BLPOP", "nokey", 0),
        ("BLMOVE", "nokey", "x", "left", "left", 0),
        ("BRPOPLPUSH", "nokey", "x", 0),
        ("BLMPOP", 0, 1, "nokey", "left"),
        ("BLPOP", "nokey", "abc"),
    ):
        assert run(client, *args) == QUEUED
    assert run(client, "EXEC") == [
        NULL_ARRAY,
        None,
        None,
        NULL_ARRAY,
        CommandError("ERR timeout is not a float or out of range"),
    ]
    assert client.blocked is None


def test_blocked_client_stays_blocked_when_key_is_retyped_or_deleted(
    engine: Engine, timers: Timers
) -> None:
    waiter, other = engine.new_client(), engine.new_client()
    block(waiter, "BLPOP", "q", 0)
    run(other, "SET", "q", "str")
    run(other, "DEL", "q")
    run(other, "MULTI")
    run(other, "RPUSH", "q", "1")
    run(other, "DEL", "q")
    run(other, "EXEC")
    assert waiter.pushed == []
    assert waiter.blocked is not None
    run(other, "RPUSH", "q", "v")
    assert waiter.pushed == [[b"q", b"v"]]


def test_blmove_with_wrong_destination_type_is_unblocked_with_the_error(
    engine: Engine, timers: Timers
) -> None:
    waiter, other = engine.new_client(), engine.new_client()
    block(waiter, "BLMOVE", "q", "dst", "left", "left", 0)
    run(other, "SET", "dst", "str")
    run(other, "LPUSH", "q", "1")
    assert waiter.pushed == [WRONGTYPE]
    assert waiter.blocked is None
    assert run(other, "LRANGE", "q", 0, -1) == [b"1"]


def test_served_moves_and_their_replication(
    engine: Engine, timers: Timers, propagated: list[tuple[int, list[bytes]]]
) -> None:
    a, b, pusher = engine.new_client(), engine.new_client(), engine.new_client()
    block(a, "BRPOPLPUSH", "src", "dst", 0)
    block(b, "BLMOVE", "src", "dst", "left", "right", 0)
    propagated.clear()
    run(pusher, "RPUSH", "src", "1", "2", "3")
    assert a.pushed == [b"3"]
    assert b.pushed == [b"1"]
    assert run(pusher, "LRANGE", "dst", 0, -1) == [b"3", b"1"]
    assert [argv for _, argv in propagated] == [
        [b"RPUSH", b"src", b"1", b"2", b"3"],
        [b"RPOPLPUSH", b"src", b"dst"],
        [b"LMOVE", b"src", b"dst", b"LEFT", b"RIGHT"],
    ]


def test_blmpop_served_with_count_then_next_waiter(engine: Engine, timers: Timers) -> None:
    a, b, pusher = engine.new_client(), engine.new_client(), engine.new_client()
    block(a, "BLMPOP", 0, 1, "y", "left", "count", 2)
    block(b, "BLPOP", "y", 0)
    run(pusher, "RPUSH", "y", "1", "2", "3")
    assert a.pushed == [[b"y", [b"1", b"2"]]]
    assert b.pushed == [[b"y", b"3"]]


def test_moved_element_wakes_clients_blocked_on_the_destination(
    engine: Engine, timers: Timers
) -> None:
    mover, reader, pusher = engine.new_client(), engine.new_client(), engine.new_client()
    block(mover, "BLMOVE", "a", "b", "left", "left", 0)
    block(reader, "BLPOP", "b", 0)
    run(pusher, "RPUSH", "a", "v")
    assert mover.pushed == [b"v"]
    assert reader.pushed == [[b"b", b"v"]]


def test_duplicate_keys_block_once(engine: Engine, timers: Timers) -> None:
    c = engine.new_client()
    blocked = block(c, "BLPOP", "q", "q", 0)
    assert blocked.keys == [b"q"]
    run(engine.new_client(), "RPUSH", "q", "1", "2")
    assert c.pushed == [[b"q", b"1"]]


def test_client_unblock_and_disconnect(engine: Engine, timers: Timers) -> None:
    c, admin = engine.new_client(), engine.new_client()
    block(c, "BLPOP", "q", 10)
    assert run(admin, "CLIENT", "UNBLOCK", c.id) == 1
    assert c.pushed == [NULL_ARRAY]
    block(c, "BLPOP", "q", 10)
    engine.remove_client(c)
    assert not engine.blocked_clients.waiting
    assert timers.pending == []


def test_blocked_in_another_db_is_served_in_its_db(engine: Engine, timers: Timers) -> None:
    waiter, pusher = engine.new_client(), engine.new_client()
    run(waiter, "SELECT", 2)
    block(waiter, "BLPOP", "q", 0)
    run(pusher, "RPUSH", "q", "db0")
    assert waiter.pushed == []
    run(pusher, "SELECT", 2)
    run(pusher, "RPUSH", "q", "db2")
    assert waiter.pushed == [[b"q", b"db2"]]


def test_a_blocking_command_is_counted_once(engine: Engine, timers: Timers) -> None:
    """As Redis: once when served (however many times it was retried), once on timeout."""
    waiter, other = engine.new_client(), engine.new_client()
    block(waiter, "BLPOP", "cs", 0)
    run(other, "SET", "cs", "str")  # retried, still blocked
    run(other, "DEL", "cs")
    run(other, "RPUSH", "cs", "a")
    assert waiter.pushed == [[b"cs", b"a"]]
    block(waiter, "BLPOP", "cs", 1)
    timers.fire_all()
    assert engine.stats.commands["blpop"].calls == 2
