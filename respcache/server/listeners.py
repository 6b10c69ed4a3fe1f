"""The listening sockets: TCP, TLS and the unix socket, and binding them anew at run time.

``CONFIG SET port``, ``bind`` and ``tls-port`` listen anew, as Redis's
``changeBindAddr`` and ``changeListenPort`` do (``config.c``): the new sockets
are bound before the old ones close, and a failure fails the CONFIG SET with
Redis's message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
from collections.abc import Callable

from respcache.config import Config
from respcache.errors import ConfigError
from respcache.server.tls import TlsContexts

__all__ = ["Listeners"]

log = logging.getLogger("respcache.server")


class Listeners:
    """Every listener of the server; ``factory`` makes the protocol of a new connection.

    ``pinned()``: the address is registered somewhere (a ZooKeeper cluster node),
    so ``bind`` and ``port`` cannot change at run time.
    """

    def __init__(
        self,
        config: Config,
        tls: TlsContexts,
        factory: Callable[[], asyncio.Protocol],
        pinned: Callable[[], bool],
    ) -> None:
        self.config = config
        self.tls = tls
        self._factory = factory
        self.pinned = pinned
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listeners: list[asyncio.AbstractServer] = []
        self.ports: list[int] = []
        self.tls_listeners: list[asyncio.AbstractServer] = []
        self.tls_ports: list[int] = []
        config.on_change("tls-port", self._tls_port_changed)
        self.wire()

    async def open(self, loop: asyncio.AbstractEventLoop) -> None:
        """Listen on ``port``, ``tls-port`` and ``unixsocket`` (OSError: none could be bound)."""
        self.loop = loop
        cfg = self.config
        if cfg.port:
            self.listeners += await self.listen(cfg.port, None, self.ports)
        if cfg.tls_port:
            self.tls_listeners = await self.listen(cfg.tls_port, self.tls.listening, self.tls_ports)
            self.listeners += self.tls_listeners
        if cfg.unixsocket:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(cfg.unixsocket)
            listener = await loop.create_unix_server(
                self._factory, path=cfg.unixsocket, backlog=cfg.tcp_backlog
            )
            if cfg.unixsocketperm:
                os.chmod(cfg.unixsocket, cfg.unixsocketperm)
            self.listeners.append(listener)
        if not self.listeners:
            raise OSError("no listening socket could be bound")

    def listening_port(self) -> int:
        """The TCP port clients (and followers' leaders) reach us on.

        With ``tls-replication`` (or no plain port) it is the TLS port, as the
        ``REPLCONF listening-port`` of Redis 7.0 (``replication.c``).
        """
        cfg = self.config
        tls_port = self.tls_ports[0] if self.tls_ports else cfg.tls_port
        if tls_port and (cfg.tls_replication or not cfg.port):
            return tls_port
        return self.ports[0] if self.ports else cfg.port

    # --- CONFIG SET bind / port --------------------------------------------------------------

    def wire(self) -> None:
        """CONFIG SET ``bind`` and ``port`` listen anew (Redis's changeBindAddr and
        changeListenPort): the old listeners close, the new ones bind; a failure fails the
        CONFIG SET with Redis's message, and its rollback binds the old values again."""
        cfg = self.config

        def rebind_port(value: object) -> None:
            port = int(value)  # type: ignore[call-overload]
            self._rebind(list(cfg.bind), port, "Unable to listen on this port. Check server logs.")

        def rebind_addresses(value: object) -> None:
            hosts = list(value)  # type: ignore[call-overload]
            self._rebind(hosts, cfg.port, "Failed to bind to specified addresses.")

        self._starting: list[tuple[socket.socket, asyncio.Task[asyncio.Server]]] = []
        cfg.on_change("port", rebind_port)
        cfg.on_change("bind", rebind_addresses)

    def _rebind(self, hosts: list[str], port: int, message: str) -> None:
        loop = self.loop
        if loop is None:
            return  # not listening yet: start() reads the new values
        if self.pinned():
            raise ConfigError(
                "ERR the address of a ZooKeeper cluster node is registered: "
                "restart it to change bind or port"
            )
        tcp = (socket.AF_INET, socket.AF_INET6)
        for listener in [
            x for x in self.listeners if any(s.family in tcp for s in getattr(x, "sockets", ()))
        ]:
            listener.close()
            self.listeners.remove(listener)
        for sock, task in self._starting:  # a rebind of the same CONFIG SET (its rollback)
            task.cancel()
            sock.close()
        self._starting = []
        socks: list[socket.socket] = []
        if port:
            for host in hosts:
                optional = host.startswith("-")
                addr = host.lstrip("-")
                try:
                    family = socket.getaddrinfo(
                        addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
                    )[0][0]
                    socks.append(
                        socket.create_server(
                            (addr, port), family=family, backlog=self.config.tcp_backlog
                        )
                    )
                except OSError as err:
                    if optional:
                        continue
                    log.warning(
                        "Could not create server TCP listening socket %s:%d: %s", addr, port, err
                    )
                    for sock in socks:
                        sock.close()
                    raise ConfigError("ERR " + message) from None
            if not socks:
                raise ConfigError("ERR " + message)
        self.ports = [sock.getsockname()[1] for sock in socks]
        for sock in socks:
            sock.setblocking(False)
            task = loop.create_task(
                loop.create_server(self._factory, sock=sock, backlog=self.config.tcp_backlog)
            )
            task.add_done_callback(self._listener_started)
            self._starting.append((sock, task))

    def _listener_started(self, task: asyncio.Task[asyncio.Server]) -> None:
        self._starting = [(s, t) for s, t in self._starting if t is not task]
        if not task.cancelled() and task.exception() is None:
            self.listeners.append(task.result())

    # --- listeners -----------------------------------------------------------------------

    def bind(self, port: int) -> list[socket.socket]:
        """Listening sockets on every ``bind`` address (a ``-`` address is optional)."""
        cfg = self.config
        sockets: list[socket.socket] = []
        try:
            for host in cfg.bind:
                optional = host.startswith("-")
                addr = {"*": "0.0.0.0", "::*": "::"}.get(host.lstrip("-"), host.lstrip("-"))
                try:
                    infos = socket.getaddrinfo(
                        addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
                    )
                    for family, *_, sockaddr in infos[:1]:
                        sock = socket.socket(family, socket.SOCK_STREAM)
                        try:
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                            if family == socket.AF_INET6:
                                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                            sock.bind(sockaddr)
                            sock.listen(cfg.tcp_backlog)
                        except OSError:
                            sock.close()
                            raise
                        sock.setblocking(False)
                        sockets.append(sock)
                except OSError as err:
                    if optional:
                        log.debug("could not bind optional address %s: %s", addr, err)
                        continue
                    raise
        except OSError:
            for sock in sockets:
                sock.close()
            raise
        return sockets

    async def _serve(
        self, sockets: list[socket.socket], context: ssl.SSLContext | None, ports: list[int]
    ) -> list[asyncio.AbstractServer]:
        assert self.loop is not None
        servers: list[asyncio.AbstractServer] = []
        for sock in sockets:
            servers.append(
                await self.loop.create_server(
                    self._factory,
                    sock=sock,
                    backlog=self.config.tcp_backlog,
                    ssl=context,
                    ssl_handshake_timeout=10.0 if context is not None else None,
                    # Redis sends close_notify and closes; asyncio waits for the peer's
                    # (30 s by default), which would hold a closed client and SHUTDOWN.
                    ssl_shutdown_timeout=1.0 if context is not None else None,
                )
            )
            ports.append(sock.getsockname()[1])
        return servers

    async def listen(
        self, port: int, context: ssl.SSLContext | None, ports: list[int]
    ) -> list[asyncio.AbstractServer]:
        return await self._serve(self.bind(port), context, ports)

    def _tls_port_changed(self, value: object) -> None:
        """CONFIG SET tls-port: configure TLS if needed, bind the new port, close the old.

        Redis's ``changeListenPort``: the new sockets are bound before the old ones
        close, so a failure (port in use) leaves everything as it was.
        """
        if self.loop is None:
            return
        port = int(value)  # type: ignore[call-overload]
        sockets: list[socket.socket] = []
        if port:
            self.tls.ensure()
            try:
                sockets = self.bind(port)
            except OSError as err:
                log.warning("Failed listening on port %d (TLS): %s", port, err)
                raise ConfigError("Unable to listen on this port. Check server logs.") from None
        old = self.tls_listeners
        for listener in old:
            listener.close()
            if listener in self.listeners:
                self.listeners.remove(listener)
        self.tls_listeners = []
        self.tls_ports.clear()

        async def serve() -> None:
            servers = await self._serve(sockets, self.tls.listening, self.tls_ports)
            self.tls_listeners += servers
            self.listeners += servers

        if sockets:
            self.loop.create_task(serve())
