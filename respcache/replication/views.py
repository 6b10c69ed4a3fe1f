"""What the node's replication looks like from outside: ROLE, INFO replication, status().

Three read-only renderings of the same state, kept apart from the code that
changes it so that each can be read (and tested) on its own:

* :meth:`ReplicationViews.role_reply`: the ``ROLE`` reply, as Redis's
  ``roleCommand`` (``replication.c``) builds it;
* :meth:`ReplicationViews.info_lines`: the ``# Replication`` section of
  ``INFO``, in ``genRedisInfoString``'s order and with its field names
  (``master_link_status``, ``slave0:ip=…``, ``master_repl_offset``…), plus
  respcache's own ``isr``, ``min_insync_replicas`` and ``replication_epoch``;
* :meth:`ReplicationViews.status`: a typed :class:`ReplicationStatus` for the
  coordination layer, the HTTP metrics and the tests.

A managed node that is fenced (waiting for ZooKeeper, or deposed) never claims
``master``: its public role is ``none`` (see :mod:`.role`). The views read the
role machine, the history and the command gate, which live as long as the
node, and the pieces that come and go with the role (leader side, link,
backlog) through the small :class:`ViewedNode` protocol.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from respcache.replication.backlog import Backlog, History
from respcache.replication.command_gate import CommandGate
from respcache.replication.role import RoleMachine

if TYPE_CHECKING:
    from respcache.config import Config
    from respcache.replication.follower import FollowerLink
    from respcache.replication.leader import LeaderSide

__all__ = ["FollowerInfo", "ReplicationStatus", "ReplicationViews", "ViewedNode"]


@dataclass(frozen=True)
class FollowerInfo:
    id: str
    ip: str
    port: int
    state: str
    ack: int
    lag: int
    in_isr: bool


@dataclass(frozen=True)
class ReplicationStatus:
    """A snapshot of the node's replication state (for coordination, INFO, tests)."""

    role: str
    """``master`` or ``slave``, as Redis says."""
    epoch: int
    replid: str
    replid2: str
    offset: int
    """``master_repl_offset``: produced (leader) or applied (follower)."""
    second_replid_offset: int
    committed: int
    """Leader: the offset every ISR member acknowledged."""
    isr: frozenset[str]
    followers: tuple[FollowerInfo, ...]
    master: tuple[str, int] | None
    link_up: bool


class ViewedNode(Protocol):
    """What the views read of the node beyond its role machine and history."""

    @property
    def leader(self) -> LeaderSide | None: ...

    @property
    def link(self) -> FollowerLink | None: ...

    @property
    def backlog(self) -> Backlog | None: ...

    @property
    def master(self) -> tuple[str, int] | None: ...

    @property
    def epoch(self) -> int: ...

    @property
    def failover_state(self) -> str: ...

    def offset(self) -> int:
        """``master_repl_offset``: produced (leader) or applied (follower)."""
        ...


