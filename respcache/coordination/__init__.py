"""ZooKeeper coordination: who leads, at which epoch, with which in-sync replicas.

This package only talks to ZooKeeper and emits events (:class:`BecameLeader`,
:class:`Follow`, :class:`StepDown`); it knows nothing of client sockets or of
replication. The server wires the events to the replication layer. See
``docs/coordination.md``.
"""

from respcache.coordination.config import CoordinationConfig, new_run_id
from respcache.coordination.election import Coordinator, Role, Status
from respcache.coordination.events import (
    BecameLeader,
    CoordinationError,
    Event,
    Follow,
    NotEligibleError,
    NotLeaderError,
    NotRegisteredError,
    StepDown,
)
from respcache.coordination.state import Candidate, ClusterState

__all__ = [
    "BecameLeader",
    "Candidate",
    "ClusterState",
    "CoordinationConfig",
    "CoordinationError",
    "Coordinator",
    "Event",
    "Follow",
    "NotEligibleError",
    "NotLeaderError",
    "NotRegisteredError",
    "Role",
    "Status",
    "StepDown",
    "new_run_id",
]
