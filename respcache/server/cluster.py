"""ZooKeeper decides the roles: the glue between the coordinator, replication and clients.

:class:`ClusterNode` exists when ``zookeeper`` is set. It

* creates the :class:`~respcache.coordination.Coordinator` from the server's
  ``Config`` and turns its events into replication roles (``BecameLeader`` →
  lead at that epoch with that ISR, ``Follow`` → replicate from that address,
  ``StepDown`` → stop acknowledging at once: held replies fail through the
  commit gate, writes get ``-READONLY``);
* keeps ZooKeeper's ISR a subset of the leader's: a lagging follower is removed
  in ZooKeeper before any write is acknowledged without it
  (``Replication.confirm_isr_shrink``), a caught-up follower is added back
  (``isr_listeners`` and a retry in the cron);
* decides, before each command runs, what a client may do
  (:meth:`ClusterNode.admit`): writes held during a planned handoff, reads
  refused on a node that does not lead when ``read-consistency`` is
  ``linearizable``, and reads on the leader held until the in-sync followers
  proved they still follow this epoch (:meth:`Replication.read_fence`);
* answers the Sentinel subset from ZooKeeper's state and publishes
  ``+switch-master`` when the leader changes;
* runs ``FAILOVER`` and the handoff on SIGTERM.

Each concern is a collaborator in :mod:`respcache.server.node` (admission,
handoff, forward, isr, sentinel); :class:`ClusterNode` only wires them to the
server's engine, replication, gate and config, and turns the coordinator's
events into roles. See docs/coordination.md ("Wiring", "Fencing", "Reads",
"Planned handoff").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Final

from respcache.commands import failover as failover_cmd
from respcache.coordination import (
    BecameLeader,
    CoordinationConfig,
    CoordinationError,
    Coordinator,
    Event,
    Follow,
    StepDown,
)
from respcache.coordination.config import ZkTls
from respcache.coordination.state import Recovery
from respcache.errors import CommandError, ConfigError
from respcache.persistence.aof import MARK_EPOCH_AUX
from respcache.server.node.admission import NOT_LEADER_READ, REVEALS_FUNCTIONS, ClusterAdmission
from respcache.server.node.forward import LeaderForwarder
from respcache.server.node.forward import read_replies as _read_replies
from respcache.server.node.handoff import Handoff
from respcache.server.node.handoff import split_address as _split_address
from respcache.server.node.isr import IsrSync
from respcache.server.node.sentinel import SWITCH_MASTER_CHANNEL, LeaderWatch, SentinelReport

if TYPE_CHECKING:
    from respcache.commands.sentinel import SentinelView
    from respcache.config import Config
    from respcache.server.app import Server

log = logging.getLogger("respcache.cluster")

__all__ = [
    "NOT_LEADER_READ",
    "NO_LEADER",
    "REVEALS_FUNCTIONS",
    "SWITCH_MASTER_CHANNEL",
    "ClusterNode",
    "_read_replies",
    "_split_address",
    "zk_tls",
]

NO_LEADER: Final = "READONLY No leader is elected yet: "
"""The start of the refusal on a node with no leader to follow; the reason follows
(docs/operations.md). READONLY, as for any write to a non-leader: client libraries
that look for the leader on READONLY keep doing so."""

UNBLOCKED_DEMOTED: Final = (
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
)
"""Redis 7.0's reply to clients blocked on a master that becomes a replica (then it
closes their connections)."""

EPOCH_AUX: Final = MARK_EPOCH_AUX  # (an AOF records it too)
"""The RDB aux field holding the epoch of the data (beside Redis's repl-id, repl-offset)."""
_MEMBERS_REFRESH = 1.0
_REEVALUATE = 1.0
"""Seconds between two looks at the election while this node neither leads nor
streams from a leader (a leader that died while nobody could take over changes
nothing in ZooKeeper that would wake a follower watching only its predecessor)."""


class ClusterNode:
    """One node's membership of a ZooKeeper-led cluster (created by the server).

    The wiring: it creates the collaborators, registers them with the engine
    (admission, FAILOVER, the Sentinel view, INFO) and the replication layer (the
    ISR hooks), and handles the coordinator's events and the cron.
    """

    def __init__(self, server: Server) -> None:
        config = server.config
        if config.replicaof is not None:
            raise ConfigError("replicaof and zookeeper cannot be used together")
        self.server = server
        self.config = config
        self.engine = engine = server.engine
        self.replication = rep = server.replication
        self.gate = server.gate
        self.coordinator: Coordinator | None = None
        self.node_id = ""
        self.address: tuple[str, int] = ("", 0)
        self._members_task: asyncio.Task[None] | None = None
        self._members_next = 0.0
        self._reevaluate_next = 0.0
        self._stopped = False

        coordinator = self._coordinator
        self.forwarder = LeaderForwarder(config, engine.discard_transaction, server.tls.outgoing)
        self.isr = IsrSync(rep, self, coordinator)
        self.handoff = Handoff(
            rep,
            server.gate,
            engine.keyspace,
            self,
            coordinator,
            self.isr.run_ids,
            self.forwarder.relay,
            self.forwarder.drain,
        )
        self.admission = ClusterAdmission(
            self,
            self.handoff,
            joined=lambda: self.coordinator is not None,
            dirty=lambda: engine.dirty,
            read_fence=rep.read_fence,
            linearizable=config.read_consistency == "linearizable",
            no_leader=self._no_leader,
        )
        self.leader_watch = LeaderWatch(engine, config.cluster_name)
        self.sentinel = SentinelReport(
            config.cluster_name, lambda: self.node_id, engine.run_id, rep.status, self, coordinator
        )

        rep.managed = True
        # No role until ZooKeeper says: writes are refused (READONLY) from the first command.
        rep.step_down("waiting for ZooKeeper to decide the roles")
        rep.confirm_isr_shrink = self.isr.confirm_shrink
        rep.isr_listeners.append(self.isr.on_isr_change)
        engine.node = self.admission
        engine.sentinel_view = self.sentinel_view
        engine.info_providers["coordination"] = self.info_lines
        failover_cmd.set_control(engine, self.handoff)
        config.on_change("read-consistency", self._read_consistency_changed)
        config.on_change("unclean-election", self._unclean_changed)
        server.cron_hooks.append(self.cron)
        server.busy_cron_hooks.append(self.cron)  # (no keyspace: membership, reconciling)
        # The epoch of the data goes to disk with it (a recovery compares it).
        engine.persistence.extra_aux = lambda: {EPOCH_AUX: self.replication.data_epoch}

    def _coordinator(self) -> Coordinator | None:
        return self.coordinator

    # --- lifecycle -----------------------------------------------------------------------
    def announce(self) -> tuple[str, int]:
        """The ``host:port`` clients and other nodes reach this node on."""
        cfg = self.config
        host = cfg.announce_host or next(
            (h.lstrip("-") for h in cfg.bind if h.lstrip("-") not in ("*", "0.0.0.0", "::")),
            "127.0.0.1",
        )
        return host, cfg.announce_port or self.server.listening_port()

    async def start(self) -> None:
        """Join the election (returns at once; ZooKeeper's answer comes as events)."""
        cfg = self.config
        self.address = host, port = self.announce()
        self.node_id = cfg.node_id or f"{host}:{port}"
        rep = self.replication
        rep.node_id = self.node_id
        rep.run_id = self.engine.run_id
        rep.announce_ip = host
        self.isr.start()
        coordination = CoordinationConfig(
            zookeeper=cfg.zookeeper,
            node_id=self.node_id,
            announce_host=host,
            announce_port=port,
            cluster=cfg.cluster_name,
            session_timeout_ms=cfg.zk_session_timeout,
            run_id=self.engine.run_id,
            auth=cfg.zk_auth or None,
            unclean_election=cfg.unclean_election,
            tls=zk_tls(cfg),
        )
        self._recover_from_disk()
        self.coordinator = Coordinator(
            coordination,
            self._on_event,
            offset=lambda: self.replication.status().offset,
            data=self._data,
            isr_followers=self._isr_followers,
        )
        log.info(
            "Joining cluster %r through ZooKeeper %s as %s (%s:%d)",
            cfg.cluster_name,
            cfg.zookeeper,
            self.node_id,
            host,
            port,
        )
        await self.coordinator.start()

    def _recover_from_disk(self) -> None:
        """The replication history of the data the persistence layer loaded at start.

        The loader leaves what the file recorded in ``last_load.aux``: Redis's
        ``repl-id`` and ``repl-offset``, and respcache's ``respcache-epoch``.
        """
        load = self.engine.persistence.last_load
        if load is None:
            log.info("No data loaded from disk: joining the cluster empty")
            return
        replid, offset = load.repl_id, load.repl_offset
        if replid is None or offset is None:
            log.warning(
                "The data loaded from disk records no replication history (no repl-id / "
                "repl-offset): it cannot count as in-sync data in a recovery"
            )
            return
        raw = load.aux.get(EPOCH_AUX, b"0")
        try:
            epoch = max(0, int(raw))
        except ValueError:
            epoch = 0
        self.replication.recover(replid, offset, epoch)

    def _data(self) -> Recovery | None:
        claim = self.replication.data_claim()
        return Recovery(*claim) if claim is not None else None

    def _isr_followers(self) -> int:
        leader = self.replication.leader
        return len(leader.isr.isr - {self.node_id}) if leader is not None else 0

    def _unclean_changed(self, value: object) -> None:
        coordinator = self.coordinator
        if coordinator is not None:
            coordinator.unclean_election = bool(value)
            log.warning("unclean-election set to %s", "yes" if value else "no")
            coordinator.wake()

    async def stop(self) -> None:
        """Leave the election (the election znode goes with the session)."""
        self._stopped = self.isr.stopped = self.handoff.stopped = True
        await self.handoff.stop()
        await self.isr.stop()
        task = self._members_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.handoff.resume_writes()
        if self.coordinator is not None:
            await self.coordinator.stop()

    async def shutdown_handoff(self) -> None:
        """SIGTERM / SHUTDOWN on the leader: hand leadership to a caught-up follower first."""
        await self.handoff.shutdown_handoff()

    # --- state ---------------------------------------------------------------------------

    @property
    def leader_address(self) -> tuple[str, int] | None:
        """The leader's address as last decided in ZooKeeper (None: not known yet)."""
        return self.leader_watch.address

    @property
    def failovers(self) -> int:
        """Times the leader moved, seen from this node (``/metrics``)."""
        return self.leader_watch.failovers

    @property
    def zk_connected(self) -> bool:
        coordinator = self.coordinator
        return coordinator is not None and coordinator.status.connected

    @property
    def leading(self) -> bool:
        rep = self.replication
        return rep.role == "master" and not rep.fenced

    @property
    def linearizable(self) -> bool:
        return self.admission.linearizable

    @property
    def writes_paused(self) -> bool:
        return self.handoff.writes_paused

    @writes_paused.setter
    def writes_paused(self, value: bool) -> None:
        self.handoff.writes_paused = value

    @property
    def reads_paused(self) -> bool:
        """While the handoff is being recorded in ZooKeeper, reads wait too."""
        return self.handoff.reads_paused

    def _pause_writes(self) -> None:
        self.handoff.pause_writes()

    def _resume_writes(self, new_leader: tuple[str, int] | None = None) -> None:
        self.handoff.resume_writes(new_leader)

    def _read_consistency_changed(self, value: object) -> None:
        self.admission.linearizable = value == "linearizable"

    # --- coordinator events ----------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        rep = self.replication
        if isinstance(event, BecameLeader):
            log.info("Elected leader at epoch %d (ISR %s)", event.epoch, list(event.isr))
            rep.become_leader(event.epoch, event.isr)
            self.leader_watch.leader_is(self.address)
            self.isr.retry_now()
        elif isinstance(event, Follow):
            host, port = _split_address(event.leader_address)
            rep.follow(host, port, event.epoch)
            self.leader_watch.leader_is((host, port))
        elif isinstance(event, StepDown):
            # Held replies fail through the commit gate (NOTCOMMITTED), writes are
            # refused; reads are refused too (this node cannot prove them fresh).
            rep.step_down(f"{event.reason} (epoch {event.epoch})")
            self._unblock_writers()

    def _unblock_writers(self) -> None:
        """Clients blocked in BLPOP & co. would pop on a replica: end them, as Redis does."""
        for client in list(self.engine.clients.values()):
            blocked = client.blocked
            if blocked is not None and blocked.spec is not None and blocked.spec.is_write:
                self.engine.unblock(client, CommandError(UNBLOCKED_DEMOTED))
                client.kill()

    # --- cron ---------------------------------------------------------------------------------

    def cron(self) -> None:
        if self._stopped:
            return
        self.isr.maybe_reconcile()
        coordinator = self.coordinator
        now = time.monotonic()
        if (
            coordinator is not None
            and coordinator.status.connected
            and now >= self._members_next
            and (self._members_task is None or self._members_task.done())
        ):
            # Nobody is woken when a node joins (no herd): refresh the member list
            # the Sentinel replies describe.
            self._members_next = now + _MEMBERS_REFRESH
            self._members_task = asyncio.create_task(self._refresh_members())
        link = self.replication.link
        if (
            coordinator is not None
            and coordinator.status.connected
            and not self.leading
            and not (link is not None and link.up)
            and now >= self._reevaluate_next
        ):
            self._reevaluate_next = now + _REEVALUATE
            coordinator.wake()

    async def _refresh_members(self) -> None:
        coordinator = self.coordinator
        if coordinator is not None:
            with contextlib.suppress(CoordinationError):
                await coordinator.fetch_members()

    def _no_leader(self, writes: bool) -> CommandError | None:
        """A node with no leader to follow (stepped down, waiting for a recovery): writes
        (and linearizable reads) get READONLY with the reason, INFO coordination's
        ``last_decision`` (e.g. which node a recovery waits for)."""
        rep = self.replication
        coordinator = self.coordinator
        status = coordinator.status if coordinator is not None else None
        stepped_down = rep.role == "master" and rep.fenced
        if not stepped_down and not (status is not None and status.leaderless):
            return None
        if not writes and not (self.admission.linearizable and coordinator is not None):
            return None
        reason = status.reason if status is not None else ""
        reason = " ".join(reason.split()) or "waiting for ZooKeeper to decide the roles"
        return CommandError(f"{NO_LEADER}{reason}")

    # --- Sentinel and INFO -----------------------------------------------------------------------

    def sentinel_view(self) -> SentinelView:
        """The cluster as Sentinel describes it: from ZooKeeper's state and the members."""
        return self.sentinel.view()

    def info_lines(self) -> list[str]:
        coordinator = self.coordinator
        status = coordinator.status if coordinator is not None else None
        state = coordinator.current_state() if coordinator is not None else None
        return [
            f"node_id:{self.node_id}",
            f"zk_connected:{int(bool(status and status.connected))}",
            f"coordination_role:{status.role.value if status else 'none'}",
            f"coordination_epoch:{status.epoch if status else 0}",
            f"leader_id:{state.leader if state else ''}",
            f"leader_address:{state.leader_address if state else ''}",
            f"cluster_epoch:{state.epoch if state else 0}",
            f"zk_isr:{','.join(state.isr) if state else ''}",
            f"data_epoch:{self.replication.data_epoch}",
            f"read_consistency:{self.config.read_consistency}",
            f"writes_paused:{int(self.handoff.writes_paused)}",
            f"held_writes:{len(self.handoff.held)}",
            f"last_decision:{status.reason if status else ''}",
        ]


def zk_tls(cfg: Config) -> ZkTls | None:
    """The ZooKeeper TLS options (``zk-tls*``), falling back on the node's own TLS files."""
    if not cfg.zk_tls:
        return None
    if cfg.zk_tls_cert_file:
        cert, key, password = cfg.zk_tls_cert_file, cfg.zk_tls_key_file, cfg.zk_tls_key_file_pass
    elif cfg.tls_client_cert_file:
        cert, key = cfg.tls_client_cert_file, cfg.tls_client_key_file
        password = cfg.tls_client_key_file_pass
    else:
        cert, key, password = cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_key_file_pass
    return ZkTls(
        ca=cfg.zk_tls_ca_file or cfg.tls_ca_cert_file or None,
        certfile=cert or None,
        keyfile=key or cert or None,
        keyfile_password=password or None,
        verify=cfg.zk_tls_verify,
    )
