"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis 7.0's ``scripting`` group).

Follows Redis 7.0.15's src/eval.c (the script cache, shebang flags, EVAL's
argument checks) and src/script.c (scriptPrepareForRun's admission of a script,
scriptCall's checks of each ``redis.call``, SCRIPT KILL). The interpreter, its
sandbox and the conversions are in :mod:`respcache.scripting.runtime`.

A ``redis.call`` goes through the same gates a client's command meets in
``Engine.execute`` — unknown command, arity, ``noscript``, read-only scripts,
``READONLY`` on a follower and the replication gate for the first write,
``OOM`` for the first ``denyoom`` write — with Redis's script-specific error
texts, then runs with ``Engine.call`` on the script's own client, so slowlog,
commandstats, keyspace notifications, WATCH invalidation and blocked clients
see the inner commands exactly as they see a client's.

Replication is by effects, as Redis 7.0 does it: while a script runs, the
engine's propagator collects what the inner commands replicate, and the
script's caller replicates that unit (one command alone, several wrapped in
``MULTI``/``EXEC`` by :func:`~respcache.commands.transactions.propagate_unit`)
instead of the EVAL itself; a script that wrote nothing replicates nothing.
Followers never run Lua. The commit gate holds the script's reply until the
in-sync followers have the whole unit.

