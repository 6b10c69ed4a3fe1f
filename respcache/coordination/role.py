"""This node's standing in the election, as it last concluded, and the events it emits.

ZooKeeper says who leads; this object remembers what *this node* concluded from
it (leading at an epoch, following someone, or neither) and turns each change
into exactly one event (:class:`BecameLeader`, :class:`Follow`,
:class:`StepDown`) for the server. It never talks to ZooKeeper, so the
bookkeeping is tested without one; the callers (the election loop, the
connection-state handling, the coordinator's ``stop``) decide *when* to change it.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from respcache.coordination.events import BecameLeader, Event, Follow, StepDown
from respcache.coordination.state import ClusterState

__all__ = ["LocalRole", "Role", "Status"]

log = logging.getLogger("respcache.coordination")


class Role(enum.Enum):
    NONE = "none"
    """Not leading and not following anyone (starting, waiting, or just stepped down)."""
    FOLLOWER = "follower"
    LEADER = "leader"


@dataclass(frozen=True)
class Status:
    """A snapshot for ``INFO`` and tests."""

    role: Role
    epoch: int
    """The epoch led (leader) or followed (follower); 0 otherwise."""
    leader: str | None
    """The node id followed or led."""
    znode: str | None
    """This node's election znode."""
    connected: bool
    reason: str
    """Why the last evaluation decided what it did."""
    leaderless: bool = False
    """The last evaluation found no leader to follow or become (it waits: a recovery, a
    dead leader's session); clients are told ``reason`` (server/cluster.py)."""


class LocalRole:
    """Leading, following or neither; the newest state znode seen; the events of changes.

    ``on_event`` is called on the event loop for every event; an exception it
    raises is logged, never propagated (the election goes on).
    """

    def __init__(self, node_id: str, on_event: Callable[[Event], None]) -> None:
        self.node_id = node_id
        self._on_event = on_event
        self.role = Role.NONE
        self.epoch = 0
        """The epoch led while :attr:`role` is leader (0 otherwise)."""
        self.resigned_epoch = 0
        """The newest epoch this node led and gave up."""
        self.following: tuple[str, str, int] | None = None
        """(leader node id, address, epoch) while following."""
        self.reason = "not started"
        self.leaderless = False
        self.state: ClusterState | None = None
        """The state znode as last read or written."""
        self.max_epoch_seen = 0

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    def status(self, znode: str | None, connected: bool) -> Status:
        if self.role is Role.LEADER:
            leader, epoch = self.node_id, self.epoch
        elif self.following is not None:
            leader, epoch = self.following[0], self.following[2]
        else:
            leader, epoch = None, 0
        return Status(
            self.role,
            epoch,
            leader,
            znode,
            connected,
            self.reason,
            self.leaderless and self.role is not Role.LEADER,
        )

    def observe(self, state: ClusterState | None) -> None:
        """A state znode read or written: remember it and the newest epoch seen."""
        if state is not None:
            self.state = state
            self.max_epoch_seen = max(self.max_epoch_seen, state.epoch)

    def become_leader(self, state: ClusterState) -> None:
        """Lead at ``state.epoch`` (the caller checked the connection is still the one that won)."""
        self.role = Role.LEADER
        self.epoch = state.epoch
        self.following = None
        self.reason = f"leader at epoch {state.epoch}"
        log.info("%s: leader at epoch %d, ISR %s", self.node_id, state.epoch, list(state.isr))
        self.emit(BecameLeader(state.epoch, state.isr))

    def step_down(self, reason: str) -> None:
        """Stop leading (nothing happens unless leading)."""
        if self.role is not Role.LEADER:
            return
        epoch = self.epoch
        self.role = Role.NONE
        self.resigned_epoch = max(self.resigned_epoch, epoch)
        self.epoch = 0
        self.following = None
        log.warning("%s: stepping down from epoch %d: %s", self.node_id, epoch, reason)
        self.emit(StepDown(reason, epoch))

    def follow(self, leader: str, address: str, epoch: int) -> None:
        """Follow ``leader``; the event goes out only when leader, address or epoch changed."""
        self.role = Role.FOLLOWER
        if self.following == (leader, address, epoch):
            return
        self.following = (leader, address, epoch)
        log.info("%s: following %s at %s (epoch %d)", self.node_id, leader, address, epoch)
        self.emit(Follow(leader, address, epoch))

    def emit(self, event: Event) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("%s: event handler failed on %r", self.node_id, event)
