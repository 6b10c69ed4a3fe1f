"""What the node's collaborators need of each other and of the coordinator (``Protocol``s).

The coordinator exists only once the node joined (``ClusterNode.start``), so a
collaborator receives a provider (``Callable[[], X | None]``), not the object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from respcache.coordination.state import Candidate, ClusterState

__all__ = [
    "ClusterRecord",
    "HandoffRecord",
    "IsrRecord",
    "MemberRecord",
    "Provider",
    "Roles",
]


class Roles(Protocol):
    """Whether this node leads now (master role, not fenced)."""

    @property
    def leading(self) -> bool: ...


class ClusterRecord(Protocol):
    """ZooKeeper's state as last read (None: not read yet)."""

    def current_state(self) -> ClusterState | None: ...


class MemberRecord(ClusterRecord, Protocol):
    """ZooKeeper's state and the registered members."""

    def members(self) -> tuple[Candidate, ...]: ...


class IsrRecord(ClusterRecord, Protocol):
    """The ISR writes in ZooKeeper."""

    async def add_to_isr(self, node_id: str, run_id: str | None = None) -> ClusterState: ...

    async def remove_from_isr(self, node_id: str) -> ClusterState: ...


class HandoffRecord(ClusterRecord, Protocol):
    """The planned handoff, recorded in ZooKeeper."""

    async def handoff(self, target_node_id: str) -> ClusterState: ...


_T = TypeVar("_T")

Provider = Callable[[], _T | None]
"""The coordinator once the node joined the election (None before)."""
