"""kazoo's connection states, taken on the event loop: connected, suspended, lost.

kazoo reports ``CONNECTED``, ``SUSPENDED`` (the connection broke; the session
may live on) and ``LOST`` (the session expired: its ephemeral znodes, our
election znode among them, are gone). :class:`~.session.ZkSession` hands each
state from kazoo's thread to the loop with ``loop.call_soon_threadsafe``;
:meth:`ConnectionState.on_state` runs there, never in kazoo's thread.

Why a leader may lead on while only suspended, and when it must not, is in the
module docstring of :mod:`respcache.coordination.election`. The rules here:

* ``SUSPENDED`` on the leader: step down at once if unclean election is on and
  no follower is in its ISR; otherwise lead on, and step down if the session is
  not back within one session timeout (liveness only: safety does not depend
  on that clock).
* ``LOST``: step down, and register anew (the znodes went with the session).
* every ``SUSPENDED``/``LOST`` bumps :attr:`ConnectionState.generation`: a
  ZooKeeper answer obtained under an older generation must not make us leader.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from kazoo.protocol.states import KazooState

from respcache.coordination.config import CoordinationConfig
from respcache.coordination.role import LocalRole

__all__ = ["ConnectionState", "Znodes"]

log = logging.getLogger("respcache.coordination")


class Znodes(Protocol):
    """What the connection state resets in the election znodes
    (:class:`~.znodes.ElectionZnodes`)."""

    watching: str | None

    def session_lost(self) -> None: ...


class ConnectionState:
    """Whether the session is usable now, since when, and the leader's suspension timer.

    ``wake`` asks the election loop to look again; ``isr_followers`` counts the
    followers in this leader's ISR; ``unclean`` and ``stopping`` read settings
    that change at run time.
    """

    def __init__(
        self,
        config: CoordinationConfig,
        role: LocalRole,
        znodes: Znodes,
        *,
        wake: Callable[[], None],
        isr_followers: Callable[[], int],
        unclean: Callable[[], bool],
        stopping: Callable[[], bool],
        loop: Callable[[], asyncio.AbstractEventLoop | None],
    ) -> None:
        self.config = config
        self._role = role
        self._znodes = znodes
        self._wake = wake
        self._isr_followers = isr_followers
        self._unclean = unclean
        self._stopping = stopping
        self._loop = loop
        self.connected = False
        self.generation = 0
        """Bumped on every SUSPENDED/LOST: results from before are stale."""
        self.paths_ready = False
        """The election path exists (it is ensured again after a lost session)."""
        self._suspended_timer: asyncio.TimerHandle | None = None

    def is_current(self, generation: int) -> bool:
        """No SUSPENDED/LOST since ``generation`` was read, and connected now."""
        return generation == self.generation and self.connected

    def on_state(self, state: str) -> None:
        """A kazoo connection state, on the event loop."""
        if self._stopping():
            return
        node_id = self.config.node_id
        role = self._role
        if state == KazooState.CONNECTED:
            log.info("%s: connected to ZooKeeper", node_id)
            self.connected = True
            self.cancel_suspension_timer()
            self._wake()
            return
        self.connected = False
        self.generation += 1
        self._znodes.watching = None  # the server drops a connection's watches with it
        if state == KazooState.SUSPENDED:
            log.warning("%s: ZooKeeper connection suspended", node_id)
            role.reason = "ZooKeeper connection suspended"
            if role.is_leader:
                self._lead_while_suspended()
        elif state == KazooState.LOST:
            self.cancel_suspension_timer()
            log.warning("%s: ZooKeeper session lost", node_id)
            role.reason = "ZooKeeper session lost"
            if role.is_leader:
                role.step_down("ZooKeeper session lost")
            # The session's ephemeral znodes are gone (or about to be): register anew.
            self._znodes.session_lost()
            self.paths_ready = False

    def _lead_while_suspended(self) -> None:
        """SUSPENDED on the leader: go on leading if that is safe (see the module docstring)."""
        role = self._role
        if self._unclean() and self._isr_followers() == 0:
            role.step_down(
                "ZooKeeper connection suspended, no follower in the ISR and unclean "
                "election on: another node could be elected behind our back"
            )
            return
        timeout = self.config.session_timeout
        log.warning(
            "%s: ZooKeeper connection suspended; still leading epoch %d (no other node can "
            "be elected without ZooKeeper, and writes still need every in-sync replica); "
            "stepping down if the session is lost or not back within %.1fs",
            self.config.node_id,
            role.epoch,
            timeout,
        )
        role.reason = f"leading epoch {role.epoch} while ZooKeeper is unreachable"
        self.cancel_suspension_timer()
        loop = self._loop()
        if loop is not None:
            self._suspended_timer = loop.call_later(timeout, self._suspension_expired)

    def _suspension_expired(self) -> None:
        self._suspended_timer = None
        role = self._role
        if self.connected or not role.is_leader:
            return
        role.reason = "ZooKeeper unreachable for a whole session timeout"
        role.step_down(
            f"ZooKeeper unreachable for a whole session timeout "
            f"({self.config.session_timeout:.1f}s): the session is presumed expired"
        )

    def cancel_suspension_timer(self) -> None:
        timer, self._suspended_timer = self._suspended_timer, None
        if timer is not None:
            timer.cancel()
