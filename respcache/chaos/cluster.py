"""Clusters under test: the processes, their addresses, and the faults they can take.

:class:`Cluster` is what the workload and the nemesis see. Two implementations:

:class:`RespcacheCluster`
    ZooKeeper (:class:`~respcache.coordination.zkserver.ZooKeeperServer`) and
    ``size`` ``respcache-server`` processes started with ``--zookeeper ...
    --cluster-name ...``. The leader is the one ZooKeeper's state znode names
    (``/respcache/<cluster>/state``).
:class:`StaticCluster`
    A fixed primary and ``replicaof`` replicas of ``redis-server`` (or
    ``respcache-server``): no ZooKeeper and no failover. It proves the machinery
    against the real thing, and with ``size=1`` it is a single node.

Both run either in network namespaces (a :class:`~respcache.chaos.netns.Network`
given to the constructor: one namespace per node and one for ZooKeeper, so
links can be cut) or on loopback (``network=None``: process faults only).

Every process is started from one long-lived *spawner* thread through
``setpriv --pdeathsig KILL``, so it dies with that thread, i.e. with the
cluster object's owner process, whatever the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from respcache.chaos.netns import Network
from respcache.coordination.zkserver import ZooKeeperServer, free_port

__all__ = [
    "PERSISTENCE_MODES",
    "Cluster",
    "ClusterError",
    "ClusterNotReady",
    "FaultUnsupported",
    "NodeInfo",
    "RespcacheCluster",
    "StaticCluster",
    "client_digest",
    "node_digest",
    "role_of",
]

ZK = "zk"
"""The member name of ZooKeeper in partitions."""

T = TypeVar("T")


PERSISTENCE_MODES = ("none", "aof")
"""How the chaos cluster's respcache nodes persist: not at all, or an AOF fsynced always."""


class ClusterError(RuntimeError):
    """A process could not be started, or the cluster misbehaved outside the test's faults."""


class ClusterNotReady(ClusterError):
    """The cluster never elected a leader (for example: the server is not wired to ZooKeeper)."""


class FaultUnsupported(ClusterError):
    """This cluster cannot take this fault (for example: partitions on loopback)."""


@dataclass(frozen=True)
class NodeInfo:
    name: str
    host: str
    port: int
    pid: int | None
    running: bool
    paused: bool


@runtime_checkable
class Cluster(Protocol):
    """What the workload and the nemesis drive. Node names are ``n1``, ``n2``..."""

    kind: str
    """``respcache`` (ZooKeeper-led) or ``static-redis`` / ``static-respcache``."""
    nodes: tuple[str, ...]
    has_zookeeper: bool
    service_name: str | None
    """The master name the nodes answer to as Sentinels (``None``: they are not Sentinels)."""
    preferred_discovery: str
    """How the clients find the leader by default: ``sentinel`` or ``role``."""
    notes: list[str]
    """Things the report should say (fallbacks, missing features)."""
    persistent: bool
    """The nodes recover their data from disk after SIGKILL (``kill-all`` needs it)."""

    @property
    def network_mode(self) -> str:
        """``netns`` or ``loopback``."""
        ...

    @property
    def can_partition(self) -> bool: ...

    @property
    def members(self) -> tuple[str, ...]:
        """Everything a partition can separate: the nodes, and ``zk`` if there is one."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def info(self) -> list[NodeInfo]: ...

    def address(self, node: str) -> tuple[str, int]: ...

    def leader(self) -> str | None:
        """The node that leads now according to the cluster's source of truth (or ``None``)."""
        ...

    def wait_for_leader(self, timeout: float) -> str | None: ...

    def wait_for_first_leader(self, timeout: float) -> str:
        """The leader after start; :class:`ClusterNotReady` (with the reason) if none comes."""
        ...

    def wait_healthy(self, timeout: float) -> bool:
        """Until a leader leads every node in sync; ``False`` if that did not happen in time."""
        ...

    def kill_node(self, node: str) -> None: ...

    def start_node(self, node: str) -> None: ...

    def kill_nodes(self, nodes: Sequence[str]) -> None:
        """SIGKILL all of ``nodes`` at once (every signal sent before any is waited for)."""
        ...

    def start_nodes(self, nodes: Sequence[str]) -> None:
        """Start all of ``nodes`` together, then wait until each answers PING."""
        ...

    def stop_node(self, node: str) -> None:
        """SIGSTOP."""
        ...

    def cont_node(self, node: str) -> None:
        """SIGCONT."""
        ...

    def stop_zookeeper(self) -> None: ...

    def start_zookeeper(self) -> None: ...

    def partition(self, groups: Sequence[Collection[str]]) -> None: ...

    def cut(self, pairs: Collection[tuple[str, str]]) -> None: ...

    def heal(self) -> None: ...

    def digests(self) -> dict[str, str]: ...

    def describe(self) -> str:
        """One line for the report: what runs, where."""
        ...


