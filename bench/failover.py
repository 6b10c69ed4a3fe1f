#!/usr/bin/env python3
"""Failover benchmark: how long writes stop when the leader dies, and what a handoff costs.

    /tmp/venv/bin/python bench/failover.py                      # everything, 10 crash runs
    /tmp/venv/bin/python bench/failover.py --quick              # 3 runs of each
    /tmp/venv/bin/python bench/failover.py -s crash --runs 20 --session-timeout 1000
    /tmp/venv/bin/python bench/failover.py -s redis-crash,redis-handoff --client direct

Scenarios (every process on free loopback ports, all stopped at the end):

``crash``
    A respcache cluster (ZooKeeper + ``--nodes`` nodes, ``respcache.cluster_cli``,
    ``zk-session-timeout`` = ``--session-timeout``) under a client writing in a
    tight loop. The leader is SIGKILLed; **failover time** is from the kill to the
    first acknowledged write *issued after the kill* (so on the new leader). Also
    recorded: when ZooKeeper's state znode named the new leader (detection +
    election), the client's errors meanwhile, and the gap between the last write
    acknowledged before the kill and the first one after it. The killed node is
    then started again and the next run waits until it is back in the ISR.
``handoff``
    The same cluster and load; ``FAILOVER`` is sent to the leader (a planned
    handoff). Counts the write errors the client sees, the longest write, and the
    time until a write is acknowledged by the new leader.
``redis-crash`` / ``redis-handoff``
    The same measurements for Redis: a redis-server primary with ``--nodes - 1``
    replicas and three Sentinels (``redis-server --sentinel``: Debian ships no
    ``redis-sentinel`` binary without the ``redis-sentinel`` package, but the
    server binary runs in Sentinel mode), ``down-after-milliseconds`` =
    ``--redis-down-after`` (2000, where Sentinel's default is 30000: with the
    defaults Redis needs 30 s only to notice the primary is gone); the handoff is
    ``SENTINEL FAILOVER``.

Every write sets a key of its own; at the end of a run the new leader is asked
for every key whose write was acknowledged, and the missing ones are counted as
**acknowledged writes lost** (then the run's keys are deleted). Redis replicates
asynchronously and lets the old primary go on acknowledging writes until the
Sentinels reconfigure it, so it can lose some; respcache must lose none.

The client (``--client``) is redis-py's Sentinel client (``sentinel``, the default:
every respcache node answers as a Sentinel for its cluster, so the same code
serves both systems) or a plain client that tries the nodes in turn on any error
(``direct``). It writes ``SET`` in a loop with 1 s socket timeouts, no retries
(redis-py's default backoff would stall discovery for seconds after a node dies),
RESP2 unless ``--resp 3``, and sleeps ``--retry-interval`` after an error. Each
run's JSON has a ``timeline`` of what the client saw around the event.

Results print as a markdown table and go to ``bench/results/failover-<time>.json``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from respcache.cluster_cli import (  # noqa: E402
    ClusterError,
    ClusterSpec,
    LocalCluster,
    NotWired,
    agreed,
    collect_status,
    load_template,
    plan,
    port_is_free,
)
from respcache.coordination.state import ClusterState  # noqa: E402

SCENARIOS = ("crash", "handoff", "redis-crash", "redis-handoff")
REDIS_SENTINEL_DEFAULT_DOWN_AFTER_MS = 30_000
Address = tuple[str, int]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port_range(count: int) -> int:
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base: int = sock.getsockname()[1]
        if base + count < 65536 and all(port_is_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no free port range")


def wait_for(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def no_retry_client(host: str, port: int, timeout: float = 1.0) -> redis.Redis[bytes]:
    return redis.Redis(
        host=host,
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


# --------------------------------------------------------------------------- the writer


@dataclass
class Attempt:
    start: float
    end: float
    outcome: str
    """``ok``, or the kind of error: ``READONLY``, ``NOREPLICAS``, ``ConnectionError``..."""
    node: Address | None
    """Who acknowledged (the direct client knows; the Sentinel client does not say)."""


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, redis.ResponseError):
        return str(exc).split(" ", 1)[0] or "ResponseError"
    if isinstance(exc, redis.TimeoutError | socket.timeout):
        return "Timeout"
    return type(exc).__name__


class DirectClient:
    """Writes to one node; on any error moves on to the next (round robin)."""

    name = "direct"

    def __init__(self, nodes: Sequence[Address], timeout: float = 1.0) -> None:
        self.nodes = list(nodes)
        self.clients = [no_retry_client(h, p, timeout) for h, p in self.nodes]
        self.current = 0

    def write(self, key: str, value: str) -> tuple[str, Address | None]:
        node = self.nodes[self.current]
        try:
            self.clients[self.current].set(key, value)
        except (redis.RedisError, OSError) as exc:
            self.clients[self.current].connection_pool.disconnect()
            self.current = (self.current + 1) % len(self.nodes)
            return error_kind(exc), None
        return "ok", node

    def close(self) -> None:
        for client in self.clients:
            client.close()


class SentinelClient:
    """redis-py's ``Sentinel(...).master_for(name)``: rediscovers the master after errors."""

    name = "sentinel"

    def __init__(
        self, sentinels: Sequence[Address], master: str, timeout: float = 1.0, resp: int = 2
    ) -> None:
        # No retries anywhere: redis-py >= 6 retries every connection 3 times with an
        # exponential backoff from 1 s by default, Sentinel connections included, so a
        # dead node in the Sentinel list stalls each discovery by seconds.
        self.sentinel = Sentinel(
            list(sentinels),
            socket_timeout=timeout,
            sentinel_kwargs={
                "socket_timeout": 0.3,
                "socket_connect_timeout": 0.3,
                "retry": Retry(NoBackoff(), 0),
            },
        )
        self.master = self.sentinel.master_for(
            master,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            protocol=resp,
        )

    def write(self, key: str, value: str) -> tuple[str, Address | None]:
        pool: Any = self.master.connection_pool
        try:
            self.master.set(key, value)
        except (redis.RedisError, OSError) as exc:
            pool.disconnect()
            return error_kind(exc), None
        # The connection just used went back to the end of the pool's free list; a
        # SentinelManagedConnection knows the address discovery gave it.
        free = getattr(pool, "_available_connections", None)
        if free:
            return "ok", (free[-1].host, int(free[-1].port))
        return "ok", None

    def close(self) -> None:
        self.master.close()


