"""Streams through the engine: replies and errors as Redis 7.0.15 gives them (checked
against redis-server 7.0.15), the node structure approximate trimming sees, memory
accounting, notifications, what is replicated, and blocking XREAD/XREADGROUP."""

from __future__ import annotations

import pytest
from conftest import Clock, run
from test_lists import Timers, block

from respcache.commands import Blocked, Client, Engine
from respcache.commands.streams import StreamWait, parse_id
from respcache.errors import CommandError
from respcache.protocol.types import NULL_ARRAY, OK, QUEUED
from respcache.store.stream import (
    MAX_ID,
    Nack,
    StreamGroups,
    StreamValue,
    lp_int_size,
    lp_str_size,
    make_id,
)
from respcache.store.values import entry_size

WRONGTYPE = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = CommandError("ERR syntax error")
INVALID_ID = CommandError("ERR Invalid stream ID specified as stream command argument")
NOW_MS = 1_700_000_000_000


@pytest.fixture
def timers(engine: Engine) -> Timers:
    timers = Timers()
    engine.call_later = timers.call_later
    return timers


@pytest.fixture
def events(engine: Engine) -> list[tuple[str, bytes, bytes]]:
    out: list[tuple[str, bytes, bytes]] = []
    engine.notify_hook = lambda kind, event, db, key: out.append((kind, event, key))
    return out


@pytest.fixture
def propagated(engine: Engine) -> list[list[bytes]]:
    out: list[list[bytes]] = []
    engine.propagator = lambda db, commands: out.extend(commands)
    return out


def check_memory(engine: Engine) -> None:
    ks = engine.keyspace
    total = 0
    for db in ks.dbs:
        for key, value in db.data.items():
            total += entry_size(key, value)
            if type(value) is StreamValue:
                assert value.nbytes == value.estimate()
    assert ks.used_memory == total


def stream(client: Client, key: str = "s") -> StreamValue:
    value = client.db.data[key.encode()]
    assert type(value) is StreamValue
    return value


def fill(client: Client, n: int, key: str = "s", start: int = 1) -> None:
    for i in range(start, start + n):
        assert run(client, "XADD", key, f"{i}-0", "f", "v") == f"{i}-0".encode()


# --- the value -------------------------------------------------------------------------------


def test_listpack_sizes_follow_listpack_c() -> None:
    assert lp_int_size(0) == 2 and lp_int_size(127) == 2
    assert lp_int_size(128) == 3 and lp_int_size(-4096) == 3
    assert lp_int_size(40000) == 5 and lp_int_size(1 << 40) == 10
    assert lp_str_size(b"12") == lp_int_size(12)  # integers are stored as integers
    assert lp_str_size(b"012") == 5  # not canonical: a 3-byte string
    assert lp_str_size(b"x" * 63) == 65 and lp_str_size(b"x" * 64) == 67
    assert lp_str_size(b"x" * 200) == 204  # 2-byte header, 2-byte back-length


def test_nodes_close_at_max_entries_counting_deleted(client: Client) -> None:
    run(client, "CONFIG", "SET", "stream-node-max-entries", 3)
    fill(client, 3)
    run(client, "XDEL", "s", "2-0")
    fill(client, 1, start=4)
    s = stream(client)
    assert [len(n.ids) for n in s.nodes] == [3, 1]
    assert s.nodes[0].count == 2 and s.nodes[0].deleted == 1


def test_nodes_close_at_max_bytes(client: Client) -> None:
    run(client, "CONFIG", "SET", "stream-node-max-bytes", 100)
    for i in range(1, 6):
        run(client, "XADD", "s", f"{i}-0", "f", "x" * 30)
    # master: 7 + count + deleted + 1 field + "f" + 0 = 17; each entry 2+2+2+32+2 = 40
    assert [len(n.ids) for n in stream(client).nodes] == [2, 2, 1]


