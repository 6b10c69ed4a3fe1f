"""Real respcache processes led through a real ZooKeeper, for the failover tests.

:class:`NodeCluster` starts ``size`` nodes (``tests/support`` processes, free
loopback ports, logs in the failure report) in a cluster name of their own and
offers what the tests need: who leads, waiting for the followers to be in sync,
killing / pausing / restarting a node, Sentinel clients, write loads.
:class:`ZkProxy` stands between one node and ZooKeeper and can cut that link
without closing it (a partition: the session expires on the server).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from redis.backoff import ConstantBackoff, NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel
from support import ServerProcess, start_respcache, wait_until

from respcache.coordination.zkserver import ZooKeeperServer

SESSION_MS = 2000
WAIT = 20.0
READONLY = b"READONLY You can't write against a read only replica."
NO_LEADER = b"READONLY No leader is elected yet: "
"""A node with no leader to follow: READONLY and the reason (last_decision)."""
NOT_LEADER_READ = (
    b"READONLY This node is not the leader and read-consistency is linearizable: "
    b"read from the leader."
)


def info(node: ServerProcess, section: str) -> dict[str, str]:
    """``INFO <section>`` as a dict of strings (empty when the node does not answer)."""
    try:
        with node.raw(timeout=2.0) as conn:
            reply = conn.call("INFO", section)
    except (OSError, ConnectionError, TimeoutError):
        return {}
    if reply.kind not in ("$", "="):
        return {}
    out = {}
    for line in reply.value.decode().splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name] = value
    return out


def digest(node: ServerProcess) -> bytes:
    with node.raw(timeout=5.0) as conn:
        reply = conn.call("DEBUG", "DIGEST")
    assert reply.kind in ("+", "$"), reply
    return bytes(reply.value)


class NodeCluster:
    """``size`` respcache nodes electing their leader through ``zookeeper``."""

    def __init__(
        self,
        zookeeper: ZooKeeperServer,
        base: Path,
        size: int = 3,
        zk_address: Callable[[int], str] | None = None,
        persistent: bool = False,
        **options: Any,
    ) -> None:
        self.zookeeper = zookeeper
        self.base = base
        self.name = "f" + uuid.uuid4().hex[:10]
        self.size = size
        self.zk_address = zk_address
        self.persistent = persistent
        """Each node keeps its ``dir`` (its RDB file) across restarts."""
        self.options: dict[str, Any] = {
            "cluster_name": self.name,
            "zk_session_timeout": SESSION_MS,
            "loglevel": "notice",
            "enable_debug_command": "yes",  # digest() compares nodes with DEBUG DIGEST
            **options,
        }
        self.nodes: list[ServerProcess] = []
        self.paused: set[int] = set()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> NodeCluster:
        for i in range(self.size):
            self.nodes.append(self._start_node(i))
        return self

    def _start_node(self, index: int, port: int | None = None) -> ServerProcess:
        zk = self.zk_address(index) if self.zk_address else self.zookeeper.connect_string
        options = {**self.options, "zookeeper": zk}
        if self.persistent:
            data = self.base / f"data{index}"
            data.mkdir(parents=True, exist_ok=True)
            options["dir"] = str(data)
        return start_respcache(
            options,
            workdir=self.base,
            port=port,
            name=f"node{index}",
        )

    def close(self) -> None:
        for i, node in enumerate(self.nodes):
            if i in self.paused:
                node.signal(signal.SIGCONT)
            node.kill()

    def __enter__(self) -> NodeCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def kill(self, node: ServerProcess) -> None:
        node.kill()

    def pause(self, node: ServerProcess) -> None:
        node.signal(signal.SIGSTOP)
        self.paused.add(self.nodes.index(node))

    def resume(self, node: ServerProcess) -> None:
        node.signal(signal.SIGCONT)
        self.paused.discard(self.nodes.index(node))

    def restart(self, node: ServerProcess) -> ServerProcess:
        """Start a killed node again on the same port (a new process: a new run id; empty
        unless ``persistent``, then with what it saved)."""
        index = self.nodes.index(node)
        node.kill()
        fresh = self._start_node(index, port=node.port)
        self.nodes[index] = fresh
        return fresh

    def live(self) -> list[ServerProcess]:
        return [n for i, n in enumerate(self.nodes) if n.alive() and i not in self.paused]

    # --- roles ---------------------------------------------------------------------------

    def role(self, node: ServerProcess) -> str:
        return info(node, "coordination").get("coordination_role", "?")

    def leader(self, timeout: float = WAIT, exclude: ServerProcess | None = None) -> ServerProcess:
        """The node that leads, once the live nodes agree on it."""
        found: list[ServerProcess] = []

        def check() -> bool:
            leaders = [n for n in self.live() if n is not exclude and self.role(n) == "leader"]
            if len(leaders) != 1:
                return False
            found[:] = leaders
            return True

        assert wait_until(check, timeout), f"no single leader: {self.describe()}"
        return found[0]

    def followers(self, leader: ServerProcess) -> list[ServerProcess]:
        return [n for n in self.live() if n is not leader]

    def wait_in_sync(self, leader: ServerProcess, timeout: float = WAIT) -> None:
        """Every live follower streams from ``leader`` and is in ZooKeeper's ISR."""
        port = str(leader.port)

        def check() -> bool:
            isr = info(leader, "coordination").get("zk_isr", "").split(",")
            for node in self.followers(leader):
                rep = info(node, "replication")
                if rep.get("master_port") != port or rep.get("master_link_status") != "up":
                    return False
                if f"127.0.0.1:{node.port}" not in isr:
                    return False
            return True

        assert wait_until(check, timeout), f"followers not in sync: {self.describe()}"

    def wait_converged(self, timeout: float = WAIT) -> bytes:
        """Equal DEBUG DIGEST on every live node; returns it."""
        digests: list[bytes] = []

        def check() -> bool:
            try:
                digests[:] = [digest(n) for n in self.live()]
            except (OSError, ConnectionError, TimeoutError, AssertionError):
                return False
            return len(set(digests)) == 1

        assert wait_until(check, timeout), f"digests differ: {digests} {self.describe()}"
        return digests[0]

    def describe(self) -> str:
        parts = []
        for i, node in enumerate(self.nodes):
            state = "paused" if i in self.paused else ("up" if node.alive() else "down")
            coord = info(node, "coordination") if state == "up" else {}
            parts.append(
                f"node{i}:{node.port} {state} {coord.get('coordination_role', '-')} "
                f"epoch={coord.get('coordination_epoch', '-')} isr={coord.get('zk_isr', '-')} "
                f"({coord.get('last_decision', '')})"
            )
        return "; ".join(parts)

    # --- clients -------------------------------------------------------------------------

    def sentinel(self) -> Sentinel:
        # A node that is down is skipped at once (Sentinel asks the next one): no
        # retries with backoff on the connections to the Sentinels themselves.
        return Sentinel(
            [("127.0.0.1", n.port) for n in self.nodes],
            sentinel_kwargs={"socket_timeout": 2.0, "retry": Retry(NoBackoff(), 0)},
            socket_timeout=2.0,
        )

    def master_client(self, retries: int = 100) -> Any:
        """A redis-py Sentinel client for the cluster's master, retrying connection errors."""
        return self.sentinel().master_for(
            self.name,
            socket_timeout=10.0,
            socket_connect_timeout=1.0,
            retry=Retry(ConstantBackoff(0.05), retries),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )

    def discover(self) -> tuple[str, int]:
        address: tuple[str, int] = self.sentinel().discover_master(self.name)
        return address