Client = DirectClient | SentinelClient


class Writer(threading.Thread):
    """SET in a loop, recording every attempt; ``--retry-interval`` of sleep after an error."""

    def __init__(self, client: Client, retry_interval: float, prefix: str) -> None:
        super().__init__(daemon=True, name="writer")
        self.client = client
        self.retry_interval = retry_interval
        self.prefix = prefix
        self.attempts: list[Attempt] = []
        self.acked: list[str] = []
        """Every acknowledged key (each write sets a key of its own)."""
        self.stopping = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stopping.is_set():
            i += 1
            start = time.monotonic()
            key = f"{self.prefix}:{i}"
            outcome, node = self.client.write(key, "x")
            self.attempts.append(Attempt(start, time.monotonic(), outcome, node))
            if outcome == "ok":
                self.acked.append(key)
            if outcome != "ok":
                time.sleep(self.retry_interval)

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)
        self.client.close()

    def first_ok_after(self, t: float, exclude: Address | None = None) -> Attempt | None:
        for attempt in list(self.attempts):
            if (
                attempt.start > t
                and attempt.outcome == "ok"
                and (exclude is None or attempt.node != exclude)
            ):
                return attempt
        return None

    def last_ok_before(self, t: float) -> Attempt | None:
        found = None
        for attempt in list(self.attempts):
            if attempt.end >= t:
                break
            if attempt.outcome == "ok":
                found = attempt
        return found


# --------------------------------------------------------------------------- results


