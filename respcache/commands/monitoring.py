"""What SLOWLOG and LATENCY report: slow commands and latency spikes, kept in memory.

The engine times every command (``Engine.call``); only a command at least
:attr:`Monitoring.threshold_us` long reaches :meth:`Monitoring.command_done`, so
the common case costs one comparison. The threshold is the smaller of
``slowlog-log-slower-than`` (µs; -1 disables) and ``latency-monitor-threshold``
(ms; 0 disables), kept current through ``Config.on_change``.

As in Redis (``slowlog.c``, ``latency.c``): a slowlog entry keeps at most 32
arguments of at most 128 bytes each, passwords are redacted, entry ids never
restart (not even after SLOWLOG RESET); the latency monitor keeps the last 160
samples per event, one per second (the worse one wins).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from respcache.commands.monitor import redacted

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.commands.registry import CommandSpec
    from respcache.config import Config

SLOWLOG_ENTRY_MAX_ARGC: Final = 32
SLOWLOG_ENTRY_MAX_STRING: Final = 128
LATENCY_TS_LEN: Final = 160
_NEVER: Final = 1 << 62


@dataclass(slots=True)
class SlowlogEntry:
    id: int
    time: int
    """Unix seconds when the command ran."""
    duration: int
    """Microseconds."""
    argv: list[bytes]
    addr: bytes
    name: bytes


@dataclass(slots=True)
class LatencyEvent:
    """One latency event class (``command``, ``fast-command``...): samples and all-time max."""

    samples: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=LATENCY_TS_LEN))
    """(unix seconds, milliseconds), oldest first."""
    max: int = 0


def slowlog_argv(spec: CommandSpec, argv: list[bytes]) -> list[bytes]:
    """The arguments as SLOWLOG shows them: truncated, passwords replaced by ``(redacted)``."""
    shown = redacted(argv)
    out: list[bytes] = []
    argc = min(len(shown), SLOWLOG_ENTRY_MAX_ARGC)
    for i in range(argc):
        if argc != len(shown) and i == argc - 1:
            out.append(b"... (%d more arguments)" % (len(shown) - argc + 1))
            break
        arg = shown[i]
        if len(arg) > SLOWLOG_ENTRY_MAX_STRING:
            arg = arg[:SLOWLOG_ENTRY_MAX_STRING] + b"... (%d more bytes)" % (
                len(arg) - SLOWLOG_ENTRY_MAX_STRING
            )
        out.append(arg)
    return out


class Monitoring:
    """SLOWLOG entries and LATENCY events of one engine."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.slowlog: deque[SlowlogEntry] = deque()
        self.next_id = 0
        self.events: dict[str, LatencyEvent] = {}
        self.threshold_us = _NEVER
        """Commands at least this long are looked at (the engine compares, we decide)."""
        self._update()
        config.on_change("slowlog-log-slower-than", self._update)
        config.on_change("latency-monitor-threshold", self._update)
        config.on_change("slowlog-max-len", self._trim)

    def _update(self, _value: object = None) -> None:
        slow = self.config.slowlog_log_slower_than
        latency_ms = self.config.latency_monitor_threshold
        candidates = [_NEVER]
        if slow >= 0:
            candidates.append(slow)
        if latency_ms > 0:
            candidates.append(latency_ms * 1000)
        self.threshold_us = min(candidates)

    def _trim(self, _value: object = None) -> None:
        limit = self.config.slowlog_max_len
        while len(self.slowlog) > limit:
            self.slowlog.pop()

    # --- recording ------------------------------------------------------------------------

    def command_done(
        self, client: Client, spec: CommandSpec, argv: list[bytes], duration_us: int
    ) -> None:
        """A command took ``duration_us`` (≥ :attr:`threshold_us`): slowlog and latency."""
        config = self.config
        slower_than = config.slowlog_log_slower_than
        if (
            0 <= slower_than <= duration_us
            and "skip_slowlog" not in spec.flags
            and config.slowlog_max_len > 0
        ):
            info = client.connection_info()
            self.slowlog.appendleft(
                SlowlogEntry(
                    id=self.next_id,
                    time=int(time.time()),
                    duration=duration_us,
                    argv=slowlog_argv(spec, argv),
                    addr=info.get("addr", "").encode(),
                    name=client.name,
                )
            )
            self.next_id += 1
            self._trim()
        threshold_ms = config.latency_monitor_threshold
        duration_ms = duration_us // 1000
        if threshold_ms > 0 and duration_ms >= threshold_ms:
            event = "fast-command" if "fast" in spec.flags else "command"
            self.add_latency_sample(event, duration_ms)

    def add_latency_sample_if_needed(self, event: str, ms: int) -> None:
        """``latencyAddSampleIfNeeded``: record ``ms`` if the latency monitor is on and it
        reaches ``latency-monitor-threshold``."""
        threshold_ms = self.config.latency_monitor_threshold
        if threshold_ms > 0 and ms >= threshold_ms:
            self.add_latency_sample(event, ms)

    def add_latency_sample(self, event: str, ms: int) -> None:
        """Record a latency spike of ``ms`` milliseconds for ``event`` (``latencyAddSample``)."""
        now = int(time.time())
        ev = self.events.get(event)
        if ev is None:
            ev = self.events[event] = LatencyEvent()
        ev.max = max(ev.max, ms)
        if ev.samples and ev.samples[-1][0] == now:
            if ev.samples[-1][1] < ms:
                ev.samples[-1] = (now, ms)
            return
        ev.samples.append((now, ms))

    def reset_slowlog(self) -> None:
        self.slowlog.clear()

    def reset_latency(self, events: list[str] | None = None) -> int:
        """Forget the given events (all when None); returns how many existed."""
        if events is None:
            count = len(self.events)
            self.events.clear()
            return count
        count = 0
        for name in dict.fromkeys(events):
            if self.events.pop(name, None) is not None:
                count += 1
        return count
