"""ACL across a leader and its follower (real processes): respcache replicates ACL.

Redis keeps ACL per node; respcache sends ACL SETUSER/DELUSER/LOAD down the replication
stream and the users after every full sync, so a follower has the leader's users and a
failover does not change who may do what. The follower authenticates to the leader with
``masteruser``/``masterauth``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from support import ServerFactory, ServerProcess, respcache_is_redis

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(respcache_is_redis(), reason="respcache replicates ACL, Redis does not"),
]

FAST = {"repl_ping_replica_period": 1, "repl_timeout": 5, "repl_ack_timeout": 300}


def until(predicate: Callable[[], bool], message: Callable[[], Any], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {message()}")
        time.sleep(0.05)


def acl_list(server: ServerProcess) -> list[bytes]:
    with server.raw() as conn:
        return [item.value for item in conn.call("ACL", "LIST").value]


def test_acl_reaches_the_follower_which_authenticates_as_masteruser(
    server_factory: ServerFactory,
) -> None:
    leader = server_factory.respcache(FAST)
    with leader.raw() as conn:
        conn.call("ACL", "SETUSER", "repl", "on", ">replpw", "~*", "&*", "+@all")
        conn.call("ACL", "SETUSER", "alice", "on", ">a", "~a*", "+get", "(~b* +set)")
    follower = server_factory.respcache(
        {
            **FAST,
            "replicaof": (leader.host, leader.port),
            "masteruser": "repl",
            "masterauth": "replpw",
        }
    )
    # The users created before the follower came arrive with the full sync.
    until(lambda: acl_list(follower) == acl_list(leader), lambda: acl_list(follower))
    with leader.raw() as conn:
        clients = conn.call("CLIENT", "LIST", "TYPE", "replica").value.decode()
        assert "user=repl" in clients, clients
        conn.call("ACL", "SETUSER", "bob", "on", "nopass", "%R~r*", "+@read")
        conn.call("ACL", "SETUSER", "alice", "-get", "+mget")
        conn.call("ACL", "DELUSER", "repl-nosuch")
    until(lambda: acl_list(follower) == acl_list(leader), lambda: acl_list(follower))
    with follower.raw() as conn:
        assert conn.call("AUTH", "alice", "a").value == b"OK"
        assert not conn.call("MGET", "a1").is_error
        assert conn.call("GET", "a1").value.startswith(b"NOPERM")  # -get reached it too
        assert conn.call("SET", "b1", "v").value.startswith(b"READONLY")  # the selector allows it
    with leader.raw() as conn:
        assert conn.call("ACL", "DELUSER", "alice").value == b"1"
    until(lambda: acl_list(follower) == acl_list(leader), lambda: acl_list(follower))
    assert all(b"alice" not in line for line in acl_list(follower))
