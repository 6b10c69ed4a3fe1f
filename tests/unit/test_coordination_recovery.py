"""The recovery rule: after every in-sync process died, who may lead from its disk.

Pure (:func:`decide`, :func:`recovery_plan`): no ZooKeeper. The cluster tests
(``tests/cluster/test_recovery.py``) run the same rule on real processes.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from respcache.coordination.state import (
    Candidate,
    ClusterState,
    DecisionKind,
    Recovery,
    Registration,
    StateFormatError,
    decide,
    recovery_plan,
    successor_state,
)


def cand(node: str, seq: int, data: tuple[int, int] | None = None, run: str = "") -> Candidate:
    """A registration of ``node``; ``data`` = (epoch, offset) it recovered, None: empty."""
    recovered = Recovery(f"{node:0<40}", data[1], data[0]) if data is not None else None
    return Candidate(
        znode=f"{'0' * 32}__{node}__{seq:010d}",
        node_id=node,
        run_id=run or f"run-{node}-{seq}",
        address=f"127.0.0.1:{7000 + seq}",
        recovered=recovered,
    )


# The state left behind: a led epoch 5 with b and c in sync, every process dead since.
DEAD_A, DEAD_B, DEAD_C = cand("a", 1), cand("b", 2), cand("c", 3)
STATE = ClusterState(
    leader="a",
    epoch=5,
    isr=("a", "b", "c"),
    leader_address=DEAD_A.address,
    leader_znode=DEAD_A.znode,
    isr_runs={c.node_id: c.run_id for c in (DEAD_A, DEAD_B, DEAD_C)},
)


def test_registration_carries_the_recovered_data() -> None:
    reg = Registration("a", "run", "127.0.0.1:7001", 120, Recovery("f" * 40, 120, 5))
    obj = json.loads(reg.encode())
    assert obj["recovered"] == {"replid": "f" * 40, "offset": 120, "epoch": 5}
    assert Registration.decode(reg.encode()) == reg
    # Registrations of nodes without data (and of older versions) have no such field.
    plain = Registration("a", "run", "127.0.0.1:7001")
    assert "recovered" not in json.loads(plain.encode())
    assert Registration.decode(plain.encode()).recovered is None


@pytest.mark.parametrize(
    "recovered",
    ['"x"', '{"offset": -1}', '{"offset": 1, "epoch": "5"}', '{"replid": 3, "offset": 1}'],
)
def test_bad_recovered_field_is_refused(recovered: str) -> None:
    data = f'{{"node_id": "a", "run_id": "r", "recovered": {recovered}}}'.encode()
    with pytest.raises(StateFormatError):
        Registration.decode(data)


def test_all_back_the_longest_history_of_the_latest_epoch_leads() -> None:
    a, b, c = cand("a", 4, (5, 900)), cand("b", 5, (5, 1000)), cand("c", 6, (4, 5000))
    members = [a, b, c]
    plan = recovery_plan(STATE, members)
    # c went further but in an older epoch: its tail was never acknowledged.
    assert plan.winner == b
    assert decide(STATE, members, b.znode).kind is DecisionKind.RECOVER
    for other in (a, c):
        decision = decide(STATE, members, other.znode)
        assert decision.kind is DecisionKind.WAIT
        assert decision.watch == b.znode  # woken when the winner goes away
    new = successor_state(STATE, members, b, recovered=True)
    assert (new.leader, new.epoch, new.isr) == ("b", 6, ("b",))
    assert new.isr_runs == {"b": b.run_id} and new.leader_znode == b.znode


def test_a_tie_goes_to_the_oldest_registration() -> None:
    a, b = cand("a", 8, (5, 700)), cand("b", 7, (5, 700))
    assert recovery_plan(STATE, [a, b, cand("c", 9)]).winner == b


def test_waits_while_a_member_of_the_last_isr_is_missing() -> None:
    a, b = cand("a", 4, (5, 100)), cand("b", 5, (5, 9000))
    for me in (a, b):
        decision = decide(STATE, [a, b], me.znode)
        assert decision.kind is DecisionKind.WAIT
        assert decision.watch_members  # a registration wakes it
        assert "waiting for c" in decision.reason
        assert "CONFIG SET unclean-election yes" in decision.advice
    # A node outside the ISR does not count, whatever it holds.
    d = cand("d", 6, (9, 10**6))
    assert decide(STATE, [a, b, d], d.znode).kind is DecisionKind.WAIT


def test_a_member_back_without_data_counts_as_holding_nothing() -> None:
    a, b, c = cand("a", 4, (5, 100)), cand("b", 5), cand("c", 6, (5, 90))
    assert recovery_plan(STATE, [a, b, c]).winner == a
    assert decide(STATE, [a, b, c], a.znode).kind is DecisionKind.RECOVER


def test_nobody_with_data_is_the_operators_decision() -> None:
    members = [cand("a", 4), cand("b", 5), cand("c", 6)]
    decision = decide(STATE, members, members[0].znode)
    assert decision.kind is DecisionKind.WAIT
    assert "without data" in decision.reason and "unclean-election" in decision.advice
    # ... which unclean election is, on whichever node it is turned on: it starts over,
    # empty (whatever its place in the line; the compare-and-set picks one of several).
    for me in members:
        assert decide(STATE, members, me.znode, unclean=True).kind is DecisionKind.UNCLEAN


def test_unclean_election_still_prefers_a_safe_recovery() -> None:
    a, b, c = cand("a", 4, (5, 100)), cand("b", 5, (5, 200)), cand("c", 6, (5, 50))
    assert decide(STATE, [a, b, c], b.znode, unclean=True).kind is DecisionKind.RECOVER
    assert decide(STATE, [a, b, c], a.znode, unclean=True).kind is DecisionKind.WAIT


def test_newest_registration_of_a_node_counts() -> None:
    # b's older znode (a previous restart, data since replaced) lingers until its session ends.
    old_b, b = cand("b", 2, (5, 5000)), cand("b", 7, (5, 10))
    a, c = cand("a", 4, (5, 100)), cand("c", 6, (5, 50))
    plan = recovery_plan(STATE, [old_b, a, b, c])
    assert plan.winner == a
    assert plan.claims["b"] == b.recovered


def test_no_recovery_while_an_in_sync_process_is_registered() -> None:
    # b's process of the ISR is alive (its run id matches): an ordinary takeover.
    a = cand("a", 4, (5, 10**6))
    members = [DEAD_B, a, cand("c", 6, (5, 1))]
    assert decide(STATE, members, DEAD_B.znode).kind is DecisionKind.TAKEOVER
    assert decide(STATE, members, a.znode).kind is DecisionKind.WAIT
    # ... and while the recorded leader's znode exists (until its session expires),
    # the others follow it and a's new process waits for its previous run to go.
    b = cand("b", 5, (5, 1))
    members = [DEAD_A, a, b, cand("c", 6, (5, 1))]
    assert decide(STATE, members, b.znode).kind is DecisionKind.FOLLOW
    assert "previous run" in decide(STATE, members, a.znode).reason


def test_the_recovered_leaders_successor_state_needs_its_data() -> None:
    # After the recovery, the ISR is [b] only: if b dies too, the others wait for b.
    a, b, c = cand("a", 4, (5, 100)), cand("b", 5, (5, 200)), cand("c", 6, (5, 50))
    after = successor_state(STATE, [a, b, c], b, recovered=True)
    a2, c2 = replace(a, znode=a.znode[:-10] + "0000000010"), c
    decision = decide(after, [a2, c2], a2.znode)
    assert decision.kind is DecisionKind.WAIT and "waiting for b" in decision.reason


def test_without_a_leader_every_waiting_node_is_woken_by_any_member_change() -> None:
    # Just after the crash b's dead process still has its znode (eligible: same run):
    # the new processes wait. When it goes, who must act depends on every member, so
    # each waiting node is woken by any change, not only by its predecessor's.
    a, c = cand("a", 4, (5, 100)), cand("c", 6, (5, 900))
    members = [DEAD_B, a, c]
    for me in (a, c):
        decision = decide(STATE, members, me.znode)
        assert decision.kind is DecisionKind.WAIT and decision.watch_members
    assert decide(STATE, members, c.znode).watch == a.znode  # (its predecessor)
    b = cand("b", 7, (5, 10))
    waiting = decide(STATE, [a, c, b], a.znode)
    assert waiting.watch == c.znode and waiting.watch_members