@dataclass
class Run:
    scenario: str
    failover_s: float | None
    """crash: kill -> first acknowledged write issued after it. handoff: FAILOVER -> the same."""
    detected_s: float | None = None
    """crash: kill -> the new leader is recorded (ZooKeeper state / Sentinel's view)."""
    unavailable_s: float | None = None
    """The longest time without an acknowledged write, from the last one before the event
    to the end of the run."""
    lost: int | None = None
    """Acknowledged writes (each to a key of its own) the new leader does not hold at the end."""
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    max_write_ms: float | None = None
    writes_ok: int = 0
    old_leader: str = ""
    new_leader: str = ""
    note: str = ""
    timeline: list[list[Any]] = field(default_factory=list)
    """What the client saw around the event: ``[start, end, outcome, node, count]``
    segments of equal consecutive outcomes, seconds relative to the event."""


@dataclass
class Outcome:
    scenario: str
    system: str
    description: str
    runs: list[Run] = field(default_factory=list)
    skipped: str | None = None

    def median(self, name: str) -> float | None:
        values = [getattr(r, name) for r in self.runs if getattr(r, name) is not None]
        return statistics.median(values) if values else None

    def summary(self) -> dict[str, Any]:
        measured = [r.failover_s for r in self.runs if r.failover_s is not None]
        return {
            "runs": len(self.runs),
            "completed": len(measured),
            "failover_median_s": self.median("failover_s"),
            "failover_min_s": min(measured) if measured else None,
            "failover_max_s": max(measured) if measured else None,
            "detected_median_s": self.median("detected_s"),
            "unavailable_median_s": self.median("unavailable_s"),
            "lost_total": sum(r.lost or 0 for r in self.runs),
            "lost_checked_runs": sum(1 for r in self.runs if r.lost is not None),
            "errors_median": self.median("errors"),
            "errors_total": sum(r.errors for r in self.runs),
            "max_write_ms_median": self.median("max_write_ms"),
        }


def timeline(attempts: Sequence[Attempt], t0: float) -> list[list[Any]]:
    segments: list[list[Any]] = []
    for a in attempts:
        node = None if a.node is None else f"{a.node[0]}:{a.node[1]}"
        if segments and segments[-1][2] == a.outcome and segments[-1][3] == node:
            segments[-1][1] = round(a.end - t0, 4)
            segments[-1][4] += 1
        else:
            segments.append([round(a.start - t0, 4), round(a.end - t0, 4), a.outcome, node, 1])
    return segments


def longest_gap(attempts: Sequence[Attempt], since: float, until: float) -> float:
    """The longest interval in [since, until] with no write acknowledged."""
    longest = 0.0
    last = since
    for a in attempts:
        if a.outcome == "ok" and since < a.end <= until:
            longest = max(longest, a.end - last)
            last = a.end
    return max(longest, until - last)


def count_lost(writer: Writer, address: Address | None) -> int | None:
    """Acknowledged writes the leader at ``address`` does not hold (``None``: not checked);
    the run's keys are deleted afterwards."""
    if address is None or not writer.acked:
        return None
    client = no_retry_client(*address, timeout=10)
    lost = 0
    try:
        for i in range(0, len(writer.acked), 1000):
            chunk = writer.acked[i : i + 1000]
            lost += sum(1 for value in client.mget(chunk) if value is None)
        for i in range(0, len(writer.acked), 1000):
            client.delete(*writer.acked[i : i + 1000])
    except (redis.RedisError, OSError) as exc:
        log(f"could not check for lost writes on {address}: {exc}")
        return None
    finally:
        client.close()
    return lost


def summarize_window(
    writer: Writer, scenario: str, t0: float, first: Attempt | None, t_end: float
) -> Run:
    attempts = list(writer.attempts)
    window = [a for a in attempts if a.start >= t0 and a.start <= t_end]
    failed = [a for a in window if a.outcome != "ok"]
    last_before = writer.last_ok_before(t0)
    ok = [a for a in window if a.outcome == "ok"]
    return Run(
        scenario=scenario,
        failover_s=None if first is None else first.end - t0,
        unavailable_s=longest_gap(attempts, last_before.end if last_before else t0, t_end),
        errors=len(failed),
        error_kinds=dict(collections.Counter(a.outcome for a in failed)),
        max_write_ms=max(((a.end - a.start) * 1000 for a in ok), default=None),
        writes_ok=len(ok),
        timeline=timeline([a for a in attempts if a.end >= t0 - 0.1], t0),
    )