def test_approximate_trim_removes_whole_nodes_only(client: Client) -> None:
    run(client, "CONFIG", "SET", "stream-node-max-entries", 10)
    fill(client, 95)
    assert run(client, "XTRIM", "s", "MAXLEN", "~", 52) == 40
    assert run(client, "XLEN", "s") == 55
    assert run(client, "XTRIM", "s", "MAXLEN", 52) == 3
    assert run(client, "XLEN", "s") == 52
    assert run(client, "XTRIM", "s", "MINID", "~", "60-0") == 7  # node 41..50 kept 7 live
    assert run(client, "XRANGE", "s", "-", "+", "COUNT", 1) == [[b"51-0", [b"f", b"v"]]]


def test_trim_limit(client: Client) -> None:
    run(client, "CONFIG", "SET", "stream-node-max-entries", 10)
    fill(client, 100)
    assert run(client, "XTRIM", "s", "MAXLEN", "~", 0, "LIMIT", 25) == 20
    assert run(client, "XTRIM", "s", "MAXLEN", 0, "LIMIT", 5) == CommandError(
        "ERR syntax error, LIMIT cannot be used without the special ~ option"
    )


def test_radix_tree_counts(client: Client) -> None:
    run(client, "XADD", "s", "1-0", "a", "b")
    info = run(client, "XINFO", "STREAM", "s")
    assert isinstance(info, dict)
    assert info[b"radix-tree-keys"] == 1 and info[b"radix-tree-nodes"] == 2


def test_parse_id_forms() -> None:
    assert parse_id(b"5") == (make_id(5, 0), True)
    assert parse_id(b"5", 7) == (make_id(5, 7), True)
    assert parse_id(b"5-*", seq_star=True) == (make_id(5, 0), False)
    assert parse_id(b"-") == (0, True) and parse_id(b"+") == (MAX_ID, True)
    assert parse_id(b"+5-1") == (make_id(5, 1), True)  # strtoull's leniency
    for bad in (b"", b"a-1", b"1-a", b"-1", b"1--1", b"18446744073709551616"):
        with pytest.raises(CommandError):
            parse_id(bad)
    with pytest.raises(CommandError):
        parse_id(b"-", strict=True)


# --- XADD --------------------------------------------------------------------------------------


def test_xadd_ids(client: Client, clock: Clock) -> None:
    assert run(client, "XADD", "s", "*", "a", 1) == b"%d-0" % NOW_MS
    assert run(client, "XADD", "s", "*", "a", 1) == b"%d-1" % NOW_MS
    clock.advance(0.002)
    assert run(client, "XADD", "s", "*", "a", 1) == b"%d-0" % (NOW_MS + 2)
    assert run(client, "XADD", "s", f"{NOW_MS + 2}-*", "a", 1) == b"%d-1" % (NOW_MS + 2)
    assert run(client, "XADD", "s", f"{NOW_MS + 5}-*", "a", 1) == b"%d-0" % (NOW_MS + 5)
    assert run(client, "XADD", "s", "1-1", "a", 1) == CommandError(
        "ERR The ID specified in XADD is equal or smaller than the target stream top item"
    )


def test_xadd_errors(client: Client) -> None:
    assert run(client, "XADD", "s", "0-0", "a", 1) == CommandError(
        "ERR The ID specified in XADD must be greater than 0-0"
    )
    assert run(client, "XADD", "s", "1-1", "a") == CommandError(
        "ERR wrong number of arguments for 'xadd' command"
    )
    assert run(client, "XADD", "s", "bad", "a", 1) == INVALID_ID
    assert run(client, "XADD", "s", "MAXLEN", -1, "*", "a", 1) == CommandError(
        "ERR The MAXLEN argument must be >= 0."
    )
    assert run(client, "XADD", "s", "MAXLEN", 1, "MINID", 1, "*", "a", 1) == CommandError(
        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
    )
    assert run(client, "XADD", "s", "LIMIT", 1, "*", "a", 1) == CommandError(
        "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
    )
    assert run(client, "XADD", "s", "NOMKSTREAM", "*", "a", 1) is None
    assert not client.db.data
    run(client, "SET", "str", "x")
    assert run(client, "XADD", "str", "*", "a", 1) == WRONGTYPE
    run(client, "XADD", "s", "18446744073709551615-18446744073709551615", "a", 1)
    assert run(client, "XADD", "s", "*", "a", 1) == CommandError(
        "ERR The stream has exhausted the last possible ID, unable to add more items"
    )


