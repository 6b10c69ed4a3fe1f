"""Leader election, ISR and epochs against a real ZooKeeper."""

from __future__ import annotations

import asyncio

import pytest
from kazoo.protocol.connection import _CONNECTION_DROP
from zk_helpers import SESSION_MS, Node, ZkCluster, eventually

from respcache.coordination import (
    BecameLeader,
    ClusterState,
    Coordinator,
    Follow,
    NotEligibleError,
    NotLeaderError,
    NotRegisteredError,
    Role,
    StepDown,
)
from respcache.coordination.state import Recovery

pytestmark = pytest.mark.cluster


async def three_in_sync(zk_cluster: ZkCluster) -> tuple[Node, Node, Node]:
    """a leads at epoch 1; b and c follow and are added to the ISR in that order."""
    a = await zk_cluster.start("a")
    await a.expect(BecameLeader, epoch=1, isr=("a",))
    b = await zk_cluster.start("b")
    await b.expect(Follow, leader_node_id="a", epoch=1)  # b registered before c: znode order
    c = await zk_cluster.start("c")
    await c.expect(Follow, leader_node_id="a", epoch=1)
    await a.coordinator.add_to_isr("b")
    state = await a.coordinator.add_to_isr("c")
    assert state.isr == ("a", "b", "c")
    return a, b, c


async def test_first_node_bootstraps_at_epoch_1_and_others_follow(zk_cluster: ZkCluster) -> None:
    a = await zk_cluster.start("a")
    event = await a.expect(BecameLeader)
    assert event == BecameLeader(1, ("a",))
    b = await zk_cluster.start("b")
    c = await zk_cluster.start("c")
    cfg_a = a.coordinator.config
    for node in (b, c):
        assert await node.expect(Follow) == Follow("a", cfg_a.address, 1)
    state = await b.coordinator.fetch_state()
    assert state is not None
    assert (state.leader, state.epoch, state.isr, state.leader_address) == (
        "a",
        1,
        ("a",),
        cfg_a.address,
    )
    assert zk_cluster.leaders() == ["a"]
    assert b.coordinator.status.role is Role.FOLLOWER
    assert not b.events(BecameLeader) and not c.events(BecameLeader)


async def test_isr_changes_are_confirmed_compare_and_sets(zk_cluster: ZkCluster) -> None:
    a, b, c = await three_in_sync(zk_cluster)
    shrunk = await a.coordinator.remove_from_isr("b")
    assert (shrunk.epoch, shrunk.isr) == (1, ("a", "c"))
    # Confirmed by ZooKeeper before returning: a fresh read sees it.
    assert await c.coordinator.fetch_state() == shrunk
    assert (await a.coordinator.remove_from_isr("b")).isr == ("a", "c")  # idempotent
    with pytest.raises(NotLeaderError):
        await b.coordinator.add_to_isr("b")
    with pytest.raises(NotRegisteredError):
        await a.coordinator.add_to_isr("nobody")
    with pytest.raises(NotRegisteredError):
        await a.coordinator.add_to_isr("b", run_id="not-its-run")
    grown = await a.coordinator.add_to_isr("b", run_id=b.coordinator.config.run_id)
    assert grown.isr == ("a", "c", "b")
    assert grown.isr_runs["b"] == b.coordinator.config.run_id
    # ISR changes do not change the epoch and emit nothing.
    await asyncio.sleep(0.1)
    assert a.history == [BecameLeader(1, ("a",))]


async def test_leader_closing_its_session_hands_over_to_next_in_isr(zk_cluster: ZkCluster) -> None:
    a, b, c = await three_in_sync(zk_cluster)
    await zk_cluster.stop("a")
    assert await a.expect(StepDown) == StepDown("coordinator stopped", 1)
    event = await b.expect(BecameLeader, epoch=2)
    assert event.isr == ("b", "c")  # a is gone: dropped from the ISR at takeover
    assert await c.expect(Follow, epoch=2) == Follow("b", b.coordinator.config.address, 2)
    assert not c.events(BecameLeader)


