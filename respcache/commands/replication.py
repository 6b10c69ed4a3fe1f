"""Replication commands: REPLICAOF/SLAVEOF, REPLCONF, PSYNC/SYNC, WAIT.

The handlers parse and check arguments with Redis's error texts and hand the
work to the replication layer through ``engine.replication`` (a
:class:`ReplicationControl`, set by the server; :mod:`respcache.replication.node`).
Without one (unit tests of the engine), the node is a standalone master.
ROLE's reply comes from ``engine.role_provider``, set by the same layer.
"""

from __future__ import annotations

from typing import Protocol

from respcache.commands.args import parse_int
from respcache.commands.blocking import Blocked
from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.errors import CommandError
from respcache.protocol.types import OK, Reply

__all__ = ["ReplicationControl"]


class ReplicationControl(Protocol):
    """What the replication layer offers the commands."""

    def replicaof(self, target: tuple[str, int] | None, client: Client | None = None) -> str: ...

    def replconf(self, client: Client, argv: list[bytes]) -> bool: ...

    def psync(self, client: Client, replid: str, offset: int, legacy: bool = False) -> None: ...

    def wait(self, client: Client, numreplicas: int, timeout_ms: int) -> int | None: ...

    def change_replication_id(self) -> None: ...


def _control(c: Client) -> ReplicationControl | None:
    control: ReplicationControl | None = c.engine.replication
    return control


def _replicaof(c: Client, argv: list[bytes]) -> Reply:
    host, port_arg = argv[1], argv[2]
    target: tuple[str, int] | None
    if host.lower() == b"no" and port_arg.lower() == b"one":
        target = None
    else:
        try:
            port = parse_int(port_arg)
        except CommandError:
            port = -1
        if not 0 <= port <= 65535:
            raise CommandError("ERR Invalid master port")
        target = (host.decode("utf-8", "surrogateescape"), port)
    control = _control(c)
    if control is None:
        if target is None:
            return OK
        raise CommandError("ERR replication is not available on this node")
    return control.replicaof(target, c)


@command(
    "replicaof",
    arity=3,
    flags="admin noscript stale no_async_loading",
    group="server",
    summary="Configure a server as replica of another, or promote it to a master.",
    since="5.0.0",
    complexity="O(1)",
    acl="@admin @slow @dangerous",
)
def replicaof(c: Client, argv: list[bytes]) -> Reply:
    return _replicaof(c, argv)


@command(
    "slaveof",
    arity=3,
    flags="admin noscript stale no_async_loading",
    group="server",
    summary="Sets a Redis server as a replica of another, or promotes it to being a master.",
    since="1.0.0",
    complexity="O(1)",
    acl="@admin @slow @dangerous",
)
def slaveof(c: Client, argv: list[bytes]) -> Reply:
    return _replicaof(c, argv)


@command(
    "replconf",
    arity=-1,
    flags="admin noscript loading stale allow_busy",
    group="server",
    summary="An internal command for configuring the replication stream",
    since="3.0.0",
    complexity="O(1)",
    acl="@admin @slow @dangerous",
)
def replconf(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) % 2 == 0:
        raise CommandError("ERR syntax error")
    control = _control(c)
    if control is None:
        for i in range(1, len(argv), 2):
            if argv[i].lower() in (b"ack", b"getack", b"fack"):
                c.reply_mode = "skip" if c.reply_mode == "on" else c.reply_mode
                return None
        return OK
    if not control.replconf(c, argv):
        # REPLCONF ACK / GETACK are never answered.
        if c.reply_mode == "on":
            c.reply_mode = "skip"
        return None
    return OK


def _psync(c: Client, replid: bytes, offset_arg: bytes, legacy: bool = False) -> Reply:
    control = _control(c)
    if control is None:
        raise CommandError("ERR replication is not available on this node")
    try:
        offset = int(offset_arg)
    except ValueError:
        raise CommandError("ERR value is not an integer or out of range") from None
    control.psync(c, replid.decode("ascii", "replace"), offset, legacy)
    return None


@command(
    "psync",
    arity=-3,
    flags="admin noscript no_async_loading no_multi",
    group="server",
    summary="An internal command used in replication",
    since="2.8.0",
    complexity="",
    acl="@admin @slow @dangerous",
)
def psync(c: Client, argv: list[bytes]) -> Reply:
    return _psync(c, argv[1], argv[2])


@command(
    "sync",
    arity=1,
    flags="admin noscript no_async_loading no_multi",
    group="server",
    summary="An internal command used in replication",
    since="1.0.0",
    complexity="",
    acl="@admin @slow @dangerous",
)
def sync(c: Client, argv: list[bytes]) -> Reply:
    return _psync(c, b"?", b"-1", legacy=True)


@command(
    "wait",
    arity=3,
    flags="noscript",
    group="generic",
    summary="Wait for the synchronous replication of all the write commands sent in the "
    "context of the current connection",
    since="3.0.0",
    complexity="O(1)",
    acl="@slow @connection",
)
def wait(c: Client, argv: list[bytes]) -> Reply | Blocked:
    numreplicas = parse_int(argv[1])
    timeout = parse_int(argv[2], "ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise CommandError("ERR timeout is negative")
    control = _control(c)
    if control is None:
        return 0
    # Inside EXEC a client cannot block: the count now (a negative timeout says so).
    count = control.wait(c, numreplicas, -1 if c.in_exec else timeout)
    if count is not None:
        return count
    # Parked without keys or engine timer: the replication layer unblocks it.
    return Blocked(keys=[], timeout=0, timeout_reply=0)
