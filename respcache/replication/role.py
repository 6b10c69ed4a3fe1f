"""The node's replication role as one small state machine (h11's ``_state.py`` design).

A node used to carry its role as a string (``master``/``slave``) and booleans
(``fenced``, ``_loading``) that only some combinations of made sense. Here the
role is one :class:`NodeState`, and it changes only by a :class:`RoleEvent`
looked up in one table, :data:`TRANSITIONS`: an event the table does not list
for the current state is a bug in the caller and raises
:class:`IllegalTransition` (as h11's ``ConnectionState.process_event`` raises
``LocalProtocolError``). What a state *does* to the engine (read-only, expiry,
the command gate) is the node's business (:mod:`.node`); this module only knows
which states exist and how one reaches them, so it is tested by a table.

The states are the ones the code really has:

* ``MASTER``: produces the stream. A Redis-style master (nobody decides roles
  but the configuration and ``REPLICAOF``) or a leader the coordination layer
  elected; whether ``min-insync-replicas`` applies is :attr:`RoleMachine.armed`,
  which is not a role: once a node has been replicated it stays armed
  (docs/replication.md, "Standalone").
* ``FENCED``: stepped down with no leader to follow yet: writes are refused,
  replies that would reveal unacknowledged writes stay held. A node managed by
  the coordination layer starts here ("waiting for ZooKeeper to decide") and
  comes back here when deposed; the two are the same state, because they refuse
  and hold the same things. Redis has no such state: ROLE and INFO show such a
  *managed* node as a replica of nobody (:meth:`RoleMachine.public_role`
  ``none``), never as ``master``.
* ``FOLLOWER``: replicates from a leader (its link may be up or down).
* ``FOLLOWER_LOADING``: a full sync is replacing the dataset (``LOADING``
  refusals; the data claims no history until it ends).

Redis keeps the same facts in ``server.masterhost`` (NULL for a master) and
``server.repl_state`` / ``server.loading`` (``replication.c``).
"""

from __future__ import annotations

import enum

__all__ = ["TRANSITIONS", "IllegalTransition", "NodeState", "RoleEvent", "RoleMachine"]


class NodeState(enum.Enum):
    MASTER = "master"
    FENCED = "fenced"
    FOLLOWER = "follower"
    FOLLOWER_LOADING = "follower-loading"


class RoleEvent(enum.Enum):
    LEAD = "lead"
    """``become_leader``: elected, or ``REPLICAOF NO ONE``."""
    FOLLOW = "follow"
    """``follow``: a (new) leader to replicate from."""
    STEP_DOWN = "step-down"
    """``step_down``: stop leading, no leader known yet."""
    SYNC_BEGIN = "sync-begin"
    """``+FULLRESYNC``: the dataset is about to be replaced."""
    SYNC_END = "sync-end"
    """The snapshot is loaded."""
    SYNC_ABORT = "sync-abort"
    """The link broke, or the node stopped following, in the middle of a full sync."""


_S = NodeState
_E = RoleEvent

TRANSITIONS: dict[NodeState, dict[RoleEvent, NodeState]] = {
    _S.MASTER: {
        _E.LEAD: _S.MASTER,  # a new term (epoch), or REPLICAOF NO ONE again
        _E.FOLLOW: _S.FOLLOWER,
        _E.STEP_DOWN: _S.FENCED,
    },
    _S.FENCED: {
        _E.LEAD: _S.MASTER,
        _E.FOLLOW: _S.FOLLOWER,
    },
    _S.FOLLOWER: {
        _E.LEAD: _S.MASTER,
        _E.FOLLOW: _S.FOLLOWER,  # another leader (or the same one, in a newer epoch)
        _E.SYNC_BEGIN: _S.FOLLOWER_LOADING,
    },
    _S.FOLLOWER_LOADING: {
        _E.LEAD: _S.MASTER,
        _E.FOLLOW: _S.FOLLOWER,
        _E.SYNC_BEGIN: _S.FOLLOWER_LOADING,  # a new link's full sync after a broken one
        _E.SYNC_END: _S.FOLLOWER,
        _E.SYNC_ABORT: _S.FOLLOWER,
    },
}
"""For each state, the events it accepts and the state each leads to; nothing else."""


class IllegalTransition(RuntimeError):
    """An event the current state does not accept (a bug in the caller)."""

    def __init__(self, state: NodeState, event: RoleEvent) -> None:
        super().__init__(f"can't handle {event.name} in state {state.name}")
        self.state = state
        self.event = event


class RoleMachine:
    """The current :class:`NodeState`, plus the two facts that are not states.

    ``armed``: min-insync-replicas applies (sticky: it is never cleared).
    ``managed``: roles come from the coordination layer (``REPLICAOF`` is refused).
    """

    __slots__ = ("armed", "managed", "state")

    def __init__(self, state: NodeState = NodeState.MASTER) -> None:
        self.state = state
        self.armed = False
        self.managed = False

    def apply(self, event: RoleEvent) -> NodeState:
        """Move to the state ``event`` leads to; raise :class:`IllegalTransition` if none."""
        new = TRANSITIONS[self.state].get(event)
        if new is None:
            raise IllegalTransition(self.state, event)
        self.state = new
        return new

    def accepts(self, event: RoleEvent) -> bool:
        return event in TRANSITIONS[self.state]

    # --- what the rest of the code reads ------------------------------------------------

    @property
    def role(self) -> str:
        """``master`` (leading or fenced) or ``slave`` (following), as Redis's masterhost says."""
        return "slave" if self.following else "master"

    @property
    def following(self) -> bool:
        return self.state in (NodeState.FOLLOWER, NodeState.FOLLOWER_LOADING)

    @property
    def leading(self) -> bool:
        """Producing the stream and accepting writes (``MASTER``)."""
        return self.state is NodeState.MASTER

    @property
    def fenced(self) -> bool:
        return self.state is NodeState.FENCED

    @property
    def loading(self) -> bool:
        return self.state is NodeState.FOLLOWER_LOADING

    def public_role(self) -> str:
        """``master``/``slave`` as ROLE and INFO say; ``none`` for a managed node that is
        fenced (waiting for ZooKeeper to decide, or deposed): it does not claim master."""
        if self.state is NodeState.FENCED and self.managed:
            return "none"
        return self.role
