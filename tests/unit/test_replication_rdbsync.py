"""A full sync from a Redis primary: an RDB bulk after +FULLRESYNC, then the stream."""

from __future__ import annotations

import pytest

from respcache.persistence.rdb import load_rdb, save_keyspace_bytes
from respcache.replication.backlog import Backlog, History
from respcache.replication.follower import FollowerSession, SessionError
from respcache.replication.framing import FrameReader, encode_command
from respcache.replication.rdbsync import RdbPayload, RdbPayloadError, rdb_bulk_header
from respcache.replication.snapshot import SnapshotLoader
from respcache.store.keyspace import Keyspace

LEADER_ID = "e" * 40
MARK = b"m" * 39 + b"!"


class Handler:
    def __init__(self) -> None:
        self.keyspace = Keyspace(4)
        self.rdb = bytearray()
        self.events: list[object] = []
        self.applied: list[list[bytes]] = []

    def full_sync_begin(self, replid: str, offset: int) -> None:
        self.events.append(("full", replid, offset))
        self.loader = SnapshotLoader(self.keyspace)
        self.loader.begin()

    def snapshot_record(self, record: list[bytes]) -> bool:
        return self.loader.apply(record)

    def rdb_chunk(self, data: bytes) -> None:
        self.rdb += data

    def rdb_end(self) -> None:
        self.events.append("rdb")
        load_rdb(bytes(self.rdb), self.keyspace, expire_on_load=False)

    def full_sync_end(self) -> None:
        self.events.append("loaded")

    def continued(self, replid: str | None) -> None:
        self.events.append(("continue", replid))

    def apply(self, argv: list[bytes]) -> bool:
        self.applied.append(argv)
        return False


def _commands(data: bytes) -> list[list[bytes]]:
    reader = FrameReader()
    reader.feed(data)
    out = []
    while (frame := reader.next()) is not None:
        assert isinstance(frame, list)
        out.append(frame)
    return out


def _session(handler: Handler) -> FollowerSession:
    session = FollowerSession(
        history=History("a" * 40), backlog=Backlog(1 << 16, 0), handler=handler, listening_port=1
    )
    session.start()
    session.receive(b"+PONG\r\n")
    assert _commands(session.receive(b"+OK\r\n+OK\r\n"))[0][0] == b"PSYNC"
    return session


def _rdb() -> tuple[bytes, Keyspace]:
    source = Keyspace(4)
    for i in range(200):
        source.dbs[i % 3].set(b"k%d" % i, b"value-%d" % i * (i % 7 + 1))
    return save_keyspace_bytes(source), source


STREAM = [[b"SELECT", b"2"], [b"SET", b"a", b"1"], [b"PING"], [b"REPLCONF", b"GETACK", b"*"]]


@pytest.mark.parametrize("diskless", [False, True])
@pytest.mark.parametrize("step", [None, 1, 13, 4096])
def test_rdb_full_sync_then_stream(diskless: bool, step: int | None) -> None:
    handler = Handler()
    session = _session(handler)
    rdb, source = _rdb()
    eof = b"$EOF:" + MARK + b"\r\n" + rdb + MARK
    bulk = eof if diskless else rdb_bulk_header(len(rdb)) + rdb
    stream = b"".join(encode_command(c) for c in STREAM)
    data = b"+FULLRESYNC %s 500\r\n\n\n" % LEADER_ID.encode() + bulk + stream
    sent: list[list[bytes]] = []
    size = step or len(data)
    for i in range(0, len(data), size):
        sent += _commands(session.receive(data[i : i + size]))
    assert handler.events == [("full", LEADER_ID, 500), "rdb", "loaded"]
    assert bytes(handler.rdb) == rdb
    assert session.rdb_sync and session.state == "streaming"
    assert session.offset == 500 + len(stream)
    # The first ACK comes at once after loading, the last one answers GETACK.
    assert sent[0] == [b"REPLCONF", b"ACK", b"500"]
    assert sent[-1] == [b"REPLCONF", b"ACK", b"%d" % (500 + len(stream))]
    assert handler.applied == [[b"SELECT", b"2"], [b"SET", b"a", b"1"]]
    for theirs, ours in zip(source.dbs, handler.keyspace.dbs, strict=True):
        assert dict(theirs.data) == dict(ours.data)


