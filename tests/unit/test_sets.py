"""Set commands through the engine: replies and errors as Redis 7.0.15 gives them (the
expected values were read from a real redis-server), memory accounting, keyspace events,
replication of SPOP, OBJECT ENCODING, SSCAN, and the random-access slots behind
SPOP/SRANDMEMBER."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from conftest import run

from respcache.commands import Client, Engine
from respcache.commands import sets as sets_module
from respcache.commands.sets import (
    RandomAccess,
    encoding,
    is_int_member,
    member_cost,
    members_in_order,
    note_added,
    note_removed,
    random_element,
    random_elements,
)
from respcache.errors import CommandError
from respcache.protocol.encoder import encode
from respcache.protocol.types import Reply
from respcache.store.values import CONTAINER_OVERHEAD, EXPIRE_OVERHEAD, SetValue, entry_size

WRONGTYPE = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = CommandError("ERR syntax error")
NOT_INTEGER = CommandError("ERR value is not an integer or out of range")
POSITIVE = CommandError("ERR value is out of range, must be positive")


def members(client: Client, key: str) -> set[bytes]:
    reply = run(client, "SMEMBERS", key)
    assert isinstance(reply, frozenset)
    return set(reply)


def check_memory(engine: Engine) -> None:
    """``used_memory`` is the sum of the entries, and every set's estimate its contents'."""
    ks = engine.keyspace
    total = 0
    for db in ks.dbs:
        for key, value in db.data.items():
            total += entry_size(key, value)
            if type(value) is SetValue:
                assert value.nbytes == CONTAINER_OVERHEAD + sum(member_cost(m) for m in value)
        total += EXPIRE_OVERHEAD * len(db.expires)
    assert ks.used_memory == total


@pytest.fixture
def events(engine: Engine) -> list[tuple[str, bytes, bytes]]:
    out: list[tuple[str, bytes, bytes]] = []
    engine.notify_hook = lambda kind, event, db, key: out.append((kind, event, key))
    return out


# --- SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS --------------------------------------


def test_sadd_counts_new_members_only(client: Client, engine: Engine) -> None:
    assert run(client, "SADD", "s", "a", "b", "a") == 2
    assert run(client, "SADD", "s", "b", "c") == 1
    assert run(client, "SCARD", "s") == 3
    assert members(client, "s") == {b"a", b"b", b"c"}
    check_memory(engine)


def test_srem_and_emptied_set_is_deleted(
    client: Client, engine: Engine, events: list[tuple[str, bytes, bytes]]
) -> None:
    run(client, "SADD", "s", "a", "b")
    events.clear()
    assert run(client, "SREM", "s", "a", "x", "a") == 1
    assert events == [("s", b"srem", b"s")]
    assert run(client, "SREM", "s", "x") == 0
    assert run(client, "SREM", "s", "b") == 1
    assert run(client, "EXISTS", "s") == 0
    assert events[-2:] == [("s", b"srem", b"s"), ("g", b"del", b"s")]
    assert run(client, "SREM", "s", "b") == 0
    check_memory(engine)


def test_membership(client: Client) -> None:
    run(client, "SADD", "s", "a", "1")
    assert run(client, "SISMEMBER", "s", "a") == 1
    assert run(client, "SISMEMBER", "s", "z") == 0
    assert run(client, "SISMEMBER", "nokey", "a") == 0
    assert run(client, "SMISMEMBER", "s", "a", "z", "1") == [1, 0, 1]
    assert run(client, "SMISMEMBER", "nokey", "a") == [0]
    assert run(client, "SCARD", "nokey") == 0


def test_smembers_of_an_intset_is_ascending(client: Client) -> None:
    run(client, "SADD", "s", "5", "3", "-1", "100")
    reply = run(client, "SMEMBERS", "s")
    assert encode(reply) == b"*4\r\n$2\r\n-1\r\n$1\r\n3\r\n$1\r\n5\r\n$3\r\n100\r\n"
    client.resp = 3
    assert encode(run(client, "SMEMBERS", "s"), True).startswith(b"~4\r\n$2\r\n-1\r\n")
    assert encode(run(client, "SMEMBERS", "nokey"), True) == b"~0\r\n"


@pytest.mark.parametrize(
    "command",
    [
        ("SADD", "str", "a"),
        ("SREM", "str", "a"),
        ("SMEMBERS", "str"),
        ("SISMEMBER", "str", "a"),
        ("SMISMEMBER", "str", "a"),
        ("SCARD", "str"),
        ("SPOP", "str"),
        ("SPOP", "str", "1"),
        ("SPOP", "str", "0"),
        ("SRANDMEMBER", "str"),
        ("SRANDMEMBER", "str", "1"),
        ("SINTER", "str"),
        ("SINTER", "nokey", "str"),
        ("SUNION", "nokey", "str"),
        ("SDIFF", "nokey", "str"),
        ("SINTERCARD", "1", "str"),
        ("SINTERSTORE", "d", "str"),
        ("SUNIONSTORE", "d", "str"),
        ("SDIFFSTORE", "d", "str"),
        ("SSCAN", "str", "0"),
        ("SMOVE", "str", "d", "a"),
    ],
)
def test_wrongtype(client: Client, command: tuple[str, ...]) -> None:
    run(client, "SET", "str", "x")
    assert run(client, *command) == WRONGTYPE


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (("SADD", "s"), "sadd"),
        (("SREM", "s"), "srem"),
        (("SMEMBERS",), "smembers"),
        (("SISMEMBER", "s"), "sismember"),
        (("SMISMEMBER", "s"), "smismember"),
        (("SCARD",), "scard"),
        (("SPOP",), "spop"),
        (("SRANDMEMBER",), "srandmember"),
        (("SMOVE", "a", "b"), "smove"),
        (("SINTER",), "sinter"),
        (("SINTERCARD", "1"), "sintercard"),
        (("SINTERSTORE", "d"), "sinterstore"),
        (("SSCAN", "s"), "sscan"),
    ],
)
def test_arity(client: Client, command: tuple[str, ...], name: str) -> None:
    assert run(client, *command) == CommandError(
        f"ERR wrong number of arguments for '{name}' command"
    )


# --- SPOP, SRANDMEMBER -----------------------------------------------------------------------


def test_spop_single_replicates_as_srem(
    client: Client,
    propagated: list[tuple[int, list[bytes]]],
    events: list[tuple[str, bytes, bytes]],
) -> None:
    run(client, "SADD", "s", "a", "b")
    propagated.clear()
    events.clear()
    popped = run(client, "SPOP", "s")
    assert popped in (b"a", b"b")
    assert propagated == [(0, [b"SREM", b"s", popped])]
    assert events == [("s", b"spop", b"s")]
    last = run(client, "SPOP", "s")
    assert {popped, last} == {b"a", b"b"}
    assert run(client, "EXISTS", "s") == 0
    assert events[-1] == ("g", b"del", b"s")
    assert run(client, "SPOP", "s") is None


def test_spop_count(
    client: Client, engine: Engine, propagated: list[tuple[int, list[bytes]]]
) -> None:
    run(client, "SADD", "s", *[f"m{i}" for i in range(10)])
    propagated.clear()
    popped = run(client, "SPOP", "s", "3")
    assert isinstance(popped, frozenset) and len(popped) == 3
    assert run(client, "SCARD", "s") == 7
    assert not popped & members(client, "s")
    ((_db, argv),) = propagated
    assert argv[:2] == [b"SREM", b"s"] and set(argv[2:]) == popped
    check_memory(engine)


def test_spop_count_at_least_the_size_deletes_and_replicates_del(
    client: Client,
    propagated: list[tuple[int, list[bytes]]],
    events: list[tuple[str, bytes, bytes]],
) -> None:
    run(client, "SADD", "s", "3", "1", "2")
    propagated.clear()
    events.clear()
    reply = run(client, "SPOP", "s", "5")
    assert encode(reply) == b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    assert run(client, "EXISTS", "s") == 0
    assert propagated == [(0, [b"DEL", b"s"])]
    assert events == [("s", b"spop", b"s"), ("g", b"del", b"s")]


def test_spop_errors_and_empty_forms(client: Client) -> None:
    run(client, "SADD", "s", "a")
    assert run(client, "SPOP", "s", "-1") == POSITIVE
    assert run(client, "SPOP", "s", "x") == POSITIVE
    assert run(client, "SPOP", "nokey", "x") == POSITIVE
    assert run(client, "SPOP", "s", "1", "2") == SYNTAX
    assert run(client, "SPOP", "s", "0") == frozenset()
    assert run(client, "SPOP", "nokey", "2") == frozenset()
    client.resp = 3
    assert encode(run(client, "SPOP", "nokey", "2"), True) == b"~0\r\n"


def test_spop_count_of_a_large_set_batches_srem(
    client: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    run(client, "SADD", "s", *[str(i) for i in range(3000)])
    propagated.clear()
    popped = run(client, "SPOP", "s", "2500")
    assert isinstance(popped, frozenset) and len(popped) == 2500
    sizes = [len(argv) - 2 for _db, argv in propagated]
    assert sizes == [1024, 1024, 452]
    assert run(client, "SCARD", "s") == 500


def test_srandmember(client: Client) -> None:
    run(client, "SADD", "s", "a", "b", "c")
    assert run(client, "SRANDMEMBER", "s") in (b"a", b"b", b"c")
    two = run(client, "SRANDMEMBER", "s", "2")
    assert isinstance(two, list) and len(set(two)) == 2 and set(two) <= {b"a", b"b", b"c"}
    every = run(client, "SRANDMEMBER", "s", "10")
    assert isinstance(every, list) and sorted(every) == [b"a", b"b", b"c"]
    many = run(client, "SRANDMEMBER", "s", "-7")
    assert isinstance(many, list) and len(many) == 7 and set(many) <= {b"a", b"b", b"c"}
    assert run(client, "SRANDMEMBER", "s", "0") == []
    assert run(client, "SRANDMEMBER", "nokey") is None
    assert run(client, "SRANDMEMBER", "nokey", "3") == []
    assert run(client, "SCARD", "s") == 3


def test_srandmember_errors(client: Client) -> None:
    run(client, "SADD", "s", "a")
    assert run(client, "SRANDMEMBER", "s", "x") == NOT_INTEGER
    assert run(client, "SRANDMEMBER", "nokey", "x") == NOT_INTEGER
    assert run(client, "SRANDMEMBER", "s", "9223372036854775808") == NOT_INTEGER
    assert run(client, "SRANDMEMBER", "s", "-9223372036854775808") == CommandError(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert run(client, "SRANDMEMBER", "s", "1", "2") == SYNTAX


def test_srandmember_reply_is_an_array_in_resp3(client: Client) -> None:
    run(client, "SADD", "s", "a", "b")
    client.resp = 3
    assert encode(run(client, "SRANDMEMBER", "s", "5"), True).startswith(b"*2\r\n")
    assert encode(run(client, "SPOP", "s", "1"), True).startswith(b"~1\r\n")


# --- SMOVE -------------------------------------------------------------------------------------


def test_smove(client: Client, engine: Engine, events: list[tuple[str, bytes, bytes]]) -> None:
    run(client, "SADD", "src", "a", "b")
    events.clear()
    assert run(client, "SMOVE", "src", "dst", "a") == 1
    assert events == [("s", b"srem", b"src"), ("n", b"new", b"dst"), ("s", b"sadd", b"dst")]
    assert members(client, "dst") == {b"a"}
    assert run(client, "SMOVE", "src", "dst", "zz") == 0
    run(client, "SADD", "dst", "b")
    events.clear()
    assert run(client, "SMOVE", "src", "dst", "b") == 1  # already there: only removed
    assert events == [("s", b"srem", b"src"), ("g", b"del", b"src")]
    assert run(client, "EXISTS", "src") == 0
    check_memory(engine)


def test_smove_same_key_and_type_checks(client: Client) -> None:
    run(client, "SADD", "s", "5")
    run(client, "SET", "str", "x")
    assert run(client, "SMOVE", "s", "s", "5") == 1
    assert run(client, "SMOVE", "s", "s", "6") == 0
    assert run(client, "SMOVE", "nokey", "str", "a") == 0  # missing source wins
    assert run(client, "SMOVE", "s", "str", "5") == WRONGTYPE
    assert run(client, "SMOVE", "str", "s", "5") == WRONGTYPE
    assert members(client, "s") == {b"5"}


# --- SINTER, SUNION, SDIFF, *STORE, SINTERCARD ---------------------------------------------------


@pytest.fixture
def abc(client: Client) -> Client:
    run(client, "SADD", "a", "1", "2", "3", "x")
    run(client, "SADD", "b", "2", "3", "4")
    run(client, "SADD", "c", "3", "x", "y")
    return client


def test_algebra(abc: Client) -> None:
    assert run(abc, "SINTER", "a", "b") == frozenset({b"2", b"3"})
    assert run(abc, "SINTER", "a", "b", "c") == frozenset({b"3"})
    assert run(abc, "SINTER", "a", "nokey") == frozenset()
    assert run(abc, "SUNION", "a", "b", "nokey") == frozenset({b"1", b"2", b"3", b"4", b"x"})
    assert run(abc, "SDIFF", "a", "b") == frozenset({b"1", b"x"})
    assert run(abc, "SDIFF", "a", "b", "c") == frozenset({b"1"})
    assert run(abc, "SDIFF", "nokey", "a") == frozenset()
    assert run(abc, "SDIFF", "a", "a") == frozenset()


def test_sinter_result_in_intset_order(abc: Client) -> None:
    run(abc, "SADD", "n1", "30", "10", "20")
    run(abc, "SADD", "n2", "20", "10", "30", "40")
    assert encode(run(abc, "SINTER", "n1", "n2")) == (b"*3\r\n$2\r\n10\r\n$2\r\n20\r\n$2\r\n30\r\n")


def test_store_commands(
    abc: Client, engine: Engine, events: list[tuple[str, bytes, bytes]]
) -> None:
    events.clear()
    assert run(abc, "SINTERSTORE", "d", "a", "b") == 2
    assert members(abc, "d") == {b"2", b"3"}
    assert events == [("n", b"new", b"d"), ("s", b"sinterstore", b"d")]
    assert run(abc, "SUNIONSTORE", "d", "a", "b") == 5
    assert run(abc, "SDIFFSTORE", "d", "a", "b") == 2
    assert members(abc, "d") == {b"1", b"x"}
    events.clear()
    assert run(abc, "SDIFFSTORE", "d", "a", "a") == 0
    assert run(abc, "EXISTS", "d") == 0
    assert events == [("g", b"del", b"d")]
    events.clear()
    assert run(abc, "SINTERSTORE", "d", "a", "nokey") == 0
    assert events == []  # nothing to delete: no event
    check_memory(engine)


def test_store_overwrites_any_type_and_drops_the_ttl(abc: Client) -> None:
    run(abc, "SET", "d", "string", "EX", "100")
    assert run(abc, "SUNIONSTORE", "d", "b") == 3
    assert run(abc, "TYPE", "d") == "set"
    assert run(abc, "TTL", "d") == -1
    assert run(abc, "SINTERSTORE", "a", "a", "b") == 2  # destination among the sources
    assert members(abc, "a") == {b"2", b"3"}


def test_sintercard(abc: Client) -> None:
    assert run(abc, "SINTERCARD", "2", "a", "b") == 2
    assert run(abc, "SINTERCARD", "2", "a", "b", "LIMIT", "1") == 1
    assert run(abc, "SINTERCARD", "2", "a", "b", "limit", "0") == 2
    assert run(abc, "SINTERCARD", "1", "a", "LIMIT", "1", "LIMIT", "3") == 3
    assert run(abc, "SINTERCARD", "1", "nokey") == 0
    for numkeys in ("0", "-1", "x"):
        assert run(abc, "SINTERCARD", numkeys, "a") == CommandError(
            "ERR numkeys should be greater than 0"
        )
    assert run(abc, "SINTERCARD", "3", "a", "b") == CommandError(
        "ERR Number of keys can't be greater than number of args"
    )
    assert run(abc, "SINTERCARD", "2", "a", "b", "LIMIT", "-1") == CommandError(
        "ERR LIMIT can't be negative"
    )
    assert run(abc, "SINTERCARD", "2", "a", "b", "LIMIT", "x") == CommandError(
        "ERR LIMIT can't be negative"
    )
    assert run(abc, "SINTERCARD", "2", "a", "b", "LIMIT") == SYNTAX
    assert run(abc, "SINTERCARD", "2", "a", "b", "foo") == SYNTAX


# --- SSCAN --------------------------------------------------------------------------------------


def test_sscan_of_an_intset_is_whole_and_sorted(client: Client) -> None:
    run(client, "SADD", "s", "5", "3", "-1", "100")
    assert run(client, "SSCAN", "s", "0", "COUNT", "1") == [b"0", [b"-1", b"3", b"5", b"100"]]
    assert run(client, "SSCAN", "s", "7", "MATCH", "[13]*") == [b"0", [b"3", b"100"]]


def test_sscan_of_a_hashtable_visits_everything(client: Client) -> None:
    everything = {f"m{i}".encode() for i in range(100)}
    run(client, "SADD", "s", *everything)
    seen: list[bytes] = []
    cursor = b"0"
    for _ in range(100):
        reply = run(client, "SSCAN", "s", cursor, "COUNT", "7")
        assert isinstance(reply, list)
        cursor, batch = reply  # type: ignore[assignment]
        assert isinstance(batch, list)
        seen += batch  # type: ignore[arg-type]
        if cursor == b"0":
            break
    assert cursor == b"0"
    assert sorted(seen) == sorted(everything)


def test_sscan_errors(client: Client) -> None:
    run(client, "SADD", "s", "a")
    assert run(client, "SSCAN", "s", "abc") == CommandError("ERR invalid cursor")
    assert run(client, "SSCAN", "nokey", "abc") == CommandError("ERR invalid cursor")
    assert run(client, "SSCAN", "nokey", "0", "foo") == [b"0", []]
    assert run(client, "SSCAN", "s", "0", "foo") == SYNTAX
    assert run(client, "SSCAN", "s", "0", "COUNT", "0") == SYNTAX
    assert run(client, "SSCAN", "s", "0", "TYPE", "set") == SYNTAX
    assert run(client, "SSCAN", "s", "0", "MATCH", "a") == [b"0", [b"a"]]


# --- encoding ----------------------------------------------------------------------------------


def test_encoding() -> None:
    s = SetValue()
    s.update({b"1", b"-9223372036854775808", b"9223372036854775807"})
    assert encoding(s) == b"intset"
    s.add(b"9223372036854775808")
    assert encoding(s) == b"hashtable"
    t = SetValue()
    t.update(str(i).encode() for i in range(512))
    assert encoding(t) == b"intset"
    t.add(b"512")
    assert encoding(t) == b"hashtable"
    for member in (b"007", b"-0", b"+1", b" 1", b"1.0", b"", b"a"):
        assert not is_int_member(member)
    assert is_int_member(b"0") and is_int_member(b"-5")


def test_members_in_order_sorts_only_an_intset() -> None:
    assert members_in_order({b"10", b"9", b"-2"}) == [b"-2", b"9", b"10"]
    assert sorted(members_in_order({b"b", b"1"})) == [b"1", b"b"]


# --- random access -------------------------------------------------------------------------------


def test_random_access_stays_uniform_across_changes() -> None:
    s = SetValue()
    s.update(b"m%d" % i for i in range(200))
    first = random_element(s)  # creates the slots
    assert first in s
    removed = [b"m%d" % i for i in range(150)]
    s.difference_update(removed)
    note_removed(s, removed)
    s.update({b"m0", b"new"})
    note_added(s, [b"m0", b"new"])  # m0 revives its slot, new gets one
    rng_state = random.getstate()
    random.seed(7)
    counts = Counter(random_element(s) for _ in range(20_000))
    random.setstate(rng_state)
    assert set(counts) == set(s)
    expected = 20_000 / len(s)
    assert all(abs(n - expected) < expected * 0.5 for n in counts.values())


def test_random_access_rebuilds_when_mostly_dead() -> None:
    s = SetValue()
    s.update(b"%d" % i for i in range(100))
    sampler = RandomAccess(s)
    for i in range(60):
        s.discard(b"%d" % i)
        sampler.removed(b"%d" % i)
    sampler.check()
    assert len(sampler.slots) == 40 and not sampler.dead
    s.add(b"unreported")  # a change nobody reported: the counts disagree, rebuild
    sampler.check()
    assert b"unreported" in sampler.slots


def test_random_elements_distinct_and_with_repeats() -> None:
    s = SetValue()
    s.update(b"%d" % i for i in range(1000))
    picks = random_elements(s, 10, distinct=True)
    assert len(set(picks)) == 10 and set(picks) <= s
    picks = random_elements(s, 600, distinct=True)  # more than half: sampled from a copy
    assert len(set(picks)) == 600
    picks = random_elements(s, 3000, distinct=False)
    assert len(picks) == 3000 and set(picks) <= s


def test_sampler_table_is_bounded() -> None:
    values = []
    for n in range(sets_module.MAX_SAMPLED + 5):
        s = SetValue()
        s.update(b"%d-%d" % (n, i) for i in range(100))
        random_element(s)
        values.append(s)
    assert len(sets_module._SAMPLERS) <= sets_module.MAX_SAMPLED


def test_spop_from_a_large_set_uses_every_member(client: Client, engine: Engine) -> None:
    run(client, "SADD", "s", *[f"x{i}" for i in range(300)])
    popped: list[Reply] = []
    for _ in range(300):
        popped.append(run(client, "SPOP", "s"))
        if len(popped) % 50 == 0:
            run(client, "SADD", "s", "late")  # added while slots exist
            run(client, "SREM", "s", "late")
    assert run(client, "EXISTS", "s") == 0
    assert len(set(popped)) == 300
    check_memory(engine)


def test_a_set_converted_to_hashtable_never_goes_back(client: Client) -> None:
    # As Redis 7.0: once a non-integer member made it a hashtable, removing it does not
    # make it an intset again (and SMEMBERS order follows the encoding).
    assert run(client, "SADD", "k", "1", "007") == 2
    assert run(client, "OBJECT", "ENCODING", "k") == b"hashtable"
    assert run(client, "SREM", "k", "007") == 1
    assert run(client, "OBJECT", "ENCODING", "k") == b"hashtable"
    assert run(client, "SADD", "ints", "3", "1") == 2
    assert run(client, "OBJECT", "ENCODING", "ints") == b"intset"