# --------------------------------------------------------------------------- respcache


class StateWatch:
    """Records when ZooKeeper's state znode changes (a kazoo DataWatch)."""

    def __init__(self, spec: ClusterSpec) -> None:
        from kazoo.client import KazooClient

        self.changes: list[tuple[float, ClusterState | None]] = []
        self.lock = threading.Lock()
        self.client = KazooClient(hosts=spec.zk_connect, timeout=5.0)
        self.client.start(timeout=10)

        def record(data: bytes | None, stat: object) -> None:
            state = None
            with contextlib.suppress(Exception):
                state = ClusterState.decode(data) if data else None
            with self.lock:
                self.changes.append((time.monotonic(), state))

        self.client.DataWatch(spec.state_znode, record)

    def first_leader_change(self, after: float, old_leader: str) -> float | None:
        with self.lock:
            for t, state in self.changes:
                if t > after and state is not None and state.leader != old_leader:
                    return t
        return None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.stop()
            self.client.close()


class RespcacheBench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        text, source = load_template(None)
        self.spec = plan(
            workdir / "respcache",
            nodes=args.nodes,
            base_port=free_port_range(args.nodes),
            zk_port=0,
            cluster_name="failover-bench",
            session_timeout_ms=args.session_timeout,
            tick_time_ms=args.tick_time,
            settings=[("loglevel", "notice")],
            template=source,
        )
        self.template = text
        self.cluster = LocalCluster(self.spec, foreground=True, echo=log)
        self.watch: StateWatch | None = None

    def __enter__(self) -> RespcacheBench:
        self.cluster.start(self.template)
        try:
            self.cluster.wait_for_leader(timeout=30, registration_timeout=8)
            self.watch = StateWatch(self.spec)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
        self.cluster.stop(timeout=10)

    def addresses(self) -> list[Address]:
        return [(n.host, n.port) for n in self.spec.nodes]

    def client(self) -> Client:
        if self.args.client == "direct":
            return DirectClient(self.addresses())
        return SentinelClient(self.addresses(), self.spec.cluster_name, resp=self.args.resp)

    def wait_healthy(self, timeout: float = 60.0) -> str:
        """Until a leader leads every node, all in the ISR; the leader's name."""
        found: list[str] = []

        def healthy() -> bool:
            status = collect_status(self.spec)
            state = status.state
            if (
                status.leader is not None
                and state is not None
                and len(state.isr) == len(self.spec.nodes)
                and agreed(status)
            ):
                found[:] = [status.leader.name]
                return True
            return False

        wait_for(healthy, timeout, "every node back in the ISR", interval=0.2)
        return found[0]

    def current_leader(self) -> tuple[str, Address | None]:
        """The leader ZooKeeper records now: its name and address."""
        state = collect_status(self.spec).state
        node = None if state is None else self.spec.node_by_id(state.leader_address)
        if node is None:
            return "?", None
        return node.name, (node.host, node.port)

    def crash_run(self, n: int) -> Run:
        leader = self.wait_healthy()
        node = self.spec.node(leader)
        writer = Writer(self.client(), self.args.retry_interval, f"crash{n}")
        writer.start()
        try:
            time.sleep(self.args.warmup)
            t_kill = time.monotonic()
            self.cluster.kill_node(leader)  # returns once the process is reaped
            t_dead = time.monotonic()  # a write issued from now on cannot reach it
            first = None
            deadline = t_kill + self.args.give_up
            while first is None and time.monotonic() < deadline:
                time.sleep(0.02)
                first = writer.first_ok_after(t_dead, exclude=(node.host, node.port))
            time.sleep(self.args.cooldown)
        finally:
            writer.stop()
        run = summarize_window(writer, "crash", t_kill, first, time.monotonic())
        run.old_leader = leader
        assert self.watch is not None
        changed = self.watch.first_leader_change(t_kill, node.node_id)
        run.detected_s = None if changed is None else changed - t_kill
        run.new_leader, address = self.current_leader()
        run.lost = count_lost(writer, address)
        if first is None:
            run.note = f"no write acknowledged within {self.args.give_up:.0f}s"
        self.cluster.start_node(leader)
        return run

    def handoff_run(self, n: int) -> Run:
        leader = self.wait_healthy()
        node = self.spec.node(leader)
        writer = Writer(self.client(), self.args.retry_interval, f"handoff{n}")
        writer.start()
        note = ""
        first = None
        try:
            time.sleep(self.args.warmup)
            admin = no_retry_client(node.host, node.port, timeout=10)
            t0 = time.monotonic()
            try:
                reply = admin.execute_command("FAILOVER")
                note = f"FAILOVER replied {reply!r}"
            except redis.ResponseError as exc:
                note = f"FAILOVER refused: {exc}"
            finally:
                admin.close()
            if "refused" not in note:
                deadline = t0 + self.args.give_up
                while first is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                    changed = (
                        self.watch.first_leader_change(t0, node.node_id) if self.watch else None
                    )
                    if changed is not None:
                        first = writer.first_ok_after(t0, exclude=(node.host, node.port))
            time.sleep(self.args.cooldown)
        finally:
            writer.stop()
        run = summarize_window(writer, "handoff", t0, first, time.monotonic())
        run.old_leader = leader
        run.new_leader, address = self.current_leader()
        run.lost = count_lost(writer, address)
        run.note = note
        return run


