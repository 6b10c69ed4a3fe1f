"""The leader's side: the stream to the followers, full syncs, acknowledgements, the ISR.

Hot path. :meth:`LeaderSide.propagate` (the engine's propagator) encodes each
write into one pending buffer, moves the commit gate's barrier to the new
offset and, once per event-loop iteration, :meth:`LeaderSide.flush` appends the
buffer to the backlog and sends it to every follower in one write: the writes
of all clients served in that iteration travel together and are acknowledged
together by one cumulative ``REPLCONF ACK`` per follower (group commit).
Replies stay held by their connections until :class:`~.isr.InSyncSet` says the
ISR has applied their offset.

Full sync. The snapshot is written by a forked child (:class:`SnapshotJob`):
the child's memory is the keyspace exactly as it was at the fork, which is the
stream offset the follower is told in ``+FULLRESYNC``, so the snapshot is
consistent at that one offset whatever clients do meanwhile, and the leader
keeps serving them. The child streams the records straight into the follower's
socket; the parent keeps the stream written after the fork for that follower
and sends it once the child reports success. See docs/replication.md for why
this technique.

ISR changes. A member that does not acknowledge a send within
``repl-ack-timeout`` ms, or whose link breaks, is proposed for removal; it keeps
holding commits back until ``confirm_isr_shrink`` (the coordination layer's
hook; by default it returns at once) has returned. Only then is it removed and
may writes be acknowledged without it. If the ISR is then smaller than
``min-insync-replicas``, the replies still held are failed (their writes are
applied here but not acknowledged: their outcome is unknown to the client) and
new writes are refused with ``NOREPLICAS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import select
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from respcache.replication.backlog import Backlog, History
from respcache.replication.isr import InSyncSet
from respcache.replication.snapshot import SnapshotWriter
from respcache.security.acl import state_commands

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.store.keyspace import Keyspace

log = logging.getLogger("respcache.replication")

__all__ = [
    "Gate",
    "IsrShrink",
    "LeaderSide",
    "ReplicaLink",
    "SnapshotJob",
]

NOT_COMMITTED = (
    b"-NOTCOMMITTED The in-sync replicas did not acknowledge this write in time: "
    b"it was applied on the leader, but whether it survives a failover is unknown.\r\n"
)
"""Sent for replies held for a write that can no longer be acknowledged (then the
connection closes, as after a network error: the outcome is indeterminate)."""

_PING = b"*1\r\n$4\r\nPING\r\n"
_GETACK = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"
EPOCH_CAPA = "respcache-epoch"
"""Pseudo-capability of a link whose follower announced its epoch (``REPLCONF epoch``):
it understands the out-of-band ``REPLCONF EPOCH <n>`` markers."""
EPOCH_MARKER_PERIOD = 1.0


class Gate(Protocol):
    """The part of :class:`respcache.server.gate.CommitGate` replication drives."""

    barrier: int
    committed: int

    def advance(self, offset: int) -> None: ...

    def commit(self, offset: int) -> None: ...

    def reset(self, offset: int) -> None: ...

    def fail(self, message: bytes) -> None: ...


class LinkTransport(Protocol):
    def write(self, data: bytes) -> None: ...

    def get_write_buffer_size(self) -> int: ...

    def get_extra_info(self, name: str, default: Any = None) -> Any: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def is_closing(self) -> bool: ...


@dataclass(frozen=True)
class IsrShrink:
    """A proposed ISR removal, handed to ``confirm_isr_shrink`` before it takes effect."""

    removed: frozenset[str]
    isr: frozenset[str]
    """The ISR after the removal."""
    epoch: int
    reason: str


ConfirmShrink = Callable[[IsrShrink], Awaitable[None]]


async def confirm_at_once(change: IsrShrink) -> None:
    """The default ``confirm_isr_shrink``: nobody else needs to agree."""
    return None


class ReplicaLink:
    """One follower connected to this leader (the client that sent PSYNC)."""

    __slots__ = (
        "addr",
        "capa",
        "client",
        "connected_at",
        "fid",
        "ip",
        "job",
        "legacy",
        "pending",
        "pending_size",
        "port",
        "rdb",
        "state",
        "transport",
    )

    def __init__(self, client: Client, transport: LinkTransport, ip: str, port: int) -> None:
        self.client = client
        self.transport = transport
        self.ip = ip
        self.port = port
        self.fid = f"{ip}:{port}"
        self.addr = ""
        self.capa: set[str] = set()
        self.state = "psync"
        """``psync`` (attached, nothing decided: gets no stream), ``wait_bgsave`` (full
        sync running: the stream after the snapshot's offset is kept in ``pending``),
        ``online`` (streaming), ``closed``."""
        self.pending: list[bytes] = []
        """Stream written while the snapshot is sent (sent after it)."""
        self.pending_size = 0
        self.job: SnapshotJob | None = None
        self.connected_at = time.monotonic()
        self.rdb = False
        """Not a respcache follower (a Redis replica): a full sync sends an RDB, and the
        follower replicates asynchronously (it never joins the ISR)."""
        self.legacy = False
        """It sent SYNC, not PSYNC: the RDB comes without a ``+FULLRESYNC`` line."""

    def close(self) -> None:
        if self.state != "closed":
            self.state = "closed"
            self.pending.clear()
            if self.job is not None:
                self.job.cancel()
                self.job = None
            self.transport.close()


class LeaderSide:
    """Everything a leader does for its followers (created when the first follower attaches)."""

    def __init__(
        self,
        *,
        engine: Any,
        gate: Gate,
        config: Any,
        history: History,
        backlog: Backlog,
        loop: asyncio.AbstractEventLoop,
        epoch: int,
        events: LeaderEvents,
    ) -> None:
        self.engine = engine
        self.gate = gate
        self.config = config
        self.history = history
        self.backlog = backlog
        self.loop = loop
        self.epoch = epoch
        self.events = events
        self.isr = InSyncSet(backlog.offset)
        self.links: dict[int, ReplicaLink] = {}
        """By client id."""
        self._out = bytearray()
        self._base = backlog.offset
        """Offset of the last byte already in the backlog (the pending buffer follows it)."""
        self._stream_db = -1
        self._flush_scheduled = False
        self._isr_empty = True
        self._timer: asyncio.TimerHandle | None = None
        self._shrink_queue: dict[str, str] = {}
        self._confirming = False
        self._last_ping = time.monotonic()
        self.armed = False
        """min-insync-replicas applies (see :meth:`Replication.arm`)."""
        self.syncs_full = 0
        self.syncs_partial_ok = 0
        self.syncs_partial_err = 0
        self.waiters: list[WaitRequest] = []
        self.closed = False
        self._fence_queued = False
        """A GETACK is in the pending buffer: reads executed now are covered by it."""
        self._last_marker = 0.0

    def begin_term(self, epoch: int, seeds: frozenset[str], promoted: bool) -> None:
        """Start leading at ``epoch`` with ``seeds`` in the ISR (followers every write needs).

        After a promotion with an ISR, which of our data the other members hold
        is unknown: nothing is committed until they acknowledge the current
        offset or are removed (replies, reads too, wait), so no reply reveals a
        write the previous leader never acknowledged and a member may lack.
        """
        self.epoch = epoch
        now = time.monotonic()
        isr = self.isr
        for fid in seeds:
            state = isr.add(fid, now)
            state.in_isr = True
            state.leaving = False
        offset = self.offset
        if promoted and seeds:
            isr.committed = min(isr.committed, 0)
            isr.sent(offset, now)
        isr.recompute()
        if offset > self.gate.barrier:
            self.gate.barrier = offset
        self._isr_changed()
        self._committed_moved()
        if self._timer is None and not self._isr_empty:
            self._arm_timer()

    # --- offsets --------------------------------------------------------------------

    @property
    def offset(self) -> int:
        """``master_repl_offset``: the last byte produced (flushed or not)."""
        return self._base + len(self._out)

    # --- the stream (hot path) -------------------------------------------------------------

    def propagate(self, db: int, commands: list[list[bytes]]) -> None:
        """Engine.propagator: queue writes for the followers, move the gate's barrier."""
        out = self._out
        if db != self._stream_db:
            sel = b"%d" % db
            out += b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%b\r\n" % (len(sel), sel)
            self._stream_db = db
        for argv in commands:
            out += b"*%d\r\n" % len(argv)
            for arg in argv:
                out += b"$%d\r\n%b\r\n" % (len(arg), arg)
        offset = self._base + len(out)
        gate = self.gate
        if offset > gate.barrier:
            gate.barrier = offset
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)
        if self._isr_empty:
            gate.commit(offset)

    def read_fence(self) -> None:
        """Hold the replies produced from now on until the ISR proved it still follows us.

        Linearizable reads: a ``REPLCONF GETACK`` joins the stream after the reads
        just executed and the commit gate's barrier moves past it, so their replies
        leave only once every ISR member acknowledged it (or was removed from the
        ISR in ZooKeeper). An acknowledgement of a GETACK sent after the read shows
        the member still followed this leader then; no successor can commit a write
        before all of them stopped following us. Reads of one event-loop iteration
        share one GETACK (it is sent at the next flush). With no other ISR member
        nobody else can be elected, and nothing is sent.
        """
        if self._isr_empty or self._fence_queued or self.closed:
            return
        self._fence_queued = True
        self._out += _GETACK
        offset = self._base + len(self._out)
        if offset > self.gate.barrier:
            self.gate.barrier = offset
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def send_epoch(self, link: ReplicaLink) -> None:
        """The out-of-band epoch marker, to a streaming follower that understands it."""
        if link.state == "online" and EPOCH_CAPA in link.capa and self.epoch:
            value = b"%d" % self.epoch
            link.transport.write(
                b"*3\r\n$8\r\nREPLCONF\r\n$5\r\nEPOCH\r\n$%d\r\n%b\r\n" % (len(value), value)
            )

    def feed_raw(self, data: bytes) -> None:
        """Add bytes that are not a write (PING) to the stream; replies need not wait for them."""
        self._out += data
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Send what was produced since the last flush: backlog, then each follower."""
        self._flush_scheduled = False
        self._fence_queued = False
        out = self._out
        if not out or self.closed:
            return
        data = bytes(out)
        out.clear()
        self.backlog.append(data)
        self._base = self.backlog.offset
        hard = self.config.output_buffer_limit("replica").hard
        for link in list(self.links.values()):
            if link.state == "online":
                link.transport.write(data)
                if hard and link.transport.get_write_buffer_size() > hard:
                    self._overflow(link)
            elif link.state == "wait_bgsave":
                link.pending.append(data)
                link.pending_size += len(data)
                if hard and link.pending_size > hard:
                    self._overflow(link)
        now = time.monotonic()
        before = self.isr.committed
        self.isr.sent(self._base, now)
        if self.isr.committed != before:
            self._committed_moved()
        if self._timer is None and not self._isr_empty:
            self._arm_timer()

    def _overflow(self, link: ReplicaLink) -> None:
        log.warning(
            "Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
            link.addr,
        )
        self.drop(link, "output buffer limit")

    # --- followers attach ------------------------------------------------------------------

    def attach(self, link: ReplicaLink) -> None:
        """A follower sent PSYNC. Everything produced so far is flushed first: it goes
        to the followers already there, never to this one (its snapshot or its
        backlog read covers it)."""
        self.flush()
        self.links[link.client.id] = link
        self.isr.add(link.fid, time.monotonic()).asynchronous = link.rdb
        self.events.followers_changed()

    def continue_sync(self, link: ReplicaLink, start: int, psync2: bool) -> None:
        """``+CONTINUE``: send the backlog from ``start``, then stream."""
        self.flush()
        reply = b"+CONTINUE %s\r\n" % self.history.replid.encode() if psync2 else b"+CONTINUE\r\n"
        data = self.backlog.read(start)
        link.transport.write(reply + data)
        link.state = "online"
        self.syncs_partial_ok += 1
        state = self.isr.followers[link.fid]
        state.ack = start - 1
        log.info(
            "Partial resynchronization request from %s accepted. Sending %d bytes of backlog "
            "starting from offset %d.",
            link.fid,
            len(data),
            start,
        )
        self._online(link, start - 1)

    def full_sync(self, link: ReplicaLink, keyspace: Keyspace) -> None:
        """``+FULLRESYNC``: fork a child that writes the snapshot at the current offset."""
        self.flush()
        self.syncs_full += 1
        offset = self.backlog.offset
        self._stream_db = -1  # the follower starts in db 0: the next write selects its db
        self.isr.followers[link.fid].ack = 0
        header = b"+FULLRESYNC %s %d\r\n" % (self.history.replid.encode(), offset)
        if link.legacy:
            header = b""  # SYNC: the bulk alone, as Redis answers it
        job = SnapshotJob(self, link, header, offset)
        link.job = job
        link.state = "wait_bgsave"
        try:
            job.start(keyspace, self.config.repl_timeout)
        except OSError as err:
            log.warning("Can't fork the snapshot child for %s: %s", link.fid, err)
            link.job = None
            self.drop(link, "fork failed")
            return
        # The ACL users follow the snapshot (respcache replicates ACL, Redis does not):
        # they are the first commands after its offset, so the new follower applies them
        # right after loading it (the others get them again, changing nothing). Not for
        # a redis-server replica (an RDB link): its users are its own, as in Redis.
        if not link.rdb:
            self.propagate(0, state_commands(self.engine.acl))

    def snapshot_done(self, link: ReplicaLink, job: SnapshotJob) -> None:
        """The child wrote the whole snapshot: send what was produced meanwhile, go online."""
        link.job = None
        if link.state != "wait_bgsave":
            return
        log.info(
            "Synchronization with replica %s succeeded (%d keys, %d bytes in %.2fs)",
            link.fid,
            job.keys,
            job.bytes,
            time.monotonic() - job.started,
        )
        link.state = "online"
        if link.pending:
            link.transport.write(b"".join(link.pending))
            link.pending.clear()
            link.pending_size = 0
        self._online(link, self.isr.followers[link.fid].ack)

    def _online(self, link: ReplicaLink, ack: int) -> None:
        self.send_epoch(link)
        before = self.isr.committed
        joined = self.isr.set_online(link.fid, ack, time.monotonic())
        if joined:
            log.info("Replica %s is in sync at offset %d: joins the ISR", link.fid, ack)
            self._isr_changed()
        if self.isr.committed != before:
            self._committed_moved()

    # --- acknowledgements ------------------------------------------------------------------

    def ack(self, link: ReplicaLink, offset: int) -> None:
        """``REPLCONF ACK <offset>`` from a follower."""
        isr = self.isr
        before = isr.committed
        joined = isr.ack(link.fid, offset, time.monotonic())
        if joined:
            log.info("Replica %s is in sync at offset %d: joins the ISR", link.fid, offset)
            self._isr_changed()
        if isr.committed != before:
            self._committed_moved()
        if self.waiters:
            self._serve_waiters()

    def _committed_moved(self) -> None:
        committed = self.isr.committed
        gate = self.gate
        if committed > gate.committed:
            gate.commit(committed)

    def _isr_changed(self) -> None:
        self._isr_empty = not self.isr.isr
        if not self._isr_empty and not self.armed:
            # The first follower in sync: from now on this leader is replicated
            # and min-insync-replicas applies (docs/replication.md, "Standalone").
            self.events.arm()
        self.events.isr_changed(self.isr.confirmed_isr)

    # --- ISR shrink ------------------------------------------------------------------------

    def _arm_timer(self) -> None:
        timeout = self.config.repl_ack_timeout / 1000
        deadline = self.isr.next_deadline(timeout)
        if deadline is None:
            return
        delay = max(0.0, deadline - time.monotonic())
        self._timer = self.loop.call_later(delay + 0.001, self._check_acks)

    def _check_acks(self) -> None:
        self._timer = None
        timeout = self.config.repl_ack_timeout / 1000
        laggards = self.isr.laggards(time.monotonic(), timeout)
        if laggards:
            self.propose_shrink(laggards, f"no acknowledgement within {timeout * 1000:.0f} ms")
        if self.isr.oldest_pending() is not None and not self._isr_empty:
            self._arm_timer()

    def propose_shrink(self, fids: frozenset[str] | set[str], reason: str) -> None:
        """Take followers out of the ISR, after ``confirm_isr_shrink`` agreed."""
        marked = self.isr.propose_removal(fids)
        if not marked:
            return
        for fid in marked:
            log.warning("Replica %s leaves the ISR: %s", fid, reason)
            self._shrink_queue[fid] = reason
        if not self._confirming:
            self._confirming = True
            self.loop.create_task(self._confirm_loop())

    async def _confirm_loop(self) -> None:
        try:
            while self._shrink_queue:
                removed = frozenset(self._shrink_queue)
                reason = "; ".join(sorted(set(self._shrink_queue.values())))
                self._shrink_queue.clear()
                change = IsrShrink(removed, self.isr.confirmed_isr, self.epoch, reason)
                try:
                    await self.events.confirm_isr_shrink(change)
                except Exception as err:  # not confirmed: they stay, writes keep waiting
                    self.isr.cancel_removal(removed)
                    if self.closed or self.events.stepped_down():
                        return  # no longer leading: nobody waits for this any more
                    log.warning("ISR shrink %s not confirmed (%s); retrying", sorted(removed), err)
                    await asyncio.sleep(0.2)
                    for fid in removed:
                        state = self.isr.followers.get(fid)
                        if state is not None and state.in_isr:
                            self._shrink_queue[fid] = reason
                            state.leaving = True
                    continue
                if self.closed or self.events.stepped_down():
                    return
                self._apply_shrink(removed)
        finally:
            self._confirming = False

    def _apply_shrink(self, removed: frozenset[str]) -> None:
        before = self.isr.committed
        self.isr.remove(removed)
        self._isr_changed()
        log.info("ISR is now %s", sorted(self.isr.confirmed_isr) or "[]")
        if (
            self.armed
            and len(self.isr.isr) < self.config.min_insync_replicas
            and self.gate.barrier > self.gate.committed
        ):
            # Writes still held had counted on the removed followers: their
            # outcome is unknown to the clients. Everything after them waits too.
            log.warning(
                "ISR below min-insync-replicas (%d < %d): failing the replies of "
                "unacknowledged writes",
                len(self.isr.isr),
                self.config.min_insync_replicas,
            )
            self.gate.fail(NOT_COMMITTED)
        if self.isr.committed != before:
            self._committed_moved()
        self.events.followers_changed()
        # A removed follower whose link is gone is forgotten; a connected one may rejoin.
        for fid in removed:
            if not any(link.fid == fid for link in self.links.values()):
                self.isr.forget(fid)

    # --- links going away -------------------------------------------------------------------

    def drop(self, link: ReplicaLink, reason: str) -> None:
        """Close a follower's link (it will reconnect and resync)."""
        if link.state != "closed":
            log.warning("Connection with replica %s lost: %s", link.fid, reason)
        link.close()
        self.gone(link)

    def gone(self, link: ReplicaLink) -> None:
        """The link's connection is closed (engine disconnect hook, or :meth:`drop`)."""
        if self.links.pop(link.client.id, None) is None:
            return
        link.close()
        still_connected = any(other.fid == link.fid for other in self.links.values())
        if not still_connected:
            self.isr.disconnected(link.fid)
            state = self.isr.followers.get(link.fid)
            if state is not None and state.in_isr:
                self.propose_shrink({link.fid}, "link closed")
            else:
                self.isr.forget(link.fid)
        if self.waiters:
            self._serve_waiters()
        self.events.followers_changed()

    def close(self) -> None:
        """Stop being a leader: close every link, kill snapshot children."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for link in list(self.links.values()):
            link.close()
        self.links.clear()
        for waiter in self.waiters:
            waiter.finish(self)
        self.waiters.clear()

    # --- cron -------------------------------------------------------------------------------

    def cron(self, now: float) -> None:
        """Pings (``repl-ping-replica-period``) and silent links (``repl-timeout``)."""
        cfg = self.config
        if self.links and now - self._last_ping >= cfg.repl_ping_replica_period:
            self._last_ping = now
            self.feed_raw(_PING)
        if self.links and now - self._last_marker >= EPOCH_MARKER_PERIOD:
            self._last_marker = now
            for link in list(self.links.values()):
                self.send_epoch(link)
        timeout = cfg.repl_timeout
        for link in list(self.links.values()):
            if link.state != "online" or link.legacy:  # SYNC replicas never ACK (as Redis)
                continue
            state = self.isr.followers.get(link.fid)
            if state is not None and now - state.last_ack > timeout:
                self.drop(link, f"timeout: no acknowledgement for {timeout}s")

    # --- WAIT ---------------------------------------------------------------------------------

    def wait(self, request: WaitRequest) -> int | None:
        """The count now if WAIT is already satisfied, else None (the request is parked)."""
        count = self.isr.acked_count(request.offset)
        if count >= request.numreplicas:
            return count
        self.waiters.append(request)
        return None

    def _serve_waiters(self) -> None:
        keep = []
        for waiter in self.waiters:
            if waiter.done:
                continue
            if self.isr.acked_count(waiter.offset) >= waiter.numreplicas:
                waiter.finish(self)
            else:
                keep.append(waiter)
        self.waiters = keep


class LeaderEvents(Protocol):
    """What the leader side reports to the node's :class:`~.node.Replication`."""

    def followers_changed(self) -> None: ...

    def isr_changed(self, isr: frozenset[str]) -> None: ...

    def arm(self) -> None: ...

    def stepped_down(self) -> bool: ...

    @property
    def confirm_isr_shrink(self) -> ConfirmShrink: ...


