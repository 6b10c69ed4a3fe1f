"""ZooKeeper decides the roles of real respcache processes: elections, crashes, fencing.

Every test runs three (or two) ``python -m respcache`` nodes with ``zookeeper`` set
and ``zk-session-timeout 2000`` against a real ZooKeeper (tickTime 200 ms), and
checks what clients see: no acknowledged write is ever lost, a deposed leader
acknowledges nothing and serves no stale read, redis-py's Sentinel client finds
the leader. Times are printed (``-s``), never asserted.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from failover_cluster import (
    NO_LEADER,
    NOT_LEADER_READ,
    READONLY,
    SESSION_MS,
    WAIT,
    NodeCluster,
    WriteLoad,
    ZkProxy,
    cluster_of,
    digest,
    info,
    until_acknowledged,
)
from support import ConnectionClosed, ServerProcess, wait_until

from respcache.coordination.zkserver import ZooKeeperServer

pytestmark = pytest.mark.cluster


def write_keys(client: Any, prefix: str, count: int) -> list[str]:
    """SET ``count`` keys, one by one; returns the keys whose SET was acknowledged."""
    acked = []
    for i in range(count):
        key = f"{prefix}:{i}"
        if client.set(key, key):
            acked.append(key)
    return acked


def assert_all_readable(node: ServerProcess, keys: list[str]) -> None:
    client = node.client()
    try:
        values = client.mget(keys) if keys else []
    finally:
        client.close()
    missing = [k for k, v in zip(keys, values, strict=True) if v != k.encode()]
    assert not missing, f"{len(missing)} acknowledged writes lost on {node.name}: {missing[:5]}"


def test_first_leader_and_two_followers_sync(zookeeper: ZooKeeperServer, tmp_path: Path) -> None:
    with cluster_of(zookeeper, tmp_path) as cluster:
        leader = cluster.leader()
        cluster.wait_in_sync(leader)
        followers = cluster.followers(leader)
        assert len(followers) == 2
        coord = info(leader, "coordination")
        assert coord["coordination_epoch"] == "1"
        assert set(coord["zk_isr"].split(",")) == {f"127.0.0.1:{n.port}" for n in cluster.nodes}

        client = leader.client()
        keys = write_keys(client, "first", 200)
        assert client.get("first:7") == b"first:7"  # linearizable read on the leader
        client.close()
        assert len(keys) == 200
        cluster.wait_converged()

        for follower in followers:
            with follower.raw() as conn:
                # Followers refuse writes with Redis's exact error, and (read-consistency
                # linearizable) reads too: they cannot prove them fresh.
                assert conn.call("SET", "x", "1").value == READONLY
                assert conn.call("GET", "first:1").value == NOT_LEADER_READ
                assert conn.call("PING").value == b"PONG"
            assert info(follower, "replication")["master_port"] == str(leader.port)
        # read-consistency local (the opt-in fast path): followers read their own copy.
        with followers[0].raw() as conn:
            assert conn.call("CONFIG", "SET", "read-consistency", "local").value == b"OK"
            assert conn.call("GET", "first:1").value == b"first:1"
            assert conn.call("SET", "x", "1").value == READONLY

        # redis-py's own Sentinel client, pointed at any node, finds the leader.
        sentinel = cluster.sentinel()
        assert sentinel.discover_master(cluster.name) == ("127.0.0.1", leader.port)
        assert sorted(sentinel.discover_slaves(cluster.name)) == sorted(
            ("127.0.0.1", n.port) for n in followers
        )
        master = cluster.master_client()
        assert master.get("first:199") == b"first:199"
        master.close()
        with followers[0].raw() as conn:
            reply = conn.call("SENTINEL", "SENTINELS", cluster.name)
            assert len(reply.value) == 2  # the two other nodes


def test_leader_sigkill_elects_an_isr_member_and_the_old_leader_rejoins(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    with cluster_of(zookeeper, tmp_path) as cluster:
        old = cluster.leader()
        cluster.wait_in_sync(old)
        epoch = int(info(old, "coordination")["coordination_epoch"])
        client = old.client()
        acked = write_keys(client, "before-kill", 300)
        client.close()

        master = cluster.master_client(retries=2)
        master.get("before-kill:0")  # connected to the old leader
        killed_at = time.monotonic()
        cluster.kill(old)
        # Each call asks the Sentinels where the leader is; errors until there is one.
        until_acknowledged(lambda: master.set("after-kill", "after-kill"))
        failover = time.monotonic() - killed_at
        print(f"SIGKILL of the leader -> first acknowledged write: {failover:.2f}s")
        master.close()

        new = cluster.leader()
        assert new is not old
        assert int(info(new, "coordination")["coordination_epoch"]) > epoch
        assert_all_readable(new, [*acked, "after-kill"])
        assert cluster.discover() == ("127.0.0.1", new.port)

        # The old leader comes back empty (a new run id): it follows, syncs, converges,
        # and the leader puts it back in ZooKeeper's ISR.
        back = cluster.restart(old)
        cluster.wait_in_sync(new)
        assert cluster.role(back) == "follower"
        assert cluster.wait_converged() == digest(new)
        assert cluster.leader() is new


def test_leader_paused_past_the_session_timeout_acknowledges_nothing_after(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    with cluster_of(zookeeper, tmp_path) as cluster:
        old = cluster.leader()
        cluster.wait_in_sync(old)
        old.client().set("k", "v1")

        # Two clients of the old leader send while it is stopped: a write and a read.
        writer, reader = old.raw(timeout=30), old.raw(timeout=30)
        cluster.pause(old)
        writer.send("SET", "k", "from-the-old-leader")
        reader.send("GET", "k")

        new = cluster.leader(exclude=old, timeout=SESSION_MS / 1000 * 5)
        client = new.client()
        assert client.get("k") == b"v1"
        assert client.set("k", "v2")
        client.close()

        cluster.resume(old)
        # The old leader runs again. Whatever it answers, it must not acknowledge the
        # write nor return the value v2 replaced.
        for conn, what in ((writer, "write"), (reader, "read")):
            try:
                reply = conn.read_reply(timeout=WAIT)
            except (ConnectionClosed, ConnectionError, OSError):
                print(f"deposed leader: {what} -> connection closed")
                continue  # closed: not acknowledged
            finally:
                conn.close()
            print(f"deposed leader: {what} -> {reply!r}")
            assert reply.is_error, f"the deposed leader answered a {what} with {reply!r}"
        # Fresh requests to it: refused until, and after, it follows the new leader.
        for _ in range(20):
            for args in (("SET", "k", "x"), ("GET", "k")):
                try:
                    with old.raw() as conn:
                        got = conn.call(*args)
                except (ConnectionClosed, ConnectionError, OSError):
                    continue  # failed held replies close the connection
                assert got.is_error or (args[0] == "GET" and got.value == b"v2"), (args, got)
            time.sleep(0.05)
        assert wait_until(lambda: cluster.role(old) == "follower", WAIT)
        cluster.wait_in_sync(new)
        cluster.wait_converged()
        with new.raw() as conn:
            assert conn.call("GET", "k").value == b"v2"


def test_forced_session_expiry_of_the_leader(zookeeper: ZooKeeperServer, tmp_path: Path) -> None:
    """The leader loses ZooKeeper (not its followers) long enough for its session to expire."""
    host, port = zookeeper.connect_string.split(":")
    proxies = [ZkProxy((host, int(port))) for _ in range(3)]
    try:
        with cluster_of(zookeeper, tmp_path, zk_address=lambda i: proxies[i].address) as cluster:
            old = cluster.leader()
            proxy = proxies[cluster.nodes.index(old)]
            cluster.wait_in_sync(old)
            client = old.client()
            acked = write_keys(client, "expiry", 100)
            client.close()

            proxy.partition()
            # SUSPENDED, it leads on (its writes need b's and c's acks); its session
            # expires, another node takes over and stops acknowledging it, and it
            # steps down a session timeout after it lost ZooKeeper.
            assert wait_until(lambda: cluster.role(old) != "leader", WAIT)
            with old.raw() as conn:
                refused = conn.call("SET", "during", "partition").value
                assert refused.startswith(NO_LEADER) and len(refused) > len(NO_LEADER), refused
                assert conn.call("GET", "expiry:1").is_error
            new = cluster.leader(exclude=old, timeout=WAIT)
            new_client = new.client()
            assert new_client.set("after", "after")
            new_client.close()

            proxy.heal()  # LOST on reconnection: it registers again and follows
            assert wait_until(lambda: cluster.role(old) == "follower", WAIT), cluster.describe()
            cluster.wait_in_sync(new)
            cluster.wait_converged()
            assert_all_readable(new, [*acked, "after"])
            assert cluster.leader() is new
    finally:
        for proxy in proxies:
            proxy.close()


def test_zookeeper_restart_while_clients_write(
    private_zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    with cluster_of(private_zookeeper, tmp_path) as cluster:
        leader = cluster.leader()
        cluster.wait_in_sync(leader)
        load = WriteLoad(cluster).start()
        try:
            load.wait_for(200)
            private_zookeeper.stop()
            time.sleep(SESSION_MS / 1000)  # writes pause (or fail: never acknowledged)
            private_zookeeper.start()
            load.wait_for(200)
        finally:
            load.stop()
        leader = cluster.leader()
        cluster.wait_in_sync(leader)
        load.check(leader)
        cluster.wait_converged()
        print(f"{load.total()} acknowledged, {len(load.failures)} failed: {load.failures[:3]}")
        assert cluster.discover() == ("127.0.0.1", leader.port)


def test_a_follower_removed_from_the_isr_cannot_be_elected(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    with cluster_of(zookeeper, tmp_path, repl_ack_timeout=300) as cluster:
        leader = cluster.leader()
        cluster.wait_in_sync(leader)
        lagging, other = cluster.followers(leader)
        cluster.pause(lagging)
        client = leader.client()
        acked = write_keys(client, "lag", 20)  # the first waits for the ack timeout
        client.close()
        lagging_id = f"127.0.0.1:{lagging.port}"
        assert wait_until(
            lambda: lagging_id not in info(leader, "coordination")["zk_isr"].split(","), WAIT
        )

        # Every node holding the writes goes away; only the lagging one is left.
        cluster.kill(leader)
        cluster.kill(other)
        cluster.resume(lagging)
        deadline = time.monotonic() + SESSION_MS / 1000 * 3
        while time.monotonic() < deadline:
            assert cluster.role(lagging) != "leader", cluster.describe()
            with lagging.raw() as conn:
                refused = conn.call("SET", "k", "v").value
            # (READONLY as a follower until the dead leader's session expires, then why)
            assert refused == READONLY or refused.startswith(NO_LEADER), refused
            time.sleep(0.1)
        decision = info(lagging, "coordination")["last_decision"]
        assert decision.startswith("no in-sync replica")
        # The refusal says why: what the recovery waits for (INFO's last_decision).
        with lagging.raw() as conn:
            assert conn.call("SET", "k", "v").value == NO_LEADER + decision.encode()
        assert acked  # (they are safe: only the dead nodes' memory held them)


def test_digest_auth_acls_and_node_ids(zookeeper: ZooKeeperServer, tmp_path: Path) -> None:
    """zk-auth: the znodes carry a digest ACL (others may read, not write); node-id names."""
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoAuthError

    names = iter(["alpha", "beta"])
    cluster = NodeCluster(zookeeper, tmp_path, size=0, zk_auth="ops:s3cret")
    with cluster:
        for _ in range(2):
            cluster.options["node_id"] = next(names)
            cluster.nodes.append(cluster._start_node(len(cluster.nodes)))
        leader = cluster.leader()
        follower = cluster.followers(leader)[0]
        assert wait_until(
            lambda: info(leader, "coordination").get("zk_isr") == "alpha,beta", WAIT
        ), cluster.describe()
        assert info(follower, "coordination")["leader_id"] == "alpha"
        assert leader.client().set("k", "v")
        state_path = f"/respcache/{cluster.name}/state"
        outsider = KazooClient(zookeeper.connect_string)
        outsider.start(timeout=WAIT)
        try:
            data, _ = outsider.get(state_path)  # world-readable
            assert b'"leader": "alpha"' in data or b'"leader":"alpha"' in data
            with pytest.raises(NoAuthError):
                outsider.set(state_path, b"{}")
        finally:
            outsider.stop()
            outsider.close()
