"""The pure part of the coordinator: znode JSON, eligibility, the line and decisions."""

from __future__ import annotations

import json

import pytest

from respcache.coordination.config import CoordinationConfig
from respcache.coordination.state import (
    Candidate,
    ClusterState,
    DecisionKind,
    Registration,
    StateFormatError,
    decide,
    is_eligible,
    leader_candidate,
    line,
    sequence_of,
    successor_state,
)
from respcache.errors import ConfigError


def cand(node: str, seq: int, run: str | None = None, port: int | None = None) -> Candidate:
    return Candidate(
        znode=f"{'0' * 32}__{node}__{seq:010d}",
        node_id=node,
        run_id=run or f"run-{node}",
        address=f"127.0.0.1:{port or 7000 + seq}",
    )


def state(leader: Candidate, epoch: int, *members: Candidate) -> ClusterState:
    isr = (leader, *members)
    return ClusterState(
        leader=leader.node_id,
        epoch=epoch,
        isr=tuple(c.node_id for c in isr),
        leader_address=leader.address,
        leader_znode=leader.znode,
        isr_runs={c.node_id: c.run_id for c in isr},
    )


A, B, C, D = cand("a", 1), cand("b", 2), cand("c", 3), cand("d", 4)


# -- JSON encoding -------------------------------------------------------------------------------


def test_state_round_trip() -> None:
    s = state(A, 7, B, C)
    data = s.encode()
    assert json.loads(data) == {
        "leader": "a",
        "epoch": 7,
        "isr": ["a", "b", "c"],
        "leader_address": A.address,
        "leader_znode": A.znode,
        "isr_runs": {"a": "run-a", "b": "run-b", "c": "run-c"},
    }
    assert ClusterState.decode(data) == s


def test_state_encoding_is_canonical() -> None:
    # Same state, same bytes: a CAS that writes an unchanged state is recognisable.
    assert state(A, 1, B).encode() == state(A, 1, B).encode()
    assert b" " not in state(A, 1, B).encode()


def test_minimal_hand_written_state_decodes() -> None:
    s = ClusterState.decode(b'{"leader": "a", "epoch": 3, "isr": ["a", "b", "a"]}')
    assert s == ClusterState("a", 3, ("a", "b"), "", "", {})
    assert is_eligible(s, cand("b", 9, run="anything"))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        b"[]",
        b'{"epoch": 1, "isr": []}',
        b'{"leader": "", "epoch": 1, "isr": []}',
        b'{"leader": "a", "epoch": -1, "isr": []}',
        b'{"leader": "a", "epoch": true, "isr": []}',
        b'{"leader": "a", "epoch": "1", "isr": []}',
        b'{"leader": "a", "epoch": 1, "isr": "a"}',
        b'{"leader": "a", "epoch": 1, "isr": [1]}',
        b'{"leader": "a", "epoch": 1, "isr": [], "isr_runs": {"a": 1}}',
        b'{"leader": "a", "epoch": 1, "isr": [], "leader_address": 5}',
    ],
)
def test_bad_state_is_rejected(data: bytes) -> None:
    with pytest.raises(StateFormatError):
        ClusterState.decode(data)


def test_registration_round_trip() -> None:
    reg = Registration("n1", "abc", "10.0.0.1:6379", 42)
    assert json.loads(reg.encode()) == {
        "node_id": "n1",
        "run_id": "abc",
        "address": "10.0.0.1:6379",
        "offset": 42,
    }
    assert Registration.decode(reg.encode()) == reg
    c = Candidate.from_znode("f00__n1__0000000012", reg.encode())
    assert (c.node_id, c.run_id, c.address, c.offset, c.seq) == (
        "n1",
        "abc",
        "10.0.0.1:6379",
        42,
        12,
    )


@pytest.mark.parametrize(
    "data",
    [b"{}", b'{"node_id": "n", "run_id": 3}', b'{"node_id": "n", "run_id": "r", "offset": 1.5}'],
)
def test_bad_registration_is_rejected(data: bytes) -> None:
    with pytest.raises(StateFormatError):
        Registration.decode(data)


def test_sequence_of() -> None:
    assert sequence_of("abc__x__0000000042") == 42
    with pytest.raises(StateFormatError):
        sequence_of("abc__x__42")


