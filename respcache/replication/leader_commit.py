"""Group commit: what every ISR member acknowledged becomes the commit gate's committed offset.

Replies stay held by their connections (:class:`~respcache.server.gate.CommitGate`)
until :class:`~.isr.InSyncSet` says the whole ISR applied their offset. This
object feeds the ISR what was sent and acknowledged, moves the gate when the
committed offset moves, and watches the deadlines: a member that does not
acknowledge a send within ``repl-ack-timeout`` ms is proposed for removal
(:class:`~.leader_shrink.ShrinkConfirmations`). Once a removal is confirmed and
the ISR is smaller than ``min-insync-replicas``, the replies still held are
failed (their writes are applied here but not acknowledged: their outcome is
unknown to the client) and new writes are refused with ``NOREPLICAS``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from typing import Any, Protocol

from respcache.replication.isr import InSyncSet
from respcache.replication.leader_shrink import ConfirmShrink, ShrinkConfirmations
from respcache.replication.leader_stream import Gate, LeaderStream

__all__ = ["NOT_COMMITTED", "GroupCommit", "LeaderEvents"]

log = logging.getLogger("respcache.replication")

NOT_COMMITTED = (
    b"-NOTCOMMITTED The in-sync replicas did not acknowledge this write in time: "
    b"it was applied on the leader, but whether it survives a failover is unknown.\r\n"
)
"""Sent for replies held for a write that can no longer be acknowledged (then the
connection closes, as after a network error: the outcome is indeterminate)."""


class LeaderEvents(Protocol):
    """What the leader side reports to the node's :class:`~.node.Replication`."""

    def followers_changed(self) -> None: ...

    def isr_changed(self, isr: frozenset[str]) -> None: ...

    def arm(self) -> None: ...

    def stepped_down(self) -> bool: ...

    @property
    def confirm_isr_shrink(self) -> ConfirmShrink: ...


class GroupCommit:
    """The ISR's acknowledgements, the gate's committed offset, the ack deadlines.

    ``connected`` lists the fids with a link now (a removed member without one
    is forgotten); ``epoch`` is the term led; ``closed`` whether the leader
    side was closed.
    """

    def __init__(
        self,
        *,
        isr: InSyncSet,
        gate: Gate,
        stream: LeaderStream,
        config: Any,
        loop: asyncio.AbstractEventLoop,
        events: LeaderEvents,
        connected: Callable[[], Collection[str]],
        epoch: Callable[[], int],
        closed: Callable[[], bool],
    ) -> None:
        self.isr = isr
        self.gate = gate
        self.stream = stream
        self.config = config
        self.loop = loop
        self.events = events
        self._connected = connected
        self._timer: asyncio.TimerHandle | None = None
        self.armed = False
        """min-insync-replicas applies (see :meth:`Replication.arm`)."""
        self.shrinks = ShrinkConfirmations(
            isr,
            loop,
            confirm=lambda: events.confirm_isr_shrink,
            epoch=epoch,
            ended=lambda: closed() or events.stepped_down(),
            apply=self._apply_shrink,
        )

    def begin_term(self, seeds: frozenset[str], promoted: bool, offset: int) -> None:
        """See :meth:`~respcache.replication.leader.LeaderSide.begin_term`."""
        now = time.monotonic()
        isr = self.isr
        for fid in seeds:
            state = isr.add(fid, now)
            state.in_isr = True
            state.leaving = False
        if promoted and seeds:
            isr.committed = min(isr.committed, 0)
            isr.sent(offset, now)
        isr.recompute()
        if offset > self.gate.barrier:
            self.gate.barrier = offset
        self._isr_changed()
        self._committed_moved()
        self._arm_timer_if_idle()

    def sent(self, offset: int) -> None:
        """The stream up to ``offset`` was flushed to the followers (deadlines start now)."""
        before = self.isr.committed
        self.isr.sent(offset, time.monotonic())
        if self.isr.committed != before:
            self._committed_moved()
        self._arm_timer_if_idle()

    def online(self, fid: str, ack: int) -> None:
        """``fid`` streams from ``ack`` on (after a partial or full sync)."""
        before = self.isr.committed
        joined = self.isr.set_online(fid, ack, time.monotonic())
        if joined:
            log.info("Replica %s is in sync at offset %d: joins the ISR", fid, ack)
            self._isr_changed()
        if self.isr.committed != before:
            self._committed_moved()

    def ack(self, fid: str, offset: int) -> None:
        """``REPLCONF ACK <offset>`` from ``fid``."""
        isr = self.isr
        before = isr.committed
        joined = isr.ack(fid, offset, time.monotonic())
        if joined:
            log.info("Replica %s is in sync at offset %d: joins the ISR", fid, offset)
            self._isr_changed()
        if isr.committed != before:
            self._committed_moved()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _committed_moved(self) -> None:
        committed = self.isr.committed
        gate = self.gate
        if committed > gate.committed:
            gate.commit(committed)

    def _isr_changed(self) -> None:
        self.stream.isr_empty = not self.isr.isr
        if not self.stream.isr_empty and not self.armed:
            # The first follower in sync: from now on this leader is replicated
            # and min-insync-replicas applies (docs/replication.md, "Standalone").
            self.events.arm()
        self.events.isr_changed(self.isr.confirmed_isr)

    # --- ack deadlines -------------------------------------------------------------------

    def _arm_timer_if_idle(self) -> None:
        if self._timer is None and not self.stream.isr_empty:
            self._arm_timer()

    def _arm_timer(self) -> None:
        timeout = self.config.repl_ack_timeout / 1000
        deadline = self.isr.next_deadline(timeout)
        if deadline is None:
            return
        delay = max(0.0, deadline - time.monotonic())
        self._timer = self.loop.call_later(delay + 0.001, self._check_acks)

    def _check_acks(self) -> None:
        self._timer = None
        timeout = self.config.repl_ack_timeout / 1000
        laggards = self.isr.laggards(time.monotonic(), timeout)
        if laggards:
            self.shrinks.propose(laggards, f"no acknowledgement within {timeout * 1000:.0f} ms")
        if self.isr.oldest_pending() is not None and not self.stream.isr_empty:
            self._arm_timer()

    def _apply_shrink(self, removed: frozenset[str]) -> None:
        before = self.isr.committed
        self.isr.remove(removed)
        self._isr_changed()
        log.info("ISR is now %s", sorted(self.isr.confirmed_isr) or "[]")
        if (
            self.armed
            and len(self.isr.isr) < self.config.min_insync_replicas
            and self.gate.barrier > self.gate.committed
        ):
            # Writes still held had counted on the removed followers: their
            # outcome is unknown to the clients. Everything after them waits too.
            log.warning(
                "ISR below min-insync-replicas (%d < %d): failing the replies of "
                "unacknowledged writes",
                len(self.isr.isr),
                self.config.min_insync_replicas,
            )
            self.gate.fail(NOT_COMMITTED)
        if self.isr.committed != before:
            self._committed_moved()
        self.events.followers_changed()
        # A removed follower whose link is gone is forgotten; a connected one may rejoin.
        connected = self._connected()
        for fid in removed:
            if fid not in connected:
                self.isr.forget(fid)
