"""Generic key commands through the engine: replies and errors as Redis 7.0.15 gives them
(expected values read from a real redis-server), glob patterns, SCAN's cursor guarantee,
expiry on a controlled clock, replication, keyspace events and WATCH invalidation."""

from __future__ import annotations

import random
from collections import deque

import pytest
from conftest import Clock, run

from respcache.commands import Client, Engine, keys
from respcache.commands.registry import REGISTRY
from respcache.commands.scan import (
    CursorTable,
    cursor_table,
    glob_match,
    parse_cursor,
)
from respcache.config import Config
from respcache.errors import CommandError
from respcache.protocol.types import OK
from respcache.store.values import HashValue, ListValue, SetValue

NOW_MS = 1_700_000_000_000
WRONGTYPE = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = CommandError("ERR syntax error")
NOT_INT = CommandError("ERR value is not an integer or out of range")
SAME = CommandError("ERR source and destination objects are the same")
OUT_OF_RANGE = CommandError("ERR DB index is out of range")
INT_RANGE = CommandError("ERR value is out of range, value must between -2147483648 and 2147483647")


def put(client: Client, key: bytes, value: object) -> None:
    client.db.set(key, value)


def a_list(*items: bytes) -> ListValue:
    value = ListValue()
    value.extend(items)
    return value


def a_hash(pairs: dict[bytes, bytes]) -> HashValue:
    value = HashValue()
    value.update(pairs)
    return value


def a_set(*members: bytes) -> SetValue:
    value = SetValue()
    value.update(members)
    return value


@pytest.fixture
def events(engine: Engine) -> list[tuple[str, bytes, int, bytes]]:
    out: list[tuple[str, bytes, int, bytes]] = []
    engine.notify_hook = lambda kind, event, db, key: out.append((kind, event, db, key))
    return out


# --- command table ------------------------------------------------------------------------

# (arity, flags, first key, last key, step, ACL categories, group, since), from
# redis-server 7.0.15's COMMAND INFO and COMMAND DOCS.
KEYS_TABLE = {
    "del": (-2, "write", 1, -1, 1, "@keyspace @write @slow", "generic", "1.0.0"),
    "unlink": (-2, "write fast", 1, -1, 1, "@keyspace @write @fast", "generic", "4.0.0"),
    "exists": (-2, "readonly fast", 1, -1, 1, "@keyspace @read @fast", "generic", "1.0.0"),
    "type": (2, "readonly fast", 1, 1, 1, "@keyspace @read @fast", "generic", "1.0.0"),
    "keys": (2, "readonly", 0, 0, 0, "@keyspace @read @slow @dangerous", "generic", "1.0.0"),
    "scan": (-2, "readonly", 0, 0, 0, "@keyspace @read @slow", "generic", "2.8.0"),
    "randomkey": (1, "readonly", 0, 0, 0, "@keyspace @read @slow", "generic", "1.0.0"),
    "rename": (3, "write", 1, 2, 1, "@keyspace @write @slow", "generic", "1.0.0"),
    "renamenx": (3, "write fast", 1, 2, 1, "@keyspace @write @fast", "generic", "1.0.0"),
    "copy": (-3, "write denyoom", 1, 2, 1, "@keyspace @write @slow", "generic", "6.2.0"),
    "move": (3, "write fast", 1, 1, 1, "@keyspace @write @fast", "generic", "1.0.0"),
    "swapdb": (3, "write fast", 0, 0, 0, "@keyspace @write @fast @dangerous", "server", "4.0.0"),
    "touch": (-2, "readonly fast", 1, -1, 1, "@keyspace @read @fast", "generic", "3.2.1"),
    "expire": (-3, "write fast", 1, 1, 1, "@keyspace @write @fast", "generic", "1.0.0"),
    "pexpire": (-3, "write fast", 1, 1, 1, "@keyspace @write @fast", "generic", "2.6.0"),
    "expireat": (-3, "write fast", 1, 1, 1, "@keyspace @write @fast", "generic", "1.2.0"),
    "pexpireat": (-3, "write fast", 1, 1, 1, "@keyspace @write @fast", "generic", "2.6.0"),
    "ttl": (2, "readonly fast", 1, 1, 1, "@keyspace @read @fast", "generic", "1.0.0"),
    "pttl": (2, "readonly fast", 1, 1, 1, "@keyspace @read @fast", "generic", "2.6.0"),
    "expiretime": (2, "readonly fast", 1, 1, 1, "@keyspace @read @fast", "generic", "7.0.0"),
    "pexpiretime": (2, "readonly fast", 1, 1, 1, "@keyspace @read @fast", "generic", "7.0.0"),
    "persist": (2, "write fast", 1, 1, 1, "@keyspace @write @fast", "generic", "2.2.0"),
    "object": (-2, "", 0, 0, 0, "@slow", "generic", "2.2.3"),
}
OBJECT_TABLE = {
    "help": (2, "loading stale", 0, 0, 0, "@keyspace @slow", "6.2.0"),
    "encoding": (3, "readonly", 2, 2, 1, "@keyspace @read @slow", "2.2.3"),
    "freq": (3, "readonly", 2, 2, 1, "@keyspace @read @slow", "4.0.0"),
    "idletime": (3, "readonly", 2, 2, 1, "@keyspace @read @slow", "2.2.3"),
    "refcount": (3, "readonly", 2, 2, 1, "@keyspace @read @slow", "2.2.3"),
}


