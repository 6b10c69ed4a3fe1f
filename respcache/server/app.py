"""The server: listeners, the cron, shutdown, and the wiring of every layer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from respcache.commands import Engine
from respcache.commands.persistence import load_aof_steps, shutdown_save
from respcache.config import Config
from respcache.errors import ConfigError
from respcache.persistence.aof import AofError, AofStatus
from respcache.persistence.loading import Steps, drain
from respcache.persistence.rdb import RdbError
from respcache.replication import Replication
from respcache.server.connection import RespConnection
from respcache.server.cron import ServerCron
from respcache.server.gate import CommitGate
from respcache.server.listeners import Listeners
from respcache.server.status import FollowerStatus, NodeStatus
from respcache.server.tls import TlsContexts, TlsError

if TYPE_CHECKING:
    from aiohttp.web import AppRunner

    from respcache.server.cluster import ClusterNode

log = logging.getLogger("respcache.server")

MAXCLIENTS_ERROR = b"-ERR max number of clients reached\r\n"
PROTECTED_MODE_ERROR = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from "
    b"the loopback interface. If you want to connect from external computers to Redis you may "
    b"adopt one of the following solutions: 1) Just disable protected mode sending the command "
    b"'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    b"same host the server is running, however MAKE SURE Redis is not publicly accessible from "
    b"internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    b"you can just disable the protected mode by editing the Redis configuration file, and "
    b"setting the protected mode option to 'no', and then restarting the server. 3) If you "
    b"started the server manually just for testing, restart it with the '--protected-mode no' "
    b"option. 4) Setup a an authentication password for the default user. NOTE: You only need "
    b"to do one of the above things in order for the server to start accepting connections "
    b"from the outside.\r\n"
)


class Server:
    """A respcache node: engine + listeners + cron. Replication and coordination plug in."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine = Engine(config)
        self.gate = CommitGate()
        self.connections: set[RespConnection] = set()
        self._http: list[AppRunner] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._stopping = False
        """A shutdown began (a load in progress stops at its next step)."""
        self.cron_hooks: list[Callable[[], None]] = []
        """Run every cron tick (replication pings, timeouts, ...)."""
        self.shutdown_hooks: list[Callable[[], Any]] = []
        """Awaitables/callables run on shutdown before connections close (handoff)."""
        self.engine.shutdown_hook = self.request_shutdown
        self.engine.ops_per_sec = self.instantaneous_ops
        self._apply_config_hooks()
        self.tls = TlsContexts(config)
        """The TLS contexts (``tls-*``): listeners, HTTPS and outgoing links use them."""
        self.tls.wire()
        self.net = Listeners(
            config, self.tls, lambda: RespConnection(self), lambda: self.cluster is not None
        )
        """The listening sockets (``port``, ``tls-port``, ``unixsocket``)."""
        self.replication = Replication(
            self.engine,
            self.gate,
            config,
            listening_port=self.listening_port,
            tls=self.tls.outgoing,
            disk=self.engine.aof,
        )
        self.cron_hooks.append(self.replication.cron)
        self.busy_cron_hooks: list[Callable[[], None]] = [self.replication.cron]
        """The cron hooks that also run while a busy script has the keyspace."""
        self.timers = ServerCron(
            config, self.engine, self.connections, self.cron_hooks, self.busy_cron_hooks
        )
        self.engine.persistence.repl_info = self._repl_info
        self.shutdown_hooks.append(self.replication.shutdown)
        self._wire_persistence()
        self.cluster: ClusterNode | None = None
        """ZooKeeper-led roles (``zookeeper`` set); None: standalone or ``replicaof``."""
        if config.zookeeper:
            from respcache.server.cluster import ClusterNode  # kazoo only when needed

            self.cluster = ClusterNode(self)
            self.shutdown_hooks.append(self.cluster.stop)  # the session closes last

    # --- configuration ------------------------------------------------------------------

    def _apply_config_hooks(self) -> None:
        ks = self.engine.keyspace
        cfg = self.config

        def set_maxmemory(value: object) -> None:
            ks.maxmemory = int(value)  # type: ignore[call-overload]
            ks.evict()
            self.engine.flush_store_events()

        def set_policy(value: object) -> None:
            ks.set_policy(str(value))

        def set_samples(value: object) -> None:
            ks.samples = int(value)  # type: ignore[call-overload]

        def set_lfu_log_factor(value: object) -> None:
            ks.lfu_log_factor = int(value)  # type: ignore[call-overload]

        def set_lfu_decay_time(value: object) -> None:
            ks.lfu_decay_time = int(value)  # type: ignore[call-overload]

        cfg.on_change("maxmemory", set_maxmemory)
        cfg.on_change("maxmemory-policy", set_policy)
        cfg.on_change("maxmemory-samples", set_samples)
        cfg.on_change("lfu-log-factor", set_lfu_log_factor)
        cfg.on_change("lfu-decay-time", set_lfu_decay_time)

    # --- persistence (respcache.persistence) ---------------------------------------------

    def _wire_persistence(self) -> None:
        """The RDB saver's and the AOF's cron, the AOF's feed and its CONFIG SET switches."""
        saver = self.engine.persistence
        aof = self.engine.aof
        gate = self.gate
        self.cron_hooks.append(saver.cron)
        self.cron_hooks.append(aof.cron)
        self._shutdown_nosave = False
        aof.on_synced = gate.disk_sync
        aof.repl_mark = self.replication.data_claim  # (a recovery reads it back: cluster.py)

        def feed(db: int, commands: list[list[bytes]]) -> None:
            aof.feed(db, commands)
            if aof.gating:
                gate.disk_fed(aof.fed)

        self._aof_feed = feed

        def switch_aof(value: object) -> None:
            """``updateAppendonly``: start with a rewrite, or stop."""
            if value and not aof.enabled:
                try:
                    aof.start()
                except AofError:
                    raise ConfigError("Unable to turn on AOF. Check server logs.") from None
            elif not value and aof.enabled:
                aof.stop()

        def switch_fsync(value: object) -> None:
            if aof.enabled:
                aof.flush(force=True)
            gate.disk_sync(aof.fed)

        self.config.on_change("appendonly", switch_aof)
        self.config.on_change("appendfsync", switch_fsync)
        self.config.on_change(
            "aof-disable-auto-gc", lambda value: None if value else aof.del_history()
        )

    def _repl_info(self) -> tuple[str, int] | None:
        """The replication id and offset an RDB file records (its ``repl-id`` aux fields)."""
        status = self.replication.status()
        return status.replid, status.offset

    def load_persistence(self) -> None:
        """:meth:`load_persistence_steps` run to its end."""
        drain(self.load_persistence_steps())

    def load_persistence_steps(self) -> Steps[None]:
        """At startup: the AOF when ``appendonly yes`` (it holds the latest data, as in
        Redis), else ``dir/dbfilename``; then open the AOF for append. Yields where Redis
        serves events while it loads (``persistence/loading.py``)."""
        aof = self.engine.aof
        try:
            aof.load_manifest()
        except AofError as err:
            log.error("*** FATAL AOF MANIFEST FILE ERROR ***")
            log.error("%s", err)
            raise SystemExit(1) from err  # as Redis: its message is the last line logged
        if self.config.appendonly:
            started = time.monotonic()
            status = yield from load_aof_steps(self.engine)
            if status in (AofStatus.FAILED, AofStatus.OPEN_ERR):
                raise SystemExit(1)  # the reason was logged by the loader, last
            if status is not AofStatus.NOT_EXIST:
                log.info(
                    "DB loaded from append only file: %.3f seconds", time.monotonic() - started
                )
        else:
            try:
                yield from self.engine.persistence.load_steps()
            except RdbError as err:
                log.error("Fatal error loading the DB: %s. Exiting.", err)
                path = self.engine.persistence.path
                raise OSError(f"Fatal error loading the DB {path}: {err}") from err
        try:
            aof.open_on_start()
        except (OSError, AofError, RdbError) as err:
            raise OSError(f"Can't open the append-only file: {err}") from err
        feed = self._aof_feed

        def feed_while_on(on: bool) -> None:
            self.engine.aof_feed = feed if on else None

        aof.on_state = feed_while_on
        feed_while_on(aof.enabled)

    def _save_on_shutdown(self) -> None:
        self.engine.aof.shutdown()
        saver = self.engine.persistence
        if saver.shutdown_saved or self._shutdown_nosave:
            saver.kill_child()
            return
        shutdown_save(saver, False, False, True)

    # --- lifecycle -------------------------------------------------------------------------

    async def _load_data(self) -> bool:
        """Load the data while the listeners serve what may run meanwhile (Redis's
        ``processEventsWhileBlocked``: PING, INFO...; the rest gets LOADING). False when a
        SHUTDOWN came during the load (nothing was saved: the dataset was partial)."""
        steps = self.load_persistence_steps()
        while True:
            try:
                next(steps)
            except StopIteration:
                return True
            except BaseException:
                # Redis exits at once: serve nobody on the way out (asyncio.run still
                # runs the loop while it winds down, and PING would get PONG).
                for listener in self.listeners:
                    listener.close()
                for conn in list(self.connections):
                    conn.abort()
                raise
            await asyncio.sleep(0)
            if self._stopping:
                steps.close()
                return False

    async def start(self) -> None:
        """Bind the listeners, load the RDB or AOF (serving LOADING meanwhile), start the
        cron."""
        self._stopping = False
        loop = self.loop = asyncio.get_running_loop()
        self.engine.aof.schedule_flush = loop.call_soon
        self._stopped = asyncio.Event()
        self.engine.call_later = loop.call_later
        self.engine.pause.call_later = loop.call_later
        self.engine.tracking.call_soon = loop.call_soon  # BCAST rounds after each loop step
        cfg = self.config
        if self.tls.wanted:
            try:
                self.tls.configure()
            except TlsError:  # the reason was logged; run() logs this and exits 1
                raise OSError("Failed to configure TLS. Check logs for more info.") from None
        # HTTP first: once the RESP port accepts, the HTTP endpoint is up too.
        if cfg.http_port:
            from respcache.server.http import HttpEndpoint, start_http

            endpoint = HttpEndpoint(self.engine, self.gate, cfg, self.node_status)
            https = self.tls.listening if cfg.tls_port and cfg.tls_http else None
            for host in cfg.bind or ["127.0.0.1"]:
                try:
                    self._http.append(
                        await start_http(endpoint, host.lstrip("-"), cfg.http_port, https)
                    )
                except OSError:
                    if not host.startswith("-"):
                        raise
        await self.net.open(loop)
        if not await self._load_data():
            return
        self.timers.schedule(loop)
        self.replication.start(loop)
        if self.cluster is not None:
            await self.cluster.start()
        where = ", ".join(
            [f"{h.lstrip('-')}:{cfg.port}" for h in cfg.bind if cfg.port]
            + [f"{h.lstrip('-')}:{cfg.tls_port} (TLS)" for h in cfg.bind if cfg.tls_port]
        ) + (f" unix:{cfg.unixsocket}" if cfg.unixsocket else "")
        log.info("Ready to accept connections on %s", where)

    async def wait_stopped(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()

    def request_shutdown(self, nosave: bool = False) -> None:
        """SHUTDOWN command or a signal: stop gracefully from the event loop."""
        self._shutdown_nosave = self._shutdown_nosave or nosave
        if self.loop is not None:
            self.loop.call_soon(lambda: asyncio.ensure_future(self.stop()))

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, let written replies drain (bounded), close every client."""
        if self._stopped is None or self._stopped.is_set():
            return
        log.info("User requested shutdown...")
        self._stopping = True
        if self.cluster is not None:
            # A leader hands off first, still listening: clients retrying on this
            # address have their commands forwarded to the new leader meanwhile.
            try:
                await asyncio.wait_for(self.cluster.shutdown_handoff(), timeout)
            except Exception:
                log.exception("handoff before shutdown failed")
        for listener in self.listeners:
            listener.close()
        for runner in self._http:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner.cleanup(), 1.0)
        for hook in self.shutdown_hooks:
            result = hook()
            if asyncio.iscoroutine(result):
                try:
                    await asyncio.wait_for(result, timeout)
                except Exception:  # a failing hook must not prevent the shutdown
                    log.exception("shutdown hook failed")
        self.timers.cancel()
        self._save_on_shutdown()
        deadline = time.monotonic() + timeout
        for conn in list(self.connections):
            conn.close()
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.connections):
            conn.abort()
        for listener in self.listeners:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.wait_closed(), 1.0)
        if self.config.unixsocket:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.config.unixsocket)
        log.info("respcache is now ready to exit, bye bye...")
        self._stopped.set()

    def node_status(self) -> NodeStatus:
        """Role, epoch, leader, ISR and offsets, for ``/health`` and ``/metrics``."""
        status = self.replication.status()
        cluster = self.cluster
        followers = tuple(
            FollowerStatus(
                f.id,
                f"{f.ip}:{f.port}",
                f.state,
                f.ack,
                max(0, status.offset - f.ack),
                f.lag,
                f.in_isr,
            )
            for f in status.followers
        )
        role = self.replication.public_role()
        serving = role == "master"
        if cluster is None:
            host, port = status.master or ("127.0.0.1", self.listening_port())
            leader = f"{host}:{port}" if role != "none" else ""
            zookeeper, failovers = "none", 0
        else:
            address = cluster.leader_address
            leader = f"{address[0]}:{address[1]}" if address is not None else ""
            zookeeper = "connected" if cluster.zk_connected else "disconnected"
            failovers = cluster.failovers
            serving = serving and cluster.leading
        return NodeStatus(
            role=role,
            serving=serving,
            epoch=status.epoch,
            leader=leader,
            isr=tuple(sorted(status.isr)),
            offset=status.offset,
            committed=status.committed,
            followers=followers,
            zookeeper=zookeeper,
            failovers=failovers,
        )

    def listening_port(self) -> int:
        """The TCP port clients (and followers' leaders) reach us on (see Listeners)."""
        return self.net.listening_port()

    @property
    def listeners(self) -> list[asyncio.AbstractServer]:
        return self.net.listeners

    @property
    def ports(self) -> list[int]:
        return self.net.ports

    @property
    def tls_listeners(self) -> list[asyncio.AbstractServer]:
        return self.net.tls_listeners

    @property
    def tls_ports(self) -> list[int]:
        return self.net.tls_ports

    # --- connections -------------------------------------------------------------------------

    def tune_socket(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        keepalive = self.config.tcp_keepalive
        if keepalive > 0:
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepalive)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, keepalive // 3))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)

    def admission_error(self, peer: object) -> bytes | None:
        """Why a new connection is refused (maxclients, protected mode), or None."""
        cfg = self.config
        if len(self.connections) >= cfg.maxclients:
            return MAXCLIENTS_ERROR
        if cfg.protected_mode and not cfg.requirepass:
            host = peer[0] if isinstance(peer, tuple) else None
            # Redis 7.0 accepts exactly 127.0.0.1 and ::1 (not all of 127/8), and unix sockets.
            if host is not None and str(host) not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
                return PROTECTED_MODE_ERROR
        return None

    def check_output_limit(self, conn: RespConnection) -> None:
        """Close a client whose unread replies pass its class's limits.

        Redis's ``checkClientOutputBufferLimits``: at or over the hard limit at once; at
        or over the soft limit continuously for ``soft-seconds`` (the clock starts when
        the soft limit is first reached and stops when the buffer falls below it).
        """
        client = conn.client
        if client is None:
            return
        klass = "pubsub" if client.in_pubsub else "normal"
        hard, soft, soft_seconds = self.config.output_buffer_limit(klass)
        if not hard and not soft:
            return
        used = conn.output_buffer_size
        over = bool(hard) and used >= hard
        if soft and used >= soft:
            now = time.monotonic()
            if conn.obuf_soft_since is None:
                conn.obuf_soft_since = now
            elif now - conn.obuf_soft_since >= soft_seconds:
                over = True
        else:
            conn.obuf_soft_since = None
        if over:
            log.warning(
                "Client id=%d addr=%s closed for overcoming of output buffer limits.",
                client.id,
                conn.addr,
            )
            conn.abort()

    # --- cron (server/cron.py) -----------------------------------------------------------

    def cron(self) -> None:
        """One tick of the periodic work (see ServerCron.tick)."""
        self.timers.tick()

    def instantaneous_ops(self) -> int:
        return self.timers.instantaneous_ops()


async def serve(config: Config, ready: Callable[[Server], None] | None = None) -> int:
    """Run a server until SIGTERM/SIGINT or SHUTDOWN; returns the exit code."""
    server = Server(config)
    loop = asyncio.get_running_loop()
    await server.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, server.request_shutdown)
    if config.pidfile:
        with open(config.pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    if ready is not None:
        ready(server)
    try:
        await server.wait_stopped()
    finally:
        if config.pidfile:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(config.pidfile)
    return 0


def run(config: Config) -> int:
    """Entry point used by the CLI: set up the event loop (uvloop when installed) and serve."""
    try:
        import uvloop
    except ImportError:
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        return asyncio.run(serve(config))
    except OSError as err:
        log.error("Failed listening: %s", err)
        return 1
