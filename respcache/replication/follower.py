"""The follower's side: handshake, full sync, the stream, acknowledgements.

:class:`FollowerSession` is the protocol without I/O, for one connection to a
leader: :meth:`~FollowerSession.start` gives the first bytes to send,
:meth:`~FollowerSession.receive` takes what arrived and returns what to send
back. It drives a :class:`SessionHandler` (the node) through the events of the
link: the snapshot begins, its records, it ends, commands of the stream.

The handshake follows Redis's::

    PING                                  → +PONG (or -NOAUTH: AUTH comes next)
    AUTH [<masteruser>] <masterauth>      → +OK          (only with masterauth)
    REPLCONF listening-port <port>        → +OK
    REPLCONF capa eof capa psync2 capa respcache  → +OK
    REPLCONF node-id <id> run-id <id> epoch <n>   (respcache, only when managed)
    PSYNC <replid> <offset + 1>           → +FULLRESYNC <replid> <offset> | +CONTINUE [<replid>]

After ``+FULLRESYNC`` come the snapshot records (:mod:`.snapshot`), then the
stream; after ``+CONTINUE``, the stream at once.

Epoch fencing (respcache, only when the handshake carried ``epoch``): the leader
also sends ``REPLCONF EPOCH <n>`` between stream frames, when the link goes
online and about once a second. These markers are out of band: they are not
part of the stream's offsets and not kept in any backlog (a replayed backlog
would carry the epochs of earlier terms). A follower that knows a newer epoch
than the marker's (``epoch_floor``) drops the link: the leader is stale, and the
handshake of the next attempt tells it so. Every read of stream bytes is
applied and then acknowledged with one ``REPLCONF ACK <offset>``, where
``offset`` is the last byte applied: the leader's commits wait for it, so there
is no timer. The applied bytes also go to this node's own backlog, so that if
it is promoted the other followers can continue from it (PSYNC2).

:class:`FollowerLink` is the asyncio part: it connects, runs a session, and
reconnects (once a second) when the link breaks or stays silent for
``repl-timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from typing import Protocol

from respcache.replication.backlog import Backlog, History
from respcache.replication.framing import (
    HIREDIS_ERRORS,
    FrameReader,
    LinkProtocolError,
    Status,
    encode_command,
    frame_size,
)
from respcache.replication.rdbsync import RdbPayload, RdbPayloadError

log = logging.getLogger("respcache.replication")

__all__ = ["FollowerLink", "FollowerSession", "SessionError", "SessionHandler"]

# Redis accepts these replies to the first PING: authentication comes next.
_PING_OK_ERRORS = ("NOAUTH", "NOPERM", "ERR operation not permitted")
# Replies to PSYNC after which the follower simply retries later.
_PSYNC_RETRY = ("NOMASTERLINK", "LOADING", "TRYAGAIN")
RESPCACHE_CAPA = b"respcache"
"""Announced by respcache followers (Redis ignores capabilities it does not know): the
leader sends them its snapshot records and counts them in the ISR. A replica without it
(a Redis server) gets an RDB and replicates asynchronously."""


class SessionError(Exception):
    """The link must be closed (and retried): the reason is the message."""


class SessionHandler(Protocol):
    """What a session needs from the node."""

    def full_sync_begin(self, replid: str, offset: int) -> None:
        """``+FULLRESYNC``: the dataset is about to be replaced (flush it)."""

    def snapshot_record(self, record: list[bytes]) -> bool:
        """One snapshot record; True at the last one."""

    def full_sync_end(self) -> None:
        """The snapshot is loaded; the stream follows."""

    def continued(self, replid: str | None) -> None:
        """``+CONTINUE``: partial resync accepted (``replid``: the leader's, if new)."""

    def rdb_chunk(self, data: bytes) -> None:
        """Bytes of the RDB a Redis primary sends for a full sync (in order)."""

    def rdb_end(self) -> None:
        """The RDB is complete: load it (raise :class:`SessionError` if it cannot be)."""

    def apply(self, argv: list[bytes]) -> bool:
        """Apply one command of the stream; True while a transaction (MULTI) is open."""


class FollowerSession:
    """One connection's worth of following, without I/O.

    ``history`` and ``backlog`` are the node's: a full sync resets them to the
    leader's history, the stream extends them. ``offset`` is the last byte
    applied (``slave_repl_offset``); ``read_offset`` counts the stream bytes
    received (``slave_read_repl_offset``).
    """

    def __init__(
        self,
        *,
        history: History,
        backlog: Backlog,
        handler: SessionHandler,
        listening_port: int,
        masterauth: str = "",
        masteruser: str = "",
        announce_ip: str = "",
        node_id: str = "",
        run_id: str = "",
        epoch: int = 0,
        epoch_floor: Callable[[], int] | None = None,
    ) -> None:
        self.history = history
        self.backlog = backlog
        self.handler = handler
        self.listening_port = listening_port
        self.masterauth = masterauth
        self.masteruser = masteruser
        """The ACL user to AUTH as (Redis's ``masteruser``); empty: AUTH <masterauth>."""
        self.announce_ip = announce_ip
        self.node_id = node_id
        self.run_id = run_id
        self.epoch = epoch
        self.epoch_floor = epoch_floor or (lambda: self.epoch)
        """The newest epoch this node knows of (it may grow while the session lasts)."""
        self.leader_epoch = 0
        """The epoch of the leader's last ``REPLCONF EPOCH`` marker (0: none yet)."""
        self.state = "connecting"
        """``handshake``, ``sync`` (loading a snapshot), ``streaming``, ``closed``."""
        self.reader = FrameReader()
        self._expect: list[str] = []
        """Replies awaited during the handshake, oldest first."""
        self._raw = bytearray()
        """Received bytes not yet applied (parsed or not)."""
        self._unapplied = 0
        """Bytes at the front of ``_raw`` parsed but not applied (an open transaction)."""
        self.sync_bytes = 0
        self.full_sync = False
        self.psync_offset = 0
        self.rdb_sync = False
        """The full sync carried an RDB: the leader is a Redis server (see :mod:`.rdbsync`)."""
        self._sync_kind = ""
        """After ``+FULLRESYNC``: ``rdb`` or ``snapshot`` once the payload's first byte came."""
        self._payload: RdbPayload | None = None

    # --- offsets -----------------------------------------------------------------------

    @property
    def offset(self) -> int:
        return self.backlog.offset

    @property
    def read_offset(self) -> int:
        if self.state != "streaming":
            return self.backlog.offset
        return self.backlog.offset + len(self._raw)

    # --- driving -------------------------------------------------------------------------

    def start(self) -> bytes:
        """The first bytes to send once connected."""
        self.state = "handshake"
        self._expect = ["ping"]
        return encode_command([b"PING"])

    def receive(self, data: bytes) -> bytes:
        """Process bytes from the leader; returns bytes to send back (maybe empty).

        Raises :class:`SessionError` when the link must be closed.
        """
        payload = self._payload
        if payload is not None:
            return self._receive_rdb(payload, data)
        reader = self.reader
        reader.feed(data)
        self._raw += data
        out: list[bytes] = []
        # Positions in self._raw: frames parsed up to ``consumed``; the stream
        # applied (and so backlogged and acknowledged) up to ``safe``. Bytes of a
        # transaction still open (MULTI without its EXEC yet) are parsed but not
        # applied: they stay at the front of self._raw (``_unapplied``) until
        # the EXEC arrives, as Redis does not count them in its offset either.
        consumed = self._unapplied
        safe = 0
        leftover: bytes | None = None
        streamed_from = 0 if self.state == "streaming" else -1
        applied = False
        getack = False
        try:
            gets = reader.gets
            apply = self.handler.apply
            while True:
                state = self.state
                if state == "streaming":
                    try:
                        argv = gets()
                    except HIREDIS_ERRORS as err:
                        raise SessionError(f"protocol error from the leader: {err}") from None
                    if argv is False:
                        break
                    if type(argv) is not list or not argv:
                        raise SessionError(f"expected a command, got {argv!r:.80}")
                    size = frame_size(argv)
                    consumed += size
                    name = argv[0]
                    if name in (b"PING", b"ping"):
                        pass
                    elif name in (b"REPLCONF", b"replconf") and len(argv) > 1:
                        option = argv[1].lower()
                        if option == b"getack":
                            getack = True
                        elif option == b"epoch" and len(argv) == 3:
                            # Out of band: the stream before it goes to the backlog, the
                            # marker itself does not count in the offsets. The leader
                            # writes it between flushes, never inside a transaction.
                            start = consumed - size
                            if safe != start:
                                raise SessionError("epoch marker inside a transaction")
                            if start > streamed_from:
                                self.backlog.append(memoryview(self._raw)[streamed_from:start])
                            streamed_from = safe = consumed
                            self._check_epoch(argv[2])
                            continue
                    elif apply(argv):
                        continue  # inside a transaction: applied with its EXEC
                    safe = consumed
                    applied = True
                    continue
                if state == "sync" and not self._sync_kind:
                    # A Redis primary sends an RDB bulk ($), respcache snapshot records (*).
                    pending = bytes(self._raw[consumed:])
                    first = pending.lstrip(b"\n")[:1]
                    if first == b"$":
                        self._sync_kind = "rdb"
                        self.rdb_sync = True
                        self._payload = RdbPayload(self.handler.rdb_chunk)
                        consumed = len(self._raw)
                        leftover = pending
                        break
                    if first:
                        self._sync_kind = "snapshot"
                    skipped = len(pending) - len(pending.lstrip(b"\n"))
                    if skipped:  # keepalive newlines: not RESP, start the reader after them
                        consumed += skipped
                        reader = self.reader = FrameReader()
                        reader.feed(pending[skipped:])
                        gets = reader.gets
                    if not first:
                        break
                frame = reader.next()
                if frame is None:
                    break
                if state == "sync":
                    if type(frame) is not list:
                        raise SessionError(f"unexpected {frame!r:.80} in the snapshot")
                    size = frame_size(frame)
                    consumed += size
                    self.sync_bytes += size
                    if self.handler.snapshot_record(frame):
                        self.handler.full_sync_end()
                        self.state = "streaming"
                        streamed_from = safe = consumed
                        applied = True
                    continue
                if type(frame) is not Status:
                    raise SessionError(f"unexpected {frame!r:.80} during the handshake")
                consumed += len(frame.text.encode()) + 3
                reply = self._handshake(frame)
                if reply:
                    out.append(reply)
                if self.state == "streaming":
                    streamed_from = safe = consumed
        except LinkProtocolError as err:
            raise SessionError(f"protocol error from the leader: {err}") from None
        raw = self._raw
        if self.state != "streaming":
            safe = consumed
        if streamed_from >= 0 and safe > streamed_from:
            self.backlog.append(memoryview(raw)[streamed_from:safe])
        del raw[:safe]
        self._unapplied = consumed - safe
        if (applied or getack) and self.state == "streaming":
            offset = b"%d" % self.backlog.offset
            out.append(
                b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%b\r\n" % (len(offset), offset)
            )
        if leftover is not None:
            self.reader = FrameReader()  # it holds the start of the RDB: not RESP
            out.append(self.receive(leftover))
        return b"".join(out)

    def _receive_rdb(self, payload: RdbPayload, data: bytes) -> bytes:
        """Bytes of an RDB full sync (the session's state is ``sync``)."""
        try:
            rest = payload.feed(data)
        except RdbPayloadError as err:
            raise SessionError(str(err)) from None
        if not payload.done:
            return b""
        self._payload = None
        self.sync_bytes += payload.size
        self.handler.rdb_end()
        self.handler.full_sync_end()
        self.state = "streaming"
        self.reader = FrameReader()
        # As Redis's replica: an ACK at once (a diskless primary waits for it).
        ack = self.ack()
        return ack + self.receive(rest) if rest else ack

    def _check_epoch(self, raw: bytes) -> None:
        try:
            epoch = int(raw)
        except ValueError:
            raise SessionError(f"bad epoch marker {raw!r:.40} from the leader") from None
        floor = self.epoch_floor()
        if epoch < floor:
            raise SessionError(
                f"stale leader: it leads epoch {epoch}, this node knows epoch {floor}"
            )
        self.leader_epoch = epoch

    def ack(self) -> bytes:
        """A ``REPLCONF ACK`` with the current offset."""
        return encode_command([b"REPLCONF", b"ACK", b"%d" % self.backlog.offset])

    # --- handshake ----------------------------------------------------------------------

    def _handshake(self, reply: Status) -> bytes:
        if not self._expect:
            raise SessionError(f"unexpected reply {reply!r} from the leader")
        step = self._expect.pop(0)
        if step == "ping":
            if reply.error and not reply.text.startswith(_PING_OK_ERRORS):
                raise SessionError(f"error reply to PING: {reply.text}")
            return self._after_ping()
        if step == "auth":
            if reply.error:
                raise SessionError(f"unable to AUTH to the leader: {reply.text}")
            return b""
        if step in ("port", "capa"):
            if reply.error:  # older leaders may not understand: not fatal, as in Redis
                log.info("(non critical) leader does not understand REPLCONF %s: %s", step, reply)
            return self._maybe_psync()
        if step == "ident":
            if reply.error:
                raise SessionError(f"the leader refused us: {reply.text}")
            return self._maybe_psync()
        if step == "psync":
            return self._psync_reply(reply)
        raise AssertionError(step)

    def _after_ping(self) -> bytes:
        cmds: list[bytes] = []
        if self.masterauth:
            auth = [b"AUTH", self.masterauth.encode()]
            if self.masteruser:
                auth.insert(1, self.masteruser.encode())
            cmds.append(encode_command(auth))
            self._expect.append("auth")
        port = [b"REPLCONF", b"listening-port", b"%d" % self.listening_port]
        if self.announce_ip:
            port += [b"ip-address", self.announce_ip.encode()]
        cmds.append(encode_command(port))
        self._expect.append("port")
        capa = [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2", b"capa", RESPCACHE_CAPA]
        cmds.append(encode_command(capa))
        self._expect.append("capa")
        if self.node_id or self.epoch:
            ident = [b"REPLCONF"]
            if self.node_id:
                ident += [b"node-id", self.node_id.encode()]
            if self.run_id:
                ident += [b"run-id", self.run_id.encode()]
            if self.epoch:
                ident += [b"epoch", b"%d" % self.epoch]
            cmds.append(encode_command(ident))
            self._expect.append("ident")
        return b"".join(cmds)

    def _maybe_psync(self) -> bytes:
        if self._expect:
            return b""
        self._expect.append("psync")
        history = self.history
        self.psync_offset = self.backlog.offset + 1
        return encode_command([b"PSYNC", history.replid.encode(), b"%d" % self.psync_offset])

    def _psync_reply(self, reply: Status) -> bytes:
        text = reply.text
        if reply.error:
            if text.startswith(_PSYNC_RETRY):
                raise SessionError(f"leader not ready for PSYNC: {text}")
            raise SessionError(f"unexpected reply to PSYNC: {text}")
        words = text.split()
        if words and words[0] == "FULLRESYNC":
            if len(words) != 3:
                raise SessionError(f"bad FULLRESYNC reply: {text}")
            replid = words[1]
            try:
                offset = int(words[2])
            except ValueError:
                raise SessionError(f"bad FULLRESYNC reply: {text}") from None
            self.history.replid = replid
            self.history.clear_previous()
            self.backlog.reset(offset)
            self.full_sync = True
            self.state = "sync"
            self.handler.full_sync_begin(replid, offset)
            return b""
        if words and words[0] == "CONTINUE":
            new_id = words[1] if len(words) > 1 else None
            if new_id is not None and new_id != self.history.replid:
                self.history.adopt(new_id, self.backlog.offset)
            self.state = "streaming"
            self.handler.continued(new_id)
            return b""
        raise SessionError(f"unexpected reply to PSYNC: {text}")


class LinkOwner(SessionHandler, Protocol):
    """The node, as the asyncio link sees it."""

    def new_session(self, link: FollowerLink) -> FollowerSession: ...

    def link_state_changed(self, link: FollowerLink) -> None: ...

    def hold_stream(self, resume: Callable[[], None]) -> bool:
        """True while a script past busy-reply-threshold has the keyspace: the stream
        waits (Redis leaves the master's input unread) and ``resume`` runs after it."""
        ...

    def before_ack(self) -> None:
        """Called before the bytes answering the leader (its ACKs) are sent."""


class FollowerLink:
    """Keeps a connection to the leader at ``host:port`` until :meth:`stop`."""

    RETRY_DELAY = 1.0
    FIRST_RETRY_DELAY = 0.05
    """Retries back off from this to RETRY_DELAY: right after a failover the new leader
    may refuse the first attempt (it has not taken its role yet)."""

    def __init__(
        self,
        owner: LinkOwner,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop,
        timeout: Callable[[], float],
        tls: Callable[[], ssl.SSLContext | None] = lambda: None,
    ) -> None:
        self.owner = owner
        self.tls = tls
        """The TLS client context for each new connection (``tls-replication``), or None."""
        self.host = host
        self.port = port
        self.loop = loop
        self.timeout = timeout
        self.session: FollowerSession | None = None
        self.transport: asyncio.Transport | None = None
        self.last_io = time.monotonic()
        self.down_since = time.monotonic()
        self.sync_started = 0.0
        self._task: asyncio.Task[None] | None = None
        self._closed: asyncio.Future[None] | None = None
        self._stopped = False
        self._streamed = False
        self._held: list[bytes] | None = None
        """Stream bytes received while a busy script holds the keyspace."""
        self.redis_leader = False
        """The leader sent an RDB for a full sync: a Redis server, which expects a
        ``REPLCONF ACK`` every second (respcache leaders need acks only for new bytes)."""
        self._last_ack = 0.0

    @property
    def state(self) -> str:
        """``connect``, ``connecting``, ``handshake``, ``sync``, ``connected`` (as in ROLE)."""
        if self.transport is None:
            return "connect" if self._task is None or self.session is None else "connecting"
        session = self.session
        if session is None or session.state == "connecting":
            return "connecting"
        if session.state == "streaming":
            return "connected"
        return session.state

    @property
    def up(self) -> bool:
        return self.session is not None and self.session.state == "streaming"

    def start(self) -> None:
        self._task = self.loop.create_task(self._run())

    def stop(self) -> None:
        self._stopped = True
        if self.transport is not None:
            self.transport.abort()
        if self._task is not None:
            self._task.cancel()

    def close_connection(self, reason: str) -> None:
        """Drop the current connection (it is re-established by the retry loop)."""
        if self.transport is not None:
            log.warning("Connection with master lost: %s", reason)
            self.transport.abort()

    async def _run(self) -> None:
        delay = self.FIRST_RETRY_DELAY
        while not self._stopped:
            self._streamed = False
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("replication link failed")
            if self._stopped:
                return
            if self._streamed:
                delay = self.FIRST_RETRY_DELAY
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.RETRY_DELAY)

    async def _connect_once(self) -> None:
        log.info("Connecting to MASTER %s:%d", self.host, self.port)
        self.session = None
        self.owner.link_state_changed(self)
        closed: asyncio.Future[None] = self.loop.create_future()
        self._closed = closed
        try:
            await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: _LinkProtocol(self), self.host, self.port, ssl=self.tls()
                ),
                self.timeout(),
            )
        except (TimeoutError, OSError) as err:
            log.warning("Error condition on socket for SYNC: %s", err or "timeout")
            return
        with contextlib.suppress(asyncio.CancelledError):
            await closed
        if self.transport is not None:
            self.transport.abort()

    # --- protocol callbacks ------------------------------------------------------------

    def _made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.last_io = time.monotonic()
        session = self.session = self.owner.new_session(self)
        log.info("MASTER <-> REPLICA sync started")
        transport.write(session.start())
        self.owner.link_state_changed(self)

    def _received(self, data: bytes) -> None:
        session = self.session
        transport = self.transport
        if session is None or transport is None:
            return
        self.last_io = time.monotonic()
        if self._held is not None:
            self._held.append(data)
            return
        if self.owner.hold_stream(self._release_held):
            self._held = [data]
            transport.pause_reading()
            return
        before = session.state
        try:
            out = session.receive(data)
        except SessionError as err:
            log.warning("Replication link: %s", err)
            transport.abort()
            return
        if out:
            self.owner.before_ack()  # appendfsync always: what it acknowledges is on disk
            transport.write(out)
            self._last_ack = self.last_io
        if session.state != before:
            if session.state == "sync":
                self.sync_started = time.monotonic()
            elif session.state == "streaming":
                self._streamed = True
                if session.rdb_sync:
                    self.redis_leader = True
            self.owner.link_state_changed(self)

    def _release_held(self) -> None:
        held, self._held = self._held, None
        if held is None or self.transport is None:
            return
        self.transport.resume_reading()
        self._received(b"".join(held))

    def _lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._held = None
        if self.session is not None and self.session.state == "streaming":
            self.down_since = time.monotonic()
        if self.session is not None:
            self.session.state = "closed"
        self.owner.link_state_changed(self)
        closed = self._closed
        if closed is not None and not closed.done():
            closed.set_result(None)

    def cron(self, now: float) -> None:
        if self._held is not None:
            return  # not reading while a busy script runs: the silence is ours
        if self.transport is not None and now - self.last_io > self.timeout():
            self.close_connection("timeout: no data from the master")
            return
        session = self.session
        if (
            self.redis_leader
            and self.transport is not None
            and session is not None
            and session.state == "streaming"
            and now - self._last_ack >= 1.0
        ):
            self._last_ack = now
            self.transport.write(session.ack())


class _LinkProtocol(asyncio.Protocol):
    def __init__(self, link: FollowerLink) -> None:
        self.link = link

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            import socket

            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.link._made(transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self.link._received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.link._lost(exc)
