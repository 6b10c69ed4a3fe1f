"""The clients of a chaos run: threads doing reads, writes, CAS, INCR and SADD.

Each client is a thread with its own redis-py connection to whichever node it
believes leads, and its own ``process`` id in the
:class:`~respcache.chaos.history.History`. Every operation is recorded as an
invocation and one completion, following the rules of ``docs/chaos.md``:

* ``ok`` when the reply says it happened;
* ``fail`` only when it certainly did not: the connection could not even be
  made, or an error reply the server sends before executing anything
  (``READONLY``, ``NOREPLICAS``, ``LOADING``, ``MASTERDOWN``, ``EXECABORT``...),
  or a compare-and-set whose expected value did not match;
* ``info`` otherwise: timeouts, lost connections after the command was sent,
  and any other error reply (``NOTCOMMITTED``: applied on the leader, fate unknown).

Keys: ``registers`` registers ``r0``... (``read``/``write``/``cas``),
``counters`` counters ``c0``... (``incr`` and ``read``), and one append-only
set per client (``sadd`` of unique elements, ``read-set``): ``s<process>.0``,
then ``s<process>.1`` after ``set_size`` adds, and so on, so that reads of a
set stay small however long the run.
Written values and set elements are unique (``process * 10**7 + n``).

**Compare-and-set** is ``WATCH k; GET k``; if the value is not the one the
client expects, ``UNWATCH`` and record ``fail``; else ``MULTI; SET k new;
EXEC`` (a nil ``EXEC``, i.e. a concurrent change, is a ``fail`` too). Only a
lost ``EXEC`` is indeterminate. Half of the CASes expect the last value the
client saw (they often mismatch); the other half are read-modify-write: the
value ``GET`` returns under ``WATCH`` is the expected one.

**Finding the leader** is what a user's client does: redis-py's Sentinel
discovery (every respcache node answers ``SENTINEL MASTERS`` for its cluster;
:class:`SentinelLocator`), or, for servers that are not Sentinels, ask the
nodes ``ROLE`` and take the master the replicas point to
(:class:`LeaderLocator`). Either way a client looks again after ``READONLY``,
``NOTCOMMITTED`` or a connection error.

Servers that lack commands (no sets, no transactions yet) get a workload
without them: :func:`detect_capabilities` asks ``COMMAND INFO``, and the
report lists what was left out.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from respcache.chaos.cluster import role_of
from respcache.chaos.history import Event, F, History

__all__ = [
    "DEFINITE_ERRORS",
    "DISCOVERY",
    "OPERATIONS",
    "Capabilities",
    "LeaderLocator",
    "SentinelLocator",
    "Workload",
    "WorkloadConfig",
    "detect_capabilities",
    "is_definite_failure",
    "reply_error",
]

Address = tuple[str, int]

DEFINITE_ERRORS = (
    "READONLY",
    "NOREPLICAS",
    "LOADING",
    "MASTERDOWN",
    "EXECABORT",
    "NOAUTH",
    "NOPERM",
    "WRONGPASS",
    "WRONGTYPE",
    "OOM",
    "NOLEADER",
    "TRYAGAIN",
    "CLUSTERDOWN",
    "ERR unknown command",
    "ERR wrong number of arguments",
)
"""Error replies sent *instead of* executing the command: a write with one of these is a ``fail``."""

LEADER_LOST = ("READONLY", "NOLEADER", "MASTERDOWN", "LOADING", "NOREPLICAS", "NOTCOMMITTED")
"""Error replies after which a client looks for the leader again."""

OPERATIONS = ("read", "write", "cas", "incr", "read-counter", "sadd", "read-set")

DEFAULT_MIX: Mapping[str, float] = {
    "read": 0.25,
    "write": 0.20,
    "cas": 0.15,
    "incr": 0.15,
    "read-counter": 0.05,
    "sadd": 0.16,
    "read-set": 0.04,
}

_VALUE_SPACE = 10**7


def _exception_codes() -> dict[type[BaseException], str]:
    """redis-py's error classes and the error codes they stand for."""
    from redis._parsers.base import BaseParser

    codes: dict[type[BaseException], str] = {}
    for code, cls in BaseParser.EXCEPTION_CLASSES.items():
        if isinstance(cls, type):
            codes.setdefault(cls, code)
    return codes


_CODES = _exception_codes()


