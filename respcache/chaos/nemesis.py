"""The nemesis: faults injected on a seeded schedule, each healed before the next.

:func:`schedule` is pure: from a seed it yields an endless sequence of
:class:`PlannedFault` (kind, pause before it, how long it lasts, and a seed
for choosing its targets). The kinds come in *rounds*: every round is a
shuffle of all enabled kinds, so a run long enough for ``k`` rounds sees every
kind ``k`` times. The same seed gives the same schedule and the same target
choices; what differs between two runs is only timing (who is leader when).

:class:`Nemesis` carries the schedule out against a
:class:`~respcache.chaos.cluster.Cluster` until a deadline, and records what
it did as :class:`FaultRecord` (monotonic nanoseconds, the history's clock),
which become the report's fault windows. Faults:

===========================  ===================================================  =====================
kind                         fault                                                healed by
===========================  ===================================================  =====================
``kill-leader``              SIGKILL the leader                                   starting it again
``kill-follower``            SIGKILL a follower                                   starting it again
``pause-leader``             SIGSTOP the leader, longer than the session timeout  SIGCONT
``partition-leader``         leader | followers + ZooKeeper                       mending the links
``partition-followers-zk``   followers cut from ZooKeeper only                    mending the links
``partition-split``          one node | the others; ZooKeeper on a random side    mending the links
``restart-zk``               stop ZooKeeper, keep it down a while                 starting it again
``zk-outage``                stop ZooKeeper for a set time (default 60% of the    starting it again
                             session timeout; ``--zk-outage SECONDS``)
``kill-all``                 SIGKILL every node at once (needs persistence:       starting them all
                             the run's nodes then use AOF, ``appendfsync always``)
===========================  ===================================================  =====================

No fault touches clocks: nothing in respcache's safety argument depends on
time (timeouts only decide *when* failover happens), and the suite itself
uses only the monotonic clock.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

from respcache.chaos.cluster import ZK, Cluster, ClusterError
from respcache.chaos.report import FaultWindow

__all__ = [
    "DEFAULT_DURATIONS",
    "ZK_OUTAGE_FRACTION",
    "FaultKind",
    "FaultRecord",
    "Nemesis",
    "PlannedFault",
    "applicable_kinds",
    "fault_durations",
    "plan",
    "schedule",
    "zk_outage_durations",
]

log = logging.getLogger("respcache.chaos")


class FaultKind(StrEnum):
    KILL_LEADER = "kill-leader"
    KILL_FOLLOWER = "kill-follower"
    PAUSE_LEADER = "pause-leader"
    PARTITION_LEADER = "partition-leader"
    PARTITION_FOLLOWERS_ZK = "partition-followers-zk"
    PARTITION_SPLIT = "partition-split"
    RESTART_ZK = "restart-zk"
    ZK_OUTAGE = "zk-outage"
    KILL_ALL = "kill-all"

    @property
    def needs_partitions(self) -> bool:
        return self.value.startswith("partition-")

    @property
    def needs_zookeeper(self) -> bool:
        return self in (
            FaultKind.RESTART_ZK,
            FaultKind.ZK_OUTAGE,
            FaultKind.PARTITION_FOLLOWERS_ZK,
        )

    @property
    def needs_persistence(self) -> bool:
        """Only nodes that recover their data from disk survive this fault without loss."""
        return self is FaultKind.KILL_ALL

    @property
    def needs_followers(self) -> bool:
        return self in (
            FaultKind.KILL_FOLLOWER,
            FaultKind.PARTITION_LEADER,
            FaultKind.PARTITION_FOLLOWERS_ZK,
            FaultKind.PARTITION_SPLIT,
        )


DEFAULT_DURATIONS: dict[FaultKind, tuple[float, float]] = {
    FaultKind.KILL_LEADER: (2.0, 5.0),
    FaultKind.KILL_FOLLOWER: (2.0, 5.0),
    FaultKind.PAUSE_LEADER: (3.0, 5.0),  # > the 2 s session timeout; see pause_durations()
    FaultKind.PARTITION_LEADER: (3.0, 6.0),
    FaultKind.PARTITION_FOLLOWERS_ZK: (3.0, 6.0),
    FaultKind.PARTITION_SPLIT: (3.0, 6.0),
    FaultKind.RESTART_ZK: (1.0, 4.0),
    FaultKind.ZK_OUTAGE: (1.2, 1.2),  # 60% of the 2 s session timeout; see zk_outage_durations()
    FaultKind.KILL_ALL: (1.0, 3.0),
}
"""Seconds each kind of fault is held, drawn uniformly from the range."""


def pause_durations(session_timeout: float) -> tuple[float, float]:
    """SIGSTOP long enough for ZooKeeper to expire the session: 1.5 to 2.5 session timeouts."""
    return (1.5 * session_timeout, 2.5 * session_timeout)


ZK_OUTAGE_FRACTION = 0.6
"""By default ``zk-outage`` keeps ZooKeeper down for this share of the session timeout:
the leader's session is only suspended, never expired, so it should keep serving."""


