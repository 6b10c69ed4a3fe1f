"""When may a reply leave? Only after the writes it may reveal are committed.

``barrier`` is the replication offset just past the last write executed on
this node; ``committed`` is the highest offset every in-sync follower has
acknowledged. A reply produced while ``barrier > committed`` is held by its
connection, in order, until ``committed`` reaches the barrier it saw. Holding
*every* reply (reads too) produced after an unacknowledged write is what
rules out dirty reads: nobody observes a write a failover could still lose.

Standalone (no replication), nothing moves the barrier and the gate is open.

The disk barrier (``appendonly yes``): a second, independent pair of counters in the
AOF's unit, bytes fed (``disk_barrier``) and bytes on disk (``disk_synced``). A reply
waits for both: its writes acknowledged by the in-sync followers *and* in this node's
AOF, written (as Redis writes the AOF before any reply, in ``beforeSleep``) and, with
``appendfsync always``, fsynced. The AOF writes (and fsyncs) once per event-loop
iteration for every client served in it (``persistence/aof.py``), so one fsync releases
a whole batch. Without an AOF nothing moves the disk barrier.
"""

from __future__ import annotations

from typing import Protocol


class Waiter(Protocol):
    def release(self, committed: int) -> None: ...

    def fail_held(self, message: bytes) -> None: ...


class CommitGate:
    """Offsets executed vs. acknowledged, and the connections waiting between them.

    Compiled with mypyc (``respcache._compiled``): every reply a connection sends asks
    it first (no ``__slots__``: a native class has a fixed layout).
    """

    def __init__(self) -> None:
        self.barrier = 0
        self.committed = 0
        self.disk_barrier = 0
        self.disk_synced = 0
        self._waiting: set[Waiter] = set()

    @property
    def open(self) -> bool:
        return self.committed >= self.barrier and self.disk_synced >= self.disk_barrier

    def need(self) -> tuple[int, int]:
        """What a reply produced now waits for: (replication offset, disk bytes)."""
        return self.barrier, self.disk_barrier

    def satisfied(self, need: tuple[int, int]) -> bool:
        return need[0] <= self.committed and need[1] <= self.disk_synced

    def disk_fed(self, total: int) -> None:
        """The AOF was handed writes, ``total`` bytes since start (appendfsync always)."""
        if total > self.disk_barrier:
            self.disk_barrier = total

    def disk_sync(self, total: int) -> None:
        """The AOF is fsynced up to ``total`` bytes: release what waited only for that."""
        if total > self.disk_barrier:
            self.disk_barrier = total
        if total <= self.disk_synced:
            return
        self.disk_synced = total
        self._release()

    def _release(self) -> None:
        waiting, self._waiting = self._waiting, set()
        committed = self.committed
        for waiter in waiting:
            waiter.release(committed)

    def advance(self, offset: int) -> None:
        """A write was executed and fed to replication, ending at ``offset``."""
        if offset > self.barrier:
            self.barrier = offset

    def commit(self, offset: int) -> None:
        """Every in-sync follower has applied everything up to ``offset``."""
        if offset <= self.committed:
            return
        self.committed = offset
        self._release()

    def reset(self, offset: int) -> None:
        """Align both offsets (standalone, or a new replication history)."""
        self.barrier = self.committed = offset
        waiting, self._waiting = self._waiting, set()
        for waiter in waiting:
            waiter.release(offset)

    def fail(self, message: bytes) -> None:
        """Held replies can no longer be committed (stepped down): fail them all."""
        waiting, self._waiting = self._waiting, set()
        for waiter in waiting:
            waiter.fail_held(message)

    def wait(self, waiter: Waiter) -> None:
        self._waiting.add(waiter)

    def forget(self, waiter: Waiter) -> None:
        self._waiting.discard(waiter)

    @property
    def waiting(self) -> int:
        return len(self._waiting)
