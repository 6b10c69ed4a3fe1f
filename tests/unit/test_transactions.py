"""MULTI/EXEC/DISCARD/WATCH/UNWATCH through the engine, as Redis 7.0.15 answers them:
queueing, errors that do and do not abort, WATCH invalidation by every path (writes,
expiry, eviction, FLUSHALL, SWAPDB), the gates that run before queueing, and the
replication of a transaction as one unit."""

from __future__ import annotations

import pytest
from conftest import Clock, run

from respcache.commands import Client, Engine
from respcache.commands.transactions import transaction_parts
from respcache.errors import CommandError
from respcache.protocol.types import NULL_ARRAY, OK, PONG, QUEUED

EXECABORT = CommandError("EXECABORT Transaction discarded because of previous errors.")
WRONGTYPE = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")


@pytest.fixture
def units(engine: Engine) -> list[tuple[int, list[list[bytes]]]]:
    """Every propagate call as it was made: (db, commands)."""
    out: list[tuple[int, list[list[bytes]]]] = []
    engine.propagator = lambda db, commands: out.append((db, commands))
    return out


def exec_after(client: Client, *commands: tuple[str | int, ...]) -> object:
    assert run(client, "MULTI") == OK
    for cmd in commands:
        assert run(client, *cmd) == QUEUED, cmd
    return run(client, "EXEC")


# --- MULTI / EXEC / DISCARD ------------------------------------------------------------------


def test_queued_commands_run_at_exec_with_errors_in_place(client: Client) -> None:
    assert run(client, "MULTI") == OK
    assert client.multi == []
    assert run(client, "SET", "a", "b") == QUEUED
    assert run(client, "LPUSH", "a", "x") == QUEUED
    assert run(client, "GET", "a") == QUEUED
    assert run(client, "GET", "a", "nope") != QUEUED  # arity: refused now
    client.multi_error = False  # (only to check the in-place runtime error below)
    assert run(client, "EXEC") == [OK, WRONGTYPE, b"b"]
    assert client.multi is None
    assert client.in_exec is False


def test_empty_transaction(client: Client) -> None:
    assert exec_after(client) == []


def test_errors_that_do_not_abort(client: Client) -> None:
    run(client, "MULTI")
    assert run(client, "MULTI") == CommandError("ERR MULTI calls can not be nested")
    assert run(client, "WATCH", "x") == CommandError("ERR WATCH inside MULTI is not allowed")
    assert run(client, "SET", "k", "v") == QUEUED
    assert run(client, "EXEC") == [OK]


def test_without_multi(client: Client) -> None:
    assert run(client, "EXEC") == CommandError("ERR EXEC without MULTI")
    assert run(client, "DISCARD") == CommandError("ERR DISCARD without MULTI")
    assert run(client, "UNWATCH") == OK


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (("NOSUCH", "x"), "ERR unknown command 'NOSUCH', with args beginning with: 'x' "),
        (("SET", "k"), "ERR wrong number of arguments for 'set' command"),
        (("SAVE",), "ERR Command not allowed inside a transaction"),
    ],
)
def test_queueing_error_aborts_exec(client: Client, bad: tuple[str, ...], error: str) -> None:
    run(client, "MULTI")
    run(client, "SET", "k", "v")
    assert run(client, *bad) == CommandError(error)
    assert run(client, "EXEC") == EXECABORT
    assert run(client, "GET", "k") is None
    assert run(client, "EXEC") == CommandError("ERR EXEC without MULTI")


def test_exec_with_arguments_aborts_with_the_reason(client: Client) -> None:
    run(client, "MULTI")
    run(client, "SET", "k", "v")
    assert run(client, "EXEC", "foo") == CommandError(
        "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"
    )
    assert client.multi is None
    assert run(client, "EXEC") == CommandError("ERR EXEC without MULTI")


def test_discard_forgets_queue_and_watches(client: Client, engine: Engine) -> None:
    run(client, "WATCH", "w")
    run(client, "MULTI")
    run(client, "SET", "k", "v")
    assert run(client, "DISCARD") == OK
    assert client.multi is None
    assert not client.watched and not engine.watches.watched
    assert run(client, "GET", "k") is None