def zk_outage_durations(session_timeout: float, outage: float | None = None) -> tuple[float, float]:
    """How long ``zk-outage`` holds ZooKeeper down: ``outage`` seconds if given (longer
    than the session timeout is allowed: the leader then steps down), else 60% of it."""
    seconds = outage if outage is not None else ZK_OUTAGE_FRACTION * session_timeout
    if seconds <= 0:
        raise ValueError(f"the ZooKeeper outage must last a positive time, not {seconds}")
    return (seconds, seconds)


def fault_durations(
    session_timeout: float, zk_outage: float | None = None
) -> dict[FaultKind, tuple[float, float]]:
    """The duration ranges that depend on the nodes' session timeout (the rest: defaults)."""
    return {
        FaultKind.PAUSE_LEADER: pause_durations(session_timeout),
        FaultKind.ZK_OUTAGE: zk_outage_durations(session_timeout, zk_outage),
    }


@dataclass(frozen=True)
class PlannedFault:
    index: int
    kind: FaultKind
    gap: float
    """Seconds of calm before the fault (after the previous one healed)."""
    duration: float
    """Seconds the fault is held."""
    seed: int
    """Seeds the choice of targets (which follower, which split)."""

    def describe(self) -> str:
        return f"#{self.index} {self.kind} for {self.duration:.1f}s after {self.gap:.1f}s"


def schedule(
    seed: int,
    kinds: Sequence[FaultKind],
    *,
    gap: tuple[float, float] = (2.0, 4.0),
    durations: dict[FaultKind, tuple[float, float]] | None = None,
) -> Iterator[PlannedFault]:
    """An endless seeded sequence of faults, in rounds that each shuffle all ``kinds``."""
    if not kinds:
        return
    ranges = {**DEFAULT_DURATIONS, **(durations or {})}
    rng = random.Random(seed)
    index = 0
    ordered = sorted(set(kinds), key=list(FaultKind).index)
    while True:
        round_ = list(ordered)
        rng.shuffle(round_)
        for kind in round_:
            low, high = ranges[kind]
            yield PlannedFault(
                index=index,
                kind=kind,
                gap=round(rng.uniform(*gap), 3),
                duration=round(rng.uniform(low, high), 3),
                seed=rng.getrandbits(32),
            )
            index += 1


def plan(
    seed: int,
    kinds: Sequence[FaultKind],
    total: float,
    *,
    gap: tuple[float, float] = (2.0, 4.0),
    durations: dict[FaultKind, tuple[float, float]] | None = None,
    overhead: float = 1.0,
) -> list[PlannedFault]:
    """The faults of :func:`schedule` that fit in ``total`` seconds (nominally).

    ``overhead`` is what healing a fault adds (a restart, an election). The
    real run may fit fewer when healing takes longer; it never fits more.
    """
    out: list[PlannedFault] = []
    used = 0.0
    for fault in schedule(seed, kinds, gap=gap, durations=durations):
        used += fault.gap + fault.duration + overhead
        if used > total:
            break
        out.append(fault)
    return out


