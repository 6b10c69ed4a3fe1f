"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis 7.0's ``transactions`` group).

Queueing happens in the engine (``Engine.execute``): inside MULTI a command is
checked (arity, authentication, READONLY, out of memory) and appended to
``client.multi`` as ``(spec, argv)``, or refused and the transaction flagged
(``client.multi_error``) so that EXEC answers EXECABORT. MULTI, EXEC, DISCARD,
WATCH, QUIT and RESET run at once.

EXEC runs the queued commands one after the other with ``Engine.call`` and
``client.in_exec`` set (blocking commands then answer as a timeout instead of
blocking); a runtime error is returned in place in the reply array. What the
commands replicate is collected and sent as one unit: a single command as it
is, several wrapped in ``MULTI`` … ``EXEC`` (as Redis 7.0's
propagatePendingCommands does), with ``SELECT`` inside when the transaction
changes database. A transaction that changes nothing replicates nothing.

WATCH bookkeeping lives in ``commands/watch.py`` (``engine.watches``): any
write to a WATCHed key, its expiry or eviction, FLUSHDB/FLUSHALL and SWAPDB set
``client.dirty_cas``; EXEC then answers the null array. A key already expired
when WATCHed may be deleted without invalidating the transaction, and a key
that was live when WATCHed but has expired by EXEC time invalidates it, even if
nothing deleted it yet (Redis 7.0's ``isWatchedKeyExpired``).
"""

from __future__ import annotations

from typing import Final, cast

from respcache.commands.blocking import Blocked
from respcache.commands.client import Client
from respcache.commands.engine import Engine
from respcache.commands.registry import CommandSpec, command
from respcache.errors import EXECABORT, CommandError
from respcache.protocol.types import NULL_ARRAY, OK, Reply

MULTI_NESTED: Final = "ERR MULTI calls can not be nested"
EXEC_WITHOUT_MULTI: Final = "ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI: Final = "ERR DISCARD without MULTI"
WATCH_INSIDE_MULTI: Final = "ERR WATCH inside MULTI is not allowed"


@command(
    "multi",
    arity=1,
    flags="noscript loading stale fast allow_busy",
    group="transactions",
    summary="Mark the start of a transaction block",
    since="1.2.0",
    complexity="O(1)",
    acl="@fast @transaction",
)
def multi(c: Client, argv: list[bytes]) -> Reply:
    if c.multi is not None:
        raise CommandError(MULTI_NESTED)  # the transaction goes on, as in Redis
    c.multi = []
    c.multi_error = False
    return OK


@command(
    "discard",
    arity=1,
    flags="noscript loading stale fast allow_busy",
    group="transactions",
    summary="Discard all commands issued after MULTI",
    since="2.0.0",
    complexity="O(N), when N is the number of queued commands",
    acl="@fast @transaction",
)
def discard(c: Client, argv: list[bytes]) -> Reply:
    if c.multi is None:
        raise CommandError(DISCARD_WITHOUT_MULTI)
    c.engine.discard_transaction(c)
    return OK


@command(
    "watch",
    arity=-2,
    flags="noscript loading stale fast allow_busy",
    keys=(1, -1, 1),
    group="transactions",
    summary="Watch the given keys to determine execution of the MULTI/EXEC block",
    since="2.2.0",
    complexity="O(1) for every key.",
    acl="@fast @transaction",
)
def watch(c: Client, argv: list[bytes]) -> Reply:
    if c.multi is not None:
        raise CommandError(WATCH_INSIDE_MULTI)
    engine = c.engine
    for key in argv[1:]:
        engine.watches.watch(c, key)
    return OK


@command(
    "unwatch",
    arity=1,
    flags="noscript loading stale fast allow_busy",
    group="transactions",
    summary="Forget about all watched keys",
    since="2.2.0",
    complexity="O(1)",
    acl="@fast @transaction",
)
def unwatch(c: Client, argv: list[bytes]) -> Reply:
    c.engine.watches.unwatch_all(c)
    return OK


@command(
    "exec",
    arity=1,
    flags="noscript loading stale skip_slowlog",
    group="transactions",
    summary="Execute all commands issued after MULTI",
    since="1.2.0",
    complexity="Depends on commands in the transaction",
    acl="@slow @transaction",
)
def exec_(c: Client, argv: list[bytes]) -> Reply:
    queue = c.multi
    if queue is None:
        raise CommandError(EXEC_WITHOUT_MULTI)
    engine = c.engine
    if not c.dirty_cas and c.watched and engine.watches.expired_since_watched(c):
        c.dirty_cas = True
    if c.multi_error:
        engine.discard_transaction(c)
        raise CommandError(EXECABORT)
    if c.dirty_cas:
        engine.discard_transaction(c)
        return NULL_ARRAY
    engine.discard_transaction(c)  # unwatch before running, as Redis does
    replies: list[Reply] = []
    collected: list[tuple[int, list[list[bytes]]]] = []
    propagator = engine.propagator

    def collect(db: int, commands: list[list[bytes]]) -> None:
        collected.append((db, commands))

    if propagator is not None:
        engine.propagator = collect
    dirty = engine.dirty
    c.in_exec = True
    try:
        for spec, queued_argv in queue:
            denied = engine.acl.check(c.user, cast(CommandSpec, spec), queued_argv)
            if denied is not None:  # the rules changed since it was queued (execCommand)
                engine.gate_steps.log_acl(c, denied.reason, denied.object, c.user.name, "multi")
                replies.append(CommandError(EXEC_NOPERM + _EXEC_NOPERM_REASONS[denied.reason]))
                continue
            reply = engine.call(c, cast(CommandSpec, spec), queued_argv)
            if isinstance(reply, Blocked):  # in_exec: handlers never block; be safe
                reply = reply.timeout_reply
            replies.append(reply)
    finally:
        c.in_exec = False
        if engine.propagator is collect:  # (a command may have replaced it: keep that)
            engine.propagator = propagator
    if collected:
        propagate_unit(engine, collected)
        c.propagate_as = []  # replicated: its effects, never EXEC itself
        if engine.dirty == dirty:
            engine.dirty += 1  # only PUBLISH: replicated all the same (by Engine.call)
    return replies


EXEC_NOPERM: Final = (
    "NOPERM ACLs rules changed between the moment the transaction was accumulated and the "
    "EXEC call. This command is no longer allowed for the following reason: "
)
_EXEC_NOPERM_REASONS: Final = {
    "command": "no permission to execute the command or subcommand",
    "key": "no permission to touch the specified keys",
    "channel": "no permission to access one of the channels used as arguments",
}


def transaction_parts(
    collected: list[tuple[int, list[list[bytes]]]],
) -> list[tuple[int, list[list[bytes]]]]:
    """What one unit of effects replicates, as parts each sent in its database.

    Redis 7.0's propagatePendingCommands: a single command goes out alone; more
    are wrapped in ``MULTI``/``EXEC``, ``MULTI`` in the first command's database
    and ``EXEC`` in the last one's. Each part is handed to propagation with its
    database, so the replication stream and the AOF put their ``SELECT`` where
    the database changes -- before ``MULTI`` and inside the unit, byte for byte
    as Redis -- and stay in the last database. A unit nested in another (a
    script run by ``EXEC``) is flattened into the outer one, as Redis does.
    """
    commands = [
        (db, cmd)
        for db, cmds in collected
        for cmd in cmds
        if not (len(cmd) == 1 and cmd[0] in (b"MULTI", b"EXEC"))
    ]
    if len(commands) <= 1:
        return [(db, [cmd]) for db, cmd in commands]
    parts: list[tuple[int, list[list[bytes]]]] = [(commands[0][0], [[b"MULTI"]])]
    for db, cmd in commands:
        if db != parts[-1][0]:
            parts.append((db, []))
        parts[-1][1].append(cmd)
    parts[-1][1].append([b"EXEC"])
    return parts


def propagate_unit(engine: Engine, collected: list[tuple[int, list[list[bytes]]]]) -> None:
    """Replicate what a transaction or a script collected, as one unit."""
    for db, commands in transaction_parts(collected):
        engine.propagate(db, commands)
