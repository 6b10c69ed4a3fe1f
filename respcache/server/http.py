"""The HTTP endpoint beside the RESP port, served by aiohttp on the same event loop.

==============================  ===============================================
``GET|HEAD /data/<key>``        200 with the value (``application/octet-stream``),
                                404 when the key does not exist
``PUT|POST /data/<key>``        stores the body (chunked too); ``?ttl=<seconds>``
                                sets a TTL; 204 on success
``DELETE /data/<key>``          204 when deleted, 404 when it did not exist
``GET /health``                 JSON: role, epoch, leader, ISR, offsets; 200 only
                                where the node serves writes, else 503
``GET /metrics``                Prometheus text format (prometheus-client)
==============================  ===============================================

Every ``/data`` request is a ``GET``/``SET``/``DEL`` on db 0 through
``Engine.execute``, the one admission stage RESP clients pass, and its
response waits behind the same :class:`~respcache.server.gate.CommitGate`.
The verdicts map to HTTP as RESP's errors do: ``READONLY`` (a follower, a
deposed leader, reads a follower cannot prove fresh) is 421 Misdirected
Request with the leader's address in ``X-Respcache-Leader``; ``NOREPLICAS``,
``MASTERDOWN``, ``LOADING`` 503; ``OOM`` 507; a held command (CLIENT PAUSE, a
handoff) waits; a command the node would forward (just after a handoff) is 421
with the new leader's address.

Authentication follows RESP's: whenever a RESP client would have to authenticate
(``requirepass``, or a default user that is not ``nopass`` or is disabled), ``/data``
and ``/metrics`` need ``Authorization: Basic <base64 user:password>`` (any ACL user)
or ``Authorization: Bearer <password>`` (the default user, as ``AUTH <password>``);
otherwise 401 with ``WWW-Authenticate``. The request then runs as that user, so
the ACL's command and key rules apply (a user without ``+get`` gets 403 on
``GET /data/k``, with Redis's ``NOPERM`` text, and the denial is in ``ACL LOG``).
Without credentials required, requests run as the default user, with its rules.
``/health`` stays open: load balancers probe it without credentials, and it tells
only the role and offsets. With ``tls-port`` set the endpoint is HTTPS with the
server's certificate (``tls-http``, see ``docs/operations.md``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from respcache.commands.admission import Forward, Hold, HoldQueue
from respcache.commands.client import Client
from respcache.commands.memory import used_memory
from respcache.errors import WRONGPASS, CommandError
from respcache.protocol.types import Raw
from respcache.server.status import NodeStatus

if TYPE_CHECKING:
    from collections.abc import Iterable

    from respcache.commands.engine import Engine, Verdict
    from respcache.config import Config
    from respcache.server.gate import CommitGate

log = logging.getLogger("respcache.http")

__all__ = ["ERROR_STATUS", "LEADER_HEADER", "HttpEndpoint", "start_http"]

ERROR_STATUS = {
    "READONLY": 421,
    "NOREPLICAS": 503,
    "MASTERDOWN": 503,
    "LOADING": 503,
    "OOM": 507,
    "NOAUTH": 401,
    "NOPERM": 403,
}
CHALLENGE = ('Basic realm="respcache", charset="UTF-8"', 'Bearer realm="respcache"')
LEADER_HEADER = "X-Respcache-Leader"
TEXT = "text/plain"
OCTETS = "application/octet-stream"


class _Parked:
    """An HTTP request held by a :class:`Hold` until its queue releases it."""

    def __init__(self) -> None:
        self.done: asyncio.Future[Forward | None] = asyncio.get_running_loop().create_future()

    def resume_pending(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def forward(self, forward: Forward) -> None:
        if not self.done.done():
            self.done.set_result(forward)


class _Committed:
    """Waits in the commit gate until ``need`` is acknowledged (or fails)."""

    def __init__(self, gate: CommitGate, need: tuple[int, int]) -> None:
        self.gate = gate
        self.need = need
        self.done: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()

    def release(self, committed: int) -> None:
        if self.gate.satisfied(self.need):
            if not self.done.done():
                self.done.set_result(None)
        else:
            self.gate.wait(self)

    def fail_held(self, message: bytes) -> None:
        if not self.done.done():
            self.done.set_result(message)


class HttpEndpoint:
    """The aiohttp application: ``/data``, ``/health``, ``/metrics``."""

    def __init__(
        self,
        engine: Engine,
        gate: CommitGate,
        config: Config,
        status: Callable[[], NodeStatus],
    ) -> None:
        self.engine = engine
        self.gate = gate
        self.config = config
        self.status = status
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Figures(engine, status))
        self.app = web.Application(client_max_size=config.proto_max_bulk_len)
        self.app.router.add_route("*", "/data/{key:.+}", self.data)
        self.app.router.add_get("/health", self.health)
        self.app.router.add_get("/metrics", self.metrics)

    # --- handlers -------------------------------------------------------------------------

    def _authenticate(self, request: web.Request) -> Client | web.Response:
        """The client a request runs as, or the 401 that refuses it (see the docstring)."""
        engine = self.engine
        client = Client(engine)
        client.authenticated = True  # HTTP authenticates per request
        default = engine.acl.default
        if default.nopass and default.enabled:
            return client  # RESP needs no AUTH either: the default user, with its rules
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        token = token.strip()
        username: bytes | None = None
        password = b""
        if scheme.lower() == "bearer" and token:
            username, password = b"default", token.encode()
        elif scheme.lower() == "basic" and token:
            try:
                decoded = base64.b64decode(token, validate=True)
            except (binascii.Error, ValueError):
                decoded = b""
            if b":" in decoded:
                username, _, password = decoded.partition(b":")
        if username is None:
            return self._challenge(b"NOAUTH Authentication required.\n")
        user = engine.acl.authenticate(username, password)
        if user is None:
            name = username.decode("utf-8", "surrogateescape")
            engine.gate_steps.log_acl(client, "auth", "AUTH", name)
            return self._challenge(WRONGPASS.encode() + b"\n")
        client.user = user
        return client

    @staticmethod
    def _challenge(body: bytes) -> web.Response:
        response = web.Response(status=401, body=body, content_type=TEXT)
        for challenge in CHALLENGE:
            response.headers.add("WWW-Authenticate", challenge)
        return response

    async def data(self, request: web.Request) -> web.StreamResponse:
        client = self._authenticate(request)
        if isinstance(client, web.Response):
            return client
        # The raw path: %2F stays part of the key, as the key bytes were sent.
        raw = request.rel_url.raw_path.split("?", 1)[0]
        from urllib.parse import unquote_to_bytes

        key = unquote_to_bytes(raw[len("/data/") :])
        method = request.method
        if method in ("GET", "HEAD"):
            argv = [b"GET", key]
        elif method in ("PUT", "POST"):
            body = await request.read()  # Content-Length or chunked: aiohttp decodes both
            argv = [b"SET", key, body]
            ttl = request.query.get("ttl")
            if ttl is not None:
                argv += [b"EX", ttl.encode()]
        elif method == "DELETE":
            argv = [b"DEL", key]
        else:
            return web.Response(status=405, body=b"method not allowed\n", content_type=TEXT)
        reply, failed = await self.run(argv, client)
        if failed is not None:
            return web.Response(status=503, body=failed.lstrip(b"-"), content_type=TEXT)
        if isinstance(reply, Forward):
            return self._misdirected(reply.leader, b"the leader moved\n")
        if isinstance(reply, CommandError):
            status = ERROR_STATUS.get(reply.prefix, 400)
            if status == 421:
                return self._misdirected(None, reply.message.encode() + b"\n")
            return web.Response(
                status=status, body=reply.message.encode() + b"\n", content_type=TEXT
            )
        if argv[0] == b"GET":
            if reply is None:
                return web.Response(status=404, content_type=OCTETS)
            assert isinstance(reply, bytes)
            if method == "HEAD":
                return web.Response(
                    status=200, content_type=OCTETS, headers={"Content-Length": str(len(reply))}
                )
            return web.Response(status=200, body=reply, content_type=OCTETS)
        if argv[0] == b"DEL":
            return web.Response(status=204 if reply == 1 else 404)
        if isinstance(reply, Raw) or reply == "OK":
            return web.Response(status=204)
        return web.Response(status=500, body=b"unexpected reply\n", content_type=TEXT)

    async def run(
        self, argv: list[bytes], client: Client | None = None
    ) -> tuple[Verdict, bytes | None]:
        """The command through the pipeline, then the commit gate: (verdict, failure)."""
        engine = self.engine
        if client is None:
            client = Client(engine)
            client.authenticated = True
        while True:
            verdict = engine.execute(client, argv)
            if type(verdict) is not Hold:
                break
            parked = _Parked()
            queue: HoldQueue = verdict.queue
            queue.add(parked)
            try:
                forward = await parked.done
            finally:
                queue.discard(parked)
            if forward is not None:
                return forward, None
        if engine.reveals_data:
            gate = self.gate
            need = gate.need()
            if not gate.satisfied(need):
                waiter = _Committed(gate, need)
                gate.wait(waiter)
                try:
                    failed = await waiter.done
                finally:
                    gate.forget(waiter)
                if failed is not None:
                    return verdict, failed
        return verdict, None

    def _misdirected(self, leader: tuple[str, int] | None, body: bytes) -> web.Response:
        headers = {}
        address = f"{leader[0]}:{leader[1]}" if leader is not None else self.status().leader
        if address:
            headers[LEADER_HEADER] = address
            body += f"leader: {address}\n".encode()
        return web.Response(status=421, body=body, headers=headers, content_type=TEXT)

    async def health(self, request: web.Request) -> web.Response:
        status = self.status()
        body = status.as_json()
        body["keys"] = self.engine.keyspace.total_keys()
        return web.json_response(body, status=200 if status.serving else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        client = self._authenticate(request)
        if isinstance(client, web.Response):
            return client
        return web.Response(
            body=generate_latest(self.registry),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )


class _Figures(Collector):
    """The figures operators alert on, read live at every scrape."""

    def __init__(self, engine: Engine, status: Callable[[], NodeStatus]) -> None:
        self.engine = engine
        self.status = status

    def collect(self) -> Iterable[Metric]:
        engine = self.engine
        ks = engine.keyspace
        status = self.status()
        role = GaugeMetricFamily(
            "respcache_role", "This node's role (1 for the current one)", labels=["role"]
        )
        for name in ("master", "slave", "none"):
            role.add_metric([name], 1.0 if status.role == name else 0.0)
        yield role
        yield GaugeMetricFamily(
            "respcache_serving", "1 when this node runs writes", value=int(status.serving)
        )
        yield GaugeMetricFamily(
            "respcache_epoch", "Replication epoch (leader term)", value=status.epoch
        )
        clients = sum(1 for c in engine.clients.values() if not c.is_replica)
        yield GaugeMetricFamily("respcache_connected_clients", "Connected clients", value=clients)
        calls = CounterMetricFamily("respcache_commands", "Commands run", labels=["command"])
        failed = CounterMetricFamily(
            "respcache_command_errors", "Commands refused or failed", labels=["command"]
        )
        for name, stats in sorted(engine.stats.commands.items()):
            calls.add_metric([name], stats.calls)
            failed.add_metric([name], stats.failed_calls + stats.rejected_calls)
        yield calls
        yield failed
        errors = CounterMetricFamily(
            "respcache_errors", "Error replies by prefix", labels=["prefix"]
        )
        for prefix, count in sorted(engine.stats.errors.items()):
            errors.add_metric([prefix], count)
        yield errors
        keys = GaugeMetricFamily("respcache_keys", "Keys per database", labels=["db"])
        for db in ks.dbs:
            if db.data:
                keys.add_metric([str(db.id)], len(db.data))
        yield keys
        yield GaugeMetricFamily(
            "respcache_memory_used_bytes", "used_memory", value=used_memory(engine)
        )
        yield GaugeMetricFamily("respcache_memory_max_bytes", "maxmemory", value=ks.maxmemory)
        yield CounterMetricFamily("respcache_evicted_keys", "Keys evicted", value=ks.evicted_keys)
        yield CounterMetricFamily("respcache_expired_keys", "Keys expired", value=ks.expired_keys)
        yield GaugeMetricFamily(
            "respcache_replication_offset", "Replication offset", value=status.offset
        )
        lag = GaugeMetricFamily(
            "respcache_replication_follower_lag_bytes",
            "Leader offset minus the follower's ack",
            labels=["follower"],
        )
        acked = GaugeMetricFamily(
            "respcache_replication_follower_offset",
            "Offset the follower acknowledged",
            labels=["follower"],
        )
        for follower in status.followers:
            lag.add_metric([follower.id], follower.lag_bytes)
            acked.add_metric([follower.id], follower.ack)
        yield lag
        yield acked
        yield GaugeMetricFamily("respcache_isr_size", "In-sync followers", value=len(status.isr))
        zk = GaugeMetricFamily(
            "respcache_zookeeper_session", "ZooKeeper session state", labels=["state"]
        )
        for state in ("connected", "disconnected", "none"):
            zk.add_metric([state], 1.0 if status.zookeeper == state else 0.0)
        yield zk
        yield CounterMetricFamily(
            "respcache_failovers", "Leader changes seen", value=status.failovers
        )


async def start_http(
    endpoint: HttpEndpoint, host: str, port: int, tls: ssl.SSLContext | None = None
) -> web.AppRunner:
    """Serve ``endpoint`` on ``host:port``, HTTPS with ``tls`` (the caller keeps the runner)."""
    runner = web.AppRunner(endpoint.app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, ssl_context=tls)
    await site.start()
    log.info("HTTP%s endpoint on %s:%d", "S" if tls is not None else "", host, port)
    return runner