def test_a_respcache_snapshot_still_works_after_fullresync() -> None:
    handler = Handler()
    session = _session(handler)
    session.receive(b"+FULLRESYNC %s 0\r\n" % LEADER_ID.encode())
    session.receive(encode_command([b"snapshot", b"1", b"4"]) + encode_command([b"end", b"0"]))
    assert handler.events == [("full", LEADER_ID, 0), "loaded"]
    assert not session.rdb_sync and session.state == "streaming"


def test_a_bad_payload_closes_the_link() -> None:
    session = _session(Handler())
    session.receive(b"+FULLRESYNC %s 0\r\n" % LEADER_ID.encode())
    with pytest.raises(SessionError, match="bad RDB bulk header"):
        session.receive(b"$12x\r\n")


@pytest.mark.parametrize(
    "data, match",
    [(b"$EOF:short\r\n", "bad EOF mark"), (b"$-3\r\n", "bad RDB"), (b"$" + b"9" * 2000, "long")],
)
def test_payload_header_errors(data: bytes, match: str) -> None:
    with pytest.raises(RdbPayloadError, match=match):
        RdbPayload(lambda b: None).feed(data)


def test_diskless_payload_never_hands_the_mark_to_the_sink() -> None:
    got = bytearray()
    payload = RdbPayload(got.extend)
    body = b"x" * 100
    data = b"$EOF:" + MARK + b"\r\n" + body + MARK + b"tail"
    rest = b""
    for i in range(len(data)):
        rest += payload.feed(data[i : i + 1])
        assert MARK not in bytes(got)
    assert payload.done and bytes(got) == body and rest == b"tail"


class _Transport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)


class _Owner:
    def __init__(self, session: FollowerSession) -> None:
        self.session = session

    def new_session(self, link: object) -> FollowerSession:
        return self.session

    def hold_stream(self, resume: object) -> bool:
        return False

    def before_ack(self) -> None:
        pass

    def link_state_changed(self, link: object) -> None:
        pass


@pytest.mark.parametrize("rdb", [True, False])
def test_acks_every_second_to_a_redis_primary_only(rdb: bool) -> None:
    """A Redis primary expects REPLCONF ACK once a second (its lag, min-replicas); a
    respcache leader gets acks for new bytes only, as before."""
    from respcache.replication.follower import FollowerLink

    handler = Handler()
    session = _session(handler)
    owner = _Owner(session)
    link = FollowerLink(owner, "127.0.0.1", 1, None, lambda: 60.0)  # type: ignore[arg-type]
    transport = _Transport()
    link.session = session
    link.transport = transport  # type: ignore[assignment]
    if rdb:
        payload = rdb_bulk_header(len(_rdb()[0])) + _rdb()[0]
    else:
        payload = encode_command([b"snapshot", b"1", b"4"]) + encode_command([b"end", b"0"])
    link._received(b"+FULLRESYNC %s 7\r\n" % LEADER_ID.encode() + payload)
    assert link.up and link.redis_leader is rdb
    transport.sent.clear()
    now = link.last_io
    link.cron(now + 0.5)
    assert transport.sent == []
    link.cron(now + 1.1)
    link.cron(now + 1.2)
    link.cron(now + 2.3)
    ack = encode_command([b"REPLCONF", b"ACK", b"7"])
    assert transport.sent == ([ack, ack] if rdb else [])


def test_exec_of_queued_reads_aborts_on_a_stale_replica() -> None:
    """As Redis's execCommand: EXEC checks its queued commands' ``stale`` flag, so GET
    queued while a primary fails with MASTERDOWN once the node is a replica with its
    link down (``replica-serve-stale-data no``); Redis's TCL multi unit relies on it."""
    from respcache.commands import Client, Engine
    from respcache.config import Config
    from respcache.replication import Replication
    from respcache.server.gate import CommitGate

    engine = Engine(Config())
    Replication(engine, CommitGate(), engine.config)
    client, other = Client(engine), Client(engine)
    engine.add_client(client)
    engine.add_client(other)

    def run(*args: str, by: Client = client) -> object:
        return engine.execute(by, [a.encode() for a in args])

    run("CONFIG", "SET", "replica-serve-stale-data", "no")
    run("SET", "xx", "1")
    run("MULTI")
    run("GET", "xx")
    assert run("EXEC") == [b"1"]
    run("MULTI")
    run("GET", "xx")
    run("REPLICAOF", "localhost", "1", by=other)  # no event loop: the link never comes up
    reply = run("EXEC")
    assert "EXECABORT" in str(reply) and "MASTERDOWN" in str(reply), reply
