"""The nemesis: its seeded schedule, and what it does to a (fake) cluster."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from itertools import islice

import pytest

from respcache.chaos.cluster import ZK, ClusterError, NodeInfo
from respcache.chaos.nemesis import (
    DEFAULT_DURATIONS,
    ZK_OUTAGE_FRACTION,
    FaultKind,
    Nemesis,
    PlannedFault,
    applicable_kinds,
    fault_durations,
    pause_durations,
    plan,
    schedule,
    zk_outage_durations,
)

ALL = list(FaultKind)


# --------------------------------------------------------------------------- the schedule


def test_same_seed_same_schedule_other_seed_other_schedule() -> None:
    a = list(islice(schedule(42, ALL), 30))
    b = list(islice(schedule(42, ALL), 30))
    c = list(islice(schedule(43, ALL), 30))
    assert a == b
    assert a != c


def test_every_round_holds_each_kind_once() -> None:
    faults = list(islice(schedule(7, ALL), len(ALL) * 4))
    for start in range(0, len(faults), len(ALL)):
        assert sorted(f.kind for f in faults[start : start + len(ALL)]) == sorted(ALL)
    assert [f.index for f in faults] == list(range(len(faults)))


def test_durations_and_gaps_are_drawn_from_their_ranges() -> None:
    durations = {FaultKind.PAUSE_LEADER: (9.0, 9.5)}
    for fault in islice(schedule(1, ALL, gap=(0.5, 1.0), durations=durations), 200):
        low, high = {**DEFAULT_DURATIONS, **durations}[fault.kind]
        assert low <= fault.duration <= high
        assert 0.5 <= fault.gap <= 1.0


def test_the_order_of_the_kinds_given_does_not_change_the_schedule() -> None:
    kinds = [FaultKind.RESTART_ZK, FaultKind.KILL_LEADER, FaultKind.PAUSE_LEADER]
    assert list(islice(schedule(5, kinds), 9)) == list(islice(schedule(5, kinds[::-1]), 9))


def test_no_kinds_no_faults() -> None:
    assert list(schedule(1, [])) == []


def test_plan_fits_the_time_and_is_a_prefix_of_the_schedule() -> None:
    faults = plan(3, ALL, 120.0, overhead=1.0)
    used = sum(f.gap + f.duration + 1.0 for f in faults)
    assert used <= 120.0
    following = list(islice(schedule(3, ALL), len(faults) + 1))
    assert faults == following[: len(faults)]
    assert used + following[-1].gap + following[-1].duration + 1.0 > 120.0
    # Two minutes see every kind at least once.
    assert set(f.kind for f in faults) == set(ALL)


def test_pause_outlasts_the_session_timeout() -> None:
    low, high = pause_durations(2.0)
    assert low > 2.0 and high > low


# --------------------------------------------------------------------------- a fake cluster


class FakeCluster:
    """Records every call; ``leader_name`` is who leads (None: nobody)."""

    kind = "fake"
    service_name: str | None = None
    preferred_discovery = "role"

    def __init__(
        self,
        size: int = 3,
        *,
        zookeeper: bool = True,
        partitions: bool = True,
        persistent: bool = True,
    ) -> None:
        self.nodes = tuple(f"n{i}" for i in range(1, size + 1))
        self.has_zookeeper = zookeeper
        self.persistent = persistent
        self._partitions = partitions
        self.notes: list[str] = []
        self.leader_name: str | None = "n2"
        self.calls: list[tuple[object, ...]] = []
        self.down: set[str] = set()
        self.paused: set[str] = set()
        self.fail_on: str | None = None

    @property
    def network_mode(self) -> str:
        return "netns" if self._partitions else "loopback"

    @property
    def can_partition(self) -> bool:
        return self._partitions

    @property
    def members(self) -> tuple[str, ...]:
        return (*self.nodes, ZK) if self.has_zookeeper else self.nodes

    def _call(self, *call: object) -> None:
        self.calls.append(call)
        if self.fail_on == call[0]:
            raise ClusterError(f"{call[0]} failed on purpose")

    def info(self) -> list[NodeInfo]:
        return [
            NodeInfo(n, "127.0.0.1", 1, 1, n not in self.down, n in self.paused) for n in self.nodes
        ]

    def start(self) -> None:
        self._call("cluster-start")

    def stop(self) -> None:
        self._call("cluster-stop")

    def address(self, node: str) -> tuple[str, int]:
        return ("127.0.0.1", int(node[1:]))

    def describe(self) -> str:
        return "fake"

    def digests(self) -> dict[str, str]:
        return {}

    def wait_healthy(self, timeout: float) -> bool:
        return True

    def wait_for_first_leader(self, timeout: float) -> str:
        assert self.leader_name is not None
        return self.leader_name

    def leader(self) -> str | None:
        return self.leader_name

    def wait_for_leader(self, timeout: float) -> str | None:
        return self.leader_name

    def kill_node(self, node: str) -> None:
        self._call("kill", node)
        self.down.add(node)

    def start_node(self, node: str) -> None:
        self._call("start", node)
        self.down.discard(node)

    def kill_nodes(self, nodes: Sequence[str]) -> None:
        self._call("kill-all", tuple(nodes))
        self.down.update(nodes)

    def start_nodes(self, nodes: Sequence[str]) -> None:
        self._call("start-all", tuple(nodes))
        self.down.difference_update(nodes)

    def stop_node(self, node: str) -> None:
        self._call("stop", node)
        self.paused.add(node)

    def cont_node(self, node: str) -> None:
        self._call("cont", node)
        self.paused.discard(node)

    def stop_zookeeper(self) -> None:
        self._call("zk-stop")

    def start_zookeeper(self) -> None:
        self._call("zk-start")

    def partition(self, groups: Sequence[Collection[str]]) -> None:
        self._call("partition", tuple(tuple(sorted(g)) for g in groups))

    def cut(self, pairs: Collection[tuple[str, str]]) -> None:
        self._call("cut", tuple(sorted(pairs)))

    def heal(self) -> None:
        self._call("heal")


def fault(kind: FaultKind, seed: int = 1) -> PlannedFault:
    return PlannedFault(index=0, kind=kind, gap=0.0, duration=0.0, seed=seed)


@pytest.mark.parametrize(
    ("kind", "calls"),
    [
        (FaultKind.KILL_LEADER, [("kill", "n2"), ("start", "n2")]),
        (FaultKind.PAUSE_LEADER, [("stop", "n2"), ("cont", "n2")]),
        (
            FaultKind.PARTITION_LEADER,
            [("partition", (("n2",), ("n1", "n3", "zk"))), ("heal",)],
        ),
        (
            FaultKind.PARTITION_FOLLOWERS_ZK,
            [("cut", (("n1", "zk"), ("n3", "zk"))), ("heal",)],
        ),
        (FaultKind.RESTART_ZK, [("zk-stop",), ("zk-start",)]),
        (FaultKind.ZK_OUTAGE, [("zk-stop",), ("zk-start",)]),
        (
            FaultKind.KILL_ALL,
            [("kill-all", ("n1", "n2", "n3")), ("start-all", ("n1", "n2", "n3"))],
        ),
    ],
)
def test_each_fault_is_applied_then_healed(
    kind: FaultKind, calls: list[tuple[object, ...]]
) -> None:
    cluster = FakeCluster()
    record = Nemesis(cluster, 1, [kind]).execute(fault(kind))
    assert cluster.calls == calls
    assert record.skipped is None and not record.errors
    assert 0 < record.start <= record.end
    window = record.window()
    assert window is not None and window.name == record.name


def test_kill_follower_never_kills_the_leader_and_the_choice_follows_the_seed() -> None:
    chosen = set()
    for seed in range(20):
        cluster = FakeCluster()
        record = Nemesis(cluster, 1, ALL).execute(fault(FaultKind.KILL_FOLLOWER, seed))
        assert record.targets[0] != "n2"
        assert cluster.calls == [("kill", record.targets[0]), ("start", record.targets[0])]
        again = FakeCluster()
        assert Nemesis(again, 1, ALL).execute(fault(FaultKind.KILL_FOLLOWER, seed)).targets == (
            record.targets
        )
        chosen.add(record.targets[0])
    assert chosen == {"n1", "n3"}


def test_split_puts_one_node_against_two_and_zookeeper_on_either_side() -> None:
    sides: Counter[int] = Counter()
    for seed in range(40):
        cluster = FakeCluster()
        Nemesis(cluster, 1, ALL).execute(fault(FaultKind.PARTITION_SPLIT, seed))
        (name, raw_groups), heal = cluster.calls
        assert name == "partition" and heal == ("heal",)
        assert isinstance(raw_groups, tuple)
        groups: list[tuple[str, ...]] = list(raw_groups)
        nodes = [sorted(n for n in g if n != ZK) for g in groups]
        assert sorted(len(n) for n in nodes) == [1, 2]
        assert sorted(x for n in nodes for x in n) == ["n1", "n2", "n3"]
        zk_side = next(len(n) for n, g in zip(nodes, groups, strict=True) if ZK in g)
        sides[zk_side] += 1
    assert set(sides) == {1, 2}


def test_no_leader_means_the_fault_is_skipped_and_nothing_is_touched() -> None:
    cluster = FakeCluster()
    cluster.leader_name = None
    nemesis = Nemesis(cluster, 1, ALL, leader_wait=0.0)
    record = nemesis.execute(fault(FaultKind.KILL_LEADER))
    assert record.skipped is not None and "no leader" in record.skipped
    assert cluster.calls == []
    assert record.window() is None and nemesis.windows() == []


def test_a_failed_heal_is_recorded_and_heal_all_repairs_it() -> None:
    cluster = FakeCluster()
    cluster.fail_on = "start"
    nemesis = Nemesis(cluster, 1, ALL)
    record = nemesis.execute(fault(FaultKind.KILL_LEADER))
    assert record.errors and "start failed on purpose" in record.errors[0]
    assert cluster.down == {"n2"}
    cluster.fail_on = None
    assert nemesis.heal_all() == []
    assert cluster.down == set()
    assert ("heal",) in cluster.calls and ("zk-start",) in cluster.calls


def test_heal_all_continues_paused_nodes() -> None:
    cluster = FakeCluster()
    cluster.stop_node("n1")
    Nemesis(cluster, 1, ALL).heal_all()
    assert cluster.paused == set()
    assert ("cont", "n1") in cluster.calls


def test_applicable_kinds_say_why_kinds_are_left_out() -> None:
    kinds, left_out = applicable_kinds(FakeCluster(partitions=False))
    assert FaultKind.KILL_LEADER in kinds and FaultKind.RESTART_ZK in kinds
    assert {k for k in left_out} == {k for k in FaultKind if k.needs_partitions}
    assert all("namespaces" in why for why in left_out.values())

    kinds, left_out = applicable_kinds(FakeCluster(zookeeper=False))
    assert FaultKind.RESTART_ZK in left_out and FaultKind.PARTITION_FOLLOWERS_ZK in left_out
    assert FaultKind.PARTITION_LEADER in kinds

    kinds, left_out = applicable_kinds(
        FakeCluster(size=1, zookeeper=False, partitions=False, persistent=False)
    )
    assert kinds == [FaultKind.KILL_LEADER, FaultKind.PAUSE_LEADER]
    assert "persistence" in left_out[FaultKind.KILL_ALL]
    assert "ZooKeeper" in left_out[FaultKind.ZK_OUTAGE]

    kinds, _ = applicable_kinds(FakeCluster(size=1, zookeeper=False, partitions=False))
    assert FaultKind.KILL_ALL in kinds  # one node is "every node" too


def test_zk_outage_lasts_sixty_percent_of_the_session_timeout_unless_told() -> None:
    assert zk_outage_durations(2.0) == (2.0 * ZK_OUTAGE_FRACTION,) * 2
    assert zk_outage_durations(2.0)[1] < 2.0  # suspended, never expired
    assert zk_outage_durations(15.0, 10.0) == (10.0, 10.0)
    assert zk_outage_durations(2.0, 10.0) == (10.0, 10.0)  # longer than the session: allowed
    with pytest.raises(ValueError):
        zk_outage_durations(2.0, 0.0)
    durations = fault_durations(4.0, None)
    assert durations[FaultKind.ZK_OUTAGE] == (2.4, 2.4)
    assert durations[FaultKind.PAUSE_LEADER] == pause_durations(4.0)
    # The default table agrees with the default 2 s session timeout.
    assert DEFAULT_DURATIONS[FaultKind.ZK_OUTAGE] == zk_outage_durations(2.0)
    for planned in islice(schedule(3, ALL, durations=fault_durations(15.0, 10.0)), 40):
        if planned.kind is FaultKind.ZK_OUTAGE:
            assert planned.duration == 10.0


def test_kill_all_kills_every_node_even_without_a_leader_and_heal_all_restarts_them() -> None:
    cluster = FakeCluster()
    cluster.leader_name = None
    nemesis = Nemesis(cluster, 1, [FaultKind.KILL_ALL], leader_wait=0.0)
    cluster.fail_on = "start-all"
    record = nemesis.execute(fault(FaultKind.KILL_ALL))
    assert record.targets == ("n1", "n2", "n3") and record.skipped is None
    assert record.errors and "start-all failed on purpose" in record.errors[0]
    assert cluster.down == {"n1", "n2", "n3"}
    cluster.fail_on = None
    assert nemesis.heal_all() == []
    assert cluster.down == set()
    assert cluster.calls[-1] == ("start-all", ("n1", "n2", "n3"))  # together, not one by one


def test_the_nemesis_thread_stops_at_the_deadline() -> None:
    cluster = FakeCluster()
    nemesis = Nemesis(
        cluster,
        9,
        [FaultKind.PAUSE_LEADER, FaultKind.RESTART_ZK],
        gap=(0.0, 0.01),
        durations={FaultKind.PAUSE_LEADER: (0.0, 0.01), FaultKind.RESTART_ZK: (0.0, 0.01)},
    )
    nemesis.start(1.5)
    nemesis.join(10)
    assert nemesis.error is None
    kinds = [r.planned.kind for r in nemesis.records]
    assert kinds and set(kinds) == {FaultKind.PAUSE_LEADER, FaultKind.RESTART_ZK}
    # Every fault was healed: as many stops as continues, ZooKeeper up at the end.
    assert (
        Counter(c[0] for c in cluster.calls)["stop"] == Counter(c[0] for c in cluster.calls)["cont"]
    )
    assert cluster.calls[-1] in (("cont", "n2"), ("zk-start",))
