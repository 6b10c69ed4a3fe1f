"""A node's replication: its role, the API the coordination layer drives, and the commands.

:class:`Replication` is the one object the server creates. It owns the node's
replication history and backlog, the leader side (:mod:`.leader`) while the
node leads and the link to the leader (:mod:`.follower`) while it follows, and
it keeps the engine's switches in agreement with the role:

==================================  =================  ==========================
engine switch                       leader             follower
==================================  =================  ==========================
``engine.replicate``                the leader side    None
``engine.read_only``                False              ``replica-read-only``
``engine.keyspace.expire_keys``     True               False (the leader's DEL)
``engine.command_gate``             NOREPLICAS         LOADING, MASTERDOWN
==================================  =================  ==========================

It holds the state and changes roles; each other concern is a collaborator it
composes, which gets the few long-lived objects it uses (engine, settings, the
role machine, the history) and reads what comes and goes with the role (leader
side, link, backlog) through a small ``Protocol`` this class satisfies:

* :mod:`.role`: the role as one state machine (:class:`~.role.RoleMachine`);
* :mod:`.command_gate`: what the role refuses before a command runs;
* :mod:`.views`: the ROLE reply, INFO replication and :meth:`Replication.status`;
* :mod:`.commands`: REPLICAOF, REPLCONF, PSYNC, WAIT (the methods of the same
  name here are the engine's ``ReplicationControl`` and delegate to it);
* :mod:`.follower_side`: what the link to the leader reports to; full syncs and
  applying the stream.

API for the coordination layer (all on the event loop):

* :meth:`become_leader` ``(epoch, isr=())`` and :meth:`follow` ``(host, port, epoch)``
  set the role; :meth:`step_down` stops leading without a leader to follow yet.
* :attr:`confirm_isr_shrink`: ``async (IsrShrink) -> None``, awaited before a
  follower leaves the ISR (raise to refuse; the follower then stays and writes
  wait). By default it returns at once.
* :attr:`isr_listeners`: called with an :class:`IsrChange` after every change
  of the ISR (joins need no confirmation: a follower is only *electable* once
  the coordination layer recorded it, and it holds every acknowledged write
  from the moment it joined).
* :meth:`status` gives offsets, ids, the ISR and the followers.

Redis-style use needs none of it: ``replicaof`` in the configuration, or the
``REPLICAOF`` command, set the role (see :mod:`respcache.commands.replication`).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from respcache.commands.client import Client
from respcache.log import set_role as set_log_role
from respcache.replication.backlog import Backlog, History
from respcache.replication.command_gate import CommandGate
from respcache.replication.commands import ReplicationCommands
from respcache.replication.follower import FollowerLink
from respcache.replication.follower_side import DurableLog, FollowerSide
from respcache.replication.leader import (
    NOT_COMMITTED,
    ConfirmShrink,
    Gate,
    LeaderSide,
    confirm_at_once,
)
from respcache.replication.role import NodeState, RoleEvent, RoleMachine
from respcache.replication.views import ReplicationStatus, ReplicationViews

if TYPE_CHECKING:
    from respcache.commands.engine import Engine
    from respcache.config import Config

log = logging.getLogger("respcache.replication")

__all__ = ["IsrChange", "Replication", "ReplicationStatus"]

T = TypeVar("T")
STEPPED_DOWN = b"-READONLY You can't write against a read only replica.\r\n"


@dataclass(frozen=True)
class IsrChange:
    """The ISR after a change, for the coordination layer."""

    isr: frozenset[str]
    epoch: int
    run_ids: dict[str, str] = field(default_factory=dict)
    """Run id each follower announced (``REPLCONF run-id``), when it did."""


def _notify(listeners: list[Callable[[T], None]], value: T, what: str) -> None:
    """Call every listener; one that raises is logged and does not stop the others."""
    for listener in listeners:
        try:
            listener(value)
        except Exception:
            log.exception("%s listener failed", what)


class Replication:
    """The node's replication role and state; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        gate: Gate,
        config: Config,
        *,
        listening_port: Callable[[], int] = lambda: 0,
        tls: Callable[[], ssl.SSLContext | None] = lambda: None,
        disk: DurableLog | None = None,
    ) -> None:
        self.engine = engine
        self.gate = gate
        self.config = config
        self.tls = tls
        """The client TLS context of the link to the leader (``tls-replication``), or None."""
        self.history = History.fresh()
        self.backlog: Backlog | None = None
        self._role = RoleMachine()
        """The role, fenced, loading, armed and managed: one state machine (:mod:`.role`)."""
        self.epoch = 0
        self.data_epoch = 0
        """The epoch of the stream that produced our data (led, or followed once synced):
        recorded with the data on disk, it orders the candidates of a recovery."""
        self.leader: LeaderSide | None = None
        self.link: FollowerLink | None = None
        self.master: tuple[str, int] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.confirm_isr_shrink: ConfirmShrink = confirm_at_once
        self.isr_listeners: list[Callable[[IsrChange], None]] = []
        self.role_listeners: list[Callable[[str], None]] = []
        self.node_id = ""
        """This node's id as the coordination layer knows it (announced to the leader)."""
        self.run_id = ""
        self.announce_ip = ""
        self.failover_state = "no-failover"
        """INFO's ``master_failover_state`` (set by the server's FAILOVER orchestration)."""
        self._run_ids: dict[str, str] = {}
        self._recovered = False
        """The history came from disk and was not continued since: leading shifts it."""
        self.command_gate = CommandGate(engine, config, self._role, self)
        """Refuses commands the role forbids (READONLY, NOREPLICAS, MASTERDOWN, LOADING)."""
        self.views = ReplicationViews(config, self._role, self.history, self.command_gate, self)
        """ROLE, INFO replication and :meth:`status`."""
        self.follower_side = FollowerSide(
            engine,
            config,
            self._role,
            self.history,
            self.command_gate,
            self,
            listening_port=listening_port,
            disk=disk,
        )
        """What the link to the leader reports to, and applies the stream (:mod:`.follower_side`)."""
        self.commands = ReplicationCommands(engine, self._role, self.history, self, self._run_ids)
        """REPLICAOF, REPLCONF, PSYNC, WAIT (:mod:`.commands`), behind the methods of the same name."""
        engine.role_provider = self.views.role_reply
        engine.info_providers["replication"] = self.views.info_lines
        engine.replication = self
        engine.disconnect_hooks.append(self._client_gone)
        config.on_change("replica-read-only", self.command_gate.config_changed)
        config.on_change("replica-serve-stale-data", self.command_gate.config_changed)
        config.on_change("min-insync-replicas", self.command_gate.config_changed)
        config.on_change("min-replicas-to-write", self.command_gate.config_changed)
        config.on_change("repl-backlog-size", self._backlog_size_changed)
        config.on_change("maxmemory", self._maxmemory_changed)

    # --- the role (read-only views of the state machine) -------------------------------------

    @property
    def state(self) -> NodeState:
        return self._role.state

    @property
    def role(self) -> str:
        """``master`` or ``slave``, as Redis's ``masterhost`` says (fenced: ``master``)."""
        return self._role.role

    @property
    def fenced(self) -> bool:
        """Stepped down with no leader to follow yet: writes refused."""
        return self._role.fenced

    @property
    def armed(self) -> bool:
        """min-insync-replicas applies (see docs/replication.md, "Standalone")."""
        return self._role.armed

    @property
    def managed(self) -> bool:
        """Roles come from the coordination layer: REPLICAOF is refused."""
        return self._role.managed

    @managed.setter
    def managed(self, value: bool) -> None:
        self._role.managed = value

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called by the server once listening: follow ``replicaof`` if configured."""
        self.loop = loop
        target = self.config.replicaof
        if target is not None:
            self.follow(target[0], target[1])
        self.command_gate.update()

    def shutdown(self) -> None:
        if self.leader is not None:
            self.leader.flush()
            self.leader.close()
        if self.link is not None:
            self.link.stop()
            self.link = None

    def _client_gone(self, client: Client) -> None:
        self.commands.forget(client)
        leader = self.leader
        if leader is not None:
            link = leader.links.get(client.id)
            if link is not None:
                leader.gone(link)

    # --- roles (the coordination API) -------------------------------------------------------

    def become_leader(self, epoch: int = 0, isr: Iterable[str] = (), *, arm: bool = True) -> None:
        """Lead (at ``epoch``). ``isr``: followers every write needs until they are removed.

        A follower is promoted keeping its data; its history continues under a new
        replication id and the old one stays valid up to the current offset, so
        the other followers continue with a partial resync (PSYNC2).
        ``arm``: min-insync-replicas applies from now on (the coordination layer's
        leaders); ``REPLICAOF NO ONE`` does not arm, the first follower to sync does.
        """
        was = self.role
        fresh = was == "slave" or self.fenced
        self.epoch = max(self.epoch, epoch)
        if was == "slave" or self._recovered:
            # A new history: a node holding more of the old one (a tail never
            # acknowledged) must not continue it with us (PSYNC2's shift).
            self._recovered = False
            if was == "slave":
                self._stop_following()
            offset = self.offset()
            self.history.shift(offset)
            log.info(
                "MASTER MODE enabled (epoch %d); new replication id %s, previous %s valid "
                "up to offset %d",
                self.epoch,
                self.history.replid,
                self.history.replid2,
                offset,
            )
        self._role.apply(RoleEvent.LEAD)
        self.master = None
        set_log_role("M")
        self.engine.read_only = False
        self.engine.keyspace.expire_keys = True
        self.engine.keyspace.maxmemory = self.config.maxmemory
        leader = self.ensure_leader()
        if arm:
            self.arm()
        leader.begin_term(self.epoch, frozenset(isr) - {self.node_id, ""}, fresh)
        self.data_epoch = self.epoch
        self.command_gate.update()
        if was != "master":
            _notify(self.role_listeners, self.role, "role")

    def follow(self, host: str, port: int, epoch: int = 0) -> None:
        """Replicate from ``host:port`` (a leader at ``epoch``), keeping our data until synced."""
        if epoch:
            self.epoch = max(self.epoch, epoch)
        if (
            self.role == "slave"
            and self.master == (host, port)
            and self.link is not None
            and (not epoch or epoch == self.epoch)
        ):
            return
        was = self.role
        if was == "master":
            self._stop_leading(NOT_COMMITTED)
        self._stop_following(keep_client=True)
        self._role.apply(RoleEvent.FOLLOW)
        self.master = (host, port)
        set_log_role("S")
        self.engine.read_only = self.config.replica_read_only
        self.engine.keyspace.expire_keys = False
        self.engine.keyspace.maxmemory = 0  # followers never evict: the leader's DELs do
        if self.backlog is None:
            self.backlog = Backlog(self.config.repl_backlog_size, 0)
        self.gate.reset(self.backlog.offset)
        self.follower_side.attach_client()
        log.info("Connecting to MASTER %s:%d (epoch %d)", host, port, self.epoch)
        if self.loop is not None:
            link = self.link = FollowerLink(
                self.follower_side,
                host,
                port,
                self.loop,
                lambda: float(self.config.repl_timeout),
                self.tls,
            )
            link.start()
        self.command_gate.update()
        if was != "slave":
            _notify(self.role_listeners, self.role, "role")

    def recover(self, replid: str, offset: int, epoch: int) -> None:
        """At startup, before any role: the history the data loaded from disk belongs to.

        The node continues that history (``replid`` up to ``offset``, produced at
        ``epoch``), as Redis does with an RDB's ``repl-id``/``repl-offset``: a
        leader of the same history can continue it with a partial resync.
        """
        self.history.replid = replid
        self.history.clear_previous()
        self._recovered = True
        self.backlog = Backlog(self.config.repl_backlog_size, offset)
        self.epoch = max(self.epoch, epoch)
        self.data_epoch = epoch
        self.gate.reset(offset)
        log.info(
            "Recovered replication history %s up to offset %d (epoch %d) from disk",
            replid,
            offset,
            epoch,
        )

    def data_claim(self) -> tuple[str, int, int] | None:
        """``(replid, offset, epoch)`` of the data held now; None while a full sync is
        half done, or with no data from any history yet."""
        if self._role.loading:
            return None
        offset = self.offset()
        if offset == 0 and self.data_epoch == 0:
            return None
        return self.history.replid, offset, self.data_epoch

    def step_down(self, reason: str = "") -> None:
        """Stop leading now, with no leader to follow yet: held writes fail, writes are refused.

        Replies that would reveal unacknowledged writes stay held (they fail
        when the node follows a leader or leads again): no dirty reads.
        """
        if self.role != "master" or self.fenced:
            return
        log.warning("Stepping down: %s", reason or "requested")
        self._stop_leading(NOT_COMMITTED, reset=False)
        self._role.apply(RoleEvent.STEP_DOWN)
        self.engine.read_only = True
        self.engine.keyspace.expire_keys = False
        self.engine.keyspace.maxmemory = 0
        self.command_gate.update()
        _notify(self.role_listeners, self.role, "role")

    def _stop_leading(self, message: bytes, reset: bool = True) -> None:
        leader = self.leader
        if leader is not None:
            leader.flush()
            leader.close()
            self.leader = None
        if self.gate.barrier > self.gate.committed:
            self.gate.fail(message)
        self.engine.replicate = None
        if reset:
            self.gate.reset(self.offset())

    def _stop_following(self, keep_client: bool = False) -> None:
        """Close the link. ``keep_client``: switching leaders, the stream continues."""
        if self.link is not None:
            self.link.stop()
            self.link = None
        self.follower_side.stop(keep_client)

    def ensure_leader(self) -> LeaderSide:
        leader = self.leader
        if leader is None:
            if self.backlog is None:
                self.backlog = Backlog(self.config.repl_backlog_size, 0)
            assert self.loop is not None, "replication used before start()"
            leader = self.leader = LeaderSide(
                engine=self.engine,
                gate=self.gate,
                config=self.config,
                history=self.history,
                backlog=self.backlog,
                loop=self.loop,
                epoch=self.epoch,
                events=self,
            )
            leader.armed = self.armed
            self.engine.replicate = leader.propagate
        return leader

    def synced(self) -> None:
        """The follower side synced with the leader: the data continues its history."""
        self.data_epoch = self.epoch
        self._recovered = False

    # --- LeaderEvents -------------------------------------------------------------------------

    def followers_changed(self) -> None:
        self.command_gate.refresh_good_replicas()
        self.command_gate.update()

    def isr_changed(self, isr: frozenset[str]) -> None:
        self.command_gate.update()
        change = IsrChange(
            isr, self.epoch, {f: self._run_ids[f] for f in isr if f in self._run_ids}
        )
        _notify(self.isr_listeners, change, "ISR")

    def arm(self) -> None:
        """From now on min-insync-replicas applies to this leader."""
        if not self.armed:
            self._role.armed = True
            log.info(
                "Replication armed: writes need %d in-sync replica(s)",
                self.command_gate.min_insync(),
            )
        if self.leader is not None:
            self.leader.armed = True
        self.command_gate.update()

    def stepped_down(self) -> bool:
        return self.role != "master" or self.fenced

    def read_fence(self) -> None:
        """Linearizable reads: hold the replies from now on until the ISR confirmed us.

        See :meth:`LeaderSide.read_fence`; nothing happens unless this node leads.
        """
        if self.leader is not None and self.role == "master" and not self.fenced:
            self.leader.read_fence()

    # --- offsets ------------------------------------------------------------------------------

    def offset(self) -> int:
        if self.leader is not None:
            return self.leader.offset
        return self.backlog.offset if self.backlog is not None else 0

    def status(self) -> ReplicationStatus:
        return self.views.status()

    # --- the commands' entry points ---------------------------------------------------------

    def replicaof(self, target: tuple[str, int] | None, client: Client | None = None) -> str:
        return self.commands.replicaof(target, client)

    def replconf(self, client: Client, argv: list[bytes]) -> bool:
        return self.commands.replconf(client, argv)

    def psync(self, client: Client, replid: str, offset: int, legacy: bool = False) -> None:
        self.commands.psync(client, replid, offset, legacy)

    def wait(self, client: Client, numreplicas: int, timeout_ms: int) -> int | None:
        return self.commands.wait(client, numreplicas, timeout_ms)

    def change_replication_id(self) -> None:
        self.commands.change_replication_id()

    # --- ROLE and INFO (:mod:`.views`) ------------------------------------------------------

    def public_role(self) -> str:
        """``master``, ``slave``, or ``none`` for a managed node not decided (:mod:`.role`)."""
        return self._role.public_role()

    def role_reply(self) -> Any:
        return self.views.role_reply()

    def info_lines(self) -> list[str]:
        return self.views.info_lines()

    # --- settings ------------------------------------------------------------------------------

    def _maxmemory_changed(self, value: object) -> None:
        if self.role == "slave" or self.fenced:
            self.engine.keyspace.maxmemory = 0  # runs after the server's own callback

    def _backlog_size_changed(self, value: object) -> None:
        if self.backlog is not None:
            if self.leader is not None:
                self.leader.flush()
            self.backlog.resize(int(value))  # type: ignore[call-overload]

    # --- cron ------------------------------------------------------------------------------------

    def cron(self) -> None:
        now = time.monotonic()
        if self.leader is not None:
            self.leader.cron(now)
            self.command_gate.cron()
        if self.link is not None:
            self.link.cron(now)
