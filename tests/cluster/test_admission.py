"""One admission stage: RESP, HTTP and MULTI/EXEC get the same verdict on a cluster node.

A follower (``read-consistency linearizable``, the default) refuses writes and
reads over every entry point; a leader handing off holds writes over every
entry point until the handoff ends. Before the admission moved into the
engine, HTTP bypassed it: ``GET /data/k`` on a follower returned the value.
"""

from __future__ import annotations

import http.client
import threading
from pathlib import Path
from typing import Any

import pytest
from failover_cluster import NOT_LEADER_READ, READONLY, WAIT, NodeCluster, info
from support import ServerProcess, start_respcache, wait_until
from support.net import free_port

from respcache.coordination.zkserver import ZooKeeperServer

pytestmark = pytest.mark.cluster

EXECABORT_READ = b"EXECABORT Transaction discarded because of: " + NOT_LEADER_READ
EXECABORT_PREVIOUS = b"EXECABORT Transaction discarded because of previous errors."


class HttpCluster(NodeCluster):
    """Every node with an HTTP port of its own (``http_ports[node.port]``)."""

    http_ports: dict[int, int]

    def _start_node(self, index: int, port: int | None = None) -> ServerProcess:
        zk = self.zookeeper.connect_string
        http_port = free_port()
        node = start_respcache(
            {**self.options, "zookeeper": zk, "http_port": http_port},
            workdir=self.base,
            port=port,
            name=f"node{index}",
        )
        if not hasattr(self, "http_ports"):
            self.http_ports = {}
        self.http_ports[node.port] = http_port
        return node


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, Any, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def transaction(node: ServerProcess, *command: str) -> list[Any]:
    with node.raw() as conn:
        replies = [conn.call("MULTI"), conn.call(*command), conn.call("EXEC")]
    return [r.value for r in replies]


def test_a_follower_refuses_over_resp_http_and_multi_exec(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    with HttpCluster(zookeeper, tmp_path).start() as cluster:
        leader = cluster.leader()
        cluster.wait_in_sync(leader)
        leader_http = cluster.http_ports[leader.port]
        assert request(leader_http, "PUT", "/data/k", b"v1")[0] == 204
        status, _, body = request(leader_http, "GET", "/health")
        assert status == 200 and b'"role": "master"' in body
        cluster.wait_converged()
        for follower in cluster.followers(leader):
            port = cluster.http_ports[follower.port]
            with follower.raw() as conn:
                assert conn.call("GET", "k").value == NOT_LEADER_READ
                assert conn.call("SET", "k", "x").value == READONLY
                # A script may read: it cannot run where reads are refused.
                script = "return redis.call('GET', KEYS[1])"
                assert conn.call("EVAL", script, "1", "k").value == NOT_LEADER_READ
                assert conn.call("EVAL_RO", script, "1", "k").value == NOT_LEADER_READ
            # The bug this stage fixes: HTTP returned the value with 200.
            status, headers, body = request(port, "GET", "/data/k")
            assert status == 421, (status, body)
            assert body.startswith(NOT_LEADER_READ)
            assert headers["X-Respcache-Leader"] == f"127.0.0.1:{leader.port}"
            status, headers, body = request(port, "PUT", "/data/k", b"x")
            assert status == 421 and body.startswith(READONLY)
            assert transaction(follower, "GET", "k")[2] == EXECABORT_READ
            multi = transaction(follower, "SET", "k", "x")
            assert multi[1] == READONLY and multi[2] == EXECABORT_PREVIOUS
            status, _, body = request(port, "GET", "/health")
            assert status == 503 and b'"role": "slave"' in body
            assert info(follower, "replication")["role"] == "slave"
        with leader.raw() as conn:
            assert conn.call("GET", "k").value == b"v1"  # nothing else was written


def test_a_leader_handing_off_holds_writes_over_every_entry_point(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    with HttpCluster(zookeeper, tmp_path, repl_ack_timeout=5000).start() as cluster:
        leader = cluster.leader()
        cluster.wait_in_sync(leader)
        target = cluster.followers(leader)[0]
        port = cluster.http_ports[leader.port]
        cluster.pause(target)  # it cannot catch up: the failover waits, then times out
        with leader.raw() as conn:
            assert conn.call("FAILOVER", "TO", "127.0.0.1", target.port, "TIMEOUT", 1500).value
        results: dict[str, Any] = {}

        def resp() -> None:
            with leader.raw(timeout=WAIT) as conn:
                results["resp"] = conn.call("SET", "a", "1").value

        def over_http() -> None:
            results["http"] = request(port, "PUT", "/data/b", b"2")[0]

        def multi() -> None:
            results["multi"] = transaction(leader, "SET", "c", "3")

        threads = [threading.Thread(target=f) for f in (resp, over_http, multi)]
        for thread in threads:
            thread.start()
        # All three are held before they run (none answered, nothing written).
        assert wait_until(lambda: info(leader, "coordination").get("held_writes") == "3", WAIT)
        assert not results
        assert wait_until(
            lambda: info(leader, "replication").get("master_failover_state") == "no-failover",
            WAIT,
        )
        cluster.resume(target)
        for thread in threads:
            thread.join(WAIT)
        # The handoff timed out: the held commands ran here, once.
        assert results["resp"] == b"OK"
        assert results["http"] == 204
        assert results["multi"][1] == b"QUEUED"
        assert [getattr(r, "value", r) for r in results["multi"][2]] == [b"OK"]
        with leader.raw() as conn:
            assert [conn.call("GET", k).value for k in "abc"] == [b"1", b"2", b"3"]
