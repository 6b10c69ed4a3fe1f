"""``respcache-cluster``: a local cluster, ZooKeeper and N nodes, in one command.

::

    respcache-cluster up [--nodes 3] [--base-port 7001] [--zk-port 2181] [--dir var/cluster]
    respcache-cluster status [--json]
    respcache-cluster down [--timeout 10] [--clean]
    respcache-cluster up --foreground      # stays attached, prints the logs, stops on ^C

``up`` starts a ZooKeeper (:class:`~respcache.coordination.zkserver.ZooKeeperServer`,
data under ``<dir>/zookeeper``) and ``--nodes`` ``respcache-server`` processes
(``<dir>/n1``...), each with a config file written from the template
``conf/cluster/node.conf.example`` plus the node's own lines (port, announce
address, ZooKeeper, cluster name). Processes are detached: pid files and logs
live under ``--dir``, and ``<dir>/cluster.json`` records the layout for
``status`` and ``down``. ``up`` returns once ZooKeeper's state znode names a
leader that answers ``ROLE`` as master, then prints how to connect.

``up`` on a directory whose cluster is partly running, or whose processes died
(stale pid files: a crash, ``kill -9``), or whose nodes saved data, starts again
what is not running, with the recorded layout, and keeps ZooKeeper's data: the
state znode remembers the in-sync replicas, and the nodes restarted from their
disks elect the one holding every acknowledged write (see docs/operations.md,
"Recovering a cluster"). After a clean ``down`` of nodes that saved nothing,
``up`` starts afresh: ZooKeeper on an empty data directory.

The client side speaks RESP through ``hiredis`` (a dependency of the package),
so the command works without redis-py. See ``docs/operations.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import click
import hiredis

from respcache.config import lookup, quote
from respcache.coordination.state import ClusterState, StateFormatError
from respcache.coordination.zkserver import (
    ZooKeeperError,
    ZooKeeperServer,
    default_cds_archive,
    find_classpath,
    four_letter_word,
    free_port,
)

__all__ = [
    "ClusterError",
    "ClusterSpec",
    "LocalCluster",
    "NodeSpec",
    "NodeStatus",
    "NotWired",
    "Status",
    "command",
    "load_template",
    "main",
    "plan",
    "render_node_config",
]

log = logging.getLogger("respcache.cluster_cli")

HOST = "127.0.0.1"
STATE_FILE = "cluster.json"
TEMPLATE_NAMES = ("conf/cluster/node.conf", "conf/cluster/node.conf.example")
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The source checkout holding ``conf/`` (an editable install, as bin/setup makes)."""

BUILTIN_TEMPLATE = """\
# Settings shared by every node (built-in template: conf/cluster/node.conf.example
# was not found).
protected-mode yes
loglevel notice
save ""
appendonly no
"""

EXIT_NO_LEADER = 2
"""``up``: the processes run but no leader was elected in time (they are left running)."""
EXIT_NOT_RUNNING = 3
"""``status``: no cluster recorded in ``--dir``, or none of its processes runs."""


class ClusterError(click.ClickException):
    """The cluster could not be started, stopped or inspected (exit status 1)."""


class NotWired(ClusterError):
    """No node registered in ZooKeeper: respcache-server does not take part in the election."""

    exit_code = EXIT_NO_LEADER


class NoLeader(ClusterError):
    exit_code = EXIT_NO_LEADER


# --------------------------------------------------------------------------- the layout


