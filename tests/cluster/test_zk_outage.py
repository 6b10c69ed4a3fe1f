"""ZooKeeper down: the leader keeps taking writes while its session is only suspended,
and stops once a whole session timeout passed without ZooKeeper."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from failover_cluster import WAIT, cluster_of, info
from support import wait_until
from test_failover import assert_all_readable, write_keys

from respcache.coordination.zkserver import ZooKeeperServer

pytestmark = pytest.mark.cluster

SESSION_MS = 5000
"""Longer than a ZooKeeper restart takes (a JVM start), short enough for the test."""


def test_leader_serves_through_a_zookeeper_outage_shorter_than_the_session(
    private_zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    with cluster_of(private_zookeeper, tmp_path, zk_session_timeout=SESSION_MS) as cluster:
        leader = cluster.leader()
        cluster.wait_in_sync(leader)
        epoch = info(leader, "coordination")["cluster_epoch"]
        client = leader.client()
        acked = write_keys(client, "before", 10)

        private_zookeeper.stop()
        assert wait_until(lambda: info(leader, "coordination").get("zk_connected") == "0", WAIT)
        # Every write is acknowledged (by the whole ISR), reads are fenced as usual.
        during = write_keys(client, "during", 30)
        assert len(during) == 30
        assert client.get("during:29") == b"during:29"
        acked += during
        assert cluster.role(leader) == "leader"

        private_zookeeper.start()  # same port, same data: the sessions survived
        assert wait_until(lambda: info(leader, "coordination").get("zk_connected") == "1", WAIT)
        acked += write_keys(client, "after", 10)
        assert cluster.leader() is leader
        assert info(leader, "coordination")["cluster_epoch"] == epoch  # no failover at all

        # Down for longer than the session timeout: the leader stops taking writes.
        private_zookeeper.stop()

        def refused() -> bool:
            try:
                client.set("late", "write")
            except redis.ReadOnlyError:
                return True
            return False

        assert wait_until(refused, WAIT), cluster.describe()
        assert "presumed expired" in leader.log_path.read_text()
        client.close()

        private_zookeeper.start()
        new = cluster.leader(timeout=WAIT)
        cluster.wait_in_sync(new)
        assert_all_readable(new, acked)
