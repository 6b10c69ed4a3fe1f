"""The replication commands' work (respcache/replication/commands.py), against a fake node.

REPLICAOF, REPLCONF and WAIT decide from the role machine and ask the node to
change roles; the fake node records what it was asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from respcache.commands.client import Client
from respcache.commands.engine import Engine
from respcache.config import Config
from respcache.errors import CommandError
from respcache.replication.backlog import NO_REPLID, History
from respcache.replication.commands import NOMASTERLINK, WAIT_ON_REPLICA, ReplicationCommands
from respcache.replication.role import RoleEvent, RoleMachine


@dataclass
class FakeNode:
    roles: RoleMachine
    leader: Any = None
    backlog: Any = None
    master: tuple[str, int] | None = None
    epoch: int = 5
    loop: Any = None
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def become_leader(self, epoch: int = 0, *, arm: bool = True) -> None:
        self.calls.append(("lead", epoch, arm))

    def follow(self, host: str, port: int) -> None:
        self.calls.append(("follow", host, port))

    def step_down(self, reason: str = "") -> None:
        self.calls.append(("step_down",))
        self.roles.apply(RoleEvent.STEP_DOWN)

    def ensure_leader(self) -> Any:
        raise AssertionError("not expected")


@pytest.fixture
def setup() -> tuple[ReplicationCommands, RoleMachine, FakeNode, Client]:
    roles = RoleMachine()
    engine = Engine(Config())
    node = FakeNode(roles)
    commands = ReplicationCommands(engine, roles, History.fresh(), node, {})
    return commands, roles, node, Client(engine)


def test_replicaof_changes_the_role_through_the_node(setup: Any) -> None:
    commands, roles, node, client = setup
    assert commands.replicaof(("10.0.0.1", 7001), client) == "OK"
    assert commands.replicaof(None, client) == "OK"  # a master already: nothing to do
    assert node.calls == [("follow", "10.0.0.1", 7001)]
    roles.apply(RoleEvent.FOLLOW)
    node.master = ("10.0.0.1", 7001)
    assert commands.replicaof(("10.0.0.1", 7001), client).startswith("OK Already connected")
    assert commands.replicaof(None, client) == "OK"
    assert node.calls[-1] == ("lead", 5, False)  # REPLICAOF NO ONE does not arm
    roles.managed = True
    with pytest.raises(CommandError, match="roles are decided by the coordination layer"):
        commands.replicaof(None, client)


def test_replconf_records_settings_and_checks_the_epoch(setup: Any) -> None:
    commands, roles, node, client = setup
    with pytest.raises(CommandError, match="syntax error"):
        commands.replconf(client, [b"REPLCONF", b"listening-port"])
    with pytest.raises(CommandError, match="not an integer"):
        commands.replconf(client, [b"REPLCONF", b"listening-port", b"x"])
    with pytest.raises(CommandError, match="Unrecognized REPLCONF option: bogus"):
        commands.replconf(client, [b"REPLCONF", b"bogus", b"1"])
    assert commands.replconf(client, [b"REPLCONF", b"capa", b"eof", b"capa", b"PSYNC2"])
    assert commands.replconf(client, [b"REPLCONF", b"epoch", b"5"])
    assert commands.replconf(client, [b"REPLCONF", b"ACK", b"10"]) is False  # no reply
    assert commands.replconf(client, [b"REPLCONF", b"GETACK", b"*"]) is False
    roles.managed = True
    with pytest.raises(CommandError, match="stale leader: the follower is at epoch 6"):
        commands.replconf(client, [b"REPLCONF", b"epoch", b"6"])
    assert node.calls == [("step_down",)]  # a newer term exists: stop acknowledging
    commands.forget(client)


def test_psync_and_wait_are_refused_on_a_replica(setup: Any) -> None:
    commands, roles, _, client = setup
    roles.apply(RoleEvent.FOLLOW)
    with pytest.raises(CommandError, match=NOMASTERLINK):
        commands.psync(client, "?", -1)
    with pytest.raises(CommandError) as refused:
        commands.wait(client, 1, 0)
    assert refused.value.message == WAIT_ON_REPLICA


def test_wait_without_a_leader_side(setup: Any) -> None:
    commands, _, _, client = setup
    assert commands.wait(client, 0, 100) == 0
    assert commands.wait(client, 1, -1) == 0
    assert commands.wait(client, 1, 100) is None  # no loop: nothing would ever answer


def test_change_replication_id_forgets_the_previous_one(setup: Any) -> None:
    commands, _, _, _ = setup
    before = commands.history.replid
    commands.change_replication_id()
    assert commands.history.replid != before
    assert (commands.history.replid2, commands.history.second_replid_offset) == (NO_REPLID, -1)