def test_xadd_propagates_the_generated_id_and_the_trim_result(
    client: Client, propagated: list[list[bytes]]
) -> None:
    run(client, "CONFIG", "SET", "stream-node-max-entries", 2)
    fill(client, 4)
    propagated.clear()
    reply = run(client, "XADD", "s", "MAXLEN", "~", 1, "*", "a", "b")
    assert isinstance(reply, bytes)
    assert propagated == [[b"XADD", b"s", b"MAXLEN", b"=", b"1", reply, b"a", b"b"]]
    fill(client, 4, key="t")
    propagated.clear()
    run(client, "XADD", "t", "MINID", "~", "4", "10-*", "a", "b")
    assert propagated == [[b"XADD", b"t", b"MINID", b"=", b"3-0", b"10-0", b"a", b"b"]]


def test_xadd_trims_and_notifies(
    client: Client, events: list[tuple[str, bytes, bytes]], engine: Engine
) -> None:
    run(client, "XADD", "s", "1-1", "a", 1)
    run(client, "XADD", "s", "MAXLEN", 1, "2-1", "a", 1)
    assert events == [
        ("n", b"new", b"s"),
        ("t", b"xadd", b"s"),
        ("t", b"xadd", b"s"),
        ("t", b"xtrim", b"s"),
    ]
    assert run(client, "XLEN", "s") == 1
    check_memory(engine)


def test_type_and_encoding(client: Client) -> None:
    run(client, "XADD", "s", "1-1", "a", 1)
    assert run(client, "TYPE", "s") == "stream"
    assert run(client, "OBJECT", "ENCODING", "s") == b"stream"
    assert run(client, "SCAN", 0, "TYPE", "stream") == [b"0", [b"s"]]


# --- reading ------------------------------------------------------------------------------------


def test_xrange_bounds_and_count(client: Client) -> None:
    fill(client, 5)
    assert run(client, "XRANGE", "s", "(1-0", "(3-0") == [[b"2-0", [b"f", b"v"]]]
    assert run(client, "XRANGE", "s", "2", "3") == [[b"2-0", [b"f", b"v"]], [b"3-0", [b"f", b"v"]]]
    assert run(client, "XREVRANGE", "s", "+", "-", "COUNT", 2) == [
        [b"5-0", [b"f", b"v"]],
        [b"4-0", [b"f", b"v"]],
    ]
    assert run(client, "XRANGE", "s", "-", "+", "COUNT", 0) is NULL_ARRAY
    assert run(client, "XRANGE", "s", "-", "+", "COUNT", -3) is NULL_ARRAY
    assert run(client, "XRANGE", "nokey", "-", "+") == []
    assert run(client, "XRANGE", "s", "(-", "+") == INVALID_ID
    assert run(client, "XRANGE", "s", "(18446744073709551615-18446744073709551615", "+") == (
        CommandError("ERR invalid start ID for the interval")
    )
    assert run(client, "XRANGE", "s", "-", "(0-0") == CommandError(
        "ERR invalid end ID for the interval"
    )
    assert run(client, "XRANGE", "s", "-", "+", "LIMIT") == SYNTAX


def test_xdel_and_first_id(client: Client, engine: Engine) -> None:
    fill(client, 3)
    assert run(client, "XDEL", "s", "1-0", "1-0", "9-0") == 1
    info = run(client, "XINFO", "STREAM", "s")
    assert isinstance(info, dict)
    assert info[b"recorded-first-entry-id"] == b"2-0"
    assert info[b"max-deleted-entry-id"] == b"1-0"
    assert run(client, "XDEL", "s", "2-0", "3-0") == 2
    assert run(client, "XLEN", "s") == 0
    assert run(client, "EXISTS", "s") == 1  # an empty stream stays
    assert run(client, "XDEL", "s", "bad") == INVALID_ID
    check_memory(engine)


