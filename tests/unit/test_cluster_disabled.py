"""CLUSTER, ASKING, READONLY, READWRITE and RESTORE-ASKING as redis-server 7.0.15 with
cluster-enabled no answers them (replies recorded from it)."""

from __future__ import annotations

from conftest import Run

from respcache.commands import REGISTRY, Client
from respcache.errors import CommandError
from respcache.protocol.types import OK

DISABLED = CommandError("ERR This instance has cluster support disabled")


def test_cluster_commands_say_cluster_support_is_disabled(client: Client, run: Run) -> None:
    for line in (
        ["CLUSTER", "INFO"],
        ["CLUSTER", "HELP"],
        ["CLUSTER", "KEYSLOT", "x"],
        ["CLUSTER", "GETKEYSINSLOT", "1", "2"],
        ["ASKING"],
        ["READONLY"],
        ["READWRITE"],
    ):
        assert run(client, *line) == DISABLED, line
    assert run(client, "CLUSTER") == CommandError(
        "ERR wrong number of arguments for 'cluster' command"
    )
    assert run(client, "CLUSTER", "INFO", "x") == CommandError(
        "ERR wrong number of arguments for 'cluster|info' command"
    )
    assert run(client, "ASKING", "x") == CommandError(
        "ERR wrong number of arguments for 'asking' command"
    )


def test_restore_asking_is_restore(client: Client, run: Run) -> None:
    run(client, "SET", "k", "v")
    payload = run(client, "DUMP", "k")
    assert isinstance(payload, bytes)
    assert run(client, "RESTORE-ASKING", "k2", "0", payload) == OK
    assert run(client, "GET", "k2") == b"v"
    assert run(client, "RESTORE-ASKING", "k3", "0", "x") == CommandError(
        "ERR DUMP payload version or checksum are wrong"
    )


def test_table_entries_are_redis_own() -> None:
    cluster = REGISTRY["cluster"]
    assert len(cluster.subcommands) == 27
    info = cluster.subcommands["info"]
    assert (info.arity, info.flags) == (2, frozenset({"stale"}))
    assert REGISTRY["restore-asking"].flags == frozenset({"write", "denyoom", "asking"})