def test_commands_in_exec_are_counted(client: Client, engine: Engine) -> None:
    exec_after(client, ("SET", "k", "v"), ("GET", "k"))
    assert engine.stats.commands["set"].calls == 1
    assert engine.stats.commands["get"].calls == 1
    assert engine.stats.commands["exec"].calls == 1


def test_select_inside_multi(client: Client, engine: Engine) -> None:
    assert exec_after(client, ("SELECT", 3), ("SET", "k", "v")) == [OK, OK]
    assert client.db.id == 3
    assert engine.keyspace.dbs[3].peek(b"k") == b"v"


# --- gates before queueing ------------------------------------------------------------------------


def test_readonly_inside_multi(client: Client, engine: Engine) -> None:
    engine.read_only = True
    run(client, "MULTI")
    assert run(client, "GET", "k") == QUEUED
    assert run(client, "SET", "k", "v") == CommandError(
        "READONLY You can't write against a read only replica."
    )
    assert run(client, "EXEC") == EXECABORT


def test_exec_refused_as_a_write_on_a_read_only_node(client: Client, engine: Engine) -> None:
    run(client, "MULTI")
    run(client, "SET", "k", "v")
    engine.read_only = True  # became a follower meanwhile
    assert run(client, "EXEC") == CommandError(
        "EXECABORT Transaction discarded because of: "
        "READONLY You can't write against a read only replica."
    )
    assert client.multi is None


def test_out_of_memory_refuses_every_queued_command(client: Client, engine: Engine) -> None:
    run(client, "SET", "big", "x" * 100)
    engine.keyspace.maxmemory = 1
    run(client, "MULTI")
    oom = CommandError("OOM command not allowed when used memory > 'maxmemory'.")
    assert run(client, "GET", "a") == oom
    assert run(client, "PING") == oom
    assert run(client, "EXEC") == EXECABORT


def test_exec_refused_when_memory_ran_out_after_queueing(client: Client, engine: Engine) -> None:
    run(client, "SET", "big", "x" * 100)
    run(client, "MULTI")
    run(client, "SET", "a", "b")
    engine.keyspace.maxmemory = 1
    assert run(client, "EXEC") == CommandError(
        "EXECABORT Transaction discarded because of: "
        "OOM command not allowed when used memory > 'maxmemory'."
    )
    engine.keyspace.maxmemory = 0
    assert run(client, "GET", "a") is None


def test_read_only_transaction_runs_out_of_memory(client: Client, engine: Engine) -> None:
    run(client, "SET", "big", "x" * 100)
    run(client, "MULTI")
    run(client, "GET", "big")
    engine.keyspace.maxmemory = 1
    assert run(client, "EXEC") == [b"x" * 100]


def test_command_gate_refusing_exec_aborts(client: Client, engine: Engine) -> None:
    run(client, "MULTI")
    run(client, "SET", "a", "b")
    engine.command_gate = lambda c, spec, writes: CommandError(
        "NOREPLICAS Not enough good replicas to write."
    )
    assert run(client, "EXEC") == CommandError(
        "EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write."
    )
    assert client.multi is None


# --- WATCH ------------------------------------------------------------------------------------------


def test_watch_write_by_another_client(client: Client, engine: Engine) -> None:
    other = engine.new_client()
    run(client, "SET", "k", "1")
    run(client, "WATCH", "k")
    run(other, "SET", "k", "2")
    assert exec_after(client, ("GET", "k")) is NULL_ARRAY
    assert not engine.watches.watched  # unwatched after EXEC either way


def test_watch_reads_do_not_invalidate(client: Client, engine: Engine) -> None:
    run(client, "SET", "k", "1")
    run(client, "WATCH", "k", "k", "nokey")
    run(engine.new_client(), "GET", "k")
    assert exec_after(client, ("GET", "k")) == [b"1"]


def test_own_write_before_multi_invalidates(client: Client) -> None:
    run(client, "WATCH", "k")
    run(client, "SET", "k", "6")
    assert exec_after(client, ("GET", "k")) is NULL_ARRAY


def test_watch_of_a_missing_key_created_then_deleted(client: Client, engine: Engine) -> None:
    other = engine.new_client()
    run(client, "WATCH", "nokey")
    run(other, "SET", "nokey", "1")
    run(other, "DEL", "nokey")
    assert exec_after(client, ("PING",)) is NULL_ARRAY