def test_xread(client: Client) -> None:
    fill(client, 3)
    fill(client, 1, key="t", start=7)
    assert run(client, "XREAD", "COUNT", 1, "STREAMS", "s", "t", "1-0", "0") == [
        [b"s", [[b"2-0", [b"f", b"v"]]]],
        [b"t", [[b"7-0", [b"f", b"v"]]]],
    ]
    assert run(client, "XREAD", "STREAMS", "s", "$") is NULL_ARRAY
    assert run(client, "XREAD", "STREAMS", "s", "t", "0") == CommandError(
        "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
    )
    assert run(client, "XREAD", "STREAMS", "s", ">") == CommandError(
        "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
        "<consumer> option."
    )
    assert run(client, "XREAD", "BLOCK", -1, "STREAMS", "s", "$") == CommandError(
        "ERR timeout is negative"
    )
    client.resp = 3
    assert run(client, "XREAD", "STREAMS", "s", "2") == {b"s": [[b"3-0", [b"f", b"v"]]]}


# --- consumer groups -----------------------------------------------------------------------------


def test_group_lifecycle(client: Client, clock: Clock, engine: Engine) -> None:
    assert run(client, "XGROUP", "CREATE", "s", "g", "$") == CommandError(
        "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
        "to use the MKSTREAM option to create an empty stream automatically."
    )
    assert run(client, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM") == OK
    assert run(client, "XGROUP", "CREATE", "s", "g", "$") == CommandError(
        "BUSYGROUP Consumer Group name already exists"
    )
    fill(client, 4)
    assert run(client, "XREADGROUP", "GROUP", "g", "c1", "COUNT", 2, "STREAMS", "s", ">") == [
        [b"s", [[b"1-0", [b"f", b"v"]], [b"2-0", [b"f", b"v"]]]]
    ]
    clock.advance(1)
    run(client, "XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">")
    assert run(client, "XPENDING", "s", "g") == [
        4,
        b"1-0",
        b"4-0",
        [[b"c1", b"2"], [b"c2", b"2"]],
    ]
    clock.advance(1)
    assert run(client, "XPENDING", "s", "g", "IDLE", 1500, "-", "+", 10) == [
        [b"1-0", b"c1", 2000, 1],
        [b"2-0", b"c1", 2000, 1],
    ]
    # history: the consumer's own PEL, delivery counts go up
    assert run(client, "XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0") == [
        [b"s", [[b"1-0", [b"f", b"v"]], [b"2-0", [b"f", b"v"]]]]
    ]
    assert run(client, "XACK", "s", "g", "1-0", "1-0", "3-0") == 2
    run(client, "XDEL", "s", "2-0")
    assert run(client, "XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0") == [
        [b"s", [[b"2-0", NULL_ARRAY]]]
    ]
    groups = run(client, "XINFO", "GROUPS", "s")
    assert groups == [
        {
            b"name": b"g",
            b"consumers": 2,
            b"pending": 2,
            b"last-delivered-id": b"4-0",
            b"entries-read": 4,
            b"lag": 0,
        }
    ]
    assert run(client, "XGROUP", "DELCONSUMER", "s", "g", "c2") == 1
    assert run(client, "XGROUP", "CREATECONSUMER", "s", "g", "c2") == 1
    assert run(client, "XGROUP", "CREATECONSUMER", "s", "g", "c2") == 0
    assert run(client, "XGROUP", "DESTROY", "s", "g") == 1
    assert run(client, "XGROUP", "DESTROY", "s", "g") == 0
    assert run(client, "XGROUP", "SETID", "s", "g", "0") == CommandError(
        "NOGROUP No such consumer group 'g' for key name 's'"
    )
    check_memory(engine)


def test_lag_with_tombstones(client: Client) -> None:
    fill(client, 5)
    run(client, "XGROUP", "CREATE", "s", "g", "0")
    run(client, "XREADGROUP", "GROUP", "g", "c", "COUNT", 1, "STREAMS", "s", ">")
    run(client, "XDEL", "s", "3-0")
    info = run(client, "XINFO", "GROUPS", "s")
    assert isinstance(info, list) and isinstance(info[0], dict)
    assert info[0][b"lag"] is None and info[0][b"entries-read"] == 1
    run(client, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    info = run(client, "XINFO", "GROUPS", "s")
    assert isinstance(info, list) and isinstance(info[0], dict)
    assert info[0][b"lag"] == 0 and info[0][b"entries-read"] == 5


def test_xreadgroup_errors(client: Client) -> None:
    fill(client, 1)
    assert run(client, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">") == CommandError(
        "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option"
    )
    run(client, "XGROUP", "CREATE", "s", "g", "0")
    assert run(client, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$") == CommandError(
        "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history "
        "of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ "
        "ID would just return an empty result set."
    )
    assert run(client, "XREADGROUP", "COUNT", 1, "NOACK", "STREAMS", "s", ">") == CommandError(
        "ERR Missing GROUP option for XREADGROUP"
    )
    assert run(client, "XREAD", "GROUP", "g", "c", "STREAMS", "s", ">") == CommandError(
        "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
    )


def test_xreadgroup_propagates_xclaims(
    client: Client, propagated: list[list[bytes]], clock: Clock
) -> None:
    fill(client, 2)
    run(client, "XGROUP", "CREATE", "s", "g", "0")
    propagated.clear()
    run(client, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    t = b"%d" % NOW_MS
    assert propagated == [
        [b"XCLAIM", b"s", b"g", b"c", b"0", b"1-0", b"TIME", t, b"RETRYCOUNT", b"1",
         b"FORCE", b"JUSTID", b"LASTID", b"1-0"],
        [b"XCLAIM", b"s", b"g", b"c", b"0", b"2-0", b"TIME", t, b"RETRYCOUNT", b"1",
         b"FORCE", b"JUSTID", b"LASTID", b"2-0"],
        [b"XGROUP", b"SETID", b"s", b"g", b"2-0", b"ENTRIESREAD", b"2"],
    ]  # fmt: skip
    fill(client, 1, start=3)
    propagated.clear()
    run(client, "XREADGROUP", "GROUP", "g", "n", "NOACK", "STREAMS", "s", ">")
    assert propagated == [
        [b"XGROUP", b"CREATECONSUMER", b"s", b"g", b"n"],
        [b"XGROUP", b"SETID", b"s", b"g", b"3-0", b"ENTRIESREAD", b"3"],
    ]


def test_replica_applies_propagated_group_traffic(engine: Engine, client: Client) -> None:
    """What a leader propagates rebuilds the same groups on a follower."""
    follower = Engine(engine.config)
    follower.keyspace.clock = engine.keyspace.clock
    link = follower.new_client()
    link.is_master = True
    sent: list[list[bytes]] = []
    engine.propagator = lambda db, commands: sent.extend(commands)
    fill(client, 6)
    run(client, "XGROUP", "CREATE", "s", "g", "0")
    run(client, "XREADGROUP", "GROUP", "g", "a", "COUNT", 2, "STREAMS", "s", ">")
    run(client, "XREADGROUP", "GROUP", "g", "b", "NOACK", "COUNT", 1, "STREAMS", "s", ">")
    run(client, "XCLAIM", "s", "g", "b", 0, "1-0")
    run(client, "XACK", "s", "g", "2-0")
    run(client, "XDEL", "s", "1-0")
    run(client, "XAUTOCLAIM", "s", "g", "c", 0, 0)
    run(client, "XADD", "s", "MAXLEN", "~", 2, "*", "x", "y")
    for argv in sent:
        reply = run(link, *argv)
        assert not isinstance(reply, CommandError), (argv, reply)
    a = run(client, "XINFO", "STREAM", "s", "FULL")
    b = run(link, "XINFO", "STREAM", "s", "FULL")
    assert a == b


def test_xclaim_and_xautoclaim(client: Client, clock: Clock) -> None:
    fill(client, 3)
    run(client, "XGROUP", "CREATE", "s", "g", "0")
    run(client, "XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">")
    clock.advance(1)
    assert run(client, "XCLAIM", "s", "g", "b", 5000, "1-0") == []
    assert run(client, "XCLAIM", "s", "g", "b", 500, "1-0", "JUSTID") == [b"1-0"]
    assert run(client, "XCLAIM", "s", "g", "b", 0, "9-0", "FORCE") == []
    assert run(client, "XCLAIM", "s", "g", "b", 0, "2-0", "RETRYCOUNT", 7, "IDLE", 100) == [
        [b"2-0", [b"f", b"v"]]
    ]
    assert run(client, "XPENDING", "s", "g", "-", "+", 10, "b") == [
        [b"1-0", b"b", 0, 1],
        [b"2-0", b"b", 100, 7],
    ]
    assert run(client, "XCLAIM", "s", "g", "b", 0, "1-0", "BOGUS") == CommandError(
        "ERR Unrecognized XCLAIM option 'BOGUS'"
    )
    assert run(client, "XCLAIM", "s", "g", "b", "x", "1-0") == CommandError(
        "ERR Invalid min-idle-time argument for XCLAIM"
    )
    run(client, "XDEL", "s", "2-0")
    assert run(client, "XAUTOCLAIM", "s", "g", "c", 0, 0, "COUNT", 1) == [
        b"2-0",
        [[b"1-0", [b"f", b"v"]]],
        [],
    ]
    assert run(client, "XAUTOCLAIM", "s", "g", "c", 0, "2-0", "JUSTID") == [
        b"0-0",
        [b"3-0"],
        [b"2-0"],
    ]
    assert run(client, "XAUTOCLAIM", "s", "g", "c", 0, 0, "COUNT", 0) == CommandError(
        "ERR COUNT must be > 0"
    )


def test_xsetid(client: Client) -> None:
    fill(client, 3)
    assert run(client, "XSETID", "s", "2-0") == CommandError(
        "ERR The ID specified in XSETID is smaller than the target stream top item"
    )
    assert run(client, "XSETID", "s", "9-0", "ENTRIESADDED", 2) == CommandError(
        "ERR The entries_added specified in XSETID is smaller than the target stream length"
    )
    assert run(client, "XSETID", "s", "9-0", "MAXDELETEDID", "10-0") == CommandError(
        "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
    )
    assert run(client, "XSETID", "s", "9-0", "ENTRIESADDED", 10, "MAXDELETEDID", "8-0") == OK
    info = run(client, "XINFO", "STREAM", "s")
    assert isinstance(info, dict)
    assert info[b"last-generated-id"] == b"9-0" and info[b"entries-added"] == 10
    assert run(client, "XSETID", "nokey", "1-0") == CommandError("ERR no such key")


def test_xinfo_stream_full(client: Client) -> None:
    fill(client, 2)
    run(client, "XGROUP", "CREATE", "s", "g", "0")
    run(client, "XREADGROUP", "GROUP", "g", "c", "COUNT", 1, "STREAMS", "s", ">")
    assert run(client, "XINFO", "STREAM", "s", "FULL", "COUNT", 1) == {
        b"length": 2,
        b"radix-tree-keys": 1,
        b"radix-tree-nodes": 2,
        b"last-generated-id": b"2-0",
        b"max-deleted-entry-id": b"0-0",
        b"entries-added": 2,
        b"recorded-first-entry-id": b"1-0",
        b"entries": [[b"1-0", [b"f", b"v"]]],
        b"groups": [
            {
                b"name": b"g",
                b"last-delivered-id": b"1-0",
                b"entries-read": 1,
                b"lag": 1,
                b"pel-count": 1,
                b"pending": [[b"1-0", b"c", NOW_MS, 1]],
                b"consumers": [
                    {
                        b"name": b"c",
                        b"seen-time": NOW_MS,
                        b"pel-count": 1,
                        b"pending": [[b"1-0", NOW_MS, 1]],
                    }
                ],
            }
        ],
    }
    assert run(client, "XINFO", "STREAM", "s", "BOGUS") == CommandError(
        "ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP."
    )


def test_copy_is_deep_and_digest_counts_streams(client: Client) -> None:
    fill(client, 2)
    run(client, "XGROUP", "CREATE", "s", "g", "0")
    run(client, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    assert run(client, "COPY", "s", "t") == 1
    assert run(client, "DEBUG", "DIGEST-VALUE", "s") == run(client, "DEBUG", "DIGEST-VALUE", "t")
    run(client, "XACK", "t", "g", "1-0")
    assert run(client, "XPENDING", "s", "g")[0] == 2  # type: ignore[index]
    # Redis's DIGEST-VALUE leaves groups out; the strict digest sees the copy's own PEL
    from respcache.commands.digest import value_digest

    data = client.db.data
    assert value_digest(data[b"s"]) != value_digest(data[b"t"])


# --- blocking -------------------------------------------------------------------------------------


def test_xread_block_wakes_on_xadd(engine: Engine, timers: Timers) -> None:
    reader, writer = engine.new_client(), engine.new_client()
    fill(writer, 1)
    blocked = block(reader, "XREAD", "BLOCK", 0, "STREAMS", "s", "$")
    assert isinstance(blocked.state, StreamWait) and blocked.timeout == 0
    run(writer, "XADD", "s", "5-0", "k", "v")
    assert reader.pushed == [[[b"s", [[b"5-0", [b"k", b"v"]]]]]]


def test_waiters_are_served_each_on_its_own(engine: Engine, timers: Timers) -> None:
    far, near, writer = engine.new_client(), engine.new_client(), engine.new_client()
    fill(writer, 1)
    block(far, "XREAD", "BLOCK", 0, "STREAMS", "s", "100-0")
    block(near, "XREAD", "BLOCK", 0, "STREAMS", "s", "$")
    fill(writer, 1, start=2)
    assert far.pushed == []
    assert near.pushed == [[[b"s", [[b"2-0", [b"f", b"v"]]]]]]


def test_xread_block_timeout_and_multi(engine: Engine, timers: Timers) -> None:
    reader = engine.new_client()
    blocked = block(reader, "XREAD", "BLOCK", 1500, "STREAMS", "s", "$")
    assert blocked.timeout == 1.5
    timers.fire_all()
    assert reader.pushed == [NULL_ARRAY]
    assert run(reader, "MULTI") == OK
    assert run(reader, "XREAD", "BLOCK", 0, "STREAMS", "s", "$") == QUEUED
    assert run(reader, "EXEC") == [NULL_ARRAY]


def test_xreadgroup_block_group_consumers_share(engine: Engine, timers: Timers) -> None:
    a, b, writer = engine.new_client(), engine.new_client(), engine.new_client()
    run(writer, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    block(a, "XREADGROUP", "GROUP", "g", "a", "BLOCK", 0, "STREAMS", "s", ">")
    block(b, "XREADGROUP", "GROUP", "g", "b", "BLOCK", 0, "STREAMS", "s", ">")
    fill(writer, 1)
    assert a.pushed == [[[b"s", [[b"1-0", [b"f", b"v"]]]]]]
    assert b.pushed == []
    fill(writer, 1, start=2)
    assert b.pushed == [[[b"s", [[b"2-0", [b"f", b"v"]]]]]]


def test_xreadgroup_block_key_deleted_or_group_destroyed(engine: Engine, timers: Timers) -> None:
    a, b, writer = engine.new_client(), engine.new_client(), engine.new_client()
    run(writer, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    run(writer, "XGROUP", "CREATE", "t", "g", "$", "MKSTREAM")
    block(a, "XREADGROUP", "GROUP", "g", "a", "BLOCK", 0, "STREAMS", "s", ">")
    block(b, "XREADGROUP", "GROUP", "g", "b", "BLOCK", 0, "STREAMS", "t", ">")
    run(writer, "DEL", "s")
    assert a.pushed == [CommandError("UNBLOCKED the stream key no longer exists")]
    run(writer, "XGROUP", "DESTROY", "t", "g")
    assert b.pushed == [
        CommandError("NOGROUP the consumer group this client was blocked on no longer exists")
    ]


def test_xread_block_stays_when_key_deleted(engine: Engine, timers: Timers) -> None:
    reader, writer = engine.new_client(), engine.new_client()
    fill(writer, 1)
    block(reader, "XREAD", "BLOCK", 0, "STREAMS", "s", "$")
    run(writer, "DEL", "s")
    assert reader.pushed == []
    assert isinstance(reader.blocked, Blocked)
    fill(writer, 1, start=3)
    assert reader.pushed == [[[b"s", [[b"3-0", [b"f", b"v"]]]]]]


# --- full sync -----------------------------------------------------------------------------------


def test_snapshot_round_trip_keeps_nodes_groups_and_memory(engine: Engine, client: Client) -> None:
    import hiredis

    from respcache.commands.digest import dataset_digest
    from respcache.replication.snapshot import SnapshotLoader, SnapshotWriter
    from respcache.store.keyspace import Keyspace

    run(client, "CONFIG", "SET", "stream-node-max-entries", 7)
    for i in range(1, 1500):  # several "more" records
        run(client, "XADD", "s", f"{i}-0", "f", i, *(["g", "x"] if i % 3 else []))
    run(client, "XDEL", "s", "5-0", "700-0")
    run(client, "XTRIM", "s", "MAXLEN", 1400)
    run(client, "XGROUP", "CREATE", "s", "g", "0")
    run(client, "XGROUP", "CREATE", "s", "h", "$", "ENTRIESREAD", 3)
    run(client, "XREADGROUP", "GROUP", "g", "a", "COUNT", 1200, "STREAMS", "s", ">")
    run(client, "XCLAIM", "s", "g", "b", 0, "200-0", "300-0")
    run(client, "XGROUP", "CREATECONSUMER", "s", "h", "idle")
    target = Keyspace(16, clock=engine.keyspace.clock)
    loader = SnapshotLoader(target)
    loader.begin()
    reader = hiredis.Reader()
    for chunk in SnapshotWriter(engine.keyspace, chunk_size=1000).chunks():
        reader.feed(chunk)
        while (record := reader.gets()) is not False:
            loader.apply(record)
    assert dataset_digest(target.dbs) == dataset_digest(engine.keyspace.dbs)
    assert target.used_memory == engine.keyspace.used_memory
    copy = target.dbs[0].data[b"s"]
    assert type(copy) is StreamValue
    original = stream(client)
    assert [(n.master, n.base, n.count, n.deleted) for n in copy.nodes] == [
        (n.master, n.base, n.count, n.deleted) for n in original.nodes
    ]
    assert copy.estimate() == original.estimate()
    follower = Engine(engine.config, keyspace=target)
    peer = follower.new_client()
    assert run(peer, "XINFO", "STREAM", "s", "FULL", "COUNT", 0) == run(
        client, "XINFO", "STREAM", "s", "FULL", "COUNT", 0
    )


def test_flush_unblocks_xreadgroup(engine: Engine, timers: Timers) -> None:
    a, writer = engine.new_client(), engine.new_client()
    run(writer, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    block(a, "XREADGROUP", "GROUP", "g", "a", "BLOCK", 0, "STREAMS", "s", ">")
    run(writer, "FLUSHALL")
    assert a.pushed == [CommandError("UNBLOCKED the stream key no longer exists")]


def test_client_unblock(engine: Engine, timers: Timers) -> None:
    reader, admin = engine.new_client(), engine.new_client()
    block(reader, "XREAD", "BLOCK", 0, "STREAMS", "s", "$")
    assert run(admin, "CLIENT", "UNBLOCK", reader.id) == 1
    block(reader, "XREAD", "BLOCK", 0, "STREAMS", "s", "$")
    assert run(admin, "CLIENT", "UNBLOCK", reader.id, "ERROR") == 1
    assert reader.pushed == [
        NULL_ARRAY,
        CommandError("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
    ]
    assert not engine.blocked_clients.waiting


def test_group_operations_live_in_stream_groups_and_account_memory() -> None:
    # The consumer-group concern is StreamGroups, a base of StreamValue; every change it
    # makes is paid for in nbytes and refunded when undone.
    s = StreamValue()
    assert isinstance(s, StreamGroups)
    s.append(make_id(1, 0), [b"f", b"v"], 4096, 100)
    empty = s.nbytes
    group = s.create_group(b"g", 0, 0)
    assert group is not None and s.create_group(b"g", 0, 0) is None
    consumer = s.create_consumer(group, b"alice", 1000)
    assert consumer is not None
    s.add_pending(group, make_id(1, 0), Nack(consumer, 1000))
    assert len(group.pel) == 1 and len(consumer.pel) == 1 and s.nbytes > empty
    assert s.delete_consumer(group, consumer) == 1 and len(group.pel) == 0
    assert s.destroy_group(b"g") and s.nbytes == empty and s.sorted_groups() == []
