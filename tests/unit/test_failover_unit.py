"""Pieces of the ZooKeeper-led roles that need no ZooKeeper: FAILOVER's parser, the reply
framer used to forward commands, epoch markers on the link, the linearizable-read fence,
and the ISR after a promotion."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from respcache.commands import Client, Engine
from respcache.commands.failover import FailoverRequest, parse_failover
from respcache.config import Config
from respcache.errors import NOREPLICAS, READONLY, CommandError
from respcache.replication import Replication
from respcache.replication.backlog import Backlog, History
from respcache.replication.follower import FollowerSession, SessionError
from respcache.replication.framing import FrameReader, encode_command
from respcache.replication.isr import InSyncSet
from respcache.server.cluster import _read_replies
from respcache.server.gate import CommitGate

# --- FAILOVER's arguments ----------------------------------------------------------------


def _parse(*args: str) -> FailoverRequest:
    return parse_failover([b"FAILOVER", *(a.encode() for a in args)])


@pytest.mark.parametrize(
    "args, target, timeout, force",
    [
        ((), None, 0, False),
        (("TO", "10.0.0.1", "7000"), ("10.0.0.1", 7000), 0, False),
        (("to", "h", "1", "timeout", "50", "force"), ("h", 1), 50, True),
        (("FORCE", "TIMEOUT", "5", "TO", "h", "2"), ("h", 2), 5, True),
    ],
)
def test_failover_arguments(
    args: tuple[str, ...], target: tuple[str, int] | None, timeout: int, force: bool
) -> None:
    request = _parse(*args)
    assert (request.target, request.timeout_ms, request.force) == (target, timeout, force)


@pytest.mark.parametrize(
    "args, error",
    [
        (("TIMEOUT", "0"), "ERR FAILOVER timeout must be greater than 0"),
        (("TIMEOUT", "-1"), "ERR FAILOVER timeout must be greater than 0"),
        (("TIMEOUT", "x"), "ERR value is not an integer or out of range"),
        (("TO", "a", "b"), "ERR value is not an integer or out of range"),
        (("TO", "a"), "ERR syntax error"),
        (("TIMEOUT", "10", "TIMEOUT", "20"), "ERR syntax error"),
        (("FORCE", "FORCE"), "ERR syntax error"),
        (("BLAH",), "ERR syntax error"),
    ],
)
def test_failover_argument_errors_are_redis_s(args: tuple[str, ...], error: str) -> None:
    with pytest.raises(CommandError) as info:
        _parse(*args)
    assert info.value.message == error


def test_failover_without_coordination_is_refused() -> None:
    engine = Engine(Config())
    client = engine.new_client()
    reply = engine.execute(client, [b"FAILOVER"])
    assert isinstance(reply, CommandError) and "ZooKeeper" in reply.message
    assert engine.execute(client, [b"FAILOVER", b"ABORT"]) == CommandError(
        "ERR No failover in progress."
    )


# --- the reply framer (forwarding) ----------------------------------------------------------


def test_read_replies_counts_whole_replies_of_every_type() -> None:
    replies = [
        b"+OK\r\n",
        b"-ERR x\r\n",
        b":12\r\n",
        b"$3\r\nabc\r\n",
        b"$-1\r\n",
        b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
        b"*-1\r\n",
        b"%1\r\n+k\r\n$1\r\nv\r\n",
        b"_\r\n",
        b",1.5\r\n",
        b"~1\r\n#t\r\n",
    ]
    data = b"".join(replies)

    async def read(chunks: list[bytes], count: int) -> tuple[bytes, list[object]]:
        reader = asyncio.StreamReader()
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
        return await _read_replies(reader, count)

    # Whole, and one byte at a time: every reply of every type is counted.
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
        raw, parsed = asyncio.run(read(chunks, len(replies)))
        assert raw == data and len(parsed) == len(replies)
        assert parsed[1] == CommandError("ERR x")
    for cut in range(len(data)):  # a truncated reply is never counted as complete
        ends = [sum(map(len, replies[: i + 1])) for i in range(len(replies))]
        complete = sum(1 for end in ends if end <= cut)
        with pytest.raises(ConnectionError):
            asyncio.run(read([data[:cut]], complete + 1))


# --- epoch markers on the link -----------------------------------------------------------------


class _Handler:
    def __init__(self) -> None:
        self.applied: list[list[bytes]] = []

    def full_sync_begin(self, replid: str, offset: int) -> None: ...

    def snapshot_record(self, record: list[bytes]) -> bool:
        return True

    def full_sync_end(self) -> None: ...

    def continued(self, replid: str | None) -> None: ...

    def apply(self, argv: list[bytes]) -> None:
        self.applied.append(argv)


def _streaming_session(known: list[int]) -> tuple[FollowerSession, _Handler]:
    handler = _Handler()
    session = FollowerSession(
        history=History("a" * 40),
        backlog=Backlog(1 << 16, 100),
        handler=handler,
        listening_port=7000,
        node_id="n2",
        epoch=known[0],
        epoch_floor=lambda: known[0],
    )
    session.start()
    session.receive(b"+PONG\r\n")
    session.receive(b"+OK\r\n+OK\r\n+OK\r\n")
    session.receive(b"+CONTINUE\r\n")
    assert session.state == "streaming"
    return session, handler


def marker(epoch: int) -> bytes:
    return encode_command([b"REPLCONF", b"EPOCH", b"%d" % epoch])


def test_epoch_markers_are_out_of_band() -> None:
    known = [3]
    session, handler = _streaming_session(known)
    set1, set2 = encode_command([b"SET", b"a", b"1"]), encode_command([b"SET", b"b", b"2"])
    out = session.receive(set1 + marker(3) + set2 + marker(4))
    assert handler.applied == [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"]]
    assert session.offset == 100 + len(set1) + len(set2)  # the markers take no offset
    assert session.backlog.read(101) == set1 + set2
    assert session.leader_epoch == 4
    reader = FrameReader()
    reader.feed(out)
    assert reader.next() == [b"REPLCONF", b"ACK", b"%d" % session.offset]


def test_a_marker_older_than_the_known_epoch_drops_the_link() -> None:
    known = [3]
    session, handler = _streaming_session(known)
    set1 = encode_command([b"SET", b"a", b"1"])
    session.receive(set1 + marker(3))
    known[0] = 5  # ZooKeeper told this node about epoch 5 meanwhile
    set2 = encode_command([b"SET", b"b", b"2"])
    with pytest.raises(SessionError, match="stale leader"):
        session.receive(set2 + marker(4) + encode_command([b"SET", b"c", b"3"]))
    # What came before the stale marker was applied and kept; nothing after it.
    assert handler.applied == [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"]]
    assert session.offset == 100 + len(set1) + len(set2)


# --- the read fence and the ISR after a promotion ----------------------------------------------


class _FakeTransport:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def is_closing(self) -> bool:
        return False

    def frames(self) -> list[Any]:
        reader = FrameReader()
        reader.feed(bytes(self.data))
        out = []
        while (frame := reader.next()) is not None:
            out.append(frame)
        return out


class _Follower(Client):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.transport = _FakeTransport()

    def connection_info(self) -> dict[str, str]:
        return {"addr": "127.0.0.1:50001", "laddr": "", "fd": "-1"}


def _run(client: Client, *args: str | int) -> Any:
    return client.engine.execute(client, [str(a).encode() for a in args])


async def _tick() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_reads_wait_for_one_getack_round_per_loop_iteration() -> None:
    async def main() -> None:
        engine = Engine(Config())
        gate = CommitGate()
        rep = Replication(engine, gate, engine.config)
        rep.start(asyncio.get_running_loop())
        rep.read_fence()  # no follower: nobody else can lead, nothing to confirm
        assert gate.open
        follower = _Follower(engine)
        engine.add_client(follower)
        _run(follower, "REPLCONF", "listening-port", 7001)
        _run(follower, "REPLCONF", "node-id", "n2", "epoch", 0)
        _run(follower, "PSYNC", rep.history.replid, rep.status().offset + 1)
        await _tick()
        before = len(follower.transport.frames())
        rep.read_fence()
        rep.read_fence()  # same iteration: shares the first GETACK
        barrier = gate.barrier
        assert not gate.open
        await _tick()
        sent = follower.transport.frames()[before:]
        assert sent == [[b"REPLCONF", b"GETACK", b"*"]]
        _run(follower, "REPLCONF", "ACK", barrier - 1)
        assert not gate.open  # an ack from before the GETACK proves nothing
        _run(follower, "REPLCONF", "ACK", barrier)
        assert gate.open

    asyncio.run(main())


def test_a_promoted_leader_commits_when_a_member_continues_at_its_offset() -> None:
    isr = InSyncSet(500)
    state = isr.add("n2", 0.0)
    state.in_isr = True
    isr.committed = 0  # promotion: nothing committed until the members confirm
    isr.sent(500, 0.0)
    isr.recompute()
    assert isr.committed == 0
    isr.set_online("n2", 500, 1.0)  # +CONTINUE at our offset: no ACK will follow
    assert isr.committed == 500


def test_a_leader_that_meets_a_newer_epoch_steps_down_at_once() -> None:
    async def main() -> None:
        engine = Engine(Config())
        gate = CommitGate()
        rep = Replication(engine, gate, engine.config)
        rep.start(asyncio.get_running_loop())
        rep.managed = True
        rep.node_id = "n1"
        rep.become_leader(3, ["n1"])
        client = engine.new_client()
        # (min-insync-replicas counts followers: alone, this leader refuses writes)
        assert _run(client, "SET", "k", "v") == CommandError(NOREPLICAS)
        follower = _Follower(engine)
        engine.add_client(follower)
        reply = _run(follower, "REPLCONF", "node-id", "n2", "epoch", 4)
        assert isinstance(reply, CommandError) and "stale leader" in reply.message
        # Fenced before ZooKeeper said anything: no write is accepted any more.
        assert _run(client, "SET", "k", "w") == CommandError(READONLY)
        assert rep.fenced

    asyncio.run(main())


def test_a_node_waiting_for_zookeeper_does_not_claim_master() -> None:
    engine = Engine(Config())
    rep = Replication(engine, CommitGate(), engine.config)
    assert rep.role_reply()[0] == b"master"  # standalone: a master
    rep.managed = True
    rep.step_down("waiting for ZooKeeper to decide the roles")
    assert rep.role_reply() == [b"slave", b"", 0, b"none", -1]
    assert rep.info_lines()[0] == "role:slave"
    assert rep.public_role() == "none"
