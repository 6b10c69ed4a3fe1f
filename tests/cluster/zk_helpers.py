"""Helpers for tests against a real ZooKeeper: coordinators with an event record."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kazoo.client import KazooClient

from respcache.coordination import (
    BecameLeader,
    CoordinationConfig,
    Coordinator,
    Event,
    Follow,
    Role,
    StepDown,
)
from respcache.coordination.state import Recovery
from respcache.coordination.zkserver import ZooKeeperServer

TICK_MS = 200
SESSION_MS = 1200
WAIT = 15.0  # upper bound for anything we wait for; tests never rely on it being tight

E = TypeVar("E", BecameLeader, Follow, StepDown)


async def eventually(
    predicate: Callable[[], bool], what: str = "condition", timeout: float = WAIT
) -> None:
    """Poll ``predicate`` until it holds (fails the test after ``timeout``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class Node:
    """A coordinator plus the record of every event it emitted."""

    node_id: str
    coordinator: Coordinator
    history: list[Event] = field(default_factory=list)
    cursor: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, event: Event) -> None:
        self.history.append(event)
        self._changed.set()

    async def expect(self, kind: type[E], timeout: float = WAIT, **attrs: object) -> E:
        """The next event of type ``kind`` (with ``attrs``) after the cursor; moves the cursor."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i in range(self.cursor, len(self.history)):
                event = self.history[i]
                if isinstance(event, kind) and all(
                    getattr(event, k) == v for k, v in attrs.items()
                ):
                    self.cursor = i + 1
                    return event
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.node_id}: no {kind.__name__}{attrs or ''}; events: {self.history}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def events(self, kind: type[E]) -> list[E]:
        return [e for e in self.history if isinstance(e, kind)]


class ZkCluster:
    """Coordinators of one test, all in a cluster name nobody else uses."""

    def __init__(self, zookeeper: ZooKeeperServer) -> None:
        self.zookeeper = zookeeper
        self.name = "t" + uuid.uuid4().hex[:12]
        self.nodes: dict[str, Node] = {}
        self.started: list[Node] = []  # every node ever started, restarts included
        self._ports = iter(range(17001, 18000))

    def config(self, node_id: str, **overrides: Any) -> CoordinationConfig:
        settings: dict[str, Any] = {
            "zookeeper": self.zookeeper.connect_string,
            "node_id": node_id,
            "announce_host": "127.0.0.1",
            "announce_port": next(self._ports),
            "cluster": self.name,
            "session_timeout_ms": SESSION_MS,
            "reconnect_max_delay": 0.3,
        }
        settings.update(overrides)
        return CoordinationConfig(**settings)

    async def start(
        self, node_id: str, data: Callable[[], Recovery | None] | None = None, **overrides: Any
    ) -> Node:
        """Start a coordinator (a node id started again replaces the old record).

        ``data``: what the node's data is (see ``Coordinator``), for recovery tests."""
        holder: list[Node] = []
        coordinator = Coordinator(
            self.config(node_id, **overrides), lambda e: holder[0].record(e), data=data
        )
        node = Node(node_id, coordinator)
        holder.append(node)
        self.nodes[node_id] = node
        self.started.append(node)
        await coordinator.start()
        return node

    async def stop(self, node_id: str) -> None:
        await self.nodes.pop(node_id).coordinator.stop()

    async def aclose(self) -> None:
        await asyncio.gather(*(n.coordinator.stop() for n in self.started))
        self.check_invariants()

    def check_invariants(self) -> None:
        """What must hold whatever the test did: one leader per epoch, epochs only go up."""
        led: dict[int, str] = {}
        for node in self.started:
            for became in node.events(BecameLeader):
                other = led.setdefault(became.epoch, node.node_id)
                assert other == node.node_id, (
                    f"{other} and {node.node_id} both led epoch {became.epoch}"
                )
            seen = [e.epoch for e in node.history if not isinstance(e, StepDown)]
            assert seen == sorted(seen), f"{node.node_id} went back in epochs: {node.history}"
            own = {e.epoch for e in node.events(BecameLeader)}
            for event in node.events(StepDown):
                assert event.epoch in own, f"{node.node_id} stepped down from an epoch it never led"

    def leaders(self) -> list[str]:
        """The running nodes that lead."""
        return [n.node_id for n in self.nodes.values() if n.coordinator.is_leader]

    async def settled(self) -> tuple[str, int]:
        """Wait until one running node leads and all the others follow it at its epoch."""
        result: list[tuple[str, int]] = []

        def check() -> bool:
            statuses = {n.node_id: n.coordinator.status for n in self.nodes.values()}
            leaders = [(i, s.epoch) for i, s in statuses.items() if s.role is Role.LEADER]
            if len(leaders) != 1:
                return False
            leader, epoch = leaders[0]
            if all(
                (s.role, s.leader, s.epoch) == (Role.FOLLOWER, leader, epoch)
                for i, s in statuses.items()
                if i != leader
            ):
                result[:] = [(leader, epoch)]
                return True
            return False

        await eventually(check, "one leader followed by everyone")
        return result[0]

    def kazoo(self, **kwargs: Any) -> KazooClient:
        """A plain kazoo client (caller stops it)."""
        client = KazooClient(self.zookeeper.connect_string, **kwargs)
        client.start(timeout=WAIT)
        return client

    async def expire_session(self, node: Node) -> None:
        """Expire ``node``'s session on the server, as a long partition would.

        A second client joins the same session (id and password) and closes it:
        ZooKeeper deletes the ephemeral znodes and fires the watches at once;
        the node learns it when it reconnects (LOST).
        """
        session_id, password = node.coordinator.zk_client.client_id

        def close_session() -> None:
            other = KazooClient(
                self.zookeeper.connect_string,
                client_id=(session_id, password),
                timeout=SESSION_MS / 1000,
            )
            other.start(timeout=WAIT)
            other.stop()
            other.close()

        await asyncio.to_thread(close_session)

    async def run_sync(self, func: Callable[[], Any]) -> Any:
        return await asyncio.to_thread(func)