def until_acknowledged(call: Callable[[], Any], timeout: float = WAIT) -> Any:
    """Repeat ``call`` until it returns (an application retrying after errors)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


NOT_SENT = "Connection refused"
"""A failure to connect (the command never left the client). redis-py, retrying with the
Sentinel's answer, sometimes still reaches a leader that has just exited after handing
off (about one SIGTERM handoff run in eight); what the Sentinels answer then is not yet
understood, so it is tolerated, and nothing else is."""


@dataclass
class WriteLoad:
    """Writers INCRementing their own counter through Sentinel clients, in threads.

    Every INCR either returns (acknowledged: its value is recorded) or raises (recorded
    as a failure). After the run, a counter's value tells whether an acknowledged INCR
    was lost (value below the last acknowledged one) and how many failed ones were
    applied anyway (indeterminate outcomes: connection lost, NOTCOMMITTED).
    """

    cluster: NodeCluster
    writers: int = 4
    retries: int = 100
    transactions: int = 0
    """How many of the writers INCR inside MULTI/EXEC (redis-py's transactional pipeline)."""
    acked: dict[int, list[int]] = field(default_factory=dict)
    failed: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def key(self, writer: int) -> str:
        return f"{self.cluster.name}:counter:{writer}"

    def start(self) -> WriteLoad:
        for w in range(self.writers):
            self.acked[w] = []
            self.failed[w] = 0
            thread = threading.Thread(target=self._run, args=(w,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, writer: int) -> None:
        client = self.cluster.master_client(self.retries)
        key = self.key(writer)
        transactional = writer < self.transactions
        try:
            while not self._stop.is_set():
                try:
                    if transactional:
                        pipe = client.pipeline(transaction=True)
                        pipe.incr(key)
                        value = pipe.execute()[0]
                    else:
                        value = client.incr(key)
                    self.acked[writer].append(int(value))
                except redis.RedisError as err:
                    self.failed[writer] += 1
                    self.failures.append(f"writer {writer}: {type(err).__name__}: {err}")
                    time.sleep(0.05)
        finally:
            client.close()

    def total(self) -> int:
        return sum(len(v) for v in self.acked.values())

    def wait_for(self, count: int, timeout: float = WAIT) -> None:
        """Until at least ``count`` more INCRs were acknowledged."""
        target = self.total() + count
        assert wait_until(lambda: self.total() >= target, timeout), (
            f"the load stalled at {self.total()} (failures: {self.failures[-3:]})"
        )

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def check(self, node: ServerProcess, exact: bool = False) -> None:
        """Every acknowledged INCR is on ``node``; only failed ones may have been applied.

        ``exact``: no INCR failed and none was applied twice (values are 1..n).
        """
        client = node.client()
        try:
            for writer, values in self.acked.items():
                value = int(client.get(self.key(writer)) or 0)
                assert values == sorted(set(values)), f"writer {writer}: values went back"
                assert value >= (values[-1] if values else 0), (
                    f"writer {writer}: acknowledged up to {values[-1]}, counter is {value}"
                )
                assert value <= len(values) + self.failed[writer], (
                    f"writer {writer}: {value} > {len(values)} acknowledged "
                    f"+ {self.failed[writer]} failed"
                )
                if exact:
                    # A connection refused while connecting sent nothing (it cannot have
                    # been applied); every other failure breaks "no write fails".
                    unsent = [f for f in self.failures if NOT_SENT in f]
                    assert len(unsent) == len(self.failures), self.failures[:5]
                    assert values == list(range(1, len(values) + 1)), values[-5:]
                    assert value == len(values)
        finally:
            client.close()


class ZkProxy:
    """A TCP relay to ZooKeeper that can drop everything (a partition), then heal."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self.blocked = False
        self._closed = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=2.0)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not self.blocked:  # partitioned: the bytes are lost
                    dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def partition(self) -> None:
        self.blocked = True

    def heal(self) -> None:
        """Drop the connections that lived through the partition; new ones pass again."""
        with self._lock:
            socks, self._socks = self._socks, []
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.close()
        self.blocked = False

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.heal()


@contextlib.contextmanager
def cluster_of(zookeeper: ZooKeeperServer, base: Path, **kwargs: Any) -> Iterator[NodeCluster]:
    cluster = NodeCluster(zookeeper, base, **kwargs)
    try:
        yield cluster.start()
    finally:
        cluster.close()