# --------------------------------------------------------------------------- Redis + Sentinel


class Proc:
    def __init__(self, name: str, argv: list[str], workdir: Path, port: int) -> None:
        self.name = name
        self.argv = argv
        self.workdir = workdir
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        setpriv = shutil.which("setpriv")
        prefix = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
        with open(self.workdir / f"{self.name}.log", "ab") as out:
            self.proc = subprocess.Popen(
                [*prefix, *self.argv],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self.answers, 20, f"{self.name} to answer PING", interval=0.05)

    def answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {self.argv}")
        client = no_retry_client("127.0.0.1", self.port, 0.5)
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class RedisBench:
    MASTER = "failover-bench"

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir / "redis"
        self.workdir.mkdir(parents=True, exist_ok=True)
        base = free_port_range(args.nodes)
        self.data = [
            Proc(f"r{i + 1}", self._server_argv(base + i, first=base), self.workdir, base + i)
            for i in range(args.nodes)
        ]
        sbase = free_port_range(3)
        self.sentinels = [
            Proc(f"s{i + 1}", self._sentinel_argv(sbase + i, base), self.workdir, sbase + i)
            for i in range(3)
        ]

    def _server_argv(self, port: int, first: int) -> list[str]:
        argv = [
            shutil.which("redis-server") or "redis-server",
            "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.workdir), "--dbfilename", f"dump-{port}.rdb",
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
            "--loglevel", "warning",
        ]  # fmt: skip
        if port != first:
            argv += ["--replicaof", "127.0.0.1", str(first)]
        return argv

    def _sentinel_argv(self, port: int, primary: int) -> list[str]:
        path = self.workdir / f"sentinel-{port}.conf"
        path.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
            f"sentinel monitor {self.MASTER} 127.0.0.1 {primary} 2\n"
            f"sentinel down-after-milliseconds {self.MASTER} {self.args.redis_down_after}\n"
            f"sentinel failover-timeout {self.MASTER} 10000\n"
            f"sentinel parallel-syncs {self.MASTER} 1\n"
        )
        return [shutil.which("redis-server") or "redis-server", str(path), "--sentinel"]

    def __enter__(self) -> RedisBench:
        try:
            for proc in [*self.data, *self.sentinels]:
                proc.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for proc in [*self.sentinels, *self.data]:
            proc.stop()

    def sentinel_addresses(self) -> list[Address]:
        return [("127.0.0.1", s.port) for s in self.sentinels]

    def client(self) -> Client:
        if self.args.client == "direct":
            return DirectClient([("127.0.0.1", p.port) for p in self.data])
        return SentinelClient(self.sentinel_addresses(), self.MASTER, resp=self.args.resp)

    def master_port(self) -> int | None:
        """The primary every Sentinel agrees on, if they agree."""
        seen = set()
        for host, port in self.sentinel_addresses():
            client: Any = no_retry_client(host, port, 0.5)  # redis-py's Sentinel calls are untyped
            try:
                addr = client.sentinel_get_master_addr_by_name(self.MASTER)
            except (redis.RedisError, OSError):
                return None
            finally:
                client.close()
            if not addr:
                return None
            seen.add(int(addr[1]))
        return seen.pop() if len(seen) == 1 else None

    def wait_healthy(self, timeout: float = 60.0) -> Proc:
        """Until the Sentinels agree on a primary that has every replica online and each
        Sentinel sees every replica and the other Sentinels."""
        found: list[Proc] = []

        def healthy() -> bool:
            port = self.master_port()
            if port is None:
                return False
            primary = next(p for p in self.data if p.port == port)
            client = no_retry_client("127.0.0.1", port, 0.5)
            try:
                info = client.info("replication")
            except (redis.RedisError, OSError):
                return False
            finally:
                client.close()
            online = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
            if (
                info.get("role") != "master"
                or sum(1 for v in online if v.get("state") == "online") != len(self.data) - 1
            ):
                return False
            for host, sport in self.sentinel_addresses():
                sentinel: Any = no_retry_client(host, sport, 0.5)
                try:
                    state = sentinel.sentinel_master(self.MASTER)
                    replicas = sentinel.sentinel_slaves(self.MASTER)
                except (redis.RedisError, OSError):
                    return False
                finally:
                    sentinel.close()
                if state.get("num-other-sentinels") != len(self.sentinels) - 1:
                    return False
                good = [r for r in replicas if r.get("is_slave") and not r.get("is_sdown")]
                if len(good) != len(self.data) - 1 or any(
                    r.get("master-link-status") != "ok" for r in good
                ):
                    return False
            found[:] = [primary]
            return True

        wait_for(healthy, timeout, "Redis primary, replicas and Sentinels in agreement", 0.2)
        return found[0]

    def crash_run(self, n: int) -> Run:
        primary = self.wait_healthy()
        writer = Writer(self.client(), self.args.retry_interval, f"crash{n}")
        writer.start()
        detected = None
        try:
            time.sleep(self.args.warmup)
            t_kill = time.monotonic()
            primary.kill()  # returns once the process is reaped
            t_dead = time.monotonic()
            first = None
            deadline = t_kill + self.args.give_up
            while first is None and time.monotonic() < deadline:
                time.sleep(0.02)
                if detected is None:
                    port = self.master_port()
                    if port is not None and port != primary.port:
                        detected = time.monotonic()
                first = writer.first_ok_after(t_dead, exclude=("127.0.0.1", primary.port))
            time.sleep(self.args.cooldown)
        finally:
            writer.stop()
        run = summarize_window(writer, "redis-crash", t_kill, first, time.monotonic())
        run.detected_s = None if detected is None else detected - t_kill
        run.old_leader = primary.name
        port = self.master_port()
        run.new_leader = next((p.name for p in self.data if p.port == port), "?")
        run.lost = count_lost(writer, None if port is None else ("127.0.0.1", port))
        if first is None:
            run.note = f"no write acknowledged within {self.args.give_up:.0f}s"
        primary.start()  # comes back as a primary; the Sentinels turn it into a replica
        return run

    def handoff_run(self, n: int) -> Run:
        primary = self.wait_healthy()
        writer = Writer(self.client(), self.args.retry_interval, f"handoff{n}")
        writer.start()
        first = None
        try:
            time.sleep(self.args.warmup)
            host, sport = self.sentinel_addresses()[0]
            sentinel: Any = no_retry_client(host, sport, 5)
            t0 = time.monotonic()
            try:
                sentinel.sentinel_failover(self.MASTER)
            finally:
                sentinel.close()
            deadline = t0 + self.args.give_up
            while first is None and time.monotonic() < deadline:
                time.sleep(0.02)
                port = self.master_port()
                if port is not None and port != primary.port:
                    first = writer.first_ok_after(t0, exclude=("127.0.0.1", primary.port))
            time.sleep(self.args.cooldown)
        finally:
            writer.stop()
        run = summarize_window(writer, "redis-handoff", t0, first, time.monotonic())
        run.old_leader = primary.name
        port = self.master_port()
        run.new_leader = next((p.name for p in self.data if p.port == port), "?")
        run.lost = count_lost(writer, None if port is None else ("127.0.0.1", port))
        run.note = "SENTINEL FAILOVER"
        return run


