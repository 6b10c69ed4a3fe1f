"""redis-py's own Sentinel client finds the master through any respcache node."""

from __future__ import annotations

import time

import pytest
import redis
from redis.sentinel import Sentinel
from support import ServerFactory, respcache_is_redis

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(respcache_is_redis(), reason="redis-server is not a Sentinel"),
]


def test_standalone_node_is_its_own_master(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(cluster_name="mycache")
    sentinel = Sentinel([("127.0.0.1", server.port)], socket_timeout=5)
    assert sentinel.discover_master("mycache") == ("127.0.0.1", server.port)
    master = sentinel.master_for("mycache", socket_timeout=5)
    master.set("via-sentinel", "yes")
    assert master.get("via-sentinel") == b"yes"
    assert sentinel.discover_slaves("mycache") == []
    with pytest.raises(redis.sentinel.MasterNotFoundError):
        sentinel.discover_master("other-name")


@pytest.mark.parametrize("protocol", [2, 3])
def test_sentinel_replies_parse_in_both_protocols(
    server_factory: ServerFactory, protocol: int
) -> None:
    server = server_factory.respcache(cluster_name="c1")
    r = redis.Redis(port=server.port, protocol=protocol)
    masters = r.sentinel_masters()
    state = masters["c1"]
    assert state["is_master"] and not state["is_sdown"] and not state["is_odown"]
    assert state["port"] == server.port
    assert state["num-other-sentinels"] == 0
    assert r.sentinel_get_master_addr_by_name("c1") == (b"127.0.0.1", server.port)
    assert r.sentinel_get_master_addr_by_name("nope") is None
    with pytest.raises(redis.ResponseError, match="No such master with that name"):
        r.sentinel_master("nope")
    assert r.sentinel_slaves("c1") == []


def test_roles_set_by_replicaof_are_what_sentinel_reports(server_factory: ServerFactory) -> None:
    leader = server_factory.respcache(cluster_name="pair")
    follower = server_factory.respcache(
        cluster_name="pair", replicaof=["127.0.0.1", str(leader.port)]
    )
    through_follower = Sentinel([("127.0.0.1", follower.port)], socket_timeout=5)
    assert through_follower.discover_master("pair") == ("127.0.0.1", leader.port)
    through_leader = Sentinel([("127.0.0.1", leader.port)], socket_timeout=5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not through_leader.discover_slaves("pair"):
        time.sleep(0.1)
    assert through_leader.discover_slaves("pair") == [("127.0.0.1", follower.port)]