@pytest.mark.parametrize("name", sorted(KEYS_TABLE))
def test_command_table_matches_redis(name: str) -> None:
    arity, flags, first, last, step, acl, group, since = KEYS_TABLE[name]
    spec = REGISTRY[name]
    assert spec.arity == arity
    assert spec.flags == frozenset(flags.split())
    assert (spec.first_key, spec.last_key, spec.step) == (first, last, step)
    assert spec.acl_categories == tuple(acl.split())
    assert (spec.group, spec.since) == (group, since)
    assert spec.summary and spec.complexity


@pytest.mark.parametrize("sub", sorted(OBJECT_TABLE))
def test_object_subcommands_match_redis(sub: str) -> None:
    arity, flags, first, last, step, acl, since = OBJECT_TABLE[sub]
    spec = REGISTRY["object"].subcommands[sub]
    assert spec.name == f"object|{sub}"
    assert spec.arity == arity
    assert spec.flags == frozenset(flags.split())
    assert (spec.first_key, spec.last_key, spec.step) == (first, last, step)
    assert spec.acl_categories == tuple(acl.split())
    assert (spec.group, spec.since) == ("generic", since)


# --- DEL / EXISTS / TYPE / TOUCH ----------------------------------------------------------


@pytest.mark.parametrize("name", ["DEL", "UNLINK"])
def test_del(
    client: Client,
    name: str,
    propagated: list[tuple[int, list[bytes]]],
    events: list[tuple[str, bytes, int, bytes]],
) -> None:
    run(client, "MSET", "a", "1", "b", "2")
    assert run(client, name, "a", "a", "nokey", "b") == 2
    assert run(client, "EXISTS", "a", "b") == 0
    assert run(client, name, "a") == 0
    assert propagated[1:] == [(0, [name.encode(), b"a", b"a", b"nokey", b"b"])]
    assert events[-2:] == [("g", b"del", 0, b"a"), ("g", b"del", 0, b"b")]


def test_del_of_an_expired_key(
    client: Client, clock: Clock, propagated: list[tuple[int, list[bytes]]]
) -> None:
    run(client, "SET", "a", "1", "PX", 10)
    clock.advance(1)
    assert run(client, "DEL", "a") == 0
    assert propagated[1:] == [(0, [b"DEL", b"a"])]  # the expiry, not the command


def test_exists_counts_repeats_and_does_not_touch(client: Client) -> None:
    run(client, "MSET", "a", "1", "b", "2")
    assert run(client, "EXISTS", "a", "a", "b", "nokey") == 3
    assert run(client, "TYPE", "a") == "string"
    assert run(client, "TTL", "a") == -1
    assert run(client, "OBJECT", "ENCODING", "a") == b"int"
    assert list(client.db.data) == [b"a", b"b"]  # LRU order unchanged
    hits = client.engine.keyspace.hits
    assert run(client, "EXISTS", "a", "nokey") == 1
    assert client.engine.keyspace.hits == hits + 1  # still counted as a hit


def test_touch(client: Client) -> None:
    run(client, "MSET", "a", "1", "b", "2")
    client.no_touch = True  # TOUCH touches anyway
    assert run(client, "TOUCH", "a", "nokey", "a") == 2
    assert list(client.db.data) == [b"b", b"a"]


def test_type(client: Client) -> None:
    run(client, "SET", "s", "v")
    put(client, b"l", a_list(b"x"))
    put(client, b"h", a_hash({b"f": b"v"}))
    put(client, b"t", a_set(b"m"))
    replies = [run(client, "TYPE", k) for k in ("s", "l", "h", "t", "nokey")]
    assert replies == ["string", "list", "hash", "set", "none"]


def test_randomkey(client: Client, clock: Clock) -> None:
    assert run(client, "RANDOMKEY") is None
    run(client, "MSET", "a", "1", "b", "2")
    assert {run(client, "RANDOMKEY") for _ in range(50)} == {b"a", b"b"}
    run(client, "PEXPIRE", "a", 1)
    run(client, "PEXPIRE", "b", 1)
    clock.advance(1)
    assert run(client, "RANDOMKEY") is None


# --- glob patterns ------------------------------------------------------------------------

GLOB_KEYS = [b"a", b"]", b"^", b"_", b"`", b"b", b"-", b"\\", b"", b"ab", b"A"]
# Pattern -> keys of GLOB_KEYS that KEYS returns on redis-server 7.0.15.
GLOB_CASES = {
    b"[a-]": {b"]", b"^", b"_", b"`", b"a"},
    b"[a-]]": {b"]", b"^", b"_", b"`", b"a"},
    b"[]": set(),
    b"[^]": {b"-", b"A", b"\\", b"]", b"^", b"_", b"`", b"a", b"b"},
    b"[": set(),
    b"[^": {b"-", b"A", b"\\", b"]", b"^", b"_", b"`", b"a", b"b"},
    b"\\": {b"\\"},
    b"[\\]]": {b"]"},
    b"[z-a]": {b"a", b"b"},
    b"?": {b"-", b"A", b"\\", b"]", b"^", b"_", b"`", b"a", b"b"},
    b"[!a]": {b"a"},
    b"[a-b]": {b"a", b"b"},
    b"[^a]": {b"-", b"A", b"\\", b"]", b"^", b"_", b"`", b"b"},
    b"a\\": set(),
    b"*\\": {b"\\"},
    b"[ab": {b"a", b"b"},
    b"[-a]": {b"-", b"a"},
    b"[a-z": {b"a", b"b"},
    b"**": set(GLOB_KEYS) - {b""},
    b"*": set(GLOB_KEYS),  # KEYS * is every key, the empty one included
    b"a*": {b"a", b"ab"},
    b"*b": {b"ab", b"b"},
    b"": {b""},
    b"A": {b"A"},
}


