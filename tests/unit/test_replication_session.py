"""The follower's side of the link without sockets: handshake, full sync, stream, ACKs."""

from __future__ import annotations

import pytest

from respcache.replication.backlog import Backlog, History
from respcache.replication.follower import FollowerSession, SessionError
from respcache.replication.framing import FrameReader, encode_command
from respcache.replication.snapshot import SnapshotLoader, SnapshotWriter
from respcache.store.keyspace import Keyspace

LEADER_ID = "f" * 40


class Handler:
    def __init__(self) -> None:
        self.keyspace = Keyspace(4)
        self.loader = SnapshotLoader(self.keyspace)
        self.events: list[object] = []
        self.applied: list[list[bytes]] = []
        self.in_multi = False

    def full_sync_begin(self, replid: str, offset: int) -> None:
        self.events.append(("full", replid, offset))
        self.loader.begin()

    def snapshot_record(self, record: list[bytes]) -> bool:
        return self.loader.apply(record)

    def full_sync_end(self) -> None:
        self.events.append("loaded")

    def continued(self, replid: str | None) -> None:
        self.events.append(("continue", replid))

    def apply(self, argv: list[bytes]) -> bool:
        self.applied.append(argv)
        if argv[0] == b"MULTI":
            self.in_multi = True
        elif argv[0] == b"EXEC":
            self.in_multi = False
        return self.in_multi


def _session(
    handler: Handler, *, masterauth: str = "", offset: int = 0, replid: str = "a" * 40, **kw: object
) -> FollowerSession:
    return FollowerSession(
        history=History(replid),
        backlog=Backlog(1 << 16, offset),
        handler=handler,
        listening_port=7000,
        masterauth=masterauth,
        **kw,  # type: ignore[arg-type]
    )


def _commands(data: bytes) -> list[list[bytes]]:
    reader = FrameReader()
    reader.feed(data)
    out = []
    while (frame := reader.next()) is not None:
        assert isinstance(frame, list)
        out.append(frame)
    return out


def _handshake(session: FollowerSession) -> list[list[bytes]]:
    """Drive the handshake up to PSYNC; returns every command the follower sent."""
    sent = _commands(session.start())
    sent += _commands(session.receive(b"+PONG\r\n"))
    replies = b""
    for cmd in sent[1:]:
        replies += b"+OK\r\n"
        assert cmd[0] in (b"AUTH", b"REPLCONF")
    sent += _commands(session.receive(replies))
    return sent