def test_unwatch_and_exec_forget_watches(client: Client, engine: Engine) -> None:
    other = engine.new_client()
    run(client, "WATCH", "k")
    assert run(client, "UNWATCH") == OK
    run(other, "SET", "k", "3")
    assert exec_after(client, ("SET", "x", "1")) == [OK]
    run(client, "WATCH", "k")
    assert exec_after(client, ("SET", "x", "2")) == [OK]
    run(other, "SET", "k", "4")  # after EXEC: no longer watched
    assert exec_after(client, ("SET", "x", "3")) == [OK]


def test_watch_invalidated_by_expire_and_persist(client: Client, engine: Engine) -> None:
    other = engine.new_client()
    run(client, "SET", "m", "1")
    run(client, "WATCH", "m")
    run(other, "EXPIRE", "m", 100)
    assert exec_after(client, ("PING",)) is NULL_ARRAY
    run(client, "WATCH", "m")
    assert run(other, "PERSIST", "m") == 1
    assert exec_after(client, ("PING",)) is NULL_ARRAY
    run(client, "WATCH", "m")
    assert run(other, "PERSIST", "m") == 0  # no change, no invalidation
    assert exec_after(client, ("SET", "x", "1")) == [OK]


def test_watched_key_expiring_before_exec(client: Client, engine: Engine, clock: Clock) -> None:
    """A live key WATCHed that expires by EXEC time fails EXEC, deleted or not (7.0)."""
    run(client, "SET", "a", "1", "PX", 100)
    run(client, "WATCH", "a")
    clock.advance(0.2)
    assert exec_after(client, ("PING",)) is NULL_ARRAY


def test_watched_key_lazily_expired_by_a_read(client: Client, engine: Engine, clock: Clock) -> None:
    run(client, "SET", "a", "1", "PX", 100)
    run(client, "WATCH", "a")
    clock.advance(0.2)
    assert run(engine.new_client(), "GET", "a") is None  # deletes it
    assert exec_after(client, ("PING",)) is NULL_ARRAY


def test_key_already_expired_when_watched(client: Client, engine: Engine, clock: Clock) -> None:
    """Its deletion (lazy or active) is no logical change (Redis 7.0)."""
    run(client, "SET", "a", "1", "PX", 50)
    clock.advance(0.1)
    run(client, "WATCH", "a")
    assert run(engine.new_client(), "GET", "a") is None
    assert exec_after(client, ("SET", "x", "1")) == [OK]
    run(client, "SET", "b", "1", "PX", 50)
    clock.advance(0.1)
    run(client, "WATCH", "b")
    engine.keyspace.active_expire_cycle(1.0)
    engine.flush_store_events()
    assert client.dirty_cas is False
    assert run(client, "MULTI") == OK
    assert run(client, "EXEC") == []


def test_key_already_expired_when_watched_then_set(
    client: Client, engine: Engine, clock: Clock
) -> None:
    run(client, "SET", "a", "1", "PX", 50)
    clock.advance(0.1)
    run(client, "WATCH", "a")
    run(engine.new_client(), "SET", "a", "2")
    assert exec_after(client, ("PING",)) is NULL_ARRAY
    assert not engine.watches.expired


def test_watch_invalidated_by_eviction(client: Client, engine: Engine) -> None:
    engine.keyspace.set_policy("allkeys-lru")
    for i in range(5):
        run(client, "SET", f"k{i}", "x" * 50)
    run(client, "WATCH", "k0")
    engine.keyspace.maxmemory = engine.keyspace.used_memory - 1
    run(engine.new_client(), "GET", "k4")  # evicts k0, the least recently used
    assert run(client, "EXISTS", "k0") == 0
    engine.keyspace.maxmemory = 0
    assert exec_after(client, ("PING",)) is NULL_ARRAY


def test_watch_invalidated_by_flushall_and_flushdb(client: Client, engine: Engine) -> None:
    other = engine.new_client()
    for flush in ("FLUSHALL", "FLUSHDB"):
        run(client, "SET", "e", "1")
        run(client, "WATCH", "e")
        run(other, flush)
        assert exec_after(client, ("PING",)) is NULL_ARRAY, flush


