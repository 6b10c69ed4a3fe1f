"""The dispatch pipeline, without sockets: every gate, replication of effects, blocking, WATCH."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from respcache.commands import Blocked, Client, Engine, command
from respcache.commands.registry import REGISTRY
from respcache.config import Config
from respcache.errors import CommandError
from respcache.protocol.types import NULL_ARRAY, OK, QUEUED, Reply


class Timers:
    """A stand-in for loop.call_later that fires on demand."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None], Any]] = []

    def call_later(self, delay: float, fn: Callable[[], None]) -> Any:
        timers = self

        class Handle:
            cancelled = False

            def cancel(self) -> None:
                self.cancelled = True
                timers.pending[:] = [p for p in timers.pending if p[2] is not self]

        handle = Handle()
        self.pending.append((delay, fn, handle))
        return handle

    def fire_all(self) -> None:
        pending, self.pending = self.pending, []
        for _, fn, _handle in pending:
            fn()


def make(**config: object) -> tuple[Engine, Client, list[tuple[int, list[list[bytes]]]]]:
    engine = Engine(Config(**config))
    replicated: list[tuple[int, list[list[bytes]]]] = []
    engine.propagator = lambda db, cmds: replicated.append((db, cmds))
    return engine, engine.new_client(), replicated


def run(engine: Engine, client: Client, *args: bytes | str | int) -> Reply | Blocked:
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return engine.execute(client, argv)


def _xtest_bpop(c: Client, argv: list[bytes]) -> Reply | Blocked:
    """A test-only blocking command: waits until the key exists, then returns and deletes it."""
    value = c.db.lookup_write(argv[1])
    if value is None:
        if c.in_exec:
            return NULL_ARRAY
        return Blocked([argv[1]], float(argv[2]))
    c.db.delete(argv[1])
    c.modified(argv[1], b"del", "g")
    c.propagate_as = [[b"DEL", argv[1]]]
    return [argv[1], value]  # type: ignore[list-item]


@pytest.fixture(autouse=True, scope="module")
def _registered_test_command() -> Iterator[None]:
    # Registered only while this module runs, so COMMAND and the docs never see it.
    command("xtest-bpop", arity=3, flags="write blocking", keys=(1, 1, 1))(_xtest_bpop)
    yield
    del REGISTRY["xtest-bpop"]


def test_unknown_command_quotes_arguments() -> None:
    engine, client, _ = make()
    reply = run(engine, client, "NOPE", "a", "b")
    assert reply == CommandError(
        "ERR unknown command 'NOPE', with args beginning with: 'a' 'b' "
    )
    assert engine.stats.errors["ERR"] == 1


@pytest.mark.parametrize(
    ("args", "name"),
    [(("GET",), "get"), (("GET", "a", "b"), "get"), (("SET", "k"), "set")],
)
def test_arity_errors_use_lower_case_name(args: tuple[str, ...], name: str) -> None:
    engine, client, _ = make()
    assert run(engine, client, *args) == CommandError(
        f"ERR wrong number of arguments for '{name}' command"
    )
    assert engine.stats.commands[name].rejected_calls == 1


def test_commands_are_case_insensitive() -> None:
    engine, client, _ = make()
    assert run(engine, client, "sEt", "k", "v") == OK
    assert run(engine, client, "get", "k") == b"v"


def test_noauth_until_authenticated() -> None:
    engine, client, _ = make(requirepass="secret")
    assert run(engine, client, "GET", "k") == CommandError("NOAUTH Authentication required.")
    assert run(engine, client, "AUTH", "wrong") == CommandError(
        "WRONGPASS invalid username-password pair or user is disabled."
    )
    assert run(engine, client, "AUTH", "secret") == OK
    assert run(engine, client, "GET", "k") is None


def test_read_only_gate_refuses_writes_but_not_reads_or_the_master_link() -> None:
    engine, client, _replicated = make()
    engine.read_only = True
    assert run(engine, client, "SET", "k", "v") == CommandError(
        "READONLY You can't write against a read only replica."
    )
    assert run(engine, client, "GET", "k") is None
    master = engine.new_client()
    master.is_master = True
    assert run(engine, master, "SET", "k", "v") == OK
    assert run(engine, client, "GET", "k") == b"v"


def test_oom_gate_refuses_denyoom_commands_under_noeviction() -> None:
    engine, client, _ = make(maxmemory="1mb")
    engine.keyspace.maxmemory = 1000
    for i in range(20):
        run(engine, client, "SET", f"k{i}", "x" * 40)
    assert engine.keyspace.over_maxmemory()
    assert run(engine, client, "SET", "more", "x") == CommandError(
        "OOM command not allowed when used memory > 'maxmemory'."
    )
    assert run(engine, client, "GET", "k1") == b"x" * 40  # reads still work


def test_eviction_before_a_command_is_replicated_as_del() -> None:
    engine, client, replicated = make(maxmemory_policy="allkeys-lru")
    for i in range(10):
        run(engine, client, "SET", f"k{i}", "x" * 40)
    replicated.clear()
    engine.keyspace.maxmemory = engine.keyspace.used_memory - 1
    assert run(engine, client, "SET", "new", "v") == OK
    assert replicated[0] == (0, [[b"DEL", b"k0"]])
    assert replicated[-1] == (0, [[b"SET", b"new", b"v"]])


def test_only_commands_that_change_data_are_replicated() -> None:
    engine, client, replicated = make()
    run(engine, client, "GET", "k")
    run(engine, client, "SET", "k", "v", "XX")  # no such key: nothing changes
    assert replicated == []
    run(engine, client, "SELECT", "3")
    run(engine, client, "SET", "k", "v")
    assert replicated == [(3, [[b"SET", b"k", b"v"]])]


