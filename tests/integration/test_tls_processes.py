"""TLS on real processes: clients (redis-py, redis-cli), mutual TLS, reloads, a TLS
follower, and the HTTPS endpoint with ACL authentication.

The certificates are made once per session with the ``openssl`` command line
(:mod:`support.tls`). Where Redis 7.0 defines the behaviour (CONFIG GET values,
CONFIG SET error texts, INFO's ``tcp_port``) the test asks a real redis-server
started with the same certificates and compares.
"""

from __future__ import annotations

import base64
import http.client
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from support import ServerFactory, ServerProcess, free_port, respcache_is_redis
from support.tls import (
    KEY_PASSPHRASE,
    Certs,
    have_openssl,
    make_certs,
    server_options,
    start_tls_only,
    tls_connection,
    tls_context,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_openssl(), reason="needs the openssl command line"),
]


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def tls_client(port: int, certs: Certs, **kwargs: Any) -> redis.Redis:
    return redis.Redis(port=port, ssl=True, ssl_ca_certs=str(certs.ca), socket_timeout=10, **kwargs)


def peer_subject(port: int, certs: Certs, client_cert: bool = False) -> str:
    """The CN of the certificate a new TLS connection to ``port`` is served."""
    ctx = tls_context(certs, client_cert)
    with tls_connection(port, ctx) as sock:
        cert = sock.getpeercert()
    assert cert is not None
    return dict(pair[0] for pair in cert["subject"])["commonName"]


def handshake_refused(port: int, ctx: ssl.SSLContext) -> bool:
    """True when the server ends a TLS connection without answering a PING."""
    try:
        with tls_connection(port, ctx) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64) == b""
    except (ssl.SSLError, ConnectionError):
        return True


@pytest.fixture
def pair(server_factory: ServerFactory, certs: Certs) -> Iterator[tuple[ServerProcess, int]]:
    """A respcache server with a plain port and a TLS port (tls-auth-clients optional)."""
    tls_port = free_port()
    server = server_factory.respcache(server_options(certs, tls_port, tls_auth_clients="optional"))
    yield server, tls_port


def start_redis_tls(server_factory: ServerFactory, certs: Certs, tls_port: int) -> ServerProcess:
    return server_factory.redis(server_options(certs, tls_port, tls_auth_clients="optional"))


# --- clients -------------------------------------------------------------------------------


@pytest.mark.skipif(respcache_is_redis(), reason="compares respcache with redis-server")
def test_tls_settings_and_replies_are_redis_s(
    server_factory: ServerFactory, certs: Certs, pair: tuple[ServerProcess, int]
) -> None:
    server, tls_port = pair
    redis_tls_port = free_port()
    oracle = start_redis_tls(server_factory, certs, redis_tls_port)
    ours = server.client().config_get("tls-*")
    theirs = oracle.client().config_get("tls-*")
    for settings, port in ((ours, tls_port), (theirs, redis_tls_port)):
        assert settings.pop("tls-port") == str(port)
    assert ours.pop("tls-http") == "yes"  # respcache's one addition (docs/operations.md)
    assert ours == theirs
    # The same replies over TLS as over plain TCP, byte for byte, pipelined.
    script = (
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nval\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
        b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\nPING inline\r\n"
        b"*3\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n"  # arity error, then a complete frame
        b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"
    )
    answers = []
    for port, secure in ((server.port, False), (tls_port, True), (redis_tls_port, True)):
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock = tls_context(certs).wrap_socket(raw, server_hostname="127.0.0.1") if secure else raw
        with sock:
            sock.sendall(script + b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n")
            data = b""
            while data.count(b"\r\n") < 9:
                data += sock.recv(65536)
            answers.append(data)
    assert answers[0] == answers[1] == answers[2], answers
    # INFO's tcp_port: port, or tls-port when port is 0 (checked in the TLS-only test).
    assert server.client().info("server")["tcp_port"] == server.port


def test_redis_py_over_tls_with_and_without_a_client_certificate(
    certs: Certs, pair: tuple[ServerProcess, int]
) -> None:
    _, tls_port = pair
    with tls_client(tls_port, certs) as r:
        r.set("greeting", "hello")
        assert r.get("greeting") == b"hello"
        pipe = r.pipeline(transaction=True)
        pipe.incr("n").incr("n").get("n")
        assert pipe.execute() == [1, 2, b"2"]
        assert r.ping()
    with tls_client(
        tls_port,
        certs,
        ssl_cert_reqs="required",
        ssl_certfile=str(certs.client_cert),
        ssl_keyfile=str(certs.client_key),
    ) as r:
        assert r.get("greeting") == b"hello"
    # A client that does not trust the server's CA refuses it.
    stranger = ssl.create_default_context(cafile=str(certs.stranger_ca))
    with pytest.raises(ssl.SSLCertVerificationError), tls_connection(tls_port, stranger):
        pass


def test_tls_auth_clients_yes_refuses_clients_without_a_certificate(
    server_factory: ServerFactory, certs: Certs
) -> None:
    tls_port = free_port()
    options = server_options(certs, tls_port, tls_auth_clients="yes", tls_ca_cert_file="")
    options["tls_ca_cert_dir"] = str(certs.ca_dir)  # client certificates checked by a CA dir
    server = server_factory.respcache(options)
    assert handshake_refused(tls_port, tls_context(certs))
    with tls_client(
        tls_port, certs, ssl_certfile=str(certs.client_cert), ssl_keyfile=str(certs.client_key)
    ) as r:
        assert r.ping()
    # tls-auth-clients no: no certificate asked for; CONFIG SET applies to new connections.
    server.client().config_set("tls-auth-clients", "no")
    with tls_client(tls_port, certs) as r:
        assert r.ping()


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="needs redis-cli")
def test_redis_cli_tls(certs: Certs, pair: tuple[ServerProcess, int]) -> None:
    help_text = subprocess.run(["redis-cli", "--help"], capture_output=True, text=True).stderr
    help_text += subprocess.run(["redis-cli", "--help"], capture_output=True, text=True).stdout
    if "--tls" not in help_text:
        pytest.skip("redis-cli built without TLS")
    _, tls_port = pair
    base = ["redis-cli", "-p", str(tls_port), "--tls", "--cacert", str(certs.ca)]
    run = subprocess.run([*base, "SET", "cli", "over tls"], capture_output=True, text=True)
    assert run.stdout == "OK\n", run
    mutual = [*base, "--cert", str(certs.client_cert), "--key", str(certs.client_key)]
    run = subprocess.run([*mutual, "GET", "cli"], capture_output=True, text=True)
    assert run.stdout == "over tls\n", run


