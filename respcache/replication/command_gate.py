"""The pre-execution gate: which commands a node refuses because of its role.

The engine asks ``engine.command_gate`` before it runs a command, and only
while the slot is set, so the common case (a leader with enough replicas)
pays nothing. :class:`CommandGate` decides both: whether the slot is set
(:meth:`CommandGate.update`, called after every change of the role, the link,
the ISR or the settings) and what it answers (:meth:`CommandGate.check`):

* a fenced leader refuses writes with ``READONLY``; a leader with fewer
  in-sync replicas than ``min-insync-replicas`` (once armed), or fewer good
  replicas than ``min-replicas-to-write``, with ``NOREPLICAS``;
* a follower refuses writes with ``READONLY`` (``replica-read-only``), every
  command but ``stale`` ones with ``MASTERDOWN`` while the link is down and
  ``replica-serve-stale-data`` is off, and all but ``loading`` ones with
  ``LOADING`` during a full sync.

These are Redis's checks in ``processCommand`` (``server.c``), in its order.
The gate reads the role from the node's :class:`~.role.RoleMachine` and the
leader side and link from the node (they come and go with the role), typed as
the small :class:`GateNode` protocol, so it is tested without a server.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from respcache.commands.client import Client
from respcache.errors import NOREPLICAS, READONLY, CommandError
from respcache.replication.role import RoleMachine

if TYPE_CHECKING:
    from respcache.commands.engine import Engine
    from respcache.commands.registry import CommandSpec
    from respcache.config import Config
    from respcache.replication.follower import FollowerLink
    from respcache.replication.leader import LeaderSide

__all__ = ["LOADING", "MASTERDOWN", "CommandGate", "GateNode"]

LOADING = "LOADING Redis is loading the dataset in memory"
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."


class GateNode(Protocol):
    """What the gate reads of the node: the pieces that exist only in some roles."""

    @property
    def leader(self) -> LeaderSide | None: ...

    @property
    def link(self) -> FollowerLink | None: ...


class CommandGate:
    """Keeps ``engine.command_gate`` set exactly while something must be refused."""

    def __init__(self, engine: Engine, config: Config, roles: RoleMachine, node: GateNode) -> None:
        self.engine = engine
        self.config = config
        self.roles = roles
        self.node = node
        self.good_replicas = 0
        """Replicas online that acknowledged within ``min-replicas-max-lag`` (INFO's
        ``min_slaves_good_slaves``), as of the last :meth:`refresh_good_replicas`."""

    def min_insync(self) -> int:
        return int(self.config.min_insync_replicas)

    def noreplicas(self) -> bool:
        """A leader without the replicas its writes need (``NOREPLICAS``)."""
        if self.roles.role != "master":
            return False
        if self.roles.armed:
            leader = self.node.leader
            size = len(leader.isr.confirmed_isr) if leader is not None else 0
            if size < self.min_insync():
                return True
        need = self.config.min_replicas_to_write
        return bool(need) and self.good_replicas < need

    def refresh_good_replicas(self) -> None:
        leader = self.node.leader
        if leader is None:
            self.good_replicas = 0
            return
        now = time.monotonic()
        max_lag = self.config.min_replicas_max_lag
        good = 0
        for link in leader.links.values():
            state = leader.isr.followers.get(link.fid)
            if link.state == "online" and state is not None and now - state.last_ack <= max_lag:
                good += 1
        self.good_replicas = good

    def update(self) -> None:
        """Install the pre-execution gate only while something must be refused."""
        roles = self.roles
        active = False
        if roles.role == "master":
            active = roles.fenced or self.noreplicas()
        else:
            link = self.node.link
            link_up = link is not None and link.up
            active = (
                roles.loading
                or self.engine.read_only
                or (not link_up and not self.config.replica_serve_stale_data)
            )
        self.engine.command_gate = self.check if active else None

    def check(self, client: Client, spec: CommandSpec, writes: bool) -> CommandError | None:
        """The engine's replication gate step (``writes``: EXEC counts its queued commands)."""
        roles = self.roles
        if roles.role == "master":
            if writes:
                if roles.fenced:
                    return CommandError(READONLY)
                if self.noreplicas():
                    return CommandError(NOREPLICAS)
            return None
        if writes and self.engine.read_only:
            return CommandError(READONLY)
        stale_ok = "stale" in spec.flags
        queue = client.multi
        if spec.name == "exec" and queue is not None:  # as Redis: the queued commands' flags
            stale_ok = all("stale" in queued.flags for queued, _ in queue)  # type: ignore[attr-defined]
        link = self.node.link
        if (
            not self.config.replica_serve_stale_data
            and not stale_ok
            and not (link is not None and link.up)
        ):
            return CommandError(MASTERDOWN)
        if roles.loading and not spec.allowed_while_loading:
            return CommandError(LOADING)
        return None

    def config_changed(self, value: object) -> None:
        """``replica-read-only``, ``replica-serve-stale-data``, ``min-*`` changed."""
        if self.roles.role == "slave":
            self.engine.read_only = self.config.replica_read_only
        self.refresh_good_replicas()
        self.update()

    def cron(self) -> None:
        """A leader's good replicas age (``min-replicas-max-lag``): recount them."""
        if self.config.min_replicas_to_write:
            before = self.good_replicas
            self.refresh_good_replicas()
            if before != self.good_replicas:
                self.update()