@pytest.mark.parametrize("pattern", sorted(GLOB_CASES))
def test_keys_glob_quirks(client: Client, pattern: bytes) -> None:
    for key in GLOB_KEYS:
        run(client, "SET", key, "x")
    reply = run(client, "KEYS", pattern)
    assert isinstance(reply, list)
    assert sorted(reply) == sorted(GLOB_CASES[pattern])  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("pattern", "string", "matches"),
    [
        (b"h?llo", b"hello", True),
        (b"h*llo", b"heeeello", True),
        (b"h[ae]llo", b"hallo", True),
        (b"h[^e]llo", b"hello", False),
        (b"h[a-b]llo", b"hbllo", True),
        (b"h\\*llo", b"h*llo", True),
        (b"h\\*llo", b"hello", False),
        (b"*a*a*a*a*a*a*a*a*a*a*b", b"a" * 60, False),  # no exponential backtracking
        (b"*a*b*c*", b"xxaxxbxxcxx", True),
        (b"*a*b*c", b"xxaxxbxxcxxc", True),
        (b"*ab*b", b"abb", True),
        (b"a*" * 1000 + b"b", b"a" * 1010 + b"b", True),
        (b"a*" * 1001 + b"b", b"a" * 1010 + b"b", False),  # Redis's nesting limit
        (b"a*" * 1001, b"a" * 1010, True),  # a trailing * does not nest
        (b"[\x00-\xff]", b"\x80", True),
        (b"?\n", b"\n\n", True),
    ],
)
def test_glob_match(pattern: bytes, string: bytes, matches: bool) -> None:
    assert glob_match(pattern, string) is matches


def test_glob_match_nocase() -> None:
    assert glob_match(b"HeLLo", b"hello", nocase=True)
    assert glob_match(b"[A-C]x", b"bX", nocase=True)
    assert not glob_match(b"[\\A]", b"a", nocase=True)  # escaped in a class: exact case
    assert not glob_match(b"HeLLo", b"hello")


def test_keys_hides_expired_keys_without_deleting(client: Client, clock: Clock) -> None:
    run(client, "SET", "a", "1", "PX", 10)
    run(client, "SET", "b", "2")
    clock.advance(1)
    assert run(client, "KEYS", "*") == [b"b"]
    assert b"a" in client.db.data


# --- SCAN ---------------------------------------------------------------------------------


def scan_all(client: Client, *options: str | int) -> list[bytes]:
    cursor = b"0"
    seen: list[bytes] = []
    for _ in range(10_000):
        reply = run(client, "SCAN", cursor, *options)
        assert isinstance(reply, list)
        cursor, batch = reply
        assert isinstance(cursor, bytes)
        assert isinstance(batch, list)
        seen.extend(batch)  # type: ignore[arg-type]
        if cursor == b"0":
            return seen
    raise AssertionError("SCAN did not finish")


def test_scan_whole_keyspace(client: Client) -> None:
    for i in range(1000):
        run(client, "SET", f"k{i}", i)
    seen = scan_all(client, "COUNT", 7)
    assert sorted(seen) == sorted(f"k{i}".encode() for i in range(1000))
    assert len(cursor_table(client.engine.keyspace)) == 0  # finished: snapshot dropped


def test_scan_small_keyspace_in_one_call(client: Client) -> None:
    run(client, "MSET", "a", "1", "b", "2")
    reply = run(client, "SCAN", "0")
    assert isinstance(reply, list)
    assert reply[0] == b"0"
    assert sorted(reply[1]) == [b"a", b"b"]  # type: ignore[type-var,arg-type]
    assert run(client, "SCAN", "0", "COUNT", 1)[0] != b"0"  # type: ignore[index]


def test_scan_match_and_type(client: Client) -> None:
    for i in range(100):
        run(client, "SET", f"s{i}", i)
        put(client, f"l{i}".encode(), a_list(b"x"))
    assert sorted(scan_all(client, "MATCH", "s1*")) == sorted(
        f"s{i}".encode() for i in range(100) if str(i).startswith("1")
    )
    assert len(scan_all(client, "TYPE", "LIST", "COUNT", 3)) == 100
    assert scan_all(client, "TYPE", "nosuchtype") == []
    assert len(scan_all(client, "MATCH", "*")) == 200


