"""The forwarding proxy: a client's commands run on the new leader, its replies relayed.

Just after a handoff the old leader still has clients that have not noticed it
(or whose library retries on the same address). Their data commands are sent
to the new leader on a connection of their own (with the client's AUTH, RESP
version, database and open transaction first), the leader's replies are relayed
byte for byte, and the client's connection closes so that it looks for the
leader. See docs/coordination.md ("Planned handoff").
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import hiredis

from respcache.commands.admission import Relayable
from respcache.errors import READONLY, CommandError
from respcache.protocol.encoder import encode
from respcache.replication import NOT_COMMITTED
from respcache.replication.framing import encode_command

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.config import Config

__all__ = ["FORWARD_TIMEOUT", "LeaderForwarder", "read_replies"]

log = logging.getLogger("respcache.cluster")

FORWARD_TIMEOUT: Final = 1.5

_MORE = object()
"""hiredis's "not enough data yet"."""


async def read_replies(reader: asyncio.StreamReader, count: int) -> tuple[bytes, list[object]]:
    """Read exactly ``count`` complete replies: their raw bytes and hiredis's parse.

    The raw bytes are relayed as the leader wrote them (hiredis's objects lose
    RESP types: a status and a bulk string both become ``bytes``).
    """
    parser = hiredis.Reader(notEnoughData=_MORE, replyError=CommandError)
    raw = bytearray()
    replies: list[object] = []
    while len(replies) < count:
        reply = parser.gets()
        if reply is _MORE:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError("the leader closed the connection")
            raw += chunk
            parser.feed(chunk)
            continue
        replies.append(reply)
    return bytes(raw), replies


class LeaderForwarder:
    """Relays held or redirected connections to the leader (one task per connection).

    ``discard_transaction`` ends a client's MULTI here once it was carried over;
    ``outgoing_tls`` is the node-to-node TLS context (None: plain TCP).
    """

    def __init__(
        self,
        config: Config,
        discard_transaction: Callable[[Client], None],
        outgoing_tls: Callable[[], ssl.SSLContext | None],
    ) -> None:
        self._config = config
        self._discard_transaction = discard_transaction
        self._outgoing_tls = outgoing_tls
        self._tasks: set[asyncio.Task[None]] = set()

    def relay(self, conn: Relayable, leader: tuple[str, int]) -> None:
        """Forward ``conn``'s pending commands to ``leader`` in the background."""
        task = asyncio.get_running_loop().create_task(self.forward(conn, leader))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait (a bounded time) for the forwards under way."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=FORWARD_TIMEOUT * 5)

    def _prefix(self, client: Client, password: str) -> list[list[bytes]]:
        """The connection's state, replayed on the leader before its commands."""
        config = self._config
        prefix: list[list[bytes]] = []
        if config.masterauth and config.masteruser:
            prefix.append([b"AUTH", config.masteruser.encode(), password.encode()])
        elif password:
            prefix.append([b"AUTH", password.encode()])
        if client.resp == 3:
            prefix.append([b"HELLO", b"3"])
        if client.db.id:
            prefix.append([b"SELECT", b"%d" % client.db.id])
        return prefix

    async def forward(self, conn: Relayable, leader: tuple[str, int]) -> None:
        """Run a connection's pending commands on the leader, relay the replies, close."""
        await asyncio.sleep(0)  # let process() store the held command first
        client = conn.client
        commands = conn.take_commands()
        if client is None or not commands:
            conn.forwarded(b"")
            return
        password = self._config.masterauth or self._config.requirepass
        prefix = self._prefix(client, password)
        if client.multi is not None:
            if client.watched:
                # WATCH cannot be carried over: the keys' history stayed here.
                self._discard_transaction(client)
                error = f"EXECABORT Transaction discarded because of: {READONLY}"
                conn.forwarded(encode(CommandError(error), client.resp == 3))
                return
            prefix.append([b"MULTI"])
            prefix += [argv for _, argv in client.multi]
            if client.multi_error:
                # A command was refused while queueing here: EXEC must abort there too
                # (an unknown command flags the transaction, as in Redis).
                prefix.append([b"RESPCACHE-FORWARDED-TRANSACTION-HAD-ERRORS"])
            self._discard_transaction(client)
        sent = False
        try:
            async with asyncio.timeout(FORWARD_TIMEOUT * 4):
                reader, writer = await self._leader_connection(leader, password)
                try:
                    if prefix:
                        # The connection's state first; its replies are not relayed.
                        writer.write(b"".join(map(encode_command, prefix)))
                        await read_replies(reader, len(prefix))
                    writer.write(b"".join(map(encode_command, commands)))
                    sent = True
                    data, _ = await read_replies(reader, len(commands))
                finally:
                    writer.close()
            conn.forwarded(data)
            log.info("Forwarded %d command(s) of %s to the leader", len(commands), conn.addr)
        except (OSError, TimeoutError) as err:
            log.warning("Forwarding to the leader %s:%d failed: %r", *leader, err)
            if sent:
                # Maybe executed there: the outcome is unknown, as for a lost connection.
                conn.forwarded(NOT_COMMITTED)
            else:
                conn.forwarded(encode(CommandError(READONLY), client.resp == 3))

    async def _leader_connection(
        self, leader: tuple[str, int], password: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to ``leader`` once it has taken the role (it learns it from ZooKeeper
        a moment after the handoff; a write sent before would be refused)."""
        hello = encode_command([b"AUTH", password.encode()]) if password else b""
        hello += encode_command([b"ROLE"])
        while True:
            reader, writer = await asyncio.open_connection(*leader, ssl=self._outgoing_tls())
            writer.write(hello)
            _, replies = await read_replies(reader, 2 if password else 1)
            role = replies[-1]
            if isinstance(role, list) and role and role[0] == b"master":
                return reader, writer
            writer.close()
            await asyncio.sleep(0.01)
