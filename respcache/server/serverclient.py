"""The :class:`~respcache.commands.client.Client` of a real connection.

Kept apart from :mod:`respcache.server.connection` because that module is compiled
with mypyc (``bin/build-compiled``) and a compiled class cannot subclass a Python
class that has ``__slots__``; the methods here are off the hot path (pushes,
blocked replies, CLIENT KILL), so plain Python costs nothing measurable.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from respcache.commands.client import Client
from respcache.protocol.encoder import encode
from respcache.protocol.types import Reply

if TYPE_CHECKING:
    from respcache.server.connection import RespConnection


class ServerClient(Client):
    """A :class:`Client` whose replies reach a real connection."""

    __slots__ = ("conn",)

    def __init__(self, conn: RespConnection) -> None:
        super().__init__(conn.server.engine)
        self.conn = conn

    def push(self, reply: Reply) -> None:
        data = encode(reply, self.resp == 3)
        pending = self.conn.pending
        if pending is not None:
            # Generated while this client's own commands run: after the replies
            # already produced in this batch, before the current command's reply.
            pending.append(data)
        else:
            self.conn.send(data)

    def resume(self, reply: Reply) -> None:
        self.conn.resume(reply)

    def kill(self) -> None:
        self.conn.close()

    def connection_info(self) -> dict[str, str]:
        return self.conn.info()

    @property
    def transport(self) -> asyncio.Transport | None:
        """The raw transport: PSYNC hands it to the replication layer, which writes the stream."""
        return self.conn.transport
