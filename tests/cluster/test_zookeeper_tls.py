"""A respcache cluster over TLS everywhere: ZooKeeper 3.8 (``zk-tls``), clients and the
replication link (``tls-replication``, mutual TLS), no plain port at all.

The ensemble is a real ZooKeeper from ``/usr/share/zookeeper`` with the Netty connection
factory and a ``secureClientPort`` whose key store and trust store are PEM files
(``ssl.keyStore.type=PEM``, ZooKeeper 3.8) made by ``support.tls``; ZooKeeper asks for
client certificates (``ssl.clientAuth=need``, its default). The Debian jar's manifest
does not name netty-codec, which the Netty factory needs: it is added to the class path.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.handlers.threading import KazooTimeoutError
from support import ServerProcess
from support.tls import Certs, have_openssl, make_certs, start_tls_only
from zk_helpers import TICK_MS, WAIT

from respcache.coordination.zkserver import ZooKeeperServer, free_port

NETTY_JARS = ("/usr/share/java/netty-codec.jar",)

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(not have_openssl(), reason="needs the openssl command line"),
    pytest.mark.skipif(
        not all(os.path.exists(jar) for jar in NETTY_JARS), reason="needs Netty's codec jar"
    ),
]


class TlsZooKeeper(ZooKeeperServer):
    """ZooKeeper with the Netty factory on the class path."""

    def command(self, cds_flags: Sequence[str] = ()) -> list[str]:
        command = super().command(cds_flags)
        at = command.index("-cp") + 1
        command[at] = os.pathsep.join([command[at], *NETTY_JARS])
        return command


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("zkcerts"))


@pytest.fixture(scope="module")
def secure_zookeeper(
    tmp_path_factory: pytest.TempPathFactory, certs: Certs
) -> Iterator[tuple[TlsZooKeeper, int]]:
    base = tmp_path_factory.mktemp("zktls")
    key = base / "server.pem"  # ZooKeeper's PEM key store: the certificate, then a PKCS#8 key
    pkcs8 = subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", str(certs.server_key)],
        check=True,
        capture_output=True,
    ).stdout
    key.write_bytes(certs.server_cert.read_bytes() + pkcs8)
    secure_port = free_port()
    server = TlsZooKeeper(
        base / "zookeeper",
        tick_time=TICK_MS,
        cds_archive=None,  # another class path than the shared archive's
        extra_config={
            "serverCnxnFactory": "org.apache.zookeeper.server.NettyServerCnxnFactory",
            "secureClientPort": str(secure_port),
            "ssl.keyStore.location": str(key),
            "ssl.keyStore.type": "PEM",
            "ssl.trustStore.location": str(certs.ca),
            "ssl.trustStore.type": "PEM",
        },
    )
    server.start()
    try:
        yield server, secure_port
    finally:
        server.stop()


def tls_options(certs: Certs, secure_port: int) -> dict[str, object]:
    return {
        "zookeeper": f"127.0.0.1:{secure_port}",
        "zk_tls": "yes",
        "zk_tls_ca_file": str(certs.ca),
        "zk_tls_cert_file": str(certs.client_cert),
        "zk_tls_key_file": str(certs.client_key),
        "cluster_name": "tls",
        "zk_session_timeout": 2000,
    }


def test_a_tls_only_cluster_over_a_tls_zookeeper(
    secure_zookeeper: tuple[TlsZooKeeper, int], certs: Certs, tmp_path: Path
) -> None:
    """TLS everywhere: clients, the replication link (mutual TLS), ZooKeeper."""
    _, secure_port = secure_zookeeper
    options = tls_options(certs, secure_port) | {
        "cluster_name": "tlsonly",
        "tls_replication": "yes",
        "tls_auth_clients": "yes",
        "read_consistency": "local",  # the follower answers reads from its copy
    }
    started: list[ServerProcess] = []
    mutual = {
        "ssl_ca_certs": str(certs.ca),
        "ssl_certfile": str(certs.client_cert),
        "ssl_keyfile": str(certs.client_key),
    }
    try:
        first = start_tls_only(certs, tmp_path, started, **options)
        second = start_tls_only(certs, tmp_path, started, **options)
        clients: list[Any] = [first.client(**mutual), second.client(**mutual)]
        deadline = time.monotonic() + WAIT
        while True:
            roles = [c.execute_command("ROLE") for c in clients]
            kinds = sorted(role[0] for role in roles)
            follower_up = any(r[0] == b"slave" and r[3] == b"connected" for r in roles)
            if kinds == [b"master", b"slave"] and follower_up:
                break
            assert time.monotonic() < deadline, (roles, first.log_text(), second.log_text())
            time.sleep(0.05)
        leader, follower = clients if roles[0][0] == b"master" else clients[::-1]
        leader_server = first if roles[0][0] == b"master" else second
        follower_role = follower.execute_command("ROLE")
        assert int(follower_role[2]) == leader_server.port  # the leader's TLS port
        assert leader.set("k", "over TLS")  # acknowledged by the follower
        assert follower.get("k") == b"over TLS"
        # Both election znodes are there, read over TLS with the same certificates.
        zk = KazooClient(
            f"127.0.0.1:{secure_port}",
            use_ssl=True,
            ca=str(certs.ca),
            certfile=str(certs.client_cert),
            keyfile=str(certs.client_key),
        )
        zk.start(timeout=WAIT)
        try:
            assert len(zk.get_children("/respcache/tlsonly/election")) == 2
        finally:
            zk.stop()
            zk.close()
        for client in clients:
            client.close()
    finally:
        for server in started:
            server.stop()


def test_the_secure_port_refuses_clients_without_a_certificate(
    secure_zookeeper: tuple[TlsZooKeeper, int], certs: Certs
) -> None:
    _, secure_port = secure_zookeeper
    zk = KazooClient(f"127.0.0.1:{secure_port}", use_ssl=True, ca=str(certs.ca))
    with pytest.raises(KazooTimeoutError):
        zk.start(timeout=1.0)
    zk.stop()
    zk.close()
