"""Streams with real processes: blocking reads from several clients, and followers
(streamed and fully synced) ending with the leader's streams and groups, which a
promoted follower continues without IDs going backwards."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import redis
from support import ServerProcess, respcache_is_redis
from test_replication import Cluster, cluster, digest, wait_synced  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration]


def _plain(reply: Any) -> Any:
    """A raw reply as plain values, without the consumers' seen-time (each node's clock)."""
    _kind, value = reply
    if isinstance(value, list):
        items = [_plain(item) for item in value]
        if b"seen-time" in items[::2]:
            i = items.index(b"seen-time")
            del items[i : i + 2]
        return items
    return value


def _full(server: ServerProcess, key: str) -> Any:
    """XINFO STREAM FULL as a dict of plain values, seen-times left out."""
    with server.raw() as conn:
        flat = _plain(conn.call("XINFO", "STREAM", key, "FULL", "COUNT", "0"))
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _traffic(c: redis.Redis) -> None:
    for i in range(40):
        c.xadd("s", {"n": i, "pad": "x" * (i % 7)})
    c.xgroup_create("s", "g", id="0")
    c.xgroup_create("s", "h", id="$")
    c.xreadgroup("g", "alice", {"s": ">"}, count=10)
    c.xreadgroup("g", "bob", {"s": ">"}, count=5, noack=True)
    c.xreadgroup("g", "carol", {"s": ">"}, count=7)
    first = c.xrange("s", count=3)
    c.xack("s", "g", first[0][0])
    c.xclaim("s", "g", "bob", 0, [first[1][0]])
    c.xdel("s", first[2][0])
    c.xautoclaim("s", "g", "dave", 0, "0-0", count=4)
    c.xadd("s", {"n": "trim"}, maxlen=30, approximate=True)
    c.xtrim("s", minid=c.xrange("s", count=2)[1][0], approximate=True)
    c.execute_command("XGROUP", "CREATECONSUMER", "s", "h", "erin")
    c.execute_command("XGROUP", "SETID", "s", "h", "0", "ENTRIESREAD", "0")
    c.xreadgroup("h", "erin", {"s": ">"}, count=3)
    c.xadd("s", {"n": "last"})


@pytest.mark.skipif(respcache_is_redis(), reason="respcache's replication fixtures")
def test_followers_end_with_the_leaders_streams(cluster: Callable[..., Cluster]) -> None:  # noqa: F811
    c = cluster(stream_node_max_entries=5)  # settings are not replicated
    streamed = c.follower()
    wait_synced(c.leader, streamed)
    with c.leader.client() as lead:
        _traffic(lead)
    synced = c.follower()  # after the traffic: gets it by full sync
    wait_synced(c.leader, streamed, synced)
    expected = _full(c.leader, "s")
    assert expected[b"groups"] and int(expected[b"length"]) > 0
    assert _full(streamed, "s") == expected
    assert _full(synced, "s") == expected
    assert digest(c.leader) == digest(streamed) == digest(synced)
    # The follower promoted continues after the last ID it saw.
    with streamed.client() as promoted:
        promoted.execute_command("REPLICAOF", "NO", "ONE")
        last = expected[b"last-generated-id"]
        new_id = promoted.xadd("s", {"n": "after-failover"})
        ms, seq = (int(x) for x in new_id.split(b"-"))
        lms, lseq = (int(x) for x in last.split(b"-"))
        assert (ms, seq) > (lms, lseq)


def test_blocking_reads_from_several_clients(server_factory: Any) -> None:
    server: ServerProcess = server_factory.respcache({})
    with server.client() as c:
        c.xgroup_create("q", "workers", id="$", mkstream=True)
    results: dict[str, Any] = {}

    def read(name: str, *args: str) -> None:
        with server.client() as client:
            results[name] = client.execute_command(*args)

    threads = [
        threading.Thread(
            target=read,
            args=(f"w{i}", "XREADGROUP", "GROUP", "workers", f"w{i}", "BLOCK", "10000",
                  "STREAMS", "q", ">"),
        )
        for i in range(3)
    ] + [
        threading.Thread(target=read, args=("tail", "XREAD", "BLOCK", "10000", "STREAMS", "q", "$"))
    ]  # fmt: skip
    for t in threads:
        t.start()
    with server.client() as c:
        deadline = 100
        while int(c.info("clients")["blocked_clients"]) < 4 and deadline:
            threading.Event().wait(0.05)
            deadline -= 1
        ids = [c.xadd("q", {"job": i}) for i in range(3)]
    for t in threads:
        t.join(15)
    delivered = sorted(
        entry[0] for name in ("w0", "w1", "w2") for entry in results[name][0][1]
    )
    assert delivered == sorted(ids)  # each job to exactly one worker
    assert results["tail"][0][1][0][0] == ids[0]
    with server.client() as c:
        assert c.xpending("q", "workers")["pending"] == 3
