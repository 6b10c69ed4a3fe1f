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

See docs/coordination.md ("Wiring", "Fencing", "Reads", "Planned handoff").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Final

import hiredis

from respcache.commands import failover as failover_cmd
from respcache.commands.admission import Forward, Hold, HoldQueue, Relayable
from respcache.commands.pubsub import pubsub_of
from respcache.commands.sentinel import NodeView, SentinelView, switch_master_message
from respcache.coordination import (
    BecameLeader,
    CoordinationConfig,
    CoordinationError,
    Coordinator,
    Event,
    Follow,
    NotLeaderError,
    StepDown,
)
from respcache.coordination.config import ZkTls
from respcache.coordination.state import Recovery
from respcache.errors import READONLY, CommandError, ConfigError
from respcache.persistence.aof import MARK_EPOCH_AUX
from respcache.protocol.encoder import encode
from respcache.replication import NOT_COMMITTED, IsrChange, IsrShrink
from respcache.replication.framing import encode_command

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.commands.registry import CommandSpec
    from respcache.config import Config
    from respcache.server.app import Server

log = logging.getLogger("respcache.cluster")

__all__ = ["NOT_LEADER_READ", "NO_LEADER", "ClusterNode"]

NOT_LEADER_READ: Final = (
    "READONLY This node is not the leader and read-consistency is linearizable: "
    "read from the leader."
)
"""Reads refused on a node that does not lead. The READONLY code makes redis-py's
Sentinel client drop the connection and ask the Sentinels for the leader, as it
does for a write to a demoted master."""

NO_LEADER: Final = "READONLY No leader is elected yet: "
"""The start of the refusal on a node with no leader to follow; the reason follows
(docs/operations.md). READONLY, as for any write to a non-leader: client libraries
that look for the leader on READONLY keep doing so."""

UNBLOCKED_DEMOTED: Final = (
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
)
"""Redis 7.0's reply to clients blocked on a master that becomes a replica (then it
closes their connections)."""

SWITCH_MASTER_CHANNEL: Final = b"+switch-master"
REVEALS_FUNCTIONS: Final = frozenset({"function|list", "function|dump"})
"""Replicated state (the function libraries) read by commands flagged neither readonly
nor write: their replies wait for the commit barrier too, or a FUNCTION LOAD would be
visible before the followers have it."""
EPOCH_AUX: Final = MARK_EPOCH_AUX  # (an AOF records it too)
"""The RDB aux field holding the epoch of the data (beside Redis's repl-id, repl-offset)."""
_ISR_RETRY = 0.25
_MEMBERS_REFRESH = 1.0
_REEVALUATE = 1.0
"""Seconds between two looks at the election while this node neither leads nor
streams from a leader (a leader that died while nobody could take over changes
nothing in ZooKeeper that would wake a follower watching only its predecessor)."""
_SYNC_POLL = 0.005
_SHUTDOWN_HANDOFF = 3.0
"""Seconds a SIGTERM'd leader spends handing off (the server gives it 5)."""
_SHUTDOWN_GRACE = 1.0
"""After handing off on SIGTERM: seconds still listening (and forwarding) before closing."""
_FORWARD_TIMEOUT = 1.5
_REDIRECT_WINDOW = 5.0
"""For this long after a handoff, the first data command of each client connection
is forwarded to the new leader (then the connection closes)."""


async def _read_replies(reader: asyncio.StreamReader, count: int) -> tuple[bytes, list[object]]:
    """Read exactly ``count`` complete replies: their raw bytes and hiredis's parse.

    The raw bytes are relayed as the leader wrote them (hiredis's objects lose
    RESP types: a status and a bulk string both become ``bytes``).
    """
    parser = hiredis.Reader(notEnoughData=_MORE, replyError=CommandError)
    raw = bytearray()
    replies: list[object] = []
    while len(replies) < count:
        reply = parser.gets()
        if reply is _MORE:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError("the leader closed the connection")
            raw += chunk
            parser.feed(chunk)
            continue
        replies.append(reply)
    return bytes(raw), replies


_MORE = object()
"""hiredis's "not enough data yet"."""


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        return address, 0


