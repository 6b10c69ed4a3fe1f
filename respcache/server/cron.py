"""The server's cron: Redis's ``serverCron`` for what respcache does periodically.

``hz`` times a second: active expiry (within ``active-expire-effort``'s budget),
the memory accounting (a slice of the clients sampled and the keyspace handed the
server's overhead, ``commands/memory.py``), eviction when over ``maxmemory``, idle client ``timeout``, the samples behind
``instantaneous_ops_per_sec``, and the hooks of replication and the cluster
node. While a busy script holds the keyspace only the ``busy_hooks`` run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from respcache.commands import Engine
from respcache.commands.memory import memory_cron
from respcache.config import Config

if TYPE_CHECKING:
    from respcache.server.connection import RespConnection

__all__ = ["ServerCron"]

log = logging.getLogger("respcache.server")


class ServerCron:
    """The periodic work; ``hooks`` and ``busy_hooks`` are the server's lists (appended to)."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        connections: Collection[RespConnection],
        hooks: list[Callable[[], None]],
        busy_hooks: list[Callable[[], None]],
    ) -> None:
        self.config = config
        self.engine = engine
        self.connections = connections
        self.cron_hooks = hooks
        self.busy_cron_hooks = busy_hooks
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._ops_samples: list[tuple[float, int]] = []
        # The startup overhead counts against maxmemory from the first command on.
        memory_cron(engine, max(1, min(500, config.hz)))

    def schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start ticking ``hz`` times a second on ``loop``."""
        self._loop = loop
        self._schedule()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _schedule(self) -> None:
        assert self._loop is not None
        hz = max(1, min(500, self.config.hz))
        self._handle = self._loop.call_later(1.0 / hz, self._run)

    def _run(self) -> None:
        try:
            if not self.engine.cron_paused:  # DEBUG PAUSE-CRON
                self.tick()
        except Exception:  # the cron must survive anything
            log.exception("cron failed")
        finally:
            self._schedule()

    def tick(self) -> None:
        """Periodic work: active expiry, idle timeouts, ops/sec samples, hooks."""
        cfg = self.config
        hz = max(1, min(500, cfg.hz))
        engine = self.engine
        if engine.busy is not None:
            # A script past busy-reply-threshold has the keyspace to itself (no expiry,
            # eviction, timeouts or save, as Redis runs no serverCron then); the
            # replication and cluster hooks (pings, acknowledgements) go on.
            for hook in self.busy_cron_hooks:
                hook()
            return
        budget = 0.25 / hz * max(1, min(10, cfg.active_expire_effort)) / 4
        if engine.active_expire:
            started = time.monotonic()
            expired = engine.keyspace.active_expire_cycle(budget, cfg.active_expire_effort)
            engine.monitoring.add_latency_sample_if_needed(
                "expire-cycle", int((time.monotonic() - started) * 1000)
            )
            if expired:
                engine.flush_store_events()
                if engine.ready:
                    engine.serve_ready()
        memory_cron(engine, hz)
        if engine.keyspace.maxmemory and engine.keyspace.over_maxmemory():
            engine.keyspace.evict()
            engine.flush_store_events()
        if cfg.timeout:
            now = time.time()
            for conn in list(self.connections):
                client = conn.client
                if (
                    client is not None
                    and client.blocked is None
                    and not client.in_pubsub
                    and not client.is_master
                    and now - client.last_interaction > cfg.timeout
                ):
                    conn.close()
        now_m = time.monotonic()
        self._ops_samples.append((now_m, engine.stats.total_commands_processed))
        if len(self._ops_samples) > 16:
            del self._ops_samples[0]
        for hook in self.cron_hooks:
            hook()

    def instantaneous_ops(self) -> int:
        samples = self._ops_samples
        if len(samples) < 2:
            return 0
        (t0, c0), (t1, c1) = samples[0], samples[-1]
        return int((c1 - c0) / (t1 - t0)) if t1 > t0 else 0
