"""The node's role state machine (respcache/replication/role.py): a table of transitions."""

from __future__ import annotations

import itertools

import pytest

from respcache.commands.engine import Engine
from respcache.config import Config
from respcache.replication.node import Replication
from respcache.replication.role import (
    TRANSITIONS,
    IllegalTransition,
    NodeState,
    RoleEvent,
    RoleMachine,
)
from respcache.server.gate import CommitGate

S, E = NodeState, RoleEvent

LEGAL = [
    (S.MASTER, E.LEAD, S.MASTER),
    (S.MASTER, E.FOLLOW, S.FOLLOWER),
    (S.MASTER, E.STEP_DOWN, S.FENCED),
    (S.FENCED, E.LEAD, S.MASTER),
    (S.FENCED, E.FOLLOW, S.FOLLOWER),
    (S.FOLLOWER, E.LEAD, S.MASTER),
    (S.FOLLOWER, E.FOLLOW, S.FOLLOWER),
    (S.FOLLOWER, E.SYNC_BEGIN, S.FOLLOWER_LOADING),
    (S.FOLLOWER_LOADING, E.LEAD, S.MASTER),
    (S.FOLLOWER_LOADING, E.FOLLOW, S.FOLLOWER),
    (S.FOLLOWER_LOADING, E.SYNC_BEGIN, S.FOLLOWER_LOADING),
    (S.FOLLOWER_LOADING, E.SYNC_END, S.FOLLOWER),
    (S.FOLLOWER_LOADING, E.SYNC_ABORT, S.FOLLOWER),
]

ILLEGAL = [
    (S.MASTER, E.SYNC_BEGIN),
    (S.MASTER, E.SYNC_END),
    (S.MASTER, E.SYNC_ABORT),
    (S.FENCED, E.STEP_DOWN),
    (S.FENCED, E.SYNC_BEGIN),
    (S.FENCED, E.SYNC_END),
    (S.FENCED, E.SYNC_ABORT),
    (S.FOLLOWER, E.STEP_DOWN),
    (S.FOLLOWER, E.SYNC_END),
    (S.FOLLOWER, E.SYNC_ABORT),
    (S.FOLLOWER_LOADING, E.STEP_DOWN),
]


@pytest.mark.parametrize(("state", "event", "new"), LEGAL)
def test_legal_transitions(state: NodeState, event: RoleEvent, new: NodeState) -> None:
    machine = RoleMachine(state)
    assert machine.accepts(event)
    assert machine.apply(event) is new
    assert machine.state is new


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_illegal_transitions_raise_and_keep_the_state(state: NodeState, event: RoleEvent) -> None:
    machine = RoleMachine(state)
    assert not machine.accepts(event)
    with pytest.raises(IllegalTransition) as err:
        machine.apply(event)
    assert (err.value.state, err.value.event) == (state, event)
    assert machine.state is state


def test_the_two_tables_cover_every_pair_once() -> None:
    pairs = {(s, e) for s, e, _ in LEGAL} | set(ILLEGAL)
    assert len(pairs) == len(LEGAL) + len(ILLEGAL)
    assert pairs == set(itertools.product(NodeState, RoleEvent))
    assert {(s, e, n) for s, table in TRANSITIONS.items() for e, n in table.items()} == set(LEGAL)


@pytest.mark.parametrize(
    ("state", "managed", "role", "public", "fenced", "loading"),
    [
        (S.MASTER, False, "master", "master", False, False),
        (S.MASTER, True, "master", "master", False, False),
        (S.FENCED, False, "master", "master", True, False),
        (S.FENCED, True, "master", "none", True, False),
        (S.FOLLOWER, True, "slave", "slave", False, False),
        (S.FOLLOWER_LOADING, False, "slave", "slave", False, True),
    ],
)
def test_derived_views(
    state: NodeState, managed: bool, role: str, public: str, fenced: bool, loading: bool
) -> None:
    machine = RoleMachine(state)
    machine.managed = managed
    assert (machine.role, machine.public_role(), machine.fenced, machine.loading) == (
        role,
        public,
        fenced,
        loading,
    )


def test_armed_is_sticky_across_roles() -> None:
    machine = RoleMachine()
    machine.armed = True
    for event in (E.FOLLOW, E.SYNC_BEGIN, E.SYNC_END, E.LEAD, E.STEP_DOWN):
        machine.apply(event)
        assert machine.armed


def _node() -> Replication:
    engine = Engine(Config())
    return Replication(engine, CommitGate(), engine.config)


def test_the_node_attributes_follow_the_machine() -> None:
    rep = _node()
    assert (rep.state, rep.role, rep.fenced, rep.managed, rep.armed) == (
        S.MASTER,
        "master",
        False,
        False,
        False,
    )
    rep.managed = True
    rep.step_down("test")
    assert (rep.state, rep.role, rep.fenced, rep.managed) == (S.FENCED, "master", True, True)
    rep.step_down("again")  # already fenced: nothing happens (no illegal transition)
    assert rep.state is S.FENCED
    with pytest.raises(AttributeError):
        rep.fenced = False  # type: ignore[misc]


def test_a_managed_node_waiting_for_zookeeper_is_no_master_in_info_and_role() -> None:
    """Before the first decision: ROLE says a replica of nobody, INFO replication has no
    master-only field (min_slaves_good_slaves), status() and public_role say ``none``."""
    engine = Engine(Config())
    engine.config.set("min-replicas-to-write", "1")
    rep = Replication(engine, CommitGate(), engine.config)
    assert "min_slaves_good_slaves:0" in rep.info_lines()  # a standalone master shows it
    rep.managed = True
    rep.step_down("waiting for ZooKeeper to decide the roles")
    assert rep.role_reply() == [b"slave", b"", 0, b"none", -1]
    lines = rep.info_lines()
    assert lines[0] == "role:slave"
    assert "master_link_status:down" in lines
    assert not any(line.startswith("min_slaves_good_slaves") for line in lines)
    assert rep.public_role() == "none"