class ClusterNode:
    """One node's membership of a ZooKeeper-led cluster (created by the server)."""

    def __init__(self, server: Server) -> None:
        config = server.config
        if config.replicaof is not None:
            raise ConfigError("replicaof and zookeeper cannot be used together")
        self.server = server
        self.config = config
        self.engine = server.engine
        self.replication = server.replication
        self.gate = server.gate
        self.coordinator: Coordinator | None = None
        self.node_id = ""
        self.address: tuple[str, int] = ("", 0)
        self.linearizable = config.read_consistency == "linearizable"
        self.writes_paused = False
        self.reads_paused = False
        """While the handoff is being recorded in ZooKeeper, reads wait too."""
        self._held = HoldQueue()
        """Transports holding a write until the handoff ends, in arrival order."""
        self._hold = Hold(self._held, "handoff")
        self._failover: asyncio.Task[None] | None = None
        self._failover_committing = False
        self._leader_address: tuple[str, int] | None = None
        self.failovers = 0
        """Times the leader moved, seen from this node (``/metrics``)."""
        self._isr_lock: asyncio.Lock | None = None
        self._run_ids: dict[str, str] = {}
        self._isr_task: asyncio.Task[None] | None = None
        self._isr_next = 0.0
        self._members_task: asyncio.Task[None] | None = None
        self._members_next = 0.0
        self._reevaluate_next = 0.0
        self._fence_dirty = -1
        self._expiry_was: bool | None = None
        self._stopped = False
        self._redirect_to: tuple[str, int] | None = None
        """After a handoff: the new leader, where data commands are forwarded."""
        self._redirect_until = 0.0
        self._forwards: set[asyncio.Task[None]] = set()

        rep = self.replication
        rep.managed = True
        # No role until ZooKeeper says: writes are refused (READONLY) from the first command.
        rep.step_down("waiting for ZooKeeper to decide the roles")
        rep.confirm_isr_shrink = self._confirm_shrink
        rep.isr_listeners.append(self._on_isr_change)
        self.engine.node = self
        self.engine.sentinel_view = self.sentinel_view
        self.engine.info_providers["coordination"] = self.info_lines
        failover_cmd.set_control(self.engine, self)
        config.on_change("read-consistency", self._read_consistency_changed)
        config.on_change("unclean-election", self._unclean_changed)
        server.cron_hooks.append(self.cron)
        server.busy_cron_hooks.append(self.cron)  # (no keyspace: membership, reconciling)
        # The epoch of the data goes to disk with it (a recovery compares it).
        self.engine.persistence.extra_aux = lambda: {EPOCH_AUX: self.replication.data_epoch}

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
        self._isr_lock = asyncio.Lock()
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
        self._stopped = True
        for task in (self._failover, self._isr_task, self._members_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._resume_writes()
        if self.coordinator is not None:
            await self.coordinator.stop()

    async def shutdown_handoff(self) -> None:
        """SIGTERM / SHUTDOWN on the leader: hand leadership to a caught-up follower first."""
        if self._stopped or not self.leading:
            return
        task = self._failover
        if task is None:
            if not self._candidates():
                log.warning("Shutting down the leader with no in-sync follower to hand off to")
                return
            log.info("Shutting down: handing leadership off first")
            deadline = time.monotonic() + _SHUTDOWN_HANDOFF
            task = self._failover = asyncio.create_task(self._run_failover(None, deadline, False))
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(task)
        if self._redirect_to is not None:
            # Clients whose library retries on this address get forwarded a moment longer.
            await asyncio.sleep(_SHUTDOWN_GRACE)

    # --- state ---------------------------------------------------------------------------

    @property
    def leader_address(self) -> tuple[str, int] | None:
        """The leader's address as last decided in ZooKeeper (None: not known yet)."""
        return self._leader_address

    @property
    def zk_connected(self) -> bool:
        coordinator = self.coordinator
        return coordinator is not None and coordinator.status.connected

    @property
    def leading(self) -> bool:
        rep = self.replication
        return rep.role == "master" and not rep.fenced

    def _read_consistency_changed(self, value: object) -> None:
        self.linearizable = value == "linearizable"

    # --- coordinator events ----------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        rep = self.replication
        if isinstance(event, BecameLeader):
            log.info("Elected leader at epoch %d (ISR %s)", event.epoch, list(event.isr))
            rep.become_leader(event.epoch, event.isr)
            self._leader_is(self.address)
            self._isr_next = 0.0
        elif isinstance(event, Follow):
            host, port = _split_address(event.leader_address)
            rep.follow(host, port, event.epoch)
            self._leader_is((host, port))
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

    def _leader_is(self, address: tuple[str, int]) -> None:
        old = self._leader_address
        self._leader_address = address
        if old is None or old == address:
            return
        self.failovers += 1
        log.info("Leader moved from %s:%d to %s:%d", *old, *address)
        pubsub = pubsub_of(self.engine, create=False)
        if pubsub is not None:
            message = switch_master_message(self.config.cluster_name, old, address)
            pubsub.publish(SWITCH_MASTER_CHANNEL, message)

    # --- the ISR in ZooKeeper ----------------------------------------------------------------

    async def _confirm_shrink(self, change: IsrShrink) -> None:
        """Before the leader acknowledges anything without them: out of ZooKeeper's ISR."""
        coordinator = self.coordinator
        if coordinator is None or self._isr_lock is None:
            raise CoordinationError("not connected to ZooKeeper yet")
        async with self._isr_lock:
            for node_id in sorted(change.removed):
                await coordinator.remove_from_isr(node_id)

    def _on_isr_change(self, change: IsrChange) -> None:
        self._run_ids.update(change.run_ids)
        self._isr_next = 0.0
        self._maybe_reconcile()

    def _maybe_reconcile(self) -> None:
        if self._stopped or not self.leading or self.coordinator is None:
            return
        if self._isr_task is not None and not self._isr_task.done():
            return
        if time.monotonic() < self._isr_next:
            return
        if not self._missing_from_zookeeper():
            return
        self._isr_task = asyncio.create_task(self._add_missing())

    def _missing_from_zookeeper(self) -> list[str]:
        """Followers in the leader's ISR that ZooKeeper's ISR lacks (with their run)."""
        leader = self.replication.leader
        coordinator = self.coordinator
        if leader is None or coordinator is None:
            return []
        recorded = coordinator.current_state()
        if recorded is None:
            return []
        missing = []
        for node_id in sorted(leader.isr.confirmed_isr):
            run = self._run_ids.get(node_id)
            if node_id not in recorded.isr or (run and recorded.isr_runs.get(node_id) != run):
                missing.append(node_id)
        return missing

    async def _add_missing(self) -> None:
        coordinator = self.coordinator
        lock = self._isr_lock
        assert coordinator is not None and lock is not None
        try:
            for node_id in self._missing_from_zookeeper():
                async with lock:
                    # Still a member, and no removal pending? (Removals take this lock too.)
                    leader = self.replication.leader
                    state = leader.isr.followers.get(node_id) if leader is not None else None
                    if state is None or not state.in_isr or state.leaving or not self.leading:
                        continue
                    await coordinator.add_to_isr(node_id, self._run_ids.get(node_id))
        except NotLeaderError:
            pass
        except CoordinationError as err:
            log.info("ISR not updated in ZooKeeper yet (%s); retrying", err)
            self._isr_next = time.monotonic() + _ISR_RETRY

    # --- cron ---------------------------------------------------------------------------------

    def cron(self) -> None:
        if self._stopped:
            return
        self._maybe_reconcile()
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

    # --- admission: the node's gate steps (NodeAdmission, called by Engine.execute) ------------

    def reveals_data(self, client: Client, spec: CommandSpec) -> bool:
        """Does the reply wait for the commit barrier? Data commands and transactions do;
        PING, REPLCONF, INFO, SENTINEL... do not: a new leader holds every data reply
        until its followers acknowledged, and their handshakes must get through.
        ``may_replicate`` is data too: EVAL, EVALSHA and FCALL are flagged neither write
        nor readonly, yet their scripts' writes replicate (as MULTI/EXEC) and their
        replies reveal them; ungated, a script was acknowledged before any follower had
        applied it, and lost when the leader died."""
        if client.multi is not None:
            return True
        flags = spec.flags
        return (
            spec.is_write
            or "readonly" in flags
            or "may_replicate" in flags
            or spec.name.startswith("debug")
            or spec.name in REVEALS_FUNCTIONS
        )

    def route(
        self, client: Client, spec: CommandSpec, writes: bool, data: bool, queued: bool
    ) -> CommandError | Forward | None:
        """Forward just after a handoff; refuse reads a non-leader cannot prove fresh."""
        self._fence_dirty = -1
        if not data:
            return None
        if self._redirecting(client):
            # Just after a handoff: a client that has not noticed it yet (or whose
            # library retries on the same address) gets its command run by the new
            # leader, and a closed connection that makes it look for the leader.
            assert self._redirect_to is not None
            return Forward(self._redirect_to, self._forward_soon)
        if queued:
            return None  # (a queued command is judged with its transaction, at EXEC)
        if not self.leading:
            no_leader = self._no_leader(writes)
            if no_leader is not None:
                return no_leader
            if self.linearizable and not writes and self.coordinator is not None:
                return CommandError(NOT_LEADER_READ)
            return None  # writes: the replication gate answers READONLY, as on any replica
        if self.linearizable:
            self._fence_dirty = self.engine.dirty
        return None

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
        if not writes and not (self.linearizable and coordinator is not None):
            return None
        reason = status.reason if status is not None else ""
        reason = " ".join(reason.split()) or "waiting for ZooKeeper to decide the roles"
        return CommandError(f"{NO_LEADER}{reason}")

    def hold(self, client: Client, spec: CommandSpec, writes: bool, data: bool) -> Hold | None:
        """During a handoff writes wait (and, while it is recorded, reads too)."""
        if data and ((writes and self.writes_paused) or self.reads_paused):
            self._fence_dirty = -1
            return self._hold
        return None

    def _redirecting(self, client: Client) -> bool:
        if self._redirect_to is None or client.is_replica:
            return False
        if time.monotonic() < self._redirect_until and not self.leading:
            return True
        self._redirect_to = None
        return False

    def executed(self, client: Client, spec: CommandSpec, changed: bool) -> None:
        """After a command ran: a read holds the replies behind it until fenced."""
        if self._fence_dirty >= 0:
            # Nothing was propagated: the reply only observed the data (GET, or a
            # write that changed nothing). Its commit needs a fresh ack round.
            if not changed:
                self.replication.read_fence()
            self._fence_dirty = -1

    def _pause_writes(self) -> None:
        if self.writes_paused:
            return
        self.writes_paused = True
        keyspace = self.engine.keyspace
        # Nothing may enter the stream during the handoff: no expiry DELs either.
        self._expiry_was = keyspace.expire_keys
        keyspace.expire_keys = False

    def _resume_writes(self, new_leader: tuple[str, int] | None = None) -> None:
        """End the pause: held commands run here, or go to ``new_leader`` after a handoff."""
        if not self.writes_paused:
            return
        self.writes_paused = self.reads_paused = False
        if self._expiry_was is not None and self.leading:
            self.engine.keyspace.expire_keys = self._expiry_was
        self._expiry_was = None
        if new_leader is None or self.leading:
            self._held.release()
            return
        # Handed off: the held commands never ran here; the new leader runs them and
        # their replies come back through us. For a few seconds the other clients'
        # data commands are forwarded the same way (see route).
        self._redirect_to = new_leader
        self._redirect_until = time.monotonic() + _REDIRECT_WINDOW
        count = self._held.release(Forward(new_leader, self._forward_soon))
        log.info("Handed off: %d held client(s) forwarded to %s:%d", count, *new_leader)

    def _forward_soon(self, conn: Relayable, leader: tuple[str, int]) -> None:
        task = asyncio.get_running_loop().create_task(self._forward(conn, leader))
        self._forwards.add(task)
        task.add_done_callback(self._forwards.discard)

    async def _forward(self, conn: Relayable, leader: tuple[str, int]) -> None:
        """Run a connection's pending commands on the leader, relay the replies, close."""
        await asyncio.sleep(0)  # let process() store the held command first
        client = conn.client
        commands = conn.take_commands()
        if client is None or not commands:
            conn.forwarded(b"")
            return
        prefix: list[list[bytes]] = []
        password = self.config.masterauth or self.config.requirepass
        if self.config.masterauth and self.config.masteruser:
            prefix.append([b"AUTH", self.config.masteruser.encode(), password.encode()])
        elif password:
            prefix.append([b"AUTH", password.encode()])
        if client.resp == 3:
            prefix.append([b"HELLO", b"3"])
        if client.db.id:
            prefix.append([b"SELECT", b"%d" % client.db.id])
        if client.multi is not None:
            if client.watched:
                # WATCH cannot be carried over: the keys' history stayed here.
                self.engine.discard_transaction(client)
                error = f"EXECABORT Transaction discarded because of: {READONLY}"
                conn.forwarded(encode(CommandError(error), client.resp == 3))
                return
            prefix.append([b"MULTI"])
            prefix += [argv for _, argv in client.multi]
            if client.multi_error:
                # A command was refused while queueing here: EXEC must abort there too
                # (an unknown command flags the transaction, as in Redis).
                prefix.append([b"RESPCACHE-FORWARDED-TRANSACTION-HAD-ERRORS"])
            self.engine.discard_transaction(client)
        sent = False
        try:
            async with asyncio.timeout(_FORWARD_TIMEOUT * 4):
                reader, writer = await self._leader_connection(leader, password)
                try:
                    if prefix:
                        # The connection's state first; its replies are not relayed.
                        writer.write(b"".join(map(encode_command, prefix)))
                        await _read_replies(reader, len(prefix))
                    writer.write(b"".join(map(encode_command, commands)))
                    sent = True
                    data, _ = await _read_replies(reader, len(commands))
                finally:
                    writer.close()
            conn.forwarded(data)
            log.info("Forwarded %d command(s) of %s to the leader", len(commands), conn.addr)
        except (OSError, TimeoutError) as err:
            log.warning("Forwarding to the leader %s:%d failed: %r", *leader, err)
            if sent:
                # Maybe executed there: the outcome is unknown, as for a lost connection.
                conn.forwarded(NOT_COMMITTED)
            else:
                conn.forwarded(encode(CommandError(READONLY), client.resp == 3))

    async def _leader_connection(
        self, leader: tuple[str, int], password: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to ``leader`` once it has taken the role (it learns it from ZooKeeper
        a moment after the handoff; a write sent before would be refused)."""
        hello = encode_command([b"AUTH", password.encode()]) if password else b""
        hello += encode_command([b"ROLE"])
        while True:
            reader, writer = await asyncio.open_connection(*leader, ssl=self.server.tls.outgoing())
            writer.write(hello)
            _, replies = await _read_replies(reader, 2 if password else 1)
            role = replies[-1]
            if isinstance(role, list) and role and role[0] == b"master":
                return reader, writer
            writer.close()
            await asyncio.sleep(0.01)

    # --- FAILOVER ------------------------------------------------------------------------------

    def start_failover(self, request: failover_cmd.FailoverRequest) -> None:
        """FAILOVER [TO host port] [TIMEOUT ms] [FORCE]: Redis's checks, then the handoff."""
        if self._failover is not None:
            raise CommandError("ERR FAILOVER already in progress.")
        rep = self.replication
        leader = rep.leader
        if not self.leading or leader is None:
            raise CommandError("ERR FAILOVER is not valid when server is a replica.")
        if not leader.links:
            raise CommandError("ERR FAILOVER requires connected replicas.")
        if request.force and (not request.timeout_ms or request.target is None):
            raise CommandError(
                "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
            )
        target: str | None = None
        if request.target is not None:
            host, port = request.target
            link = next(
                (lk for lk in leader.links.values() if (lk.ip, lk.port) == (host, port)), None
            )
            if link is None:
                raise CommandError("ERR FAILOVER target HOST and PORT is not a replica.")
            if link.state != "online":
                raise CommandError("ERR FAILOVER target replica is not online.")
            target = link.fid
            log.info("FAILOVER requested to %s:%d (%s).", host, port, target)
        else:
            log.info("FAILOVER requested to any replica.")
        deadline = time.monotonic() + request.timeout_ms / 1000 if request.timeout_ms else None
        # From the OK on, writes wait (they are held before they run).
        rep.failover_state = "waiting-for-sync"
        self._pause_writes()
        self._failover = asyncio.create_task(self._run_failover(target, deadline, request.force))

    def abort_failover(self) -> None:
        task = self._failover
        if task is None:
            raise CommandError(failover_cmd.NO_FAILOVER)
        if self._failover_committing:
            raise CommandError(
                "ERR FAILOVER can no longer be aborted: the handoff is being recorded in ZooKeeper"
            )
        log.info("FAILOVER aborted: Failover manually aborted")
        task.cancel()

    def _candidates(self, target: str | None = None) -> list[str]:
        """In-sync followers ZooKeeper would accept as the next leader, most caught up first."""
        leader = self.replication.leader
        coordinator = self.coordinator
        if leader is None or coordinator is None:
            return []
        recorded = coordinator.current_state()
        if recorded is None:
            return []
        online = {link.fid for link in leader.links.values() if link.state == "online"}
        found = []
        for node_id in leader.isr.confirmed_isr:
            if target is not None and node_id != target:
                continue
            run = self._run_ids.get(node_id)
            if node_id not in online or node_id not in recorded.isr:
                continue
            if run and recorded.isr_runs.get(node_id) not in (None, run):
                continue
            found.append(node_id)
        acks = {fid: state.ack for fid, state in leader.isr.followers.items()}
        return sorted(found, key=lambda fid: -acks.get(fid, 0))

    async def _wait_for_sync(self, target: str | None, deadline: float | None, force: bool) -> str:
        """Until a candidate applied everything and every held reply is committed."""
        leader = self.replication.leader
        if leader is not None:
            leader.feed_raw(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n")
        while True:
            leader = self.replication.leader
            if leader is None or not self.leading:
                raise CoordinationError("stepped down while waiting for the target to sync")
            leader.flush()
            candidates = self._candidates(target)
            offset = leader.offset
            synced = self.gate.committed >= self.gate.barrier
            for fid in candidates:
                state = leader.isr.followers.get(fid)
                if synced and state is not None and state.ack >= offset:
                    return fid
            if deadline is not None and time.monotonic() >= deadline:
                if force and target is not None and candidates:
                    log.warning("FAILOVER timeout: forcing the handoff to %s", target)
                    return target
                raise TimeoutError("FAILOVER timed out before a replica was in sync")
            if not candidates and target is not None:
                raise CoordinationError(f"{target} is no longer an in-sync replica")
            await asyncio.sleep(_SYNC_POLL)

    async def _run_failover(self, target: str | None, deadline: float | None, force: bool) -> None:
        rep = self.replication
        coordinator = self.coordinator
        assert coordinator is not None
        new_leader: tuple[str, int] | None = None
        rep.failover_state = "waiting-for-sync"
        self._pause_writes()
        try:
            await self._wait_for_sync(target, deadline, force)
            # From here until ZooKeeper answers, reads wait too: a read fenced now
            # could not be confirmed once we step down (its reply would fail).
            self.reads_paused = True
            self._failover_committing = True
            rep.failover_state = "failover-in-progress"
            chosen = await self._wait_for_sync(target, deadline, force)
            log.info("FAILOVER: %s is in sync, handing leadership over", chosen)
            state = await coordinator.handoff(chosen)
            log.info("FAILOVER: %s leads epoch %d", chosen, state.epoch)
            new_leader = _split_address(state.leader_address)
        except asyncio.CancelledError:
            log.warning("FAILOVER aborted")
        except (CoordinationError, TimeoutError) as err:
            log.warning("FAILOVER aborted: %s", err)
        finally:
            self._failover_committing = False
            rep.failover_state = "no-failover"
            self._failover = None
            # After an abort the held commands run here as usual; after the handoff
            # they run on the new leader (they never ran here).
            self._resume_writes(new_leader)
        if self._forwards:
            await asyncio.wait(set(self._forwards), timeout=_FORWARD_TIMEOUT * 5)

    # --- Sentinel and INFO -----------------------------------------------------------------------

    def sentinel_view(self) -> SentinelView:
        """The cluster as Sentinel describes it: from ZooKeeper's state and the members."""
        name = self.config.cluster_name
        coordinator = self.coordinator
        state = coordinator.current_state() if coordinator is not None else None
        members = coordinator.members() if coordinator is not None else ()
        latest = {c.node_id: c for c in sorted(members, key=lambda c: c.seq)}
        others = [c for nid, c in latest.items() if nid != self.node_id]
        sentinels = [NodeView(*_split_address(c.address), run_id=c.run_id) for c in others]
        if state is None:
            return SentinelView(name=name, master=None, sentinels=sentinels)
        status = self.replication.status()
        leader_ip, leader_port = _split_address(state.leader_address)
        if state.leader == self.node_id:
            master_up = self.leading
            master_run = self.engine.run_id
        else:
            holder = next((c for c in members if c.znode == state.leader_znode), None)
            master_up = holder is not None
            master_run = holder.run_id if holder is not None else ""
        master = NodeView(leader_ip, leader_port, master_run, up=master_up, offset=status.offset)
        acks = {f.id: f for f in status.followers}
        replicas = []
        for node_id, candidate in latest.items():
            if node_id == state.leader:
                continue
            ip, port = _split_address(candidate.address)
            if node_id == self.node_id:
                replicas.append(
                    NodeView(ip, port, self.engine.run_id, True, status.offset, status.link_up)
                )
                continue
            info = acks.get(node_id)
            if info is not None:
                replicas.append(
                    NodeView(ip, port, candidate.run_id, True, info.ack, info.state == "online")
                )
            else:
                replicas.append(NodeView(ip, port, candidate.run_id, True, 0, node_id in state.isr))
        return SentinelView(
            name=name,
            master=master,
            epoch=state.epoch,
            replicas=replicas,
            sentinels=sentinels,
            quorum=max(1, (len(latest) // 2) + 1),
        )

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
            f"writes_paused:{int(self.writes_paused)}",
            f"held_writes:{len(self._held)}",
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
