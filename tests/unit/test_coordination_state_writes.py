"""StateWrites and ElectionLoop against an in-memory ZooKeeper: CAS writes, one evaluation.

The fake session answers each kazoo ``*_async`` call at once from a dict of
znodes with versions (kazoo's ``BadVersionError``/``NoNodeError`` included), so
the checks the writes make (still leader? registered? still this version?)
run without a ZooKeeper. tests/cluster runs the same code on a real one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError
from kazoo.protocol.states import ZnodeStat

from respcache.coordination.config import CoordinationConfig
from respcache.coordination.connection import ConnectionState
from respcache.coordination.election_loop import ElectionLoop
from respcache.coordination.events import BecameLeader, Event, NotLeaderError, NotRegisteredError
from respcache.coordination.role import LocalRole
from respcache.coordination.state import ClusterState, Registration
from respcache.coordination.state_writes import StateWrites
from respcache.coordination.znodes import ElectionZnodes


def stat(version: int) -> ZnodeStat:
    return ZnodeStat(0, 0, 0, 0, version, 0, 0, 0, 0, 0, 0)


class FakeZk:
    def __init__(self) -> None:
        self.nodes: dict[str, tuple[bytes, int]] = {}

    def get_async(self, path: str, watch: Any = None) -> tuple[bytes, ZnodeStat]:
        if path not in self.nodes:
            raise NoNodeError()
        data, version = self.nodes[path]
        return data, stat(version)

    def exists_async(self, path: str, watch: Any = None) -> ZnodeStat | None:
        return stat(self.nodes[path][1]) if path in self.nodes else None

    def set_async(self, path: str, data: bytes, version: int = -1) -> ZnodeStat:
        if path not in self.nodes:
            raise NoNodeError()
        current = self.nodes[path][1]
        if version not in (-1, current):
            raise BadVersionError()
        self.nodes[path] = (data, current + 1)
        return stat(current + 1)

    def get_children_async(self, path: str, watch: Any = None) -> list[str]:
        prefix = path + "/"
        return [p[len(prefix) :] for p in self.nodes if p.startswith(prefix)]

    def ensure_path_async(self, path: str) -> None:
        return None

    def create_async(
        self, path: str, data: bytes, ephemeral: bool = False, sequence: bool = False
    ) -> str:
        if sequence:
            path += f"{len(self.nodes):010d}"
        if path in self.nodes:
            raise NodeExistsError()
        self.nodes[path] = (data, 0)
        return path


class FakeSession:
    """ZkSession's interface, answering at once."""

    def __init__(self) -> None:
        self.client = FakeZk()
        self.stopping = False

    async def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)


def znode_name(node: str, seq: int) -> str:
    return f"{'0' * 32}__{node}__{seq:010d}"


class Cluster:
    """Node ``a`` leads epoch 3 with ISR (a,); ``b`` is registered."""

    def __init__(self) -> None:
        self.config = CoordinationConfig("h:2181", "a", "127.0.0.1", 7001)
        self.session = FakeSession()
        self.wakes = 0
        self.role = LocalRole("a", lambda event: None)
        self.znodes = ElectionZnodes(
            self.config,
            self.session,  # type: ignore[arg-type]
            lambda event: None,
            lambda: 0,
            lambda: None,
        )
        self.connection = ConnectionState(
            self.config,
            self.role,
            self.znodes,
            wake=self.wake,
            isr_followers=lambda: 0,
            unclean=lambda: False,
            stopping=lambda: False,
            loop=lambda: None,
        )
        self.connection.connected = True
        self.writes = StateWrites(
            self.config,
            self.session,  # type: ignore[arg-type]
            self.znodes,
            self.role,
            self.connection,
            mutex=asyncio.Lock(),
            wake=self.wake,
        )
        self.register("a", 1, "run-a")
        self.register("b", 2, "run-b")
        self.znodes.znode = znode_name("a", 1)
        self.state = ClusterState(
            leader="a",
            epoch=3,
            isr=("a",),
            leader_address="127.0.0.1:7001",
            leader_znode=znode_name("a", 1),
            isr_runs={"a": "run-a"},
        )
        self.session.client.nodes[self.config.state_path] = (self.state.encode(), 5)
        self.role.become_leader(self.state)

    def wake(self) -> None:
        self.wakes += 1

    def register(self, node: str, seq: int, run: str) -> None:
        reg = Registration(node, run, f"127.0.0.1:{7000 + seq}")
        path = f"{self.config.election_path}/{znode_name(node, seq)}"
        self.session.client.nodes[path] = (reg.encode(), 0)

    def stored(self) -> tuple[ClusterState, int]:
        data, version = self.session.client.nodes[self.config.state_path]
        return ClusterState.decode(data), version


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_add_and_remove_a_member_are_one_cas_each_and_idempotent() -> None:
    c = Cluster()
    new = run(c.writes.add_to_isr("b", "run-b"))
    assert new.isr == ("a", "b") and new.isr_runs["b"] == "run-b"
    assert c.stored() == (new, 6)
    assert c.role.state == new
    assert run(c.writes.add_to_isr("b")) == new  # already in: no write
    assert c.stored()[1] == 6
    new = run(c.writes.remove_from_isr("b"))
    assert new.isr == ("a",) and c.stored() == (new, 7)
    run(c.writes.remove_from_isr("b"))
    assert c.stored()[1] == 7