def test_scan_never_misses_keys_present_throughout(client: Client) -> None:
    rnd = random.Random(5)
    stable = {f"stable{i}".encode() for i in range(300)}
    for key in stable:
        run(client, "SET", key, "v")
    for i in range(300):
        run(client, "SET", f"churn{i}", "v")
    cursor = b"0"
    seen: list[bytes] = []
    while True:
        reply = run(client, "SCAN", cursor, "COUNT", 5)
        assert isinstance(reply, list)
        cursor, batch = reply  # type: ignore[assignment]
        seen.extend(batch)  # type: ignore[arg-type]
        # Between calls: deletions, additions, and reads that reorder the LRU.
        for _ in range(10):
            run(client, "DEL", f"churn{rnd.randrange(300)}")
            run(client, "SET", f"new{rnd.randrange(10_000)}", "v")
            run(client, "GET", rnd.choice(sorted(stable)))
        if cursor == b"0":
            break
    assert stable <= set(seen)
    assert len(seen) == len(set(seen))  # nothing twice within one scan


def test_scan_skips_deleted_and_expired_keys(client: Client, clock: Clock) -> None:
    for i in range(50):
        run(client, "SET", f"k{i}", i)
    reply = run(client, "SCAN", 0, "COUNT", 10)
    assert isinstance(reply, list)
    cursor = reply[0]
    first = set(reply[1])  # type: ignore[arg-type]
    for i in range(50):
        if f"k{i}".encode() not in first:
            run(client, "PEXPIRE", f"k{i}", 1)
    clock.advance(1)
    reply = run(client, "SCAN", cursor, "COUNT", 10)
    assert isinstance(reply, list)
    assert reply[1] == []


def test_scan_repeated_cursor_returns_the_same_batch(client: Client) -> None:
    for i in range(100):
        run(client, "SET", f"k{i}", i)
    first = run(client, "SCAN", 0, "COUNT", 10)
    assert isinstance(first, list)
    again = run(client, "SCAN", first[0], "COUNT", 10)
    assert run(client, "SCAN", first[0], "COUNT", 10) == again


def test_scan_unknown_cursor_starts_over(client: Client) -> None:
    for i in range(30):
        run(client, "SET", f"k{i}", i)
    seen: list[bytes] = []
    cursor = b"123456789"
    while True:
        reply = run(client, "SCAN", cursor, "COUNT", 4)
        assert isinstance(reply, list)
        cursor, batch = reply  # type: ignore[assignment]
        seen.extend(batch)  # type: ignore[arg-type]
        if cursor == b"0":
            break
    assert sorted(seen) == sorted(f"k{i}".encode() for i in range(30))


def test_scan_cursor_is_per_db(client: Client) -> None:
    for i in range(30):
        run(client, "SET", f"k{i}", i)
    reply = run(client, "SCAN", 0, "COUNT", 4)
    assert isinstance(reply, list)
    run(client, "SELECT", 1)
    run(client, "SET", "other", "x")
    assert run(client, "SCAN", reply[0]) == [b"0", [b"other"]]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["abc"], "ERR invalid cursor"),
        ([" 1"], "ERR invalid cursor"),
        (["18446744073709551616"], "ERR invalid cursor"),
        (["+"], "ERR invalid cursor"),
        (["0", "COUNT", "0"], "ERR syntax error"),
        (["0", "COUNT", "-1"], "ERR syntax error"),
        (["0", "COUNT", "1.5"], "ERR value is not an integer or out of range"),
        (["0", "FOO"], "ERR syntax error"),
        (["0", "MATCH"], "ERR syntax error"),
        (["abc", "FOO"], "ERR invalid cursor"),
    ],
)
def test_scan_errors(client: Client, args: list[str], error: str) -> None:
    assert run(client, "SCAN", *args) == CommandError(error)


def test_parse_cursor_follows_strtoul() -> None:
    assert parse_cursor(b"") == 0
    assert parse_cursor(b"+5") == 5
    assert parse_cursor(b"-1") == 2**64 - 1
    assert parse_cursor(b"18446744073709551615") == 2**64 - 1
    # strtoul reads a C string: a NUL ends the cursor (redis-server: ZSCAN k "\0\xff" is 0).
    assert parse_cursor(b"\x00\xff\r\n") == 0
    assert parse_cursor(b"7\x00junk") == 7
    with pytest.raises(CommandError):
        parse_cursor(b"+\x00")


def test_cursor_table_is_bounded() -> None:
    table = CursorTable(max_elements=100, min_kept=2)
    cursors = []
    for _ in range(5):
        cursor, batch = table.step(("db",), 0, lambda: [b"x"] * 60, lambda _: True, 10)
        assert len(batch) == 10
        cursors.append(cursor)
    assert len(table) == 2  # over the element budget: only the newest two kept
    assert table.total == 120
    # The oldest scan's snapshot is gone: its cursor starts over, nothing is lost.
    cursor, batch = table.step(("db",), cursors[0], lambda: [b"y"] * 60, lambda _: True, 10)
    assert batch == [b"y"] * 10
    table.clear()
    assert table.total == 0


def test_cursor_table_skips_at_most_ten_times_count_dead_elements() -> None:
    table = CursorTable()
    elements = [b"dead"] * 100 + [b"live"]
    cursor, batch = table.step(("db",), 0, lambda: elements, lambda e: e == b"live", 2)
    assert (batch, cursor != 0) == ([], True)
    while cursor:
        cursor, batch = table.step(("db",), cursor, lambda: [], lambda e: e == b"live", 2)
    assert batch == [b"live"]


