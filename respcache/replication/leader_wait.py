"""``WAIT numreplicas timeout``: clients parked until enough followers acknowledged an offset.

As Redis's ``WAIT``, the count is of followers (in the ISR or not) whose
acknowledged offset reached the client's last write; it is independent of the
commit gate (which waits for the whole ISR). Parked requests are looked at
again whenever an acknowledgement arrives or a link goes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from respcache.replication.isr import InSyncSet

__all__ = ["WaitRequest", "Waiters"]


class _Acks(Protocol):
    """Who counts the acknowledgements (the :class:`~.leader.LeaderSide`)."""

    @property
    def isr(self) -> InSyncSet: ...


class WaitRequest:
    """A client blocked in WAIT until ``numreplicas`` followers acknowledged ``offset``."""

    __slots__ = ("done", "numreplicas", "offset", "on_done", "timer")

    def __init__(self, offset: int, numreplicas: int, on_done: Callable[[int], None]) -> None:
        self.offset = offset
        self.numreplicas = numreplicas
        self.on_done = on_done
        self.timer: asyncio.TimerHandle | None = None
        self.done = False

    def finish(self, leader: _Acks | None) -> None:
        if self.done:
            return
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
        self.on_done(leader.isr.acked_count(self.offset) if leader is not None else 0)


class Waiters:
    """The WAIT requests parked on one leader side."""

    def __init__(self, leader: _Acks) -> None:
        self._leader = leader
        self.requests: list[WaitRequest] = []

    def __bool__(self) -> bool:
        return bool(self.requests)

    def wait(self, request: WaitRequest) -> int | None:
        """The count now if WAIT is already satisfied, else None (the request is parked)."""
        count = self._leader.isr.acked_count(request.offset)
        if count >= request.numreplicas:
            return count
        self.requests.append(request)
        return None

    def serve(self) -> None:
        """Finish the requests that are satisfied now (and forget the finished ones)."""
        keep = []
        for waiter in self.requests:
            if waiter.done:
                continue
            if self._leader.isr.acked_count(waiter.offset) >= waiter.numreplicas:
                waiter.finish(self._leader)
            else:
                keep.append(waiter)
        self.requests = keep

    def finish_all(self) -> None:
        """The leader side closes: every parked request gets its count now."""
        for waiter in self.requests:
            waiter.finish(self._leader)
        self.requests.clear()
