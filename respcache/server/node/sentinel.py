"""The cluster as Sentinel describes it, from ZooKeeper's state; ``+switch-master``.

``SENTINEL MASTER/REPLICAS/SENTINELS`` and ``get-master-addr-by-name`` are
answered from :meth:`SentinelReport.view` (the commands live in
``commands/sentinel.py``); :class:`LeaderWatch` publishes ``+switch-master``
when the leader ZooKeeper decided moves, as a Sentinel does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from respcache.commands.pubsub import pubsub_of
from respcache.commands.sentinel import NodeView, SentinelView, switch_master_message
from respcache.server.node.handoff import split_address

if TYPE_CHECKING:
    from respcache.commands.engine import Engine
    from respcache.replication import ReplicationStatus
    from respcache.server.node.ports import MemberRecord, Provider, Roles

__all__ = ["SWITCH_MASTER_CHANNEL", "LeaderWatch", "SentinelReport"]

log = logging.getLogger("respcache.cluster")

SWITCH_MASTER_CHANNEL: Final = b"+switch-master"


class LeaderWatch:
    """The leader's address as last decided, and how often it moved (``/metrics``)."""

    def __init__(self, engine: Engine, cluster_name: str) -> None:
        self._engine = engine
        self._cluster_name = cluster_name
        self.address: tuple[str, int] | None = None
        self.failovers = 0

    def leader_is(self, address: tuple[str, int]) -> None:
        old = self.address
        self.address = address
        if old is None or old == address:
            return
        self.failovers += 1
        log.info("Leader moved from %s:%d to %s:%d", *old, *address)
        pubsub = pubsub_of(self._engine, create=False)
        if pubsub is not None:
            message = switch_master_message(self._cluster_name, old, address)
            pubsub.publish(SWITCH_MASTER_CHANNEL, message)


class SentinelReport:
    """Builds the :class:`SentinelView` of the cluster as this node sees it."""

    def __init__(
        self,
        cluster_name: str,
        node_id: Callable[[], str],
        run_id: str,
        status: Callable[[], ReplicationStatus],
        roles: Roles,
        coordinator: Provider[MemberRecord],
    ) -> None:
        self._name = cluster_name
        self._node_id = node_id
        self._run_id = run_id
        self._status = status
        self._roles = roles
        self._coordinator = coordinator

    def view(self) -> SentinelView:
        """The cluster as Sentinel describes it: from ZooKeeper's state and the members."""
        name = self._name
        me = self._node_id()
        coordinator = self._coordinator()
        state = coordinator.current_state() if coordinator is not None else None
        members = coordinator.members() if coordinator is not None else ()
        latest = {c.node_id: c for c in sorted(members, key=lambda c: c.seq)}
        others = [c for nid, c in latest.items() if nid != me]
        sentinels = [NodeView(*split_address(c.address), run_id=c.run_id) for c in others]
        if state is None:
            return SentinelView(name=name, master=None, sentinels=sentinels)
        status = self._status()
        leader_ip, leader_port = split_address(state.leader_address)
        if state.leader == me:
            master_up = self._roles.leading
            master_run = self._run_id
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
            ip, port = split_address(candidate.address)
            if node_id == me:
                replicas.append(
                    NodeView(ip, port, self._run_id, True, status.offset, status.link_up)
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
