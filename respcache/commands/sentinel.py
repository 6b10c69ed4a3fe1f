"""The Sentinel discovery subset: every node answers as a Sentinel for its cluster.

``redis.sentinel.Sentinel([...]).master_for(name)`` asks ``SENTINEL MASTERS``
and connects to the ``ip``/``port`` of the master whose flags say ``master``
(and not ``s_down``/``o_down``); ``slave_for`` asks ``SENTINEL SLAVES``. So
pointing redis-py's Sentinel client at any respcache node finds the current
leader with no new client code. The master's name is ``cluster-name``.

What the node knows of its cluster comes from :attr:`Engine.sentinel_view`
(set by the server: from ZooKeeper's state with coordination, from the
replication roles without it: a follower names its leader, a leader its
followers). A standalone node describes itself as the master.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.errors import CommandError
from respcache.protocol.types import NULL_ARRAY, Reply

NO_SUCH_MASTER = "ERR No such master with that name"


@dataclass(frozen=True)
class NodeView:
    """One data node as Sentinel describes it."""

    ip: str
    port: int
    run_id: str = ""
    up: bool = True
    offset: int = 0
    link_up: bool = True
    """For a replica: is its link to the master up?"""


@dataclass(frozen=True)
class SentinelView:
    """The cluster as this node sees it."""

    name: str
    master: NodeView | None
    epoch: int = 0
    replicas: list[NodeView] = field(default_factory=list)
    sentinels: list[NodeView] = field(default_factory=list)
    """The other nodes (each answers as a Sentinel too)."""
    quorum: int = 1


def current_view(c: Client) -> SentinelView:
    engine = c.engine
    provider = engine.sentinel_view
    if provider is not None:
        return provider()
    cfg = engine.config
    host = cfg.announce_host or (cfg.bind[0].lstrip("-") if cfg.bind else "127.0.0.1")
    port = cfg.announce_port or cfg.port
    me = NodeView(host, port, engine.run_id)
    # Roles set by hand (replicaof / REPLICAOF): the replication layer knows them.
    status = engine.replication.status() if engine.replication is not None else None
    if status is not None and status.role == "slave" and status.master is not None:
        leader = NodeView(status.master[0], status.master[1])
        return SentinelView(
            name=cfg.cluster_name, master=leader, replicas=[me], epoch=status.epoch
        )
    replicas = [
        NodeView(f.ip, f.port, up=f.state == "online", offset=f.ack)
        for f in (status.followers if status is not None else ())
    ]
    return SentinelView(name=cfg.cluster_name, master=me, replicas=replicas, epoch=0)


def _master_fields(view: SentinelView) -> list[bytes]:
    master = view.master
    assert master is not None
    now = int(time.time() * 1000)
    flags = "master" if master.up else "master,s_down,o_down"
    pairs: list[tuple[str, str | int]] = [
        ("name", view.name),
        ("ip", master.ip),
        ("port", master.port),
        ("runid", master.run_id),
        ("flags", flags),
        ("link-pending-commands", 0),
        ("link-refcount", 1),
        ("last-ping-sent", 0),
        ("last-ok-ping-reply", 0),
        ("last-ping-reply", 0),
        ("down-after-milliseconds", 30000),
        ("info-refresh", 0),
        ("role-reported", "master"),
        ("role-reported-time", now),
        ("config-epoch", view.epoch),
        ("num-slaves", len(view.replicas)),
        ("num-other-sentinels", len(view.sentinels)),
        ("quorum", view.quorum),
        ("failover-timeout", 180000),
        ("parallel-syncs", 1),
    ]
    return _flatten(pairs)


def _replica_fields(view: SentinelView, replica: NodeView) -> list[bytes]:
    master = view.master
    flags = "slave" if replica.up else "slave,s_down"
    if not replica.link_up:
        flags += ",master_link_down" if replica.up else ""
    pairs: list[tuple[str, str | int]] = [
        ("name", f"{replica.ip}:{replica.port}"),
        ("ip", replica.ip),
        ("port", replica.port),
        ("runid", replica.run_id),
        ("flags", flags),
        ("link-pending-commands", 0),
        ("link-refcount", 1),
        ("last-ping-sent", 0),
        ("last-ok-ping-reply", 0),
        ("last-ping-reply", 0),
        ("down-after-milliseconds", 30000),
        ("info-refresh", 0),
        ("role-reported", "slave"),
        ("role-reported-time", int(time.time() * 1000)),
        ("master-link-down-time", 0),
        ("master-link-status", "ok" if replica.link_up else "err"),
        ("master-host", master.ip if master else "?"),
        ("master-port", master.port if master else 0),
        ("slave-priority", 100),
        ("slave-repl-offset", replica.offset),
        ("replica-announced", 1),
    ]
    return _flatten(pairs)


def _sentinel_fields(node: NodeView) -> list[bytes]:
    pairs: list[tuple[str, str | int]] = [
        ("name", node.run_id or f"{node.ip}:{node.port}"),
        ("ip", node.ip),
        ("port", node.port),
        ("runid", node.run_id),
        ("flags", "sentinel" if node.up else "sentinel,s_down"),
        ("link-pending-commands", 0),
        ("link-refcount", 1),
        ("last-hello-message", 0),
        ("voted-leader", "?"),
        ("voted-leader-epoch", 0),
    ]
    return _flatten(pairs)


def _flatten(pairs: list[tuple[str, str | int]]) -> list[bytes]:
    out: list[bytes] = []
    for name, value in pairs:
        out.append(name.encode())
        out.append(str(value).encode())
    return out


def _pairs_reply(c: Client, fields: list[bytes]) -> Reply:
    """Sentinel answers maps in RESP3 and flat arrays in RESP2."""
    if c.resp == 3:
        return {fields[i]: fields[i + 1] for i in range(0, len(fields), 2)}
    return list(fields)


def _view_for(c: Client, name: bytes) -> SentinelView:
    view = current_view(c)
    if name.decode("utf-8", "surrogateescape") != view.name:
        raise CommandError(NO_SUCH_MASTER)
    return view


@command(
    "sentinel|masters",
    arity=2,
    flags="admin sentinel",
    summary="List the monitored masters",
    complexity="O(N) where N is the number of masters",
    group="sentinel",
    since="2.8.4",
    acl="@admin @slow @dangerous",
)
def sentinel_masters(c: Client, argv: list[bytes]) -> Reply:
    view = current_view(c)
    if view.master is None:
        return []
    return [_pairs_reply(c, _master_fields(view))]


@command(
    "sentinel|master",
    arity=3,
    flags="admin sentinel",
    summary="Show the state of a master",
    complexity="O(1)",
    group="sentinel",
    since="2.8.4",
    acl="@admin @slow @dangerous",
)
def sentinel_master(c: Client, argv: list[bytes]) -> Reply:
    view = _view_for(c, argv[2])
    if view.master is None:
        raise CommandError(NO_SUCH_MASTER)
    return _pairs_reply(c, _master_fields(view))


def _replicas(c: Client, argv: list[bytes]) -> Reply:
    view = _view_for(c, argv[2])
    return [_pairs_reply(c, _replica_fields(view, r)) for r in view.replicas]


@command(
    "sentinel|replicas",
    arity=3,
    flags="admin sentinel",
    summary="List the replicas of a master",
    complexity="O(N) where N is the number of replicas",
    group="sentinel",
    since="2.8.4",
    acl="@admin @slow @dangerous",
)
def sentinel_replicas(c: Client, argv: list[bytes]) -> Reply:
    return _replicas(c, argv)


@command(
    "sentinel|slaves",
    arity=3,
    flags="admin sentinel",
    summary="List the replicas of a master (old name)",
    complexity="O(N) where N is the number of replicas",
    group="sentinel",
    since="2.8.4",
    acl="@admin @slow @dangerous",
)
def sentinel_slaves(c: Client, argv: list[bytes]) -> Reply:
    return _replicas(c, argv)


@command(
    "sentinel|sentinels",
    arity=3,
    flags="admin sentinel",
    summary="List the other Sentinels of a master",
    complexity="O(N) where N is the number of Sentinels",
    group="sentinel",
    since="2.8.4",
    acl="@admin @slow @dangerous",
)
def sentinel_sentinels(c: Client, argv: list[bytes]) -> Reply:
    view = _view_for(c, argv[2])
    return [_pairs_reply(c, _sentinel_fields(s)) for s in view.sentinels]


@command(
    "sentinel|get-master-addr-by-name",
    arity=3,
    flags="admin sentinel",
    summary="Get the address of a master",
    complexity="O(1)",
    group="sentinel",
    since="2.8.4",
    acl="@admin @slow @dangerous",
)
def sentinel_get_master_addr(c: Client, argv: list[bytes]) -> Reply:
    view = current_view(c)
    if argv[2].decode("utf-8", "surrogateescape") != view.name or view.master is None:
        return NULL_ARRAY
    return [view.master.ip.encode(), str(view.master.port).encode()]


@command(
    "sentinel|myid",
    arity=2,
    flags="admin sentinel",
    summary="Get the Sentinel instance ID",
    complexity="O(1)",
    group="sentinel",
    since="2.8.4",
    acl="@admin @slow @dangerous",
)
def sentinel_myid(c: Client, argv: list[bytes]) -> Reply:
    return c.engine.run_id.encode()


def switch_master_message(name: str, old: tuple[str, int] | None, new: tuple[str, int]) -> bytes:
    """The ``+switch-master`` message Sentinel publishes on failover."""
    old_ip, old_port = old if old is not None else ("?", 0)
    return f"{name} {old_ip} {old_port} {new[0]} {new[1]}".encode()
