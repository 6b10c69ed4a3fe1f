"""One chaos run from start to verdict: cluster, workload, nemesis, final reads, report.

:func:`run` does, in order:

1. pick the seed (printed first, with the command that replays it);
2. build the network namespaces (or fall back to loopback, saying why);
3. start the cluster and wait for its first leader (:class:`ClusterNotReady`
   if none comes: the result's status is ``not-ready``);
4. run the workload's client threads and the nemesis for ``time`` seconds;
5. heal everything, stop the clients, wait until the cluster is healthy;
6. read every key once more (the *final read*) and collect the nodes' digests
   (retried until they agree or a timeout passes);
7. check the history (:func:`~respcache.chaos.checker.check_all`) and write
   ``history.jsonl``, ``report.md``, ``throughput.png`` and ``run.json`` to ``out``.

Exit codes (:attr:`RunResult.exit_code`): 0 valid, 1 a checker failed, 3 the
cluster never elected a leader, 4 the harness itself failed.
"""

from __future__ import annotations

import json
import logging
import random
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from respcache.chaos.checker import Verdict, check_all
from respcache.chaos.cluster import (
    ZK,
    Cluster,
    ClusterError,
    ClusterNotReady,
    RespcacheCluster,
    StaticCluster,
)
from respcache.chaos.history import History, HistoryError
from respcache.chaos.nemesis import (
    FaultKind,
    FaultRecord,
    Nemesis,
    applicable_kinds,
    fault_durations,
)
from respcache.chaos.netns import Network, netns_unavailable_reason
from respcache.chaos.report import summarize, to_markdown, write_report
from respcache.chaos.workload import Workload, WorkloadConfig, detect_capabilities

__all__ = ["CLUSTER_KINDS", "EXIT_CODES", "RunOptions", "RunResult", "choose_seed", "run"]

log = logging.getLogger("respcache.chaos")

CLUSTER_KINDS = ("respcache", "static-redis", "static-respcache")
EXIT_CODES = {"valid": 0, "invalid": 1, "not-ready": 3, "error": 4}
_MAX_CONSOLE_LINES = 60


@dataclass
class RunOptions:
    time: float = 120.0
    """Seconds of workload under faults (setup, final reads and checking come on top)."""
    seed: int | None = None
    out: Path = Path("chaos-out")
    netns: bool = True
    """Run every node in its own network namespace (falls back to loopback if impossible)."""
    cluster: str = "respcache"
    nodes: int = 3
    clients: int = 10
    faults: Sequence[FaultKind] | None = None
    """Fault kinds to inject (default: every kind the cluster can take)."""
    gap: tuple[float, float] = (2.0, 4.0)
    server_command: Sequence[str] | None = None
    """The command that starts a respcache node (default: this Python's ``-m respcache``)."""
    discovery: str = "auto"
    """How clients find the leader: ``sentinel``, ``role``, or ``auto`` (the cluster's
    preference: Sentinel for the ZooKeeper-led respcache cluster, ROLE for static ones)."""
    session_timeout_ms: int = 2000
    persistence: str | None = None
    """``aof`` (AOF, ``appendfsync always``) or ``none``; ``None``: ``aof`` when the faults
    asked for include ``kill-all`` (which only persistent nodes survive), else ``none``."""
    zk_outage: float | None = None
    """Seconds ``zk-outage`` holds ZooKeeper down (``None``: 60% of the session timeout)."""
    leader_timeout: float = 30.0
    heal_timeout: float = 60.0
    converge_timeout: float = 30.0
    check_seconds: float = 120.0
    """Budget of the linearizability search per key (a key over budget counts as not valid)."""
    plot: bool = True
    echo: Callable[[str], None] = print

    def replay_command(self, seed: int) -> str:
        words = ["python", "-m", "respcache.chaos", "run", "--time", f"{self.time:g}"]
        words += ["--seed", str(seed), "--out", str(self.out)]
        if self.cluster != "respcache":
            words += ["--cluster", self.cluster]
        if self.nodes != 3:
            words += ["--nodes", str(self.nodes)]
        if self.clients != 10:
            words += ["--clients", str(self.clients)]
        if not self.netns:
            words.append("--no-netns")
        if self.server_command is not None:
            words += ["--server-cmd", shlex.join(self.server_command)]
        if self.discovery != "auto":
            words += ["--discovery", self.discovery]
        if self.faults is not None:
            words += ["--faults", ",".join(kind.value for kind in self.faults)]
        if self.session_timeout_ms != 2000:
            words += ["--session-timeout", str(self.session_timeout_ms)]
        if self.persistence is not None:
            words += ["--persistence", self.persistence]
        if self.zk_outage is not None:
            words += ["--zk-outage", f"{self.zk_outage:g}"]
        return shlex.join(words)

    def effective_persistence(self) -> str:
        """The persistence the nodes run with (see :attr:`persistence`)."""
        if self.persistence is not None:
            return self.persistence
        wants_kill_all = self.faults is not None and FaultKind.KILL_ALL in self.faults
        return "aof" if wants_kill_all else "none"


