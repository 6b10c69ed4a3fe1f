"""MONITOR: every executed command, as Redis 7.0's ``replicationFeedMonitors`` prints it.

One line per command, sent to every monitoring client as a simple string::

    +1700000000.123456 [0 127.0.0.1:52814] "set" "key" "va\\"lue"

(unix time with microseconds, the db and the client's address, or ``unix:<path>`` for a
Unix socket; each argument quoted as ``sdscatrepr`` does). As in ``server.c:call``, a
command is shown after it ran, commands flagged ``admin`` or ``skip_monitor`` are never
shown, the arguments of ``AUTH`` and of ``HELLO ... AUTH`` are replaced by
``(redacted)``, and commands refused before they ran (unknown, wrong arity, NOAUTH) are
not shown. A blocked command is shown once, when it first runs.

Nobody monitoring costs one truthiness check per command (``Engine.call`` looks at
:attr:`Monitors.clients`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from respcache.commands.registry import command
from respcache.errors import CommandError
from respcache.protocol.types import OK, Raw, Reply

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.commands.registry import CommandSpec

NO_REPLY: Final = Raw(b"")
"""Nothing at all on the wire (not even in RESP3)."""

__all__ = ["Monitors", "format_line", "repr_arg"]

REDACTED: Final = b"(redacted)"

_ESCAPES: Final = {
    ord("\\"): b"\\\\",
    ord('"'): b'\\"',
    ord("\n"): b"\\n",
    ord("\r"): b"\\r",
    ord("\t"): b"\\t",
    7: b"\\a",
    8: b"\\b",
}
_REPR: Final = [
    _ESCAPES.get(b, bytes([b]) if 0x20 <= b < 0x7F else b"\\x%02x" % b) for b in range(256)
]


def repr_arg(arg: bytes) -> bytes:
    """``sdscatrepr``: double quotes, C escapes, ``\\xHH`` for what is not printable."""
    return b'"' + b"".join([_REPR[b] for b in arg]) + b'"'


def redacted(argv: list[bytes]) -> list[bytes]:
    """The arguments MONITOR and SLOWLOG may show, as Redis's commands redact them
    (``redactClientCommandArgument``): AUTH's password (and user), HELLO's AUTH
    credentials, MIGRATE's AUTH/AUTH2, every argument of ACL SETUSER, and the value
    of a sensitive setting in CONFIG SET."""
    name = argv[0].lower()
    if name == b"auth":
        out = list(argv)
        if len(out) > 1:
            out[1] = REDACTED
        if len(out) == 3:
            out[2] = REDACTED
        return out
    if name == b"hello":
        out = list(argv)
        j = 2
        while j < len(out):
            if out[j].lower() == b"auth" and len(out) - 1 - j >= 2:
                out[j + 1] = out[j + 2] = REDACTED
                j += 2
            j += 1
        return out
    if name == b"migrate":
        return _redacted_migrate(argv)
    if len(argv) >= 3 and name == b"acl" and argv[1].lower() == b"setuser":
        return argv[:2] + [REDACTED] * (len(argv) - 2)
    if len(argv) >= 4 and name == b"config" and argv[1].lower() == b"set":
        from respcache.config import lookup

        out = list(argv)
        for i in range(2, len(out) - 1, 2):
            setting = lookup(out[i].decode("utf-8", "replace"))
            if setting is not None and setting.sensitive:
                out[i + 1] = REDACTED
        return out
    return argv


def _redacted_migrate(argv: list[bytes]) -> list[bytes]:
    """MIGRATE's AUTH password and AUTH2 user and password, as migrateCommand's option
    loop redacts them (it stops at KEYS or at the first syntax error)."""
    out = list(argv)
    j = 6
    while j < len(out):
        more = len(out) - 1 - j
        word = out[j].lower()
        if word == b"auth" and more >= 1:
            out[j + 1] = REDACTED
            j += 1
        elif word == b"auth2" and more >= 2:
            out[j + 1] = out[j + 2] = REDACTED
            j += 2
        elif word not in (b"copy", b"replace"):
            break
        j += 1
    return out


SCRIPT_RUNNERS: Final = frozenset({"eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro"})
"""Shown when they start, before the commands their script runs (they are
``skip_monitor``: Redis's evalCommand and fcallCommandGeneric feed the monitors
themselves, first thing)."""


def format_line(now: float, db: int, origin: str, argv: list[bytes]) -> bytes:
    """One MONITOR line, ``+`` and CRLF included."""
    seconds = int(now)
    micros = round((now - seconds) * 1_000_000)
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    args = b" ".join([repr_arg(a) for a in redacted(argv)])
    return b"+%d.%06d [%d %s] %s\r\n" % (seconds, micros, db, origin.encode(), args)


def origin_of(c: Client) -> str:
    """``getClientPeerId``, ``unix:<socket path>`` for a Unix-socket client, ``lua`` for
    the commands scripts and functions run."""
    from respcache.commands.scripting import is_script_client

    if is_script_client(c.engine, c):
        return "lua"
    info = c.connection_info()
    addr = info.get("addr", "")
    laddr = info.get("laddr", "")
    if not addr and laddr.startswith("/"):
        return "unix:" + laddr
    return addr


class Monitors:
    """The clients in MONITOR mode, in the order they started (Redis's server.monitors)."""

    def __init__(self) -> None:
        self.clients: list[Client] = []

    def add(self, c: Client) -> None:
        if c not in self.clients:
            self.clients.append(c)

    def forget(self, c: Client) -> None:
        if c in self.clients:
            self.clients.remove(c)

    def feed(self, c: Client, spec: CommandSpec, argv: list[bytes]) -> None:
        """Show one executed command to every monitor (call only when some exist)."""
        flags = spec.flags
        if "admin" in flags or "skip_monitor" in flags:
            return
        self.announce(c, argv)

    def announce(self, c: Client, argv: list[bytes]) -> None:
        """Show a command line to every monitor now (the script commands, as they start)."""
        line = Raw(format_line(time.time(), c.db.id, origin_of(c), argv))
        for monitor in list(self.clients):
            monitor.push(line)


@command(
    "monitor",
    arity=1,
    flags="admin noscript loading stale",
    group="server",
    summary="Listen for all requests received by the server in real time",
    since="1.0.0",
    complexity="",
    acl="@admin @slow @dangerous",
)
def monitor(c: Client, argv: list[bytes]) -> Reply:
    if c.in_exec:  # (Redis: a client that expects one reply per command cannot monitor)
        raise CommandError("ERR MONITOR isn't allowed for DENY BLOCKING client")
    if c.is_replica or c in c.engine.monitors.clients:
        return NO_REPLY  # Redis ignores MONITOR from a replica or a monitor, unanswered
    c.engine.monitors.add(c)
    return OK