# --------------------------------------------------------------------------- helpers


def _clean_env() -> dict[str, str]:
    """Our environment without ``RESPCACHE_*`` (the servers read settings from those)."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("RESPCACHE_")}


def _death_prefix() -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something answers a RESP ``PING`` (any reply, errors included)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return bool(reply) and not reply.startswith(b"-LOADING")


def connection(host: str, port: int, timeout: float = 2.0) -> redis.Redis:
    """A redis-py client that never retries on its own; it connects at its first command."""
    return redis.Redis(
        host=host,
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_error=[],
    )


def role_of(host: str, port: int, timeout: float = 1.0) -> tuple[str, tuple[str, int] | None]:
    """``ROLE``: ``("master", None)``, ``("slave", (leader host, port))``, or ``("down", None)``."""
    client = connection(host, port, timeout)
    try:
        reply = client.execute_command("ROLE")
    except (redis.RedisError, OSError):
        return ("down", None)
    finally:
        client.close()
    if not isinstance(reply, list | tuple) or not reply:
        return ("unknown", None)
    role = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
    if role == "slave" and len(reply) >= 3:
        host_b = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
        with contextlib.suppress(ValueError):
            return (role, (host_b, int(reply[2])))
    return (role, None)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def client_digest(client: redis.Redis) -> str:
    """A digest of a node's keyspace computed through commands (SCAN, TYPE and reads).

    Used when the server has no ``DEBUG DIGEST``. It covers strings and sets
    (what the workload writes) fully, other types by name and length only.
    """
    h = hashlib.sha1()
    keys = sorted(_bytes(k) for k in client.scan_iter(count=1000))
    for key in keys:
        kind = _text(client.execute_command("TYPE", key))
        h.update(key + b"\0" + kind.encode() + b"\0")
        if kind == "string":
            h.update(_bytes(client.get(key) or b""))
        elif kind == "set":
            for member in sorted(_bytes(m) for m in client.smembers(key)):
                h.update(member + b"\0")
        else:
            with contextlib.suppress(redis.ResponseError):
                h.update(str(client.memory_usage(key)).encode())
        h.update(b"\n")
    return f"client-sha1:{len(keys)}:{h.hexdigest()}"


def node_digest(host: str, port: int, timeout: float = 5.0) -> str:
    """``DEBUG DIGEST`` of a node, or :func:`client_digest` if the server lacks it."""
    client = connection(host, port, timeout)
    try:
        with contextlib.suppress(redis.ResponseError):  # no DEBUG DIGEST: compute our own
            return "debug-digest:" + _text(client.execute_command("DEBUG", "DIGEST"))
        return client_digest(client)
    except (redis.RedisError, OSError) as exc:
        return f"unavailable: {exc}"
    finally:
        client.close()


# --------------------------------------------------------------------------- processes


class _Process:
    """One server process: its command line, log, and signals."""

    def __init__(self, name: str, argv: list[str], workdir: Path, host: str, port: int) -> None:
        self.name = name
        self.argv = argv
        self.workdir = workdir
        self.host = host
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.workdir / "stdout.log", "ab") as out:
            out.write(f"--- start {self.starts + 1}: {' '.join(self.argv)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_clean_env(),
                start_new_session=True,
            )
        self.starts += 1
        self.paused = False

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise ClusterError(f"{self.name} exited ({code}) during start:\n{self.tail()}")
            if ping(self.host, self.port, 0.5):
                return
            time.sleep(0.05)
        raise ClusterError(f"{self.name} did not answer PING within {timeout}s:\n{self.tail()}")

    def signal(self, signum: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.paused = False

    def terminate(self, grace: float = 5.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.paused:
            self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 25) -> str:
        parts: list[str] = []
        for log in (self.workdir / "stdout.log", self.workdir / "server.log"):
            with contextlib.suppress(OSError):
                parts.extend(log.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(parts)


class _NamespacedZooKeeper(ZooKeeperServer):
    """ZooKeeper whose ``java`` runs inside a namespace, dying with its spawner thread."""

    def __init__(self, *args: Any, prefix: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = list(prefix)

    def command(self, cds_flags: Sequence[str] = ()) -> list[str]:
        return [*self.prefix, *super().command(cds_flags)]


# --------------------------------------------------------------------------- the base


class _BaseCluster:
    persistent = False
    """Processes, addresses, the spawner thread and the partition plumbing."""

    kind = "base"
    has_zookeeper = False
    service_name: str | None = None
    preferred_discovery = "role"

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        *,
        size: int = 3,
        network: Network | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one node")
        self.workdir = Path(workdir).absolute()
        self.nodes = tuple(f"n{i}" for i in range(1, size + 1))
        self.network = network
        self.start_timeout = start_timeout
        self.notes: list[str] = []
        self._spawner: ThreadPoolExecutor | None = None
        self._procs: dict[str, _Process] = {}
        self._addresses: dict[str, tuple[str, int]] = {}

    # -- topology ------------------------------------------------------------------------------

    @property
    def network_mode(self) -> str:
        return "loopback" if self.network is None else "netns"

    @property
    def can_partition(self) -> bool:
        return self.network is not None

    @property
    def members(self) -> tuple[str, ...]:
        return (*self.nodes, ZK) if self.has_zookeeper else self.nodes

    def address(self, node: str) -> tuple[str, int]:
        return self._addresses[node]

    def info(self) -> list[NodeInfo]:
        out = []
        for name in self.nodes:
            proc = self._procs.get(name)
            host, port = self._addresses.get(name, ("?", 0))
            out.append(
                NodeInfo(
                    name,
                    host,
                    port,
                    None if proc is None else proc.pid,
                    proc is not None and proc.running,
                    proc is not None and proc.paused,
                )
            )
        return out

    def _host_for(self, member: str) -> str:
        return "127.0.0.1" if self.network is None else self.network.address(member)

    def _prefix_for(self, member: str) -> list[str]:
        netns = [] if self.network is None else self.network.exec_prefix(member)
        return [*netns, *_death_prefix()]

    def _assign_addresses(self) -> None:
        for name in self.nodes:
            host = self._host_for(name)
            port = 6379 if self.network is not None else free_port()
            self._addresses[name] = (host, port)

    # -- the spawner thread --------------------------------------------------------------------

    def _spawn(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (which starts processes) on the spawner thread and return its result."""
        if self._spawner is None:
            self._spawner = ThreadPoolExecutor(1, thread_name_prefix="chaos-spawner")
        return self._spawner.submit(fn).result()

    # -- node processes ------------------------------------------------------------------------

    def _node_argv(self, node: str) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def leader(self) -> str | None:
        raise NotImplementedError

    def wait_for_first_leader(self, timeout: float) -> str:
        raise NotImplementedError

    def wait_healthy(self, timeout: float) -> bool:
        raise NotImplementedError

    def _process(self, node: str) -> _Process:
        proc = self._procs.get(node)
        if proc is None:
            host, port = self._addresses[node]
            argv = [*self._prefix_for(node), *self._node_argv(node)]
            proc = _Process(node, argv, self.workdir / node, host, port)
            self._procs[node] = proc
        return proc

    def _start_process(self, node: str) -> None:
        proc = self._process(node)
        if proc.running:
            return
        self._spawn(proc.spawn)
        proc.wait_ready(self.start_timeout)

    def start_node(self, node: str) -> None:
        self._start_process(node)

    def kill_node(self, node: str) -> None:
        self._procs[node].kill()

    def kill_nodes(self, nodes: Sequence[str]) -> None:
        procs = [self._procs[node] for node in nodes]
        for proc in procs:
            proc.signal(signal.SIGKILL)
        for proc in procs:
            proc.kill()  # reaps it

    def start_nodes(self, nodes: Sequence[str]) -> None:
        # All spawned before any is waited for: a node recovering from disk may wait for
        # the other members of its last ISR before it answers.
        waiting: list[_Process] = []
        for node in nodes:
            proc = self._process(node)
            if not proc.running:
                self._spawn(proc.spawn)
                waiting.append(proc)
        for proc in waiting:
            proc.wait_ready(self.start_timeout)

    def stop_node(self, node: str) -> None:
        proc = self._procs[node]
        proc.signal(signal.SIGSTOP)
        proc.paused = True

    def cont_node(self, node: str) -> None:
        proc = self._procs[node]
        proc.signal(signal.SIGCONT)
        proc.paused = False

    def node_log(self, node: str, lines: int = 40) -> str:
        proc = self._procs.get(node)
        return "" if proc is None else proc.tail(lines)

    # -- network faults ------------------------------------------------------------------------

    def partition(self, groups: Sequence[Collection[str]]) -> None:
        if self.network is None:
            raise FaultUnsupported("partitions need network namespaces (running on loopback)")
        self.network.partition(groups)

    def cut(self, pairs: Collection[tuple[str, str]]) -> None:
        if self.network is None:
            raise FaultUnsupported("partitions need network namespaces (running on loopback)")
        for a, b in pairs:
            self.network.cut(a, b)

    def heal(self) -> None:
        if self.network is not None:
            self.network.heal()

    # -- ZooKeeper (none here) -----------------------------------------------------------------

    def stop_zookeeper(self) -> None:
        raise FaultUnsupported(f"{self.kind} has no ZooKeeper")

    def start_zookeeper(self) -> None:
        raise FaultUnsupported(f"{self.kind} has no ZooKeeper")

    # -- life cycle ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every process (continuing paused ones first), heal, end the spawner. Idempotent."""
        for proc in self._procs.values():
            with contextlib.suppress(Exception):
                proc.terminate()
        self._stop_extra()
        with contextlib.suppress(Exception):
            self.heal()
        if self._spawner is not None:
            self._spawner.shutdown(wait=True)
            self._spawner = None

    def _stop_extra(self) -> None:
        pass

    def __enter__(self) -> _BaseCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- observations --------------------------------------------------------------------------

    def digests(self) -> dict[str, str]:
        return {node: node_digest(*self._addresses[node]) for node in self.nodes}

    def wait_for_leader(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            leader = self.leader()
            if leader is not None:
                return leader
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)

    def describe(self) -> str:
        where = "network namespaces" if self.network is not None else "loopback"
        return f"{self.kind}: {len(self.nodes)} node(s) on {where}"


