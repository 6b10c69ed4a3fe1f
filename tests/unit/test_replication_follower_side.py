"""The node's side of following (respcache/replication/follower_side.py), without a link.

The follower side is driven by the link's callbacks; here a test calls them in
the order a session would, against a real engine and role machine and a fake
node (backlog, link, epoch, ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from respcache.commands.engine import Engine
from respcache.config import Config
from respcache.replication.backlog import Backlog, History
from respcache.replication.command_gate import CommandGate
from respcache.replication.follower import SessionError
from respcache.replication.follower_side import FollowerSide, MasterLinkClient
from respcache.replication.role import NodeState, RoleEvent, RoleMachine
from respcache.replication.snapshot import FORMAT_VERSION


@dataclass
class FakeLink:
    up: bool = True
    transport: Any = field(default_factory=object)
    sync_started: float = 0.0
    closed: list[str] = field(default_factory=list)

    def close_connection(self, reason: str) -> None:
        self.closed.append(reason)


@dataclass
class FakeNode:
    backlog: Backlog | None = None
    link: Any = None
    master: tuple[str, int] | None = ("10.0.0.1", 7001)
    epoch: int = 3
    node_id: str = "n2"
    run_id: str = "r2"
    announce_ip: str = ""
    syncs: int = 0
    leader: Any = None

    def synced(self) -> None:
        self.syncs += 1


@dataclass
class FakeDisk:
    acks: int = 0
    replaced: int = 0

    def before_ack(self) -> None:
        self.acks += 1

    def dataset_replaced(self) -> None:
        self.replaced += 1


def _side() -> tuple[FollowerSide, Engine, RoleMachine, FakeNode, FakeDisk]:
    engine = Engine(Config())
    roles = RoleMachine()
    roles.apply(RoleEvent.FOLLOW)
    node = FakeNode(backlog=Backlog(1024, 0), link=FakeLink())
    disk = FakeDisk()
    gate = CommandGate(engine, engine.config, roles, node)
    side = FollowerSide(
        engine,
        engine.config,
        roles,
        History.fresh(),
        gate,
        node,
        listening_port=lambda: 7002,
        disk=disk,
    )
    side.attach_client()
    return side, engine, roles, node, disk


def test_the_master_link_client_applies_the_stream() -> None:
    side, engine, _, node, _ = _side()
    client = side.client
    assert isinstance(client, MasterLinkClient) and client.is_master
    assert engine.clients[client.id] is client
    assert client.connection_info()["addr"] == "10.0.0.1:7001"
    assert side.apply([b"SET", b"k", b"v"]) is False
    assert engine.keyspace.dbs[0].data.get(b"k") == b"v"
    assert side.apply([b"MULTI"]) is True  # a transaction is open
    assert side.apply([b"SET", b"k", b"w"]) is True
    assert side.apply([b"EXEC"]) is False
    assert engine.keyspace.dbs[0].data.get(b"k") == b"w"
    assert side.apply([b"INCR", b"k"]) is False  # an error is counted, not raised
    assert side.apply_errors == 1
    client.kill()
    assert node.link.closed == ["killed by CLIENT KILL"]


def test_a_full_sync_loads_the_snapshot_and_claims_the_leaders_history() -> None:
    side, engine, roles, node, disk = _side()
    engine.keyspace.dbs[0].set(b"old", b"1")
    side.full_sync_begin("a" * 40, 10)
    assert roles.state is NodeState.FOLLOWER_LOADING
    assert engine.command_gate is not None  # LOADING refusals
    assert engine.keyspace.dbs[0].data.get(b"old") is None
    assert side.snapshot_record([b"snapshot", FORMAT_VERSION, b"16"]) is False
    assert side.snapshot_record([b"strings", b"k", b"v"]) is False
    assert side.snapshot_record([b"end", b"1"]) is True
    side.full_sync_end()
    assert roles.state is NodeState.FOLLOWER
    assert engine.keyspace.dbs[0].data.get(b"k") == b"v"
    assert (node.syncs, disk.replaced) == (1, 1)
    with pytest.raises(SessionError, match="outside a full sync"):
        side.snapshot_record([b"strings", b"k", b"v"])


def test_a_link_lost_halfway_through_a_full_sync_aborts_the_loading() -> None:
    side, _, roles, node, _ = _side()
    side.full_sync_begin("a" * 40, 10)
    other = FakeLink(up=False, transport=None)
    side.link_state_changed(other)  # not the node's link: ignored
    assert roles.loading
    node.link.up, node.link.transport = False, None
    side.link_state_changed(node.link)
    assert roles.state is NodeState.FOLLOWER


def test_a_partial_resync_and_the_disk_before_acks() -> None:
    side, _, _, node, disk = _side()
    side.continued("b" * 40)
    side.before_ack()
    assert (node.syncs, disk.acks) == (1, 1)
    session = side.new_session(node.link)
    assert session.handler is side


def test_stop_drops_an_unfinished_transaction_and_the_client() -> None:
    side, engine, _, _, _ = _side()
    client = side.client
    assert client is not None
    side.apply([b"MULTI"])
    side.apply([b"SET", b"k", b"v"])
    side.stop(keep_client=True)  # another leader: the client stays
    assert side.client is client and client.multi is None
    assert engine.keyspace.dbs[0].data.get(b"k") is None
    side.stop(keep_client=False)
    assert side.client is None and client.id not in engine.clients