# -- eligibility ---------------------------------------------------------------------------------


def test_everyone_is_eligible_before_bootstrap() -> None:
    assert is_eligible(None, A)


def test_eligible_means_in_isr_with_the_recorded_run() -> None:
    s = state(A, 2, B)
    assert is_eligible(s, A)
    assert is_eligible(s, B)
    assert not is_eligible(s, C)
    restarted_b = cand("b", 9, run="new-run")  # same node id, new process, no data
    assert not is_eligible(s, restarted_b)


# -- the line and the decisions -----------------------------------------------------------------


def test_line_puts_live_leader_first_then_eligible_then_the_rest() -> None:
    # Leader C holds the highest znode; B is not in the ISR although its znode is low.
    s = state(C, 4, D)
    assert line(s, [A, B, C, D]) == [C, D, A, B]


def test_line_without_live_leader() -> None:
    s = state(A, 4, C)
    assert line(s, [B, C, D]) == [C, B, D]


def test_bootstrap_only_first_node() -> None:
    assert decide(None, [A, B], A.znode).kind is DecisionKind.BOOTSTRAP
    d = decide(None, [A, B], B.znode)
    assert (d.kind, d.watch) == (DecisionKind.WAIT, A.znode)


def test_missing_own_znode_means_register() -> None:
    assert decide(state(A, 1), [A], B.znode).kind is DecisionKind.REGISTER


def test_followers_watch_only_their_predecessor() -> None:
    s = state(A, 1, B, C)
    decisions = {c.node_id: decide(s, [A, B, C, D], c.znode) for c in (A, B, C, D)}
    assert decisions["a"].kind is DecisionKind.LEAD and decisions["a"].watch is None
    assert {n: d.watch for n, d in decisions.items() if n != "a"} == {
        "b": A.znode,
        "c": B.znode,
        "d": C.znode,
    }
    for n in "bcd":
        assert decisions[n].kind is DecisionKind.FOLLOW
        assert decisions[n].leader == A


def test_next_eligible_takes_over_and_others_wait() -> None:
    s = state(A, 3, B, C)
    assert decide(s, [B, C, D], B.znode).kind is DecisionKind.TAKEOVER
    for c in (C, D):
        d = decide(s, [B, C, D], c.znode)
        assert d.kind is DecisionKind.WAIT


def test_node_outside_isr_is_not_elected_even_with_lowest_znode() -> None:
    s = state(A, 3, C)  # B was removed from the ISR
    assert decide(s, [B, C], B.znode).kind is DecisionKind.WAIT
    assert decide(s, [B, C], C.znode).kind is DecisionKind.TAKEOVER
    # and B now waits on C, not on nothing
    assert decide(s, [B, C], B.znode).watch == C.znode


def test_restarted_empty_node_never_wins() -> None:
    s = state(A, 3, B)
    b_again = cand("b", 5, run="fresh")
    d = decide(s, [b_again], b_again.znode)
    assert d.kind is DecisionKind.WAIT
    assert "waiting for a" in d.reason  # the recovery rule waits for the whole ISR
    assert decide(s, [b_again], b_again.znode, unclean=True).kind is DecisionKind.UNCLEAN


def test_leader_sticks_when_a_lower_node_joins_the_isr() -> None:
    # C leads; B (lower znode) is added back to the ISR: no change of leader.
    s = state(C, 5, B)
    assert decide(s, [B, C], C.znode).kind is DecisionKind.LEAD
    d = decide(s, [B, C], B.znode)
    assert (d.kind, d.leader, d.watch) == (DecisionKind.FOLLOW, C, C.znode)


def test_old_incarnation_of_myself_is_not_followed() -> None:
    old_a = A
    new_a = cand("a", 6, run="new")
    s = state(old_a, 2, B)
    d = decide(s, [old_a, B, new_a], new_a.znode)
    assert d.kind is DecisionKind.WAIT
    assert decide(s, [old_a, B, new_a], B.znode).kind is DecisionKind.FOLLOW