@dataclass(frozen=True)
class NodeSpec:
    """One node: its name (``n1``), RESP address and optional HTTP port."""

    name: str
    port: int
    host: str = HOST
    http_port: int = 0

    @property
    def node_id(self) -> str:
        """The ``node-id`` (``host:port``: also what a leader calls a follower by default)."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ClusterSpec:
    """Everything ``up`` decided; saved as ``<directory>/cluster.json``."""

    directory: Path
    cluster_name: str
    nodes: tuple[NodeSpec, ...]
    zk_port: int
    tick_time_ms: int = 200
    session_timeout_ms: int = 2000
    settings: tuple[tuple[str, str], ...] = ()
    """``--set NAME VALUE`` pairs, written last into every node's config."""
    template: str = ""
    """Where the shared settings came from (a path, or ``builtin``)."""

    # -- paths ---------------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.directory / STATE_FILE

    @property
    def lock_path(self) -> Path:
        return self.directory / ".lock"

    def node_dir(self, node: NodeSpec) -> Path:
        return self.directory / node.name

    def conf_path(self, node: NodeSpec) -> Path:
        return self.node_dir(node) / "node.conf"

    def log_path(self, node: NodeSpec) -> Path:
        return self.node_dir(node) / "server.log"

    def pid_path(self, node: NodeSpec) -> Path:
        return self.node_dir(node) / "respcache.pid"

    @property
    def zk_dir(self) -> Path:
        return self.directory / "zookeeper"

    @property
    def zk_pid_path(self) -> Path:
        return self.zk_dir / "zookeeper.pid"

    @property
    def zk_config_path(self) -> Path:
        return self.zk_dir / "zoo.cfg"

    @property
    def zk_log_path(self) -> Path:
        return self.zk_dir / "zookeeper.log"

    @property
    def zk_connect(self) -> str:
        return f"{HOST}:{self.zk_port}"

    @property
    def state_znode(self) -> str:
        return f"/respcache/{self.cluster_name}/state"

    @property
    def election_znode(self) -> str:
        return f"/respcache/{self.cluster_name}/election"

    # -- lookups -------------------------------------------------------------------------------

    def node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if name == node.name:
                return node
        raise KeyError(name)

    def node_by_id(self, node_id: str) -> NodeSpec | None:
        """The node a ZooKeeper node id or ``host:port`` address names."""
        for node in self.nodes:
            if node_id in (node.node_id, node.name):
                return node
        return None

    def short(self, node_id: str) -> str:
        """``n2`` for ``127.0.0.1:7002``; unknown ids stay as they are."""
        node = self.node_by_id(node_id)
        return node.name if node is not None else node_id

    # -- JSON ----------------------------------------------------------------------------------

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["directory"] = str(self.directory)
        data["settings"] = [list(pair) for pair in self.settings]
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ClusterSpec:
        data = json.loads(text)
        return cls(
            directory=Path(data["directory"]),
            cluster_name=data["cluster_name"],
            nodes=tuple(NodeSpec(**node) for node in data["nodes"]),
            zk_port=int(data["zk_port"]),
            tick_time_ms=int(data["tick_time_ms"]),
            session_timeout_ms=int(data["session_timeout_ms"]),
            settings=tuple((str(k), str(v)) for k, v in data.get("settings", ())),
            template=str(data.get("template", "")),
        )

    @classmethod
    def load(cls, directory: Path) -> ClusterSpec | None:
        """The spec recorded in ``directory``, or ``None`` when there is none (or it is garbage)."""
        try:
            return cls.from_json((directory / STATE_FILE).read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return None


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether ``port`` can be bound on ``host`` now (nobody listens on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def plan(
    directory: str | os.PathLike[str],
    *,
    nodes: int = 3,
    base_port: int = 7001,
    zk_port: int | None = None,
    cluster_name: str = "respcache",
    session_timeout_ms: int = 2000,
    tick_time_ms: int = 200,
    http_base_port: int = 0,
    settings: Sequence[tuple[str, str]] = (),
    template: str = "",
    port_free: Callable[[int], bool] = port_is_free,
) -> ClusterSpec:
    """Decide the layout: node ``i`` (from 1) listens on ``base_port + i - 1``.

    ``zk_port=None`` takes 2181 when it is free and a free port otherwise; ``0`` always
    takes a free port. ``http_base_port`` > 0 gives node ``i`` the HTTP ``/data``
    port ``http_base_port + i - 1``. Raises :class:`ValueError` for an impossible
    layout (checks nothing about running processes).
    """
    if nodes < 1:
        raise ValueError("a cluster needs at least one node")
    if not 1 <= base_port <= 65535 - nodes + 1:
        raise ValueError(f"ports {base_port}..{base_port + nodes - 1} are not all valid")
    if http_base_port and not 1 <= http_base_port <= 65535 - nodes + 1:
        raise ValueError(f"HTTP ports from {http_base_port} are not all valid")
    if tick_time_ms < 1:
        raise ValueError("tickTime must be at least 1 ms")
    if session_timeout_ms < 2 * tick_time_ms:
        raise ValueError(
            f"a session timeout of {session_timeout_ms} ms is below ZooKeeper's minimum of "
            f"2 ticks ({2 * tick_time_ms} ms): lower --tick-time"
        )
    for name, _ in settings:
        if lookup(name) is None:
            raise ValueError(f"--set {name}: no such setting")
    specs = tuple(
        NodeSpec(
            name=f"n{i}",
            port=base_port + i - 1,
            http_port=http_base_port + i - 1 if http_base_port else 0,
        )
        for i in range(1, nodes + 1)
    )
    used = {n.port for n in specs} | {n.http_port for n in specs if n.http_port}
    if len(used) != len(specs) * (2 if http_base_port else 1):
        raise ValueError("the RESP and HTTP port ranges overlap")
    if zk_port is None:
        zk_port = 2181 if 2181 not in used and port_free(2181) else 0
    if zk_port == 0:
        zk_port = free_port(HOST)
        while zk_port in used:
            zk_port = free_port(HOST)
    elif zk_port in used:
        raise ValueError(f"ZooKeeper's port {zk_port} is also a node's port")
    return ClusterSpec(
        directory=Path(directory).absolute(),
        cluster_name=cluster_name,
        nodes=specs,
        zk_port=zk_port,
        tick_time_ms=tick_time_ms,
        session_timeout_ms=session_timeout_ms,
        settings=tuple(settings),
        template=template,
    )


# --------------------------------------------------------------------------- node configs


def find_template(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The shared-settings template: ``explicit``, else ``conf/cluster/node.conf`` (a local
    copy), else ``conf/cluster/node.conf.example``, looked up in the current directory and
    then in the source checkout; ``None`` when there is none."""
    if explicit is not None:
        return Path(explicit)
    for base in (Path.cwd(), PACKAGE_ROOT):
        for name in TEMPLATE_NAMES:
            path = base / name
            if path.is_file():
                return path
    return None


def load_template(explicit: str | os.PathLike[str] | None = None) -> tuple[str, str]:
    """``(text, source)`` of the template (see :func:`find_template`); the built-in one last."""
    path = find_template(explicit)
    if path is None:
        return BUILTIN_TEMPLATE, "builtin"
    try:
        return path.read_text(), str(path.absolute())
    except OSError as exc:
        raise ClusterError(f"cannot read the node template {path}: {exc.strerror or exc}") from None


def node_settings(spec: ClusterSpec, node: NodeSpec) -> list[tuple[str, str]]:
    """The settings that make ``node`` a member of the cluster, in the order written."""
    pairs = [
        ("bind", node.host),
        ("port", str(node.port)),
        ("dir", str(spec.node_dir(node))),
        ("pidfile", str(spec.pid_path(node))),
        ("logfile", ""),  # stderr, which up sends to server.log
        ("zookeeper", spec.zk_connect),
        ("cluster-name", spec.cluster_name),
        ("zk-session-timeout", str(spec.session_timeout_ms)),
        ("announce-host", node.host),
        ("announce-port", str(node.port)),
        ("node-id", node.node_id),
        ("http-port", str(node.http_port)),
    ]
    # A setting this build of the server does not know (node-id, before the ZooKeeper
    # wiring) is left out: an unknown directive makes the server refuse the file.
    return [(k, v) for k, v in pairs if lookup(k) is not None]


_PLAIN = re.compile(r"[A-Za-z0-9._:/@+,=*-]+")


def conf_value(value: str) -> str:
    """A value as a config line word: as it is when plain, else double-quoted."""
    return value if _PLAIN.fullmatch(value) else quote(value)


def render_node_config(spec: ClusterSpec, node: NodeSpec, template: str) -> str:
    """The config file of ``node``: the template, then the node's own lines, then ``--set``.

    Later lines win in redis.conf syntax, so the node's identity (port, addresses,
    ZooKeeper) cannot be changed by the template by mistake, while ``--set`` can
    change anything on purpose.
    """
    lines = [
        f"# Node {node.name} of the local cluster {spec.cluster_name!r}: written by",
        "# `respcache-cluster up` at every start (edit the template, not this file).",
        f"# Template: {spec.template or 'builtin'}",
        "",
        template.rstrip("\n"),
        "",
        f"# ---- node {node.name} (respcache-cluster up) ----",
    ]
    lines += [f"{name} {conf_value(value)}" for name, value in node_settings(spec, node)]
    if spec.settings:
        lines += ["", "# ---- --set (respcache-cluster up) ----"]
        lines += [f"{name} {conf_value(value)}" for name, value in spec.settings]
    return "\n".join(lines) + "\n"


def write_node_configs(spec: ClusterSpec, template: str) -> None:
    for node in spec.nodes:
        spec.node_dir(node).mkdir(parents=True, exist_ok=True)
        spec.conf_path(node).write_text(render_node_config(spec, node, template))


# --------------------------------------------------------------------------- processes


def _zombie_or_gone(pid: int) -> bool:
    # A zombie (exited, not yet reaped by its parent: ours in the foreground mode or a
    # test) counts as gone; its parent's Popen reaps it and keeps the exit status.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    return pid > 0 and not _zombie_or_gone(pid)


def process_matches(pid: int, marker: str) -> bool:
    """Whether ``pid`` is alive and its command line mentions ``marker`` (a config path):
    a pid file left by a crash may name a pid that another program got since."""
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return any(marker.encode() in word for word in argv)


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _child_env() -> dict[str, str]:
    # RESPCACHE_* variables would override the generated files (environment beats file).
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("RESPCACHE_")}


def _death_prefix() -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def server_command() -> list[str]:
    """How a node is started: ``$RESPCACHE_CLUSTER_SERVER`` (split on spaces) or this Python's
    ``-m respcache`` (the same as ``respcache-server``)."""
    override = os.environ.get("RESPCACHE_CLUSTER_SERVER")
    if override:
        return override.split()
    return [sys.executable, "-m", "respcache"]


class _ZooKeeper(ZooKeeperServer):
    """ZooKeeperServer that can outlive us (``detach``) or die with us (``prefix``)."""

    def __init__(self, *args: Any, prefix: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = list(prefix)

    def command(self, cds_flags: Sequence[str] = ()) -> list[str]:
        return [*self.prefix, *super().command(cds_flags)]

    def detach(self) -> None:
        """Forget the process: it keeps running after we exit (``down`` stops it by pid)."""
        self._process = None


def signal_pid(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def wait_gone(pids: Sequence[int], timeout: float) -> list[int]:
    """Wait until every pid exited; those still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if pid_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if pid_alive(p)]
    return alive


def terminate(pids: Sequence[int], timeout: float) -> list[int]:
    """SIGTERM every pid, SIGKILL those alive after ``timeout``; the pids that were killed."""
    pids = [p for p in pids if pid_alive(p)]
    for pid in pids:
        signal_pid(pid, signal.SIGCONT)  # a SIGSTOPped node would never handle SIGTERM
        signal_pid(pid, signal.SIGTERM)
    stubborn = wait_gone(pids, timeout)
    for pid in stubborn:
        signal_pid(pid, signal.SIGKILL)
    wait_gone(stubborn, 5.0)
    return stubborn


# --------------------------------------------------------------------------- RESP, tiny


def _encode(args: Sequence[str | bytes | int]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def call(host: str, port: int, *args: str | bytes | int, timeout: float = 1.0) -> Any:
    """One command, one reply (an error reply is returned as ``hiredis.ReplyError``).

    Raises :class:`OSError` when the node cannot be reached or hangs up.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(_encode(args))
        reader = hiredis.Reader()
        while True:
            data = sock.recv(65536)
            if not data:
                raise ConnectionResetError(f"{host}:{port} closed the connection")
            reader.feed(data)
            reply = reader.gets()
            if reply is not False:
                return reply


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def parse_info(text: str) -> dict[str, str]:
    """INFO's ``name:value`` lines (the value as text; sections and comments skipped)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, _, value = line.partition(":")
        fields[name] = value
    return fields


def role_of(host: str, port: int, timeout: float = 1.0) -> tuple[str, tuple[str, int] | None]:
    """``ROLE``: ``("master", None)``, ``("slave", (host, port))``, ``("down", None)``..."""
    try:
        reply = call(host, port, "ROLE", timeout=timeout)
    except OSError:
        return ("down", None)
    if isinstance(reply, hiredis.ReplyError):
        return ("error", None)
    if not isinstance(reply, list) or not reply:
        return ("unknown", None)
    role = _text(reply[0])
    if role == "slave" and len(reply) >= 3:
        with contextlib.suppress(ValueError):
            return (role, (_text(reply[1]), int(reply[2])))
    return (role, None)


def sentinel_master(
    host: str, port: int, name: str, timeout: float = 1.0
) -> tuple[str, int] | None:
    """``SENTINEL GET-MASTER-ADDR-BY-NAME name`` on a node (``None``: no answer, or none)."""
    try:
        reply = call(host, port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name, timeout=timeout)
    except OSError:
        return None
    if isinstance(reply, list) and len(reply) == 2:
        with contextlib.suppress(ValueError):
            return (_text(reply[0]), int(reply[1]))
    return None


# --------------------------------------------------------------------------- status


KNOWN_REPLICATION_FIELDS = frozenset(
    """role master_host master_port master_link_status master_last_io_seconds_ago
    master_sync_in_progress slave_read_repl_offset slave_repl_offset master_sync_total_bytes
    master_sync_read_bytes master_sync_left_bytes master_sync_perc master_sync_last_io_seconds_ago
    master_link_down_since_seconds slave_priority slave_read_only replica_announced
    connected_slaves min_slaves_good_slaves master_failover_state master_replid master_replid2
    master_repl_offset second_repl_offset repl_backlog_active repl_backlog_size
    repl_backlog_first_byte_offset repl_backlog_histlen isr min_insync_replicas
    replication_epoch""".split()  # noqa: SIM905 (a table, easier to read as words)
)
"""Fields of ``INFO replication`` the status table shows or Redis has; anything else
(what the coordination wiring adds) is listed under the node as it is."""


@dataclass
class NodeStatus:
    name: str
    address: str
    pid: int | None
    process: str
    """``running``, ``stopped``, ``stale pid file`` or ``not ours``."""
    reachable: bool = False
    role: str = "-"
    epoch: str = "-"
    isr: str = "-"
    offset: str = "-"
    link: str = "-"
    master: str = "-"
    zk: str = "-"
    """``INFO coordination``'s ``zk_connected`` as yes/no (``-``: no such section)."""
    replication: dict[str, str] = field(default_factory=dict)
    cluster: dict[str, str] = field(default_factory=dict)
    coordination: dict[str, str] = field(default_factory=dict)
    """``INFO coordination`` (the ZooKeeper wiring's section): role, epochs, last decision..."""
    sentinel_master: str = "-"

    @property
    def extra(self) -> dict[str, str]:
        """INFO replication fields beyond Redis's and ours (what the wiring adds)."""
        return {
            k: v
            for k, v in self.replication.items()
            if k not in KNOWN_REPLICATION_FIELDS and not k.startswith("slave")
        }


@dataclass
class Status:
    spec: ClusterSpec
    zk_pid: int | None
    zk_process: str
    zk_serving: bool
    zk_mode: str
    state: ClusterState | None
    state_error: str | None
    registered: list[str] | None
    """Node ids with an election znode (``None``: ZooKeeper did not answer)."""
    nodes: list[NodeStatus]

    @property
    def leader(self) -> NodeSpec | None:
        """The node ZooKeeper's state names, if it runs and answers ROLE as master."""
        if self.state is None:
            return None
        node = self.spec.node_by_id(self.state.leader_address) or self.spec.node_by_id(
            self.state.leader
        )
        if node is None:
            return None
        for status in self.nodes:
            if status.name == node.name and status.process == "running" and status.role == "master":
                return node
        return None

    @property
    def running(self) -> int:
        return sum(1 for n in self.nodes if n.process == "running") + (
            1 if self.zk_process == "running" else 0
        )

    @property
    def healthy(self) -> bool:
        return (
            self.zk_serving
            and all(n.process == "running" and n.reachable for n in self.nodes)
            and self.leader is not None
        )

    def to_json(self) -> dict[str, Any]:
        state = self.state
        return {
            "cluster": self.spec.cluster_name,
            "directory": str(self.spec.directory),
            "healthy": self.healthy,
            "leader": None if self.leader is None else self.leader.name,
            "zookeeper": {
                "address": self.spec.zk_connect,
                "pid": self.zk_pid,
                "process": self.zk_process,
                "serving": self.zk_serving,
                "mode": self.zk_mode,
                "state": None
                if state is None
                else {
                    "leader": state.leader,
                    "leader_address": state.leader_address,
                    "epoch": state.epoch,
                    "isr": list(state.isr),
                },
                "state_error": self.state_error,
                "registered": self.registered,
            },
            "nodes": [dataclasses.asdict(n) for n in self.nodes],
        }


class _ZkReader:
    """A short-lived kazoo client that reads the state and election znodes."""

    def __init__(self, spec: ClusterSpec, timeout: float = 2.0) -> None:
        self.spec = spec
        self.timeout = timeout
        self._client: Any = None

    def _kazoo(self) -> Any:
        if self._client is None:
            from kazoo.client import KazooClient
            from kazoo.retry import KazooRetry

            quiet = logging.getLogger("respcache.cluster_cli.kazoo")
            quiet.setLevel(logging.CRITICAL)
            client = KazooClient(
                hosts=self.spec.zk_connect,
                timeout=max(self.timeout, 2.0),
                connection_retry=KazooRetry(max_tries=1, delay=0.1),
                command_retry=KazooRetry(max_tries=1, delay=0.1),
                logger=quiet,
            )
            client.start(timeout=self.timeout)
            self._client = client
        return self._client

    def state(self) -> tuple[ClusterState | None, str | None]:
        """``(state, None)``; ``(None, None)`` when there is no state znode yet;
        ``(None, why)`` when it could not be read."""
        from kazoo.exceptions import NoNodeError

        try:
            data, _ = self._kazoo().get(self.spec.state_znode)
        except NoNodeError:
            return None, None
        except Exception as exc:
            self.close()
            return None, f"ZooKeeper: {exc or type(exc).__name__}"
        try:
            return ClusterState.decode(data), None
        except StateFormatError as exc:
            return None, f"bad state znode: {exc}"

    def registered(self) -> list[str] | None:
        from kazoo.exceptions import NoNodeError

        try:
            children = self._kazoo().get_children(self.spec.election_znode)
        except NoNodeError:
            return []
        except Exception:
            self.close()
            return None
        # <uuid>__<node id>__<sequence>
        return sorted(parts[1] for c in children if len(parts := c.split("__")) == 3)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.stop()
                client.close()


def _process_state(pid: int | None, marker: str) -> str:
    if pid is None:
        return "stopped"
    if process_matches(pid, marker):
        return "running"
    return "stale pid file" if not pid_alive(pid) else "not ours"


def node_status(spec: ClusterSpec, node: NodeSpec, timeout: float = 1.0) -> NodeStatus:
    pid = read_pid(spec.pid_path(node))
    process = _process_state(pid, str(spec.conf_path(node)))
    status = NodeStatus(node.name, node.node_id, pid, process)
    try:
        replication = parse_info(
            _text(call(node.host, node.port, "INFO", "replication", timeout=timeout))
        )
        cluster = parse_info(_text(call(node.host, node.port, "INFO", "cluster", timeout=timeout)))
        coordination = parse_info(
            _text(call(node.host, node.port, "INFO", "coordination", timeout=timeout))
        )
    except OSError:
        return status
    status.reachable = True
    status.replication = replication
    status.cluster = cluster
    status.coordination = coordination
    if "zk_connected" in coordination:
        status.zk = "yes" if coordination["zk_connected"] == "1" else "no"
    status.role = replication.get("role", "?")
    status.epoch = replication.get("replication_epoch", "-")
    isr = [i for i in replication.get("isr", "").split(",") if i]
    status.isr = ",".join(spec.short(i) for i in isr) if isr else "-"
    if status.role == "slave":
        status.offset = replication.get("slave_repl_offset", "-")
        status.link = replication.get("master_link_status", "-")
        leader = f"{replication.get('master_host', '')}:{replication.get('master_port', '')}"
        status.master = spec.short(leader)
    else:
        status.offset = replication.get("master_repl_offset", "-")
    found = sentinel_master(node.host, node.port, spec.cluster_name, timeout)
    status.sentinel_master = "-" if found is None else spec.short(f"{found[0]}:{found[1]}")
    return status


def collect_status(spec: ClusterSpec, zk: _ZkReader | None = None, timeout: float = 1.0) -> Status:
    zk_pid = read_pid(spec.zk_pid_path)
    zk_process = _process_state(zk_pid, str(spec.zk_config_path))
    serving = False
    mode = "-"
    with contextlib.suppress(OSError):
        answer = four_letter_word(HOST, spec.zk_port, "srvr", timeout=timeout)
        for line in answer.splitlines():
            if line.startswith("Mode: "):
                serving = True
                mode = line.removeprefix("Mode: ").strip()
    state: ClusterState | None = None
    state_error: str | None = None
    registered: list[str] | None = None
    if serving:
        reader = zk or _ZkReader(spec, timeout=max(timeout, 2.0))
        try:
            state, state_error = reader.state()
            registered = reader.registered()
        finally:
            if zk is None:
                reader.close()
    nodes = [node_status(spec, node, timeout) for node in spec.nodes]
    return Status(spec, zk_pid, zk_process, serving, mode, state, state_error, registered, nodes)


def format_status(status: Status, verbose: bool = False) -> str:
    """The status as text; ``verbose`` adds every node's ``INFO coordination`` lines."""
    spec = status.spec
    zk_state = "up" if status.zk_serving else "DOWN"
    zk_pid = f"pid {status.zk_pid}" if status.zk_pid else "no pid"
    lines = [
        f"cluster {spec.cluster_name!r} in {spec.directory}",
        f"ZooKeeper {spec.zk_connect}: {zk_state} ({status.zk_mode}, {zk_pid}, "
        f"{status.zk_process}); session timeout {spec.session_timeout_ms} ms, "
        f"tickTime {spec.tick_time_ms} ms",
    ]
    state = status.state
    if state is not None:
        lines.append(
            f"state znode: leader {spec.short(state.leader)} ({state.leader_address}), "
            f"epoch {state.epoch}, ISR {','.join(spec.short(i) for i in state.isr) or '-'}"
        )
    elif status.state_error:
        lines.append(f"state znode: {status.state_error}")
    elif status.zk_serving:
        lines.append("state znode: none yet (no leader was ever elected)")
    if status.registered is not None:
        names = ",".join(spec.short(i) for i in status.registered) or "none"
        lines.append(f"registered in the election: {names}")
    header = (
        "NODE",
        "ADDRESS",
        "PID",
        "PROCESS",
        "ROLE",
        "EPOCH",
        "ISR",
        "OFFSET",
        "MASTER",
        "LINK",
        "ZK",
        "SENTINEL",
    )
    rows = [
        (
            n.name,
            n.address,
            str(n.pid or "-"),
            n.process,
            n.role if n.reachable else "unreachable",
            n.epoch,
            n.isr,
            n.offset,
            n.master,
            n.link,
            n.zk,
            n.sentinel_master,
        )
        for n in status.nodes
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines.append("")
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for n in status.nodes:
        if n.extra:
            lines.append(f"  {n.name}: " + " ".join(f"{k}:{v}" for k, v in sorted(n.extra.items())))
        if verbose and n.coordination:
            lines.append(f"  {n.name} INFO coordination:")
            lines += [f"    {k}:{v}" for k, v in n.coordination.items()]
    leader = status.leader
    lines.append("")
    if leader is not None:
        lines.append(f"leader: {leader.name} ({leader.node_id})")
    else:
        lines.append("leader: none")
        why = waiting_reasons(status)
        if why:
            lines.append(f"why: {why}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the cluster


class LocalCluster:
    """The processes of one :class:`ClusterSpec`: start, wait for a leader, stop.

    ``foreground=True`` keeps them attached to this process (they die with it);
    otherwise they are detached and only their pid files remember them.
    """

    def __init__(
        self,
        spec: ClusterSpec,
        *,
        foreground: bool = False,
        echo: Callable[[str], None] = click.echo,
    ) -> None:
        self.spec = spec
        self.foreground = foreground
        self.echo = echo
        self.zookeeper: _ZooKeeper | None = None
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    # -- state of the directory ----------------------------------------------------------------

    def running_pids(self) -> dict[str, int]:
        """``{"zookeeper"|node name: pid}`` of this cluster's processes that run now."""
        spec = self.spec
        found: dict[str, int] = {}
        for node in spec.nodes:
            pid = read_pid(spec.pid_path(node))
            if pid is not None and process_matches(pid, str(spec.conf_path(node))):
                found[node.name] = pid
        pid = read_pid(spec.zk_pid_path)
        if pid is not None and process_matches(pid, str(spec.zk_config_path)):
            found["zookeeper"] = pid
        return found

    def remove_stale_pid_files(self) -> list[Path]:
        """Delete pid files whose process is gone (or is another program now)."""
        spec = self.spec
        removed: list[Path] = []
        entries = [(spec.zk_pid_path, str(spec.zk_config_path))] + [
            (spec.pid_path(n), str(spec.conf_path(n))) for n in spec.nodes
        ]
        for path, marker in entries:
            pid = read_pid(path)
            if path.exists() and (pid is None or not process_matches(pid, marker)):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
        return removed

    # -- start ---------------------------------------------------------------------------------

    def start(self, template: str, start_timeout: float = 30.0) -> None:
        """Start ZooKeeper, then every node; on any failure stop what was started."""
        spec = self.spec
        busy = [p for p in [spec.zk_port, *(n.port for n in spec.nodes)] if not port_is_free(p)]
        busy += [n.http_port for n in spec.nodes if n.http_port and not port_is_free(n.http_port)]
        if busy:
            raise ClusterError(
                f"port(s) {', '.join(map(str, busy))} already in use on {HOST}: stop what "
                "listens there, or pick others (--base-port, --zk-port)"
            )
        spec.directory.mkdir(parents=True, exist_ok=True)
        write_node_configs(spec, template)
        spec.state_path.write_text(spec.to_json())
        try:
            self._start_zookeeper()
            for node in spec.nodes:
                self._spawn_node(node)
            for node in spec.nodes:
                self._wait_node(node, start_timeout)
        except BaseException:
            self.stop(timeout=5.0)
            raise
        if not self.foreground:
            self.procs.clear()  # detached: nothing to wait for on our side

    def stale_pid_files(self) -> list[Path]:
        """Pid files whose process is gone (a crash left them)."""
        spec = self.spec
        entries = [(spec.zk_pid_path, str(spec.zk_config_path))] + [
            (spec.pid_path(n), str(spec.conf_path(n))) for n in spec.nodes
        ]
        found = []
        for path, marker in entries:
            pid = read_pid(path)
            if path.exists() and (pid is None or not process_matches(pid, marker)):
                found.append(path)
        return found

    def saved_data(self) -> list[str]:
        """Nodes whose directory holds persisted data (an RDB file or an AOF directory)."""
        spec = self.spec
        return [
            node.name
            for node in spec.nodes
            if any(spec.node_dir(node).glob("*.rdb"))
            or any(spec.node_dir(node).glob("appendonlydir*"))
        ]

    def resume(self, start_timeout: float = 30.0) -> list[str]:
        """Start what is not running (ZooKeeper with its data kept, nodes with their
        configs and data); returns what was started. On failure, stops what it started."""
        spec = self.spec
        running = self.running_pids()
        todo = [n for n in spec.nodes if n.name not in running]
        ports = [n.port for n in todo] + ([] if "zookeeper" in running else [spec.zk_port])
        busy = [p for p in ports if not port_is_free(p)]
        if busy:
            raise ClusterError(
                f"port(s) {', '.join(map(str, busy))} already in use on {HOST}: stop what "
                "listens there (`respcache-cluster status` shows the cluster's processes)"
            )
        absent = [n.name for n in todo if not spec.conf_path(n).exists()]
        if absent:
            raise ClusterError(
                f"no config file for {', '.join(absent)} in {spec.directory}: "
                "`respcache-cluster down --clean`, then `up`, starts a new cluster"
            )
        self.remove_stale_pid_files()
        started: list[str] = []
        zk_started = False
        try:
            if "zookeeper" not in running:
                self._start_zookeeper(keep_data=True)
                zk_started = True
                started.append("zookeeper")
            for node in todo:
                self._spawn_node(node)
                started.append(node.name)
            for node in todo:
                self._wait_node(node, start_timeout)
        except BaseException:
            procs = [p.pid for p in self.procs.values() if p.poll() is None]
            terminate(procs, 5.0)
            if zk_started:
                pid = read_pid(spec.zk_pid_path)
                if self.zookeeper is not None:
                    self.zookeeper.stop(5.0)
                elif pid is not None and process_matches(pid, str(spec.zk_config_path)):
                    terminate([pid], 5.0)
            self.remove_stale_pid_files()
            raise
        if not self.foreground:
            self.procs.clear()
        return started

    def _start_zookeeper(self, keep_data: bool = False) -> None:
        spec = self.spec
        data = spec.zk_dir / "data"
        if data.exists() and not keep_data:
            shutil.rmtree(data)  # a fresh election: see the module docstring
        spec.zk_dir.mkdir(parents=True, exist_ok=True)
        cds: Any = "auto"
        if not self.foreground:
            # The class-data archive is recorded when ZooKeeper exits under our control;
            # a detached one is stopped by pid, so only use an archive that already exists.
            with contextlib.suppress(ZooKeeperError, OSError):
                archive = default_cds_archive(
                    shutil.which("java") or "/usr/bin/java", find_classpath()
                )
                cds = archive if archive.is_file() else None
        try:
            zk = _ZooKeeper(
                spec.zk_dir,
                port=spec.zk_port,
                tick_time=spec.tick_time_ms,
                cds_archive=cds,
                prefix=_death_prefix() if self.foreground else (),
            )
            zk.start()
        except ZooKeeperError as exc:
            raise ClusterError(f"ZooKeeper did not start: {exc}") from None
        pid = zk.pid
        assert pid is not None
        spec.zk_pid_path.write_text(f"{pid}\n")
        if self.foreground:
            self.zookeeper = zk
        else:
            zk.detach()
        self.echo(f"ZooKeeper serving on {spec.zk_connect} (pid {pid})")

    def _spawn_node(self, node: NodeSpec) -> None:
        spec = self.spec
        argv = [*server_command(), str(spec.conf_path(node))]
        if self.foreground:
            argv = [*_death_prefix(), *argv]
        with open(spec.log_path(node), "ab") as out:
            out.write(f"--- respcache-cluster up: {' '.join(argv)}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                argv,
                cwd=spec.node_dir(node),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_child_env(),
                start_new_session=True,  # ^C in the terminal reaches us, not the nodes
            )
        self.procs[node.name] = proc
        spec.pid_path(node).write_text(f"{proc.pid}\n")

    def _wait_node(self, node: NodeSpec, timeout: float) -> None:
        proc = self.procs[node.name]
        deadline = time.monotonic() + timeout
        while True:
            code = proc.poll()
            if code is not None:
                raise ClusterError(
                    f"{node.name} exited with status {code} while starting:\n"
                    + tail(self.spec.log_path(node), 15)
                )
            try:
                reply = call(node.host, node.port, "PING", timeout=0.5)
            except OSError:
                pass
            else:
                if not (isinstance(reply, hiredis.ReplyError) and str(reply).startswith("LOADING")):
                    self.echo(f"{node.name} listening on {node.node_id} (pid {proc.pid})")
                    return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{node.name} did not answer PING within {timeout:.0f}s:\n"
                    + tail(self.spec.log_path(node), 15)
                )
            time.sleep(0.05)

    def kill_node(self, name: str) -> int:
        """SIGKILL one node, as a crash would (its pid file stays behind); returns its pid."""
        node = self.spec.node(name)
        proc = self.procs.get(name)
        pid = proc.pid if proc is not None else read_pid(self.spec.pid_path(node))
        if pid is None or not process_matches(pid, str(self.spec.conf_path(node))):
            raise ClusterError(f"{name} is not running")
        os.kill(pid, signal.SIGKILL)
        if proc is not None:
            proc.wait()
        return pid

    def start_node(self, name: str, timeout: float = 30.0) -> None:
        """Start one node again with its config (a new process: a new run id, empty data)."""
        node = self.spec.node(name)
        pid = read_pid(self.spec.pid_path(node))
        if pid is not None and process_matches(pid, str(self.spec.conf_path(node))):
            raise ClusterError(f"{name} is already running (pid {pid})")
        self._spawn_node(node)
        self._wait_node(node, timeout)
        if not self.foreground:
            self.procs.pop(name, None)

    # -- leader --------------------------------------------------------------------------------

    def wait_for_leader(
        self,
        timeout: float = 30.0,
        registration_timeout: float = 8.0,
        agreement_timeout: float = 10.0,
    ) -> Status:
        """Until ZooKeeper's state names a running leader that answers ``ROLE`` as master.

        Then, for up to ``agreement_timeout`` more, until every other node follows it and
        every node's ``SENTINEL GET-MASTER-ADDR-BY-NAME`` names it (the returned status
        shows who does not). Raises :class:`NotWired` when no node registered in
        ZooKeeper within ``registration_timeout`` and :class:`NoLeader` after ``timeout``.
        """
        spec = self.spec
        reader = _ZkReader(spec)
        registration_timeout = min(registration_timeout, timeout)
        began = time.monotonic()
        try:
            while True:
                status = collect_status(spec, reader, timeout=1.0)
                if status.leader is not None:
                    break
                self._check_alive()
                waited = time.monotonic() - began
                if waited > registration_timeout and status.registered == []:
                    raise NotWired(
                        f"no node registered in ZooKeeper within {registration_timeout:.0f}s "
                        f"(nothing under {spec.election_znode}): this respcache-server does not "
                        "take part in the election yet, so every node runs standalone."
                    )
                if waited > timeout:
                    why = waiting_reasons(status)
                    raise NoLeader(
                        f"no leader within {timeout:.0f}s ({len(status.registered or [])} node(s) "
                        f"registered, state znode: {status.state or status.state_error})."
                        + (f" The nodes say: {why}" if why else "")
                    )
                time.sleep(0.1)
            deadline = time.monotonic() + agreement_timeout
            while not agreed(status) and time.monotonic() < deadline:
                time.sleep(0.1)
                status = collect_status(spec, reader, timeout=1.0)
            return status
        finally:
            reader.close()

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                node = self.spec.node(name)
                raise ClusterError(
                    f"{name} exited with status {proc.returncode}:\n"
                    + tail(self.spec.log_path(node), 15)
                )

    # -- stop ----------------------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> list[str]:
        """SIGTERM the followers, then the leader, then ZooKeeper; SIGKILL after ``timeout``.

        A leader that gets SIGTERM hands leadership to an in-sync follower first; with
        the followers already gone it has none and exits at once, so stopping in this
        order is quick and moves no leadership around. Works from pid files (and the
        children this object started); idempotent. Returns what had to be killed. Pid
        files of exited processes are removed.
        """
        spec = self.spec
        killed: list[str] = []
        nodes: dict[int, str] = {}
        for node in spec.nodes:
            pid = read_pid(spec.pid_path(node))
            if pid is not None and process_matches(pid, str(spec.conf_path(node))):
                nodes[pid] = node.name
        for name, proc in self.procs.items():
            if proc.poll() is None:
                nodes[proc.pid] = name
        leaders = {
            pid
            for pid, name in nodes.items()
            if role_of(spec.node(name).host, spec.node(name).port, 0.5)[0] == "master"
        }
        for group in ([p for p in nodes if p not in leaders], [p for p in nodes if p in leaders]):
            killed += [nodes[pid] for pid in terminate(group, timeout)]
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(1.0)
        if self.zookeeper is not None:
            self.zookeeper.stop(timeout)
            self.zookeeper = None
        pid = read_pid(spec.zk_pid_path)
        zk_running = pid is not None and process_matches(pid, str(spec.zk_config_path))
        if zk_running and pid is not None and terminate([pid], timeout):
            killed.append("zookeeper")
        self.remove_stale_pid_files()
        return killed


def waiting_reasons(status: Status) -> str:
    """Why the nodes elect nobody, as their ``INFO coordination`` says (``last_decision``)."""
    seen: dict[str, list[str]] = {}
    for node in status.nodes:
        reason = node.coordination.get("last_decision", "")
        if reason and node.reachable:
            seen.setdefault(reason, []).append(node.name)
    return " | ".join(f"{', '.join(names)}: {reason}" for reason, names in seen.items())


def agreed(status: Status) -> bool:
    """Every node follows the leader, is in ZooKeeper's ISR, and its Sentinel view names it."""
    leader = status.leader
    if leader is None or status.state is None:
        return False
    in_sync = {status.spec.short(i) for i in status.state.isr}
    if any(node.name not in in_sync for node in status.spec.nodes):
        return False
    for node in status.nodes:
        if node.name != leader.name and (node.role != "slave" or node.master != leader.name):
            return False
        if node.sentinel_master != leader.name:
            return False
    return True


def tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


# --------------------------------------------------------------------------- connection help


def connection_help(status: Status) -> str:
    spec = status.spec
    leader = status.leader
    lines: list[str] = []
    if leader is not None and status.state is not None:
        isr = ",".join(spec.short(i) for i in status.state.isr)
        lines.append(
            f"Cluster {spec.cluster_name!r} is up: {len(spec.nodes)} node(s), leader "
            f"{leader.name} ({leader.node_id}), epoch {status.state.epoch}, ISR {isr}."
        )
        not_agreeing = [
            n.name
            for n in status.nodes
            if n.name != leader.name and (n.role != "slave" or n.master != leader.name)
        ]
        if not_agreeing:
            lines.append(f"(not following the leader yet: {', '.join(not_agreeing)})")
        in_sync = {spec.short(i) for i in status.state.isr}
        lagging = [n.name for n in spec.nodes if n.name not in in_sync]
        if lagging:
            lines.append(f"(not in the ISR yet: {', '.join(lagging)})")
    first = leader or spec.nodes[0]
    sentinels = ", ".join(f'("{n.host}", {n.port})' for n in spec.nodes)
    lines += [
        f"ZooKeeper: {spec.zk_connect} (zk-session-timeout {spec.session_timeout_ms} ms)",
        "",
        "Connect:",
        f"  redis-cli -p {first.port}" + ("    # the leader: reads and writes" if leader else ""),
    ]
    lines += [
        f"  redis-cli -p {n.port}    # {n.name}"
        + (
            ", a follower: writes get READONLY (reads too, unless read-consistency is local)"
            if leader
            else ""
        )
        for n in spec.nodes
        if n is not first
    ]
    lines += [
        f"  redis-cli -p {first.port} SENTINEL GET-MASTER-ADDR-BY-NAME {spec.cluster_name}",
        "",
        "  # redis-py follows the leader through any node (each answers as a Sentinel):",
        "  from redis.sentinel import Sentinel",
        f"  sentinel = Sentinel([{sentinels}], socket_timeout=1)",
        f'  leader = sentinel.master_for("{spec.cluster_name}", socket_timeout=1)',
        '  leader.set("greeting", "hello")',
    ]
    http = [n for n in spec.nodes if n.http_port]
    if http:
        lines.append("")
        lines.append("HTTP /data:")
        for n in http:
            lines.append(f"  curl http://{n.host}:{n.http_port}/data/greeting    # {n.name}")
    lines += [
        "",
        f"Logs: {spec.directory}/n*/server.log, {spec.zk_log_path}",
        "Status: respcache-cluster status     Stop: respcache-cluster down",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- foreground


class _Follower:
    """``tail -f`` of several files, each line prefixed with a name."""

    def __init__(
        self, files: Mapping[str, Path], filters: Mapping[str, Callable[[str], bool]]
    ) -> None:
        self.files = dict(files)
        self.filters = dict(filters)
        self.positions: dict[str, int] = {}
        self.partial: dict[str, str] = {}
        for name, path in self.files.items():
            with contextlib.suppress(OSError):
                self.positions[name] = path.stat().st_size

    def pump(self, out: TextIO) -> None:
        width = max(len(n) for n in self.files)
        for name, path in self.files.items():
            try:
                with open(path, "rb") as f:
                    f.seek(self.positions.get(name, 0))
                    data = f.read()
                    self.positions[name] = f.tell()
            except OSError:
                continue
            if not data:
                continue
            text = self.partial.pop(name, "") + data.decode("utf-8", "replace")
            *complete, rest = text.split("\n")
            if rest:
                self.partial[name] = rest
            keep = self.filters.get(name, _everything)
            for line in complete:
                if line and keep(line):
                    out.write(f"{name.ljust(width)} | {line}\n")
        out.flush()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _everything(line: str) -> bool:
    return True


def _zk_interesting(line: str) -> bool:
    return " WARN " in line or " ERROR " in line


def run_foreground(cluster: LocalCluster, status: Status | None) -> int:
    """Print the logs until SIGINT/SIGTERM (or until every process exited), then stop."""
    spec = cluster.spec
    stop_requested: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        stop_requested.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    files = {n.name: spec.log_path(n) for n in spec.nodes} | {"zk": spec.zk_log_path}
    follower = _Follower(files, {"zk": _zk_interesting})
    follower.positions.clear()  # show the start-up lines too
    reported: set[str] = set()
    click.echo("Following the logs; ^C (or SIGTERM) stops the cluster.", err=True)
    try:
        while not stop_requested:
            follower.pump(sys.stdout)
            for name, proc in cluster.procs.items():
                if proc.poll() is not None and name not in reported:
                    reported.add(name)
                    click.echo(
                        f"respcache-cluster: {name} exited with status {proc.returncode}", err=True
                    )
            zk_down = cluster.zookeeper is None or not cluster.zookeeper.running
            if zk_down and "zk" not in reported:
                reported.add("zk")
                click.echo("respcache-cluster: ZooKeeper exited", err=True)
            if len(reported) == len(cluster.procs) + 1:
                click.echo("respcache-cluster: every process exited", err=True)
                break
            time.sleep(0.2)
    finally:
        click.echo("respcache-cluster: stopping the cluster...", err=True)
        killed = cluster.stop()
        follower.pump(sys.stdout)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        click.echo(
            "respcache-cluster: stopped" + (f" (killed: {', '.join(killed)})" if killed else ""),
            err=True,
        )
    return 0


# --------------------------------------------------------------------------- locking


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """One ``up``/``down`` at a time per directory (an flock on ``<dir>/.lock``)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ClusterError(
                f"another respcache-cluster command is working on {directory}"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- click


_dir_option = click.option(
    "--dir",
    "directory",
    default="var/cluster",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where configs, pid files, logs and ZooKeeper's data live.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def command() -> None:
    """A local respcache cluster: a ZooKeeper and N respcache-server nodes on 127.0.0.1.

    \b
      respcache-cluster up            start (3 nodes on 7001-7003, ZooKeeper on 2181 or free)
      respcache-cluster status        roles, epochs, ISR and offsets of every node
      respcache-cluster down          stop everything (SIGTERM, then SIGKILL)
      respcache-cluster up --foreground   stay attached, print the logs, stop on ^C
    """


@command.command()
@click.option("--nodes", "-n", default=3, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--base-port",
    default=7001,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="RESP port of n1; n2 gets the next one, and so on.",
)
@click.option(
    "--zk-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="ZooKeeper's client port [default: 2181 if free, else a free one; 0: free]",
)
@_dir_option
@click.option(
    "--cluster-name",
    default="respcache",
    show_default=True,
    help="cluster-name of the nodes, the Sentinel master name clients ask for.",
)
@click.option(
    "--session-timeout",
    default=2000,
    show_default=True,
    type=click.IntRange(1),
    help="zk-session-timeout (ms): how long a dead leader keeps its leadership.",
)
@click.option(
    "--tick-time",
    default=200,
    show_default=True,
    type=click.IntRange(1),
    help="ZooKeeper's tickTime (ms); sessions may be as short as 2 ticks.",
)
@click.option(
    "--http-base-port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="HTTP /data port of n1 (n2 the next...); 0 disables it.",
)
@click.option(
    "--set",
    "settings",
    type=(str, str),
    multiple=True,
    metavar="NAME VALUE",
    help="A setting for every node, e.g. --set maxmemory 100mb (repeatable).",
)
@click.option(
    "--template",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Shared settings [default: conf/cluster/node.conf, else node.conf.example].",
)
@click.option(
    "--foreground",
    "-f",
    is_flag=True,
    help="Stay attached: print the logs, stop everything on ^C or SIGTERM.",
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds to wait for the processes and for a leader.",
)
@click.option("--no-wait", is_flag=True, help="Do not wait for a leader to be elected.")
@click.option(
    "--registration-timeout",
    default=8.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Give up waiting when no node registered in ZooKeeper by then (standalone servers).",
)
def up(
    nodes: int,
    base_port: int,
    zk_port: int | None,
    directory: Path,
    cluster_name: str,
    session_timeout: int,
    tick_time: int,
    http_base_port: int,
    settings: tuple[tuple[str, str], ...],
    template: Path | None,
    foreground: bool,
    timeout: float,
    no_wait: bool,
    registration_timeout: float,
) -> None:
    """Start ZooKeeper and the nodes, wait for a leader, print how to connect.

    Exit status: 0 with a leader, 2 when the processes run but no leader was
    elected (they are left running), 1 on errors (nothing left running).
    """
    directory = directory.absolute()
    with locked(directory):
        recorded = ClusterSpec.load(directory)
        resumed: LocalCluster | None = None
        if recorded is not None:
            existing = LocalCluster(recorded)
            running = existing.running_pids()
            missing = [
                n for n in [*(n.name for n in recorded.nodes), "zookeeper"] if n not in running
            ]
            what = ", ".join(f"{k} (pid {v})" for k, v in running.items())
            if not missing:
                click.echo(
                    f"The cluster in {directory} is already running: {what}."
                    "\n`respcache-cluster status` shows it; `respcache-cluster down` stops it."
                )
                return
            stale = existing.stale_pid_files()
            saved = existing.saved_data()
            if running and foreground:
                raise ClusterError(
                    f"the cluster in {directory} is partly running ({what}): --foreground "
                    "attaches to processes it starts; run `respcache-cluster up` without it "
                    "(or `down` first)"
                )
            if running or stale or saved:
                # A crash, a partial stop, or data on disk: the same cluster again.
                click.echo(
                    f"The cluster in {directory} is "
                    + (f"partly running ({what})" if running else "not running")
                    + (f"; stale pid file(s): {', '.join(map(str, stale))}" if stale else "")
                    + (f"; saved data: {', '.join(saved)}" if saved else "")
                    + f". Starting {', '.join(missing)} again with the recorded layout and "
                    "ZooKeeper's data (`respcache-cluster down --clean` discards them)."
                )
                resumed = LocalCluster(recorded, foreground=foreground)
                if foreground:
                    signal.signal(signal.SIGTERM, _interrupt)
                resumed.resume(timeout)
        if resumed is not None:
            assert recorded is not None
            spec, cluster = recorded, resumed
        else:
            spec, cluster = _fresh(
                directory,
                template,
                foreground,
                timeout,
                nodes=nodes,
                base_port=base_port,
                zk_port=zk_port,
                cluster_name=cluster_name,
                session_timeout_ms=session_timeout,
                tick_time_ms=tick_time,
                http_base_port=http_base_port,
                settings=settings,
            )
    status: Status | None = None
    if not no_wait:
        try:
            status = cluster.wait_for_leader(timeout, registration_timeout)
        except ClusterError as exc:
            if not foreground:
                click.echo("")
                click.echo(connection_help(collect_status(spec)))
                raise type(exc)(
                    f"{exc.message} The processes are left running: `respcache-cluster "
                    "status` shows them, `respcache-cluster down` stops them."
                ) from None
            click.echo(f"respcache-cluster: {exc.message} The cluster keeps running.", err=True)
        except BaseException:
            if foreground:
                cluster.stop()
            raise
    if status is None:
        status = collect_status(spec)
    click.echo("")
    click.echo(connection_help(status))
    if foreground:
        sys.exit(run_foreground(cluster, status))


def _fresh(
    directory: Path,
    template: Path | None,
    foreground: bool,
    timeout: float,
    **options: Any,
) -> tuple[ClusterSpec, LocalCluster]:
    """A new cluster in ``directory``: plan it, write its configs, start it."""
    recorded = ClusterSpec.load(directory)
    if recorded is not None:
        removed = LocalCluster(recorded).remove_stale_pid_files()
        if removed:
            click.echo(f"Removed stale pid file(s): {', '.join(map(str, removed))}")
    text, source = load_template(template)
    try:
        spec = plan(directory, template=source, **options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    cluster = LocalCluster(spec, foreground=foreground)
    if foreground:
        signal.signal(signal.SIGTERM, _interrupt)  # stop what started, as ^C does
    cluster.start(text, start_timeout=timeout)
    return spec, cluster


@command.command()
@_dir_option
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds between SIGTERM and SIGKILL.",
)
@click.option("--clean", is_flag=True, help="Also delete the directory (logs, configs, data).")
def down(directory: Path, timeout: float, clean: bool) -> None:
    """Stop the nodes (SIGTERM, SIGKILL after --timeout), then ZooKeeper. Idempotent."""
    directory = directory.absolute()
    spec = ClusterSpec.load(directory)
    if spec is None:
        click.echo(f"No cluster recorded in {directory} (no {STATE_FILE}); nothing to stop.")
        return
    with locked(directory):
        cluster = LocalCluster(spec)
        running = cluster.running_pids()
        killed = cluster.stop(timeout)
    if running:
        click.echo(
            f"Stopped {', '.join(running)}"
            + (f" (killed: {', '.join(killed)})" if killed else "")
            + "."
        )
    else:
        click.echo(f"The cluster in {directory} was not running.")
    if clean:
        shutil.rmtree(directory, ignore_errors=True)
        click.echo(f"Deleted {directory}.")


@command.command()
@_dir_option
@click.option("--json", "as_json", is_flag=True, help="Everything as JSON (full INFO sections).")
@click.option("-v", "--verbose", is_flag=True, help="Also each node's INFO coordination.")
def status(directory: Path, as_json: bool, verbose: bool) -> None:
    """Each node's role, epoch, ISR, offsets, and ZooKeeper's view.

    Exit status: 0 when ZooKeeper and every node run and a leader leads, 1 when
    something is down or there is no leader, 3 when nothing runs.
    """
    directory = directory.absolute()
    spec = ClusterSpec.load(directory)
    if spec is None:
        click.echo(f"No cluster recorded in {directory} (no {STATE_FILE}).", err=True)
        sys.exit(EXIT_NOT_RUNNING)
    current = collect_status(spec)
    if as_json:
        click.echo(json.dumps(current.to_json(), indent=2))
    else:
        click.echo(format_status(current, verbose))
    if current.running == 0:
        sys.exit(EXIT_NOT_RUNNING)
    sys.exit(0 if current.healthy else 1)


def main(argv: Sequence[str] | None = None) -> None:
    """Console script entry point (``respcache-cluster = "respcache.cluster_cli:main"``)."""
    command.main(args=list(argv) if argv is not None else None, prog_name="respcache-cluster")


if __name__ == "__main__":
    main()
