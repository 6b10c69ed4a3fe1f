"""``used_memory`` as Redis adds it up, and the ``maxmemory`` decision made from it.

Redis's ``used_memory`` is everything its allocator handed out: the dataset, and
the server's own overhead (``getMemoryOverheadData`` in ``src/object.c``):

    used_memory = startup + replication backlog + replica output buffers
                + normal clients' buffers + AOF buffer + EVAL scripts cache
                + FUNCTION libraries + (the dataset and its hash tables)

``maxmemory`` compares against it less what Redis does not count for eviction
(``freeMemoryGetNotCountedMemory`` in ``src/evict.c``): the replicas' output
buffers and the AOF buffer, which a write would only grow while eviction runs.
So an empty server is already over ``maxmemory 1``, as Redis's TCL units expect.

respcache's keyspace keeps the dataset's estimate (``Keyspace.used_memory``) up
to date per change; this module is the rest: :class:`MemoryOverhead`, one
snapshot of every overhead part, and :class:`ClientsSampler`, which keeps the
clients' share current a slice at a time per cron tick, as Redis's
``clientsCron`` does (``numclients / hz`` clients a tick, at least 5), so no
command ever walks all the clients. The Lua heaps (``used_memory_vm_*``) are not
part of ``used_memory``: Redis's Lua allocates outside zmalloc, and neither counts
them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CLIENTS_CRON_MIN_ITERATIONS",
    "NORMAL",
    "REPLICA",
    "STARTUP_MEMORY",
    "Breakdown",
    "ClientsSampler",
    "MemoryOverhead",
    "breakdown",
]

STARTUP_MEMORY: Final = 875_992
"""``used_memory_startup``: what the server holds before any key or client.

Redis 7.0.15's own figure for an empty default server on x86-64 (its
``initial_memory_usage``: the databases' tables, shared objects, the command
table), so an absolute ``maxmemory`` leaves the dataset the room it leaves in
Redis. CPython's own heap (tens of MB, see ``used_memory_rss``) is not the
cache's to evict and is left out, as the allocator's metadata is in Redis."""

NORMAL: Final = 0
"""A client class of :class:`ClientsSampler`: ``mem_clients_normal`` (normal, pub/sub,
the master link)."""
REPLICA: Final = 1
"""A client class of :class:`ClientsSampler`: ``mem_clients_slaves``."""

CLIENTS_CRON_MIN_ITERATIONS: Final = 5
"""``clientsCron``: at least this many clients are sampled a tick (all, if fewer)."""


@dataclass(frozen=True)
class MemoryOverhead:
    """The non-dataset parts of ``used_memory`` (Redis's ``redisMemOverhead``)."""

    startup: int = 0
    replication_backlog: int = 0
    clients_slaves: int = 0
    clients_normal: int = 0
    cluster_links: int = 0
    aof_buffer: int = 0
    lua_caches: int = 0
    """``evalScriptsMemory``: the EVAL scripts cache (``used_memory_scripts_eval``)."""
    functions_caches: int = 0
    """``functionsMemoryOverhead``: the FUNCTION libraries (``used_memory_functions``)."""

    @property
    def total(self) -> int:
        """Everything but the dataset (its keys' hash tables are added by the caller)."""
        return (
            self.startup
            + self.replication_backlog
            + self.clients_slaves
            + self.clients_normal
            + self.cluster_links
            + self.aof_buffer
            + self.lua_caches
            + self.functions_caches
        )

    @property
    def not_counted(self) -> int:
        """``freeMemoryGetNotCountedMemory``: replica buffers and the AOF buffer."""
        return self.clients_slaves + self.aof_buffer

    @property
    def counted(self) -> int:
        """The part ``maxmemory`` sees beyond the dataset (``Keyspace.overhead_memory``)."""
        return self.total - self.not_counted

    @property
    def scripts(self) -> int:
        """``used_memory_scripts``: the EVAL cache plus the FUNCTION libraries."""
        return self.lua_caches + self.functions_caches


@dataclass(frozen=True)
class Breakdown:
    """The derived figures INFO memory and MEMORY STATS share."""

    overhead: int
    """``used_memory_overhead`` / ``overhead.total``."""
    dataset: int
    """``used_memory_dataset`` / ``dataset.bytes``."""
    net: int
    """``used_memory - used_memory_startup`` (at least 1): what percentages divide by."""

    @property
    def dataset_perc(self) -> float:
        return self.dataset * 100 / self.net


def breakdown(used: int, hashtables: int, overhead: MemoryOverhead) -> Breakdown:
    """Split ``used`` (``used_memory``: dataset plus ``overhead.total``) as Redis does.

    ``hashtables`` is the keys' share of the overhead (``overhead.hashtable.main`` and
    ``.expires`` of every database); the dataset is what remains (``mh->dataset``).
    """
    total_overhead = min(used, overhead.total + hashtables)
    net = used - overhead.startup if used > overhead.startup else 1
    return Breakdown(total_overhead, used - total_overhead, net)


class ClientsSampler:
    """Each client's memory, refreshed a slice of the clients per tick (``clientsCron``).

    ``tick`` walks the clients round-robin, ``max(numclients // hz, 5)`` of them a
    call, and records each one's class (``NORMAL`` or ``REPLICA``) and bytes;
    :attr:`totals` is the sum per class. A client that went away is dropped from the
    records once a tick sees more records than clients, or at the end of a round
    (Redis removes it in ``freeClient``).
    """

    __slots__ = ("_cursor", "_order", "samples", "totals")

    def __init__(self) -> None:
        self.samples: dict[int, tuple[int, int]] = {}
        """Client id -> (class, bytes) as last sampled."""
        self.totals = [0, 0]
        """Bytes per class: ``totals[NORMAL]``, ``totals[REPLICA]``."""
        self._order: list[int] = []
        self._cursor = 0

    def tick(
        self, clients: Mapping[int, object], hz: int, size: Callable[[int], tuple[int, int]]
    ) -> None:
        """Sample the next slice of ``clients`` (id -> anything): ``size(id)`` is the
        client's (class, bytes)."""
        if len(self.samples) > len(clients):
            self._prune(clients)
        numclients = len(clients)
        if not numclients:
            return
        iterations = numclients // max(1, hz)
        if iterations < CLIENTS_CRON_MIN_ITERATIONS:
            iterations = min(numclients, CLIENTS_CRON_MIN_ITERATIONS)
        for _ in range(iterations):
            if self._cursor >= len(self._order):
                self._order = list(clients)
                self._cursor = 0
                self._prune(clients)
            cid = self._order[self._cursor]
            self._cursor += 1
            if cid in clients:
                kind, nbytes = size(cid)
                self.record(cid, kind, nbytes)

    def record(self, cid: int, kind: int, nbytes: int) -> None:
        """Set one client's class and bytes now."""
        self.forget(cid)
        self.samples[cid] = (kind, nbytes)
        self.totals[kind] += nbytes

    def forget(self, cid: int) -> None:
        old = self.samples.pop(cid, None)
        if old is not None:
            self.totals[old[0]] -= old[1]

    def _prune(self, clients: Mapping[int, object]) -> None:
        for cid in [c for c in self.samples if c not in clients]:
            self.forget(cid)
