"""FAILOVER: Redis 6.2's coordinated failover, carried out through ZooKeeper.

``FAILOVER [TO host port] [TIMEOUT ms] [FORCE]`` and ``FAILOVER ABORT`` parse and
check their arguments here, with Redis 7.0's error texts and in its order; the
work is done by the node's :class:`FailoverControl` (the server's cluster glue,
registered with :func:`set_control`). Without one (no ``zookeeper``), FAILOVER
is refused: roles are only handed over through the coordination layer.

What the control does (see docs/coordination.md, "Planned handoff"): writes are
held before they execute, the target catches up, ZooKeeper records the target
as leader at the next epoch in one transaction, and the held writes then run
as on any replica (``-READONLY``). ``INFO replication``'s
``master_failover_state`` is ``waiting-for-sync``, then ``failover-in-progress``,
then ``no-failover`` again.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Protocol

from respcache.commands.args import parse_int
from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.errors import SYNTAX, CommandError
from respcache.protocol.types import OK, Reply

if TYPE_CHECKING:
    from respcache.commands.engine import Engine

__all__ = ["FailoverControl", "FailoverRequest", "control_of", "set_control"]

NO_FAILOVER = "ERR No failover in progress."
NOT_COORDINATED = (
    "ERR FAILOVER needs ZooKeeper coordination on this node (the zookeeper setting is empty)"
)


class FailoverRequest:
    """A parsed ``FAILOVER`` call."""

    __slots__ = ("force", "target", "timeout_ms")

    def __init__(self, target: tuple[str, int] | None, timeout_ms: int, force: bool) -> None:
        self.target = target
        self.timeout_ms = timeout_ms
        """0: no timeout (wait for the target as long as it stays in sync)."""
        self.force = force

    def __repr__(self) -> str:
        return f"FailoverRequest({self.target!r}, {self.timeout_ms}, force={self.force})"


class FailoverControl(Protocol):
    """What the node offers FAILOVER (the server's cluster glue)."""

    def start_failover(self, request: FailoverRequest) -> None:
        """Validate against the node's state (raise ``CommandError``) and start in the background."""

    def abort_failover(self) -> None:
        """``FAILOVER ABORT`` (raise ``CommandError`` when there is nothing to abort)."""


_CONTROLS: weakref.WeakKeyDictionary[Engine, FailoverControl] = weakref.WeakKeyDictionary()


def set_control(engine: Engine, control: FailoverControl | None) -> None:
    """Register (or, with None, remove) the engine's failover control."""
    if control is None:
        _CONTROLS.pop(engine, None)
    else:
        _CONTROLS[engine] = control


def control_of(engine: Engine) -> FailoverControl | None:
    return _CONTROLS.get(engine)


def parse_failover(argv: list[bytes]) -> FailoverRequest:
    """The options of ``FAILOVER`` as Redis's failoverCommand parses them (not ABORT)."""
    timeout_ms = 0
    force = False
    target: tuple[str, int] | None = None
    j = 1
    n = len(argv)
    while j < n:
        word = argv[j].lower()
        if word == b"timeout" and j + 1 < n and timeout_ms == 0:
            timeout_ms = parse_int(argv[j + 1])
            if timeout_ms <= 0:
                raise CommandError("ERR FAILOVER timeout must be greater than 0")
            j += 2
        elif word == b"to" and j + 2 < n and target is None:
            port = parse_int(argv[j + 2])
            target = (argv[j + 1].decode("utf-8", "surrogateescape"), port)
            j += 3
        elif word == b"force" and not force:
            force = True
            j += 1
        else:
            raise CommandError(SYNTAX)
    return FailoverRequest(target, timeout_ms, force)


@command(
    "failover",
    arity=-1,
    flags="admin noscript stale",
    group="server",
    summary="Start a coordinated failover between this server and one of its replicas.",
    since="6.2.0",
    complexity="O(1)",
    acl="@admin @slow @dangerous",
)
def failover(c: Client, argv: list[bytes]) -> Reply:
    control = control_of(c.engine)
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if control is None:
            raise CommandError(NO_FAILOVER)
        control.abort_failover()
        return OK
    request = parse_failover(argv)
    if control is None:
        raise CommandError(NOT_COORDINATED)
    control.start_failover(request)
    return OK