def applicable_kinds(
    cluster: Cluster, wanted: Iterable[FaultKind] | None = None
) -> tuple[list[FaultKind], dict[FaultKind, str]]:
    """The kinds this cluster can take, and why each of the others is left out."""
    kinds: list[FaultKind] = []
    left_out: dict[FaultKind, str] = {}
    for kind in wanted if wanted is not None else list(FaultKind):
        if kind.needs_partitions and not cluster.can_partition:
            left_out[kind] = "no network namespaces: partitions need them (loopback run)"
        elif kind.needs_zookeeper and not cluster.has_zookeeper:
            left_out[kind] = f"{cluster.kind} has no ZooKeeper"
        elif kind.needs_persistence and not cluster.persistent:
            left_out[kind] = "the nodes run without persistence (--persistence aof)"
        elif kind.needs_followers and len(cluster.nodes) < 2:
            left_out[kind] = "a single node has no followers"
        else:
            kinds.append(kind)
    return kinds, left_out


@dataclass
class FaultRecord:
    """What the nemesis did for one planned fault."""

    planned: PlannedFault
    targets: tuple[str, ...] = ()
    detail: str = ""
    start: int = 0
    """Monotonic ns when the fault was in place (0: never applied)."""
    end: int = 0
    """Monotonic ns when it was healed."""
    skipped: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        where = ",".join(self.targets)
        return f"{self.planned.kind.value}({where})" if where else self.planned.kind.value

    def window(self) -> FaultWindow | None:
        if self.skipped is not None or not self.start:
            return None
        return FaultWindow(self.name, self.start, self.end or time.monotonic_ns())

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.planned.index,
            "kind": self.planned.kind.value,
            "gap": self.planned.gap,
            "duration": self.planned.duration,
            "targets": list(self.targets),
            "detail": self.detail,
            "start": self.start,
            "end": self.end,
            "skipped": self.skipped,
            "errors": self.errors,
        }


