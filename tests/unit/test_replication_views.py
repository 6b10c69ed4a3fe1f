"""ROLE, INFO replication and status() (respcache/replication/views.py), from fakes of the node.

The views only read: a role machine, a history, the command gate and a node
exposing its leader side, link, backlog, leader address, epoch and offset.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from respcache.commands.engine import Engine
from respcache.config import Config
from respcache.replication.backlog import Backlog, History
from respcache.replication.command_gate import CommandGate
from respcache.replication.role import RoleEvent, RoleMachine
from respcache.replication.views import FollowerInfo, ReplicationViews


@dataclass
class Acked:
    ack: int
    last_ack: float
    in_isr: bool = True


@dataclass
class FakeIsr:
    isr: frozenset[str] = frozenset()
    confirmed_isr: frozenset[str] = frozenset()
    committed: int = 0
    followers: dict[str, Acked] = field(default_factory=dict)


@dataclass
class Replica:
    fid: str
    ip: str
    port: int
    state: str = "online"


@dataclass
class FakeLeader:
    isr: FakeIsr = field(default_factory=FakeIsr)
    links: dict[int, Replica] = field(default_factory=dict)


@dataclass
class FakeLink:
    up: bool = False
    state: str = "connecting"
    session: Any = None
    transport: Any = None
    last_io: float = 0.0
    down_since: float = 0.0


@dataclass
class FakeNode:
    leader: Any = None
    link: Any = None
    backlog: Backlog | None = None
    master: tuple[str, int] | None = None
    epoch: int = 0
    failover_state: str = "no-failover"
    produced: int = 0

    def offset(self) -> int:
        return self.produced


def _views() -> tuple[ReplicationViews, RoleMachine, FakeNode, History]:
    engine = Engine(Config())
    roles = RoleMachine()
    node = FakeNode()
    history = History.fresh()
    gate = CommandGate(engine, engine.config, roles, node)
    return ReplicationViews(engine.config, roles, history, gate, node), roles, node, history


def _info(views: ReplicationViews) -> dict[str, str]:
    return dict(line.split(":", 1) for line in views.info_lines())


def test_a_leader_shows_its_online_replicas_offsets_and_isr() -> None:
    views, _, node, history = _views()
    leader = node.leader = FakeLeader()
    leader.links[1] = Replica("n2", "10.0.0.2", 7002)
    leader.links[2] = Replica("n3", "10.0.0.3", 7003, state="wait_bgsave")
    leader.isr = FakeIsr(
        isr=frozenset({"n2"}),
        committed=40,
        followers={"n2": Acked(40, time.monotonic())},
    )
    node.produced, node.epoch = 50, 4
    node.backlog = Backlog(1024, 0)
    assert views.role_reply() == [b"master", 50, [[b"10.0.0.2", b"7002", b"40"]]]
    info = _info(views)
    assert info["role"] == "master"
    assert info["connected_slaves"] == "2"
    assert info["slave0"] == "ip=10.0.0.2,port=7002,state=online,offset=40,lag=0"
    assert info["slave1"] == "ip=10.0.0.3,port=7003,state=wait_bgsave,offset=0,lag=0"
    assert info["master_replid"] == history.replid
    assert info["master_repl_offset"] == "50"
    assert info["repl_backlog_active"] == "1"
    assert (info["isr"], info["replication_epoch"]) == ("n2", "4")
    assert "master_host" not in info
    status = views.status()
    assert (status.role, status.epoch, status.offset, status.committed) == ("master", 4, 50, 40)
    assert status.isr == {"n2"}
    assert status.followers[0] == FollowerInfo("n2", "10.0.0.2", 7002, "online", 40, 0, True)
    assert not status.link_up


def test_a_follower_with_its_link_down() -> None:
    views, roles, node, _ = _views()
    roles.apply(RoleEvent.FOLLOW)
    node.master = ("10.0.0.1", 7001)
    node.link = FakeLink(down_since=time.monotonic() - 3)
    node.produced = 12
    assert views.role_reply() == [b"slave", b"10.0.0.1", 7001, b"connecting", -1]
    info = _info(views)
    assert info["role"] == "slave"
    assert (info["master_host"], info["master_port"]) == ("10.0.0.1", "7001")
    assert info["master_link_status"] == "down"
    assert info["master_last_io_seconds_ago"] == "-1"
    assert info["slave_repl_offset"] == "12"
    assert info["master_link_down_since_seconds"] == "3"
    assert info["repl_backlog_active"] == "0"
    status = views.status()
    assert (status.role, status.master, status.link_up) == ("slave", ("10.0.0.1", 7001), False)


def test_a_follower_with_its_link_up() -> None:
    views, roles, node, _ = _views()
    roles.apply(RoleEvent.FOLLOW)
    node.master = ("10.0.0.1", 7001)
    node.link = FakeLink(up=True, state="connected", transport=object(), last_io=time.monotonic())
    node.produced = 99
    assert views.role_reply() == [b"slave", b"10.0.0.1", 7001, b"connected", 99]
    info = _info(views)
    assert info["master_link_status"] == "up"
    assert info["master_last_io_seconds_ago"] == "0"
    assert "master_link_down_since_seconds" not in info
    assert views.status().link_up


def test_a_managed_fenced_node_claims_no_role() -> None:
    views, roles, _, _ = _views()
    roles.managed = True
    roles.apply(RoleEvent.STEP_DOWN)
    assert views.public_role() == "none"
    assert views.role_reply() == [b"slave", b"", 0, b"none", -1]
    assert _info(views)["role"] == "slave"
