"""Admission: what ``Engine.execute`` answers besides a reply, and the node's gate seam.

Whether a command may run is decided in one place, the engine's admission stage
(Redis's ``processCommand``), for every entry point: RESP connections, the
HTTP endpoint, ``EXEC``'s queue and, later, scripts. The verdicts a transport
acts on are

* a :data:`~respcache.protocol.types.Reply` (the command ran, or was refused
  with an error);
* :class:`~respcache.commands.blocking.Blocked` (BLPOP & co. wait for a key);
* :class:`Hold`: the command did **not** run; the transport parks it in
  ``hold.queue`` and runs it again when the queue releases it (Redis's
  ``blockClient(c, BLOCKED_POSTPONE)``: CLIENT PAUSE, a planned handoff);
* :class:`Forward`: the command did not run here; the transport relays it to
  ``leader`` (just after a handoff) with ``forward.relay``.

The node-level rules (roles, fencing, handoff) come from a :class:`NodeAdmission`
collaborator the engine is built with; :class:`Standalone` admits everything.
Nothing here does I/O: a :class:`HoldQueue` only remembers who waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.commands.registry import CommandSpec
    from respcache.errors import CommandError

__all__ = [
    "Forward",
    "Hold",
    "HoldQueue",
    "NodeAdmission",
    "Parked",
    "Relayable",
    "Standalone",
]

Address = tuple[str, int]


class Parked(Protocol):
    """A transport holding a command that did not run (a RESP or HTTP connection)."""

    def resume_pending(self) -> None:
        """Run the held command now (it goes through admission again)."""

    def forward(self, forward: Forward) -> None:
        """The held command must run on the leader instead (after a handoff)."""


class Relayable(Protocol):
    """What the forwarding proxy needs of a RESP transport whose commands it relays."""

    @property
    def client(self) -> Client | None: ...

    @property
    def addr(self) -> str: ...

    def take_commands(self) -> list[list[bytes]]:
        """The held command and every complete one buffered after it (nothing runs here
        any more)."""

    def forwarded(self, replies: bytes) -> None:
        """The leader's replies: write them, then close."""


class HoldQueue:
    """Transports parked until a pause ends, in arrival order (a dict keeps the order)."""

    __slots__ = ("_parked",)

    def __init__(self) -> None:
        self._parked: dict[Parked, None] = {}

    def add(self, parked: Parked) -> None:
        self._parked[parked] = None

    def discard(self, parked: Parked) -> None:
        self._parked.pop(parked, None)

    def __len__(self) -> int:
        return len(self._parked)

    def release(self, forward: Forward | None = None) -> int:
        """Let every parked transport go: run here, or ``forward`` to the leader."""
        parked, self._parked = self._parked, {}
        for transport in parked:
            if forward is None:
                transport.resume_pending()
            else:
                transport.forward(forward)
        return len(parked)


@dataclass(frozen=True, slots=True)
class Hold:
    """The command did not run: park it in ``queue`` until the queue releases it."""

    queue: HoldQueue
    reason: str


@dataclass(frozen=True, slots=True)
class Forward:
    """The command did not run: relay it (and what follows it) to ``leader``.

    ``relay(transport, leader)`` is the node's forwarding proxy; the RESP
    connection hands itself to it, the HTTP endpoint answers with the address.
    """

    leader: Address
    relay: Callable[[Relayable, Address], None]


class NodeAdmission(Protocol):
    """The node's part of admission: roles, handoff and fencing (``server/cluster.py``).

    ``writes``/``data`` are the command's (for EXEC: its queued commands') flags:
    it writes, or it reads or writes the data. ``queued``: inside MULTI, the
    command is about to be queued, not run.
    """

    def route(
        self, client: Client, spec: CommandSpec, writes: bool, data: bool, queued: bool
    ) -> CommandError | Forward | None:
        """Where Redis redirects a cluster client: forward, or refuse reads a follower
        cannot prove fresh."""

    def hold(self, client: Client, spec: CommandSpec, writes: bool, data: bool) -> Hold | None:
        """Where Redis postpones a paused client: park writes during a handoff."""

    def executed(self, client: Client, spec: CommandSpec, changed: bool) -> None:
        """After a routed command ran (``changed``: it replicated something)."""

    def reveals_data(self, client: Client, spec: CommandSpec) -> bool:
        """Must the reply wait for the commit barrier (it may reveal written data)?"""


class Standalone:
    """A node without a coordination layer: nothing is routed, held or fenced."""

    def route(
        self, client: Client, spec: CommandSpec, writes: bool, data: bool, queued: bool
    ) -> CommandError | Forward | None:
        return None

    def hold(self, client: Client, spec: CommandSpec, writes: bool, data: bool) -> Hold | None:
        return None

    def executed(self, client: Client, spec: CommandSpec, changed: bool) -> None:
        return None

    def reveals_data(self, client: Client, spec: CommandSpec) -> bool:
        return True  # every reply waits for the writes before it
