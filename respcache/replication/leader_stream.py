"""The leader's replication stream: one pending buffer, flushed once per loop iteration.

Hot path. :meth:`LeaderStream.propagate` (the engine's ``replicate``) encodes
each write into one pending buffer and moves the commit gate's barrier to the
new offset; once per event-loop iteration :meth:`LeaderStream.flush` appends
the buffer to the backlog and sends it to every follower in one write: the
writes of all clients served in that iteration travel together and are
acknowledged together by one cumulative ``REPLCONF ACK`` per follower (group
commit; the acknowledgements are counted by :class:`~.leader_commit.GroupCommit`).

With nobody else in the ISR a write is committed as soon as it is produced
(``isr_empty``): nobody else can be elected, so nothing needs to wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from respcache.replication.backlog import Backlog
from respcache.replication.leader_link import ReplicaLink

__all__ = ["GETACK", "Gate", "LeaderStream"]

log = logging.getLogger("respcache.replication")

GETACK = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"


class Gate(Protocol):
    """The part of :class:`respcache.server.gate.CommitGate` replication drives."""

    barrier: int
    committed: int

    def advance(self, offset: int) -> None: ...

    def commit(self, offset: int) -> None: ...

    def reset(self, offset: int) -> None: ...

    def fail(self, message: bytes) -> None: ...


class LeaderStream:
    """The bytes produced since the last flush, and their fan-out to the links.

    ``links`` is the leader's table of followers (shared, by client id);
    ``sent`` is told the backlog offset after each flush (acknowledgement
    deadlines start there); ``drop`` closes a link that overflowed its output
    buffer limit.
    """

    def __init__(
        self,
        *,
        gate: Gate,
        config: Any,
        backlog: Backlog,
        loop: asyncio.AbstractEventLoop,
        links: dict[int, ReplicaLink],
        sent: Callable[[int], None],
        drop: Callable[[ReplicaLink, str], None],
    ) -> None:
        self.gate = gate
        self.config = config
        self.backlog = backlog
        self.loop = loop
        self.links = links
        self._sent = sent
        self._drop = drop
        self._out = bytearray()
        self._base = backlog.offset
        """Offset of the last byte already in the backlog (the pending buffer follows it)."""
        self._stream_db = -1
        self._flush_scheduled = False
        self._fence_queued = False
        """A GETACK is in the pending buffer: reads executed now are covered by it."""
        self.isr_empty = True
        """No follower in the ISR: writes commit as they are produced."""
        self.closed = False

    @property
    def offset(self) -> int:
        """``master_repl_offset``: the last byte produced (flushed or not)."""
        return self._base + len(self._out)

    def forget_db(self) -> None:
        """A follower starts a full sync in db 0: the next write selects its db again."""
        self._stream_db = -1

    def propagate(self, db: int, commands: list[list[bytes]]) -> None:
        """Engine.replicate: queue writes for the followers, move the gate's barrier."""
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
        if self.isr_empty:
            gate.commit(offset)

    def read_fence(self) -> None:
        """See :meth:`~respcache.replication.leader.LeaderSide.read_fence`."""
        if self.isr_empty or self._fence_queued or self.closed:
            return
        self._fence_queued = True
        self._out += GETACK
        offset = self._base + len(self._out)
        if offset > self.gate.barrier:
            self.gate.barrier = offset
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self.flush)

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
        self._sent(self._base)

    def _overflow(self, link: ReplicaLink) -> None:
        log.warning(
            "Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
            link.addr,
        )
        self._drop(link, "output buffer limit")
