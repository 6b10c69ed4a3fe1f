"""The ZooKeeper runner itself, and the coordinator's ZooKeeper options (auth, chroot, late start)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from zk_helpers import WAIT, ZkCluster

from respcache.coordination import BecameLeader, Follow
from respcache.coordination.zkserver import ZooKeeperError, ZooKeeperServer

pytestmark = pytest.mark.cluster


def test_restart_keeps_port_and_data(tmp_path: Path) -> None:
    server = ZooKeeperServer(tmp_path / "zk")
    with server:
        assert server.running and server.port
        assert server.four_letter_word("ruok") == "imok"
        assert "Mode: standalone" in server.four_letter_word("srvr")
        assert server.start_seconds is not None
        address = server.connect_string
        client = KazooClient(address)
        client.start(timeout=WAIT)
        try:
            client.create("/kept", b"v1")
            server.restart()
            assert server.connect_string == address
            # The client reconnects by itself to the same address.
            assert client.retry(client.get, "/kept")[0] == b"v1"
        finally:
            client.stop()
            client.close()
        with pytest.raises(ZooKeeperError, match="already running"):
            server.start()
    assert not server.running
    assert not server.ruok()
    server.stop()  # idempotent


def test_start_failure_reports_the_log(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = ZooKeeperServer(tmp_path / "zk", port=busy.getsockname()[1])
        with pytest.raises(ZooKeeperError, match="exited with status"):
            server.start()
        assert not server.running


async def test_digest_auth_protects_the_znodes(zk_cluster: ZkCluster) -> None:
    a = await zk_cluster.start("a", auth="respcache:s3cret")
    await a.expect(BecameLeader, epoch=1)
    b = await zk_cluster.start("b", auth="respcache:s3cret")
    await b.expect(Follow, leader_node_id="a", epoch=1)
    state_path = a.coordinator.config.state_path

    def outsider() -> None:
        client = zk_cluster.kazoo()
        try:
            data, _ = client.get(state_path)  # world-readable by default
            assert b'"leader":"a"' in data
            with pytest.raises(NoAuthError):
                client.set(state_path, b"{}")
            acl, _ = client.get_acls(state_path)
            # (ZooKeeper masks the digest when it lists ACLs.)
            assert {(a.id.scheme, a.id.id.split(":")[0], a.perms) for a in acl} == {
                ("digest", "respcache", 31),  # ALL
                ("world", "anyone", 1),  # READ
            }
        finally:
            client.stop()
            client.close()

    await asyncio.to_thread(outsider)
    await a.coordinator.add_to_isr("b")
    await zk_cluster.stop("a")
    await b.expect(BecameLeader, epoch=2)


async def test_chroot(zk_cluster: ZkCluster) -> None:
    chroot = f"/apps/{zk_cluster.name}"
    zookeeper = zk_cluster.zookeeper.connect_string + chroot
    a = await zk_cluster.start("a", zookeeper=zookeeper)
    await a.expect(BecameLeader, epoch=1)
    assert a.coordinator.config.state_path == f"{chroot}/respcache/{zk_cluster.name}/state"

    def exists() -> bool:
        client = zk_cluster.kazoo()
        try:
            return client.exists(a.coordinator.config.state_path) is not None
        finally:
            client.stop()
            client.close()

    assert await asyncio.to_thread(exists)


async def test_node_started_before_zookeeper_joins_when_it_comes(
    private_zk_cluster: ZkCluster,
) -> None:
    zookeeper = private_zk_cluster.zookeeper
    await asyncio.to_thread(zookeeper.stop)
    a = await private_zk_cluster.start("a")
    assert not a.coordinator.status.connected
    await asyncio.sleep(0.3)
    assert a.history == []
    await asyncio.to_thread(zookeeper.start)
    await a.expect(BecameLeader, epoch=1)
