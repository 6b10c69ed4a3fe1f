"""The coordinator's collaborators that need no ZooKeeper: the local role and the connection states.

:class:`LocalRole` turns role changes into exactly one event each;
:class:`ConnectionState` takes kazoo's connection states on the loop and decides
whether a suspended leader leads on (see coordination/election.py's docstring).
"""

from __future__ import annotations

import asyncio

import pytest
from kazoo.protocol.states import KazooState

from respcache.coordination.config import CoordinationConfig
from respcache.coordination.connection import ConnectionState
from respcache.coordination.events import BecameLeader, Event, Follow, StepDown
from respcache.coordination.role import LocalRole, Role
from respcache.coordination.state import ClusterState


def cluster_state(epoch: int, leader: str = "a", isr: tuple[str, ...] = ("a", "b")) -> ClusterState:
    return ClusterState(leader=leader, epoch=epoch, isr=isr, leader_address="127.0.0.1:7000")


# --- LocalRole ------------------------------------------------------------------------------


def test_becoming_leader_emits_once_and_status_names_this_node() -> None:
    events: list[Event] = []
    role = LocalRole("a", events.append)
    role.become_leader(cluster_state(3))
    assert events == [BecameLeader(3, ("a", "b"))]
    assert role.is_leader and role.epoch == 3
    status = role.status("z-a", connected=True)
    assert (status.role, status.epoch, status.leader, status.znode, status.connected) == (
        Role.LEADER,
        3,
        "a",
        "z-a",
        True,
    )
    assert status.reason == "leader at epoch 3"


def test_step_down_remembers_the_resigned_epoch_and_is_a_no_op_when_not_leading() -> None:
    events: list[Event] = []
    role = LocalRole("a", events.append)
    role.step_down("nothing to give up")
    assert events == []
    role.become_leader(cluster_state(4))
    role.step_down("bye")
    assert events[-1] == StepDown("bye", 4)
    assert (role.role, role.epoch, role.resigned_epoch) == (Role.NONE, 0, 4)
    role.step_down("again")
    assert len(events) == 2


def test_follow_emits_only_when_leader_address_or_epoch_change() -> None:
    events: list[Event] = []
    role = LocalRole("b", events.append)
    role.follow("a", "h:1", 2)
    role.follow("a", "h:1", 2)
    role.follow("a", "h:1", 3)
    assert events == [Follow("a", "h:1", 2), Follow("a", "h:1", 3)]
    status = role.status(None, connected=True)
    assert (status.role, status.leader, status.epoch) == (Role.FOLLOWER, "a", 3)


def test_observe_keeps_the_newest_epoch_seen() -> None:
    role = LocalRole("a", lambda event: None)
    role.observe(cluster_state(5))
    role.observe(cluster_state(2))
    role.observe(None)
    assert role.max_epoch_seen == 5
    assert role.state == cluster_state(2)


def test_leaderless_shows_only_while_not_leading() -> None:
    role = LocalRole("a", lambda event: None)
    role.leaderless = True
    assert role.status(None, connected=True).leaderless
    role.become_leader(cluster_state(1))
    assert not role.status(None, connected=True).leaderless


def test_a_failing_event_handler_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def boom(event: Event) -> None:
        raise RuntimeError("handler broke")

    role = LocalRole("a", boom)
    role.become_leader(cluster_state(1))
    assert role.is_leader
    assert "event handler failed" in caplog.text


# --- ConnectionState ------------------------------------------------------------------------


class FakeZnodes:
    def __init__(self) -> None:
        self.watching: str | None = "pred"
        self.lost = 0

    def session_lost(self) -> None:
        self.lost += 1


class Harness:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None,
        *,
        unclean: bool = False,
        followers: int = 1,
        session_timeout_ms: int = 10_000,
    ) -> None:
        self.events: list[Event] = []
        self.wakes = 0
        self.stopping = False
        self.config = CoordinationConfig(
            "h:2181", "a", "127.0.0.1", 7000, session_timeout_ms=session_timeout_ms
        )
        self.role = LocalRole("a", self.events.append)
        self.znodes = FakeZnodes()
        self.connection = ConnectionState(
            self.config,
            self.role,
            self.znodes,
            wake=self.wake,
            isr_followers=lambda: followers,
            unclean=lambda: unclean,
            stopping=lambda: self.stopping,
            loop=lambda: loop,
        )

    def wake(self) -> None:
        self.wakes += 1


def test_connected_wakes_the_election_and_suspended_bumps_the_generation() -> None:
    h = Harness(None)
    h.connection.on_state(KazooState.CONNECTED)
    assert h.connection.connected and h.wakes == 1
    gen = h.connection.generation
    assert h.connection.is_current(gen)
    h.connection.on_state(KazooState.SUSPENDED)
    assert not h.connection.connected
    assert not h.connection.is_current(gen)
    assert h.connection.generation == gen + 1
    assert h.znodes.watching is None  # the server dropped the connection's watches
    assert h.role.reason == "ZooKeeper connection suspended"
    assert h.znodes.lost == 0  # the session may live on


def test_lost_steps_the_leader_down_and_registers_anew() -> None:
    h = Harness(None)
    h.connection.on_state(KazooState.CONNECTED)
    h.connection.paths_ready = True
    h.role.become_leader(cluster_state(7))
    h.connection.on_state(KazooState.LOST)
    assert h.events[-1] == StepDown("ZooKeeper session lost", 7)
    assert h.znodes.lost == 1
    assert not h.connection.paths_ready
    assert h.role.reason == "ZooKeeper session lost"


def test_states_after_stop_are_ignored() -> None:
    h = Harness(None)
    h.stopping = True
    h.connection.on_state(KazooState.CONNECTED)
    assert not h.connection.connected and h.wakes == 0


def test_a_suspended_leader_with_unclean_election_and_no_isr_follower_steps_down() -> None:
    h = Harness(None, unclean=True, followers=0)
    h.role.become_leader(cluster_state(2))
    h.connection.on_state(KazooState.SUSPENDED)
    assert isinstance(h.events[-1], StepDown) and not h.role.is_leader


def test_a_suspended_leader_leads_on_until_a_whole_session_timeout_passed() -> None:
    async def main() -> None:
        h = Harness(asyncio.get_running_loop(), session_timeout_ms=50)
        h.connection.on_state(KazooState.CONNECTED)
        h.role.become_leader(cluster_state(3))
        h.connection.on_state(KazooState.SUSPENDED)
        assert h.role.is_leader
        assert h.role.reason == "leading epoch 3 while ZooKeeper is unreachable"
        await asyncio.sleep(0.1)
        assert not h.role.is_leader
        assert h.role.reason == "ZooKeeper unreachable for a whole session timeout"
        assert isinstance(h.events[-1], StepDown) and h.events[-1].epoch == 3

    asyncio.run(main())


def test_a_reconnection_within_the_session_timeout_keeps_the_leader() -> None:
    async def main() -> None:
        h = Harness(asyncio.get_running_loop(), session_timeout_ms=50)
        h.connection.on_state(KazooState.CONNECTED)
        h.role.become_leader(cluster_state(3))
        h.connection.on_state(KazooState.SUSPENDED)
        h.connection.on_state(KazooState.CONNECTED)  # cancels the timer
        await asyncio.sleep(0.1)
        assert h.role.is_leader
        assert [type(e) for e in h.events] == [BecameLeader]

    asyncio.run(main())