# --------------------------------------------------------------------------- main


def repeat(outcome: Outcome, runs: int, one: Callable[[int], Run]) -> None:
    for n in range(1, runs + 1):
        try:
            run = one(n)
        except (TimeoutError, ClusterError, RuntimeError) as exc:
            log(f"{outcome.scenario} run {n}: aborted: {exc}")
            outcome.runs.append(Run(outcome.scenario, None, note=f"aborted: {exc}"))
            break
        outcome.runs.append(run)
        shown = "-" if run.failover_s is None else f"{run.failover_s:.3f}s"
        log(
            f"{outcome.scenario} run {n}/{runs}: {shown} ({run.old_leader} -> {run.new_leader}), "
            f"{run.errors} errors {run.error_kinds}, lost {run.lost} {run.note}"
        )


def run_respcache(args: argparse.Namespace, workdir: Path, wanted: list[str]) -> list[Outcome]:
    crash = Outcome(
        "crash",
        "respcache",
        f"leader SIGKILL, zk-session-timeout {args.session_timeout} ms, "
        f"tickTime {args.tick_time} ms, {args.nodes} nodes",
    )
    handoff = Outcome("handoff", "respcache", f"FAILOVER on the leader, {args.nodes} nodes")
    outcomes = [o for o in (crash, handoff) if o.scenario in wanted]
    if not outcomes:
        return []
    try:
        with RespcacheBench(args, workdir) as bench:
            log(f"respcache cluster up in {bench.spec.directory}")
            if crash in outcomes:
                repeat(crash, args.runs, bench.crash_run)
            if handoff in outcomes:
                repeat(handoff, args.handoff_runs, bench.handoff_run)
    except NotWired as exc:
        for outcome in outcomes:
            outcome.skipped = f"respcache nodes elect no leader yet ({exc.message})"
    return outcomes