async def test_leader_session_expiry(zk_cluster: ZkCluster) -> None:
    a, b, c = await three_in_sync(zk_cluster)
    await zk_cluster.expire_session(a)
    assert (await a.expect(StepDown)).epoch == 1
    await b.expect(BecameLeader, epoch=2)
    await c.expect(Follow, leader_node_id="b", epoch=2)
    # a registers again (new session, new znode at the back) and follows b.
    await a.expect(Follow, leader_node_id="b", epoch=2)
    assert zk_cluster.leaders() == ["b"]
    await eventually(
        lambda: [m.node_id for m in a.coordinator.members()] == ["b", "c", "a"],
        "a registered again at the back of the line",
    )


async def test_removed_from_isr_is_not_elected_even_with_lowest_znode(
    zk_cluster: ZkCluster,
) -> None:
    a, b, c = await three_in_sync(zk_cluster)
    await a.coordinator.remove_from_isr("b")
    members = a.coordinator.members()
    assert [m.node_id for m in members] == ["a", "b", "c"]  # b's znode is below c's
    await zk_cluster.stop("a")
    event = await c.expect(BecameLeader, epoch=2)
    assert event.isr == ("c",)
    await b.expect(Follow, leader_node_id="c", epoch=2)
    assert not b.events(BecameLeader)


async def test_restarted_node_with_new_run_is_not_eligible(zk_cluster: ZkCluster) -> None:
    a = await zk_cluster.start("a")
    await a.expect(BecameLeader, epoch=1)
    b = await zk_cluster.start("b")
    await b.expect(Follow, epoch=1)
    await a.coordinator.add_to_isr("b")
    # b's process restarts: same node id, new run id, no data. a has not noticed yet.
    await zk_cluster.stop("b")
    b2 = await zk_cluster.start("b")
    await b2.expect(Follow, leader_node_id="a", epoch=1)
    state = await a.coordinator.fetch_state()
    assert state is not None and "b" in state.isr
    await zk_cluster.stop("a")
    await eventually(
        lambda: "no in-sync replica registered" in b2.coordinator.status.reason,
        "b to give up on the election",
    )
    assert not b2.events(BecameLeader)
    after = await b2.coordinator.fetch_state()
    assert after is not None and (after.leader, after.epoch) == ("a", 1)


async def test_unclean_election_when_allowed(zk_cluster: ZkCluster) -> None:
    a = await zk_cluster.start("a")
    await a.expect(BecameLeader, epoch=1)
    b = await zk_cluster.start("b", unclean_election=True)
    await b.expect(Follow, epoch=1)
    await zk_cluster.stop("a")
    assert await b.expect(BecameLeader) == BecameLeader(2, ("b",))


async def test_watches_only_the_predecessor(zk_cluster: ZkCluster) -> None:
    a, b, c = await three_in_sync(zk_cluster)
    d = await zk_cluster.start("d")
    await d.expect(Follow, epoch=1)
    await a.coordinator.remove_from_isr("b")  # line: a, c (in sync), b, d
    nodes = (a, b, c, d)
    election = a.coordinator.config.election_path
    state_path = a.coordinator.config.state_path
    by_id = {m.node_id: f"{election}/{m.znode}" for m in a.coordinator.members()}
    expected = {
        "a": {state_path},
        "c": {state_path, by_id["a"]},
        "b": {state_path, by_id["c"]},
        "d": {state_path, by_id["b"]},
    }

    def watches() -> dict[str, set[str]]:
        out = zk_cluster.zookeeper.four_letter_word("wchc")
        sessions: dict[str, set[str]] = {}
        current = ""
        for line in out.splitlines():
            if line.startswith("0x"):
                current = line.strip()
                sessions[current] = set()
            elif line.strip() and current:
                sessions[current].add(line.strip())
        return {
            n.node_id: sessions.get(hex(n.coordinator.zk_client._session_id), set()) for n in nodes
        }

    try:
        await eventually(lambda: watches() == expected, "watches on the predecessor only")
    except AssertionError:
        raise AssertionError(f"expected {expected}, got {watches()}") from None
    # Each election znode is watched by exactly one session: no herd when one goes.
    watched = [p for paths in watches().values() for p in paths if p.startswith(election)]
    assert len(watched) == len(set(watched)) == 3


