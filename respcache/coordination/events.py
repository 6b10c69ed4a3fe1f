"""Events the coordinator hands to the server, and the errors of its API."""

from __future__ import annotations

from dataclasses import dataclass

from respcache.errors import RespcacheError

__all__ = [
    "BecameLeader",
    "CoordinationError",
    "Event",
    "Follow",
    "NotEligibleError",
    "NotLeaderError",
    "NotRegisteredError",
    "StepDown",
]


@dataclass(frozen=True)
class BecameLeader:
    """This node leads at ``epoch``; ``isr`` are the node ids whose acks every write needs.

    The epoch is unique: ZooKeeper's compare-and-set on the state znode gives
    each epoch to exactly one leadership term.
    """

    epoch: int
    isr: tuple[str, ...]


@dataclass(frozen=True)
class Follow:
    """Replicate from ``leader_node_id`` at ``leader_address`` (``host:port``), term ``epoch``.

    Emitted when the leader or the epoch changes. Refuse streams of an older epoch.
    """

    leader_node_id: str
    leader_address: str
    epoch: int


@dataclass(frozen=True)
class StepDown:
    """Stop acting as leader now (no more acknowledged writes). ``epoch`` is the term that ended."""

    reason: str
    epoch: int


Event = BecameLeader | Follow | StepDown


class CoordinationError(RespcacheError):
    """A coordinator operation failed; the cluster state is unchanged."""


class NotLeaderError(CoordinationError):
    """The operation needs leadership this node does not hold (any more)."""


class NotRegisteredError(CoordinationError):
    """The node named has no election znode (it is not connected to ZooKeeper)."""


class NotEligibleError(CoordinationError):
    """The handoff target is not an in-sync replica with a live election znode."""
