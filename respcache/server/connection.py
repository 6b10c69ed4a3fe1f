"""One client connection: bytes in → parser → engine → encoder → bytes out.

The hot path is ``data_received``: every complete command in the read is
executed and all replies leave in one ``transport.write`` (pipelining), with
no ``await`` per request.

Replies are written only once the writes they may reveal are committed: the
:class:`~respcache.server.gate.CommitGate` tells the offset of the last write
executed; a reply produced after it waits until the in-sync followers have
acknowledged that offset (standalone, the gate is always open). Replies of
one client always leave in order.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from time import perf_counter_ns as _perf_counter_ns
from time import time as _time
from typing import TYPE_CHECKING, cast

from respcache.commands.admission import Forward, Hold, HoldQueue
from respcache.commands.blocking import Blocked
from respcache.commands.engine import CLOCK_HOLD_NS
from respcache.errors import ProtocolError
from respcache.protocol.encoder import encode
from respcache.protocol.parser import QueryBufferLimitError, RequestParser
from respcache.protocol.types import Raw, Reply
from respcache.server.serverclient import ServerClient

if TYPE_CHECKING:
    from respcache.server.app import Server

__all__ = ["FLUSH_BYTES", "RespConnection", "ServerClient"]

log = logging.getLogger("respcache.server")

FLUSH_BYTES = 64 * 1024
"""Replies of one batch are written once they pass this size, not held to the end."""
_SMALL_INT_COUNT = 1024
_SMALL_INTS = tuple(b":%d\r\n" % n for n in range(_SMALL_INT_COUNT))
"""Integer replies (counts, lengths, 0/1) that are encoded once, not per reply."""


class RespConnection(asyncio.Protocol):
    """asyncio protocol for one RESP client.

    Compiled with mypyc (``bin/build-compiled``): no ``__slots__`` (a native class
    has a fixed layout already) and the attributes keep their declared types.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.engine = server.engine
        self.gate = server.gate
        self.transport: asyncio.Transport | None = None
        self.client: ServerClient | None = None
        self.parser = RequestParser(
            max_bulk_len=server.config.proto_max_bulk_len,
            query_buffer_limit=server.config.client_query_buffer_limit,
        )
        self._held: deque[tuple[tuple[int, int], bytes]] = deque()
        self.pending: list[bytes] | None = None
        """Replies of the batch being processed, not yet written (None between batches)."""
        self._held_command: list[bytes] | None = None
        """A command held before it ran (:class:`Hold`: CLIENT PAUSE, a handoff)."""
        self._parked_in: HoldQueue | None = None
        self._forwarding = False
        """Its commands went to the new leader (after a handoff): nothing runs here."""
        self._closing = False
        self._write_paused = False
        self._paused_reading = False
        self.addr = self.laddr = ""
        self.fd = -1
        self.obuf_soft_since: float | None = None
        """When the output buffer reached its class's soft limit (monotonic), or None."""

    # --- asyncio callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.addr = _format_addr(peer)
        self.laddr = _format_addr(local)
        if sock is not None:
            self.fd = sock.fileno()
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                self.server.tune_socket(sock)
        refusal = self.server.admission_error(peer)
        if refusal is not None:
            self.engine.stats.rejected_connections += 1
            transport.write(refusal)
            transport.close()
            self._closing = True
            return
        self.client = ServerClient(self)
        self.parser.authenticated = self.client.authenticated
        self.engine.add_client(self.client)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self.server.connections.discard(self)
        self.gate.forget(self)
        if self._parked_in is not None:
            self._parked_in.discard(self)
            self._parked_in = None
        if self.client is not None:
            self.engine.remove_client(self.client)

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None or self._closing:
            return
        self.engine.stats.total_net_input_bytes += len(data)
        client.last_interaction = _time()
        self.parser.feed(data)
        if client.blocked is None and self._held_command is None and not self._forwarding:
            self.process()

    def pause_writing(self) -> None:
        # The peer does not read its replies: stop reading its commands.
        self._write_paused = True
        if self.transport is not None and not self._paused_reading:
            self._paused_reading = True
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self.transport is not None and self._paused_reading and not self._closing:
            self._paused_reading = False
            self.transport.resume_reading()
        client = self.client
        if (
            client is not None
            and not self._closing
            and client.blocked is None
            and self._held_command is None
            and self.parser.buffered()
        ):
            self.process()  # commands left unserved while the peer was not reading

    # --- command processing -------------------------------------------------------------

    def process(self) -> None:
        """Execute every complete command buffered, then write the replies at once."""
        client = self.client
        assert client is not None
        engine = self.engine
        parser = self.parser
        tracking = engine.tracking
        out: list[bytes] = []
        out_size = 0
        self.pending = out
        close = False
        # One clock reading for the batch (renewed when it gets a millisecond old).
        keyspace = engine.keyspace
        keyspace.hold_clock(_perf_counter_ns() + CLOCK_HOLD_NS)
        # Replies wait for the commit barrier when they may reveal data
        # (``engine.reveals_data``; standalone: every reply).
        gated = False
        while True:
            argv = self._held_command
            if argv is not None:
                self._held_command = None
            else:
                try:
                    argv = parser.next_command()
                except QueryBufferLimitError as limit_err:  # (one name per type: mypyc)
                    # Redis closes such a client without a reply, and logs it.
                    log.warning(
                        "Closing client that reached max query buffer length: %s", limit_err
                    )
                    close = True
                    break
                except ProtocolError as proto_err:
                    out.append(b"-" + proto_err.reply.encode("utf-8", "surrogateescape") + b"\r\n")
                    log.debug("protocol error from %s: %s", self.addr, proto_err)
                    close = True
                    break
                if argv is None:
                    break
            reply = engine.execute(client, argv)
            gated = gated or engine.reveals_data
            kind = type(reply)
            if kind is Raw:  # +OK, +QUEUED...: already encoded
                data = cast(bytes, reply)
            elif kind is bytes:  # a bulk string, in RESP2 and RESP3 alike
                value = cast(bytes, reply)
                size = len(value)
                data = b"$%d\r\n%b\r\n" % (size, value) if size < 16384 else encode(value)
            elif kind is int:
                number = cast(int, reply)
                data = (
                    _SMALL_INTS[number] if 0 <= number < _SMALL_INT_COUNT else b":%d\r\n" % number
                )
            elif kind is Hold:
                # Not executed: it runs when the hold's queue releases it.
                self._held_command = argv
                self._parked_in = queue = cast(Hold, reply).queue
                queue.add(self)
                break
            elif kind is Forward:
                self._held_command = argv
                forward = cast(Forward, reply)
                forward.relay(self, forward.leader)
                break
            elif kind is Blocked:
                engine.blocked_clients.park(client, cast(Blocked, reply))
                break
            else:
                data = b""  # encoded below, if it is sent
            mode = client.reply_mode
            if mode == "on":
                if not data:
                    # After the command: HELLO 3 is answered in RESP3 already.
                    data = encode(cast(Reply, reply), client.resp == 3)
                out.append(data)
                out_size += len(data)
                if out_size > FLUSH_BYTES:
                    # Big replies leave as the batch grows, so flow control and the
                    # output buffer limit see them; a client that does not read stops
                    # being served (resume_writing goes on) instead of growing memory.
                    self.send(b"".join(out), gated)
                    out.clear()
                    out_size = 0
                    if self._write_paused or self._closing:
                        break
            elif mode == "skip":  # this command's reply is the one skipped
                client.reply_mode = "on"
            elif mode == "skip_next":  # CLIENT REPLY SKIP itself: no reply, skip the next
                client.reply_mode = "skip"
            if tracking.current is not None:  # invalidations it caused for itself
                tracking.after_reply()
            if client.close_after_reply:
                close = True
                break
            if self._closing:
                break
            # Redis applies the unauthenticated size limits per command: an AUTH early
            # in a pipeline lifts them for the commands after it (and RESET restores them).
            parser.authenticated = client.authenticated
        keyspace.release_clock()
        if tracking.current is not None:  # after a command that blocked
            tracking.after_reply()
        self.pending = None
        if out:
            self.send(b"".join(out) if len(out) > 1 else out[0], gated)
        if close:
            self.close()

    def resume(self, reply: Reply) -> None:
        """A blocked command got its answer: send it and go on with buffered commands."""
        client = self.client
        if client is None or self._closing:
            return
        self.send(encode(reply, client.resp == 3))
        if self._held_command is not None or self.parser.buffered():
            self.process()

    def resume_pending(self) -> None:
        """The hold ended: run the held command, then what the client sent after it."""
        self._parked_in = None
        client = self.client
        if (
            client is None
            or self._closing
            or self._forwarding
            or self._held_command is None
            or client.blocked is not None
        ):
            return
        self.process()

    def forward(self, forward: Forward) -> None:
        """Held during a handoff that completed: the new leader runs the held commands."""
        self._parked_in = None
        forward.relay(self, forward.leader)

    def take_commands(self) -> list[list[bytes]]:
        """For forwarding: the held command and every complete command buffered after it.

        From now on nothing runs on this connection; :meth:`forwarded` ends it.
        """
        self._forwarding = True
        commands = []
        if self._held_command is not None:
            commands.append(self._held_command)
            self._held_command = None
        while True:
            try:
                argv = self.parser.next_command()
            except ProtocolError:
                break
            if argv is None:
                break
            commands.append(argv)
        return commands

    def forwarded(self, replies: bytes) -> None:
        """The leader's replies to the forwarded commands: write them, then close.

        Closing makes a pooling client open a new connection, and a Sentinel-aware
        one ask where the leader is first.
        """
        if replies:
            self.send(replies, gated=False)
        self.close()

    # --- output ----------------------------------------------------------------------------

    def send(self, data: bytes, gated: bool = True) -> None:
        """Write replies now, or hold them until the writes they may reveal are committed.

        ``gated=False``: the replies reveal no data; they only wait behind this
        connection's own held replies (order).
        """
        transport = self.transport
        if transport is None or self._closing:
            return
        gate = self.gate
        if self._held or (gated and not gate.open):  # (open: satisfied(need()), no tuple)
            self._held.append((gate.need(), data))
            gate.wait(self)
            return
        self.engine.stats.total_net_output_bytes += len(data)
        transport.write(data)
        if self.obuf_soft_since is not None or transport.get_write_buffer_size():
            # (Written at once, with nothing held: no limit can be passed.)
            self.server.check_output_limit(self)

    def release(self, committed: int) -> None:
        """Called by the gate when ``committed`` advanced: write what may now leave."""
        held = self._held
        transport = self.transport
        satisfied = self.gate.satisfied
        while held and satisfied(held[0][0]):
            _, data = held.popleft()
            if transport is not None and not self._closing:
                self.engine.stats.total_net_output_bytes += len(data)
                transport.write(data)
                self.server.check_output_limit(self)
        if held:
            self.gate.wait(self)

    def fail_held(self, message: bytes) -> None:
        """Replies held for a write that can no longer be committed become errors.

        The writes are indeterminate, like a network error: the client cannot
        know whether they survive, so the connection is closed after the error.
        """
        if self.transport is not None and not self._closing and self._held:
            self._held.clear()
            self.transport.write(message)
            self.close()

    def close(self) -> None:
        """Close after what was already written (held replies are dropped)."""
        if self._closing:
            return
        self._closing = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        self._closing = True

    def info(self) -> dict[str, str]:
        transport = self.transport
        obl = transport.get_write_buffer_size() if transport is not None else 0
        return {
            "addr": self.addr,
            "laddr": self.laddr,
            "fd": str(self.fd),
            "qbuf": str(self.parser.query_buffer()),
            "omem": str(obl + sum(len(d) for _, d in self._held)),
            "obl": str(obl),
        }

    @property
    def output_buffer_size(self) -> int:
        transport = self.transport
        size = transport.get_write_buffer_size() if transport is not None else 0
        return size + sum(len(d) for _, d in self._held)


def _format_addr(addr: object) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = str(addr[0])
        return f"[{host}]:{addr[1]}" if ":" in host else f"{host}:{addr[1]}"
    if isinstance(addr, str):
        return addr
    return ""