def test_relative_expiry_is_replicated_as_absolute_time() -> None:
    engine, client, replicated = make()
    run(engine, client, "SET", "k", "v", "EX", "100")
    (_db, [cmd]) = replicated[0]
    assert cmd[:3] == [b"SET", b"k", b"v"]
    assert cmd[3] == b"PXAT"
    assert abs(int(cmd[4]) - (engine.keyspace.now_ms + 100_000)) < 1000


def test_lazy_expiry_is_replicated_as_del() -> None:
    engine, client, replicated = make()
    run(engine, client, "SET", "k", "v", "PX", "10")
    replicated.clear()
    engine.keyspace.clock = lambda: 10.0**10  # far in the future
    assert run(engine, client, "GET", "k") is None
    assert replicated == [(0, [[b"DEL", b"k"]])]


def test_multi_queues_and_errors_mark_the_transaction() -> None:
    engine, client, _ = make()
    client.multi = []
    assert run(engine, client, "SET", "k", "v") == QUEUED
    assert run(engine, client, "GET") == CommandError(
        "ERR wrong number of arguments for 'get' command"
    )
    assert client.multi_error
    assert len(client.multi) == 1


def test_resp2_pubsub_context_restricts_commands() -> None:
    engine, client, _ = make()
    client.subscriptions.add(b"ch")
    assert run(engine, client, "GET", "k") == CommandError(
        "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
        "RESET are allowed in this context"
    )
    assert run(engine, client, "PING") == [b"pong", b""]
    client.resp = 3
    assert run(engine, client, "GET", "k") is None


def test_watch_is_invalidated_by_writes_expiry_and_eviction() -> None:
    engine, client, _ = make()
    other = engine.new_client()
    engine.watches.watch(client, b"k")
    run(engine, other, "SET", "other", "v")
    assert not client.dirty_cas
    run(engine, other, "SET", "k", "v")
    assert client.dirty_cas
    engine.watches.unwatch_all(client)
    assert not engine.watches.watched
    run(engine, other, "SET", "k", "v", "PX", "5")
    engine.watches.watch(client, b"k")
    engine.keyspace.clock = lambda: 10.0**10
    run(engine, other, "GET", "k")  # expires the key
    assert client.dirty_cas


def test_blocked_client_is_served_when_the_key_is_written() -> None:
    engine, waiter, replicated = make()
    timers = Timers()
    engine.call_later = timers.call_later
    pusher = engine.new_client()
    reply = run(engine, waiter, "XTEST-BPOP", "q", "5")
    assert isinstance(reply, Blocked)
    engine.blocked_clients.park(waiter, reply)
    assert waiter.blocked is reply
    replicated.clear()
    run(engine, pusher, "SET", "q", "item")
    assert waiter.blocked is None
    assert waiter.pushed == [[b"q", b"item"]]
    assert run(engine, pusher, "GET", "q") is None
    assert replicated == [(0, [[b"SET", b"q", b"item"]]), (0, [[b"DEL", b"q"]])]
    assert timers.pending == []  # the timeout was cancelled


def test_blocked_clients_are_served_in_fifo_order_and_time_out() -> None:
    engine, first, _ = make()
    timers = Timers()
    engine.call_later = timers.call_later
    second = engine.new_client()
    for c in (first, second):
        reply = run(engine, c, "XTEST-BPOP", "q", "1")
        assert isinstance(reply, Blocked)
        engine.blocked_clients.park(c, reply)
    run(engine, engine.new_client(), "SET", "q", "one")
    assert first.pushed == [[b"q", b"one"]]
    assert second.blocked is not None
    timers.fire_all()
    assert second.pushed == [NULL_ARRAY]
    assert not engine.blocked_clients.waiting


def test_disconnect_forgets_watches_and_blocking() -> None:
    engine, client, _ = make()
    engine.call_later = Timers().call_later
    engine.watches.watch(client, b"w")
    reply = run(engine, client, "XTEST-BPOP", "q", "0")
    assert isinstance(reply, Blocked)
    engine.blocked_clients.park(client, reply)
    engine.remove_client(client)
    assert not engine.watches.watched
    assert not engine.blocked_clients.waiting
    assert client.id not in engine.clients


def test_command_stats_and_totals() -> None:
    engine, client, _ = make()
    run(engine, client, "SET", "k", "v")
    run(engine, client, "INCR", "k")
    stats = engine.stats.commands
    assert stats["set"].calls == 1
    assert stats["incr"].failed_calls == 1
    assert engine.stats.total_commands_processed == 2
    assert client.last_command == "incr"


def test_expiry_found_by_a_write_is_replicated_before_the_write() -> None:
    engine, client, replicated = make()
    run(engine, client, "SET", "n", "5", "PX", "10")
    replicated.clear()
    engine.keyspace.clock = lambda: 10.0**10
    assert run(engine, client, "INCR", "n") == 1
    assert replicated == [(0, [[b"DEL", b"n"]]), (0, [[b"INCR", b"n"]])]


def test_a_read_that_expires_a_key_replicates_only_the_del() -> None:
    engine, client, replicated = make()
    run(engine, client, "SET", "k", "v", "PX", "10")
    replicated.clear()
    engine.keyspace.clock = lambda: 10.0**10
    assert run(engine, client, "GET", "k") is None
    assert replicated == [(0, [[b"DEL", b"k"]])]
