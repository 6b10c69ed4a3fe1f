"""The leader's side: the followers' links, their syncs, and the pieces that serve them.

:class:`LeaderSide` is what the node's :class:`~.node.Replication` drives while
it leads: followers attach (``PSYNC``), get a partial (``+CONTINUE``) or a full
(``+FULLRESYNC``) sync, then stream; they acknowledge, time out, go away. The
work is done by small collaborators, each in its own module:

* :mod:`.leader_stream` -- the stream (hot path): :meth:`LeaderStream.propagate`
  encodes each write into one pending buffer and moves the commit gate's
  barrier; once per event-loop iteration the buffer goes to the backlog and to
  every follower in one write (group commit);
* :mod:`.leader_commit` -- the acknowledgements: replies stay held until
  :class:`~.isr.InSyncSet` says the ISR applied their offset; laggards are
  proposed for removal; :mod:`.leader_shrink` -- removals take effect only once
  ``confirm_isr_shrink`` (the coordination layer's hook) agreed;
* :mod:`.leader_snapshot` -- the forked child that writes a full sync's snapshot
  straight into the follower's socket, consistent at the fork's offset while the
  leader keeps serving (docs/replication.md says why);
* :mod:`.leader_link` -- one follower's link; :mod:`.leader_wait` -- ``WAIT``.

Everything runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from respcache.replication.backlog import Backlog, History
from respcache.replication.isr import InSyncSet
from respcache.replication.leader_commit import NOT_COMMITTED, GroupCommit, LeaderEvents
from respcache.replication.leader_link import LinkTransport, ReplicaLink
from respcache.replication.leader_shrink import ConfirmShrink, IsrShrink, confirm_at_once
from respcache.replication.leader_snapshot import SnapshotJob
from respcache.replication.leader_stream import Gate, LeaderStream
from respcache.replication.leader_wait import Waiters, WaitRequest
from respcache.security.acl import state_commands

if TYPE_CHECKING:
    from respcache.store.keyspace import Keyspace

log = logging.getLogger("respcache.replication")

__all__ = [
    "EPOCH_CAPA",
    "NOT_COMMITTED",
    "ConfirmShrink",
    "Gate",
    "IsrShrink",
    "LeaderEvents",
    "LeaderSide",
    "LinkTransport",
    "ReplicaLink",
    "SnapshotJob",
    "WaitRequest",
    "confirm_at_once",
]

_PING = b"*1\r\n$4\r\nPING\r\n"
EPOCH_CAPA = "respcache-epoch"
"""Pseudo-capability of a link whose follower announced its epoch (``REPLCONF epoch``):
it understands the out-of-band ``REPLCONF EPOCH <n>`` markers."""
EPOCH_MARKER_PERIOD = 1.0


class LeaderSide:
    """Everything a leader does for its followers (created when the first follower attaches).

    ``propagate`` is the stream's own bound method (the engine calls it for
    every write: no extra call on the hot path).
    """

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
        self._stream = LeaderStream(
            gate=gate,
            config=config,
            backlog=backlog,
            loop=loop,
            links=self.links,
            sent=self._sent,
            drop=self.drop,
        )
        self._commit = GroupCommit(
            isr=self.isr,
            gate=gate,
            stream=self._stream,
            config=config,
            loop=loop,
            events=events,
            connected=lambda: {link.fid for link in self.links.values()},
            epoch=lambda: self.epoch,
            closed=lambda: self.closed,
        )
        self._waiters = Waiters(self)
        self.propagate: Callable[[int, list[list[bytes]]], None] = self._stream.propagate
        """Engine.replicate: queue writes for the followers, move the gate's barrier."""
        self._last_ping = time.monotonic()
        self._last_marker = 0.0
        self.syncs_full = 0
        self.syncs_partial_ok = 0
        self.syncs_partial_err = 0

    @property
    def armed(self) -> bool:
        """min-insync-replicas applies (see :meth:`Replication.arm`)."""
        return self._commit.armed

    @armed.setter
    def armed(self, value: bool) -> None:
        self._commit.armed = value

    @property
    def closed(self) -> bool:
        return self._stream.closed

    def begin_term(self, epoch: int, seeds: frozenset[str], promoted: bool) -> None:
        """Start leading at ``epoch`` with ``seeds`` in the ISR (followers every write needs).

        After a promotion with an ISR, which of our data the other members hold
        is unknown: nothing is committed until they acknowledge the current
        offset or are removed (replies, reads too, wait), so no reply reveals a
        write the previous leader never acknowledged and a member may lack.
        """
        self.epoch = epoch
        self._commit.begin_term(seeds, promoted, self.offset)

    # --- the stream ---------------------------------------------------------------------

    @property
    def offset(self) -> int:
        """``master_repl_offset``: the last byte produced (flushed or not)."""
        return self._stream.offset

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
        self._stream.read_fence()

    def feed_raw(self, data: bytes) -> None:
        """Add bytes that are not a write (PING) to the stream; replies need not wait for them."""
        self._stream.feed_raw(data)

    def flush(self) -> None:
        """Send what was produced since the last flush: backlog, then each follower."""
        self._stream.flush()

    def _sent(self, offset: int) -> None:
        self._commit.sent(offset)

    def send_epoch(self, link: ReplicaLink) -> None:
        """The out-of-band epoch marker, to a streaming follower that understands it."""
        if link.state == "online" and EPOCH_CAPA in link.capa and self.epoch:
            value = b"%d" % self.epoch
            link.transport.write(
                b"*3\r\n$8\r\nREPLCONF\r\n$5\r\nEPOCH\r\n$%d\r\n%b\r\n" % (len(value), value)
            )

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
        self._stream.forget_db()  # the follower starts in db 0: the next write selects its db
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
        self._commit.online(link.fid, ack)

    # --- acknowledgements, ISR shrink, WAIT --------------------------------------------------

    def ack(self, link: ReplicaLink, offset: int) -> None:
        """``REPLCONF ACK <offset>`` from a follower."""
        self._commit.ack(link.fid, offset)
        if self._waiters:
            self._waiters.serve()

    def propose_shrink(self, fids: frozenset[str] | set[str], reason: str) -> None:
        """Take followers out of the ISR, after ``confirm_isr_shrink`` agreed."""
        self._commit.shrinks.propose(fids, reason)

    def wait(self, request: WaitRequest) -> int | None:
        """The count now if WAIT is already satisfied, else None (the request is parked)."""
        return self._waiters.wait(request)

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
        if self._waiters:
            self._waiters.serve()
        self.events.followers_changed()

    def close(self) -> None:
        """Stop being a leader: close every link, kill snapshot children."""
        self._stream.closed = True
        self._commit.close()
        for link in list(self.links.values()):
            link.close()
        self.links.clear()
        self._waiters.finish_all()

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
