"""Every node of the cluster dies at once; restarted from their disks, they elect the one
holding every acknowledged write (see ``recovery_plan`` in coordination/state.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from failover_cluster import WAIT, cluster_of, info
from support import wait_until
from test_failover import assert_all_readable, write_keys

from respcache.coordination.zkserver import ZooKeeperServer

pytestmark = pytest.mark.cluster


def test_all_nodes_killed_then_restarted_lose_no_acknowledged_write(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    with cluster_of(zookeeper, tmp_path, persistent=True) as cluster:
        leader = cluster.leader()
        cluster.wait_in_sync(leader)
        client = leader.client()
        first = write_keys(client, "first", 40)
        cluster.wait_converged()
        for node in cluster.nodes:
            assert node.client().save()
        # More acknowledged writes; only one follower saves them: on disk, it alone
        # holds every acknowledged write (the leader's file and the other's are older).
        second = write_keys(client, "second", 20)
        client.close()
        cluster.wait_converged()
        keeper = cluster.followers(leader)[0]
        assert keeper.client().save()
        epoch = int(info(leader, "coordination")["cluster_epoch"])
        index = cluster.nodes.index(keeper)

        for node in cluster.nodes:
            node.kill()  # SIGKILL, all three
        others = [i for i in range(cluster.size) if i != index]
        for i in others:
            cluster.restart(cluster.nodes[i])

        # Without the keeper nobody may lead (it may hold writes the others lack),
        # and the nodes say so, naming it.
        keeper_id = f"127.0.0.1:{keeper.port}"

        def waiting() -> bool:
            decisions = [info(cluster.nodes[i], "coordination") for i in others]
            return all(f"waiting for {keeper_id}" in d.get("last_decision", "") for d in decisions)

        assert wait_until(waiting, WAIT), cluster.describe()
        assert all(cluster.role(cluster.nodes[i]) != "leader" for i in others)
        log = cluster.nodes[others[0]].log_path.read_text()
        assert f"waiting for {keeper_id}" in log and "unclean-election" in log

        keeper = cluster.restart(cluster.nodes[index])
        new = cluster.leader(timeout=WAIT)
        assert new is keeper, cluster.describe()
        assert int(info(new, "coordination")["cluster_epoch"]) > epoch
        assert "recovery" in new.log_path.read_text()
        assert_all_readable(new, first + second)
        # The others follow it, rejoin the ISR and get its data.
        cluster.wait_in_sync(new)
        cluster.wait_converged()
        for node in cluster.nodes:
            assert int(info(node, "replication")["master_repl_offset"]) > 0
        client = new.client()
        assert client.set("after", "recovery")
        client.close()


def test_with_appendfsync_always_a_kill_of_every_node_under_load_loses_nothing(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    # No SAVE: the AOF alone. Each node's files end with the replication mark of what
    # they hold (``#RC:`` annotations), so the restarted nodes know their offsets and
    # elect one holding every acknowledged write.
    with cluster_of(
        zookeeper, tmp_path, persistent=True, appendonly="yes", appendfsync="always"
    ) as cluster:
        leader = cluster.leader()
        cluster.wait_in_sync(leader)
        client = leader.client()
        acked = write_keys(client, "aof", 150)
        client.close()
        for node in cluster.nodes:
            node.kill()  # SIGKILL, all three, with no save
        for node in list(cluster.nodes):
            cluster.restart(node)
        new = cluster.leader(timeout=WAIT)
        assert "Recovered replication history" in new.log_path.read_text()
        assert_all_readable(new, acked)
        cluster.wait_in_sync(new)  # the others resync from it and rejoin the ISR
        client = new.client()
        assert client.set("after", "recovery")
        client.close()