async def test_connection_suspended_keeps_leading(zk_cluster: ZkCluster) -> None:
    a, b, _ = await three_in_sync(zk_cluster)
    client = a.coordinator.zk_client
    session = client.client_id
    generation = a.coordinator._conn_gen
    client._call(_CONNECTION_DROP, None)  # what kazoo.testing.harness.lose_connection does
    # SUSPENDED, then CONNECTED again with the same session: a leads on at epoch 1
    # (nobody can be elected without ZooKeeper; see the election module's docstring).
    await eventually(
        lambda: a.coordinator._conn_gen > generation and a.coordinator.status.connected
    )
    assert client.client_id == session  # suspended, never lost
    assert a.coordinator.is_leader and a.coordinator.epoch == 1
    assert not a.events(StepDown)
    assert zk_cluster.leaders() == ["a"]
    assert [e.epoch for e in b.events(Follow)] == [1]


async def test_connection_suspended_steps_down_with_unclean_election_and_no_follower(
    zk_cluster: ZkCluster,
) -> None:
    # Alone in its ISR with unclean election on, a node outside the ISR could be
    # elected once the session expires: no leading without ZooKeeper then.
    a = await zk_cluster.start("a", unclean_election=True)
    await a.expect(BecameLeader, epoch=1)
    a.coordinator.zk_client._call(_CONNECTION_DROP, None)
    event = await a.expect(StepDown)
    assert "unclean election" in event.reason
    await a.expect(BecameLeader, epoch=2)  # the session survived: it takes leadership back


async def test_handoff_to_named_follower(zk_cluster: ZkCluster) -> None:
    a, b, c = await three_in_sync(zk_cluster)
    with pytest.raises(NotEligibleError):
        await a.coordinator.handoff("nobody")
    await a.coordinator.remove_from_isr("b")
    with pytest.raises(NotEligibleError):
        await a.coordinator.handoff("b")
    with pytest.raises(NotLeaderError):
        await c.coordinator.handoff("a")
    new = await a.coordinator.handoff("c")
    assert (new.leader, new.epoch, new.isr) == ("c", 2, ("a", "c"))
    assert (await a.expect(StepDown)).epoch == 1
    assert await c.expect(BecameLeader) == BecameLeader(2, ("a", "c"))
    await a.expect(Follow, leader_node_id="c", epoch=2)
    await b.expect(Follow, leader_node_id="c", epoch=2)
    # a went to the back of the line and stays eligible (same run, still in the ISR).
    await eventually(lambda: [m.node_id for m in a.coordinator.members()] == ["b", "c", "a"])
    assert zk_cluster.leaders() == ["c"]
    # c now leads: when it goes, a (in sync) takes over, not b.
    await zk_cluster.stop("c")
    await a.expect(BecameLeader, epoch=3)
    await b.expect(Follow, leader_node_id="a", epoch=3)


async def test_state_written_by_others_is_followed(zk_cluster: ZkCluster) -> None:
    """A newer epoch seen in the state znode makes the leader step down."""
    a, _, c = await three_in_sync(zk_cluster)
    state = await a.coordinator.fetch_state()
    assert state is not None
    client = zk_cluster.kazoo()
    try:
        c_member = next(m for m in a.coordinator.members() if m.node_id == "c")
        forged = ClusterState(
            leader="c",
            epoch=state.epoch + 1,
            isr=state.isr,
            leader_address=c_member.address,
            leader_znode=c_member.znode,
            isr_runs=state.isr_runs,
        )
        await zk_cluster.run_sync(
            lambda: client.set(a.coordinator.config.state_path, forged.encode())
        )
    finally:
        await zk_cluster.run_sync(client.stop)
    event = await a.expect(StepDown)
    assert "newer epoch 2" in event.reason
    await c.expect(BecameLeader, epoch=2)
    await a.expect(Follow, leader_node_id="c", epoch=2)


