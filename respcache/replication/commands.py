"""The replication commands' work: REPLICAOF, REPLCONF, PSYNC/SYNC, WAIT, DEBUG CHANGE-REPL-ID.

The handlers in :mod:`respcache.commands.replication` parse the arguments and
call a :class:`~respcache.commands.replication.ReplicationControl`; this module
does what they ask on the replication side, following Redis's
``replicaofCommand``, ``replconfCommand``, ``syncCommand`` and ``waitCommand``
(``replication.c``) and their error texts:

* REPLICAOF changes the role through the node (refused while the coordination
  layer decides roles);
* REPLCONF records what a connecting follower announces (listening port, ip,
  capabilities, respcache's node id, run id and epoch) until its PSYNC, and
  turns ``ACK`` into an acknowledgement on the leader side; a follower that
  knows a newer epoch makes a managed leader step down at once;
* PSYNC takes over the connection as a :class:`~.leader.ReplicaLink` and
  continues it from the backlog (``+CONTINUE``) or starts a full sync;
* WAIT counts the followers that acknowledged the client's last write, now or
  when enough did or the timeout fires.

The node is reached through the small :class:`CommandsNode` protocol: the
leader side, which exists only while leading, and the role changes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from respcache.commands.client import Client
from respcache.errors import CommandError
from respcache.replication.backlog import Backlog, History, new_replid, psync_decision
from respcache.replication.follower import RESPCACHE_CAPA
from respcache.replication.leader import (
    EPOCH_CAPA,
    LeaderSide,
    LinkTransport,
    ReplicaLink,
    WaitRequest,
)
from respcache.replication.role import RoleMachine

if TYPE_CHECKING:
    from respcache.commands.engine import Engine

log = logging.getLogger("respcache.replication")

__all__ = ["NOMASTERLINK", "WAIT_ON_REPLICA", "CommandsNode", "ReplicationCommands"]

NOMASTERLINK = "NOMASTERLINK Can't SYNC while not connected with my master"
WAIT_ON_REPLICA = (
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
    "if a replica is configured to be writable (which is not the default) writes to replicas "
    "are just local and are not propagated."
)


class CommandsNode(Protocol):
    """What the commands need of the node: its changing parts and its role changes."""

    @property
    def leader(self) -> LeaderSide | None: ...

    @property
    def backlog(self) -> Backlog | None: ...

    @property
    def master(self) -> tuple[str, int] | None: ...

    @property
    def epoch(self) -> int: ...

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None: ...

    def become_leader(self, epoch: int = 0, *, arm: bool = True) -> None: ...

    def follow(self, host: str, port: int) -> None: ...

    def step_down(self, reason: str = "") -> None: ...

    def ensure_leader(self) -> LeaderSide:
        """The leader side, created if the node leads without one yet."""
        ...


class ReplicationCommands:
    """Implements :class:`~respcache.commands.replication.ReplicationControl`."""

    def __init__(
        self,
        engine: Engine,
        roles: RoleMachine,
        history: History,
        node: CommandsNode,
        run_ids: dict[str, str],
    ) -> None:
        self.engine = engine
        self.roles = roles
        self.history = history
        self.node = node
        self.run_ids = run_ids
        """Run id each follower announced (``REPLCONF run-id``), by follower id: filled at
        PSYNC, read by the node for the coordination layer's :class:`~.node.IsrChange`."""
        self._replconf: dict[int, dict[str, str]] = {}
        """REPLCONF settings by client id, until PSYNC."""

    def forget(self, client: Client) -> None:
        """The client disconnected: drop what its REPLCONF announced."""
        self._replconf.pop(client.id, None)

    def replicaof(self, target: tuple[str, int] | None, client: Client | None = None) -> str:
        """REPLICAOF host port / NO ONE; returns the status reply text."""
        roles, node = self.roles, self.node
        if roles.managed:
            raise CommandError(
                "ERR REPLICAOF not allowed: roles are decided by the coordination layer"
            )
        if target is None:
            if roles.role == "slave" or roles.fenced:
                node.become_leader(node.epoch, arm=False)
            return "OK"
        if roles.role == "slave" and node.master == target:
            log.info(
                "REPLICAOF would result into synchronization with the master we are already "
                "connected with. No operation performed."
            )
            return "OK Already connected to specified master"
        node.follow(*target)
        return "OK"

    def replconf(self, client: Client, argv: list[bytes]) -> bool:
        """REPLCONF <option> <value> ...; returns False for ACK (no reply is sent)."""
        if len(argv) % 2 == 0:
            raise CommandError("ERR syntax error")
        settings = self._replconf.setdefault(client.id, {})
        for i in range(1, len(argv), 2):
            option = argv[i].decode("utf-8", "replace").lower()
            value = argv[i + 1].decode("utf-8", "replace")
            if option == "ack":
                self._ack(client, argv[i + 1])
                return False
            if option == "getack":
                return False
            if option == "listening-port":
                try:
                    port = int(value)
                except ValueError:
                    raise CommandError("ERR value is not an integer or out of range") from None
                settings["listening-port"] = str(port)
            elif option in ("ip-address", "capa", "node-id", "run-id", "rdb-only"):
                if option == "capa":
                    settings["capa"] = settings.get("capa", "") + " " + value.lower()
                else:
                    settings[option] = value
            elif option == "epoch":
                self._check_epoch(value)
                settings["epoch"] = value
            elif option == "fack":
                continue
            else:
                raise CommandError(
                    f"ERR Unrecognized REPLCONF option: {argv[i].decode('utf-8', 'replace')}"
                )
        return True

    def _check_epoch(self, value: str) -> None:
        """REPLCONF epoch: only a leader of the follower's epoch (or a newer one) may sync it."""
        roles, node = self.roles, self.node
        try:
            theirs = int(value)
        except ValueError:
            raise CommandError("ERR value is not an integer or out of range") from None
        if roles.managed and roles.role == "master" and theirs > node.epoch:
            # Someone leads a newer term: stop acknowledging now, before
            # ZooKeeper tells us (the coordination layer follows up).
            node.step_down(f"a follower knows epoch {theirs}, newer than ours")
        if roles.role != "master" or theirs > node.epoch or roles.fenced:
            raise CommandError(
                f"ERR stale leader: the follower is at epoch {theirs}, "
                f"this node at {node.epoch}"
                + ("" if roles.role == "master" else " and not leading")
            )

    def _ack(self, client: Client, raw: bytes) -> None:
        leader = self.node.leader
        if leader is None:
            return
        link = leader.links.get(client.id)
        if link is None:
            return
        try:
            offset = int(raw)
        except ValueError:
            return
        leader.ack(link, offset)

    def change_replication_id(self) -> None:
        """DEBUG CHANGE-REPL-ID: a new replication id, and no previous one (Redis's
        changeReplicationId + clearReplicationId2)."""
        log.warning("Changing replication IDs after receiving DEBUG change-repl-id")
        self.history.replid = new_replid()
        self.history.clear_previous()

    def psync(self, client: Client, replid: str, offset: int, legacy: bool = False) -> None:
        """PSYNC / SYNC from a follower: take over its connection and sync it."""
        if self.roles.role != "master" or self.roles.fenced:
            raise CommandError(NOMASTERLINK)
        transport: LinkTransport | None = getattr(client, "transport", None)
        if transport is None:
            raise CommandError("ERR PSYNC needs a network connection")
        settings = self._replconf.get(client.id, {})
        info = client.connection_info()
        addr = info.get("addr", "")
        ip = settings.get("ip-address") or addr.rpartition(":")[0].strip("[]") or "?"
        port = int(settings.get("listening-port", "0") or 0)
        leader = self.node.ensure_leader()
        link = ReplicaLink(client, transport, ip, port)
        link.addr = addr
        link.capa = set(settings.get("capa", "").split())
        # A respcache follower says so (and only respcache sends node-id/epoch): anything
        # else is a Redis replica, synced with an RDB and never waited for.
        link.rdb = RESPCACHE_CAPA.decode() not in link.capa and not (
            "node-id" in settings or "epoch" in settings
        )
        link.legacy = legacy
        if "epoch" in settings:
            link.capa.add(EPOCH_CAPA)
        fid = settings.get("node-id") or link.fid
        link.fid = fid
        if "run-id" in settings:
            self.run_ids[fid] = settings["run-id"]
        client.reply_mode = "off"  # the link's bytes are written by the leader side only
        client.is_replica = True
        # A follower reconnecting: any older link of it is dead.
        for other in list(leader.links.values()):
            if other.fid == fid:
                leader.drop(other, "replaced by a new connection from the same replica")
        leader.attach(link)
        decision = psync_decision(self.history, self.node.backlog, replid, offset)
        if not decision.full:
            leader.continue_sync(link, decision.start, "psync2" in link.capa)
            return
        if replid not in ("?", self.history.replid):
            log.info("Partial resynchronization not accepted for %s: %s", fid, decision.reason)
        elif replid != "?":
            log.info("Full resync requested by replica %s: %s", fid, decision.reason)
        if replid != "?":
            leader.syncs_partial_err += 1
        leader.full_sync(link, self.engine.keyspace)

    def wait(self, client: Client, numreplicas: int, timeout_ms: int) -> int | None:
        """WAIT: the count now, or None after arranging ``engine.unblock`` later."""
        if self.roles.role != "master":
            raise CommandError(WAIT_ON_REPLICA)
        node = self.node
        leader = node.leader
        engine = self.engine

        def done(count: int) -> None:
            engine.unblock(client, count)

        if leader is None:
            if numreplicas <= 0 or timeout_ms < 0:
                return 0
            request = WaitRequest(0, numreplicas, done)
        else:
            request = WaitRequest(leader.offset, numreplicas, done)
            if timeout_ms < 0:
                return leader.isr.acked_count(request.offset)
            count = leader.wait(request)
            if count is not None:
                return count
        loop = node.loop
        if timeout_ms > 0 and loop is not None:
            request.timer = loop.call_later(timeout_ms / 1000, lambda: request.finish(node.leader))
        return None