# --- RENAME / RENAMENX --------------------------------------------------------------------


def test_rename(
    client: Client,
    propagated: list[tuple[int, list[bytes]]],
    events: list[tuple[str, bytes, int, bytes]],
) -> None:
    run(client, "SET", "a", "1", "EX", 100)
    run(client, "SET", "b", "2")
    assert run(client, "RENAME", "a", "b") == OK
    assert run(client, "GET", "b") == b"1"
    assert run(client, "TTL", "b") == 100
    assert run(client, "EXISTS", "a") == 0
    assert propagated[-1] == (0, [b"RENAME", b"a", b"b"])
    assert events[-2:] == [("g", b"rename_from", 0, b"a"), ("g", b"rename_to", 0, b"b")]
    run(client, "SET", "c", "3")
    run(client, "EXPIRE", "b", 50)
    run(client, "RENAME", "c", "b")
    assert run(client, "TTL", "b") == -1  # the destination's TTL goes with its old value


def test_rename_edge_cases(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    no_such_key = CommandError("ERR no such key")
    assert run(client, "RENAME", "nokey", "x") == no_such_key
    assert run(client, "RENAME", "nokey", "nokey") == no_such_key
    assert run(client, "RENAMENX", "nokey", "nokey") == no_such_key
    run(client, "SET", "a", "1")
    assert run(client, "RENAME", "a", "a") == OK
    assert run(client, "RENAMENX", "a", "a") == 0
    assert propagated == [(0, [b"SET", b"a", b"1"])]  # same key: nothing replicated
    run(client, "SET", "b", "2")
    assert run(client, "RENAMENX", "a", "b") == 0
    assert run(client, "RENAMENX", "a", "c") == 1
    assert run(client, "MGET", "a", "b", "c") == [None, b"2", b"1"]


def test_rename_moves_containers_and_invalidates_watchers(client: Client, engine: Engine) -> None:
    put(client, b"l", a_list(b"x", b"y"))
    watcher_src, watcher_dst = engine.new_client(), engine.new_client()
    engine.watches.watch(watcher_src, b"l")
    engine.watches.watch(watcher_dst, b"m")
    assert run(client, "RENAME", "l", "m") == OK
    assert run(client, "TYPE", "m") == "list"
    assert watcher_src.dirty_cas and watcher_dst.dirty_cas


def test_rename_keeps_the_lfu_counter(
    client: Client, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The write lookups may increment the counter (LFULogIncr, 1 in 371 at 42): not here.
    monkeypatch.setattr(random, "random", lambda: 1.0)
    engine.keyspace.set_policy("allkeys-lfu")
    run(client, "SET", "a", "1")
    client.db.lfu[b"a"] = (client.db.lfu[b"a"] & ~0xFF) | 42
    run(client, "RENAME", "a", "b")
    assert run(client, "OBJECT", "FREQ", "b") == 42
    run(client, "MOVE", "b", 1)
    run(client, "SELECT", 1)
    assert run(client, "OBJECT", "FREQ", "b") == 42


# --- COPY / MOVE --------------------------------------------------------------------------


def test_copy(
    client: Client,
    propagated: list[tuple[int, list[bytes]]],
    events: list[tuple[str, bytes, int, bytes]],
) -> None:
    run(client, "SET", "a", "1", "EX", 100)
    assert run(client, "COPY", "a", "b") == 1
    assert run(client, "MGET", "a", "b") == [b"1", b"1"]
    assert run(client, "TTL", "b") == 100
    assert run(client, "COPY", "a", "b") == 0
    run(client, "SET", "a", "2")
    assert run(client, "COPY", "a", "b", "REPLACE") == 1
    assert run(client, "GET", "b") == b"2"
    assert run(client, "TTL", "b") == -1
    assert run(client, "COPY", "a", "a", "DB", 1) == 1
    assert run(client, "COPY", "nokey", "x") == 0
    assert events[-1] == ("g", b"copy_to", 1, b"a")
    assert propagated[-1] == (0, [b"COPY", b"a", b"a", b"DB", b"1"])
    run(client, "SELECT", 1)
    assert run(client, "GET", "a") == b"2"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["a", "a"], SAME),
        (["a", "a", "DB", "0"], SAME),
        (["a", "x", "DB", "16"], OUT_OF_RANGE),
        (["a", "x", "DB", "-1"], OUT_OF_RANGE),
        (["a", "x", "DB", "4294967296"], INT_RANGE),
        (["a", "x", "DB", "abc"], NOT_INT),
        (["a", "x", "DB"], SYNTAX),
        (["a", "x", "FOO"], SYNTAX),
    ],
)
def test_copy_errors(client: Client, args: list[str], error: CommandError) -> None:
    run(client, "SET", "a", "1")
    assert run(client, "COPY", *args) == error


def test_copy_of_containers_is_independent(client: Client) -> None:
    put(client, b"l", a_list(b"x"))
    put(client, b"h", a_hash({b"f": b"v"}))
    put(client, b"s", a_set(b"m"))
    used = client.engine.keyspace.used_memory
    for key in ("l", "h", "s"):
        assert run(client, "COPY", key, key + "2") == 1
    copied_list = client.db.data[b"l2"]
    assert isinstance(copied_list, ListValue)
    copied_list.append(b"y")
    assert list(client.db.data[b"l"]) == [b"x"]  # type: ignore[call-overload]
    assert type(client.db.data[b"h2"]) is HashValue
    assert client.db.data[b"s2"] == {b"m"}
    assert client.engine.keyspace.used_memory > used