def test_handshake_without_password() -> None:
    session = _session(Handler(), offset=41)
    sent = _handshake(session)
    assert sent == [
        [b"PING"],
        [b"REPLCONF", b"listening-port", b"7000"],
        [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2", b"capa", b"respcache"],
        [b"PSYNC", b"a" * 40, b"42"],
    ]


def test_handshake_with_password_and_identity() -> None:
    session = _session(
        Handler(), masterauth="s3cret", node_id="10.0.0.2:7000", run_id="r" * 40, epoch=3
    )
    sent = _handshake(session)
    assert sent[1] == [b"AUTH", b"s3cret"]
    assert [b"REPLCONF", b"node-id", b"10.0.0.2:7000", b"run-id", b"r" * 40, b"epoch", b"3"] in sent
    assert sent[-1][0] == b"PSYNC"


def test_noauth_to_ping_is_fine_but_failed_auth_is_not() -> None:
    session = _session(Handler(), masterauth="bad")
    session.start()
    session.receive(b"-NOAUTH Authentication required.\r\n")
    with pytest.raises(SessionError, match="AUTH"):
        session.receive(b"-WRONGPASS invalid username-password pair\r\n")


def test_replconf_errors_are_not_fatal() -> None:
    session = _session(Handler())
    session.start()
    session.receive(b"+PONG\r\n")
    out = session.receive(b"-ERR Unrecognized REPLCONF option\r\n-ERR nope\r\n")
    assert _commands(out)[0][0] == b"PSYNC"


def _full_sync_bytes(offset: int) -> tuple[bytes, Keyspace]:
    source = Keyspace(4)
    for i in range(300):
        source.dbs[i % 2].set(b"k%d" % i, b"v%d" % i)
    snapshot = b"".join(SnapshotWriter(source, chunk_size=512).chunks())
    return b"+FULLRESYNC %s %d\r\n" % (LEADER_ID.encode(), offset) + snapshot, source


STREAM = [[b"SELECT", b"1"], [b"SET", b"a", b"1"], [b"PING"], [b"INCR", b"n"], [b"DEL", b"k1"]]


@pytest.mark.parametrize("step", [None, 1, 7, 100])
def test_full_sync_then_stream(step: int | None) -> None:
    handler = Handler()
    session = _session(handler)
    _handshake(session)
    sync, source = _full_sync_bytes(1000)
    stream = b"".join(encode_command(c) for c in STREAM)
    data = sync + stream
    acks: list[list[bytes]] = []
    size = step or len(data)
    for i in range(0, len(data), size):
        acks += _commands(session.receive(data[i : i + size]))
    assert handler.events == [("full", LEADER_ID, 1000), "loaded"]
    assert handler.keyspace.total_keys() == source.total_keys()
    assert handler.applied == [c for c in STREAM if c[0] != b"PING"]
    assert session.history.replid == LEADER_ID
    assert session.offset == 1000 + len(stream)
    assert session.backlog.read(1001) == stream  # the stream, verbatim, for PSYNC2
    assert acks and acks[-1] == [b"REPLCONF", b"ACK", b"%d" % session.offset]
    assert all(a[:2] == [b"REPLCONF", b"ACK"] for a in acks)
    assert session.state == "streaming"


def test_one_ack_per_read() -> None:
    handler = Handler()
    session = _session(handler)
    _handshake(session)
    sync, _ = _full_sync_bytes(0)
    session.receive(sync)
    out = session.receive(b"".join(encode_command([b"SET", b"k%d" % i, b"v"]) for i in range(50)))
    assert len(_commands(out)) == 1


def test_continue_with_a_new_id_keeps_the_old_one_as_previous() -> None:
    handler = Handler()
    session = _session(handler, offset=500)
    _handshake(session)
    new_id = "b" * 40
    stream = encode_command([b"SET", b"x", b"y"])
    out = session.receive(b"+CONTINUE %s\r\n" % new_id.encode() + stream)
    assert handler.events == [("continue", new_id)]
    assert session.history.replid == new_id
    assert session.history.replid2 == "a" * 40
    assert session.history.second_replid_offset == 501
    assert session.offset == 500 + len(stream)
    assert _commands(out) == [[b"REPLCONF", b"ACK", b"%d" % session.offset]]


def test_continue_without_id() -> None:
    handler = Handler()
    session = _session(handler, offset=10)
    _handshake(session)
    session.receive(b"+CONTINUE\r\n")
    assert session.history.replid == "a" * 40
    assert session.state == "streaming"


def test_getack_is_answered_and_counted() -> None:
    handler = Handler()
    session = _session(handler)
    _handshake(session)
    session.receive(b"+CONTINUE\r\n")
    getack = encode_command([b"REPLCONF", b"GETACK", b"*"])
    out = session.receive(getack)
    assert handler.applied == []
    assert _commands(out) == [[b"REPLCONF", b"ACK", b"%d" % len(getack)]]


@pytest.mark.parametrize(
    "reply, match",
    [
        (b"-NOMASTERLINK Can't SYNC while not connected with my master\r\n", "not ready"),
        (b"-ERR unknown command\r\n", "unexpected reply"),
        (b"+WHATEVER\r\n", "unexpected reply"),
        (b"+FULLRESYNC onlyid\r\n", "bad FULLRESYNC"),
    ],
)
def test_bad_psync_replies(reply: bytes, match: str) -> None:
    session = _session(Handler())
    _handshake(session)
    with pytest.raises(SessionError, match=match):
        session.receive(reply)


def test_garbage_in_the_stream_closes_the_link() -> None:
    session = _session(Handler())
    _handshake(session)
    session.receive(b"+CONTINUE\r\n")
    with pytest.raises(SessionError):
        session.receive(b":12\r\n")


def test_a_broken_snapshot_closes_the_link() -> None:
    class Strict(Handler):
        def snapshot_record(self, record: list[bytes]) -> bool:
            raise SessionError("bad snapshot")

    session = _session(Strict())
    _handshake(session)
    with pytest.raises(SessionError, match="bad snapshot"):
        session.receive(b"+FULLRESYNC %s 0\r\n" % LEADER_ID.encode() + encode_command([b"x"]))


def test_an_open_transaction_is_not_counted_until_its_exec() -> None:
    """As Redis: the offset (and backlog, and ACK) stop before a MULTI until its EXEC."""
    handler = Handler()
    session = _session(handler, offset=100)
    _handshake(session)
    session.receive(b"+CONTINUE\r\n")
    before = encode_command([b"SET", b"a", b"1"])
    unit = [encode_command(c) for c in ([b"MULTI"], [b"INCR", b"n"], [b"INCR", b"n"], [b"EXEC"])]
    out = session.receive(before + unit[0] + unit[1])
    assert session.offset == 100 + len(before)
    assert _commands(out) == [[b"REPLCONF", b"ACK", b"%d" % (100 + len(before))]]
    out = session.receive(unit[2])
    assert session.offset == 100 + len(before)
    out = session.receive(unit[3] + before)
    assert session.offset == 100 + 2 * len(before) + sum(map(len, unit))
    assert session.backlog.read(101) == before + b"".join(unit) + before
    assert _commands(out) == [[b"REPLCONF", b"ACK", b"%d" % session.offset]]


@pytest.mark.parametrize("seed", range(20))
def test_offsets_match_the_leader_whatever_the_chunking(seed: int) -> None:
    """Stream frames count, epoch markers do not; reads cut anywhere; offsets always agree."""
    import random

    rng = random.Random(seed)
    handler = Handler()
    session = _session(handler, offset=5000, epoch=3)
    _handshake(session)
    session.receive(b"+CONTINUE\r\n")
    wire = b""
    counted = b""
    for i in range(300):
        kind = rng.random()
        if kind < 0.1:
            frame = encode_command([b"REPLCONF", b"EPOCH", b"3"])  # out of band
            wire += frame
            continue
        if kind < 0.2:
            frame = encode_command([b"PING"])
        elif kind < 0.3:
            frame = encode_command([b"REPLCONF", b"GETACK", b"*"])
        elif kind < 0.35:
            frame = b"".join(
                encode_command(c) for c in ([b"MULTI"], [b"SET", b"t", b"%d" % i], [b"EXEC"])
            )
        else:
            frame = encode_command([b"SADD", b"s", b"%d" % i, b"x" * rng.randrange(0, 300)])
        wire += frame
        counted += frame
    acked = 0
    pos = 0
    while pos < len(wire):
        step = rng.randrange(1, 400)
        out = session.receive(wire[pos : pos + step])
        pos += step
        for ack in _commands(out):
            assert ack[:2] == [b"REPLCONF", b"ACK"]
            acked = max(acked, int(ack[2]))
            # Never more than what was really received and applied.
            assert acked <= 5000 + len(counted)
            assert session.backlog.read(5001) == counted[: acked - 5000]
    assert session.offset == 5000 + len(counted)
    assert session.backlog.read(5001) == counted