class WaitRequest:
    """A client blocked in WAIT until ``numreplicas`` followers acknowledged ``offset``."""

    __slots__ = ("done", "numreplicas", "offset", "on_done", "timer")

    def __init__(self, offset: int, numreplicas: int, on_done: Callable[[int], None]) -> None:
        self.offset = offset
        self.numreplicas = numreplicas
        self.on_done = on_done
        self.timer: asyncio.TimerHandle | None = None
        self.done = False

    def finish(self, leader: LeaderSide | None) -> None:
        if self.done:
            return
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
        self.on_done(leader.isr.acked_count(self.offset) if leader is not None else 0)


# --- the snapshot child --------------------------------------------------------------------


class SnapshotJob:
    """A forked child writing the snapshot into a follower's socket; progress comes on a pipe.

    The child writes ``+FULLRESYNC <replid> <offset>`` and the records, reports
    ``progress <keys> <bytes> <total>`` lines and finally ``done <keys> <bytes>``
    (or ``error <text>``) on the pipe, and exits. The parent logs progress and,
    when the pipe closes, reaps the child and tells the leader side.
    """

    PROGRESS_EVERY = 100_000

    def __init__(self, leader: LeaderSide, link: ReplicaLink, header: bytes, offset: int) -> None:
        self.leader = leader
        self.link = link
        self.header = header
        self.offset = offset
        self.pid = 0
        self.keys = 0
        self.bytes = 0
        self.result = ""
        self.started = time.monotonic()
        self._status_fd = -1
        self._buf = b""
        self._cancelled = False
        self._data_fd = -1
        """TLS links: the pipe the child writes the snapshot into (see :meth:`start`)."""
        self._status_closed = False

    PIPE_HIGH_WATER = 4 * 1024 * 1024
    """TLS links: stop reading the child's pipe while this much waits in the transport."""

    def start(self, keyspace: Keyspace, timeout: float) -> None:
        transport = self.link.transport
        sock = transport.get_extra_info("socket")
        if sock is None:
            raise OSError("the follower's connection has no socket")
        fd = sock.fileno()
        data_fd = -1
        if transport.get_extra_info("ssl_object") is not None:
            # The child cannot write into a TLS session: it writes into a pipe and the
            # parent forwards it through the transport (Redis's rdbPipe, for TLS links).
            data_fd, fd = os.pipe()
        read_fd, write_fd = os.pipe()
        total = keyspace.total_keys()
        log.info(
            "Starting full sync of %d keys to replica %s at offset %d (forked child)",
            total,
            self.link.fid,
            self.offset,
        )
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            _child_main(
                fd, write_fd, self.header, keyspace, timeout, self.PROGRESS_EVERY, self.link.rdb
            )
        os.close(write_fd)
        self.pid = pid
        self._status_fd = read_fd
        os.set_blocking(read_fd, False)
        self.leader.loop.add_reader(read_fd, self._on_status)
        if data_fd >= 0:
            os.close(fd)
            self._data_fd = data_fd
            os.set_blocking(data_fd, False)
            self.leader.loop.add_reader(data_fd, self._on_data)

    def _on_data(self) -> None:
        """TLS links: forward what the child wrote; pause while the transport is full."""
        loop = self.leader.loop
        transport = self.link.transport
        try:
            data = os.read(self._data_fd, 256 * 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_data()
            if self._status_closed:
                self._finished()
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self.PIPE_HIGH_WATER:
            loop.remove_reader(self._data_fd)
            loop.call_later(0.005, self._resume_data)

    def _resume_data(self) -> None:
        if self._data_fd < 0 or self._cancelled:
            return
        if self.link.transport.get_write_buffer_size() > self.PIPE_HIGH_WATER:
            self.leader.loop.call_later(0.005, self._resume_data)
        else:
            self.leader.loop.add_reader(self._data_fd, self._on_data)

    def _close_data(self) -> None:
        if self._data_fd >= 0:
            self.leader.loop.remove_reader(self._data_fd)
            os.close(self._data_fd)
            self._data_fd = -1

    def _on_status(self) -> None:
        try:
            data = os.read(self._status_fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._buf += data
            *lines, self._buf = self._buf.split(b"\n")
            for line in lines:
                self._line(line.decode("utf-8", "replace"))
            return
        self._finished()

    def _line(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        if word == "progress":
            keys, size, total = (int(x) for x in rest.split())
            self.keys, self.bytes = keys, size
            log.info(
                "Full sync to %s: %d/%d keys, %.1f MB sent",
                self.link.fid,
                keys,
                total,
                size / 1e6,
            )
        elif word == "done":
            keys, size = (int(x) for x in rest.split())
            self.keys, self.bytes = keys, size
            self.result = "done"
        elif word == "error":
            self.result = "error: " + rest

    def _finished(self) -> None:
        loop = self.leader.loop
        if self._status_fd >= 0:
            loop.remove_reader(self._status_fd)
            os.close(self._status_fd)
            self._status_fd = -1
            self._reap()
        self._status_closed = True
        if self._data_fd >= 0 and self.result == "done" and not self._cancelled:
            return  # the last snapshot bytes are still in the pipe: finish at its end
        self._close_data()
        if self._cancelled:
            return
        if self.result == "done":
            self.leader.snapshot_done(self.link, self)
        else:
            self.link.job = None
            self.leader.drop(self.link, f"full sync failed ({self.result or 'child died'})")

    def _reap(self, attempt: int = 0) -> None:
        if not self.pid:
            return
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid = self.pid
        if pid:
            self.pid = 0
        elif attempt < 500:
            self.leader.loop.call_later(0.01, self._reap, attempt + 1)

    def cancel(self) -> None:
        """The follower went away: kill the child (it is reaped when its pipe closes)."""
        if self._cancelled:
            return
        self._cancelled = True
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self._status_fd >= 0:
            self.leader.loop.remove_reader(self._status_fd)
            os.close(self._status_fd)
            self._status_fd = -1
            self._reap()
        self._close_data()


def _load_libc() -> Any:
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        return ctypes.CDLL(name) if name else None
    except (ImportError, OSError):  # pragma: no cover
        return None


_LIBC = _load_libc() if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def _child_main(
    fd: int,
    status_fd: int,
    header: bytes,
    keyspace: Keyspace,
    timeout: float,
    every: int,
    rdb: bool = False,
) -> None:  # pragma: no cover - runs in the forked child
    """The snapshot child: write the snapshot into ``fd``, report on ``status_fd``, exit."""
    code = 1
    try:
        if _LIBC is not None:  # die with the leader
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        gc.disable()  # a collection would touch (and copy) every container's page
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        keep = sorted((fd, status_fd))
        os.closerange(3, keep[0])
        os.closerange(keep[0] + 1, keep[1])
        os.closerange(keep[1] + 1, 1 << 16)
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if rdb:  # a Redis replica: an RDB in Redis's disk-based framing ($<length>)
            from respcache.persistence.rdb import save_keyspace_bytes
            from respcache.replication.rdbsync import rdb_bulk_header

            data = save_keyspace_bytes(keyspace)
            _write_all(fd, header + rdb_bulk_header(len(data)), poller, timeout)
            _write_all(fd, data, poller, timeout)
            os.write(status_fd, b"done %d %d\n" % (keyspace.total_keys(), len(data)))
            code = 0
            return
        writer = SnapshotWriter(keyspace)
        total = writer.total_keys
        _write_all(fd, header, poller, timeout)
        next_report = every
        for chunk in writer.chunks():
            _write_all(fd, chunk, poller, timeout)
            if writer.keys >= next_report:
                next_report = writer.keys + every
                os.write(status_fd, b"progress %d %d %d\n" % (writer.keys, writer.bytes, total))
        os.write(status_fd, b"done %d %d\n" % (writer.keys, writer.bytes))
        code = 0
    except BaseException as err:
        with contextlib.suppress(BaseException):
            os.write(status_fd, b"error %s\n" % repr(err).encode()[:500])
    finally:
        os._exit(code)


def _write_all(fd: int, data: bytes, poller: select.poll, timeout: float) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            if not poller.poll(timeout * 1000):
                raise TimeoutError("the follower did not read the snapshot") from None
            continue
        view = view[n:]
