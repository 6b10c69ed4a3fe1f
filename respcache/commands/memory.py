"""The engine's ``used_memory``: the keyspace's dataset plus the server's overhead.

:mod:`respcache.store.memory` says how Redis adds ``used_memory`` up; this module
finds each part in the engine: the clients' buffers (sampled a slice a cron tick,
Redis's ``clientsCron``), the replication backlog (``engine.replication``), the
AOF buffer, the EVAL scripts cache and the FUNCTION libraries.

:func:`memory_cron` runs every server cron tick (``server/cron.py``): it samples
the next clients and hands the keyspace a fresh :class:`MemoryOverhead`, whose
counted part is the one int ``over_maxmemory`` and ``evict`` add to the dataset,
so no command recomputes anything. INFO memory, MEMORY STATS and MEMORY DOCTOR
read the same figures through :func:`memory_overhead` (the clients as last
sampled, the rest as it is now, as Redis's ``getMemoryOverheadData``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from respcache.commands.client import Client
from respcache.commands.connection import CLIENT_OVERHEAD
from respcache.commands.functions import libraries_memory
from respcache.commands.info import admin_state
from respcache.commands.scripting import scripting_state
from respcache.store.memory import (
    NORMAL,
    REPLICA,
    STARTUP_MEMORY,
    ClientsSampler,
    MemoryOverhead,
)
from respcache.store.values import ENTRY_OVERHEAD, EXPIRE_OVERHEAD

if TYPE_CHECKING:
    from respcache.commands.engine import Engine
    from respcache.store.keyspace import Keyspace

__all__ = [
    "client_memory",
    "hashtables",
    "memory_cron",
    "memory_overhead",
    "used_memory",
]


@dataclass
class MemoryState:
    """Per engine: the clients' sampled memory."""

    clients: ClientsSampler = field(default_factory=ClientsSampler)


_STATES: weakref.WeakKeyDictionary[Engine, MemoryState] = weakref.WeakKeyDictionary()


def memory_state(engine: Engine) -> MemoryState:
    state = _STATES.get(engine)
    if state is None:
        state = _STATES[engine] = MemoryState()
    return state


def client_memory(c: Client) -> int:
    """A normal client's bytes between commands (``getClientMemoryUsage``; CLIENT LIST's
    ``tot-mem`` of an idle client): its own objects, query buffer, unsent replies and
    the commands a MULTI queued."""
    info = c.connection_info()
    queued = sum(len(arg) for _, argv in c.multi for arg in argv) if c.multi else 0
    return CLIENT_OVERHEAD + int(info.get("qbuf", "0")) + int(info.get("omem", "0")) + queued


def _client_size(c: Client) -> tuple[int, int]:
    """(class, bytes): a replica counts its unsent stream only (``clients_slaves``)."""
    if c.is_replica:
        return REPLICA, int(c.connection_info().get("omem", "0"))
    return NORMAL, client_memory(c)


def sample_clients(engine: Engine, hz: int) -> None:
    """``clientsCron``: refresh ``numclients / hz`` clients' figures (at least 5)."""
    clients = engine.clients
    memory_state(engine).clients.tick(clients, hz, lambda cid: _client_size(clients[cid]))


def memory_overhead(engine: Engine) -> MemoryOverhead:
    """Every non-dataset part of ``used_memory`` now (clients as last sampled)."""
    state = memory_state(engine)
    aof = engine.aof
    backlog = getattr(engine.replication, "backlog", None)
    return MemoryOverhead(
        startup=STARTUP_MEMORY,
        # Redis 7's backlog is the shared replication buffer as far as it is filled.
        replication_backlog=int(getattr(backlog, "histlen", 0)),
        clients_slaves=state.clients.totals[REPLICA],
        clients_normal=state.clients.totals[NORMAL],
        aof_buffer=len(aof.buf) if aof.enabled else 0,
        lua_caches=scripting_state(engine).scripts_memory,
        functions_caches=libraries_memory(engine.keyspace.functions),
    )


def used_memory(engine: Engine, overhead: MemoryOverhead | None = None) -> int:
    """INFO's ``used_memory``: the dataset's estimate plus the overhead."""
    if overhead is None:
        overhead = memory_overhead(engine)
    return engine.keyspace.used_memory + overhead.total


def hashtables(ks: Keyspace) -> list[tuple[int, int, int]]:
    """Per non-empty database: (id, main table bytes, expires table bytes), the keys'
    share of the overhead (MEMORY STATS ``db.N``; part of the dataset's estimate)."""
    return [
        (db.id, len(db) * ENTRY_OVERHEAD, db.volatile_count() * EXPIRE_OVERHEAD)
        for db in ks.dbs
        if len(db)
    ]


def memory_cron(engine: Engine, hz: int) -> None:
    """One cron tick's accounting: sample clients, hand the keyspace the new overhead,
    note the peak (``serverCron``'s ``stat_peak_memory``)."""
    sample_clients(engine, hz)
    ks = engine.keyspace
    overhead = memory_overhead(engine)
    ks.set_overhead(overhead)
    state = admin_state(engine)
    used = ks.used_memory + overhead.total
    if used > state.peak_memory:
        state.peak_memory = used