# --- reloads ---------------------------------------------------------------------------------


@pytest.mark.skipif(respcache_is_redis(), reason="compares respcache with redis-server")
def test_config_set_reloads_certificates_for_new_connections(
    server_factory: ServerFactory, certs: Certs, pair: tuple[ServerProcess, int]
) -> None:
    server, tls_port = pair
    admin = server.client()
    kept = tls_client(tls_port, certs)
    assert kept.ping()
    assert peer_subject(tls_port, certs) == "server"
    error = "Unable to update TLS configuration. Check server logs."
    oracle = start_redis_tls(server_factory, certs, free_port()).client()
    for client in (admin, oracle):
        for cert in ("/nonexistent.crt", str(certs.other_cert)):  # other: the key does not fit
            with pytest.raises(redis.ResponseError) as info:
                client.config_set("tls-cert-file", cert)
            assert str(info.value) == (
                f"CONFIG SET failed (possibly related to argument 'tls-cert-file') - {error}"
            )
        with pytest.raises(redis.ResponseError) as info:
            client.config_set("tls-protocols", "TLSv9")
        assert "argument 'tls-protocols'" in str(info.value)
    assert peer_subject(tls_port, certs) == "server"  # the failed sets changed nothing
    admin.config_set("tls-cert-file", str(certs.other_cert), "tls-key-file", str(certs.other_key))
    assert peer_subject(tls_port, certs) == "other"
    assert admin.config_get("tls-cert-file") == {"tls-cert-file": str(certs.other_cert)}
    assert kept.ping()  # the connection made before the reload keeps working
    kept.close()
    # tls-port itself moves (Redis's changeListenPort): the new port serves, the old closes.
    new_port = free_port()
    admin.config_set("tls-port", new_port)  # bound before the reply: no wait needed
    assert peer_subject(new_port, certs) == "other"
    assert admin.config_get("tls-port") == {"tls-port": str(new_port)}
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", tls_port), timeout=2).close()


def test_encrypted_key_and_tls_protocols(server_factory: ServerFactory, certs: Certs) -> None:
    tls_port = free_port()
    server = server_factory.respcache(
        server_options(
            certs,
            tls_port,
            tls_key_file=str(certs.server_key_encrypted),
            tls_key_file_pass=KEY_PASSPHRASE,
            tls_protocols="TLSv1.3",
            tls_ciphersuites="TLS_CHACHA20_POLY1305_SHA256",
        )
    )
    ctx = tls_context(certs)
    with tls_connection(tls_port, ctx) as sock:
        assert sock.version() == "TLSv1.3"
        cipher = sock.cipher()
        assert cipher is not None and cipher[0] == "TLS_CHACHA20_POLY1305_SHA256"
    only12 = tls_context(certs)
    only12.maximum_version = ssl.TLSVersion.TLSv1_2
    assert handshake_refused(tls_port, only12)
    server.client().config_set("tls-protocols", "TLSv1.2 TLSv1.3")
    with tls_connection(tls_port, only12) as sock:
        assert sock.version() == "TLSv1.2"