def run_redis(args: argparse.Namespace, workdir: Path, wanted: list[str]) -> list[Outcome]:
    crash = Outcome(
        "redis-crash",
        "redis",
        f"primary SIGKILL, 3 Sentinels, down-after-milliseconds {args.redis_down_after} "
        f"(default {REDIS_SENTINEL_DEFAULT_DOWN_AFTER_MS}), {args.nodes} data nodes",
    )
    handoff = Outcome("redis-handoff", "redis", "SENTINEL FAILOVER, 3 Sentinels")
    outcomes = [o for o in (crash, handoff) if o.scenario in wanted]
    if not outcomes:
        return []
    if shutil.which("redis-server") is None:
        for outcome in outcomes:
            outcome.skipped = "redis-server is not installed"
        return outcomes
    with RedisBench(args, workdir) as bench:
        log(f"Redis primary + replicas + Sentinels up in {bench.workdir}")
        if crash in outcomes:
            repeat(crash, args.runs, bench.crash_run)
        if handoff in outcomes:
            repeat(handoff, args.handoff_runs, bench.handoff_run)
    return outcomes


def fmt(value: float | None, unit: str = "s", digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def table(outcomes: list[Outcome], args: argparse.Namespace) -> str:
    lines = [
        "| scenario | system | runs | median | min | max | detected (median) | "
        "no ack for (median) | errors (median) | longest write (median) | acked writes lost |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        if o.skipped:
            lines.append(f"| {o.scenario} | {o.system} | - | skipped: {o.skipped} |||||||")
            continue
        s = o.summary()
        lines.append(
            f"| {o.scenario} | {o.system} | {s['completed']}/{s['runs']} | "
            f"{fmt(s['failover_median_s'])} | {fmt(s['failover_min_s'])} | "
            f"{fmt(s['failover_max_s'])} | {fmt(s['detected_median_s'])} | "
            f"{fmt(s['unavailable_median_s'])} | {fmt(s['errors_median'], '', 0)} | "
            f"{fmt(s['max_write_ms_median'], ' ms', 1)} | "
            + (
                f"{s['lost_total']} (in {s['lost_checked_runs']} runs)"
                if s["lost_checked_runs"]
                else "-"
            )
            + " |"
        )
    lines += [
        "",
        f"Client: {args.client} (redis-py {redis.__version__}"
        + (f", RESP{args.resp}" if args.client == "sentinel" else "")
        + "), 1 s socket timeouts, no retries in redis-py, "
        f"{args.retry_interval * 1000:.0f} ms pause after an error. 'median' is the time from "
        "the kill (crash) or the FAILOVER command (handoff) to the first acknowledged write "
        "issued after it on the new leader; 'detected' until the new leader was recorded "
        "(ZooKeeper's state znode; the Sentinels' view); 'no ack for' is the longest time "
        "without any acknowledged write (old or new leader); 'acked writes lost' counts keys "
        "whose last acknowledged value the new leader lacks at the end of a run.",
        f"Redis Sentinel's default down-after-milliseconds is {REDIS_SENTINEL_DEFAULT_DOWN_AFTER_MS}"
        " ms: with its defaults, detection alone takes 30 s.",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "-s",
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, of {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument(
        "--runs", type=int, default=10, help="crash runs per system (median of them)"
    )
    parser.add_argument("--handoff-runs", type=int, default=5, help="handoff runs per system")
    parser.add_argument("--quick", action="store_true", help="3 runs of each")
    parser.add_argument("--nodes", type=int, default=3, help="data nodes (respcache and Redis)")
    parser.add_argument("--session-timeout", type=int, default=2000, help="zk-session-timeout (ms)")
    parser.add_argument("--tick-time", type=int, default=200, help="ZooKeeper tickTime (ms)")
    parser.add_argument(
        "--redis-down-after", type=int, default=2000, help="Sentinel down-after-milliseconds (ms)"
    )
    parser.add_argument("--client", choices=("sentinel", "direct"), default="sentinel")
    parser.add_argument(
        "--resp",
        type=int,
        choices=(2, 3),
        default=2,
        help="protocol of the Sentinel client's data connections",
    )
    parser.add_argument(
        "--retry-interval",
        type=float,
        default=0.005,
        help="seconds the writer pauses after an error",
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of writes before the event"
    )
    parser.add_argument(
        "--cooldown", type=float, default=0.5, help="seconds of writes after recovery"
    )
    parser.add_argument(
        "--give-up", type=float, default=60.0, help="seconds before a run counts as failed"
    )
    parser.add_argument("--keep", action="store_true", help="keep the working directory (logs)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="directory for the JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = args.handoff_runs = 3
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-failover-"))
    began = time.time()
    outcomes: list[Outcome] = []
    try:
        outcomes += run_respcache(args, workdir, wanted)
        outcomes += run_redis(args, workdir, wanted)
    finally:
        if args.keep:
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    text = table(outcomes, args)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H%M%SZ", time.gmtime(began))
    path = args.out / f"failover-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "started": stamp,
                "host": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                "settings": {
                    k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                },
                "outcomes": [
                    {
                        "scenario": o.scenario,
                        "system": o.system,
                        "description": o.description,
                        "skipped": o.skipped,
                        "summary": o.summary(),
                        "runs": [asdict(r) for r in o.runs],
                    }
                    for o in outcomes
                ],
                "table": text,
            },
            indent=2,
        )
        + "\n"
    )
    log(f"results written to {path}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
