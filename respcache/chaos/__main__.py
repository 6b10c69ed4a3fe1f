"""``python -m respcache.chaos``: run the fault-injection suite (also ``bin/chaos``).

    python -m respcache.chaos run --time 120 --seed 42 --out chaos-out
    python -m respcache.chaos run --time 600 --seed 42           # the long run
    python -m respcache.chaos run --no-netns                      # loopback, no partitions
    python -m respcache.chaos run --cluster static-redis          # the machinery vs redis-server
    python -m respcache.chaos run --faults kill-all               # every node SIGKILLed (AOF on)
    python -m respcache.chaos run --faults zk-outage --zk-outage 10 --session-timeout 15000
    python -m respcache.chaos plan --time 120 --seed 42           # print the fault schedule
    python -m respcache.chaos cleanup                             # remove stale namespaces

Exit codes: 0 valid, 1 a checker failed, 3 the cluster elected no leader,
4 the harness failed (see the message).
"""

from __future__ import annotations

import logging
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import click

from respcache.chaos.cluster import PERSISTENCE_MODES
from respcache.chaos.nemesis import FaultKind, fault_durations, plan
from respcache.chaos.netns import cleanup_stale
from respcache.chaos.runner import CLUSTER_KINDS, RunOptions, choose_seed, run

__all__ = ["main"]


def _faults(value: str | None) -> list[FaultKind] | None:
    if not value:
        return None
    try:
        return [FaultKind(name.strip()) for name in value.split(",") if name.strip()]
    except ValueError as exc:
        names = ", ".join(kind.value for kind in FaultKind)
        raise click.BadParameter(f"{exc}; fault kinds: {names}") from None


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the runner's cleanup


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """respcache fault injection: a cluster under faults, a recorded history, a verdict."""


@cli.command("run")
@click.option(
    "--time",
    "seconds",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds of workload under faults.",
)
@click.option(
    "--seed", type=int, default=None, help="Seed of the schedule (default: random, printed)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for history.jsonl, report.md, run.json (default: chaos-out/<time>-<seed>).",
)
@click.option(
    "--netns/--no-netns",
    default=True,
    show_default=True,
    help="Run each node in its own network namespace (partitions need it).",
)
@click.option(
    "--cluster",
    "cluster_kind",
    type=click.Choice(CLUSTER_KINDS),
    default="respcache",
    show_default=True,
    help="What runs: ZooKeeper-led respcache, or a static primary with replicas.",
)
@click.option("--nodes", type=click.IntRange(1, 9), default=3, show_default=True)
@click.option("--clients", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option(
    "--faults",
    default=None,
    metavar="KIND,...",
    help="Fault kinds to inject (default: all the cluster can take): "
    + ", ".join(kind.value for kind in FaultKind),
)
@click.option(
    "--session-timeout",
    "session_timeout_ms",
    type=int,
    default=2000,
    show_default=True,
    help="zk-session-timeout of the nodes, in milliseconds.",
)
@click.option(
    "--persistence",
    type=click.Choice(PERSISTENCE_MODES),
    default=None,
    help="Node persistence: aof (appendonly yes, appendfsync always) or none "
    "[default: aof when --faults names kill-all, else none; kill-all needs aof].",
)
@click.option(
    "--zk-outage",
    "zk_outage",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="How long zk-outage keeps ZooKeeper down [default: 60% of the session timeout].",
)
@click.option(
    "--discovery",
    type=click.Choice(["auto", "sentinel", "role"]),
    default="auto",
    show_default=True,
    help="How clients find the leader: redis-py Sentinel, ROLE on every node, or "
    "Sentinel when the nodes are respcache with a cluster name.",
)
@click.option(
    "--server-cmd",
    default=None,
    metavar="COMMAND",
    help="Command that starts a respcache node, settings appended "
    "(default: this Python's -m respcache).",
)
@click.option("--no-plot", is_flag=True, help="Skip throughput.png (no matplotlib needed).")
@click.option("-v", "--verbose", is_flag=True, help="Log every nemesis action.")
def run_command(
    seconds: float,
    seed: int | None,
    out: Path | None,
    netns: bool,
    cluster_kind: str,
    nodes: int,
    clients: int,
    faults: str | None,
    session_timeout_ms: int,
    persistence: str | None,
    zk_outage: float | None,
    discovery: str,
    server_cmd: str | None,
    no_plot: bool,
    verbose: bool,
) -> None:
    """Run a cluster under the nemesis and check the history."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(message)s",
        stream=sys.stdout,
    )
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    options = RunOptions(
        time=seconds,
        seed=seed,
        netns=netns,
        cluster=cluster_kind,
        nodes=nodes,
        clients=clients,
        faults=_faults(faults),
        session_timeout_ms=session_timeout_ms,
        persistence=persistence,
        zk_outage=zk_outage,
        discovery=discovery,
        server_command=shlex.split(server_cmd) if server_cmd else None,
        plot=not no_plot,
        echo=click.echo,
    )
    options.seed = choose_seed(options)
    options.out = out or Path("chaos-out") / f"{time.strftime('%Y%m%d-%H%M%S')}-{options.seed}"
    result = run(options)
    if result.status in ("not-ready", "error"):
        click.echo(f"chaos: {result.status}: {result.message}", err=True)
    sys.exit(result.exit_code)


@cli.command("plan")
@click.option("--time", "seconds", type=float, default=120.0, show_default=True)
@click.option("--seed", type=int, required=True)
@click.option("--faults", default=None, metavar="KIND,...")
@click.option("--session-timeout", "session_timeout_ms", type=int, default=2000, show_default=True)
@click.option("--zk-outage", "zk_outage", type=click.FloatRange(min=0.1), default=None)
def plan_command(
    seconds: float, seed: int, faults: str | None, session_timeout_ms: int, zk_outage: float | None
) -> None:
    """Print the fault schedule a seed gives (nominal timing)."""
    kinds = _faults(faults) or list(FaultKind)
    durations = fault_durations(session_timeout_ms / 1000, zk_outage)
    for fault in plan(seed, kinds, seconds, durations=durations):
        click.echo(fault.describe())


@cli.command("cleanup")
def cleanup_command() -> None:
    """Remove namespaces and links left behind by crashed runs."""
    removed = cleanup_stale()
    click.echo(f"removed: {', '.join(removed)}" if removed else "nothing stale")


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``respcache-chaos``)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="respcache-chaos")


if __name__ == "__main__":
    main()