# --------------------------------------------------------------------------- static primary


class StaticCluster(_BaseCluster):
    """``n1`` is the primary for good; ``n2``... replicate it (``replicaof``). No failover.

    ``server="redis"`` runs ``redis-server`` (the oracle), ``server="respcache"``
    runs ``respcache-server`` in Redis-style replication. A killed primary comes
    back empty (no persistence), so this cluster *loses* acknowledged writes
    when the nemesis kills its leader: useful to see the checkers catch it.
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        *,
        server: str = "redis",
        size: int = 3,
        network: Network | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        super().__init__(workdir, size=size, network=network, start_timeout=start_timeout)
        if server not in ("redis", "respcache"):
            raise ValueError("server must be 'redis' or 'respcache'")
        self.server = server
        self.kind = f"static-{server}"
        # Clients find the primary with ROLE: redis-server is no Sentinel, and clients
        # of a fixed primary need none (--discovery sentinel tries respcache's anyway).
        self.service_name = "respcache" if server == "respcache" else None
        self.preferred_discovery = "role"

    def _node_argv(self, node: str) -> list[str]:
        host, port = self._addresses[node]
        workdir = self.workdir / node
        if self.server == "redis":
            binary = [
                shutil.which("redis-server") or "redis-server",
                "--repl-diskless-sync-delay",
                "0",
            ]
        else:
            binary = [sys.executable, "-m", "respcache"]
        argv = [
            *binary,
            "--bind", host,
            "--port", str(port),
            "--protected-mode", "no",
            "--enable-debug-command", "yes",  # the checker compares DEBUG DIGESTs
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
            "--logfile", str(workdir / "server.log"),
        ]  # fmt: skip
        if node != self.nodes[0]:
            primary_host, primary_port = self._addresses[self.nodes[0]]
            argv += ["--replicaof", primary_host, str(primary_port)]
        return argv

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._assign_addresses()
        for node in self.nodes:
            self._start_process(node)

    def leader(self) -> str | None:
        primary = self.nodes[0]
        proc = self._procs.get(primary)
        if proc is None or not proc.running or proc.paused:
            return None
        role, _ = role_of(*self._addresses[primary])
        return primary if role == "master" else None

    def wait_for_first_leader(self, timeout: float) -> str:
        leader = self.wait_for_leader(timeout)
        if leader is None:
            raise ClusterNotReady(
                f"{self.nodes[0]} did not answer ROLE as master within {timeout:.0f}s"
            )
        return leader

    def wait_healthy(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.leader() is not None and all(
                self._replica_synced(node) for node in self.nodes[1:]
            ):
                return True
            time.sleep(0.2)
        return False

    def _replica_synced(self, node: str) -> bool:
        client = connection(*self._addresses[node], timeout=1.0)
        try:
            info = client.info("replication")
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()
        return bool(info.get("master_link_status") == "up")


# --------------------------------------------------------------------------- ZooKeeper-led


class RespcacheCluster(_BaseCluster):
    """ZooKeeper plus ``size`` respcache nodes that elect their leader through it."""

    kind = "respcache"
    has_zookeeper = True

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        *,
        size: int = 3,
        network: Network | None = None,
        session_timeout_ms: int = 2000,
        tick_time_ms: int = 200,
        cluster_name: str | None = None,
        start_timeout: float = 30.0,
        extra_settings: Mapping[str, str] | None = None,
        server_command: Sequence[str] | None = None,
        persistence: str = "none",
    ) -> None:
        super().__init__(workdir, size=size, network=network, start_timeout=start_timeout)
        if persistence not in PERSISTENCE_MODES:
            raise ValueError(f"persistence is one of {', '.join(PERSISTENCE_MODES)}")
        self.persistence = persistence
        """``aof``: nodes keep an AOF with ``appendfsync always`` in their dir and recover
        from it when restarted; ``none``: they come back empty."""
        self.persistent = persistence == "aof"
        self.server_command = list(server_command or [sys.executable, "-m", "respcache"])
        """How a node is started (the settings follow as ``--name value``)."""
        self.session_timeout_ms = session_timeout_ms
        self.tick_time_ms = tick_time_ms
        self.cluster_name = cluster_name or f"chaos-{os.getpid()}"
        self.service_name = self.cluster_name
        self.preferred_discovery = "sentinel"
        self.extra_settings = dict(extra_settings or {})
        self.zookeeper: ZooKeeperServer | None = None
        self._zk_client: Any = None

    @property
    def zk_address(self) -> str:
        assert self.zookeeper is not None
        return self.zookeeper.connect_string

    @property
    def state_path(self) -> str:
        return f"/respcache/{self.cluster_name}/state"

    def _node_argv(self, node: str) -> list[str]:
        host, port = self._addresses[node]
        workdir = self.workdir / node
        argv = [
            *self.server_command,
            "--bind", host,
            "--port", str(port),
            "--protected-mode", "no",
            "--enable-debug-command", "yes",  # the checker compares DEBUG DIGESTs
            "--save", "",
            *self._persistence_argv(),
            "--dir", str(workdir),
            "--logfile", str(workdir / "server.log"),
            "--zookeeper", self.zk_address,
            "--cluster-name", self.cluster_name,
            "--zk-session-timeout", str(self.session_timeout_ms),
            "--announce-host", host,
            "--announce-port", str(port),
        ]  # fmt: skip
        for name, value in self.extra_settings.items():
            argv += [f"--{name}", value]
        return argv

    def _persistence_argv(self) -> list[str]:
        if self.persistence == "aof":
            return ["--appendonly", "yes", "--appendfsync", "always"]
        return ["--appendonly", "no"]

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        zk_host = self._host_for(ZK)
        self.zookeeper = _NamespacedZooKeeper(
            self.workdir / "zookeeper",
            port=2181 if self.network is not None else 0,
            tick_time=self.tick_time_ms,
            host=zk_host,
            prefix=self._prefix_for(ZK),
        )
        self._spawn(self.zookeeper.start)
        self._assign_addresses()
        for node in self.nodes:
            self._start_process(node)

    def _stop_extra(self) -> None:
        if self._zk_client is not None:
            with contextlib.suppress(Exception):
                self._zk_client.stop()
                self._zk_client.close()
            self._zk_client = None
        if self.zookeeper is not None:
            with contextlib.suppress(Exception):
                self.zookeeper.stop(timeout=5.0)

    def stop_zookeeper(self) -> None:
        assert self.zookeeper is not None
        self.zookeeper.stop(timeout=5.0)

    def start_zookeeper(self) -> None:
        assert self.zookeeper is not None
        if not self.zookeeper.running:
            self._spawn(self.zookeeper.start)

    def zookeeper_log(self, lines: int = 40) -> str:
        if self.zookeeper is None:
            return ""
        with contextlib.suppress(OSError):
            return "\n".join(self.zookeeper.log_path.read_text().splitlines()[-lines:])
        return ""

    # -- the state znode -----------------------------------------------------------------------

    def _kazoo(self) -> Any:
        if self._zk_client is None:
            from kazoo.client import KazooClient
            from kazoo.retry import KazooRetry

            quiet = logging.getLogger("respcache.chaos.kazoo")
            quiet.setLevel(logging.ERROR)  # connection drops are what the nemesis is for
            client = KazooClient(
                hosts=self.zk_address,
                timeout=4.0,
                connection_retry=KazooRetry(max_tries=-1, max_delay=0.5),
                logger=quiet,
            )
            client.start(timeout=5.0)
            self._zk_client = client
        return self._zk_client

    def state(self) -> Any:
        """The decoded state znode (:class:`~respcache.coordination.ClusterState`) or ``None``."""
        from respcache.coordination.state import ClusterState, StateFormatError

        if self.zookeeper is None or not self.zookeeper.running:
            return None
        try:
            data, _ = self._kazoo().get(self.state_path)
            return ClusterState.decode(data)
        except (StateFormatError, Exception):
            return None

    def _node_by_id(self, node_id: str) -> str | None:
        for name, (host, port) in self._addresses.items():
            if node_id in (f"{host}:{port}", name):
                return name
        return None

    def leader(self) -> str | None:
        state = self.state()
        if state is None:
            return None
        node = self._node_by_id(state.leader_address) or self._node_by_id(state.leader)
        if node is None:
            return None
        proc = self._procs.get(node)
        if proc is None or not proc.running or proc.paused:
            return None
        role, _ = role_of(*self._addresses[node])
        return node if role == "master" else None

    def registered(self) -> int | None:
        """How many election znodes exist (``None``: ZooKeeper did not answer)."""
        if self.zookeeper is None or not self.zookeeper.running:
            return None
        try:
            return len(self._kazoo().get_children(f"/respcache/{self.cluster_name}/election"))
        except Exception as exc:
            if type(exc).__name__ == "NoNodeError":
                return 0
            return None

    def wait_for_first_leader(self, timeout: float, registration_timeout: float = 8.0) -> str:
        """The first leader, or :class:`ClusterNotReady` saying why there is none.

        Gives up early when no node registered in ZooKeeper at all within
        ``registration_timeout`` (the server does not use ZooKeeper).
        """
        began = time.monotonic()
        while True:
            leader = self.leader()
            if leader is not None:
                return leader
            waited = time.monotonic() - began
            if waited > registration_timeout and self.registered() == 0:
                raise ClusterNotReady(
                    f"no respcache node registered in ZooKeeper within {registration_timeout:.0f}s "
                    f"(no znode under /respcache/{self.cluster_name}/election): "
                    "respcache-server does not take part in the election yet"
                )
            if waited > timeout:
                state = self.state()
                raise ClusterNotReady(
                    f"no leader within {timeout:.0f}s ({self.registered()} node(s) registered, "
                    f"state znode: {state!r})"
                )
            time.sleep(0.1)

    def wait_healthy(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state()
            if (
                state is not None
                and self.leader() is not None
                and len({self._node_by_id(n) for n in state.isr} - {None}) == len(self.nodes)
            ):
                return True
            time.sleep(0.2)
        return False

    def describe(self) -> str:
        where = "network namespaces" if self.network is not None else "loopback"
        return (
            f"respcache: ZooKeeper + {len(self.nodes)} nodes on {where}, "
            f"cluster {self.cluster_name!r}, zk-session-timeout {self.session_timeout_ms} ms"
            + (", AOF appendfsync always" if self.persistent else "")
        )
