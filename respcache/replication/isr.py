"""Who is in sync, and which offset is committed: the leader's bookkeeping, without I/O.

Vocabulary (Kafka's, which fits synchronous replication):

``produced``
    The offset just past the last write executed (``master_repl_offset``); the
    commit gate's *barrier*.
``ack``
    The highest offset a follower reported applied (``REPLCONF ACK``).
``ISR``
    The in-sync followers: every write is acknowledged to its client only after
    *each* of them has applied it.
``committed``
    ``min(ack of every ISR member)``, never above ``produced``; with an empty ISR
    it is ``produced`` (nothing to wait for). A reply may leave once the offset
    it depends on is committed.

Membership changes:

* A follower **joins** once it is streaming and its ack reached ``committed``:
  from then on it holds everything acknowledged so far, so waiting for it too
  cannot make ``committed`` go back.
* A member that has not acknowledged a write sent ``ack_timeout`` seconds ago
  (or whose link broke) is a **laggard**. It is only *proposed* for removal: it
  stays in the ISR, and keeps holding ``committed`` back, until the removal is
  confirmed (:meth:`InSyncSet.remove`, called after the coordination layer
  recorded the smaller ISR). That order is what guarantees that no write is
  acknowledged without a follower before everyone agrees it is out.

Times are plain floats (``time.monotonic()``) passed in by the caller.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["FollowerState", "InSyncSet"]


@dataclass
class FollowerState:
    """What the leader knows about one follower."""

    id: str
    """``ip:port`` (the port it listens on), stable across reconnections."""
    ack: int = 0
    online: bool = False
    """The initial sync is done and the follower is streaming."""
    in_isr: bool = False
    leaving: bool = False
    """Proposed for removal from the ISR; still counted until that is confirmed."""
    last_ack: float = 0.0
    asynchronous: bool = False
    """Never joins the ISR (a Redis replica: it acknowledges once a second, or never)."""


class InSyncSet:
    """Followers, their acknowledgements, the ISR and the committed offset."""

    __slots__ = ("_inflight", "committed", "followers", "produced")

    def __init__(self, produced: int = 0) -> None:
        self.followers: dict[str, FollowerState] = {}
        self.produced = produced
        self.committed = produced
        self._inflight: deque[tuple[int, float]] = deque()
        """(end offset, time sent) of every send not yet committed, oldest first."""

    # --- membership ---------------------------------------------------------------

    @property
    def isr(self) -> frozenset[str]:
        """The current ISR, members proposed for removal included."""
        return frozenset(f.id for f in self.followers.values() if f.in_isr)

    @property
    def confirmed_isr(self) -> frozenset[str]:
        """The ISR once the pending removals are confirmed."""
        return frozenset(f.id for f in self.followers.values() if f.in_isr and not f.leaving)

    def add(self, follower_id: str, now: float) -> FollowerState:
        """A follower (re)connected; it is not in sync until it catches up."""
        state = self.followers.get(follower_id)
        if state is None:
            state = self.followers[follower_id] = FollowerState(follower_id)
        state.online = False
        state.last_ack = now
        return state

    def set_online(self, follower_id: str, ack: int, now: float) -> bool:
        """The follower's sync is done at ``ack``; True when it joined the ISR."""
        state = self.followers[follower_id]
        state.online = True
        before = state.ack
        state.ack = max(state.ack, ack) if state.in_isr else ack
        state.last_ack = now
        if state.in_isr and state.ack > before:
            # A member continuing at our offset (after a promotion) commits it at once:
            # with no new write it would otherwise send no ACK to move ``committed``.
            self.recompute()
        return self._maybe_join(state)

    def ack(self, follower_id: str, offset: int, now: float) -> bool:
        """A follower applied everything up to ``offset``; True when it joined the ISR.

        Updates :attr:`committed`; the caller compares it with its previous value.
        """
        state = self.followers.get(follower_id)
        if state is None:
            return False
        state.last_ack = now
        if offset > state.ack:
            state.ack = offset
            if state.in_isr:
                self.recompute()
        return self._maybe_join(state)

    def _maybe_join(self, state: FollowerState) -> bool:
        if state.in_isr or not state.online or state.ack < self.committed or state.asynchronous:
            return False
        state.in_isr = True
        state.leaving = False
        self.recompute()
        return True

    def propose_removal(self, follower_ids: set[str] | frozenset[str]) -> frozenset[str]:
        """Mark ISR members as leaving; returns those newly marked."""
        marked = set()
        for fid in follower_ids:
            state = self.followers.get(fid)
            if state is not None and state.in_isr and not state.leaving:
                state.leaving = True
                marked.add(fid)
        return frozenset(marked)

    def cancel_removal(self, follower_ids: set[str] | frozenset[str]) -> None:
        """The removal was not confirmed: they stay in the ISR."""
        for fid in follower_ids:
            state = self.followers.get(fid)
            if state is not None:
                state.leaving = False

    def remove(self, follower_ids: set[str] | frozenset[str]) -> None:
        """Confirmed: these followers are out of the ISR (committed may advance)."""
        for fid in follower_ids:
            state = self.followers.get(fid)
            if state is not None:
                state.in_isr = False
                state.leaving = False
        self.recompute()

    def disconnected(self, follower_id: str) -> None:
        """The follower's link is gone: it is no longer online (ISR removal is separate)."""
        state = self.followers.get(follower_id)
        if state is not None:
            state.online = False

    def forget(self, follower_id: str) -> None:
        """Drop a follower that is neither connected nor in the ISR."""
        state = self.followers.get(follower_id)
        if state is not None and not state.in_isr:
            del self.followers[follower_id]

    # --- offsets ----------------------------------------------------------------------

    def sent(self, offset: int, now: float) -> None:
        """The stream up to ``offset`` was written to the followers at ``now``."""
        if offset > self.produced:
            self.produced = offset
        if offset > self.committed:
            self._inflight.append((offset, now))
        self.recompute()

    def reset(self, offset: int) -> None:
        """A new history starting at ``offset`` (promotion): nothing is pending."""
        self.produced = self.committed = offset
        self._inflight.clear()
        for state in self.followers.values():
            state.ack = min(state.ack, offset)

    def recompute(self) -> None:
        committed = self.produced
        for state in self.followers.values():
            if state.in_isr and state.ack < committed:
                committed = state.ack
        if committed > self.committed:
            self.committed = committed
            inflight = self._inflight
            while inflight and inflight[0][0] <= committed:
                inflight.popleft()

    # --- timeouts ------------------------------------------------------------------------

    def oldest_pending(self) -> tuple[int, float] | None:
        """(offset, time sent) of the oldest send not yet committed, if any."""
        return self._inflight[0] if self._inflight else None

    def laggards(self, now: float, timeout: float) -> frozenset[str]:
        """ISR members (not already leaving) that left a send unacknowledged for ``timeout``."""
        oldest = self.oldest_pending()
        if oldest is None or now - oldest[1] < timeout:
            return frozenset()
        offset = oldest[0]
        return frozenset(
            f.id for f in self.followers.values() if f.in_isr and not f.leaving and f.ack < offset
        )

    def next_deadline(self, timeout: float) -> float | None:
        """When :meth:`laggards` may next find someone (None: nothing is pending)."""
        oldest = self.oldest_pending()
        return None if oldest is None else oldest[1] + timeout

    def acked_count(self, offset: int) -> int:
        """How many online followers acknowledged ``offset`` (WAIT)."""
        return sum(1 for f in self.followers.values() if f.online and f.ack >= offset)
