"""The node's loading state: what INFO says and what admission refuses while data loads.

Followed: Redis 7.0.15 ``rdb.c`` (``startLoading``, ``loadingAbsProgress``,
``stopLoading``, ``rdbLoadProgressCallback``) and ``server.c`` (the ``loading_*`` lines
of INFO persistence, the ``LOADING`` refusal of ``processCommand``).

Redis loads its RDB or AOF at startup *after* it opened its listening sockets, and
every ``loading-process-events-interval-bytes`` of RDB (every 1024 commands of AOF) it
serves the events that arrived meanwhile (``processEventsWhileBlocked``): a client may
connect, run ``PING`` or ``INFO`` (the commands with the ``loading`` flag) and gets
``-LOADING Redis is loading the dataset in memory`` for every other command. Here the
loaders are generators that yield at those points (:data:`Steps`); the server drives
them and lets the event loop run at each yield. :func:`drain` runs one to the end
without yielding (``DEBUG RELOAD``, tests).

No asyncio here: the server decides what a yield means.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Final, TypeVar

__all__ = ["AOF_COMMANDS_PER_STEP", "LOADING", "LoadProgress", "Steps", "drain", "key_load_delay"]

LOADING: Final = "LOADING Redis is loading the dataset in memory"
"""``shared.loadingerr`` (without the leading ``-``)."""

AOF_COMMANDS_PER_STEP: Final = 1024
"""``loadSingleAppendOnlyFile`` processes events every 1024 commands."""

T = TypeVar("T")

Steps = Generator[None, None, T]
"""A loader: yields where Redis would process events, returns its result."""


def drain(steps: Steps[T]) -> T:
    """Run a loader to its end without letting anything else run."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def key_load_delay(usec: int) -> None:
    """``debugDelay(server.key_load_delay)``: the per-key sleep tests use to slow a load.

    A negative value sleeps 1 µs once every ``-usec`` keys on average, as Redis does."""
    if usec < 0:
        import random

        usec = 1 if random.randrange(-usec) == 0 else 0
    if usec:
        time.sleep(usec / 1e6)


class LoadProgress:
    """``server.loading`` and the ``loading_*`` counters.

    :meth:`begin` at the start of a load (``startLoading``), :meth:`advance` as bytes
    are consumed (``loadingAbsProgress``), :meth:`end` when it stops, whatever the
    outcome (``stopLoading``).
    """

    __slots__ = ("active", "loaded_bytes", "rdb_used_mem", "start_time", "total_bytes")

    def __init__(self) -> None:
        self.active = False
        self.start_time = 0
        self.total_bytes = 0
        self.loaded_bytes = 0
        self.rdb_used_mem = 0

    def begin(self, total_bytes: int) -> None:
        self.active = True
        self.start_time = int(time.time())
        self.total_bytes = total_bytes
        self.loaded_bytes = 0
        self.rdb_used_mem = 0

    def advance(self, loaded_bytes: int) -> None:
        self.loaded_bytes = loaded_bytes

    def end(self) -> None:
        self.active = False

    def info_lines(self, now: int | None = None) -> list[str]:
        """The lines INFO persistence ends with while loading (none otherwise)."""
        if not self.active:
            return []
        perc = 0.0
        remaining = 1
        loaded = self.loaded_bytes
        if self.total_bytes:
            perc = loaded / self.total_bytes * 100
            remaining = self.total_bytes - loaded
        elif self.rdb_used_mem:
            perc = min(loaded / self.rdb_used_mem * 100, 99.99)
            remaining = max(self.rdb_used_mem - loaded, 1)
        elapsed = (int(time.time()) if now is None else now) - self.start_time
        eta = 1 if elapsed == 0 else (elapsed * remaining) // (loaded + 1)
        return [
            f"loading_start_time:{self.start_time}",
            f"loading_total_bytes:{self.total_bytes}",
            f"loading_rdb_used_mem:{self.rdb_used_mem}",
            f"loading_loaded_bytes:{loaded}",
            f"loading_loaded_perc:{perc:.2f}",
            f"loading_eta_seconds:{eta}",
        ]