Scripts run on the event loop's thread: nothing else runs while a script runs
(Redis's atomicity) — until it has run ``busy-reply-threshold`` milliseconds.
Redis then re-enters its event loop from the Lua count hook
(``processEventsWhileBlocked``) and answers every command without the
``allow_busy`` flag with ``-BUSY``, so SCRIPT KILL, FUNCTION KILL and SHUTDOWN
NOSAVE can reach it. An asyncio loop cannot be re-entered, so the engine runs
every command that may run a script on a greenlet of its own
(:func:`run_yielding`): past the threshold the hook switches back to the event
loop, the caller is parked like a blocked client, and the loop resumes the
script for another slice on each turn until it ends. Meanwhile
``Engine.busy`` holds the BUSY refusal (the admission gate answers it), the
cron neither expires nor evicts, and a follower holds the leader's stream
(``Engine.after_busy`` lets it go on when the script ends).
"""

from __future__ import annotations

import hashlib
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

import greenlet

from respcache.commands.blocking import Blocked
from respcache.commands.client import Client
from respcache.commands.gates import COMMAND_FLAGS_BY_ARGS
from respcache.commands.introspection import help_reply
from respcache.commands.registry import CommandSpec, command
from respcache.commands.transactions import propagate_unit
from respcache.errors import OOM, READONLY, CommandError
from respcache.protocol.types import OK, Reply
from respcache.scripting.runtime import CONTINUE, KILL, TIMED_OUT, LuaRuntime, ScriptError

if TYPE_CHECKING:
    from respcache.commands.engine import Engine

log = logging.getLogger("respcache.scripting")

NOSCRIPT: Final = "NOSCRIPT No matching script. Please use EVAL."
NOTBUSY: Final = "NOTBUSY No scripts in execution right now."
UNKILLABLE_WRITTEN: Final = (
    "UNKILLABLE Sorry the script already executed write commands against the dataset. "
    "You can either wait the script termination or kill the server in a hard way using "
    "the SHUTDOWN NOSAVE command."
)
UNKILLABLE_MASTER: Final = (
    "UNKILLABLE The busy script was sent by a master instance in the context of "
    "replication and cannot be killed."
)
SLOW_SCRIPT_ERR: Final = (
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
)
SLOW_FUNCTION_ERR: Final = (
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
)
SLOW_EVAL_ERR: Final = (
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
)

# Script flags (script.h scripts_flags_def), by their shebang names.
FLAG_NO_WRITES: Final = 1 << 0
FLAG_ALLOW_OOM: Final = 1 << 1
FLAG_ALLOW_STALE: Final = 1 << 2
FLAG_NO_CLUSTER: Final = 1 << 3
FLAG_EVAL_COMPAT_MODE: Final = 1 << 4
FLAG_ALLOW_CROSS_SLOT: Final = 1 << 5
SCRIPT_FLAGS: Final = {
    "no-writes": FLAG_NO_WRITES,
    "allow-oom": FLAG_ALLOW_OOM,
    "allow-stale": FLAG_ALLOW_STALE,
    "no-cluster": FLAG_NO_CLUSTER,
    "allow-cross-slot-keys": FLAG_ALLOW_CROSS_SLOT,
}

REPL_REPLICA: Final = 2
YIELD_EVERY: Final = 0.001
"""Seconds of Lua between two turns of the event loop once a script is timed out."""


class ScriptClient(Client):
    """The script's own client: SORT of a set sorts its output, as for CLIENT_SCRIPT."""

    __slots__ = ()
    is_script = True


@dataclass
class Script:
    """A cached EVAL script (Redis's luaScript)."""

    body: bytes
    flags: int
    function: Any


class UncountedError(CommandError):
    """A script error already counted in errorstats when the inner command failed
    (Redis's ERR_REPLY_FLAG_NO_STATS_UPDATE); the engine does not count it again."""

    __slots__ = ()


@dataclass
class ScriptingState:
    """One engine's scripting: the runtime, the script cache, the running script."""

    engine: Engine
    scripts: dict[str, Script] = field(default_factory=dict)
    scripts_memory: int = 0
    running: ScriptRun | None = None
    disable_deny_scripts: bool = False
    """DEBUG SET-DISABLE-DENY-SCRIPTS: redis.call may run ``noscript`` commands."""
    worker: _Worker | None = None
    """The greenlet commands that may run a script run on (:func:`run_yielding`)."""
    yield_to_loop: Callable[[], None] | None = None
    """Set while a command runs on its greenlet (:func:`run_yielding`): leaves it for the
    event loop, which switches back for the next slice."""
    _runtime: LuaRuntime | None = None
    _functions_runtime: LuaRuntime | None = None
    _client: Client | None = None

    @property
    def runtime(self) -> LuaRuntime:
        """The Lua state of EVAL scripts (Redis's lctx.lua)."""
        if self._runtime is None:
            self._runtime = LuaRuntime()
        return self._runtime

    @property
    def functions_runtime(self) -> LuaRuntime:
        """The Lua state of FUNCTION libraries (function_lua.c's own lua_State): nothing a
        script changes in its state (cjson settings, math.randomseed) reaches them."""
        if self._functions_runtime is None:
            self._functions_runtime = LuaRuntime()
        return self._functions_runtime

    def functions_vm_memory(self) -> int:
        """``used_memory_vm_functions``: the functions' Lua heap (0 before the first use)."""
        lua = self._functions_runtime
        return lua.memory() if lua is not None else 0

    @property
    def client(self) -> Client:
        """The script's own client (Redis's lua_client): never in engine.clients."""
        if self._client is None:
            client = ScriptClient(self.engine)
            client.authenticated = True
            client.in_exec = True  # blocking commands answer at once (CLIENT_DENY_BLOCKING)
            client.name = b""
            self._client = client
        return self._client

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every script and reclaim its memory (scriptingReset).

        The interpreter itself stays (FUNCTION libraries have their own, untouched): the
        globals scripts see are read-only, so nothing a script did survives but the
        random generator's state, which Redis keeps across a reset as well.
        """
        self.scripts.clear()
        self.scripts_memory = 0
        if self._runtime is not None:
            self._runtime.collect_garbage()

    def create(self, body: bytes) -> str:
        """luaCreateFunction: compile and cache ``body``; its SHA1 (CommandError if it fails)."""
        sha = hashlib.sha1(body).hexdigest()
        if sha in self.scripts:
            return sha
        flags, shebang_len = extract_shebang_flags(body)
        try:
            fn = self.runtime.compile(body[shebang_len:])
        except ScriptError as err:
            raise CommandError(f"ERR Error compiling script (new function): {err}") from None
        self.scripts[sha] = Script(body, flags, fn)
        self.scripts_memory += len(body) + 40 + 16
        return sha


_STATES: weakref.WeakKeyDictionary[Engine, ScriptingState] = weakref.WeakKeyDictionary()


def scripting_state(engine: Engine) -> ScriptingState:
    state = _STATES.get(engine)
    if state is None:
        state = _STATES[engine] = ScriptingState(engine)
    return state


def is_script_client(engine: Engine, c: Client) -> bool:
    """Whether ``c`` is the client scripts and functions run their commands as."""
    state = _STATES.get(engine)
    return state is not None and state._client is c


def memory_info_lines(engine: Engine, human: Callable[[int], str]) -> list[str]:
    """The scripting fields of INFO memory, in Redis 7.0's order."""
    state = _STATES.get(engine)
    vm_eval = state.runtime.memory() if state is not None and state._runtime is not None else 0
    scripts = len(state.scripts) if state is not None else 0
    scripts_mem = state.scripts_memory if state is not None else 0
    fn = function_memory_info(engine)
    vm_total = vm_eval + fn["vm"]
    return [
        f"used_memory_lua:{vm_eval}",
        f"used_memory_vm_eval:{vm_eval}",
        f"used_memory_lua_human:{human(vm_eval)}",
        f"used_memory_scripts_eval:{scripts_mem}",
        f"number_of_cached_scripts:{scripts}",
        f"number_of_functions:{fn['functions']}",
        f"number_of_libraries:{fn['libraries']}",
        f"used_memory_vm_functions:{fn['vm']}",
        f"used_memory_vm_total:{vm_total}",
        f"used_memory_vm_total_human:{human(vm_total)}",
        f"used_memory_functions:{fn['memory']}",
        f"used_memory_scripts:{scripts_mem + fn['memory']}",
        f"used_memory_scripts_human:{human(scripts_mem + fn['memory'])}",
    ]


def function_memory_info(engine: Engine) -> dict[str, int]:
    """Counts of FUNCTION libraries (filled in by the functions module when loaded)."""
    from respcache.commands import functions

    return functions.memory_info(engine)


def extract_shebang_flags(body: bytes) -> tuple[int, int]:
    """evalExtractShebangFlags: (flags, length of the shebang line) or CommandError."""
    if not body.startswith(b"#!"):
        return FLAG_EVAL_COMPAT_MODE, 0
    end = body.find(b"\n")
    if end < 0:
        raise CommandError("ERR Invalid script shebang")
    parts = body[:end].decode("utf-8", "surrogateescape").split()
    if not parts:
        raise CommandError("ERR Invalid engine in script shebang")
    if parts[0] != "#!lua":
        raise CommandError(f"ERR Unexpected engine in script shebang: {parts[0]}")
    flags = 0
    for part in parts[1:]:
        if not part.startswith("flags="):
            raise CommandError(f"ERR Unknown lua shebang option: {part}")
        names = part[6:]
        for name in names.split(",") if names else []:
            flag = SCRIPT_FLAGS.get(name)
            if flag is None:
                raise CommandError(f"ERR Unexpected flag in script shebang: {name}")
            flags |= flag
    return flags, end



def _eval_may_replicate(engine: Engine, argv: list[bytes], evalsha: bool) -> bool:
    """evalGetCommandFlags, for the pause check: does this EVAL/EVALSHA count as a write?

    A script that declared its flags replicates only without ``no-writes``; a script
    without a shebang, an unknown SHA or a malformed shebang keeps the command's
    ``may_replicate``.
    """
    if len(argv) < 2 or (evalsha and len(argv[1]) != 40):
        return True
    state = scripting_state(engine)
    sha = argv[1].decode("latin-1").lower() if evalsha else hashlib.sha1(argv[1]).hexdigest()
    script = state.scripts.get(sha)
    if script is not None:
        flags = script.flags
    elif evalsha:
        return True
    else:
        try:
            flags, _ = extract_shebang_flags(argv[1])
        except CommandError:
            return True
    return bool(flags & FLAG_EVAL_COMPAT_MODE) or not flags & FLAG_NO_WRITES


COMMAND_FLAGS_BY_ARGS["eval"] = lambda engine, argv: _eval_may_replicate(engine, argv, False)
COMMAND_FLAGS_BY_ARGS["evalsha"] = lambda engine, argv: _eval_may_replicate(engine, argv, True)

# --- one invocation ---------------------------------------------------------------------


class ScriptRun:
    """A running script (Redis's scriptRunCtx): what each redis.call is checked against."""

    def __init__(
        self,
        state: ScriptingState,
        caller: Client,
        funcname: str,
        flags: int,
        read_only: bool,
        eval_mode: bool,
    ) -> None:
        self.state = state
        self.engine = state.engine
        self.caller = caller
        self.funcname = funcname
        self.eval_mode = eval_mode
        compat = bool(flags & FLAG_EVAL_COMPAT_MODE)
        self.read_only = read_only or (not compat and bool(flags & FLAG_NO_WRITES))
        self.allow_oom = not compat and bool(flags & FLAG_ALLOW_OOM)
        self.wrote = False
        """SCRIPT_WRITE_DIRTY: a write command ran (SCRIPT KILL then refuses)."""
        self.killed = False
        self.timed_out = False
        """Past busy-reply-threshold: other clients get BUSY (SCRIPT_TIMEDOUT)."""
        self.yielded = 0.0
        """When the script last left the event loop its turn."""
        self.repl_flags = 3
        ks = self.engine.keyspace
        self.pre_oom = bool(ks.maxmemory) and ks.over_maxmemory()
        self.started = time.monotonic()
        self.argv: list[bytes] = []
        """The caller's command line (FUNCTION STATS)."""

    def call(self, resp: int, argv: list[bytes]) -> Reply:
        """scriptCall: the gates of a command called from a script, then Engine.call."""
        engine = self.engine
        try:
            spec: CommandSpec | None = engine.lookup(argv)
        except CommandError:
            spec = None
        if spec is None or spec.handler is None:
            if spec is not None and spec.subcommands and len(argv) < 2:
                return self._reject(
                    spec, "ERR Wrong number of args calling Redis command from script"
                )
            return self._reject(None, "ERR Unknown Redis command called from script")
        arity = spec.arity
        n = len(argv)
        if (arity > 0 and n != arity) or n < -arity:
            return self._reject(spec, "ERR Wrong number of args calling Redis command from script")
        if "noscript" in spec.flags and not self.state.disable_deny_scripts:
            return self._reject(spec, "ERR This Redis command is not allowed from script")
        caller = self.caller
        denied = engine.acl.check(caller.user, spec, argv)
        if denied is not None:  # scriptVerifyACL
            engine.gate_steps.log_acl(caller, denied.reason, denied.object, caller.user.name, "lua")
            return self._reject(
                spec, "ERR The user executing the script " + _ACL_DENIALS[denied.reason]
            )
        if self.read_only and (spec.is_write or "may_replicate" in spec.flags):
            return self._reject(spec, "ERR Write commands are not allowed from read-only scripts.")
        if spec.is_write and not self.wrote and not caller.is_master:
            if engine.read_only:
                return self._reject(spec, READONLY)
            misconf = engine.persistence.write_refusal()
            if misconf is not None:
                return self._reject(spec, misconf)
            gate = engine.command_gate
            if gate is not None:
                refusal = gate(caller, spec, True)
                if refusal is not None:
                    return self._reject(spec, refusal.message)
        if (
            not self.allow_oom
            and spec.is_denyoom
            and not self.wrote
            and self.pre_oom
            and not caller.is_master
        ):
            return self._reject(spec, OOM)
        if spec.name in ("xread", "xreadgroup") and _blocks(argv):
            name = argv[0].decode("utf-8", "surrogateescape")
            return CommandError(f"ERR {name} command is not allowed with BLOCK option from scripts")
        if spec.is_write:
            self.wrote = True
        client = self.state.client
        client.resp = resp
        reply = engine.call(client, spec, argv)
        if caller.tracking is not None and "readonly" in spec.flags:
            engine.tracking.script_read(caller)
        if isinstance(reply, Blocked):
            reply = reply.timeout_reply
        if engine.blocked_clients.ready:
            engine.blocked_clients.serve_ready()
        return reply

    def _reject(self, spec: CommandSpec | None, message: str) -> CommandError:
        return self.engine.stats.reject(CommandError(message), spec)

    def set_repl(self, flags: int) -> None:
        self.repl_flags = flags

    def acl_check(self, argv: list[bytes]) -> bool | None:
        """luaRedisAclCheckCmdPermissionsCommand: the caller's permission (no ACL log entry)."""
        try:
            spec = self.engine.lookup(argv)
        except CommandError:
            return None
        if spec is None:
            return None
        return self.engine.acl.check(self.caller.user, spec, argv) is None

    def interrupted(self) -> int:
        """scriptInterrupt, from the count hook: past the threshold, serve the event loop."""
        if self.killed:
            return KILL
        verdict = CONTINUE
        now = time.monotonic()
        if not self.timed_out:
            elapsed = int((now - self.started) * 1000)
            if elapsed < self.engine.config.busy_reply_threshold:
                return CONTINUE
            log.warning(
                "Slow script detected: still in execution after %d milliseconds. "
                "You can try killing the script using the %s command. Script name is: %s.",
                elapsed,
                "SCRIPT KILL" if self.eval_mode else "FUNCTION KILL",
                self.funcname,
            )
            self.timed_out = True
            self.engine.busy = CommandError(SLOW_EVAL_ERR if self.eval_mode else SLOW_FUNCTION_ERR)
            verdict = TIMED_OUT
        elif now - self.yielded < YIELD_EVERY:
            return CONTINUE
        yield_to_loop = self.state.yield_to_loop
        if yield_to_loop is not None:
            try:
                yield_to_loop()
            except greenlet.GreenletExit:  # the server stops (SHUTDOWN NOSAVE): end it
                self.killed = True
            self.yielded = time.monotonic()
        return KILL if self.killed else verdict

    def finished(self) -> None:
        """scriptResetRun: leave the timed-out mode; what waited for the keyspace goes on."""
        if self.timed_out:
            self.timed_out = False
            engine = self.engine
            engine.busy = None
            waiting, engine.after_busy = engine.after_busy, []
            for resume in waiting:  # after the script's command, not inside it
                if engine.call_later is not None:
                    engine.call_later(0, resume)
                else:
                    resume()


def _blocks(argv: list[bytes]) -> bool:
    """XREAD/XREADGROUP with a BLOCK option (before STREAMS): refused from scripts."""
    for arg in argv[1:]:
        option = arg.lower()
        if option == b"streams":
            return False
        if option == b"block":
            return True
    return False


_ACL_DENIALS: Final = {  # acl.c getAclErrorMessage
    "command": "can't run this command or subcommand",
    "key": "can't access at least one of the keys mentioned in the command arguments",
    "channel": "can't publish to the channel mentioned in the command",
}


def prepare_run(
    state: ScriptingState,
    caller: Client,
    funcname: str,
    flags: int,
    read_only: bool,
    eval_mode: bool,
) -> ScriptRun:
    """scriptPrepareForRun: refuse a script its flags do not allow here (CommandError)."""
    engine = state.engine
    if not flags & FLAG_EVAL_COMPAT_MODE:
        if not flags & FLAG_NO_WRITES:
            if engine.read_only and not caller.is_master:
                if caller.in_exec:
                    raise CommandError(
                        "READONLY Can not run script with write flag on readonly replica"
                    )
                raise CommandError(READONLY)
            if not caller.is_master:
                misconf = engine.persistence.write_refusal()
                if misconf is not None:
                    raise CommandError(misconf)
            if read_only:
                raise CommandError(
                    "ERR Can not execute a script with write flag using *_ro command."
                )
            gate = engine.command_gate
            if gate is not None and not caller.is_master:  # NOREPLICAS (checkGoodReplicasStatus)
                refusal = gate(caller, engine.commands["eval"], True)
                if refusal is not None:
                    raise CommandError(refusal.message)
        ks = engine.keyspace
        if (
            ks.maxmemory
            and not caller.is_master
            and not flags & (FLAG_ALLOW_OOM | FLAG_NO_WRITES)
            and ks.over_maxmemory()
        ):
            if caller.in_exec:
                raise CommandError(
                    "OOM allow-oom flag is not set on the script, "
                    "can not run it when used memory > 'maxmemory'"
                )
            raise CommandError(OOM)
    return ScriptRun(state, caller, funcname, flags, read_only, eval_mode)


def run_script(
    c: Client,
    run: ScriptRun,
    invoke: Callable[[ScriptRun], Reply],
) -> Reply:
    """Run ``invoke`` with effects replication: the script's writes become its caller's unit."""
    state = run.state
    engine = state.engine
    collected: list[tuple[int, list[list[bytes]]]] = []
    propagator = engine.propagator

    def collect(db: int, commands: list[list[bytes]]) -> None:
        if run.repl_flags & REPL_REPLICA:
            collected.append((db, commands))

    engine.propagator = collect
    client = state.client
    client.db = c.db
    client.resp = 2
    dirty = engine.dirty
    state.running = run
    # The time is the script's start for all its commands (Redis 7.0 blocks it during a
    # script: a key does not expire half-way, as on the replicas that apply its effects).
    ks = engine.keyspace
    clock = ks.clock
    started = clock()
    ks.clock = lambda: started
    try:
        reply = invoke(run)
    finally:
        ks.clock = clock
        state.running = None
        if engine.propagator is collect:
            engine.propagator = propagator
        run.finished()
    if collected:
        # Replicated as effects: the collected commands, or nothing at all (never the
        # EVAL itself, whose re-execution on a follower could differ).
        propagate_unit(engine, collected)
        if engine.dirty == dirty:
            engine.dirty += 1  # only PUBLISH: replicated all the same
    if engine.dirty != dirty:
        c.propagate_as = []
    if type(reply) is UncountedError:
        pass
    return reply


_SUSPENDED: Final = object()
"""What the worker hands the event loop when a busy script leaves it its turn."""


class _Worker:
    """A long-lived greenlet the commands that may run a script run on.

    One per event loop thread and reused (creating a greenlet per command costs
    about ten times a switch). ``holding``: a busy script's command is suspended on it.
    """

    def __init__(self) -> None:
        self.loop = greenlet.getcurrent()
        self.greenlet = greenlet.greenlet(self._serve)
        self.holding = False

    def _serve(self, job: Callable[[], Reply | Blocked]) -> None:
        while True:
            outcome: tuple[bool, Any]
            try:
                outcome = (True, job())
            except Exception as err:  # handed to whoever waits for the command
                outcome = (False, err)
            job = self.loop.switch(outcome)

    def suspend(self) -> None:
        """From a busy script's hook: the event loop's turn; back here for the next slice."""
        self.holding = True
        self.loop.switch(_SUSPENDED)
        self.holding = False

    def switch(self, job: Callable[[], Reply | Blocked] | None = None) -> Any:
        """Start ``job`` (or go on with the suspended one): its outcome or _SUSPENDED."""
        return self.greenlet.switch(job) if job is not None else self.greenlet.switch()


def run_yielding(
    engine: Engine, client: Client, spec: CommandSpec, argv: list[bytes]
) -> Reply | Blocked:
    """Engine.execute's last steps for a command that may run a script, on a greenlet.

    The command runs at once, to completion, unless a script in it passes
    busy-reply-threshold: its hook then switches back here (:meth:`ScriptRun.interrupted`),
    and the caller is parked as a :class:`Blocked` client without keys. Each turn of
    the event loop (``engine.call_later(0, ...)``) gives the script another slice;
    when the command ends its reply reaches the caller through ``client.resume``,
    as a blocked command's does.
    """
    state = scripting_state(engine)

    def run() -> Reply | Blocked:
        dirty = engine.dirty
        reply = engine.call(client, spec, argv)
        engine.node.executed(client, spec, engine.dirty != dirty)
        if engine.blocked_clients.ready:
            engine.blocked_clients.serve_ready()
        return reply

    worker = state.worker
    current = greenlet.getcurrent()
    if worker is not None and current is worker.greenlet:
        return run()  # (nested: a busy script suspends the outer command, this included)
    if worker is None or worker.loop is not current or worker.holding:
        worker = _Worker()
        if state.worker is None or state.worker.loop is not current:
            state.worker = worker
    outer = state.yield_to_loop
    state.yield_to_loop = worker.suspend
    try:
        outcome = worker.switch(run)
    finally:
        state.yield_to_loop = outer
    if outcome is not _SUSPENDED:
        ok, result = outcome
        if not ok:
            raise result
        return cast("Reply | Blocked", result)
    parked = Blocked([], 0)  # no key, no timeout: only the script's end resumes it

    def step() -> None:
        client.blocked = None  # (the command's own bookkeeping sees it running, not blocked)
        state.yield_to_loop = worker.suspend
        try:
            outcome = worker.switch()
        finally:
            state.yield_to_loop = outer
        if outcome is _SUSPENDED:
            client.blocked = parked
            engine.call_later(0, step)  # type: ignore[misc]
            return
        ok, reply = outcome
        if not ok:  # the command failed: its caller must not wait forever
            log.error("script failed", exc_info=reply)
            reply = CommandError("ERR internal error running the script")
        if isinstance(reply, Blocked):  # (a blocking command inside the script's EXEC)
            reply = reply.timeout_reply
        client.resume(reply)

    engine.call_later(0, step)  # type: ignore[misc]
    return parked


def _finish_error(c: Client, name: str, reply: Reply, ignore_stats: bool) -> Reply:
    """A script's error reply: counted in errorstats unless its inner command was."""
    if ignore_stats and type(reply) is CommandError:
        c.engine.stats.command(name).failed_calls += 1
        return UncountedError(reply.message)
    return reply


# --- EVAL -------------------------------------------------------------------------------


def _numkeys(argv: list[bytes]) -> int:
    raw = argv[2]
    try:
        if not raw or raw != raw.strip() or len(raw) > 20:
            raise ValueError
        numkeys = int(raw)
    except ValueError:
        raise CommandError("ERR value is not an integer or out of range") from None
    if numkeys > len(argv) - 3:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise CommandError("ERR Number of keys can't be negative")
    return numkeys


def _eval(c: Client, argv: list[bytes], evalsha: bool, read_only: bool) -> Reply:
    state = scripting_state(c.engine)
    if evalsha and len(argv[1]) != 40:
        raise CommandError(NOSCRIPT)
    numkeys = _numkeys(argv)
    if evalsha:
        sha = argv[1].decode("latin-1").lower()
        script = state.scripts.get(sha)
        if script is None:
            raise CommandError(NOSCRIPT)
    else:
        sha = state.create(argv[1])
        script = state.scripts[sha]
    run = prepare_run(state, c, sha, script.flags, read_only, eval_mode=True)
    run.argv = argv
    runtime = state.runtime
    keys = argv[3 : 3 + numkeys]
    args = argv[3 + numkeys :]
    ignore = [False]

    def invoke(run: ScriptRun) -> Reply:
        reply = runtime.run(run, script.function, keys, args, sha, c.resp, eval_mode=True)
        ignore[0] = runtime.last_error_counted
        return reply

    reply = run_script(c, run, invoke)
    return _finish_error(c, argv[0].decode("latin-1").lower(), reply, ignore[0])


_EVAL_DOC: Final = dict(
    arity=-3,
    keys=(0, 0, 0),
    group="scripting",
    since="2.6.0",
    complexity="Depends on the script that is executed.",
)


@command(
    "eval",
    flags="noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys",
    summary="Execute a Lua script server side",
    acl="@slow @scripting",
    **_EVAL_DOC,  # type: ignore[arg-type]
)
def eval_(c: Client, argv: list[bytes]) -> Reply:
    return _eval(c, argv, evalsha=False, read_only=False)


@command(
    "evalsha",
    flags="noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys",
    summary="Execute a Lua script server side",
    acl="@slow @scripting",
    **_EVAL_DOC,  # type: ignore[arg-type]
)
def evalsha(c: Client, argv: list[bytes]) -> Reply:
    return _eval(c, argv, evalsha=True, read_only=False)


@command(
    "eval_ro",
    flags="readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
    summary="Execute a read-only Lua script server side",
    acl="@slow @scripting",
    **{**_EVAL_DOC, "since": "7.0.0"},  # type: ignore[arg-type]
)
def eval_ro(c: Client, argv: list[bytes]) -> Reply:
    return _eval(c, argv, evalsha=False, read_only=True)


@command(
    "evalsha_ro",
    flags="readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
    summary="Execute a read-only Lua script server side",
    acl="@slow @scripting",
    **{**_EVAL_DOC, "since": "7.0.0"},  # type: ignore[arg-type]
)
def evalsha_ro(c: Client, argv: list[bytes]) -> Reply:
    return _eval(c, argv, evalsha=True, read_only=True)


# --- SCRIPT -----------------------------------------------------------------------------

_SCRIPT_HELP: Final = (
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
)


@command(
    "script|help",
    arity=2,
    flags="loading stale",
    group="scripting",
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
    acl="@slow @scripting",
)
def script_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("SCRIPT", _SCRIPT_HELP)


@command(
    "script|flush",
    arity=-2,
    flags="noscript",
    group="scripting",
    summary="Remove all the scripts from the script cache.",
    since="2.6.0",
    complexity="O(N) with N being the number of scripts in cache",
    acl="@slow @scripting",
)
def script_flush(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 3 and argv[2].lower() in (b"sync", b"async"):
        pass
    elif len(argv) != 2:
        raise CommandError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    scripting_state(c.engine).flush()
    return OK


@command(
    "script|exists",
    arity=-3,
    flags="noscript",
    group="scripting",
    summary="Check existence of scripts in the script cache.",
    since="2.6.0",
    complexity="O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
    acl="@slow @scripting",
)
def script_exists(c: Client, argv: list[bytes]) -> Reply:
    scripts = scripting_state(c.engine).scripts
    # Redis looks the argument up as it is, in a case-insensitive dict.
    return [1 if arg.decode("latin-1").lower() in scripts else 0 for arg in argv[2:]]


@command(
    "script|load",
    arity=3,
    flags="noscript stale",
    group="scripting",
    summary="Load the specified Lua script into the script cache.",
    since="2.6.0",
    complexity="O(N) with N being the length in bytes of the script body.",
    acl="@slow @scripting",
)
def script_load(c: Client, argv: list[bytes]) -> Reply:
    return scripting_state(c.engine).create(argv[2]).encode()


@command(
    "script|kill",
    arity=2,
    flags="noscript allow_busy",
    group="scripting",
    summary="Kill the script currently in execution.",
    since="2.6.0",
    complexity="O(1)",
    acl="@slow @scripting",
)
def script_kill(c: Client, argv: list[bytes]) -> Reply:
    return kill_running(c.engine, is_eval=True)


def kill_running(engine: Engine, is_eval: bool) -> Reply:
    """scriptKill: flag the running script to stop at its next hook, or refuse."""
    run = scripting_state(engine).running
    if run is None:
        raise CommandError(NOTBUSY)
    if run.caller.is_master:
        raise CommandError(UNKILLABLE_MASTER)
    if run.wrote:
        raise CommandError(UNKILLABLE_WRITTEN)
    if is_eval and not run.eval_mode:
        raise CommandError(SLOW_FUNCTION_ERR)
    if not is_eval and run.eval_mode:
        raise CommandError(SLOW_EVAL_ERR)
    run.killed = True
    return OK


@command(
    "script|debug",
    arity=3,
    flags="noscript",
    group="scripting",
    summary="Set the debug mode for executed scripts.",
    since="3.2.0",
    complexity="O(1)",
    acl="@slow @scripting",
)
def script_debug(c: Client, argv: list[bytes]) -> Reply:
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        raise CommandError("ERR SCRIPT DEBUG is not supported: respcache has no Lua debugger")
    raise CommandError("ERR Use SCRIPT DEBUG YES/SYNC/NO")
