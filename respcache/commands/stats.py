"""The counters behind INFO stats, commandstats, errorstats and latencystats.

Redis keeps them in ``server.stat_*`` and each command's ``redisCommand``
(``calls``, ``microseconds``, ``rejected_calls``, ``failed_calls``, the latency
histogram). ``Engine.call`` counts a command that ran (inline: it is the hot
path); what refuses a command (``Engine.execute``'s lookup, arity and gates, a
script's ``redis.call``) counts it through :meth:`Stats.reject`. The replies that
read these counters are ``commands/info.py`` and ``commands/latencystats.py``;
CONFIG RESETSTAT resets the fields in place (``commands/server.py``), so the one
:class:`Stats` of an engine lives as long as it. Compiled with mypyc
(``respcache._compiled``): every command updates a :class:`CommandStats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from respcache.commands.registry import CommandSpec
from respcache.errors import CommandError


@dataclass
class CommandStats:
    calls: int = 0
    usec: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0
    samples: dict[int, int] = field(default_factory=dict)
    """Calls per duration in µs while latency-tracking is on (see commands/latencystats)."""


@dataclass
class Stats:
    """Counters behind ``INFO stats`` (reset by CONFIG RESETSTAT)."""

    total_connections_received: int = 0
    total_commands_processed: int = 0
    rejected_connections: int = 0
    total_net_input_bytes: int = 0
    total_net_output_bytes: int = 0
    total_error_replies: int = 0
    commands: dict[str, CommandStats] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def command(self, name: str) -> CommandStats:
        """The counters of one command (``get`` or ``config|set``), created at first use."""
        stats = self.commands.get(name)
        if stats is None:
            stats = self.commands[name] = CommandStats()
        return stats

    def count_error(self, err: CommandError) -> None:
        """An error reply sent (errorstats counts it by its prefix: ``ERR``, ``WRONGTYPE``)."""
        self.total_error_replies += 1
        prefix = err.prefix
        self.errors[prefix] = self.errors.get(prefix, 0) + 1

    def reject(self, err: CommandError, spec: CommandSpec | None) -> CommandError:
        """A command refused before it ran (``spec`` None: no such command); returns ``err``."""
        if spec is not None:
            self.command(spec.name).rejected_calls += 1
        self.count_error(err)
        return err