def test_only_a_registered_process_joins_and_the_leader_never_leaves() -> None:
    c = Cluster()
    with pytest.raises(NotRegisteredError):
        run(c.writes.add_to_isr("z"))
    with pytest.raises(NotRegisteredError):
        run(c.writes.add_to_isr("b", "run-of-a-restarted-b"))
    with pytest.raises(ValueError):
        run(c.writes.remove_from_isr("a"))


def test_writes_need_leadership_still_recorded_in_zookeeper() -> None:
    c = Cluster()
    c.connection.connected = False
    with pytest.raises(NotLeaderError):
        run(c.writes.add_to_isr("b"))
    c.connection.connected = True
    successor = ClusterState("b", 4, ("b",), "127.0.0.1:7002", znode_name("b", 2))
    c.session.client.nodes[c.config.state_path] = (successor.encode(), 9)
    with pytest.raises(NotLeaderError):
        run(c.writes.add_to_isr("b"))
    assert c.wakes == 1  # the election loop looks again (and steps down)
    assert c.role.max_epoch_seen == 4


def test_cas_fails_on_a_stale_version_and_records_what_it_wrote() -> None:
    c = Cluster()
    bigger = c.state.with_member(next(m for m in run(c.znodes.read_members()) if m.node_id == "b"))
    assert run(c.writes.cas(bigger, 4)) is False
    assert c.stored() == (c.state, 5)
    assert run(c.writes.cas(bigger, 5)) is True
    assert c.role.state == bigger


def test_fetch_state_reads_the_znode_or_none() -> None:
    c = Cluster()
    assert run(c.writes.fetch_state()) == c.state
    del c.session.client.nodes[c.config.state_path]
    assert run(c.writes.fetch_state()) is None


def test_the_first_node_bootstraps_the_state_and_then_rests() -> None:
    async def main() -> None:
        config = CoordinationConfig("h:2181", "a", "127.0.0.1", 7001)
        session = FakeSession()
        events: list[Event] = []
        role = LocalRole("a", events.append)
        znodes = ElectionZnodes(config, session, lambda e: None, lambda: 0, lambda: None)  # type: ignore[arg-type]
        wake = asyncio.Event()
        connection = ConnectionState(
            config,
            role,
            znodes,
            wake=wake.set,
            isr_followers=lambda: 0,
            unclean=lambda: False,
            stopping=lambda: False,
            loop=lambda: None,
        )
        connection.connected = True
        mutex = asyncio.Lock()
        writes = StateWrites(config, session, znodes, role, connection, mutex=mutex, wake=wake.set)  # type: ignore[arg-type]
        election = ElectionLoop(
            config,
            session,  # type: ignore[arg-type]
            znodes,
            role,
            connection,
            writes,
            wake=wake,
            mutex=mutex,
            watch=lambda e: None,
            data=lambda: None,
            unclean=lambda: False,
        )
        assert await election.evaluate() is True  # registered, bootstrapped: look again
        assert connection.paths_ready and znodes.znode is not None
        assert role.is_leader and events == [BecameLeader(role.epoch, ("a",))]
        data, _ = session.client.nodes[config.state_path]
        assert ClusterState.decode(data).leader_znode == znodes.znode
        assert await election.evaluate() is False  # leading that epoch already
        assert len(events) == 1

    asyncio.run(main())


def test_a_win_under_an_older_connection_is_not_claimed() -> None:
    async def main() -> None:
        c = Cluster()
        c.role.step_down("test")
        c.connection.generation += 1  # (as SUSPENDED does)
        election = ElectionLoop(
            c.config,
            c.session,  # type: ignore[arg-type]
            c.znodes,
            c.role,
            c.connection,
            c.writes,
            wake=asyncio.Event(),
            mutex=asyncio.Lock(),
            watch=lambda e: None,
            data=lambda: None,
            unclean=lambda: False,
        )
        election._become_leader(c.state, c.connection.generation - 1)
        assert not c.role.is_leader
        election._become_leader(c.state, c.connection.generation)
        assert c.role.is_leader

    asyncio.run(main())
