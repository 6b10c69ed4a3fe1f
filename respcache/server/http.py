"""The HTTP ``/data`` endpoint from the original design, beside the RESP port.

A deliberately small HTTP/1.1 surface (``http-port``; 0 disables it):

==========================  ===============================================
``GET /data/<key>``         200 with the value (``application/octet-stream``),
                            404 when the key does not exist
``PUT /data/<key>``         stores the body; ``?ttl=<seconds>`` sets a TTL;
                            204 on success
``DELETE /data/<key>``      204 when deleted, 404 when it did not exist
``GET /health``             200 ``{"role": ..., "keys": ...}``
==========================  ===============================================

Keys are URL-decoded. Every request runs through the same engine pipeline as
a RESP command (``GET``/``SET``/``DEL`` on db 0), so authentication aside
the rules are the same: a follower answers writes with 503 and Redis's
``READONLY`` text, a full cache under ``noeviction`` with 507 and ``OOM``, and
a write's response is held until the in-sync followers acknowledged it.
When ``requirepass`` is set, requests need ``Authorization: Bearer <password>``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import deque
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qs, unquote_to_bytes, urlsplit

from respcache.commands.client import Client
from respcache.errors import CommandError
from respcache.protocol.types import Raw

if TYPE_CHECKING:
    from respcache.server.app import Server

log = logging.getLogger("respcache.http")

MAX_HEADER_BYTES = 16 * 1024
REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
    507: "Insufficient Storage",
}
ERROR_STATUS = {"READONLY": 503, "NOREPLICAS": 503, "MASTERDOWN": 503, "OOM": 507}


class HttpConnection(asyncio.Protocol):
    """One HTTP/1.1 connection (keep-alive, requests answered in order)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.engine = server.engine
        self.gate = server.gate
        self.transport: asyncio.Transport | None = None
        self.client: Client | None = None
        self.buf = bytearray()
        self._held: deque[tuple[int, bytes]] = deque()
        self._closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.client = Client(self.engine)
        self.client.authenticated = True  # HTTP authenticates per request
        self.engine.add_client(self.client)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self.gate.forget(self)
        if self.client is not None:
            self.engine.remove_client(self.client)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while not self._closing:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                if len(self.buf) > MAX_HEADER_BYTES:
                    self._respond(431, b"request headers too large\n", close=True)
                return
            try:
                method, target, headers = _parse_head(bytes(self.buf[:head_end]))
            except ValueError as err:
                self._respond(400, f"{err}\n".encode(), close=True)
                return
            length_text = headers.get("content-length", "0")
            if not length_text.isdigit():
                self._respond(400 if method != "PUT" else 411, b"bad Content-Length\n", close=True)
                return
            length = int(length_text)
            if length > self.server.config.proto_max_bulk_len:
                self._respond(413, b"value too large\n", close=True)
                return
            total = head_end + 4 + length
            if len(self.buf) < total:
                return
            body = bytes(self.buf[head_end + 4 : total])
            del self.buf[:total]
            close = headers.get("connection", "").lower() == "close"
            status, payload, ctype = self._handle(method, target, headers, body)
            self._respond(status, payload, close=close, content_type=ctype)

    # --- requests ------------------------------------------------------------------------

    def _handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, str]:
        url = urlsplit(target)
        password = self.server.config.requirepass
        if password:
            auth = headers.get("authorization", "")
            given = auth[7:] if auth.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(given.encode(), password.encode()):
                return 401, b"NOAUTH Authentication required.\n", "text/plain"
        if url.path == "/health" and method in ("GET", "HEAD"):
            info = {
                "role": "replica" if self.engine.read_only else "master",
                "keys": self.engine.keyspace.total_keys(),
            }
            return 200, json.dumps(info).encode() + b"\n", "application/json"
        if not url.path.startswith("/data/") or len(url.path) <= len("/data/"):
            return 404, b"not found: use /data/<key>\n", "text/plain"
        key = unquote_to_bytes(url.path[len("/data/") :])
        if method in ("GET", "HEAD"):
            argv = [b"GET", key]
        elif method == "PUT" or method == "POST":
            argv = [b"SET", key, body]
            ttl = parse_qs(url.query).get("ttl")
            if ttl:
                argv += [b"EX", ttl[0].encode()]
        elif method == "DELETE":
            argv = [b"DEL", key]
        else:
            return 405, b"method not allowed\n", "text/plain"
        assert self.client is not None
        self.client.db = self.engine.keyspace.dbs[0]
        reply = self.engine.execute(self.client, argv)
        if isinstance(reply, CommandError):
            status = ERROR_STATUS.get(reply.prefix, 400)
            return status, reply.message.encode() + b"\n", "text/plain"
        if argv[0] == b"GET":
            if reply is None:
                return 404, b"", "application/octet-stream"
            assert isinstance(reply, bytes)
            return 200, reply if method == "GET" else b"", "application/octet-stream"
        if argv[0] == b"DEL":
            return (204 if reply == 1 else 404), b"", "text/plain"
        if isinstance(reply, Raw) or reply == "OK":
            return 204, b"", "text/plain"
        return 500, b"unexpected reply\n", "text/plain"

    # --- output, behind the commit gate like RESP replies -----------------------------------

    def _respond(
        self, status: int, body: bytes, *, close: bool = False, content_type: str = "text/plain"
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body) if status != 204 else 0}\r\n"
            + ("Connection: close\r\n" if close else "")
            + "\r\n"
        ).encode()
        data = head + (body if status != 204 else b"")
        gate = self.gate
        need = gate.barrier
        if self._held or need > gate.committed:
            self._held.append((need, data))
            gate.wait(self)
        elif self.transport is not None:
            self.transport.write(data)
        if close:
            self._closing = True
            if not self._held and self.transport is not None:
                self.transport.close()

    def release(self, committed: int) -> None:
        while self._held and self._held[0][0] <= committed:
            _, data = self._held.popleft()
            if self.transport is not None:
                self.transport.write(data)
        if self._held:
            self.gate.wait(self)
        elif self._closing and self.transport is not None:
            self.transport.close()

    def fail_held(self, message: bytes) -> None:
        if self._held and self.transport is not None:
            self._held.clear()
            body = message.lstrip(b"-")
            self.transport.write(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            self.transport.close()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ValueError("malformed request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ValueError("malformed header line")
        headers[name.lower()] = value.strip()
    return parts[0].upper(), parts[1], headers


async def start_http(server: Server, host: str, port: int) -> asyncio.AbstractServer:
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(lambda: HttpConnection(server), host=host, port=port)
    log.info("HTTP /data endpoint on %s:%d", host, port)
    return listener
