"""The workload's clients against real redis-server processes on loopback.

redis-server (primary + replicas, :class:`StaticCluster`) is the oracle: what
the clients record against it must pass every checker, and each way an
operation can end (ok, a certain failure, an indeterminate one) is provoked
on purpose to see that it is recorded as the rules in docs/chaos.md say.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from respcache.chaos import F, History, Kind, check_all
from respcache.chaos.cluster import StaticCluster
from respcache.chaos.workload import (
    Capabilities,
    LeaderLocator,
    SentinelLocator,
    Workload,
    WorkloadConfig,
    detect_capabilities,
    is_definite_failure,
    reply_error,
)
from respcache.coordination.zkserver import free_port

pytestmark = pytest.mark.integration


# --------------------------------------------------------------------------- no sockets


@pytest.mark.parametrize(
    ("message", "definite"),
    [
        ("READONLY You can't write against a read only replica.", True),
        ("NOREPLICAS Not enough good replicas to write.", True),
        ("EXECABORT Transaction discarded because of previous errors.", True),
        ("LOADING Redis is loading the dataset in memory", True),
        ("ERR unknown command 'sadd', with args beginning with: ", True),
        ("NOTCOMMITTED The in-sync replicas did not acknowledge this write in time", False),
        ("ERR something we do not know", False),
        ("Connection reset by peer", False),
    ],
)
def test_only_refusals_before_execution_are_definite(message: str, definite: bool) -> None:
    assert is_definite_failure(message) is definite


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (redis.ReadOnlyError("You can't write against a read only replica."),
         "READONLY You can't write against a read only replica."),
        (redis.exceptions.ExecAbortError("Transaction discarded"), "EXECABORT Transaction discarded"),
        (redis.BusyLoadingError("Redis is loading"), "LOADING Redis is loading"),
        (redis.ResponseError("unknown command 'x'"), "ERR unknown command 'x'"),
        (redis.ResponseError("NOTCOMMITTED not acknowledged"), "NOTCOMMITTED not acknowledged"),
        (redis.ResponseError("NOREPLICAS Not enough good replicas"), "NOREPLICAS Not enough good replicas"),
        (redis.ConnectionError("Connection reset by peer"), None),
        (redis.TimeoutError("Timeout reading from socket"), None),
        (OSError("broken pipe"), None),
    ],
)  # fmt: skip
def test_error_replies_get_their_code_back(exc: BaseException, text: str | None) -> None:
    """redis-py drops the code of the errors it knows; the classification needs it."""
    assert reply_error(exc) == text


Role = tuple[str, tuple[str, int] | None]


def _roles(table: dict[int, Role]) -> Callable[[str, int, float], Role]:
    def role(host: str, port: int, timeout: float) -> Role:
        return table[port]

    return role


def test_locator_follows_the_replicas_votes() -> None:
    nodes = {"n1": ("h", 1), "n2": ("h", 2), "n3": ("h", 3)}
    # Two nodes claim to lead (a deposed leader that does not know yet): the replicas decide.
    role = _roles({1: ("master", None), 2: ("master", None), 3: ("slave", ("h", 2))})
    assert LeaderLocator(nodes, role=role).find() == ("h", 2)
    role = _roles({1: ("down", None), 2: ("master", None), 3: ("down", None)})
    assert LeaderLocator(nodes, role=role).find() == ("h", 2)
    # Replicas pointing at a node that does not answer as master: no leader.
    role = _roles({1: ("down", None), 2: ("slave", ("h", 1)), 3: ("slave", ("h", 1))})
    assert LeaderLocator(nodes, role=role).find() is None


def test_capabilities_shape_the_mix() -> None:
    history = History()
    full = Workload(history, {}, seed=1)
    assert set(full.mix) == {"read", "write", "cas", "incr", "read-counter", "sadd", "read-set"}
    assert len(full.set_keys) == 10
    bare = Workload(history, {}, seed=1, capabilities=Capabilities(sets=False, cas=False))
    assert set(bare.mix) == {"read", "write", "incr", "read-counter"}
    assert set(bare.disabled) == {"cas", "sadd", "read-set"}
    assert bare.set_keys == []
    with pytest.raises(ValueError):
        WorkloadConfig(mix={"teleport": 1.0})


# --------------------------------------------------------------------------- against redis-server


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[StaticCluster]:
    cluster = StaticCluster(tmp_path / "cluster", server="redis", size=3)
    cluster.start()
    try:
        assert cluster.wait_healthy(20)
        yield cluster
    finally:
        cluster.stop()


def _nodes(cluster: StaticCluster) -> dict[str, tuple[str, int]]:
    return {node: cluster.address(node) for node in cluster.nodes}


def test_redis_knows_every_command_the_workload_needs(redis_cluster: StaticCluster) -> None:
    caps = detect_capabilities(*redis_cluster.address("n1"))
    assert caps.sets and caps.cas and caps.missing == ()


def test_a_healthy_run_records_every_operation_and_passes_every_checker(
    redis_cluster: StaticCluster,
) -> None:
    history = History()
    workload = Workload(history, _nodes(redis_cluster), seed=11, config=WorkloadConfig(set_size=20))
    workload.start()
    time.sleep(1.5)
    workload.stop()
    assert workload.final_reads(timeout=10) == []
    assert redis_cluster.wait_healthy(10)
    digests = redis_cluster.digests()
    ops = history.operations()
    outcomes = Counter((op.f, op.kind) for op in ops)
    for f in F:
        assert outcomes[(f, Kind.OK)] > 0, f"no successful {f}"
    assert {op.process for op in ops} == set(range(11))  # 10 clients + the final reader
    # Written values are unique.
    written = [op.value for op in ops if op.f in (F.WRITE, F.SADD)]
    written += [op.value[1] for op in ops if op.f is F.CAS]
    assert len(written) == len(set(written))
    # CAS that expected a stale value failed as a mismatch, and was never sent.
    mismatches = [op for op in ops if op.f is F.CAS and op.kind is Kind.FAIL]
    assert any("mismatch" in (op.error or "") for op in mismatches)
    # Sets move on to a new key every 20 elements; the final read covers them all.
    assert len(workload.set_keys) > 10
    reads = [op for op in ops if op.f is F.READ_SET and op.kind is Kind.OK]
    assert all(len(op.result) <= 20 for op in reads)
    assert {op.key for op in reads} == set(workload.set_keys)
    # Every operation that reached a server says which one.
    primary = "{}:{}".format(*redis_cluster.address("n1"))
    assert all(workload.served_by[op.index] == primary for op in ops if op.kind is Kind.OK)
    verdict = check_all(history, digests)
    assert verdict.valid, verdict.describe()
    assert len(set(digests.values())) == 1 and all(
        d.startswith("debug-digest:") for d in digests.values()
    )


def test_writes_refused_by_a_replica_are_failures(redis_cluster: StaticCluster) -> None:
    history = History()
    replica = redis_cluster.address("n2")
    workload = Workload(
        history, _nodes(redis_cluster), seed=5, config=WorkloadConfig(clients=3),
        find_leader=lambda: replica,
    )  # fmt: skip
    workload.start()
    time.sleep(0.5)
    workload.stop()
    ops = history.operations()
    writes = [op for op in ops if op.f in (F.WRITE, F.INCR, F.SADD)]
    assert writes and all(op.kind is Kind.FAIL for op in writes)
    assert all((op.error or "").startswith("READONLY") for op in writes)
    cas = [op for op in ops if op.f is F.CAS]
    assert cas and all(op.kind is Kind.FAIL for op in cas)
    reads = [op for op in ops if op.f is F.READ]
    assert reads and all(op.kind is Kind.OK for op in reads)


def test_nothing_listening_means_certain_failure() -> None:
    history = History()
    dead = ("127.0.0.1", free_port())
    workload = Workload(
        history, {"n1": dead}, seed=5, config=WorkloadConfig(clients=2), find_leader=lambda: dead
    )
    workload.start()
    time.sleep(0.3)
    workload.stop()
    ops = history.operations()
    assert ops and all(op.kind is Kind.FAIL for op in ops)
    assert all("connect" in (op.error or "") for op in ops)


def test_no_reply_in_time_is_indeterminate(redis_cluster: StaticCluster) -> None:
    history = History()
    workload = Workload(
        history,
        _nodes(redis_cluster),
        seed=5,
        config=WorkloadConfig(clients=4, op_timeout=0.3),
    )
    workload.start()
    time.sleep(0.3)
    redis_cluster.stop_node("n1")
    time.sleep(1.0)
    redis_cluster.cont_node("n1")
    time.sleep(0.5)
    workload.stop()
    ops = history.operations()
    # Sent, then no reply: indeterminate. (A connection whose handshake timed out
    # never sent the operation: that one is a failure.)
    timed_out = [op for op in ops if (op.error or "").startswith("TimeoutError")]
    assert timed_out and all(op.kind is Kind.INFO for op in timed_out)
    handshakes = [op for op in ops if (op.error or "").startswith("connect")]
    assert all(op.kind is Kind.FAIL for op in handshakes)
    # The clients found the leader again and went on.
    assert any(op.kind is Kind.OK and op.call > max(t.call for t in timed_out) for op in ops)
    assert workload.final_reads(timeout=10) == []
    verdict = check_all(history, redis_cluster.digests())
    assert verdict.valid, verdict.describe()


# --------------------------------------------------------------------------- against respcache


@pytest.fixture
def respcache_cluster(tmp_path: Path) -> Iterator[StaticCluster]:
    cluster = StaticCluster(tmp_path / "cluster", server="respcache", size=3)
    cluster.start()
    try:
        assert cluster.wait_healthy(20)
        yield cluster
    finally:
        cluster.stop()


def test_sentinel_discovery_finds_the_respcache_primary(respcache_cluster: StaticCluster) -> None:
    nodes = _nodes(respcache_cluster)
    assert respcache_cluster.service_name == "respcache"
    assert SentinelLocator(nodes, "respcache").find() == nodes["n1"]
    assert SentinelLocator(nodes, "no-such-cluster").find() is None
    # Through any single node, a replica too.
    through_replica = SentinelLocator({"n3": nodes["n3"]}, "respcache").find()
    assert through_replica == nodes["n1"]


def test_a_respcache_primary_with_replicas_passes_every_checker(
    respcache_cluster: StaticCluster,
) -> None:
    history = History()
    nodes = _nodes(respcache_cluster)
    caps = detect_capabilities(*nodes["n1"])
    workload = Workload(
        history, nodes, seed=3, capabilities=caps, discovery="sentinel", service_name="respcache"
    )
    workload.start()
    time.sleep(1.5)
    workload.stop()
    assert workload.final_reads(timeout=10) == []
    assert respcache_cluster.wait_healthy(10)
    ops = history.operations()
    assert sum(op.kind is Kind.OK and op.f is F.WRITE for op in ops) > 0
    verdict = check_all(history, respcache_cluster.digests())
    assert verdict.valid, verdict.describe()
