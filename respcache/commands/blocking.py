"""Blocking commands (BLPOP, BZPOPMIN, XREAD BLOCK, WAIT...): who waits on which key, and waking them.

Redis keeps this in ``blocked.c`` (``blockForKeys``, ``signalKeyAsReady``,
``handleClientsBlockedOnKeys``): a handler that has to wait returns
:class:`Blocked`; the connection parks its client here (:meth:`BlockedClients.park`);
a write to a key someone waits on marks it ready (:meth:`BlockedClients.key_ready`,
from ``Engine.key_modified``); after the command, :meth:`BlockedClients.serve_ready`
runs the parked commands again, in FIFO order per key. A separate object from the
engine's pipeline: only the blocking handlers, the connection, the timers and the
flush commands reach it. Compiled with mypyc (``respcache._compiled``): every write
and every command ask it whether anything waits.
"""

from __future__ import annotations

import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from respcache.commands.registry import CommandSpec
from respcache.protocol.types import NULL_ARRAY, Reply

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.commands.engine import Engine


@dataclass
class Blocked:
    """Returned by a blocking handler (BLPOP...) when it has to wait.

    The engine parks the client on ``keys`` and runs the same command again
    (``spec``/``argv``) whenever one of them is signalled ready; ``timeout`` is
    in seconds (0 = forever) and ``timeout_reply`` is sent when it runs out.
    """

    keys: list[bytes]
    timeout: float
    timeout_reply: Reply = NULL_ARRAY
    db: int = 0
    spec: CommandSpec | None = None
    argv: list[bytes] = field(default_factory=list)
    timer: Any = None
    serve_each: bool = False
    """Waiters are independent (streams): one still blocked does not hold back the next."""
    state: Any = None
    """What the handler's run again needs from the first run (XREAD's resolved ``$`` IDs)."""


class BlockedClients:
    """The clients parked by blocking commands, per (db, key), and the keys made ready."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        """For the timers (``engine.call_later``, set by the server) and to run commands again."""
        self.waiting: dict[tuple[int, bytes], deque[Client]] = {}
        """FIFO of the clients waiting on each (db, key)."""
        self.ready: list[tuple[int, bytes]] = []
        """Keys written since the last :meth:`serve_ready`, that someone waits on."""
        self.serving_key: bytes | None = None
        """While :meth:`serve_ready` re-runs a blocked command: the key that became ready
        (Redis serves a client blocked on several keys from that key only)."""

    def park(self, client: Client, blocked: Blocked) -> None:
        """Make a client wait for one of ``blocked.keys`` (FIFO per key) or the timeout."""
        client.blocked = blocked
        for key in blocked.keys:
            self.waiting.setdefault((blocked.db, key), deque()).append(client)
        call_later = self.engine.call_later
        if blocked.timeout > 0 and call_later is not None:
            blocked.timer = call_later(
                blocked.timeout, lambda: self.unblock(client, blocked.timeout_reply)
            )

    def unpark(self, client: Client) -> None:
        """Forget a client's wait without replying (it disconnected, or is served)."""
        blocked = client.blocked
        if blocked is None:
            return
        client.blocked = None
        if blocked.timer is not None:
            blocked.timer.cancel()
        for key in blocked.keys:
            waiters = self.waiting.get((blocked.db, key))
            if waiters is not None:
                with contextlib.suppress(ValueError):
                    waiters.remove(client)
                if not waiters:
                    del self.waiting[(blocked.db, key)]

    def unblock(self, client: Client, reply: Reply) -> None:
        """End a client's wait with ``reply`` (timeout, CLIENT UNBLOCK, or served)."""
        if client.blocked is None:
            return
        self.unpark(client)
        client.resume(reply)

    def key_ready(self, db: int, key: bytes) -> None:
        """A key was written (Redis's signalKeyAsReady): its waiters are retried."""
        if self.waiting and (db, key) in self.waiting:
            self.ready.append((db, key))

    def signal_flushed(self, db: int | None = None) -> None:
        """FLUSHDB (``db``) or FLUSHALL (None) emptied keys clients wait on: retry them.

        Redis 7.0's scanDatabaseForDeletedStreams: an XREADGROUP waiting on a stream
        that no longer exists is unblocked with an error; other waiters stay blocked.
        """
        for entry in self.waiting:
            if db is None or entry[0] == db:
                self.ready.append(entry)

    def serve_ready(self) -> None:
        """Retry clients blocked on keys that were written, in FIFO order."""
        engine = self.engine
        while self.ready:
            ready, self.ready = self.ready, []
            for entry in ready:
                waiters = self.waiting.get(entry)
                index = 0
                while waiters and index < len(waiters):
                    client = waiters[index]
                    blocked = client.blocked
                    if blocked is None or blocked.spec is None:
                        del waiters[index]
                        continue
                    saved_db = client.db
                    client.db = engine.keyspace.dbs[blocked.db]
                    self.serving_key = entry[1]
                    tracking = engine.tracking
                    saved_current = tracking.current
                    if client.tracking is not None:
                        tracking.current = client  # its invalidations follow its reply
                    try:
                        reply = engine.call(client, blocked.spec, blocked.argv)
                    finally:
                        self.serving_key = None
                        client.db = saved_db
                        tracking.current = saved_current
                    if isinstance(reply, Blocked):
                        if blocked.serve_each:
                            index += 1
                            continue
                        break  # still nothing for the first waiter: the rest wait too
                    self.unblock(client, reply)
                    if tracking.pending:
                        tracking.after_reply(client)
                    waiters = self.waiting.get(entry)
