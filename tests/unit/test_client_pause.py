"""CLIENT PAUSE through the engine's admission stage (Redis 7.0's processCommand).

A held command did not run: ``execute`` answers :class:`Hold`, the transport
parks in ``hold.queue`` and is told to run it again when the pause ends.
"""

from __future__ import annotations

from conftest import Clock, Run

from respcache.commands import Client, Engine
from respcache.commands.admission import Forward, Hold
from respcache.commands.pause import OFF, PAUSE_ALL, PAUSE_WRITE
from respcache.errors import CommandError
from respcache.protocol.types import OK, PONG, QUEUED


class Parked:
    def __init__(self) -> None:
        self.resumed = 0
        self.forwarded: list[Forward] = []

    def resume_pending(self) -> None:
        self.resumed += 1

    def forward(self, forward: Forward) -> None:
        self.forwarded.append(forward)


def test_pause_write_holds_what_may_replicate_and_runs_reads(
    engine: Engine, client: Client, run: Run
) -> None:
    other = engine.new_client()
    assert run(client, "SET", "k", "v") is OK
    assert run(client, "CLIENT", "PAUSE", "10000", "WRITE") is OK
    held = run(other, "SET", "k", "w")
    assert isinstance(held, Hold)
    assert run(other, "GET", "k") == b"v"  # the SET did not run
    assert isinstance(run(other, "PUBLISH", "ch", "m"), Hold)  # may_replicate
    assert isinstance(run(other, "DEL", "k"), Hold)
    assert run(other, "PING") is PONG
    assert run(other, "INFO", "clients").endswith(b"paused_reason:client_pause\r\n")  # type: ignore[union-attr]
    parked = Parked()
    held.queue.add(parked)
    assert run(client, "CLIENT", "UNPAUSE") is OK
    assert parked.resumed == 1
    assert run(other, "SET", "k", "w") is OK
    assert b"paused_reason:none" in run(other, "INFO", "clients")  # type: ignore[operator]


def test_pause_all_holds_every_command_of_non_replicas(
    engine: Engine, client: Client, run: Run
) -> None:
    assert run(client, "CLIENT", "PAUSE", "10000") is OK
    assert engine.pause.type == PAUSE_ALL
    assert isinstance(run(client, "GET", "k"), Hold)
    assert isinstance(run(client, "PING"), Hold)
    assert isinstance(run(client, "CLIENT", "UNPAUSE"), Hold)  # as in Redis: even UNPAUSE
    replica = engine.new_client()
    replica.is_replica = True
    assert run(replica, "PING") is PONG  # replicas are never paused
    engine.pause.unpause("client_pause")
    assert run(client, "GET", "k") is None


def test_commands_inside_multi_are_held_before_queueing(
    engine: Engine, client: Client, run: Run
) -> None:
    assert run(client, "MULTI") is OK
    assert run(client, "GET", "k") == QUEUED
    assert run(client, "CLIENT", "PAUSE", "10000", "WRITE") == QUEUED
    assert run(client, "EXEC") == [None, OK]  # the pause starts after the transaction
    assert run(client, "MULTI") is OK
    assert isinstance(run(client, "SET", "k", "v"), Hold)  # held before it is queued
    assert run(client, "GET", "k") == QUEUED
    engine.pause.unpause("client_pause")
    assert run(client, "SET", "k", "v") == QUEUED
    engine.pause.pause("client_pause", 10**15, PAUSE_WRITE)
    assert isinstance(run(client, "EXEC"), Hold)  # EXEC of a transaction that writes
    engine.pause.unpause("client_pause")
    assert run(client, "EXEC") == [None, OK]


def test_the_timeout_ends_the_pause_and_a_second_pause_keeps_the_stricter(
    engine: Engine, client: Client, clock: Clock, run: Run
) -> None:
    assert run(client, "CLIENT", "PAUSE", "1000", "WRITE") is OK
    assert run(client, "CLIENT", "PAUSE", "500", "ALL") is OK
    assert engine.pause.type == PAUSE_ALL
    assert run(client, "CLIENT", "PAUSE", "2000", "WRITE") is not None  # held: ALL
    engine.pause.pause("client_pause", int(clock.now * 1000) + 2000, PAUSE_WRITE)
    assert engine.pause.type == PAUSE_ALL  # the type never becomes less strict
    hold = run(client, "SET", "k", "v")
    assert isinstance(hold, Hold)
    parked = Parked()
    hold.queue.add(parked)
    clock.advance(2.5)
    assert run(client, "GET", "k") is None  # the pause ended: the SET never ran
    assert engine.pause.type == OFF
    assert parked.resumed == 1


