"""ZooKeeper's ISR kept a subset of the leader's.

A lagging follower leaves ZooKeeper's ISR before any write is acknowledged
without it (:meth:`IsrSync.confirm_shrink`, called by the replication layer); a
caught-up follower is added back (:meth:`IsrSync.on_isr_change`, and a retry
from the cron). See docs/coordination.md ("Fencing").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Final

from respcache.coordination import CoordinationError, NotLeaderError
from respcache.replication import IsrChange, IsrShrink

if TYPE_CHECKING:
    from respcache.replication import Replication
    from respcache.server.node.ports import IsrRecord, Provider, Roles

__all__ = ["IsrSync"]

log = logging.getLogger("respcache.cluster")

_ISR_RETRY: Final = 0.25


class IsrSync:
    """Reconciles ZooKeeper's ISR with the leader's (removals first, additions after)."""

    def __init__(
        self, replication: Replication, roles: Roles, coordinator: Provider[IsrRecord]
    ) -> None:
        self._replication = replication
        self._roles = roles
        self._coordinator = coordinator
        self.run_ids: dict[str, str] = {}
        """The run of each follower the leader saw join its ISR (a restarted one differs)."""
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._next = 0.0
        self.stopped = False

    def start(self) -> None:
        """On the event loop, before the coordinator exists."""
        self._lock = asyncio.Lock()

    def retry_now(self) -> None:
        """Reconcile at the next occasion (this node was just elected)."""
        self._next = 0.0

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def confirm_shrink(self, change: IsrShrink) -> None:
        """Before the leader acknowledges anything without them: out of ZooKeeper's ISR."""
        coordinator = self._coordinator()
        if coordinator is None or self._lock is None:
            raise CoordinationError("not connected to ZooKeeper yet")
        async with self._lock:
            for node_id in sorted(change.removed):
                await coordinator.remove_from_isr(node_id)

    def on_isr_change(self, change: IsrChange) -> None:
        self.run_ids.update(change.run_ids)
        self._next = 0.0
        self.maybe_reconcile()

    def maybe_reconcile(self) -> None:
        if self.stopped or not self._roles.leading or self._coordinator() is None:
            return
        if self._task is not None and not self._task.done():
            return
        if time.monotonic() < self._next:
            return
        if not self._missing_from_zookeeper():
            return
        self._task = asyncio.create_task(self._add_missing())

    def _missing_from_zookeeper(self) -> list[str]:
        """Followers in the leader's ISR that ZooKeeper's ISR lacks (with their run)."""
        leader = self._replication.leader
        coordinator = self._coordinator()
        if leader is None or coordinator is None:
            return []
        recorded = coordinator.current_state()
        if recorded is None:
            return []
        missing = []
        for node_id in sorted(leader.isr.confirmed_isr):
            run = self.run_ids.get(node_id)
            if node_id not in recorded.isr or (run and recorded.isr_runs.get(node_id) != run):
                missing.append(node_id)
        return missing

    async def _add_missing(self) -> None:
        coordinator = self._coordinator()
        lock = self._lock
        assert coordinator is not None and lock is not None
        try:
            for node_id in self._missing_from_zookeeper():
                async with lock:
                    # Still a member, and no removal pending? (Removals take this lock too.)
                    leader = self._replication.leader
                    state = leader.isr.followers.get(node_id) if leader is not None else None
                    if (
                        state is None
                        or not state.in_isr
                        or state.leaving
                        or not self._roles.leading
                    ):
                        continue
                    await coordinator.add_to_isr(node_id, self.run_ids.get(node_id))
        except NotLeaderError:
            pass
        except CoordinationError as err:
            log.info("ISR not updated in ZooKeeper yet (%s); retrying", err)
            self._next = time.monotonic() + _ISR_RETRY

    async def stop(self) -> None:
        self.stopped = True
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