def test_touch_watched_on_flush_only_touches_existing_keys(client: Client, engine: Engine) -> None:
    run(client, "SET", "e", "1")
    run(client, "WATCH", "e", "missing")
    other = engine.new_client()
    run(other, "WATCH", "missing")
    engine.watches.touch_on_flush(None)
    assert client.dirty_cas is True
    assert other.dirty_cas is False


def test_watch_invalidated_by_swapdb(client: Client, engine: Engine) -> None:
    other = engine.new_client()
    run(client, "SET", "w", "1")
    run(client, "WATCH", "w")
    run(other, "SWAPDB", 0, 1)
    run(other, "SWAPDB", 0, 1)
    assert exec_after(client, ("PING",)) is NULL_ARRAY


def test_watch_is_per_database(client: Client, engine: Engine) -> None:
    other = engine.new_client()
    run(client, "SET", "w1", "1")
    run(client, "WATCH", "w1")
    run(other, "SELECT", 1)
    run(other, "SET", "w1", "x")
    assert exec_after(client, ("SET", "x", "1")) == [OK]


def test_swapdb_of_a_watched_stale_key_is_no_change(
    client: Client, engine: Engine, clock: Clock
) -> None:
    """Redis 7.0's touchAllWatchedKeysInDb: expired keys moved by SWAPDB change nothing."""
    run(client, "SELECT", 1)
    run(client, "SET", "x", "foo", "PX", 1)
    clock.advance(0.01)
    run(client, "WATCH", "x")  # already expired: marked
    assert run(engine.new_client(), "SWAPDB", 0, 1) == OK  # expired key replaced by none
    assert exec_after(client, ("PING",)) == [PONG]


def test_swapdb_missing_key_replaced_with_stale_key_is_no_change(
    client: Client, engine: Engine, clock: Clock
) -> None:
    run(client, "SET", "x", "foo", "PX", 1)  # db 0
    clock.advance(0.01)
    run(client, "SELECT", 1)
    run(client, "WATCH", "x")  # db 1: missing
    assert run(engine.new_client(), "SWAPDB", 0, 1) == OK
    assert (client, 1, b"x") in engine.watches.expired  # now an expired key, remembered
    assert exec_after(client, ("PING",)) == [PONG]


def test_swapdb_stale_key_replaced_with_stale_key_is_no_change(
    client: Client, engine: Engine, clock: Clock
) -> None:
    run(client, "SET", "x", "foo", "PX", 1)
    run(client, "SELECT", 1)
    run(client, "SET", "x", "bar", "PX", 1)
    clock.advance(0.01)
    run(client, "WATCH", "x")
    assert run(engine.new_client(), "SWAPDB", 0, 1) == OK
    assert exec_after(client, ("PING",)) == [PONG]


def test_swapdb_stale_key_replaced_with_live_key_invalidates(
    client: Client, engine: Engine, clock: Clock
) -> None:
    run(client, "SET", "x", "live")  # db 0
    run(client, "SELECT", 1)
    run(client, "SET", "x", "bar", "PX", 1)
    clock.advance(0.01)
    run(client, "WATCH", "x")
    assert run(engine.new_client(), "SWAPDB", 0, 1) == OK
    assert exec_after(client, ("PING",)) is NULL_ARRAY


def test_swapdb_missing_key_replaced_with_live_key_invalidates(
    client: Client, engine: Engine
) -> None:
    run(client, "SET", "x", "live")  # db 0
    run(client, "SELECT", 1)
    run(client, "WATCH", "x")
    assert run(engine.new_client(), "SWAPDB", 0, 1) == OK
    assert exec_after(client, ("PING",)) is NULL_ARRAY


def test_disconnect_forgets_watches(client: Client, engine: Engine, clock: Clock) -> None:
    run(client, "SET", "a", "1", "PX", 50)
    clock.advance(0.1)
    run(client, "WATCH", "a", "b")
    engine.remove_client(client)
    assert not engine.watches.watched
    assert not engine.watches.expired


# --- replication ----------------------------------------------------------------------------------------


