"""The ZooKeeper session: a kazoo client whose threads hand everything to the event loop.

kazoo runs its own threads. Its connection-state listener only schedules work
on the asyncio loop (``loop.call_soon_threadsafe``); every ZooKeeper round trip
is an ``*_async`` kazoo call whose completion is handed back to the loop as a
future (:meth:`ZkSession.call`), and kazoo's exceptions become
:class:`~.events.CoordinationError` for the callers (:func:`translated`).
Nothing here decides anything: the
:class:`~respcache.coordination.election_loop.ElectionLoop` does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.retry import KazooRetry
from kazoo.security import READ_ACL_UNSAFE, make_digest_acl

from respcache.coordination.config import CoordinationConfig
from respcache.coordination.events import CoordinationError

__all__ = ["ZkSession", "translated"]


class ZkSession:
    """One kazoo client and the bridge from its threads to the loop it was opened on."""

    def __init__(self, config: CoordinationConfig) -> None:
        self.config = config
        self.client: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping = False
        """Set by the coordinator's stop: from then on no request leaves."""

    def open(self, on_state: Callable[[str], None]) -> None:
        """Create the client (on the loop); ``on_state`` gets its connection states there."""
        self.loop = asyncio.get_running_loop()
        cfg = self.config
        kwargs: dict[str, Any] = {}
        if cfg.auth is not None:
            user, password = cfg.auth.split(":", 1)
            kwargs["auth_data"] = [("digest", cfg.auth)]
            acl = [make_digest_acl(user, password, all=True)]
            kwargs["default_acl"] = acl + (list(READ_ACL_UNSAFE) if cfg.acl_world_read else [])
        if cfg.tls is not None:
            kwargs.update(cfg.tls.kazoo_options())
        self.client = KazooClient(
            hosts=cfg.hosts,
            timeout=cfg.session_timeout,
            connection_retry=KazooRetry(
                max_tries=-1,
                delay=0.05,
                backoff=2,
                max_jitter=0.2,
                max_delay=cfg.reconnect_max_delay,
            ),
            command_retry=KazooRetry(max_tries=3, delay=0.05, max_delay=cfg.reconnect_max_delay),
            **kwargs,
        )

        def listener(state: str) -> None:
            # kazoo's connection thread: never block here.
            self.threadsafe(on_state, state)

        self.client.add_listener(listener)

    def connect(self) -> None:
        """Start connecting in the background (states arrive through ``on_state``)."""
        self.client.start_async()

    def threadsafe(self, callback: Callable[..., object], *args: object) -> None:
        """From a kazoo thread: run ``callback(*args)`` on the loop."""
        loop = self.loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # loop closed: nobody is listening any more
            loop.call_soon_threadsafe(callback, *args)

    async def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a kazoo ``*_async`` call and await its result on this loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def settle(result: Any) -> None:
            if future.done():
                return
            exc = result.exception
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(result.value)

        def done(result: Any) -> None:  # kazoo's thread
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, result)

        def expire() -> None:
            if not future.done():
                future.set_exception(TimeoutError(f"no answer from ZooKeeper to {method.__name__}"))

        if self.stopping:
            raise CoordinationError("coordinator stopped")
        method(*args, **kwargs).rawlink(done)
        # Not asyncio.wait_for: on 3.11 it swallows a cancellation that races with
        # the answer, and a stopped coordinator would carry on with its decision.
        timer = loop.call_later(
            self.config.operation_timeout or self.config.session_timeout, expire
        )
        try:
            return await future
        finally:
            timer.cancel()

    async def close(self) -> None:
        """Close the session (its ephemeral znodes go with it)."""
        client = self.client
        if client is not None:
            await asyncio.to_thread(client.stop)
            await asyncio.to_thread(client.close)


@contextlib.asynccontextmanager
async def translated(what: str) -> AsyncIterator[None]:
    """kazoo's exceptions stay inside this package: callers see CoordinationError."""
    try:
        yield
    except CoordinationError:
        raise
    except (KazooException, TimeoutError) as exc:
        raise CoordinationError(f"{what}: {exc!r}") from exc