class ReplicationViews:
    """ROLE, INFO replication and :class:`ReplicationStatus`, from the node's state."""

    def __init__(
        self,
        config: Config,
        roles: RoleMachine,
        history: History,
        command_gate: CommandGate,
        node: ViewedNode,
    ) -> None:
        self.config = config
        self.roles = roles
        self.history = history
        self.command_gate = command_gate
        self.node = node

    def public_role(self) -> str:
        """``master``/``slave`` as ROLE and INFO say; ``none`` while the coordination layer
        has not decided (stepped down, or starting): such a node does not claim master."""
        return self.roles.public_role()

    def status(self) -> ReplicationStatus:
        node = self.node
        leader = node.leader
        followers: list[FollowerInfo] = []
        isr: frozenset[str] = frozenset()
        committed = node.offset()
        if leader is not None:
            now = time.monotonic()
            isr = leader.isr.isr
            committed = leader.isr.committed
            for link in leader.links.values():
                state = leader.isr.followers.get(link.fid)
                followers.append(
                    FollowerInfo(
                        link.fid,
                        link.ip,
                        link.port,
                        link.state,
                        state.ack if state else 0,
                        int(now - state.last_ack) if state else 0,
                        bool(state and state.in_isr),
                    )
                )
        link_to_master = node.link
        return ReplicationStatus(
            role=self.roles.role,
            epoch=node.epoch,
            replid=self.history.replid,
            replid2=self.history.replid2,
            offset=node.offset(),
            second_replid_offset=self.history.second_replid_offset,
            committed=committed,
            isr=isr,
            followers=tuple(followers),
            master=node.master,
            link_up=link_to_master is not None and link_to_master.up,
        )

    def role_reply(self) -> Any:
        node = self.node
        role = self.public_role()
        if role == "none":
            # Waiting for ZooKeeper: a replica of nobody yet (Redis's REPL_STATE_NONE).
            return [b"slave", b"", 0, b"none", -1]
        if role == "master":
            replicas: list[list[bytes]] = []
            leader = node.leader
            if leader is not None:
                for link in leader.links.values():
                    if link.state != "online":
                        continue
                    state = leader.isr.followers.get(link.fid)
                    replicas.append(
                        [
                            link.ip.encode(),
                            b"%d" % link.port,
                            b"%d" % (state.ack if state else 0),
                        ]
                    )
            return [b"master", node.offset(), replicas]
        host, port = node.master or ("", 0)
        link_to_master = node.link
        link_state = link_to_master.state if link_to_master is not None else "connect"
        offset = node.offset() if link_to_master is not None and link_to_master.up else -1
        return [b"slave", host.encode(), port, link_state.encode(), offset]

    def info_lines(self) -> list[str]:
        node = self.node
        now = time.monotonic()
        role = self.public_role()
        lines = [f"role:{'slave' if role == 'none' else role}"]
        if role != "master":
            lines += self._follower_lines(now)
        leader = node.leader
        replicas = [] if leader is None else list(leader.links.values())
        lines.append(f"connected_slaves:{len(replicas)}")
        if self.config.min_replicas_to_write and role == "master":  # (not while undecided)
            lines.append(f"min_slaves_good_slaves:{self.command_gate.good_replicas}")
        if leader is not None:
            for i, replica in enumerate(replicas):
                known = leader.isr.followers.get(replica.fid)
                ack = known.ack if known else 0
                lag = int(now - known.last_ack) if known else 0
                lines.append(
                    f"slave{i}:ip={replica.ip},port={replica.port},state={replica.state},"
                    f"offset={ack},lag={lag}"
                )
        backlog = node.backlog
        lines += [
            f"master_failover_state:{node.failover_state}",
            f"master_replid:{self.history.replid}",
            f"master_replid2:{self.history.replid2}",
            f"master_repl_offset:{node.offset()}",
            f"second_repl_offset:{self.history.second_replid_offset}",
            f"repl_backlog_active:{int(backlog is not None)}",
            f"repl_backlog_size:{self.config.repl_backlog_size}",
            f"repl_backlog_first_byte_offset:{backlog.first_byte_offset if backlog else 0}",
            f"repl_backlog_histlen:{backlog.histlen if backlog else 0}",
        ]
        isr = sorted(leader.isr.isr) if leader is not None else []
        lines += [
            f"isr:{','.join(isr)}",
            f"min_insync_replicas:{self.command_gate.min_insync()}",
            f"replication_epoch:{node.epoch}",
        ]
        return lines

    def _follower_lines(self, now: float) -> list[str]:
        """INFO's fields about the link to the leader (a follower, or an undecided node)."""
        node = self.node
        host, port = node.master or ("", 0)
        link = node.link
        up = link is not None and link.up
        session = link.session if link is not None else None
        syncing = session is not None and session.state == "sync"
        last_io = int(now - link.last_io) if link is not None and link.transport else -1
        lines = [
            f"master_host:{host}",
            f"master_port:{port}",
            f"master_link_status:{'up' if up else 'down'}",
            f"master_last_io_seconds_ago:{last_io if up else -1}",
            f"master_sync_in_progress:{int(syncing)}",
            f"slave_read_repl_offset:{session.read_offset if session and up else node.offset()}",
            f"slave_repl_offset:{node.offset()}",
        ]
        if syncing and session is not None and link is not None:
            lines += [
                "master_sync_total_bytes:-1",
                f"master_sync_read_bytes:{session.sync_bytes}",
                "master_sync_left_bytes:-1",
                "master_sync_perc:0.00",
                f"master_sync_last_io_seconds_ago:{int(now - link.last_io)}",
            ]
        if not up:
            down = int(now - link.down_since) if link is not None and link.down_since else -1
            lines.append(f"master_link_down_since_seconds:{down}")
        lines += [
            "slave_priority:100",
            f"slave_read_only:{int(self.config.replica_read_only)}",
            "replica_announced:1",
        ]
        return lines
