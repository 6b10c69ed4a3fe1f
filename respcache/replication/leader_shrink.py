"""ISR removals wait to be confirmed before they take effect.

A member that does not acknowledge in time, or whose link breaks, is proposed
for removal; it keeps holding commits back until ``confirm_isr_shrink`` (the
coordination layer's hook: it writes the smaller ISR to ZooKeeper; by default
it returns at once) has returned. Only then is it removed (``apply``) and may
writes be acknowledged without it. A confirmation that fails is retried, unless
the node no longer leads. Proposals made while one confirmation is in flight
are batched into the next.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from respcache.replication.isr import InSyncSet

__all__ = ["ConfirmShrink", "IsrShrink", "ShrinkConfirmations", "confirm_at_once"]

log = logging.getLogger("respcache.replication")


@dataclass(frozen=True)
class IsrShrink:
    """A proposed ISR removal, handed to ``confirm_isr_shrink`` before it takes effect."""

    removed: frozenset[str]
    isr: frozenset[str]
    """The ISR after the removal."""
    epoch: int
    reason: str


ConfirmShrink = Callable[[IsrShrink], Awaitable[None]]


async def confirm_at_once(change: IsrShrink) -> None:
    """The default ``confirm_isr_shrink``: nobody else needs to agree."""
    return None


class ShrinkConfirmations:
    """The queue of proposed removals and the one task confirming them.

    ``confirm`` returns the current ``confirm_isr_shrink`` hook (it may be
    replaced at run time); ``epoch`` the term led; ``ended`` whether this
    leadership is over (closed or stepped down): nobody waits for a
    confirmation any more. ``apply`` takes confirmed removals into effect.
    """

    RETRY_DELAY = 0.2

    def __init__(
        self,
        isr: InSyncSet,
        loop: asyncio.AbstractEventLoop,
        *,
        confirm: Callable[[], ConfirmShrink],
        epoch: Callable[[], int],
        ended: Callable[[], bool],
        apply: Callable[[frozenset[str]], None],
    ) -> None:
        self.isr = isr
        self.loop = loop
        self._confirm = confirm
        self._epoch = epoch
        self._ended = ended
        self._apply = apply
        self._queue: dict[str, str] = {}
        """fid -> reason, waiting for the next confirmation."""
        self._confirming = False

    @property
    def confirming(self) -> bool:
        """A confirmation task is running."""
        return self._confirming

    def propose(self, fids: frozenset[str] | set[str], reason: str) -> None:
        """Take followers out of the ISR, after ``confirm_isr_shrink`` agreed."""
        marked = self.isr.propose_removal(fids)
        if not marked:
            return
        for fid in marked:
            log.warning("Replica %s leaves the ISR: %s", fid, reason)
            self._queue[fid] = reason
        if not self._confirming:
            self._confirming = True
            self.loop.create_task(self._confirm_loop())

    async def _confirm_loop(self) -> None:
        try:
            while self._queue:
                removed = frozenset(self._queue)
                reason = "; ".join(sorted(set(self._queue.values())))
                self._queue.clear()
                change = IsrShrink(removed, self.isr.confirmed_isr, self._epoch(), reason)
                try:
                    await self._confirm()(change)
                except Exception as err:  # not confirmed: they stay, writes keep waiting
                    self.isr.cancel_removal(removed)
                    if self._ended():
                        return  # no longer leading: nobody waits for this any more
                    log.warning("ISR shrink %s not confirmed (%s); retrying", sorted(removed), err)
                    await asyncio.sleep(self.RETRY_DELAY)
                    for fid in removed:
                        state = self.isr.followers.get(fid)
                        if state is not None and state.in_isr:
                            self._queue[fid] = reason
                            state.leaving = True
                    continue
                if self._ended():
                    return
                self._apply(removed)
        finally:
            self._confirming = False