class Nemesis:
    """Carries out a schedule against ``cluster`` on its own thread (:meth:`start`/:meth:`join`)."""

    def __init__(
        self,
        cluster: Cluster,
        seed: int,
        kinds: Sequence[FaultKind],
        *,
        gap: tuple[float, float] = (2.0, 4.0),
        durations: dict[FaultKind, tuple[float, float]] | None = None,
        leader_wait: float = 10.0,
    ) -> None:
        self.cluster = cluster
        self.seed = seed
        self.kinds = list(kinds)
        self.gap = gap
        self.durations = durations
        self.leader_wait = leader_wait
        self.records: list[FaultRecord] = []
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._deadline = 0.0
        self.error: BaseException | None = None

    def windows(self) -> list[FaultWindow]:
        return [w for record in self.records if (w := record.window()) is not None]

    def preview(self, total: float) -> list[PlannedFault]:
        return plan(self.seed, self.kinds, total, gap=self.gap, durations=self.durations)

    # -- running ---------------------------------------------------------------------------------

    def start(self, seconds: float) -> None:
        """Inject faults for ``seconds``; the last one heals by then."""
        self._deadline = time.monotonic() + seconds
        self._thread = threading.Thread(target=self._run, name="chaos-nemesis", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self) -> None:
        self.stop_event.set()

    def _run(self) -> None:
        try:
            for fault in schedule(self.seed, self.kinds, gap=self.gap, durations=self.durations):
                if self.stop_event.wait(fault.gap):
                    return
                remaining = self._deadline - time.monotonic()
                if remaining < fault.duration + 1.0:
                    return
                self.execute(fault)
        except BaseException as exc:  # pragma: no cover - reported by the runner
            self.error = exc
            log.exception("nemesis crashed")

    def execute(self, fault: PlannedFault) -> FaultRecord:
        """Apply one fault, hold it, heal it. Failures are recorded, never raised."""
        record = FaultRecord(fault)
        self.records.append(record)
        rng = random.Random(fault.seed)
        try:
            self._apply(record, rng)
        except ClusterError as exc:
            record.errors.append(f"apply: {exc}")
            log.warning("nemesis: %s could not be applied: %s", fault.kind, exc)
        if record.skipped is not None:
            log.info("nemesis: %s skipped: %s", fault.kind, record.skipped)
            return record
        if record.start:
            log.info("nemesis: %s %s", record.name, record.detail)
            self.stop_event.wait(fault.duration)
        try:
            self._heal(record)
        except ClusterError as exc:
            record.errors.append(f"heal: {exc}")
            log.warning("nemesis: healing %s failed: %s", record.name, exc)
        record.end = time.monotonic_ns()
        log.info("nemesis: healed %s", record.name)
        return record

    def _leader(self, record: FaultRecord) -> str | None:
        leader = self.cluster.wait_for_leader(self.leader_wait)
        if leader is None:
            record.skipped = f"no leader within {self.leader_wait:.0f}s"
        return leader

    def _apply(self, record: FaultRecord, rng: random.Random) -> None:
        cluster = self.cluster
        kind = record.planned.kind
        nodes = sorted(cluster.nodes)
        if kind in (FaultKind.KILL_LEADER, FaultKind.PAUSE_LEADER, FaultKind.PARTITION_LEADER):
            leader = self._leader(record)
            if leader is None:
                return
            record.targets = (leader,)
            if kind is FaultKind.KILL_LEADER:
                cluster.kill_node(leader)
                record.detail = "SIGKILL"
            elif kind is FaultKind.PAUSE_LEADER:
                cluster.stop_node(leader)
                record.detail = "SIGSTOP"
            else:
                rest = [m for m in cluster.members if m != leader]
                cluster.partition([[leader], rest])
                record.detail = f"[{leader}] | [{', '.join(rest)}]"
        elif kind is FaultKind.KILL_FOLLOWER:
            leader = self._leader(record)
            if leader is None:
                return
            follower = rng.choice([n for n in nodes if n != leader])
            record.targets = (follower,)
            cluster.kill_node(follower)
            record.detail = f"SIGKILL (leader {leader})"
        elif kind is FaultKind.PARTITION_FOLLOWERS_ZK:
            leader = self._leader(record)
            if leader is None:
                return
            followers = [n for n in nodes if n != leader]
            record.targets = tuple(followers)
            cluster.cut([(f, ZK) for f in followers])
            record.detail = f"{', '.join(followers)} cut from zk (leader {leader})"
        elif kind is FaultKind.PARTITION_SPLIT:
            shuffled = list(nodes)
            rng.shuffle(shuffled)
            minority = shuffled[: (len(nodes) - 1) // 2 or 1]
            majority = [n for n in nodes if n not in minority]
            if cluster.has_zookeeper:
                (minority if rng.random() < 0.5 else majority).append(ZK)
            record.targets = tuple(minority)
            cluster.partition([minority, majority])
            record.detail = f"[{', '.join(minority)}] | [{', '.join(majority)}]"
        elif kind in (FaultKind.RESTART_ZK, FaultKind.ZK_OUTAGE):
            record.targets = (ZK,)
            cluster.stop_zookeeper()
            record.detail = "stopped"
            if kind is FaultKind.ZK_OUTAGE:
                record.detail += f" for {record.planned.duration:g}s"
        elif kind is FaultKind.KILL_ALL:
            record.targets = tuple(nodes)
            cluster.kill_nodes(nodes)
            record.detail = "SIGKILL every node"
        record.start = time.monotonic_ns()

    def _heal(self, record: FaultRecord) -> None:
        cluster = self.cluster
        kind = record.planned.kind
        if not record.start and not record.targets:
            return
        if kind in (FaultKind.KILL_LEADER, FaultKind.KILL_FOLLOWER):
            for node in record.targets:
                cluster.start_node(node)
        elif kind is FaultKind.PAUSE_LEADER:
            for node in record.targets:
                cluster.cont_node(node)
        elif kind.needs_partitions:
            cluster.heal()
        elif kind in (FaultKind.RESTART_ZK, FaultKind.ZK_OUTAGE):
            cluster.start_zookeeper()
        elif kind is FaultKind.KILL_ALL:
            cluster.start_nodes(record.targets)

    def heal_all(self) -> list[str]:
        """Undo everything that may still be in place (after a crash or a failed heal)."""
        problems: list[str] = []
        cluster = self.cluster
        steps: list[tuple[str, Callable[[], None]]] = [
            (f"SIGCONT {i.name}", partial(cluster.cont_node, i.name))
            for i in cluster.info()
            if i.paused
        ]
        steps.append(("heal the network", cluster.heal))
        if cluster.has_zookeeper:
            steps.append(("start ZooKeeper", cluster.start_zookeeper))
        down = tuple(i.name for i in cluster.info() if not i.running)
        if down:  # together: nodes recovering from disk wait for each other
            steps.append((f"start {', '.join(down)}", partial(cluster.start_nodes, down)))
        for what, step in steps:
            try:
                step()
            except ClusterError as exc:
                problems.append(f"{what}: {exc}")
        return problems
