"""redis-py against a real server process: sync, asyncio, pipelines, RESP3."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
from support import ServerProcess

pytestmark = pytest.mark.integration


def has_command(server: ServerProcess, name: str) -> bool:
    """Whether the server registers ``name`` (``COMMAND INFO`` answers nil for unknown ones)."""
    with server.raw() as conn:
        reply = conn.call("COMMAND", "INFO", name)
    return reply.kind == "*" and bool(reply.value) and reply.value[0].value is not None


def test_ping_echo_set_get(client: Any, key: bytes) -> None:
    assert client.ping() is True
    assert client.echo(b"hello \x00 world") == b"hello \x00 world"
    assert client.set(key, b"value") is True
    assert client.get(key) == b"value"
    assert client.get(key + b":missing") is None
    assert client.delete(key) == 1
    assert client.get(key) is None


def test_binary_and_large_values(client: Any, key: bytes) -> None:
    value = bytes(range(256)) * 4096  # 1 MiB, every byte value, CR/LF included
    assert client.set(key, value) is True
    assert client.get(key) == value
    assert client.strlen(key) == len(value)


def test_errors_are_redis_errors(client: Any, key: bytes) -> None:
    with pytest.raises(redis.ResponseError, match=r"^unknown command 'NOSUCHCOMMAND'"):
        client.execute_command("NOSUCHCOMMAND", "a")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        client.execute_command("GET")
    client.set(key, b"abc")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        client.incr(key)
    # The connection is still usable after errors.
    assert client.get(key) == b"abc"


def test_decode_responses(respcache_server: ServerProcess, key: bytes) -> None:
    with respcache_server.client(decode_responses=True) as conn:
        conn.set(key, "héllo")
        assert conn.get(key) == "héllo"
        assert conn.incrby(key + b":n", 5) == 5


def test_pipeline_without_transaction(client: Any, key: bytes) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(100):
        pipe.set(key + b":%d" % i, i)
    for i in range(100):
        pipe.get(key + b":%d" % i)
    pipe.incr(key + b":counter")
    pipe.execute_command("GET")  # an error in the middle does not stop the pipeline
    pipe.incr(key + b":counter")
    results = pipe.execute(raise_on_error=False)
    assert results[:100] == [True] * 100
    assert results[100:200] == [str(i).encode() for i in range(100)]
    assert results[200] == 1
    assert isinstance(results[201], redis.ResponseError)
    assert results[202] == 2


def test_pipeline_transaction(respcache_server: ServerProcess, client: Any, key: bytes) -> None:
    if not has_command(respcache_server, "multi"):
        pytest.skip("MULTI/EXEC not registered yet (COMMAND INFO multi is nil)")
    pipe = client.pipeline(transaction=True)
    pipe.set(key, b"1")
    pipe.incr(key)
    pipe.get(key)
    assert pipe.execute() == [True, 2, b"2"]


def test_watch_conflict(respcache_server: ServerProcess, client: Any, key: bytes) -> None:
    if not has_command(respcache_server, "watch"):
        pytest.skip("WATCH not registered yet (COMMAND INFO watch is nil)")
    client.set(key, b"1")
    with client.pipeline(transaction=True) as pipe:
        pipe.watch(key)
        with respcache_server.client() as other:
            other.set(key, b"changed")
        pipe.multi()
        pipe.set(key, b"mine")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert client.get(key) == b"changed"


def test_resp3_client(client3: Any, key: bytes) -> None:
    assert client3.ping() is True
    client3.set(key, b"v")
    assert client3.get(key) == b"v"
    assert client3.get(key + b":missing") is None
    info = client3.execute_command("HELLO", "3")
    assert info[b"proto"] == 3
    assert info[b"server"] == b"redis"
    assert info[b"version"].startswith(b"7.")


def test_hello_switches_protocol_on_raw_connection(respcache_server: ServerProcess) -> None:
    with respcache_server.raw() as conn:
        reply = conn.call("HELLO", "3")
        assert reply.kind == "%"
        fields = {k.value: v for k, v in reply.value}
        assert fields[b"proto"] == (":", b"3")
        assert conn.call("GET", "no-such-key:resp3") == ("_", None)
        reply = conn.call("HELLO", "2")
        assert reply.kind == "*"
        assert conn.call("GET", "no-such-key:resp3") == ("$", None)
        assert conn.call("HELLO", "4") == ("-", b"NOPROTO unsupported protocol version")


def test_asyncio_client(respcache_server: ServerProcess, key: bytes) -> None:
    async def main() -> list[Any]:
        conn = respcache_server.async_client()
        try:
            await conn.set(key, b"0")
            # Concurrent commands over a pool of connections.
            for _ in range(4):
                await asyncio.gather(*(conn.incr(key) for _ in range(50)))
            async with conn.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.incrby(key, 10)
                return list(await pipe.execute())
        finally:
            await conn.aclose()

    assert asyncio.run(main()) == [b"200", 210]


def test_asyncio_resp3(respcache_server: ServerProcess, key: bytes) -> None:
    async def main() -> tuple[Any, Any]:
        conn = respcache_server.async_client(protocol=3)
        try:
            await conn.set(key, b"x")
            return await conn.get(key), await conn.get(key + b":missing")
        finally:
            await conn.aclose()

    assert asyncio.run(main()) == (b"x", None)


def test_many_connections(respcache_server: ServerProcess, key: bytes) -> None:
    conns = [respcache_server.client(single_connection_client=True) for _ in range(50)]
    try:
        for i, conn in enumerate(conns):
            conn.set(key + b":%d" % i, i)
        for i, conn in enumerate(conns):
            assert conn.get(key + b":%d" % ((i + 1) % 50)) == str((i + 1) % 50).encode()
    finally:
        for conn in conns:
            conn.close()