def test_move(
    client: Client,
    events: list[tuple[str, bytes, int, bytes]],
) -> None:
    run(client, "SET", "a", "1", "EX", 100)
    assert run(client, "MOVE", "a", 1) == 1
    assert run(client, "EXISTS", "a") == 0
    assert events[-2:] == [("g", b"move_from", 0, b"a"), ("g", b"move_to", 1, b"a")]
    assert run(client, "MOVE", "nokey", 1) == 0
    run(client, "SELECT", 1)
    assert run(client, "TTL", "a") == 100
    run(client, "SET", "b", "x")
    run(client, "SELECT", 0)
    run(client, "SET", "b", "y")
    assert run(client, "MOVE", "b", 1) == 0  # exists in the target
    assert run(client, "GET", "b") == b"y"
    assert run(client, "MOVE", "b", 0) == SAME
    assert run(client, "MOVE", "b", 16) == OUT_OF_RANGE
    assert run(client, "MOVE", "b", "abc") == NOT_INT
    assert run(client, "MOVE", "b", "2147483647") == OUT_OF_RANGE
    assert run(client, "MOVE", "b", "2147483648") == INT_RANGE
    assert run(client, "MOVE", "b", "-9223372036854775808") == INT_RANGE


# --- SWAPDB -------------------------------------------------------------------------------


def test_swapdb(client: Client, engine: Engine, propagated: list[tuple[int, list[bytes]]]) -> None:
    run(client, "SET", "a", "0")
    run(client, "SELECT", 1)
    run(client, "SET", "b", "1")
    assert run(client, "SWAPDB", 0, 1) == OK
    assert run(client, "KEYS", "*") == [b"a"]  # the client stays on db 1
    run(client, "SELECT", 0)
    assert run(client, "KEYS", "*") == [b"b"]
    assert run(client, "SWAPDB", 0, 0) == OK
    assert propagated[-2:] == [(1, [b"SWAPDB", b"0", b"1"]), (0, [b"SWAPDB", b"0", b"0"])]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["0", "abc"], "ERR invalid second DB index"),
        (["abc", "0"], "ERR invalid first DB index"),
        (["abc", "16"], "ERR invalid first DB index"),
        (["2147483648", "0"], "ERR invalid first DB index"),
        (["0", "9223372036854775808"], "ERR invalid second DB index"),
        (["0", "16"], "ERR DB index is out of range"),
        (["-1", "0"], "ERR DB index is out of range"),
    ],
)
def test_swapdb_errors(client: Client, args: list[str], error: str) -> None:
    assert run(client, "SWAPDB", *args) == CommandError(error)


def test_swapdb_invalidates_watchers_of_keys_in_either_db(client: Client, engine: Engine) -> None:
    run(client, "SET", "in0", "x")
    run(client, "SELECT", 1)
    run(client, "SET", "in1", "x")
    watchers = {name: engine.new_client() for name in ("in0", "in1", "absent", "other")}
    for name, watcher in watchers.items():
        if name == "other":
            watcher.db = engine.keyspace.dbs[2]
        engine.watches.watch(watcher, name.encode() if name != "other" else b"in0")
    assert run(client, "SWAPDB", 0, 1) == OK
    assert watchers["in0"].dirty_cas
    assert watchers["in1"].dirty_cas  # watching db 0's in1, which exists in db 1
    assert not watchers["absent"].dirty_cas
    assert not watchers["other"].dirty_cas  # db 2 is not involved


def test_swapdb_wakes_clients_blocked_on_keys_that_now_exist(
    client: Client, engine: Engine
) -> None:
    run(client, "SELECT", 1)
    put(client, b"q", a_list(b"x"))
    waiter = engine.new_client()
    engine.blocked_clients.waiting[(0, b"q")] = deque([waiter])
    engine.blocked_clients.waiting[(0, b"nothing")] = deque([waiter])
    keys.swapdb(client, [b"SWAPDB", b"0", b"1"])
    assert engine.blocked_clients.ready == [(0, b"q")]


# --- EXPIRE family ------------------------------------------------------------------------