def reply_error(exc: BaseException) -> str | None:
    """The error reply as the server sent it, code included; ``None`` if there was no reply.

    redis-py strips the code of the errors it has a class for (``READONLY``,
    ``EXECABORT``, ``ERR``...): put it back, so that the history shows what the
    server said and :func:`is_definite_failure` can judge it.
    """
    code = _CODES.get(type(exc))
    if code is not None:
        return f"{code} {exc}"
    if isinstance(exc, redis.ResponseError):
        text = str(exc)
        first = text.split(" ", 1)[0]
        if len(first) > 2 and first.isalpha() and first.isupper():
            return text  # a code redis-py does not know: left in place
        return f"ERR {text}"
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def is_definite_failure(message: str) -> bool:
    """Whether an error reply means the command was certainly not applied."""
    return message.startswith(DEFINITE_ERRORS)


@dataclass(frozen=True)
class Capabilities:
    """Which parts of the workload the server can run."""

    sets: bool = True
    """SADD and SMEMBERS."""
    cas: bool = True
    """WATCH, MULTI, EXEC, UNWATCH."""
    missing: tuple[str, ...] = ()

    def disabled_operations(self) -> list[str]:
        out = []
        if not self.sets:
            out += ["sadd", "read-set"]
        if not self.cas:
            out.append("cas")
        return out


def detect_capabilities(host: str, port: int, timeout: float = 5.0) -> Capabilities:
    """Ask ``COMMAND INFO`` which of the workload's commands the server knows."""
    wanted = ("get", "set", "incr", "sadd", "smembers", "watch", "unwatch", "multi", "exec")
    client = redis.Redis(
        host=host,
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        reply = client.execute_command("COMMAND", "INFO", *wanted)
    finally:
        client.close()
    if isinstance(reply, dict):  # redis-py parses COMMAND INFO into {name: info}
        known = {str(name).lower() for name, info in reply.items() if info}
    else:
        known = {
            (entry[0].decode() if isinstance(entry[0], bytes) else str(entry[0])).lower()
            for entry in reply or []
            if entry
        }
    missing = tuple(name for name in wanted if name not in known)
    return Capabilities(
        sets=not {"sadd", "smembers"} & set(missing),
        cas=not {"watch", "unwatch", "multi", "exec"} & set(missing),
        missing=missing,
    )


@dataclass(frozen=True)
class WorkloadConfig:
    clients: int = 10
    registers: int = 10
    counters: int = 3
    op_timeout: float = 2.5
    """Seconds to wait for a reply before the operation becomes ``info``."""
    connect_timeout: float = 1.0
    think: float = 0.005
    """Pause between two operations of one client (seconds)."""
    set_size: int = 200
    """Elements a client adds to one set before it moves on to a new one (``s<p>.<n>``)."""
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))

    def __post_init__(self) -> None:
        if self.clients < 1 or self.registers < 1 or self.counters < 1:
            raise ValueError("clients, registers and counters must be positive")
        unknown = set(self.mix) - set(OPERATIONS)
        if unknown:
            raise ValueError(f"unknown operations in mix: {sorted(unknown)}")


# --------------------------------------------------------------------------- finding the leader


class LeaderLocator:
    """Finds the leader by asking every node ``ROLE``, as a user's client would.

    The answer is the master that replicas point to, else the only master
    (with several masters and no replica to decide, the first in node order).
    """

    def __init__(
        self,
        nodes: Mapping[str, Address],
        *,
        timeout: float = 0.5,
        role: Callable[[str, int, float], tuple[str, Address | None]] = role_of,
    ) -> None:
        self.nodes = dict(nodes)
        self.timeout = timeout
        self._role = role

    def find(self) -> Address | None:
        roles = {
            name: self._role(host, port, self.timeout) for name, (host, port) in self.nodes.items()
        }
        masters = [self.nodes[name] for name, (role, _) in roles.items() if role == "master"]
        votes = Counter(
            pointed for role, pointed in roles.values() if role == "slave" and pointed is not None
        )
        for address, _ in votes.most_common():
            if address in masters:
                return address
        if masters:
            return masters[0]
        return None


class SentinelLocator:
    """redis-py's own Sentinel client, pointed at every node (each answers as a Sentinel).

    ``service`` is the master's name (respcache: its ``cluster-name``).
    """

    def __init__(self, nodes: Mapping[str, Address], service: str, *, timeout: float = 0.5):
        options: dict[str, Any] = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "retry": Retry(NoBackoff(), 0),
        }
        self.service = service
        self.sentinel = Sentinel(list(nodes.values()), sentinel_kwargs=options, **options)

    def find(self) -> Address | None:
        try:
            host, port = self.sentinel.discover_master(self.service)
        except (redis.RedisError, OSError):  # MasterNotFoundError included
            return None
        return (str(host), int(port))


