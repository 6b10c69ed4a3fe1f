"""The engine: one dispatch pipeline for every command, and the node's shared state.

``execute`` is the only way a command runs::

    lookup → arity → auth → MULTI queueing → pub/sub context → read-only gate
    → OOM gate (evict first) → handler → replicate if the data changed
    → expiries/evictions the store made → statistics

Handlers return their reply (or raise :class:`CommandError`); the effects that
matter beyond the reply are collected here: whether the dataset changed
(``dirty``), what to replicate (the argv, or what the handler put in
``client.propagate_as``), deletions the store made by itself (replicated as
``DEL``), keys blocked clients wait on. The server, not the engine, decides
when a reply may leave (after the in-sync followers acknowledged the write).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from respcache import REDIS_VERSION, __version__
from respcache.commands import tuning
from respcache.commands.admission import Forward, Hold, NodeAdmission, Standalone
from respcache.commands.blocking import Blocked, BlockedClients
from respcache.commands.client import Client
from respcache.commands.clients import ClientRegistry
from respcache.commands.gates import (
    MULTI_IMMEDIATE,
    Gates,
    GateStep,
)
from respcache.commands.latencystats import sample_key
from respcache.commands.monitor import SCRIPT_RUNNERS, Monitors
from respcache.commands.monitoring import Monitoring
from respcache.commands.pause import ClientPause
from respcache.commands.registry import REGISTRY, CommandSpec
from respcache.commands.stats import CommandStats, Stats
from respcache.commands.tracking import Tracking, tracked_key_positions
from respcache.commands.watch import Watches
from respcache.errors import (
    CommandError,
    unknown_command,
    unknown_subcommand,
    wrong_arity,
)
from respcache.persistence.aof import AppendOnlyFile
from respcache.persistence.saver import RdbSaver
from respcache.protocol.types import QUEUED, Reply
from respcache.security.acl import (
    AccessControl,
    AclFileError,
    UserLineError,
    acl_file_path,
    read_acl_file,
)
from respcache.store.keyspace import Keyspace
from respcache.store.values import WeakReferable

if TYPE_CHECKING:
    from respcache.commands.sentinel import SentinelView
    from respcache.config import Config

# Commands that may run a Lua script: they run on a greenlet of their own, which a
# script past busy-reply-threshold leaves to let the event loop serve other clients.
RUNS_SCRIPTS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "exec"})
_perf_counter_ns = time.perf_counter_ns
CLOCK_HOLD_NS = 1_000_000
"""Within a connection's batch the cached clock is taken again once it is this old (1 ms,
the resolution of ``now_ms``) instead of before every command (``Keyspace.hold_clock``)."""


Propagator = Callable[[int, list[list[bytes]]], None]
"""Receives (db index, commands) that changed the dataset, in execution order."""

Verdict = Reply | Blocked | Hold | Forward
"""What ``Engine.execute`` answers; see :mod:`respcache.commands.admission`."""


def command_table(config: Config) -> dict[str, CommandSpec]:
    """The registry under the names clients use, after the ``rename-command`` lines.

    As Redis's ``loadServerConfigFromString``: the old name must be a command
    (``No such command in rename-command``), the new one must not
    (``Target command name already exists``), an empty new name removes it. Raises
    :class:`ConfigFileError` naming the line (the CLI checks this before starting).
    """
    from respcache.config import ConfigFileError

    table = dict(REGISTRY)
    for old, new, lineno, line in config.renamed_commands:
        spec = table.pop(old.lower(), None)
        if spec is None:
            raise ConfigFileError("No such command in rename-command", lineno, line)
        if new:
            if new.lower() in table:
                raise ConfigFileError("Target command name already exists", lineno, line)
            table[new.lower()] = spec
    return table


def load_acl(config: Config) -> AccessControl:
    """The users at start: ``default`` (``requirepass`` its password), then ``user`` lines.

    Raises :class:`ConfigFileError` as redis-server reports a bad user line (the CLI
    checks this before starting).
    """
    from respcache.commands.introspection import acl_key_access
    from respcache.commands.recorded import docs_data
    from respcache.config import ConfigFileError

    redis_commands = docs_data()  # Redis 7.0's own (sub)commands: the ACL's command table
    acl = AccessControl(
        REGISTRY,
        config.requirepass,
        key_access=acl_key_access,  # type: ignore[arg-type]
        known=(lambda name: name in redis_commands) if redis_commands else None,
    )
    if config.user_lines and config.aclfile:
        raise ConfigFileError(
            "Configuring Redis with users defined in redis.conf and at the same setting an "
            "ACL file path is invalid. This setup is very likely to lead to configuration "
            "errors and security holes, please define either an ACL file or declare users "
            "directly in your redis.conf, but not both.",
            header=False,
        )
    for words, lineno, line in config.user_lines:
        try:
            acl.load_user_line(words, allchannels=config.acl_pubsub_default == "allchannels")
        except UserLineError as line_err:  # (one name per exception type: mypyc)
            raise ConfigFileError(
                f"Error in user declaration '{line_err.word}': {line_err}", lineno, line
            ) from None
    if config.aclfile:
        try:
            users = read_acl_file(
                acl_file_path(config.aclfile, config.dir),
                acl.table,
                allchannels=config.acl_pubsub_default == "allchannels",
                shown=config.aclfile,
            )
        except AclFileError as file_err:
            raise ConfigFileError(
                f"Aborting Redis startup because of ACL errors: {file_err}", header=False
            ) from None
        acl.replace_users(users)
    return acl


class Engine(WeakReferable):  # (weak-keyed tables elsewhere; see store/values.py)
    """A node's dataset, clients and command pipeline, free of I/O."""

    def __init__(
        self,
        config: Config,
        keyspace: Keyspace | None = None,
        node: NodeAdmission | None = None,
    ) -> None:
        self.config = config
        self.commands = command_table(config)
        """Top-level commands by the name clients call them (``rename-command`` applied)."""
        self.acl = load_acl(config)
        """ACL users and the permission check (``respcache.security.acl``)."""
        config.on_change("requirepass", lambda value: self.acl.set_requirepass(str(value)))
        self.keyspace = keyspace or Keyspace(
            config.databases,
            maxmemory=config.maxmemory,
            policy=config.maxmemory_policy,
            samples=config.maxmemory_samples,
            lfu_log_factor=config.lfu_log_factor,
            lfu_decay_time=config.lfu_decay_time,
        )
        self.stats = Stats()
        self.client_registry = ClientRegistry(self.stats)
        """Connected clients, their ids and the disconnect hooks (``commands/clients.py``)."""
        self.clients = self.client_registry.by_id
        """The clients by id (the registry's own table, read by CLIENT LIST, INFO...)."""
        self.dirty = 0
        """Count of changes to the dataset since start (Redis's server.dirty)."""
        self.read_only = False
        """True on a follower with replica-read-only: client writes get READONLY."""
        self.replicate: Propagator | None = None
        """Set by the replication layer on a leader; None when no follower listens."""
        self.aof_feed: Propagator | None = None
        """The append-only file's feed (set by the server once the AOF is loaded)."""
        self._propagate_out_bound: Propagator = self._propagate_out
        """The top-level propagator, kept once so the hot path can recognise it."""
        self.propagator: Propagator | None = self._propagate_out_bound
        """Where the running unit's writes go: replication and the AOF at top level;
        EXEC and scripts swap in a collector while they run, and wrap what it got."""
        self.call_later: Callable[[float, Callable[[], None]], Any] | None = None
        """Timer facility injected by the server (loop.call_later)."""
        self.info_providers: dict[str, Callable[[], list[str]]] = {}
        """Extra INFO sections (replication, cluster) provided by other layers."""
        self.run_id = os.urandom(20).hex()
        self.started = time.time()
        self.started_monotonic = time.monotonic()
        self.version = __version__
        self.redis_version = REDIS_VERSION
        self.watches = Watches(self.keyspace)
        """WATCH bookkeeping (``commands/watch.py``)."""
        self.blocked_clients = BlockedClients(self)
        """Clients parked by blocking commands (``commands/blocking.py``)."""
        # Keyspace notifications hook, set by the pub/sub module.
        self.notify_hook: Callable[[str, bytes, int, bytes], None] | None = None
        self.shutdown_hook: Callable[[bool], None] | None = None
        self.disconnect_hooks = self.client_registry.disconnect_hooks
        """Called when a client goes away (pub/sub unsubscribes it, ...)."""
        self._lookup_cache: dict[bytes, CommandSpec] = {}
        self.monitoring = Monitoring(config)
        self.latency_tracking = config.latency_tracking
        config.on_change("latency-tracking", self._set_latency_tracking)
        """SLOWLOG and LATENCY data; ``call`` hands it the commands slower than its threshold."""
        self.role_provider: Callable[[], Reply] | None = None
        """ROLE's reply, set by the replication layer; None answers as a standalone master."""
        self.sentinel_view: Callable[[], SentinelView] | None = None
        """What SENTINEL MASTERS/SLAVES answer: set by the server from coordination/replication."""
        self.ops_per_sec: Callable[[], int] | None = None
        """INFO's instantaneous_ops_per_sec, set by the server (it samples in its cron)."""
        self.command_gate: Callable[[Client, CommandSpec, bool], CommandError | None] | None = None
        """Set by replication only while commands must be refused before they run
        (NOREPLICAS on a leader short of in-sync followers, LOADING, MASTERDOWN): returns
        the refusal or None. Checked before MULTI queueing, so a refused command inside
        MULTI aborts the transaction, as in Redis."""
        self.replication: Any = None
        """The replication layer's entry points for REPLICAOF, PSYNC, REPLCONF, WAIT
        (``respcache.replication.node.Replication``); None without a server."""
        self.node: NodeAdmission = node or Standalone()
        """The node's admission rules (roles, handoff, fencing): ``server/cluster.py``."""
        self.pause = ClientPause(self.keyspace)
        """CLIENT PAUSE's state and the clients it holds."""
        self.reveals_data = True
        """Set by :meth:`execute`: the reply of the command just admitted may reveal
        written data, so the transport holds it behind the commit barrier."""
        self.busy: CommandError | None = None
        """While a script runs past ``busy-reply-threshold``: the BUSY refusal every command
        without the ``allow_busy`` flag gets (Redis's isInsideYieldingLongCommand). The
        keyspace is the script's alone then: no expiry, eviction or replicated write."""
        self.after_busy: list[Callable[[], None]] = []
        """Run once when the busy script ends (the replication stream held meanwhile)."""
        from respcache.commands.scripting import run_yielding

        self._run_yielding = run_yielding
        self.gate_steps = Gates(self)
        """The admission steps and their plans per command (``commands/gates.py``)."""
        tuning.follow(config)
        self.tracking = Tracking(config, self.clients, tracked_key_positions)
        """Client-side caching (CLIENT TRACKING): the invalidation table and messages."""
        self.disconnect_hooks.append(self.tracking.disable)
        self.active_expire = True
        """False after DEBUG SET-ACTIVE-EXPIRE 0: the cron's expiry cycle is off."""
        self.cron_paused = False
        """True after DEBUG PAUSE-CRON 1: the server cron does nothing."""
        self.monitors = Monitors()
        """Clients in MONITOR mode (``commands/monitor.py``)."""
        self.disconnect_hooks.append(self.monitors.forget)
        self.persistence = RdbSaver(config, self.keyspace, lambda: self.dirty, started=self.started)
        """SAVE/BGSAVE, the ``save`` schedule and INFO persistence (respcache.persistence)."""
        self.aof = AppendOnlyFile(
            config, self.keyspace, other_child=lambda: self.persistence.child is not None
        )
        """The append-only file: BGREWRITEAOF, loading, INFO (respcache.persistence.aof)."""
        self.persistence.other_child = lambda: self.aof.child is not None

    # --- clients ------------------------------------------------------------------------

    def new_client(self) -> Client:
        client = Client(self)
        self.client_registry.add(client)
        return client

    def add_client(self, client: Client) -> None:
        self.client_registry.add(client)

    def remove_client(self, client: Client) -> None:
        """Forget a disconnected client: watches, blocking, subscriptions."""
        self.watches.unwatch_all(client)
        if client.blocked is not None:
            self.blocked_clients.unpark(client)
        self.client_registry.remove(client)

    # --- dispatch -----------------------------------------------------------------------

    def lookup(self, argv: list[bytes]) -> CommandSpec | None:
        name = argv[0]
        spec = self._lookup_cache.get(name)
        if spec is None:
            try:
                spec = self.commands.get(name.decode("ascii").lower())
            except UnicodeDecodeError:
                return None
            if spec is None:
                return None
            if len(self._lookup_cache) < 4096:
                self._lookup_cache[name] = spec
        if spec.subcommands:
            if len(argv) < 2:
                return spec
            try:
                sub_name = argv[1].decode("ascii").lower()
            except UnicodeDecodeError:
                sub_name = ""
            sub = spec.subcommands.get(sub_name)
            if sub is None:
                if spec.handler is not None:
                    return spec
                raise unknown_subcommand(argv[1], spec.name)
            return sub
        return spec

    def execute(self, client: Client, argv: list[bytes]) -> Verdict:
        """Run one command line from a client through the whole pipeline.

        The verdict is the reply (the command ran or was refused), :class:`Blocked`,
        :class:`Hold` (not run: park it in the hold's queue) or :class:`Forward`
        (not run: relay it to the leader). Sets :attr:`reveals_data`.
        """
        tracking = self.tracking
        if tracking.current is not None:  # an entry point that did not call after_reply
            tracking.after_reply()
        if client.tracking is not None:
            tracking.current = client  # its own invalidations wait for its reply
        spec = self._lookup_cache.get(argv[0])  # lookup's cache, inlined: the common case
        try:
            if spec is None or spec.subcommands:
                spec = self.lookup(argv)
        except CommandError as err:
            self.reveals_data = False
            return self.stats.reject(err, None)
        if spec is None:
            self.reveals_data = False
            if client.multi is not None:
                client.multi_error = True
            return self.stats.reject(unknown_command(argv), None)
        arity = spec.arity
        n = len(argv)
        if (arity > 0 and n != arity) or n < -arity:
            self.reveals_data = False
            if client.multi is not None:
                if spec.name == "exec":
                    return self._abort_exec(client, wrong_arity(spec.name), spec)
                client.multi_error = True
            return self.stats.reject(wrong_arity(spec.name), spec)
        node = self.node
        standalone = type(node) is Standalone  # its reveals_data/executed are constants
        if client.is_master:
            # The replication apply path: the leader's stream passes no gate.
            self.reveals_data = False
        else:
            self.reveals_data = True if standalone else node.reveals_data(client, spec)
            verdict = self._admit(client, spec, argv)
            if verdict is not None:
                return verdict
        queue = client.multi
        if queue is not None and spec.name not in MULTI_IMMEDIATE:
            queue.append((spec, argv))
            return QUEUED
        if client.is_master:
            reply = self.call(client, spec, argv)
        elif spec.name in RUNS_SCRIPTS and self.call_later is not None:
            return self._run_yielding(self, client, spec, argv)  # the same, on a greenlet
        elif standalone:
            reply = self.call(client, spec, argv)
        else:
            dirty = self.dirty
            reply = self.call(client, spec, argv)
            node.executed(client, spec, self.dirty != dirty)
        blocked = self.blocked_clients
        if blocked.ready:
            blocked.serve_ready()
        return reply

    # --- admission: Redis's processCommand gates, in its order ---------------------------

    @property
    def gates(self) -> list[GateStep]:
        """The admission stage, in order (``Gates.steps``): a step appended runs too."""
        return self.gate_steps.steps

    def _admit(self, client: Client, spec: CommandSpec, argv: list[bytes]) -> Verdict | None:
        """Every gate in order; the first refusal wins (None: the command may run).

        A refused command inside MULTI flags the transaction (EXECABORT at EXEC);
        a refused EXEC discards it, as Redis's rejectCommand/flagTransaction do.
        """
        steps = self.gate_steps
        if spec is steps.last_spec and len(steps.steps) == len(steps.plans_of):
            plan = steps.last_plan  # the command before was this one: its plan, remembered
        else:
            known = steps.plans.get(id(spec))
            if known is None or len(steps.steps) != len(steps.plans_of):
                known = steps.plan(spec)
            plan = known
            steps.remember(spec, plan)
        if steps.last_may_skip and steps.quiet(client, spec):
            return None  # no step could refuse it now (``Gates.quiet``)
        queue = client.multi
        if queue is not None and spec.name == "exec":
            specs = [cast(CommandSpec, queued) for queued, _ in queue]
            writes = spec.is_write or any(s.is_write for s in specs)
            reads = any("readonly" in s.flags for s in specs)
        else:
            writes = spec.is_write
            reads = "readonly" in spec.flags
        for gate in plan:
            verdict = gate(client, spec, argv, writes, reads)
            if verdict is not None:
                if type(verdict) is CommandError:
                    return self._refuse(client, verdict, spec)
                return verdict
        return None

    def _refuse(self, client: Client, err: CommandError, spec: CommandSpec) -> Reply:
        if client.multi is not None:
            if spec.name == "exec":
                return self._abort_exec(client, err, spec)
            if spec.name not in MULTI_IMMEDIATE:
                client.multi_error = True
        return self.stats.reject(err, spec)

    def call(self, client: Client, spec: CommandSpec, argv: list[bytes]) -> Reply | Blocked:
        """Run a handler and collect its effects (also used by EXEC for queued commands)."""
        ks = self.keyspace
        start = _perf_counter_ns()
        if start > ks.clock_held_until_ns:
            ks.update_clock()
            if ks.clock_held_until_ns:  # in a batch: the clock stands another millisecond
                ks.clock_held_until_ns = start + CLOCK_HOLD_NS
        if client.no_touch:
            ks.no_touch = True
        dirty = self.dirty
        if self.monitors.clients and spec.name in SCRIPT_RUNNERS:
            self.monitors.announce(client, argv)  # before the commands its script runs
        handler = spec.handler
        assert handler is not None
        try:
            reply = handler(client, argv)
        except CommandError as err:
            reply = err
        finally:
            ks.no_touch = False
        if client.tracking is not None:
            self.tracking.after_command(client, spec, argv)
        if self.monitors.clients and client.blocked is None:  # (a re-run is shown once)
            self.monitors.feed(client, spec, argv)
        elapsed = (_perf_counter_ns() - start) // 1000
        if elapsed >= self.monitoring.threshold_us:
            self.monitoring.command_done(client, spec, argv, elapsed)
        name = spec.name
        stats = self.stats.commands.get(name)
        if stats is None:
            stats = self.stats.commands[name] = CommandStats()
        if client.blocked is None:
            # (A parked command run again by serve_ready was counted when it blocked,
            # as Redis counts a blocking command once.)
            stats.calls += 1
            stats.usec += elapsed
            if self.latency_tracking:
                key = elapsed if elapsed < 1024 else sample_key(elapsed)
                samples = stats.samples
                samples[key] = samples.get(key, 0) + 1
            self.stats.total_commands_processed += 1
        client.last_command = name
        if type(reply) is CommandError:
            stats.failed_calls += 1
            self.stats.count_error(reply)
        if ks.events:
            # Keys the command found expired were deleted before its own effect: their
            # DELs reach the replicas first, as in Redis. They are not the command's changes.
            before = self.dirty
            self.flush_store_events()
            dirty += self.dirty - before
        if self.dirty != dirty:
            propagate = client.propagate_as
            if propagate is not None:
                client.propagate_as = None
                self.propagate(client.db.id, propagate)
            else:
                propagator = self.propagator
                # (At top level with no follower and no AOF, nothing would receive it.)
                if propagator is not None and (
                    propagator is not self._propagate_out_bound
                    or self.replicate is not None
                    or self.aof_feed is not None
                ):
                    propagator(client.db.id, [argv])
        elif client.propagate_as is not None:
            client.propagate_as = None
        if type(reply) is Blocked:
            reply.spec = spec
            reply.argv = argv
            reply.db = client.db.id
        return reply

    def _set_latency_tracking(self, value: object) -> None:
        self.latency_tracking = bool(value)

    # --- MULTI ----------------------------------------------------------------------------

    def _abort_exec(self, client: Client, err: CommandError, spec: CommandSpec) -> Reply:
        """EXEC refused by a gate: the transaction is discarded (Redis's execCommandAbort).

        The reason is the refusal's text, without the generic ``ERR`` code.
        """
        self.discard_transaction(client)
        reason = err.message.removeprefix("ERR ")
        return self.stats.reject(
            CommandError(f"EXECABORT Transaction discarded because of: {reason}"), spec
        )

    def discard_transaction(self, client: Client) -> None:
        """Leave MULTI: forget the queue, the error flag and every WATCHed key."""
        client.multi = None
        client.multi_error = False
        self.watches.unwatch_all(client)

    # --- effects --------------------------------------------------------------------------

    def propagate(self, db: int, commands: list[list[bytes]]) -> None:
        """Hand commands that changed the dataset to replication and the AOF."""
        if commands and self.propagator is not None:
            self.propagator(db, commands)

    def _propagate_out(self, db: int, commands: list[list[bytes]]) -> None:
        """Redis's ``propagateNow``: the same commands to the followers and the AOF."""
        replicate = self.replicate
        if replicate is not None:
            replicate(db, commands)
        feed = self.aof_feed
        if feed is not None:
            feed(db, commands)

    def key_modified(self, db: int, key: bytes, event: bytes | None, kind: str) -> None:
        """A key changed: dataset dirty, WATCHers invalidated, notification, blocked clients."""
        self.dirty += 1
        watches = self.watches
        if watches.watched:
            watches.key_changed(db, key)
        if event is not None and self.notify_hook is not None:
            self.notify_hook(kind, event, db, key)
        tracking = self.tracking
        if tracking.table or tracking.prefixes:
            tracking.key_changed(key)
        blocked = self.blocked_clients
        if blocked.waiting and (db, key) in blocked.waiting:
            blocked.ready.append((db, key))

    def flush_store_events(self) -> None:
        """Replicate the store's own deletions (expiry, eviction) as DEL and notify."""
        for db, key, reason in self.keyspace.drain_events():
            self.dirty += 1
            if self.watches.watched:
                self.watches.key_changed(db, key)
            self.propagate(db, [[b"DEL", key]])
            tracking = self.tracking
            if tracking.table or tracking.prefixes:
                tracking.key_changed(key, by_client=False)
            if self.notify_hook is not None:
                self.notify_hook("x" if reason == "expired" else "e", reason.encode(), db, key)

    def touch_all_watched(self, db: int | None = None) -> None:
        """FLUSHALL/FLUSHDB/SWAPDB (and a full resync): see ``Watches.touch_all``."""
        self.watches.touch_all(db)

    # --- blocking commands (``commands/blocking.py``), for the server and replication -------

    @property
    def ready(self) -> list[tuple[int, bytes]]:
        """Keys someone waits on that were written: :meth:`serve_ready` has work."""
        return self.blocked_clients.ready

    def serve_ready(self) -> None:
        self.blocked_clients.serve_ready()

    def unblock(self, client: Client, reply: Reply) -> None:
        self.blocked_clients.unblock(client, reply)
