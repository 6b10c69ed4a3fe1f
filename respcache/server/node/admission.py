"""What a client may do on a cluster node, decided before its command runs.

:class:`ClusterAdmission` is the node's :class:`~respcache.commands.admission.NodeAdmission`
(called by ``Engine.execute``): writes held during a planned handoff, reads
refused on a node that does not lead when ``read-consistency`` is
``linearizable``, data commands forwarded just after a handoff, and reads on
the leader fenced: their replies wait until the in-sync followers proved they
still follow this epoch (a ``GETACK`` round, :meth:`Replication.read_fence`).
See docs/coordination.md ("Reads", "Planned handoff").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from respcache.commands.admission import Forward, Hold
from respcache.errors import CommandError

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.commands.registry import CommandSpec
    from respcache.server.node.ports import Roles

__all__ = ["NOT_LEADER_READ", "REVEALS_FUNCTIONS", "ClusterAdmission", "HandoffGate"]

NOT_LEADER_READ: Final = (
    "READONLY This node is not the leader and read-consistency is linearizable: "
    "read from the leader."
)
"""Reads refused on a node that does not lead. The READONLY code makes redis-py's
Sentinel client drop the connection and ask the Sentinels for the leader, as it
does for a write to a demoted master."""

REVEALS_FUNCTIONS: Final = frozenset({"function|list", "function|dump"})
"""Replicated state (the function libraries) read by commands flagged neither readonly
nor write: their replies wait for the commit barrier too, or a FUNCTION LOAD would be
visible before the followers have it."""


class HandoffGate(Protocol):
    """What admission reads of the handoff (:class:`~respcache.server.node.handoff.Handoff`)."""

    writes_paused: bool
    reads_paused: bool

    @property
    def hold(self) -> Hold: ...

    def redirect(self, client: Client) -> Forward | None: ...


class ClusterAdmission:
    """The node's gate steps; ``joined()`` tells whether a coordinator exists yet.

    ``dirty()`` is the engine's change counter, ``read_fence()`` starts a GETACK
    round whose acknowledgements commit the replies produced before it.
    """

    def __init__(
        self,
        roles: Roles,
        handoff: HandoffGate,
        joined: Callable[[], bool],
        dirty: Callable[[], int],
        read_fence: Callable[[], object],
        linearizable: bool,
        no_leader: Callable[[bool], CommandError | None] = lambda writes: None,
    ) -> None:
        self._roles = roles
        self._handoff = handoff
        self._joined = joined
        self._dirty = dirty
        self._read_fence = read_fence
        self.linearizable = linearizable
        self._no_leader = no_leader
        """``no_leader(writes)``: the refusal of a node with no leader to follow, if any."""
        self._fence_dirty = -1

    def reveals_data(self, client: Client, spec: CommandSpec) -> bool:
        """Does the reply wait for the commit barrier? Data commands and transactions do;
        PING, REPLCONF, INFO, SENTINEL... do not: a new leader holds every data reply
        until its followers acknowledged, and their handshakes must get through.
        ``may_replicate`` is data too: EVAL, EVALSHA and FCALL are flagged neither write
        nor readonly, yet their scripts' writes replicate (as MULTI/EXEC) and their
        replies reveal them; ungated, a script was acknowledged before any follower had
        applied it, and lost when the leader died."""
        if client.multi is not None:
            return True
        flags = spec.flags
        return (
            spec.is_write
            or "readonly" in flags
            or "may_replicate" in flags
            or spec.name.startswith("debug")
            or spec.name in REVEALS_FUNCTIONS
        )

    def route(
        self, client: Client, spec: CommandSpec, writes: bool, data: bool, queued: bool
    ) -> CommandError | Forward | None:
        """Forward just after a handoff; refuse reads a non-leader cannot prove fresh."""
        self._fence_dirty = -1
        if not data:
            return None
        forward = self._handoff.redirect(client)
        if forward is not None:
            # Just after a handoff: a client that has not noticed it yet (or whose
            # library retries on the same address) gets its command run by the new
            # leader, and a closed connection that makes it look for the leader.
            return forward
        if queued:
            return None  # (a queued command is judged with its transaction, at EXEC)
        if not self._roles.leading:
            no_leader = self._no_leader(writes)
            if no_leader is not None:
                return no_leader
            if self.linearizable and not writes and self._joined():
                return CommandError(NOT_LEADER_READ)
            return None  # writes: the replication gate answers READONLY, as on any replica
        if self.linearizable:
            self._fence_dirty = self._dirty()
        return None

    def hold(self, client: Client, spec: CommandSpec, writes: bool, data: bool) -> Hold | None:
        """During a handoff writes wait (and, while it is recorded, reads too)."""
        handoff = self._handoff
        if data and ((writes and handoff.writes_paused) or handoff.reads_paused):
            self._fence_dirty = -1
            return handoff.hold
        return None

    def executed(self, client: Client, spec: CommandSpec, changed: bool) -> None:
        """After a command ran: a read holds the replies behind it until fenced."""
        if self._fence_dirty >= 0:
            # Nothing was propagated: the reply only observed the data (GET, or a
            # write that changed nothing). Its commit needs a fresh ack round.
            if not changed:
                self._read_fence()
            self._fence_dirty = -1
