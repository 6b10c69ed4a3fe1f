"""Planned handoffs: FAILOVER and SIGTERM on the leader lose and fail no client write.

Writers INCRement their own counters through redis-py's Sentinel client while the
leadership moves; afterwards every counter equals the number of INCRs acknowledged
(nothing lost, nothing applied twice) and no call raised. See docs/coordination.md,
"Planned handoff", for what the clients see on the wire.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis
from failover_cluster import WAIT, WriteLoad, cluster_of, info
from support import ServerProcess, wait_until

from respcache.coordination.zkserver import ZooKeeperServer

pytestmark = pytest.mark.cluster


def call(node: ServerProcess, *args: str | int) -> bytes:
    """One command on a fresh connection; the reply's payload (errors too)."""
    with node.raw() as conn:
        reply = conn.call(*args)
    assert isinstance(reply.value, bytes), reply
    return bytes(reply.value)


def failover_state(node: ServerProcess) -> str:
    return info(node, "replication").get("master_failover_state", "?")


def test_failover_under_write_load(zookeeper: ZooKeeperServer, tmp_path: Path) -> None:
    with cluster_of(zookeeper, tmp_path) as cluster:
        first = cluster.leader()
        cluster.wait_in_sync(first)
        a, b = cluster.followers(first)

        # Redis's checks and error texts.
        assert call(a, "FAILOVER") == b"ERR FAILOVER is not valid when server is a replica."
        assert call(first, "FAILOVER", "ABORT") == b"ERR No failover in progress."
        assert call(first, "FAILOVER", "TO", "127.0.0.1", 1) == (
            b"ERR FAILOVER target HOST and PORT is not a replica."
        )
        assert call(first, "FAILOVER", "FORCE") == (
            b"ERR FAILOVER with force option requires both a timeout and target HOST and IP."
        )
        assert call(first, "FAILOVER", "TIMEOUT", 0) == (
            b"ERR FAILOVER timeout must be greater than 0"
        )
        assert call(first, "FAILOVER", "TO", "127.0.0.1") == b"ERR syntax error"

        # Sentinel's +switch-master, published by every node (here: a follower).
        watcher = redis.Redis(port=b.port, socket_timeout=WAIT)
        pubsub = watcher.pubsub()
        pubsub.subscribe("+switch-master")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"

        load = WriteLoad(cluster, writers=4, transactions=1).start()
        try:
            load.wait_for(200)
            assert call(first, "FAILOVER") == b"OK"  # to whichever follower is in sync
            assert wait_until(lambda: cluster.discover()[1] != first.port, WAIT)
            second = cluster.leader(exclude=first)
            assert failover_state(first) == "no-failover"
            load.wait_for(200)

            # And back, to a chosen node, through FAILOVER TO.
            cluster.wait_in_sync(second)
            assert call(second, "FAILOVER", "TO", "127.0.0.1", first.port) == b"OK"
            assert wait_until(lambda: cluster.discover() == ("127.0.0.1", first.port), WAIT)
            load.wait_for(200)
        finally:
            load.stop()
        assert cluster.leader() is first
        cluster.wait_in_sync(first)
        load.check(first, exact=True)  # no failure, no loss, nothing applied twice
        cluster.wait_converged()
        print(f"{load.total()} INCRs acknowledged across two handoffs, none failed")

        messages = []
        while len(messages) < 2:
            message = pubsub.get_message(timeout=5)
            assert message is not None, f"+switch-master messages: {messages}"
            if message["type"] == "message":
                messages.append(message["data"].decode())
        assert messages == [
            f"{cluster.name} 127.0.0.1 {first.port} 127.0.0.1 {second.port}",
            f"{cluster.name} 127.0.0.1 {second.port} 127.0.0.1 {first.port}",
        ]
        watcher.close()


def test_failover_waits_for_the_target_and_can_be_aborted(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    """Writes arriving during the handoff are held before they run; after an abort they run."""
    with cluster_of(zookeeper, tmp_path, repl_ack_timeout=5000) as cluster:
        leader = cluster.leader()
        cluster.wait_in_sync(leader)
        target = cluster.followers(leader)[0]
        leader.client().set("n", 0)

        for abort in ("command", "timeout"):
            cluster.pause(target)  # it cannot catch up: the failover waits
            args = ["FAILOVER", "TO", "127.0.0.1", target.port]
            if abort == "timeout":
                args += ["TIMEOUT", 1000]
            assert call(leader, *args) == b"OK"
            assert failover_state(leader) == "waiting-for-sync"
            assert call(leader, "FAILOVER") == b"ERR FAILOVER already in progress."
            done: list[object] = []
            client = leader.client()

            def incr(client: redis.Redis = client, done: list[object] = done) -> None:
                done.append(client.incr("n"))

            writer = threading.Thread(target=incr)
            writer.start()
            # (No GET here: a read waits for the paused ISR member's acknowledgement.)
            assert wait_until(lambda: info(leader, "coordination")["held_writes"] == "1", WAIT)
            assert not done
            if abort == "command":
                assert call(leader, "FAILOVER", "ABORT") == b"OK"
            assert wait_until(lambda: failover_state(leader) == "no-failover", WAIT)
            cluster.resume(target)
            writer.join(WAIT)
            client.close()
            assert done == [1 if abort == "command" else 2]  # ran once, on this leader
            assert cluster.leader() is leader
        assert call(leader, "GET", "n") == b"2"


def test_sigterm_on_the_leader_hands_off(zookeeper: ZooKeeperServer, tmp_path: Path) -> None:
    with cluster_of(zookeeper, tmp_path) as cluster:
        old = cluster.leader()
        cluster.wait_in_sync(old)
        load = WriteLoad(cluster, writers=3).start()
        try:
            load.wait_for(200)
            started = time.monotonic()
            old.signal(15)
            assert old.wait(WAIT) == 0
            print(f"SIGTERM on the leader: exited after {time.monotonic() - started:.2f}s")
            new = cluster.leader(exclude=old)
            load.wait_for(200)
        finally:
            load.stop()
        assert cluster.discover() == ("127.0.0.1", new.port)
        load.check(new, exact=True)
        cluster.wait_converged()
        print(f"{load.total()} INCRs acknowledged across the shutdown, none failed")