def test_transaction_replicates_as_one_unit(
    client: Client, units: list[tuple[int, list[list[bytes]]]]
) -> None:
    exec_after(client, ("RPUSH", "a", "1"), ("GET", "a"), ("LPOP", "a"))
    assert units == [(0, [[b"MULTI"], [b"RPUSH", b"a", b"1"], [b"LPOP", b"a"], [b"EXEC"]])]


def test_single_write_replicates_bare_and_reads_not_at_all(
    client: Client, units: list[tuple[int, list[list[bytes]]]]
) -> None:
    exec_after(client, ("GET", "a"))
    exec_after(client)
    assert units == []
    exec_after(client, ("SET", "x", "1"), ("GET", "x"))
    assert units == [(0, [[b"SET", b"x", b"1"]])]


def test_failed_transactions_replicate_nothing(
    client: Client, engine: Engine, units: list[tuple[int, list[list[bytes]]]]
) -> None:
    run(client, "WATCH", "k")
    run(engine.new_client(), "SET", "k", "v")
    units.clear()
    assert exec_after(client, ("SET", "a", "1"), ("SET", "b", "2")) is NULL_ARRAY
    run(client, "MULTI")
    run(client, "SET", "a", "1")
    run(client, "SET")
    assert run(client, "EXEC") == EXECABORT
    assert units == []


def test_blocking_pop_and_expiry_inside_the_unit(
    client: Client, clock: Clock, units: list[tuple[int, list[list[bytes]]]]
) -> None:
    run(client, "RPUSH", "q", "v")
    run(client, "SET", "t", "1", "PX", 10)
    clock.advance(1)
    units.clear()
    exec_after(client, ("BLPOP", "q", 0), ("GET", "t"), ("SET", "u", "1"))
    assert units == [
        (0, [[b"MULTI"], [b"LPOP", b"q"], [b"DEL", b"t"], [b"SET", b"u", b"1"], [b"EXEC"]])
    ]


def test_transaction_across_databases(
    client: Client, units: list[tuple[int, list[list[bytes]]]]
) -> None:
    """Each part in its database: the stream selects before MULTI and inside, as Redis."""
    exec_after(client, ("SET", "y", "1"), ("SELECT", 1), ("SET", "y", "2"))
    assert units == [
        (0, [[b"MULTI"], [b"SET", b"y", b"1"]]),
        (1, [[b"SET", b"y", b"2"], [b"EXEC"]]),
    ]


def test_transaction_parts() -> None:
    set_a, del_a = [b"SET", b"a", b"1"], [b"DEL", b"a"]
    assert transaction_parts([]) == []
    assert transaction_parts([(2, [set_a])]) == [(2, [set_a])]
    assert transaction_parts([(2, [set_a]), (2, [del_a])]) == [
        (2, [[b"MULTI"], set_a, del_a, [b"EXEC"]])
    ]
    assert transaction_parts([(1, [set_a]), (2, [del_a]), (1, [set_a])]) == [
        (1, [[b"MULTI"], set_a]),
        (2, [del_a]),
        (1, [set_a, [b"EXEC"]]),
    ]
    # A script's unit inside EXEC is flattened into the transaction's.
    nested = [(0, [set_a]), (3, [[b"MULTI"], del_a, set_a, [b"EXEC"]])]
    assert transaction_parts(nested) == [
        (0, [[b"MULTI"], set_a]),
        (3, [del_a, set_a, [b"EXEC"]]),
    ]


def test_transaction_in_another_db_than_the_client_ends_in(
    client: Client, units: list[tuple[int, list[list[bytes]]]]
) -> None:
    """No SELECT back to the client's database (the stream tracks where it is)."""
    exec_after(client, ("SELECT", 2), ("SET", "a", "1"), ("SET", "b", "1"), ("SELECT", 0))
    assert units == [(2, [[b"MULTI"], [b"SET", b"a", b"1"], [b"SET", b"b", b"1"], [b"EXEC"]])]


def test_publish_in_transaction_is_replicated(
    client: Client, units: list[tuple[int, list[list[bytes]]]]
) -> None:
    exec_after(client, ("PUBLISH", "ch", "x"))
    assert units == [(0, [[b"PUBLISH", b"ch", b"x"]])]
