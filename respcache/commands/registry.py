"""The command table: one frozen :class:`CommandSpec` per command, registered by decorator.

Everything generic about a command is data here, as in Redis's
``src/commands/*.json``: the dispatcher checks arity, authentication, the
read-only gate on replicas and the OOM gate from it, and ``COMMAND`` /
``COMMAND DOCS`` answer from it. Handlers hold only the command's semantics::

    @command("get", arity=2, flags="readonly fast", keys=(1, 1, 1), group="string")
    def get(c: Client, argv: list[bytes]) -> Reply: ...

Subcommands are registered as ``"config|get"``; the container command
(``config``) is created on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.protocol.types import Reply

Handler = Callable[["Client", list[bytes]], "Reply | Any"]

KNOWN_FLAGS: Final = frozenset(
    {
        "write",
        "readonly",
        "denyoom",
        "module",
        "admin",
        "pubsub",
        "noscript",
        "blocking",
        "loading",
        "stale",
        "skip_monitor",
        "skip_slowlog",
        "asking",
        "fast",
        "no_auth",
        "may_replicate",
        "sentinel",
        "only_sentinel",
        "no_mandatory_keys",
        "no_async_loading",
        "no_multi",
        "movablekeys",
        "allow_busy",
    }
)

GROUPS: Final = frozenset(
    {
        "bitmap",
        "cluster",
        "connection",
        "generic",
        "geo",
        "hash",
        "hyperloglog",
        "list",
        "pubsub",
        "scripting",
        "sentinel",
        "server",
        "set",
        "sorted-set",
        "stream",
        "string",
        "transactions",
    }
)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """Everything generic about one command (or subcommand, named ``parent|sub``)."""

    name: str
    handler: Handler | None
    arity: int
    flags: frozenset[str]
    first_key: int = 0
    last_key: int = 0
    step: int = 0
    group: str = "generic"
    summary: str = ""
    since: str = "1.0.0"
    complexity: str = ""
    acl_categories: tuple[str, ...] = ()
    subcommands: dict[str, CommandSpec] = field(default_factory=dict, compare=False)
    # Derived once, for the hot path.
    is_write: bool = False
    is_denyoom: bool = False
    allowed_while_loading: bool = False
    no_auth: bool = False
    protected_by: str | None = None
    """The setting that must allow this command (Redis's ``CMD_PROTECTED``): DEBUG, MODULE."""

    def key_positions(self, argv: list[bytes]) -> list[int]:
        """Indices of the key arguments (for COMMAND GETKEYS, WATCH-like bookkeeping)."""
        if self.first_key <= 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
        last = min(last, len(argv) - 1)
        return list(range(self.first_key, last + 1, max(1, self.step)))


REGISTRY: dict[str, CommandSpec] = {}
"""Top-level commands by lower-case name."""

PROTECTED_COMMANDS: Final = {
    "debug": "enable-debug-command",
    "module|load": "enable-module-command",
    "module|loadex": "enable-module-command",
    "module|unload": "enable-module-command",
}
"""Commands refused unless a setting allows them: Redis 7.0's ``PROTECTED`` flag
(``src/commands/*.json``; DEBUG's own subcommands, like DIGEST, are DEBUG's)."""


def _protected_by(name: str) -> str | None:
    return PROTECTED_COMMANDS.get(name) or PROTECTED_COMMANDS.get(
        name.partition("|")[0] if name.startswith("debug|") else ""
    )


def command(
    name: str,
    *,
    arity: int,
    flags: str = "",
    keys: tuple[int, int, int] = (0, 0, 0),
    group: str = "generic",
    summary: str = "",
    since: str = "1.0.0",
    complexity: str = "",
    acl: str = "",
) -> Callable[[Handler], Handler]:
    """Register a handler under ``name`` (``"parent|sub"`` for a subcommand)."""
    flag_set = frozenset(flags.split())
    unknown = flag_set - KNOWN_FLAGS
    if unknown:
        raise ValueError(f"{name}: unknown flags {sorted(unknown)}")
    if group not in GROUPS:
        raise ValueError(f"{name}: unknown group {group!r}")

    def register(handler: Handler) -> Handler:
        spec = CommandSpec(
            name=name,
            handler=handler,
            arity=arity,
            flags=flag_set,
            first_key=keys[0],
            last_key=keys[1],
            step=keys[2],
            group=group,
            summary=summary or (handler.__doc__ or "").strip().split("\n")[0],
            since=since,
            complexity=complexity,
            acl_categories=tuple(acl.split()),
            is_write="write" in flag_set,
            is_denyoom="denyoom" in flag_set,
            allowed_while_loading="loading" in flag_set,
            no_auth="no_auth" in flag_set,
            protected_by=_protected_by(name),
        )
        parent, _, sub = name.partition("|")
        if sub:
            container = REGISTRY.get(parent)
            if container is None:
                container = REGISTRY[parent] = CommandSpec(
                    name=parent,
                    handler=None,
                    arity=-2,
                    flags=frozenset(),
                    group=group,
                    summary=f"A container for {parent.upper()} subcommands",
                    since=since,
                    protected_by=_protected_by(parent),
                )
            if sub in container.subcommands:
                raise ValueError(f"command {name} registered twice")
            container.subcommands[sub] = spec
        else:
            existing = REGISTRY.get(name)
            if existing is not None:
                if existing.handler is not None or not existing.subcommands:
                    raise ValueError(f"command {name} registered twice")
                # A container registered explicitly after its subcommands (for docs).
                REGISTRY[name] = CommandSpec(
                    **{
                        **{f: getattr(spec, f) for f in spec.__dataclass_fields__},
                        "subcommands": existing.subcommands,
                    }
                )
            else:
                REGISTRY[name] = spec
        return handler

    return register


def lookup(argv: list[bytes]) -> CommandSpec | None:
    """The spec for a command line, descending into subcommands; None if unknown."""
    try:
        name = argv[0].decode("ascii").lower()
    except UnicodeDecodeError:
        return None
    spec = REGISTRY.get(name)
    if spec is None or not spec.subcommands or len(argv) < 2:
        return spec
    try:
        sub = argv[1].decode("ascii").lower()
    except UnicodeDecodeError:
        return spec
    return spec.subcommands.get(sub, spec)


def all_specs() -> list[CommandSpec]:
    """Every top-level command, sorted by name."""
    return [REGISTRY[name] for name in sorted(REGISTRY)]