DISCOVERY = ("role", "sentinel")


# --------------------------------------------------------------------------- one client


class _NotConnected(Exception):
    pass


class _Client(threading.Thread):
    def __init__(self, workload: Workload, process: int) -> None:
        super().__init__(name=f"chaos-client-{process}", daemon=True)
        self.workload = workload
        self.process = process
        self.rng = random.Random(workload.seed * 1000 + process)
        self.find_leader = workload.find_leader or workload.locator().find
        self.conn: redis.Connection | None = None
        self.target: Address | None = None
        self.sequence = 0
        self.set_generation = 0
        self.set_adds = 0
        self.last_seen: dict[str, Any] = {}
        self.error: BaseException | None = None
        ops, weights = zip(*workload.mix.items(), strict=True)
        self._ops: Sequence[str] = ops
        self._weights: Sequence[float] = weights

    # -- values ----------------------------------------------------------------------------------

    def unique(self) -> int:
        self.sequence += 1
        return self.process * _VALUE_SPACE + self.sequence

    # -- connection ------------------------------------------------------------------------------

    def drop(self, forget_leader: bool = False) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.disconnect()
            self.conn = None
        if forget_leader:
            self.target = None

    def connect(self) -> redis.Connection:
        if self.conn is not None:
            return self.conn
        if self.target is None:
            self.target = self.find_leader()
        if self.target is None:
            raise _NotConnected("no leader found")
        host, port = self.target
        conn = redis.Connection(
            host=host,
            port=port,
            socket_timeout=self.workload.config.op_timeout,
            socket_connect_timeout=self.workload.config.connect_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            conn.connect()
        except (redis.RedisError, OSError) as exc:
            self.target = None
            raise _NotConnected(f"connect {host}:{port}: {exc}") from exc
        self.conn = conn
        return conn

    def call(self, conn: redis.Connection, *args: Any) -> Any:
        conn.send_command(*args)
        return conn.read_response()

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        stop = self.workload.stop_event
        think = self.workload.config.think
        try:
            while not stop.is_set():
                name = self.rng.choices(self._ops, self._weights)[0]
                self.operate(name)
                if think:
                    stop.wait(think)
        except BaseException as exc:  # pragma: no cover - a bug in the workload itself
            self.error = exc
        finally:
            self.drop()

    def operate(self, name: str) -> None:
        w = self.workload
        rng = self.rng
        if name == "read":
            key = rng.choice(w.registers)
            self.perform(F.READ, key, None, lambda c: _int_or_none(self.call(c, "GET", key)))
        elif name == "write":
            key = rng.choice(w.registers)
            value = self.unique()
            self.perform(F.WRITE, key, value, lambda c: self.call(c, "SET", key, value))
        elif name == "cas":
            key = rng.choice(w.registers)
            self.cas(key, self.unique(), read_first=rng.random() < 0.5)
        elif name == "incr":
            key = rng.choice(w.counters)
            self.perform(F.INCR, key, 1, lambda c: _int_or_none(self.call(c, "INCR", key)))
        elif name == "read-counter":
            key = rng.choice(w.counters)
            self.perform(F.READ, key, None, lambda c: _int_or_none(self.call(c, "GET", key)) or 0)
        elif name == "sadd":
            if self.set_adds >= w.config.set_size:  # a fresh set keeps read-sets small
                self.set_generation += 1
                self.set_adds = 0
            self.set_adds += 1
            key = w.set_key(self.process, self.set_generation)
            element = self.unique()
            self.perform(F.SADD, key, element, lambda c: self.call(c, "SADD", key, element))
        elif name == "read-set":
            key = w.set_key(self.process, self.set_generation)
            self.perform(
                F.READ_SET,
                key,
                None,
                lambda c: frozenset(_int_or_none(m) for m in self.call(c, "SMEMBERS", key)),
            )
        else:  # pragma: no cover - the mix is validated
            raise ValueError(name)

    def perform(self, f: F, key: str, value: Any, body: Callable[[redis.Connection], Any]) -> None:
        history = self.workload.history
        op = history.invoke(self.process, f, key, value)
        try:
            conn = self.connect()
        except _NotConnected as exc:
            history.fail(op, str(exc))
            self.workload.stop_event.wait(0.05)
            return
        self.note(op)
        try:
            result = body(conn)
        except (redis.RedisError, OSError) as exc:
            self.failed(op, exc)
            return
        if f in (F.READ, F.INCR, F.READ_SET):
            history.ok(op, result)
        else:
            history.ok(op)
        if f is F.READ:
            self.last_seen[key] = result
        elif f is F.WRITE:
            self.last_seen[key] = value

    def note(self, op: Event) -> None:
        """Remember which node the operation was sent to (for diagnosing violations)."""
        if self.target is not None:
            self.workload.served_by[op.index] = f"{self.target[0]}:{self.target[1]}"

    def failed(self, op: Event, exc: BaseException) -> None:
        """Record an operation sent to the server that did not succeed.

        An error reply that refuses the command before executing it is a
        ``fail``; anything else (another error reply, a timeout, a lost
        connection) is ``info``.
        """
        message = reply_error(exc)
        if message is None:  # no reply: the connection failed or timed out
            self.drop(forget_leader=True)
            self.workload.history.info(op, _describe(exc))
            return
        if message.startswith(LEADER_LOST):
            self.drop(forget_leader=True)
        if is_definite_failure(message):
            self.workload.history.fail(op, message)
        else:
            self.workload.history.info(op, message)

    def cas(self, key: str, new: int, *, read_first: bool) -> None:
        """Compare-and-set ``key`` to ``new`` with WATCH/MULTI/EXEC.

        ``read_first=False``: the expected value is the last one this client
        saw; the operation is invoked first and a mismatch is a ``fail``.
        ``read_first=True`` (read-modify-write): ``WATCH k; GET k`` come first,
        unrecorded, and the value read becomes the expected one; the operation
        is invoked after that (its interval still holds the EXEC). Either way
        a nil EXEC (the key changed after WATCH) is a ``fail``.
        """
        history = self.workload.history
        op: Event | None = None
        if not read_first:
            op = history.invoke(self.process, F.CAS, key, (self.last_seen.get(key), new))
        try:
            conn = self.connect()
        except _NotConnected as exc:
            if op is not None:
                history.fail(op, str(exc))
            self.workload.stop_event.wait(0.05)
            return
        try:
            self.call(conn, "WATCH", key)
            current = _int_or_none(self.call(conn, "GET", key))
            self.last_seen[key] = current
            if op is None:
                op = history.invoke(self.process, F.CAS, key, (current, new))
            elif current != op.value[0]:
                self.call(conn, "UNWATCH")
                history.fail(op, f"mismatch: expected {op.value[0]!r}, found {current!r}")
                return
            self.note(op)
            self.call(conn, "MULTI")
            self.call(conn, "SET", key, new)  # QUEUED (or an error: EXEC then aborts)
        except (redis.RedisError, OSError) as exc:
            # EXEC was not sent: nothing was executed. Dropping the connection
            # also drops the WATCH and MULTI state.
            message = reply_error(exc)
            self.drop(forget_leader=message is None or message.startswith(LEADER_LOST))
            if op is not None:
                history.fail(op, f"before EXEC: {message or _describe(exc)}")
            return
        try:
            reply = self.call(conn, "EXEC")
        except (redis.RedisError, OSError) as exc:
            self.drop()  # whatever happened, the transaction state goes with the connection
            self.failed(op, exc)
            return
        if reply is None:
            history.fail(op, "EXEC aborted: the key changed after WATCH")
            return
        if isinstance(reply, list) and reply and isinstance(reply[0], Exception):
            history.fail(op, f"SET inside EXEC: {reply[0]}")  # executed as an error: no change
            return
        history.ok(op)
        self.last_seen[key] = new


def _int_or_none(reply: Any) -> Any:
    """An integer, ``None`` for a missing key, or (never written by us) the raw text."""
    if reply is None:
        return None
    try:
        return int(reply)
    except (TypeError, ValueError):
        return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else repr(reply)


# --------------------------------------------------------------------------- the workload


class Workload:
    """``config.clients`` client threads recording into ``history``.

    ``nodes`` maps node names to addresses; the clients find the leader among
    them: ``discovery="role"`` asks every node ``ROLE`` (:class:`LeaderLocator`),
    ``"sentinel"`` uses redis-py's Sentinel client with the nodes as Sentinels
    and ``service_name`` as the master's name (:class:`SentinelLocator`).
    :meth:`start` starts the threads, :meth:`stop` stops them (an
    operation in flight completes or times out), :meth:`final_reads` reads
    every key once more, with retries, after the cluster healed.
    """

    def __init__(
        self,
        history: History,
        nodes: Mapping[str, Address],
        *,
        seed: int,
        config: WorkloadConfig | None = None,
        capabilities: Capabilities | None = None,
        discovery: str = "role",
        service_name: str | None = None,
        find_leader: Callable[[], Address | None] | None = None,
    ) -> None:
        if discovery not in DISCOVERY:
            raise ValueError(f"discovery must be one of {DISCOVERY}")
        if discovery == "sentinel" and not service_name:
            raise ValueError("Sentinel discovery needs the master's name (service_name)")
        self.history = history
        self.discovery = discovery
        self.service_name = service_name
        self.find_leader = find_leader
        """Overrides how clients find the leader (tests)."""
        self.nodes = dict(nodes)
        self.seed = seed
        self.config = config or WorkloadConfig()
        self.capabilities = capabilities or Capabilities()
        disabled = set(self.capabilities.disabled_operations())
        self.mix = {
            name: weight
            for name, weight in self.config.mix.items()
            if weight > 0 and name not in disabled
        }
        if not self.mix:
            raise ValueError("no operation left in the workload mix")
        self.registers = [f"r{i}" for i in range(self.config.registers)]
        self.counters = [f"c{i}" for i in range(self.config.counters)]
        self.stop_event = threading.Event()
        self.served_by: dict[int, str] = {}
        """Invocation index -> the node (``host:port``) the operation was sent to."""
        self._clients: list[_Client] = []

    def locator(self) -> LeaderLocator | SentinelLocator:
        """A new leader locator for one client, as ``discovery`` says."""
        if self.discovery == "sentinel":
            assert self.service_name is not None
            return SentinelLocator(self.nodes, self.service_name)
        return LeaderLocator(self.nodes)

    @property
    def disabled(self) -> list[str]:
        return [name for name in self.config.mix if name not in self.mix]

    def set_key(self, process: int, generation: int = 0) -> str:
        return f"s{process}.{generation}"

    @property
    def set_keys(self) -> list[str]:
        """Every set key the clients used (at least the first of each client)."""
        if "sadd" not in self.mix:
            return []
        last = {client.process: client.set_generation for client in self._clients}
        return [
            self.set_key(p, g)
            for p in range(self.config.clients)
            for g in range(last.get(p, 0) + 1)
        ]

    def start(self) -> None:
        self.stop_event.clear()
        self._clients = [_Client(self, p) for p in range(self.config.clients)]
        for client in self._clients:
            client.start()

    def stop(self, timeout: float | None = None) -> None:
        self.stop_event.set()
        limit = timeout if timeout is not None else self.config.op_timeout * 4 + 5
        deadline = time.monotonic() + limit
        for client in self._clients:
            client.join(max(0.0, deadline - time.monotonic()))
        errors = [c.error for c in self._clients if c.error is not None]
        if errors:
            raise RuntimeError(f"a client thread crashed: {errors[0]!r}") from errors[0]

    def final_reads(self, timeout: float = 60.0) -> list[str]:
        """Read every key from the leader, retrying each until ``ok``; returns keys never read."""
        reader = _Client(self, self.config.clients)
        reader.rng = random.Random(self.seed)
        plan: list[tuple[F, str, Callable[[redis.Connection], Any]]] = []
        for key in self.registers:
            plan.append((F.READ, key, _reader(reader, key, counter=False)))
        if "incr" in self.mix or "read-counter" in self.mix:
            for key in self.counters:
                plan.append((F.READ, key, _reader(reader, key, counter=True)))
        for key in self.set_keys:
            plan.append((F.READ_SET, key, _set_reader(reader, key)))
        deadline = time.monotonic() + timeout
        unread: list[str] = []
        for f, key, body in plan:
            while True:
                before = len(self.history)
                reader.perform(f, key, None, body)
                last = self.history.events[before:]
                if any(e.process == reader.process and e.kind == "ok" for e in last):
                    break
                if time.monotonic() > deadline:
                    unread.append(key)
                    break
                time.sleep(0.2)
        reader.drop()
        return unread

    def counts(self) -> dict[str, int]:
        return dict(Counter(event.kind.value for event in self.history.events))


def _reader(client: _Client, key: str, *, counter: bool) -> Callable[[redis.Connection], Any]:
    def body(conn: redis.Connection) -> Any:
        value = _int_or_none(client.call(conn, "GET", key))
        return (value or 0) if counter else value

    return body


def _set_reader(client: _Client, key: str) -> Callable[[redis.Connection], Any]:
    def body(conn: redis.Connection) -> Any:
        return frozenset(_int_or_none(m) for m in client.call(conn, "SMEMBERS", key))

    return body
