"""The HTTP /data endpoint beside the RESP port, on a real server process."""

from __future__ import annotations

import http.client
import json

import pytest
import redis
from support import ServerFactory, respcache_is_redis
from support.net import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(respcache_is_redis(), reason="redis-server has no HTTP endpoint"),
]


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_data_endpoint_shares_the_keyspace_with_resp(server_factory: ServerFactory) -> None:
    http_port = free_port()
    server = server_factory.respcache(http_port=http_port)
    r = redis.Redis(port=server.port)
    assert request(http_port, "GET", "/data/missing") == (404, b"")
    assert request(http_port, "PUT", "/data/greeting", b"hello world")[0] == 204
    assert r.get("greeting") == b"hello world"
    r.set("from:resp", b"\x00\xffbinary")
    assert request(http_port, "GET", "/data/from%3Aresp") == (200, b"\x00\xffbinary")
    assert request(http_port, "PUT", "/data/temp?ttl=100", b"x")[0] == 204
    assert 0 < r.ttl("temp") <= 100
    assert request(http_port, "DELETE", "/data/greeting")[0] == 204
    assert request(http_port, "DELETE", "/data/greeting")[0] == 404
    assert r.exists("greeting") == 0
    status, body = request(http_port, "GET", "/health")
    assert status == 200 and json.loads(body)["role"] == "master"
    assert request(http_port, "PATCH", "/data/x", b"")[0] == 405
    assert request(http_port, "GET", "/elsewhere")[0] == 404


def test_data_endpoint_needs_the_password_when_one_is_set(server_factory: ServerFactory) -> None:
    http_port = free_port()
    server_factory.respcache(http_port=http_port, requirepass="s3cret")
    status, body = request(http_port, "GET", "/data/k")
    assert status == 401 and body.startswith(b"NOAUTH")
    auth = {"Authorization": "Bearer s3cret"}
    assert request(http_port, "PUT", "/data/k", b"v", auth)[0] == 204
    assert request(http_port, "GET", "/data/k", None, auth) == (200, b"v")


def test_malformed_requests_get_400_and_the_server_survives(server_factory: ServerFactory) -> None:
    import socket

    http_port = free_port()
    server = server_factory.respcache(http_port=http_port)
    with socket.create_connection(("127.0.0.1", http_port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        answer = b""
        while chunk := sock.recv(1024):  # the server answers, then closes
            answer += chunk
        # (aiohttp answers an unparseable request line in HTTP/1.0, the version it can assume)
        version, status = answer.split(b" ", 2)[:2]
        assert version.startswith(b"HTTP/1.") and status == b"400", answer
    with socket.create_connection(("127.0.0.1", http_port), timeout=5) as sock:
        sock.sendall(b"GET /data/k HTTP/1.1\r\nno colon here\r\n\r\n")
        answer = b""
        while chunk := sock.recv(1024):
            answer += chunk
        version, status = answer.split(b" ", 2)[:2]
        assert version.startswith(b"HTTP/1.") and status == b"400", answer
    assert redis.Redis(port=server.port).ping()
