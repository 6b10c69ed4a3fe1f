"""The replication command gate (respcache/replication/command_gate.py), without a server.

The gate reads only a role machine, the settings and a node's leader side and
link, so fakes of the last two are enough to check every refusal and when the
engine's ``command_gate`` slot is set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from respcache.commands.client import Client
from respcache.commands.engine import Engine
from respcache.config import Config
from respcache.errors import NOREPLICAS, READONLY
from respcache.replication.command_gate import LOADING, MASTERDOWN, CommandGate
from respcache.replication.role import RoleEvent, RoleMachine


@dataclass
class FakeIsr:
    confirmed_isr: frozenset[str] = frozenset()
    followers: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeLeader:
    isr: FakeIsr = field(default_factory=FakeIsr)
    links: dict[int, Any] = field(default_factory=dict)


@dataclass
class FakeLink:
    up: bool = False


@dataclass
class FakeNode:
    leader: Any = None
    link: Any = None


@dataclass
class Replica:
    fid: str
    state: str = "online"


@dataclass
class Acked:
    last_ack: float


def _gate(**settings: str) -> tuple[CommandGate, Engine, RoleMachine, FakeNode]:
    engine = Engine(Config())
    for name, value in settings.items():
        engine.config.set(name.replace("_", "-"), value)
    roles = RoleMachine()
    node = FakeNode()
    return CommandGate(engine, engine.config, roles, node), engine, roles, node


def _check(gate: CommandGate, engine: Engine, *argv: bytes) -> str | None:
    spec = engine.lookup(list(argv))
    assert spec is not None
    refusal = gate.check(Client(engine), spec, spec.is_write)
    return None if refusal is None else refusal.message


def test_a_standalone_master_has_no_gate() -> None:
    gate, engine, _, _ = _gate()
    gate.update()
    assert engine.command_gate is None
    assert _check(gate, engine, b"set", b"k", b"v") is None


def test_a_fenced_master_refuses_writes_with_readonly() -> None:
    gate, engine, roles, _ = _gate()
    roles.apply(RoleEvent.STEP_DOWN)
    gate.update()
    assert engine.command_gate == gate.check
    assert _check(gate, engine, b"set", b"k", b"v") == READONLY
    assert _check(gate, engine, b"get", b"k") is None


def test_an_armed_leader_without_enough_in_sync_replicas_refuses_writes() -> None:
    gate, engine, roles, node = _gate(min_insync_replicas="1")
    gate.update()
    assert engine.command_gate is None  # not armed: min-insync-replicas does not apply
    roles.armed = True
    node.leader = FakeLeader()
    gate.update()
    assert _check(gate, engine, b"set", b"k", b"v") == NOREPLICAS
    assert _check(gate, engine, b"get", b"k") is None
    node.leader.isr.confirmed_isr = frozenset({"n2"})
    gate.update()
    assert engine.command_gate is None


def test_min_replicas_to_write_counts_online_replicas_that_acked_recently() -> None:
    gate, engine, _, node = _gate(min_replicas_to_write="1", min_replicas_max_lag="10")
    leader = node.leader = FakeLeader()
    leader.links[1] = Replica("a")
    leader.links[2] = Replica("b", state="wait_bgsave")
    leader.isr.followers["a"] = Acked(time.monotonic() - 60)  # too old
    leader.isr.followers["b"] = Acked(time.monotonic())  # not online
    gate.config_changed(None)
    assert gate.good_replicas == 0
    assert _check(gate, engine, b"set", b"k", b"v") == NOREPLICAS
    leader.isr.followers["a"] = Acked(time.monotonic())
    gate.cron()
    assert gate.good_replicas == 1
    assert engine.command_gate is None


def test_a_follower_refuses_writes_masterdown_and_loading() -> None:
    gate, engine, roles, node = _gate()
    roles.apply(RoleEvent.FOLLOW)
    engine.read_only = True
    node.link = FakeLink(up=True)
    gate.update()
    assert engine.command_gate == gate.check
    assert _check(gate, engine, b"set", b"k", b"v") == READONLY
    assert _check(gate, engine, b"get", b"k") is None
    engine.config.set("replica-serve-stale-data", "no")
    node.link.up = False
    assert _check(gate, engine, b"get", b"k") == MASTERDOWN
    assert _check(gate, engine, b"info") is None  # a stale command
    node.link.up = True
    roles.apply(RoleEvent.SYNC_BEGIN)
    assert _check(gate, engine, b"get", b"k") == LOADING
    assert _check(gate, engine, b"info") is None  # allowed while loading


def test_a_writable_follower_with_its_link_up_has_no_gate() -> None:
    gate, engine, roles, node = _gate()
    roles.apply(RoleEvent.FOLLOW)
    engine.read_only = False
    node.link = FakeLink(up=True)
    gate.update()
    assert engine.command_gate is None
    node.link.up = False
    engine.config.set("replica-serve-stale-data", "no")
    gate.update()
    assert engine.command_gate == gate.check


def test_config_changed_follows_replica_read_only_on_a_follower() -> None:
    gate, engine, roles, _ = _gate()
    roles.apply(RoleEvent.FOLLOW)
    engine.config.set("replica-read-only", "no")
    gate.config_changed(None)
    assert engine.read_only is False
    engine.config.set("replica-read-only", "yes")
    gate.config_changed(None)
    assert engine.read_only is True