def test_expire_variants(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    run(client, "SET", "k", "v")
    assert run(client, "EXPIRE", "k", 100) == 1
    assert run(client, "PTTL", "k") == 100_000
    assert run(client, "PEXPIRE", "k", 1500) == 1
    assert run(client, "PTTL", "k") == 1500
    assert run(client, "EXPIREAT", "k", NOW_MS // 1000 + 30) == 1
    assert run(client, "TTL", "k") == 30
    assert run(client, "PEXPIREAT", "k", NOW_MS + 40) == 1
    assert run(client, "PTTL", "k") == 40
    assert run(client, "EXPIRE", "nokey", 10) == 0
    assert [argv for _, argv in propagated[1:]] == [
        [b"PEXPIREAT", b"k", b"%d" % (NOW_MS + 100_000)],
        [b"PEXPIREAT", b"k", b"%d" % (NOW_MS + 1500)],
        [b"PEXPIREAT", b"k", b"%d" % (NOW_MS + 30_000)],
        [b"PEXPIREAT", b"k", b"%d" % (NOW_MS + 40)],
    ]


def test_expire_options(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    run(client, "SET", "k", "v")
    assert run(client, "EXPIRE", "k", 100, "XX") == 0
    assert run(client, "EXPIRE", "k", 100, "GT") == 0  # no TTL counts as infinite
    assert run(client, "EXPIRE", "k", 100, "LT") == 1
    assert run(client, "EXPIRE", "k", 200, "NX") == 0
    assert run(client, "EXPIRE", "k", 50, "gt") == 0
    assert run(client, "EXPIRE", "k", 200, "GT") == 1
    assert run(client, "EXPIRE", "k", 300, "LT") == 0
    assert run(client, "EXPIRE", "k", 300, "XX", "GT") == 1
    assert run(client, "TTL", "k") == 300
    run(client, "PERSIST", "k")
    assert run(client, "EXPIRE", "k", 10, "NX") == 1
    assert propagated[-1] == (0, [b"PEXPIREAT", b"k", b"%d" % (NOW_MS + 10_000), b"NX"])


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["100", "nx", "xx"],
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        (
            ["100", "nx", "gt"],
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        (
            ["100", "LT", "NX"],
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ),
        (["100", "gt", "lt"], "ERR GT and LT options at the same time are not compatible"),
        (["100", "foo"], "ERR Unsupported option foo"),
        (["100", "gt", "Foo"], "ERR Unsupported option Foo"),
        (["abc", "foo"], "ERR Unsupported option foo"),  # options are checked first
        (["abc"], "ERR value is not an integer or out of range"),
        (["9223372036854775807"], "ERR invalid expire time in 'expire' command"),
        (["9223372036854775"], "ERR invalid expire time in 'expire' command"),
        (["9223372036854774"], "ERR invalid expire time in 'expire' command"),
        (["-9223372036854776"], "ERR invalid expire time in 'expire' command"),
    ],
)
def test_expire_errors(client: Client, args: list[str], error: str) -> None:
    run(client, "SET", "k", "v")
    assert run(client, "EXPIRE", "k", *args) == CommandError(error)
    assert run(client, "EXPIRE", "nokey", *args) == CommandError(error)


def test_expire_limits(client: Client) -> None:
    run(client, "SET", "k", "v")
    assert run(client, "PEXPIRE", "k", "9223372036854775807") == CommandError(
        "ERR invalid expire time in 'pexpire' command"
    )
    assert run(client, "PEXPIREAT", "k", "9223372036854775807") == 1
    assert run(client, "EXPIREAT", "k", "9223372036854775") == 1
    assert run(client, "EXPIREAT", "k", "-9223372036854775") == 1  # in the past: deleted
    assert run(client, "EXISTS", "k") == 0
    run(client, "SET", "k", "v")
    assert run(client, "EXPIRE", "k", "-9223372036854775") == 1


@pytest.mark.parametrize(
    "args", [["EXPIRE", "k", "0"], ["PEXPIRE", "k", "-5"], ["EXPIREAT", "k", "1"]]
)
def test_expire_in_the_past_deletes(
    client: Client,
    args: list[str],
    propagated: list[tuple[int, list[bytes]]],
    events: list[tuple[str, bytes, int, bytes]],
) -> None:
    run(client, "SET", "k", "v")
    assert run(client, *args) == 1
    assert run(client, "EXISTS", "k") == 0
    assert propagated[-1] == (0, [b"DEL", b"k"])
    assert events[-1] == ("g", b"del", 0, b"k")


def test_expire_in_the_past_on_a_follower(client: Client, engine: Engine) -> None:
    run(client, "SET", "k", "v")
    engine.keyspace.expire_keys = False
    assert run(client, "PEXPIREAT", "k", 5) == 1
    assert client.db.get_expire(b"k") == 5
    assert run(client, "EXISTS", "k") == 0


def test_expiry_on_the_clock(
    client: Client, clock: Clock, propagated: list[tuple[int, list[bytes]]]
) -> None:
    run(client, "SET", "k", "v", "PX", 2500)
    assert run(client, "TTL", "k") == 3  # rounded
    assert run(client, "EXPIRETIME", "k") == (NOW_MS + 2500 + 500) // 1000
    assert run(client, "PEXPIRETIME", "k") == NOW_MS + 2500
    clock.advance(1.0)
    assert run(client, "PTTL", "k") == 1500
    assert run(client, "TTL", "k") == 2
    clock.advance(1.5)
    assert run(client, "TTL", "k") == -2
    assert propagated[-1] == (0, [b"DEL", b"k"])


def test_ttl_replies(client: Client) -> None:
    assert [
        run(client, name, "nokey") for name in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME")
    ] == [
        -2,
        -2,
        -2,
        -2,
    ]
    run(client, "SET", "k", "v")
    assert [run(client, name, "k") for name in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME")] == [
        -1,
        -1,
        -1,
        -1,
    ]


def test_persist(client: Client, events: list[tuple[str, bytes, int, bytes]]) -> None:
    assert run(client, "PERSIST", "nokey") == 0
    run(client, "SET", "k", "v")
    assert run(client, "PERSIST", "k") == 0
    run(client, "EXPIRE", "k", 10)
    assert run(client, "PERSIST", "k") == 1
    assert run(client, "TTL", "k") == -1
    assert events[-1] == ("g", b"persist", 0, b"k")


# --- OBJECT -------------------------------------------------------------------------------


def test_object_encoding_of_containers(client: Client) -> None:
    put(client, b"l", a_list(b"a"))
    put(client, b"h", a_hash({b"f": b"v"}))
    put(client, b"hbig", a_hash({b"%d" % i: b"v" for i in range(513)}))
    put(client, b"h512", a_hash({b"%d" % i: b"v" for i in range(512)}))
    put(client, b"hlong", a_hash({b"f": b"v" * 65}))
    put(client, b"h64", a_hash({b"f" * 64: b"v" * 64}))
    put(client, b"si", a_set(b"1", b"-2", b"9223372036854775807"))
    put(client, b"sbig", a_set(*(b"%d" % i for i in range(513))))
    put(client, b"s512", a_set(*(b"%d" % i for i in range(512))))
    put(client, b"sa", a_set(b"1", b"a"))
    put(client, b"s0", a_set(b"01"))
    expected = {
        b"l": b"quicklist",
        b"h": b"listpack",
        b"hbig": b"hashtable",  # hash-max-listpack-entries is 512 in Redis 7.0.15
        b"h512": b"listpack",
        b"hlong": b"hashtable",
        b"h64": b"listpack",
        b"si": b"intset",
        b"sbig": b"hashtable",
        b"s512": b"intset",
        b"sa": b"hashtable",
        b"s0": b"hashtable",
    }
    assert {k: run(client, "OBJECT", "ENCODING", k) for k in expected} == expected
    assert run(client, "OBJECT", "ENCODING", "nokey") is None


def test_object_encoding_of_sorted_sets(client: Client) -> None:
    run(client, "ZADD", "small", "1", "a")
    run(client, "ZADD", "many", *(x for i in range(129) for x in ("1", f"m{i}")))
    run(client, "ZADD", "long", "1", "m" * 65)
    replies = [run(client, "OBJECT", "ENCODING", k) for k in ("small", "many", "long")]
    assert replies == [b"listpack", b"skiplist", b"skiplist"]
    run(client, "ZREMRANGEBYRANK", "many", "0", "-2")  # Redis never converts back
    assert run(client, "OBJECT", "ENCODING", "many") == b"skiplist"


def test_object_freq(client: Client, engine: Engine) -> None:
    run(client, "SET", "k", "v")
    assert run(client, "OBJECT", "FREQ", "nokey") is None
    assert run(client, "OBJECT", "FREQ", "k") == CommandError(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
        "note that when switching between policies at runtime LRU and LFU data will take "
        "some time to adjust."
    )
    engine.keyspace.set_policy("allkeys-lfu")
    assert run(client, "OBJECT", "FREQ", "k") == 5  # LFU_INIT_VAL, not touched by OBJECT
    assert run(client, "OBJECT", "FREQ", "k") == 5


def test_object_idletime(client: Client, engine: Engine) -> None:
    run(client, "SET", "k", "v")
    assert run(client, "OBJECT", "IDLETIME", "nokey") is None
    reply = run(client, "OBJECT", "IDLETIME", "k")
    assert isinstance(reply, CommandError)
    assert "not supported" in reply.message
    engine.keyspace.set_policy("volatile-lfu")
    assert run(client, "OBJECT", "IDLETIME", "k") == CommandError(
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
        "when switching between policies at runtime LRU and LFU data will take some time "
        "to adjust."
    )


def test_object_refcount(client: Client) -> None:
    run(client, "MSET", "small", "123", "big", "99999", "s", "abc", "neg", "-1")
    put(client, b"l", a_list(b"a"))
    replies = [run(client, "OBJECT", "REFCOUNT", k) for k in ("small", "big", "s", "neg", "l")]
    assert replies == [2147483647, 1, 1, 1, 1]
    assert run(client, "OBJECT", "REFCOUNT", "nokey") is None


def test_object_refcount_without_shared_integers() -> None:
    engine = Engine(Config(maxmemory="100mb", maxmemory_policy="allkeys-lru"))
    client = engine.new_client()
    run(client, "SET", "small", "123")
    assert run(client, "OBJECT", "REFCOUNT", "small") == 1


def test_object_help_and_errors(client: Client) -> None:
    help_lines = run(client, "OBJECT", "HELP")
    assert isinstance(help_lines, list)
    assert help_lines[0] == "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert help_lines[-1] == "    Prints this help."
    assert len(help_lines) == 15
    assert run(client, "OBJECT", "foo") == CommandError(
        "ERR unknown subcommand 'foo'. Try OBJECT HELP."
    )
    assert run(client, "OBJECT", "foo", "x") == CommandError(
        "ERR unknown subcommand 'foo'. Try OBJECT HELP."
    )
    assert run(client, "OBJECT") == CommandError(
        "ERR wrong number of arguments for 'object' command"
    )
    assert run(client, "OBJECT", "encoding") == CommandError(
        "ERR wrong number of arguments for 'object|encoding' command"
    )
    assert run(client, "OBJECT", "help", "extra") == CommandError(
        "ERR wrong number of arguments for 'object|help' command"
    )
