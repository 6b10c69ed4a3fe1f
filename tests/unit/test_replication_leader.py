"""The leader side on an event loop with fake transports: group commit, acks, ISR, gates.

No sockets: followers are clients whose ``transport`` records what is written,
and they acknowledge by running ``REPLCONF ACK`` through the engine, as the
server does with the bytes a real follower sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from respcache.commands import Blocked, Client, Engine
from respcache.config import Config
from respcache.errors import NOREPLICAS, READONLY, CommandError
from respcache.protocol.types import OK
from respcache.replication import IsrChange, IsrShrink, Replication
from respcache.replication.framing import FrameReader
from respcache.server.gate import CommitGate


class FakeTransport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def frames(self) -> list[Any]:
        reader = FrameReader()
        reader.feed(bytes(self.data))
        out = []
        while (frame := reader.next()) is not None:
            out.append(frame)
        return out


class FollowerClient(Client):
    def __init__(self, engine: Engine, port: int) -> None:
        super().__init__(engine)
        self.transport = FakeTransport()
        self.port = port

    def connection_info(self) -> dict[str, str]:
        return {"addr": f"127.0.0.1:{50000 + self.port}", "laddr": "", "fd": "-1"}


class Waiter:
    """Stands for a connection holding a reply (for the current barrier) in the commit gate."""

    def __init__(self, gate: CommitGate) -> None:
        self.gate = gate
        self.need = gate.barrier
        self.released: list[int] = []
        self.failed: list[bytes] = []
        gate.wait(self)

    def release(self, committed: int) -> None:
        if committed >= self.need:
            self.released.append(committed)
        else:
            self.gate.wait(self)  # as a connection does: keep holding

    def fail_held(self, message: bytes) -> None:
        self.failed.append(message)


def run(client: Client, *args: str | bytes | int) -> Any:
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return client.engine.execute(client, argv)


class Node:
    def __init__(self, **config: Any) -> None:
        self.engine = Engine(Config(**config))
        self.gate = CommitGate()
        self.rep = Replication(self.engine, self.gate, self.engine.config)
        self.rep.start(asyncio.get_running_loop())
        self.client = self.engine.new_client()

    def attach(self, port: int) -> FollowerClient:
        """A follower that is already in sync (PSYNC continues from our offset)."""
        follower = FollowerClient(self.engine, port)
        self.engine.add_client(follower)
        assert run(follower, "REPLCONF", "listening-port", port) == OK
        capa = ("capa", "eof", "capa", "psync2", "capa", "respcache")
        assert run(follower, "REPLCONF", *capa) == OK
        offset = self.rep.status().offset
        run(follower, "PSYNC", self.rep.history.replid, offset + 1)
        return follower

    def ack(self, follower: FollowerClient, offset: int | None = None) -> None:
        if offset is None:
            offset = self.rep.status().offset
        reply = run(follower, "REPLCONF", "ACK", offset)
        assert reply is None


async def tick() -> None:
    """Let the loop run the flush (call_soon) and pending tasks."""
    for _ in range(3):
        await asyncio.sleep(0)


def arun(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


def test_standalone_has_no_propagator_and_is_open() -> None:
    async def main() -> None:
        node = Node()
        assert run(node.client, "SET", "a", "1") == OK
        assert node.engine.replicate is None
        assert node.gate.open
        assert node.engine.command_gate is None

    arun(main)


def test_continue_then_group_commit_and_one_cumulative_ack() -> None:
    async def main() -> None:
        node = Node()
        f1 = node.attach(7001)
        await tick()
        assert f1.transport.frames()[0].text == f"CONTINUE {node.rep.history.replid}"
        assert node.rep.status().isr == {"127.0.0.1:7001"}
        other = node.engine.new_client()
        run(node.client, "SET", "a", "1")
        run(other, "SELECT", "2")
        run(other, "SET", "b", "2")
        barrier = node.gate.barrier
        assert barrier > node.gate.committed  # held until the follower acknowledges
        before = len(f1.transport.data)
        await tick()
        sent = bytes(f1.transport.data[before:])
        reader = FrameReader()
        reader.feed(sent)
        frames = []
        while (frame := reader.next()) is not None:
            frames.append(frame)
        assert frames == [
            [b"SELECT", b"0"],
            [b"SET", b"a", b"1"],
            [b"SELECT", b"2"],
            [b"SET", b"b", b"2"],
        ]
        waiter = Waiter(node.gate)
        node.ack(f1, barrier - 1)
        assert node.gate.committed == barrier - 1 and not waiter.released
        node.ack(f1, barrier)
        assert node.gate.committed == barrier
        assert waiter.released == [barrier]

    arun(main)


def test_commit_waits_for_every_isr_member() -> None:
    async def main() -> None:
        node = Node()
        f1, f2 = node.attach(7001), node.attach(7002)
        run(node.client, "INCR", "n")
        await tick()
        barrier = node.gate.barrier
        node.ack(f1)
        assert node.gate.committed < barrier
        node.ack(f2)
        assert node.gate.committed == barrier

    arun(main)


def test_silent_follower_leaves_the_isr_after_confirmation() -> None:
    async def main() -> None:
        node = Node(repl_ack_timeout=50)
        proceed = asyncio.Event()
        proposals: list[IsrShrink] = []
        changes: list[IsrChange] = []

        async def confirm(change: IsrShrink) -> None:
            proposals.append(change)
            await proceed.wait()

        node.rep.confirm_isr_shrink = confirm
        node.rep.isr_listeners.append(changes.append)
        f1, _f2 = node.attach(7001), node.attach(7002)
        run(node.client, "SET", "k", "v")
        await tick()
        node.ack(f1)
        barrier = node.gate.barrier
        await asyncio.sleep(0.15)
        assert [p.removed for p in proposals] == [{"127.0.0.1:7002"}]
        assert proposals[0].isr == {"127.0.0.1:7001"}
        assert node.gate.committed < barrier  # not before the removal is confirmed
        proceed.set()
        await tick()
        assert node.gate.committed == barrier
        assert node.rep.status().isr == {"127.0.0.1:7001"}
        assert changes[-1].isr == {"127.0.0.1:7001"}

    arun(main)


def test_refused_confirmation_keeps_the_member() -> None:
    async def main() -> None:
        node = Node(repl_ack_timeout=30)
        calls = 0

        async def refuse(change: IsrShrink) -> None:
            nonlocal calls
            calls += 1
            raise RuntimeError("ZooKeeper unavailable")

        node.rep.confirm_isr_shrink = refuse
        node.attach(7001)
        run(node.client, "SET", "k", "v")
        await tick()
        await asyncio.sleep(0.15)
        assert calls >= 1
        assert node.rep.status().isr == {"127.0.0.1:7001"}
        assert node.gate.committed < node.gate.barrier

    arun(main)


def test_below_min_insync_held_writes_fail_and_new_writes_are_refused() -> None:
    async def main() -> None:
        node = Node(repl_ack_timeout=30, min_insync_replicas=2)
        f1, _f2 = node.attach(7001), node.attach(7002)
        assert run(node.client, "SET", "k", "v") == OK
        waiter = Waiter(node.gate)
        await tick()
        node.ack(f1)
        await asyncio.sleep(0.12)
        assert node.rep.status().isr == {"127.0.0.1:7001"}
        assert waiter.failed and waiter.failed[0].startswith(b"-NOTCOMMITTED")
        assert run(node.client, "SET", "k", "w") == CommandError(NOREPLICAS)
        assert run(node.client, "GET", "k") == b"v"  # reads still served
        run(node.client, "MULTI")
        assert run(node.client, "SET", "x", "1") == CommandError(NOREPLICAS)

    arun(main)


def test_min_insync_one_keeps_writing_with_one_follower_left() -> None:
    async def main() -> None:
        node = Node(repl_ack_timeout=30)
        f1, _f2 = node.attach(7001), node.attach(7002)
        run(node.client, "SET", "k", "v")
        waiter = Waiter(node.gate)
        await tick()
        node.ack(f1)
        await asyncio.sleep(0.12)
        assert waiter.released and not waiter.failed
        assert run(node.client, "SET", "k", "w") == OK

    arun(main)


def test_a_closed_link_is_removed_without_waiting_for_the_timeout() -> None:
    async def main() -> None:
        node = Node(repl_ack_timeout=60_000)
        f1, f2 = node.attach(7001), node.attach(7002)
        run(node.client, "SET", "k", "v")
        await tick()
        node.ack(f1)
        node.engine.remove_client(f2)  # the connection is gone
        await tick()
        assert node.rep.status().isr == {"127.0.0.1:7001"}
        assert node.gate.committed == node.gate.barrier

    arun(main)


def test_lagging_follower_rejoins_when_caught_up() -> None:
    async def main() -> None:
        node = Node(repl_ack_timeout=30)
        f1, f2 = node.attach(7001), node.attach(7002)
        run(node.client, "SET", "k", "v")
        await tick()
        node.ack(f1)
        await asyncio.sleep(0.12)
        assert node.rep.status().isr == {"127.0.0.1:7001"}
        node.ack(f2)
        assert node.rep.status().isr == {"127.0.0.1:7001", "127.0.0.1:7002"}

    arun(main)


def test_wait_counts_acknowledgements() -> None:
    async def main() -> None:
        node = Node()
        f1, f2 = node.attach(7001), node.attach(7002)
        run(node.client, "SET", "k", "v")
        await tick()
        node.ack(f1)
        node.ack(f2)
        assert run(node.client, "WAIT", 2, 0) == 2
        run(node.client, "SET", "k", "w")
        await tick()
        blocked = run(node.client, "WAIT", 2, 100)
        assert isinstance(blocked, Blocked)
        node.engine.blocked_clients.park(node.client, blocked)
        node.ack(f1)
        assert node.client.pushed == []
        node.ack(f2)
        assert node.client.pushed == [2]
        run(node.client, "SET", "k", "x")
        await tick()
        blocked = run(node.client, "WAIT", 2, 50)
        assert isinstance(blocked, Blocked)
        node.engine.blocked_clients.park(node.client, blocked)
        node.ack(f1)
        await asyncio.sleep(0.1)
        assert node.client.pushed == [2, 1]  # timed out with one

    arun(main)


def test_wait_without_replicas() -> None:
    async def main() -> None:
        node = Node()
        assert run(node.client, "WAIT", 0, 0) == 0
        assert run(node.client, "WAIT", -1, 0) == 0
        assert run(node.client, "WAIT", 1, -1) == CommandError("ERR timeout is negative")

    arun(main)


def test_follower_role_refuses_writes_and_wait() -> None:
    async def main() -> None:
        node = Node()
        node.rep.follow("127.0.0.1", 1)  # nobody listens there: the link stays down
        assert run(node.client, "SET", "k", "v") == CommandError(READONLY)
        assert run(node.client, "GET", "k") is None
        assert isinstance(run(node.client, "WAIT", 1, 0), CommandError)
        assert node.engine.keyspace.expire_keys is False
        node.engine.config.set("replica-serve-stale-data", "no")
        reply = run(node.client, "GET", "k")
        assert isinstance(reply, CommandError) and reply.message.startswith("MASTERDOWN")
        assert isinstance(run(node.client, "PING"), CommandError)  # as Redis: PING is not "stale"
        assert run(node.client, "SET", "k", "v") == CommandError(READONLY)  # READONLY first
        assert run(node.client, "ROLE")[:3] == [b"slave", b"127.0.0.1", 1]
        node.rep.shutdown()

    arun(main)


def test_replicaof_no_one_promotes_with_a_new_history() -> None:
    async def main() -> None:
        node = Node()
        old = node.rep.history.replid
        node.rep.follow("127.0.0.1", 1)
        assert run(node.client, "REPLICAOF", "NO", "ONE") == "OK"
        status = node.rep.status()
        assert status.role == "master"
        assert status.replid2 == old and status.replid != old
        assert status.second_replid_offset == status.offset + 1
        assert run(node.client, "SET", "k", "v") == OK
        assert node.engine.keyspace.expire_keys is True

    arun(main)


def test_become_leader_with_an_isr_holds_replies_until_members_ack() -> None:
    async def main() -> None:
        node = Node(repl_ack_timeout=60_000)
        node.rep.follow("127.0.0.1", 1)
        node.rep.become_leader(epoch=5, isr=["127.0.0.1:7001", "me"])
        assert node.rep.status().isr == {"127.0.0.1:7001", "me"}
        node.rep.node_id = "me"  # normally set before; here "me" stays a member
        f1 = node.attach(7001)
        run(node.client, "SET", "k", "v")
        await tick()
        assert node.gate.committed < node.gate.barrier
        node.ack(f1)
        assert node.rep.status().epoch == 5

    arun(main)


def test_step_down_fails_held_replies_and_refuses_writes() -> None:
    async def main() -> None:
        node = Node()
        node.attach(7001)
        run(node.client, "SET", "k", "v")
        waiter = Waiter(node.gate)
        node.rep.step_down("lost the election")
        assert waiter.failed
        assert run(node.client, "SET", "k", "w") == CommandError(READONLY)
        assert not node.gate.open  # later replies stay held: no dirty reads

    arun(main)


@pytest.mark.parametrize("argv", [["REPLCONF", "bogus", "1"], ["REPLCONF", "listening-port"]])
def test_replconf_errors(argv: list[str]) -> None:
    async def main() -> None:
        node = Node()
        assert isinstance(run(node.client, *argv), CommandError)

    arun(main)


def test_a_full_sync_never_resends_what_the_snapshot_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes not yet flushed when PSYNC arrives are in the snapshot: not in the stream after it.

    (Sending them again would apply them twice on the follower and push its offset
    ahead of the leader's, so its acknowledgements would claim writes it lacks.)
    """
    from respcache.replication import leader as leader_module

    started: list[int] = []

    def fake_start(self: Any, keyspace: Any, timeout: float) -> None:
        started.append(self.offset)

    monkeypatch.setattr(leader_module.SnapshotJob, "start", fake_start)

    async def main() -> None:
        node = Node()
        node.attach(7001)
        await tick()
        run(node.client, "INCR", "n")  # executed, still in the pending buffer
        f2 = FollowerClient(node.engine, 7002)
        node.engine.add_client(f2)
        run(f2, "REPLCONF", "listening-port", 7002)
        run(f2, "REPLCONF", "capa", "respcache")
        run(f2, "PSYNC", "?", -1)  # same event-loop iteration: before the flush
        link = next(link for link in node.rep.leader.links.values() if link.port == 7002)  # type: ignore[union-attr]
        await tick()
        pending = b"".join(link.pending)
        assert b"INCR" not in pending  # the snapshot covers the INCR
        assert b"SETUSER" in pending  # only the ACL users, which follow every full sync
        assert started == [node.rep.status().offset - len(pending)]
        run(node.client, "INCR", "n")
        await tick()
        assert b"INCR" in b"".join(link.pending)  # what came after the snapshot

    arun(main)


def test_a_redis_server_replica_gets_no_acl_users_after_its_sync(monkeypatch: Any) -> None:
    # respcache replicates ACL to respcache followers; a redis-server replica (an RDB
    # link: no ``capa respcache``), or a legacy SYNC one, keeps its own users as in Redis.
    from respcache.replication import leader as leader_module

    monkeypatch.setattr(leader_module.SnapshotJob, "start", lambda self, keyspace, timeout: None)

    async def main() -> None:
        node = Node()
        node.attach(7001)
        await tick()
        replica = FollowerClient(node.engine, 7002)
        node.engine.add_client(replica)
        run(replica, "REPLCONF", "listening-port", 7002)
        run(replica, "REPLCONF", "capa", "eof", "capa", "psync2")
        run(replica, "PSYNC", "?", -1)
        link = next(link for link in node.rep.leader.links.values() if link.port == 7002)  # type: ignore[union-attr]
        await tick()
        assert b"SETUSER" not in b"".join(link.pending)

    arun(main)