def test_pause_zero_and_errors(engine: Engine, client: Client, run: Run) -> None:
    assert run(client, "CLIENT", "PAUSE", "0") is OK
    assert engine.pause.type == OFF  # Redis: a zero timeout has already ended
    assert run(client, "SET", "k", "v") is OK
    # The mode is checked before the timeout, as in Redis 7.0.
    assert run(client, "CLIENT", "PAUSE", "x", "BAD") == CommandError(
        "ERR CLIENT PAUSE mode must be WRITE or ALL"
    )
    assert run(client, "CLIENT", "PAUSE", "x", "WRITE") == CommandError(
        "ERR timeout is not an integer or out of range"
    )


def test_the_dataset_stays_still_while_paused(
    engine: Engine, client: Client, clock: Clock, run: Run
) -> None:
    assert run(client, "SET", "k", "v", "PX", "100") is OK
    assert run(client, "CLIENT", "PAUSE", "10000", "WRITE") is OK
    clock.advance(1)
    engine.keyspace.update_clock()
    assert run(client, "GET", "k") is None  # hidden ...
    assert b"k" in engine.keyspace.dbs[0].data  # ... but not deleted
    assert engine.keyspace.active_expire_cycle(1.0) == 0
    assert run(client, "CLIENT", "UNPAUSE") is OK
    assert run(client, "GET", "k") is None
    assert b"k" not in engine.keyspace.dbs[0].data


def test_pause_write_holds_pfcount_and_scripts_that_may_write(
    engine: Engine, client: Client, run: Run
) -> None:
    """Redis's getCommandFlags: PFCOUNT may replicate; a script's declared flags decide."""
    other = engine.new_client()
    assert run(client, "PFADD", "h", "a") == 1
    no_writes = "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])"
    assert run(client, "SET", "k", "v") is OK
    sha = run(client, "SCRIPT", "LOAD", no_writes)
    assert run(
        client,
        "FUNCTION",
        "LOAD",
        "#!lua name=lib\nredis.register_function{function_name='ro', "
        "callback=function() return 'hi' end, flags={'no-writes'}}\n"
        "redis.register_function('rw', function() return redis.call('INCR', 'n') end)",
    ) == b"lib"
    assert run(client, "CLIENT", "PAUSE", "10000", "WRITE") is OK
    assert isinstance(run(other, "PFCOUNT", "h"), Hold)
    # A script's reply is encoded by the script run (a raw RESP reply): it ran.
    assert run(other, "EVAL", no_writes, "1", "k") == b"$1\r\nv\r\n"
    assert run(other, "EVALSHA", sha, "1", "k") == b"$1\r\nv\r\n"
    assert run(other, "EVAL", "#!lua flags=no-writes\nreturn 1", "0") == b":1\r\n"  # not cached
    assert isinstance(run(other, "EVAL", "return 1", "0"), Hold)  # no shebang: may write
    assert isinstance(run(other, "EVAL", "#!lua\nreturn 1", "0"), Hold)
    assert isinstance(run(other, "EVALSHA", "0" * 40, "0"), Hold)  # unknown: may write
    assert run(other, "FCALL", "ro", "0") == b"$2\r\nhi\r\n"
    assert isinstance(run(other, "FCALL", "rw", "0"), Hold)
    assert isinstance(run(other, "FCALL", "nosuch", "0"), Hold)


def test_clients_held_by_a_pause_count_as_blocked_clients(
    engine: Engine, client: Client, run: Run
) -> None:
    other = engine.new_client()
    assert run(client, "CLIENT", "PAUSE", "10000", "WRITE") is OK
    held = run(other, "SET", "k", "w")
    assert isinstance(held, Hold)
    held.queue.add(Parked())
    info = run(client, "INFO", "clients")
    assert isinstance(info, bytes)
    assert b"blocked_clients:1\r\n" in info
    assert b"clients_in_timeout_table:0\r\n" in info
    assert run(client, "CLIENT", "UNPAUSE") is OK
    assert b"blocked_clients:0\r\n" in run(client, "INFO", "clients")  # type: ignore[operator]
