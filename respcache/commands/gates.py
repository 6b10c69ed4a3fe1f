"""The admission stage's steps: Redis's ``processCommand`` refusals, one method each.

``Engine.execute`` runs, before a command's handler, every step of ``engine.gates``
that may refuse it (``Engine._admit``; the plan per command is computed once, from
the marks of :func:`refuses_only`, by :meth:`Gates.plan`). A step answers None (go on), a
:class:`CommandError` (refused: NOAUTH, NOPERM, OOM, READONLY, MISCONF, LOADING,
BUSY...), or a :class:`~respcache.commands.admission.Hold` /
:class:`~respcache.commands.admission.Forward` from the node's admission rules.
The steps live here rather than on the engine so that the pipeline reads as a
pipeline and each refusal as one small method; the order is Redis 7.0's
(``server.c`` processCommand), in :meth:`Gates.in_order`. Compiled with mypyc
(``respcache._compiled``); in the common state :meth:`Gates.quiet` stands for them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from respcache.commands.admission import Forward, Hold, Standalone
from respcache.commands.client import Client
from respcache.commands.monitor import SCRIPT_RUNNERS
from respcache.commands.registry import CommandSpec
from respcache.errors import NOAUTH, OOM, READONLY, CommandError
from respcache.persistence.loading import LOADING
from respcache.security.acl import AclLogEntry

if TYPE_CHECKING:
    from respcache.commands.engine import Engine

# Commands a client in RESP2 subscribed mode may still send.
PUBSUB_ALLOWED = frozenset(
    {
        "subscribe",
        "ssubscribe",
        "unsubscribe",
        "sunsubscribe",
        "psubscribe",
        "punsubscribe",
        "ping",
        "quit",
        "reset",
    }
)
# Commands that run at once inside MULTI instead of being queued.
MULTI_IMMEDIATE = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})

Refusal = CommandError | Hold | Forward
"""What a gate step answers to stop a command (None lets it go on)."""

GateStep = Callable[[Client, CommandSpec, list[bytes], bool, bool], Refusal | None]
"""One admission step: (client, spec, argv, writes, reads) → refusal or None. ``writes`` and
``reads`` are the command's flags, or for EXEC its queued commands'."""

_GateFunction = Callable[..., "Refusal | None"]


def refuses_only(
    applies: Callable[[CommandSpec], bool],
) -> Callable[[_GateFunction], _GateFunction]:
    """Mark a gate step that can only ever refuse commands for which ``applies(spec)``.

    The engine then leaves the step out of the admission of every other command
    (the plans are computed once per command spec, see :meth:`Gates.plan`).
    ``applies`` sees only the spec, never the client or the node's state: it must be
    true for every spec the step could refuse in any state. A step without the mark
    runs for every command. EXEC always runs every step (its flags are its queue's).
    """

    def mark(step: _GateFunction) -> _GateFunction:
        # By name, not as an attribute of the function: compiled methods (mypyc) take none.
        _REFUSES_ONLY[step.__qualname__] = applies
        return step

    return mark


_REFUSES_ONLY: dict[str, Callable[[CommandSpec], bool]] = {}
"""The marks of :func:`refuses_only`, by the step's ``__qualname__``."""


def may_refuse(gate: GateStep, spec: CommandSpec) -> bool:
    """False if ``gate`` is marked (:func:`refuses_only`) as never refusing ``spec``."""
    applies = _REFUSES_ONLY.get(getattr(gate, "__qualname__", ""))
    return applies is None or applies(spec)


COMMAND_FLAGS_BY_ARGS: dict[str, Callable[[Engine, list[bytes]], bool]] = {}
"""Redis's ``getCommandFlags`` for the commands whose flags depend on their arguments
(EVAL and FCALL with declared script flags): name → "may it replicate?". Filled by
``commands/scripting.py`` and ``commands/functions.py``; asked only while clients are
paused, where Redis asks it (a paused ``no-writes`` script still runs)."""


class Gates:
    """The admission steps of one engine (``engine.gate_steps``) and, per command, the plan
    of those that may refuse it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.steps: list[GateStep] = self.in_order()
        """The admission stage, in order (``engine.gates``); one more gate is one more line."""
        self.plans: dict[int, tuple[GateStep, ...]] = {}
        """Per command spec (by id): the steps of :attr:`steps` that may refuse it."""
        self.plans_of: tuple[GateStep, ...] = ()
        """The :attr:`steps` the plans were computed from (a changed list recomputes them)."""
        self._defaults: tuple[GateStep, ...] = tuple(self.steps)
        self.defaults_only = False
        """True while :attr:`steps` are exactly :meth:`in_order`'s (set with the plans): only
        then may :meth:`quiet` stand for them."""
        self.may_skip: set[int] = set()
        """Per command spec (by id), planned while :attr:`defaults_only`: specs :meth:`quiet`
        may admit (not EXEC, not DEBUG/MODULE)."""
        self.last_spec: CommandSpec | None = None
        """The spec admitted last, its plan and whether it is in :attr:`may_skip`
        (:meth:`remember`): a pipeline of one command finds them without a lookup."""
        self.last_plan: tuple[GateStep, ...] = ()
        self.last_may_skip = False

    def remember(self, spec: CommandSpec, plan: tuple[GateStep, ...]) -> None:
        """``spec`` is being admitted with ``plan`` (valid until the steps change)."""
        self.last_spec = spec
        self.last_plan = plan
        self.last_may_skip = id(spec) in self.may_skip

    def plan(self, spec: CommandSpec) -> tuple[GateStep, ...]:
        """The steps that may refuse ``spec`` (see :func:`refuses_only`), remembered."""
        steps = tuple(self.steps)
        if steps != self.plans_of:
            self.plans.clear()
            self.may_skip.clear()
            self.last_spec = None
            self.plans_of = steps
            self.defaults_only = steps == self._defaults
        if spec.name == "exec":  # its flags are its queue's: every step decides
            plan = steps
        else:
            plan = tuple(step for step in steps if may_refuse(step, spec))
            if self.defaults_only and spec.protected_by is None:
                self.may_skip.add(id(spec))
        self.plans[id(spec)] = plan
        return plan

    def quiet(self, client: Client, spec: CommandSpec) -> bool:
        """True when no default step can refuse ``spec`` from ``client`` in the node's state now.

        The shortcut of ``Engine._admit`` for the common case (a standalone node, nothing
        paused, loading, failing or over ``maxmemory``, an authenticated client with every
        permission, outside MULTI): a dozen attribute reads instead of the steps' calls. It
        only has to be sufficient: False runs the steps, which decide. Each clause is the
        condition under which one step answers None for a spec of :attr:`may_skip`; a step
        added to :meth:`in_order` needs its clause here (``tests/unit/test_gates_quiet.py``
        checks every step against this method in each state it knows).
        """
        engine = self.engine
        if not (
            client.authenticated  # auth
            and client.multi is None  # no_multi (and nothing to queue)
            and type(engine.node) is Standalone  # route; hold (with the pause below)
            and not engine.keyspace.maxmemory  # oom
            and engine.command_gate is None  # replication
            and not engine.read_only  # replication
            and engine.busy is None  # busy
            and not engine.pause.type  # hold
        ):
            return False
        persistence = engine.persistence
        aof = engine.aof
        if not (
            persistence.last_bgsave_ok  # misconf (RDB)
            and aof.last_write_ok  # misconf (AOF)
            and aof.incr.bio_ok
            and not persistence.progress.active  # loading
            and (client.resp == 3 or not (client.subscriptions or client.patterns))  # pubsub
        ):
            return False
        root = client.user.root  # acl (AccessControl.check's own first test)
        return root.all_keys and root.all_channels and spec.name in root.allowed

    def in_order(self) -> list[GateStep]:
        """The default steps in Redis's processCommand order (lookup and arity come first,
        in ``Engine.execute``)."""
        return [
            self.protected,  # enable-debug-command / enable-module-command
            self.auth,  # NOAUTH
            self.acl,  # NOPERM (ACL LOG)
            self.no_multi,  # not allowed inside a transaction
            self.route,  # forward after a handoff; reads on a follower
            self.oom,  # evict, then OOM for denyoom commands
            self.misconf,  # MISCONF after a failed background save
            self.replication,  # NOREPLICAS, READONLY, MASTERDOWN, LOADING
            self.pubsub,  # RESP2 subscribed context
            self.loading,  # LOADING while the RDB/AOF loads at startup
            self.busy,  # BUSY while a script runs past busy-reply-threshold
            self.hold,  # handoff and CLIENT PAUSE: postpone
        ]

    @refuses_only(lambda spec: not spec.no_auth)
    def auth(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        if not client.authenticated and not spec.no_auth and self.engine.acl.auth_required():
            if client.multi is not None:
                client.multi_error = True
            return CommandError(NOAUTH)
        return None

    @refuses_only(lambda spec: spec.protected_by is not None)
    def protected(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        """DEBUG and MODULE unless ``enable-debug-command``/``enable-module-command`` allow them.

        Redis 7.0's ``processCommand`` (``CMD_PROTECTED``, ``allowProtectedAction``):
        ``yes`` everyone, ``local`` loopback and Unix socket clients, ``no`` (the default)
        nobody; checked after the arity, before authentication.
        """
        setting = spec.protected_by
        if setting is None:
            return None
        allowed = self.engine.config.get(setting)
        if allowed == "yes" or (allowed == "local" and client.is_local()):
            return None
        name = spec.name.partition("|")[0].upper()
        return CommandError(
            f'ERR {name} command not allowed. If the {setting} option is set to "local", '
            "you can run it from a local connection, otherwise you need to set this option "
            "in the configuration file, and then restart the server."
        )

    def acl(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        denied = self.engine.acl.check(client.user, spec, argv)
        if denied is None:
            return None
        self.log_acl(client, denied.reason, denied.object, client.user.name)
        return CommandError(denied.message)

    @refuses_only(lambda spec: "no_multi" in spec.flags)
    def no_multi(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        if client.multi is not None and "no_multi" in spec.flags:
            return CommandError("ERR Command not allowed inside a transaction")
        return None

    def route(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        """Where Redis redirects cluster clients: the node forwards, or refuses reads."""
        node = self.engine.node
        if type(node) is Standalone:  # routes nothing
            return None
        queued = client.multi is not None and spec.name not in MULTI_IMMEDIATE
        # A script reads and writes what it likes: it sees the data (EVAL is flagged
        # neither readonly nor write), so it is routed as a read at least.
        data = writes or reads or spec.name in SCRIPT_RUNNERS
        if not data and spec.name == "exec" and client.multi:
            data = any(cast(CommandSpec, s).name in SCRIPT_RUNNERS for s, _ in client.multi)
        return node.route(client, spec, writes, data, queued)

    def oom(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        engine = self.engine
        ks = engine.keyspace
        if not ks.maxmemory or engine.busy is not None:  # (a busy script's keyspace: no eviction)
            return None
        if not ks.clock_held_until_ns:  # (in a batch, the batch's clock)
            ks.update_clock()
        ks.evict()
        if ks.events:
            with engine.tracking.outside_command():  # evicted before the command runs
                engine.flush_store_events()
        if ks.paused or not ks.over_maxmemory():
            return None
        name = spec.name
        denyoom = spec.is_denyoom
        queue = client.multi
        if queue is not None:
            if name == "exec":
                denyoom = any(cast(CommandSpec, s).is_denyoom for s, _ in queue)
            elif name not in ("discard", "quit", "reset"):
                denyoom = True  # queueing may use unlimited memory: refused too
        return CommandError(OOM) if denyoom else None

    @refuses_only(lambda spec: spec.is_write or spec.name == "ping")
    def misconf(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        """Writes (and PING) refused after a failed BGSAVE or AOF write
        (writeCommandsDeniedByDiskError)."""
        if not (writes or spec.name == "ping"):
            return None
        engine = self.engine
        misconf = engine.persistence.write_refusal() or engine.aof.write_refusal()
        return CommandError(misconf) if misconf is not None else None

    @refuses_only(lambda spec: not spec.allowed_while_loading)
    def loading(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        """LOADING while the node loads its data (commands without the ``loading`` flag;
        EXEC: unless all its queued commands have it)."""
        if not self.engine.persistence.progress.active:
            return None
        allowed = spec.allowed_while_loading
        queue = client.multi
        if spec.name == "exec" and queue is not None:
            allowed = all(cast(CommandSpec, queued).allowed_while_loading for queued, _ in queue)
        return None if allowed else CommandError(LOADING)

    def replication(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        """NOREPLICAS, READONLY (replica or deposed leader), MASTERDOWN, LOADING."""
        engine = self.engine
        gate = engine.command_gate
        if gate is not None:
            return gate(client, spec, writes)
        if writes and engine.read_only:
            return CommandError(READONLY)
        return None

    @refuses_only(lambda spec: spec.name.partition("|")[0] not in PUBSUB_ALLOWED)
    def pubsub(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        if (
            client.resp == 2
            and (client.subscriptions or client.patterns)
            and spec.name.partition("|")[0] not in PUBSUB_ALLOWED
        ):
            return CommandError(
                f"ERR Can't execute '{spec.name}': only (P|S)SUBSCRIBE / "
                "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            )
        return None

    def busy(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        """A script runs past busy-reply-threshold: only ``allow_busy`` commands run."""
        busy = self.engine.busy
        if busy is None or "allow_busy" in spec.flags:
            return None
        return busy

    def hold(
        self, client: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> Refusal | None:
        """Where Redis postpones paused clients: a handoff, then CLIENT PAUSE."""
        if client.is_replica:
            return None  # replicas are never paused
        engine = self.engine
        node = engine.node
        standalone = type(node) is Standalone  # (which holds nothing)
        if standalone and not engine.pause.type:
            return None
        # A script (EVAL, FCALL: ``may_replicate``, not ``write``) is held like a write:
        # it may write, and nothing may enter the stream during a handoff or a pause.
        may_replicate = writes or "may_replicate" in spec.flags
        if may_replicate and not writes and spec.name in COMMAND_FLAGS_BY_ARGS:
            # getCommandFlags: a script with declared flags replicates only if it writes.
            may_replicate = COMMAND_FLAGS_BY_ARGS[spec.name](engine, argv)
        if not may_replicate and client.multi is not None and spec.name == "exec":
            may_replicate = any(
                "may_replicate" in cast(CommandSpec, s).flags for s, _ in client.multi
            )
        if not standalone:
            hold = node.hold(client, spec, may_replicate, may_replicate or reads)
            if hold is not None:
                return hold
        if engine.pause.type:
            return engine.pause.hold(may_replicate)
        return None

    def log_acl(
        self, client: Client, reason: str, obj: str, username: str, context: str | None = None
    ) -> None:
        """Record a denial (or a failed AUTH) in ACL LOG, with the client's CLIENT LIST line."""
        from respcache.commands.connection import client_info_line

        entry = AclLogEntry(
            count=1,
            reason=reason,
            context=context or ("multi" if client.multi is not None else "toplevel"),
            object=obj,
            username=username,
            ctime_ms=int(time.time() * 1000),
            client_info=client_info_line(client),
        )
        engine = self.engine
        engine.acl.log.record(entry, engine.config.acllog_max_len)