# --- TLS only, replication -----------------------------------------------------------------


@pytest.mark.skipif(respcache_is_redis(), reason="respcache's replication")
def test_tls_only_leader_and_tls_follower(
    server_factory: ServerFactory, certs: Certs, tmp_path: Path
) -> None:
    started: list[ServerProcess] = []
    try:
        # Mutual TLS on the replication link: the leader asks for client certificates.
        leader = start_tls_only(
            certs, tmp_path, started, tls_replication="yes", tls_auth_clients="yes"
        )
        mutual = {
            "ssl_ca_certs": str(certs.ca),
            "ssl_certfile": str(certs.client_cert),
            "ssl_keyfile": str(certs.client_key),
        }
        lr: Any = leader.client(**mutual)
        assert lr.info("server")["tcp_port"] == leader.port  # tls-port when port is 0
        lr.set("before", "sync")
        follower = start_tls_only(
            certs,
            tmp_path,
            started,
            tls_replication="yes",
            replicaof=f"127.0.0.1 {leader.port}",
            tls_client_cert_file=str(certs.client_cert),
            tls_client_key_file=str(certs.client_key),
        )
        fr: Any = follower.client(**mutual)
        deadline = time.monotonic() + 10
        while fr.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, follower.log_text()
            time.sleep(0.05)
        assert lr.set("after", "stream")  # acknowledged by the in-sync follower
        assert fr.mget("before", "after") == [b"sync", b"stream"]
        replica = lr.info("replication")["slave0"]
        assert replica["port"] == follower.port  # REPLCONF listening-port: the TLS port
        assert lr.config_get("port") == {"port": "0"}  # no plain TCP: the link is TLS
    finally:
        for server in started:
            server.stop()


# --- HTTPS + authentication ----------------------------------------------------------------


def https(
    port: int,
    certs: Certs,
    method: str,
    path: str,
    body: bytes | None = None,
    auth: str | None = None,
) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=tls_context(certs))
    try:
        conn.request(method, path, body=body, headers={"Authorization": auth} if auth else {})
        resp = conn.getresponse()
        return resp.status, resp.read(), resp
    finally:
        conn.close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.skipif(respcache_is_redis(), reason="redis-server has no HTTP endpoint")
def test_https_endpoint_authenticates_against_the_acl(
    server_factory: ServerFactory, certs: Certs
) -> None:
    tls_port, http_port = free_port(), free_port()
    server = server_factory.respcache(
        server_options(certs, tls_port, http_port=http_port, requirepass="s3cret")
    )
    admin = server.client()
    admin.acl_setuser("reader", enabled=True, passwords=["+readpw"], keys=["*"], commands=["+get"])
    status, body, resp = https(http_port, certs, "GET", "/data/k")
    assert status == 401 and body == b"NOAUTH Authentication required.\n"
    assert resp.headers.get_all("WWW-Authenticate") == [
        'Basic realm="respcache", charset="UTF-8"',
        'Bearer realm="respcache"',
    ]
    assert https(http_port, certs, "PUT", "/data/k", b"v", "Bearer s3cret")[0] == 204
    assert https(http_port, certs, "GET", "/data/k", None, basic("default", "s3cret"))[:2] == (
        200,
        b"v",
    )
    assert https(http_port, certs, "GET", "/data/k", None, basic("reader", "readpw"))[:2] == (
        200,
        b"v",
    )
    status, body, _ = https(http_port, certs, "PUT", "/data/k", b"w", basic("reader", "readpw"))
    assert status == 403 and body.startswith(b"NOPERM"), body
    admin.acl_setuser("writer", enabled=True, passwords=["+wpw"], keys=["k*"], commands=["+set"])
    assert https(http_port, certs, "PUT", "/data/k2", b"w", basic("writer", "wpw"))[0] == 204
    status, body, _ = https(http_port, certs, "GET", "/data/k", None, basic("writer", "wpw"))
    assert (
        status == 403 and body == b"NOPERM this user has no permissions to run the 'get' command\n"
    )
    status, body, _ = https(http_port, certs, "PUT", "/data/x", b"w", basic("writer", "wpw"))
    assert status == 403 and body.startswith(b"NOPERM"), body  # a key outside k*
    status, body, _ = https(http_port, certs, "GET", "/data/k", None, basic("reader", "nope"))
    assert status == 401 and body.startswith(b"WRONGPASS")
    assert https(http_port, certs, "GET", "/metrics")[0] == 401
    assert https(http_port, certs, "GET", "/metrics", None, "Bearer s3cret")[0] == 200
    assert https(http_port, certs, "GET", "/health")[0] == 200  # open, by design
    reasons = [entry["reason"] for entry in admin.acl_log()]
    assert "auth" in reasons and "command" in reasons
    # Plain HTTP on the HTTPS port gets nowhere.
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
        plain.request("GET", "/health")
        plain.getresponse().read()
