"""The aiohttp application in-process, through aiohttp's test client (a loopback server).

The engine behind it is a real one; the node's status is a stand-in the test
controls (role, leader), so a follower's answers can be checked without a cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from respcache.commands import Engine
from respcache.config import Config
from respcache.server.gate import CommitGate
from respcache.server.http import LEADER_HEADER, HttpEndpoint
from respcache.server.status import NodeStatus

LEADER = NodeStatus(
    role="master",
    serving=True,
    epoch=3,
    leader="127.0.0.1:7000",
    isr=("b",),
    offset=10,
    committed=10,
)
FOLLOWER = NodeStatus(
    role="slave", serving=False, epoch=3, leader="127.0.0.1:7000", isr=(), offset=10, committed=10
)


def with_client(
    test: Callable[[TestClient, Engine, CommitGate, list[NodeStatus]], Awaitable[None]],
) -> None:
    async def main() -> None:
        config = Config()
        engine = Engine(config)
        gate = CommitGate()
        status = [LEADER]
        endpoint = HttpEndpoint(engine, gate, config, lambda: status[0])
        async with TestClient(TestServer(endpoint.app)) as client:
            await test(client, engine, gate, status)

    asyncio.run(main())


def test_data_put_get_delete_ttl_and_chunked() -> None:
    async def test(
        http: TestClient, engine: Engine, gate: CommitGate, st: list[NodeStatus]
    ) -> None:
        resp = await http.put("/data/k", data=b"hello")
        assert resp.status == 204
        resp = await http.get("/data/k")
        assert resp.status == 200 and await resp.read() == b"hello"
        resp = await http.head("/data/k")
        assert resp.status == 200 and resp.headers["Content-Length"] == "5"

        async def chunks():  # type: ignore[no-untyped-def]
            yield b"h"
            yield b"i"

        resp = await http.put("/data/chunked", data=chunks())
        assert resp.status == 204
        assert engine.keyspace.dbs[0].data[b"chunked"] == b"hi"
        resp = await http.post("/data/t?ttl=100", data=b"x")
        assert resp.status == 204
        assert engine.keyspace.dbs[0].expires.get(b"t") is not None
        assert (await http.delete("/data/k")).status == 204
        assert (await http.delete("/data/k")).status == 404
        assert (await http.get("/data/k")).status == 404
        assert (await http.patch("/data/k", data=b"")).status == 405
        resp = await http.get("/data/a%2Fb%00")
        assert resp.status == 404
        assert (await http.put("/data/a%2Fb%00", data=b"v")).status == 204
        assert b"a/b\x00" in engine.keyspace.dbs[0].data

    with_client(test)


def test_a_follower_answers_421_with_the_leader_where_resp_says_readonly() -> None:
    async def test(
        http: TestClient, engine: Engine, gate: CommitGate, st: list[NodeStatus]
    ) -> None:
        engine.read_only = True  # what replication sets on a follower
        st[0] = FOLLOWER
        resp = await http.put("/data/k", data=b"v")
        assert resp.status == 421
        assert resp.headers[LEADER_HEADER] == "127.0.0.1:7000"
        assert (await resp.read()).startswith(
            b"READONLY You can't write against a read only replica."
        )
        assert b"k" not in engine.keyspace.dbs[0].data
        health = await http.get("/health")
        assert health.status == 503
        body = await health.json()
        assert body["role"] == "slave" and body["leader"] == "127.0.0.1:7000"

    with_client(test)


def test_a_response_waits_for_the_commit_gate_and_a_pause() -> None:
    async def test(
        http: TestClient, engine: Engine, gate: CommitGate, st: list[NodeStatus]
    ) -> None:
        gate.advance(5)  # a write not acknowledged yet
        pending = asyncio.ensure_future(http.get("/data/k"))
        await asyncio.sleep(0.1)
        assert not pending.done()
        gate.commit(5)
        assert (await pending).status == 404

        engine.pause.pause("client_pause", 10**15, 1)  # CLIENT PAUSE WRITE
        put = asyncio.ensure_future(http.put("/data/k", data=b"v"))
        await asyncio.sleep(0.1)
        assert not put.done() and b"k" not in engine.keyspace.dbs[0].data
        assert (await http.get("/data/k")).status == 404  # reads go on
        engine.pause.unpause("client_pause")
        assert (await put).status == 204
        assert engine.keyspace.dbs[0].data[b"k"] == b"v"

    with_client(test)


def test_health_and_metrics_parse_with_prometheus_client() -> None:
    async def test(
        http: TestClient, engine: Engine, gate: CommitGate, st: list[NodeStatus]
    ) -> None:
        assert (await http.put("/data/k", data=b"v")).status == 204
        assert (await http.get("/data/k")).status == 200
        health = await http.get("/health")
        assert health.status == 200
        body = await health.json()
        assert body["role"] == "master" and body["epoch"] == 3 and body["isr"] == ["b"]
        assert body["offset"] == 10 and body["keys"] == 1
        resp = await http.get("/metrics")
        assert resp.status == 200
        families = {f.name: f for f in text_string_to_metric_families(await resp.text())}
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in families.values()
            for s in f.samples
        }
        assert samples[("respcache_role", (("role", "master"),))] == 1
        assert samples[("respcache_epoch", ())] == 3
        assert samples[("respcache_commands_total", (("command", "set"),))] == 1
        assert samples[("respcache_commands_total", (("command", "get"),))] == 1
        assert samples[("respcache_keys", (("db", "0"),))] == 1
        assert samples[("respcache_isr_size", ())] == 1
        for name in (
            "respcache_connected_clients",
            "respcache_memory_used_bytes",
            "respcache_evicted_keys",
            "respcache_expired_keys",
            "respcache_replication_offset",
            "respcache_zookeeper_session",
            "respcache_failovers",
            "respcache_command_errors",
        ):
            assert name in families, name

    with_client(test)