@dataclass
class RunResult:
    seed: int
    status: str
    """``valid``, ``invalid``, ``not-ready`` or ``error``."""
    out: Path
    message: str = ""
    verdict: Verdict | None = None
    summary_markdown: str = ""
    notes: list[str] = field(default_factory=list)
    faults: list[FaultRecord] = field(default_factory=list)
    network_mode: str = ""
    network_prefix: str | None = None
    """The run prefix of the namespaces (all removed when :func:`run` returns)."""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def choose_seed(options: RunOptions) -> int:
    """The given seed, or a fresh random one."""
    return options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)


def _make_cluster(options: RunOptions, network: Network | None, workdir: Path) -> Cluster:
    if options.cluster == "respcache":
        return RespcacheCluster(
            workdir,
            size=options.nodes,
            network=network,
            session_timeout_ms=options.session_timeout_ms,
            cluster_name=f"chaos-{network.prefix if network is not None else 'lo'}",
            server_command=options.server_command,
            persistence=options.effective_persistence(),
        )
    if options.cluster in ("static-redis", "static-respcache"):
        return StaticCluster(
            workdir, server=options.cluster.split("-", 1)[1], size=options.nodes, network=network
        )
    raise ValueError(
        f"unknown cluster kind {options.cluster!r} (one of {', '.join(CLUSTER_KINDS)})"
    )


