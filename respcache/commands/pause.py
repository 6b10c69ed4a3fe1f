"""CLIENT PAUSE: commands held before they run, exactly as Redis 7.0 does it.

Redis 7.0 (``src/networking.c`` pauseClients / unpauseClients /
updateClientPauseTypeAndEndTime, ``src/server.c`` processCommand): the pause
has a type, ``WRITE`` or ``ALL``, and an end time. Every purpose (here the
CLIENT PAUSE command; Redis also pauses during SHUTDOWN and CLUSTER FAILOVER)
keeps its own, the most restrictive type wins and its furthest end applies.
A second CLIENT PAUSE keeps the more restrictive type and the later end.

In processCommand, after every other gate, a client that is not a replica is
postponed (``blockClient(c, BLOCKED_POSTPONE)``) when the pause is ``ALL``, or
``WRITE`` and the command may replicate: it has the ``write`` or
``may_replicate`` flag, or is EXEC of a transaction holding one. Commands
inside MULTI are held before they are queued. When the pause ends or becomes
less restrictive, every postponed client is processed again (and may be
held again).

While paused the dataset stays still: no active expiry, no eviction, and a
key found expired is hidden but not deleted (``expireIfNeeded`` returns 1
without deleting; ``performEvictions`` returns ``EVICT_OK``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from respcache.commands.admission import Hold, HoldQueue

if TYPE_CHECKING:
    from respcache.store.keyspace import Keyspace

__all__ = ["OFF", "PAUSE_ALL", "PAUSE_WRITE", "ClientPause"]

OFF = 0
PAUSE_WRITE = 1
PAUSE_ALL = 2
"""Redis's pause_type order: a larger value is more restrictive."""

CLIENT_COMMAND = "client_pause"
"""The purpose of ``CLIENT PAUSE`` (Redis's PAUSE_BY_CLIENT_COMMAND)."""


class ClientPause:
    """The pause state of one engine and the clients it holds."""

    def __init__(self, keyspace: Keyspace) -> None:
        self.keyspace = keyspace
        self.queue = HoldQueue()
        self.type = OFF
        self.end_ms = 0
        self._purposes: dict[str, tuple[int, int]] = {}
        """purpose → (type, end as unix ms)."""
        self._timer: Any = None
        self.call_later: Callable[[float, Callable[[], None]], Any] | None = None
        self._hold = Hold(self.queue, "paused")

    def pause(self, purpose: str, end_ms: int, kind: int) -> None:
        """pauseClients: the more restrictive type and the later end of this purpose."""
        old = self._purposes.get(purpose)
        if old is not None:
            kind, end_ms = max(old[0], kind), max(old[1], end_ms)
        self._purposes[purpose] = (kind, end_ms)
        self._update()

    def unpause(self, purpose: str) -> None:
        if self._purposes.pop(purpose, None) is not None:
            self._update()

    def check(self) -> bool:
        """checkClientPauseTimeoutAndReturnIfPaused: end an elapsed pause; still paused?"""
        if self.type == OFF:
            return False
        if self.end_ms < self._now_ms():
            self._update()
        return self.type != OFF

    def hold(self, may_replicate: bool) -> Hold | None:
        """The gate step: hold the command (the client is not a replica)?"""
        kind = self.type
        if kind == OFF or (kind == PAUSE_WRITE and not may_replicate):
            return None
        if not self.check() or (self.type == PAUSE_WRITE and not may_replicate):
            return None
        return self._hold

    @property
    def reason(self) -> str:
        """INFO's ``paused_reason``: the purposes pausing now (``none`` when not paused)."""
        self.check()
        if self.type == OFF:
            return "none"
        return ",".join(sorted(self._purposes))

    def _update(self) -> None:
        """updateClientPauseTypeAndEndTime."""
        old = self.type
        now = self._now_ms()
        for purpose, (_, end) in list(self._purposes.items()):
            if end < now:
                del self._purposes[purpose]
        kind = max((k for k, _ in self._purposes.values()), default=OFF)
        end = max((e for k, e in self._purposes.values() if k == kind), default=0)
        self.type = kind
        self.end_ms = end
        self.keyspace.paused = kind != OFF
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if kind != OFF and self.call_later is not None:
            # Redis notices in its cron; a timer releases the clients on time.
            self._timer = self.call_later(max(0.0, (end - now) / 1000) + 0.001, self._expired)
        if kind < old:
            # Less restrictive than before: every held client is processed again.
            self.queue.release()

    def _now_ms(self) -> int:
        return int(self.keyspace.clock() * 1000)

    def _expired(self) -> None:
        self._timer = None
        self._update()