async def test_zookeeper_restart_restores_one_leader(private_zk_cluster: ZkCluster) -> None:
    cluster = private_zk_cluster
    zookeeper = cluster.zookeeper
    a, _, _ = await three_in_sync(cluster)

    def sessions() -> dict[str, int | None]:
        return {i: n.coordinator.zk_client._session_id for i, n in cluster.nodes.items()}

    for downtime in (2 * SESSION_MS / 1000,):  # longer than the session timeout
        leader, epoch = await cluster.settled()
        before = sessions()
        await cluster.run_sync(zookeeper.kill)
        # The leader leads on while suspended, until a whole session timeout passed
        # without ZooKeeper (kazoo cannot learn of an expiry while it is down).
        step_down = await cluster.nodes[leader].expect(StepDown, epoch=epoch)
        assert "presumed expired" in step_down.reason
        assert cluster.leaders() == []
        await asyncio.sleep(downtime - SESSION_MS / 1000)
        await cluster.run_sync(zookeeper.start)  # same port, same data
        new_leader, new_epoch = await cluster.settled()
        assert new_epoch > epoch
        # ZooKeeper keeps sessions across a restart (their expiry starts over), so
        # the leader's znode normally survives and it takes its leadership back
        # under a new epoch. Only a session that expired (a loaded machine that
        # reconnects late) lets the next in line take over instead.
        if sessions()[leader] == before[leader]:
            assert new_leader == leader
    assert a.events(BecameLeader)[0].epoch == 1


async def test_deleted_state_znode_is_bootstrapped_again_above_old_epochs(
    zk_cluster: ZkCluster,
) -> None:
    a, b, c = await three_in_sync(zk_cluster)
    await a.coordinator.handoff("b")  # epoch 2, led by b; a goes to the back
    await b.expect(BecameLeader, epoch=2)
    await a.expect(Follow, leader_node_id="b", epoch=2)
    client = zk_cluster.kazoo()
    try:
        await zk_cluster.run_sync(lambda: client.delete(b.coordinator.config.state_path))
    finally:
        await zk_cluster.run_sync(client.stop)
    assert (await b.expect(StepDown)).reason == "state znode deleted"
    # The first in line (b, lowest znode now) bootstraps, above every epoch it saw.
    assert await b.expect(BecameLeader) == BecameLeader(3, ("b",))
    await c.expect(Follow, leader_node_id="b", epoch=3)
    await a.expect(Follow, leader_node_id="b", epoch=3)


async def test_recovery_from_disk_and_the_operators_start_empty(zk_cluster: ZkCluster) -> None:
    """Every ISR process gone: the restarted nodes wait for all, the longest history leads;
    with no data anywhere they wait until an operator turns unclean election on."""
    await three_in_sync(zk_cluster)
    for node_id in ("c", "b", "a"):  # the leader last: nobody takes over meanwhile
        await zk_cluster.stop(node_id)  # (closing the session removes its znode at once)
    claims = {"a": Recovery("r" * 40, 90, 1), "c": Recovery("r" * 40, 120, 1)}
    a = await zk_cluster.start("a", data=lambda: claims["a"])
    c = await zk_cluster.start("c", data=lambda: claims["c"])
    await eventually(lambda: "waiting for b" in a.coordinator.status.reason)
    assert zk_cluster.leaders() == []
    b = await zk_cluster.start("b")  # back without data; its registration wakes the others
    assert await c.expect(BecameLeader) == BecameLeader(2, ("c",))
    await a.expect(Follow, leader_node_id="c", epoch=2)
    await b.expect(Follow, leader_node_id="c", epoch=2)
    assert not a.events(BecameLeader) and not b.events(BecameLeader)

    # Now every node of the ISR (c alone) comes back without data.
    for node_id in ("a", "b", "c"):
        await zk_cluster.stop(node_id)
    empty = [await zk_cluster.start(n) for n in ("a", "b", "c")]
    await eventually(lambda: "without data" in empty[2].coordinator.status.reason)
    assert zk_cluster.leaders() == []
    first = empty[0].coordinator
    first.unclean_election = True  # CONFIG SET unclean-election yes, on one node
    first.wake()
    assert await empty[0].expect(BecameLeader) == BecameLeader(3, ("a",))
    await empty[2].expect(Follow, leader_node_id="a", epoch=3)


async def test_events_queue_without_callback(zk_cluster: ZkCluster) -> None:
    coordinator = Coordinator(zk_cluster.config("q"))
    await coordinator.start()
    try:
        event = await asyncio.wait_for(coordinator.events.get(), 15)
        assert event == BecameLeader(1, ("q",))
        assert coordinator.is_leader and coordinator.epoch == 1
        status = coordinator.status
        assert (status.role, status.leader, status.connected) == (Role.LEADER, "q", True)
    finally:
        await coordinator.stop()
    assert await asyncio.wait_for(coordinator.events.get(), 15) == StepDown(
        "coordinator stopped", 1
    )
    assert not coordinator.is_leader