def test_leader_whose_znode_was_replaced_is_not_leader() -> None:
    # A lost its session and registered again: the state names its old znode.
    a_again = cand("a", 7)
    s = state(A, 2, B)
    assert leader_candidate(s, [B, a_again]) is None
    assert decide(s, [B, a_again], B.znode).kind is DecisionKind.TAKEOVER
    assert decide(s, [B, a_again], a_again.znode).kind is DecisionKind.WAIT


# -- state transitions ---------------------------------------------------------------------------


def test_bootstrap_state() -> None:
    s = successor_state(None, [A, B], A)
    assert s == state(A, 1)
    assert successor_state(None, [A], A, min_epoch=9).epoch == 10


def test_takeover_keeps_live_isr_members_and_drops_absent_ones() -> None:
    old = state(A, 4, B, C, D)
    new = successor_state(old, [B, D], B)  # A (old leader) and C are gone
    assert (new.leader, new.epoch, new.isr, new.leader_znode) == ("b", 5, ("b", "d"), B.znode)
    assert new.isr_runs == {"b": "run-b", "d": "run-d"}
    assert new.leader_address == B.address


def test_takeover_drops_restarted_members() -> None:
    old = state(A, 4, B, C)
    c_restarted = cand("c", 8, run="fresh")
    assert successor_state(old, [B, c_restarted], B).isr == ("b",)


def test_unclean_takeover_starts_a_new_isr() -> None:
    old = state(A, 4, B)
    x = cand("x", 9)
    new = successor_state(old, [x], x, unclean=True)
    assert (new.leader, new.epoch, new.isr) == ("x", 5, ("x",))


def test_isr_membership_changes_keep_the_epoch() -> None:
    s = state(A, 2, B)
    grown = s.with_member(C)
    assert (grown.epoch, grown.isr, grown.isr_runs["c"]) == (2, ("a", "b", "c"), "run-c")
    b_new_run = cand("b", 9, run="r2")
    assert s.with_member(b_new_run).isr_runs["b"] == "r2"
    shrunk = grown.without_member("b")
    assert (shrunk.epoch, shrunk.isr, "b" in shrunk.isr_runs) == (2, ("a", "c"), False)
    with pytest.raises(ValueError):
        s.without_member("a")


def test_handoff_state() -> None:
    s = state(A, 2, B, C)
    h = s.handed_to(C)
    assert (h.leader, h.epoch, h.isr, h.leader_znode, h.leader_address) == (
        "c",
        3,
        ("a", "b", "c"),
        C.znode,
        C.address,
    )
    with pytest.raises(ValueError):
        s.handed_to(D)
    # After the handoff the target leads and the old leader re-registers behind it.
    a_again = cand("a", 10)
    assert decide(h, [B, C, a_again], C.znode).kind is DecisionKind.LEAD
    assert decide(h, [B, C, a_again], a_again.znode).kind is DecisionKind.FOLLOW


# -- config --------------------------------------------------------------------------------------


def test_config_paths_and_chroot() -> None:
    cfg = CoordinationConfig("h1:2181,h2:2181/apps/rc", "n1", "10.0.0.5", 6379, cluster="prod")
    assert cfg.hosts == "h1:2181,h2:2181"
    assert cfg.chroot == "/apps/rc"
    assert cfg.state_path == "/apps/rc/respcache/prod/state"
    assert cfg.election_path == "/apps/rc/respcache/prod/election"
    assert cfg.address == "10.0.0.5:6379"
    plain = CoordinationConfig("h1:2181", "n1", "h", 1)
    assert (plain.chroot, plain.state_path) == ("", "/respcache/default/state")
    assert len(plain.run_id) == 40
    assert plain.run_id != CoordinationConfig("h1:2181", "n1", "h", 1).run_id


@pytest.mark.parametrize(
    "kwargs",
    [
        {"zookeeper": ""},
        {"zookeeper": "h:1/a/"},
        {"node_id": "a/b"},
        {"node_id": ""},
        {"cluster": "x y"},
        {"announce_port": 0},
        {"announce_host": ""},
        {"session_timeout_ms": 0},
        {"auth": "nopassword"},
    ],
)
def test_config_rejects(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "zookeeper": "h:2181",
        "node_id": "n1",
        "announce_host": "h",
        "announce_port": 1,
    }
    with pytest.raises(ConfigError):
        CoordinationConfig(**{**base, **kwargs})  # type: ignore[arg-type]