def _converged_digests(cluster: Cluster, timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        digests = cluster.digests()
        if len(set(digests.values())) <= 1 or time.monotonic() > deadline:
            return digests
        time.sleep(0.5)


def run(options: RunOptions) -> RunResult:
    """One run; see the module docstring. Never leaves processes or namespaces behind."""
    seed = choose_seed(options)
    echo = options.echo
    out = Path(options.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    echo(f"chaos: seed {seed}")
    echo(f"chaos: replay with: {options.replay_command(seed)}")
    result = RunResult(seed=seed, status="error", out=out)
    notes = result.notes

    network: Network | None = None
    cluster: Cluster | None = None
    try:
        if options.netns:
            reason = netns_unavailable_reason()
            if reason is None:
                members = [f"n{i}" for i in range(1, options.nodes + 1)]
                if options.cluster == "respcache":
                    members.append(ZK)
                network = Network(members).create()
                result.network_prefix = network.prefix
                if network.stale_removed:
                    notes.append(f"removed stale namespaces of runs {network.stale_removed}")
            else:
                notes.append(
                    f"network namespaces unavailable ({reason}): loopback only, "
                    "process faults only (kill, stop), no partitions"
                )
        else:
            notes.append(
                "--no-netns: loopback only, process faults only (kill, stop), no partitions"
            )
        result.network_mode = "netns" if network is not None else "loopback"
        if network is not None:
            echo(f"chaos: network {network.prefix}: {network.host_address}/24 on {network.bridge}")
        for note in notes:
            echo(f"chaos: note: {note}")

        cluster = _make_cluster(options, network, out / "cluster")
        echo(f"chaos: starting {cluster.describe()}")
        cluster.start()
        try:
            leader = cluster.wait_for_first_leader(options.leader_timeout)
        except ClusterNotReady as exc:
            result.status = "not-ready"
            result.message = str(exc)
            echo(f"chaos: cluster not ready: {exc}")
            return result
        echo(f"chaos: leader {leader} at {cluster.address(leader)}")
        return _run_with_cluster(options, cluster, seed, result)
    except ClusterError as exc:
        result.status = "error"
        result.message = f"cluster error: {exc}"
        echo(f"chaos: {result.message}")
        return result
    finally:
        if cluster is not None:
            cluster.stop()
        if network is not None:
            network.destroy()


def _run_with_cluster(
    options: RunOptions, cluster: Cluster, seed: int, result: RunResult
) -> RunResult:
    echo = options.echo
    notes = result.notes
    out = result.out
    leader = cluster.leader() or cluster.nodes[0]
    capabilities = detect_capabilities(*cluster.address(leader))
    discovery = options.discovery
    if discovery == "auto":
        discovery = cluster.preferred_discovery
    history = History()
    workload = Workload(
        history,
        {node: cluster.address(node) for node in cluster.nodes},
        seed=seed,
        config=WorkloadConfig(clients=options.clients),
        capabilities=capabilities,
        discovery=discovery,
        service_name=cluster.service_name,
    )
    echo(f"chaos: clients find the leader by {discovery} discovery")
    if workload.disabled:
        notes.append(
            f"workload without {', '.join(workload.disabled)}: the server lacks "
            f"{', '.join(c.upper() for c in capabilities.missing)}"
        )
        echo(f"chaos: note: {notes[-1]}")

    kinds, left_out = applicable_kinds(cluster, options.faults)
    for kind, why in left_out.items():
        notes.append(f"fault {kind} left out: {why}")
    session_timeout = options.session_timeout_ms / 1000
    durations = fault_durations(session_timeout, options.zk_outage)
    if FaultKind.ZK_OUTAGE in kinds and durations[FaultKind.ZK_OUTAGE][0] >= session_timeout:
        notes.append(
            f"zk-outage of {durations[FaultKind.ZK_OUTAGE][0]:g}s outlasts the "
            f"{session_timeout:g}s session timeout: the leader is expected to step down"
        )
    nemesis = Nemesis(cluster, seed, kinds, gap=options.gap, durations=durations)
    preview = nemesis.preview(options.time)
    counts = Counter(fault.kind.value for fault in preview)
    echo(
        f"chaos: {len(preview)} faults planned in {options.time:g}s: "
        + ", ".join(f"{kind} x{n}" for kind, n in sorted(counts.items()))
    )

    began = time.monotonic()
    workload.start()
    nemesis.start(options.time)
    try:
        nemesis.join(options.time + 120)
        remaining = options.time - (time.monotonic() - began)
        if remaining > 0:
            time.sleep(remaining)
    finally:
        nemesis.stop()
        nemesis.join(60)
        problems = nemesis.heal_all()
        notes.extend(f"final heal: {p}" for p in problems)
        workload.stop()
    if nemesis.error is not None:
        notes.append(f"the nemesis crashed: {nemesis.error!r}")
    echo(f"chaos: workload stopped after {time.monotonic() - began:.1f}s; healing")

    healthy = cluster.wait_healthy(options.heal_timeout)
    if not healthy:
        notes.append(f"the cluster was not healthy {options.heal_timeout:.0f}s after the last heal")
        echo(f"chaos: note: {notes[-1]}")
    unread = workload.final_reads(options.heal_timeout)
    if unread:
        notes.append(f"final read failed for {', '.join(unread)}")
    digests = _converged_digests(cluster, options.converge_timeout)

    history.save(out / "history.jsonl")
    names = {f"{h}:{p}": node for node in cluster.nodes for h, p in [cluster.address(node)]}
    served = {str(i): names.get(a, a) for i, a in sorted(workload.served_by.items())}
    (out / "served-by.json").write_text(json.dumps(served) + "\n", encoding="utf-8")
    echo(f"chaos: {len(history.operations())} operations recorded; checking")
    try:
        verdict = check_all(history, digests, max_seconds=options.check_seconds)
    except HistoryError as exc:
        result.status = "error"
        result.message = f"the history is malformed: {exc}"
        return result
    windows = nemesis.windows()
    summary = summarize(history, windows, verdict)
    result.verdict = verdict
    result.faults = nemesis.records
    result.summary_markdown = to_markdown(summary, title=f"Chaos run, seed {seed}")
    result.status = "valid" if verdict.valid else "invalid"
    if not verdict.valid:
        result.message = verdict.describe()
    plot = options.plot
    try:
        paths = write_report(out, history, windows, verdict, plot=plot)
    except RuntimeError as exc:  # no matplotlib
        notes.append(str(exc))
        paths = write_report(out, history, windows, verdict, plot=False)
    _write_header(paths["markdown"], options, cluster, seed, result, digests, workload)
    _write_json(out / "run.json", options, cluster, seed, result, digests, workload)
    echo(result.summary_markdown)
    if not verdict.valid:
        lines = verdict.describe().splitlines()
        echo("\n".join(lines[:_MAX_CONSOLE_LINES]))
        if len(lines) > _MAX_CONSOLE_LINES:
            echo(f"... {len(lines) - _MAX_CONSOLE_LINES} more lines in {paths['markdown']}")
    echo(f"chaos: seed {seed}: {result.status.upper()}; report in {paths['markdown']}")
    return result


def _fault_lines(records: Sequence[FaultRecord], origin: int) -> list[str]:
    lines = ["| # | fault | detail | from | to | outcome |", "|---:|---|---|---:|---:|---|"]
    for record in records:
        if record.skipped is not None:
            outcome = f"skipped: {record.skipped}"
        elif record.errors:
            outcome = "; ".join(record.errors)
        else:
            outcome = "ok"
        start = f"+{(record.start - origin) / 1e9:.1f} s" if record.start else "-"
        end = f"+{(record.end - origin) / 1e9:.1f} s" if record.end and record.start else "-"
        cells = [str(record.planned.index), record.name, record.detail, start, end, outcome]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return lines


def _write_header(
    path: Path,
    options: RunOptions,
    cluster: Cluster,
    seed: int,
    result: RunResult,
    digests: dict[str, str],
    workload: Workload,
) -> None:
    body = path.read_text(encoding="utf-8")
    origin = min((e.time for e in workload.history.events), default=0)
    lines = [
        f"# respcache chaos run, seed {seed}",
        "",
        f"* verdict: **{result.status.upper()}**",
        f"* replay: `{options.replay_command(seed)}`",
        f"* cluster: {cluster.describe()}",
        f"* network: {result.network_mode}",
        f"* leader discovery: {workload.discovery}",
        f"* workload: {options.clients} clients, {len(workload.registers)} registers, "
        f"{len(workload.counters)} counters, {len(workload.set_keys)} sets; "
        f"operations: {', '.join(workload.mix)}",
        f"* digests: {', '.join(f'{n}=`{d}`' for n, d in sorted(digests.items()))}",
    ]
    lines += [f"* note: {note}" for note in result.notes]
    lines += ["", "## Faults", "", *_fault_lines(result.faults, origin), "", ""]
    path.write_text("\n".join(lines) + body, encoding="utf-8")


def _write_json(
    path: Path,
    options: RunOptions,
    cluster: Cluster,
    seed: int,
    result: RunResult,
    digests: dict[str, str],
    workload: Workload,
) -> None:
    verdict = result.verdict
    doc = {
        "seed": seed,
        "status": result.status,
        "replay": options.replay_command(seed),
        "time": options.time,
        "cluster": cluster.describe(),
        "cluster_kind": options.cluster,
        "network": result.network_mode,
        "notes": result.notes,
        "checkers": None if verdict is None else verdict.checkers(),
        "digests": digests,
        "operations": list(workload.mix),
        "discovery": workload.discovery,
        "faults": [record.to_json() for record in result.faults],
        "python": sys.version.split()[0],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
