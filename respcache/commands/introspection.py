"""COMMAND and its subcommands: the command table, generated from the registry.

Everything comes from the :class:`~respcache.commands.registry.CommandSpec` of each
command (name, arity, flags, keys, group, summary, since, complexity, ACL
categories). What the registry does not hold — arguments, history and doc flags for
``COMMAND DOCS`` (redis-cli's hints read them), command tips and key specs for
``COMMAND INFO`` — is merged from ``docs_data.json``, recorded from a real
redis-server by ``bin/gen-docs-data``, for the commands respcache implements. Key
specs are taken from there only when they agree with the registry's first/last/step;
otherwise a single range spec is derived from the registry.

COMMAND GETKEYS and GETKEYSANDFLAGS walk the key specs (:mod:`respcache.commands.keyspecs`).
Difference from Redis: commands are listed sorted by name (Redis lists them in hash
table order).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final, TypeVar

from respcache.commands.client import Client
from respcache.commands.keyspecs import (  # noqa: F401  (re-exported)
    GETKEYS_PROCS,
    KeyRef,
    command_keys,
    has_keys,
    key_specs,
    keys_with_specs,
)
from respcache.commands.recorded import DOCS_DATA, docs_data  # noqa: F401
from respcache.commands.recorded import recorded as _recorded
from respcache.commands.registry import REGISTRY, CommandSpec, all_specs, command
from respcache.errors import SYNTAX, CommandError
from respcache.protocol.types import Reply

T = TypeVar("T")

# Redis's order of command flags in COMMAND INFO (may_replicate, sentinel and
# only_sentinel are hidden by Redis, so they are here).
FLAG_ORDER: Final = (
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
    "no_mandatory_keys",
    "no_async_loading",
    "no_multi",
    "movablekeys",
    "allow_busy",
)

# Redis's ACL categories, in its order (ACL CAT).
ACL_CATEGORIES: Final = (
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
)


class OrderedSet(frozenset[T]):
    """A RESP3 set (``~``) whose elements are written in a fixed order.

    The encoder writes any ``frozenset`` as a set; this one iterates in insertion
    order, so replies are byte for byte stable (flags in Redis's order). Redis 7.0 also
    sends key specs and subcommands as sets of maps and arrays: members that cannot be
    hashed are kept as they are, in order (and compared as a sequence).
    """

    __slots__ = ("_items", "_sequence")

    _items: tuple[T, ...]
    _sequence: bool

    def __new__(cls, items: Iterable[T] = ()) -> OrderedSet[T]:
        members = list(items)
        try:
            order = tuple(dict.fromkeys(members))
            self = super().__new__(cls, order)
            self._sequence = False
        except TypeError:  # maps or arrays: a set only on the wire
            order = tuple(members)
            self = super().__new__(cls)
            self._sequence = True
        self._items = order
        return self

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OrderedSet) and (self._sequence or other._sequence):
            return self._items == other._items
        return frozenset.__eq__(self, other)

    def __hash__(self) -> int:
        return hash(self._items) if self._sequence else frozenset.__hash__(self)

    def __repr__(self) -> str:
        return f"OrderedSet({list(self._items)!r})"


def help_reply(name: str, lines: Iterable[str]) -> Reply:
    """A ``<COMMAND> HELP`` reply: Redis's header, the lines, and the HELP entry."""
    return [
        f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        *lines,
        "HELP",
        "    Prints this help.",
    ]


# --- the recorded Redis data -----------------------------------------------------------


def _to_reply(value: Any, key: str | None = None) -> Reply:
    """Recorded JSON back to the reply types Redis used (flags are simple strings in sets)."""
    if isinstance(value, dict):
        return {k.encode(): _to_reply(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in ("flags", "doc_flags"):
            return OrderedSet(str(v) for v in value)
        if key == "history":
            return OrderedSet(tuple(_to_reply(v) for v in entry) for entry in value)
        if key == "tips":
            return OrderedSet(str(v).encode() for v in value)
        return [_to_reply(v) for v in value]
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool | int):
        return int(value)
    if value is None:
        return None
    raise TypeError(f"unexpected value in docs data: {value!r}")


# --- COMMAND INFO -------------------------------------------------------------------------


def acl_categories(spec: CommandSpec) -> list[str]:
    """The spec's categories plus those Redis implies from its flags, in Redis's order."""
    explicit = {cat.lstrip("@").lower() for cat in spec.acl_categories}
    flags = spec.flags
    if "write" in flags:
        explicit.add("write")
    if "readonly" in flags and "scripting" not in explicit:
        explicit.add("read")
    if "admin" in flags:
        explicit.update(("admin", "dangerous"))
    if "pubsub" in flags:
        explicit.add("pubsub")
    if "fast" in flags:
        explicit.add("fast")
    if "blocking" in flags:
        explicit.add("blocking")
    if "fast" not in explicit:
        explicit.add("slow")
    return [cat for cat in ACL_CATEGORIES if cat in explicit]


def command_info(spec: CommandSpec) -> Reply:
    """One command's COMMAND INFO entry (Redis 7.0's ten fields)."""
    recorded = _recorded(spec, "info")
    tips = recorded["tips"] if recorded is not None else []
    return [
        spec.name.encode(),
        spec.arity,
        OrderedSet(flag for flag in FLAG_ORDER if flag in spec.flags),
        spec.first_key,
        spec.last_key,
        spec.step,
        OrderedSet("@" + cat for cat in acl_categories(spec)),
        _to_reply(tips, "tips"),
        OrderedSet(_to_reply(ks) for ks in key_specs(spec)),
        OrderedSet(command_info(sub) for sub in _subcommands(spec)),
    ]


def _subcommands(spec: CommandSpec) -> list[CommandSpec]:
    return [spec.subcommands[name] for name in sorted(spec.subcommands)]


def find_spec(name: bytes) -> CommandSpec | None:
    """A command or subcommand by name (``get``, ``config|get``), any case."""
    try:
        text = name.decode("ascii").lower()
    except UnicodeDecodeError:
        return None
    parent, _, sub = text.partition("|")
    spec = REGISTRY.get(parent)
    if spec is None or not sub:
        return spec
    return spec.subcommands.get(sub)


# --- COMMAND DOCS -------------------------------------------------------------------------


def command_docs(spec: CommandSpec) -> dict[Reply, Reply]:
    """One command's COMMAND DOCS map: the registry's facts merged into Redis's docs."""
    recorded = _recorded(spec, "docs") or {}
    is_container = spec.handler is None
    # An implicit container's own summary is a placeholder: Redis's recorded one wins.
    summary = (recorded.get("summary") if is_container else None) or spec.summary
    since = spec.since
    if is_container and "since" in recorded:
        since = recorded["since"]  # an implicit container has no since of its own
    complexity = spec.complexity or recorded.get("complexity", "")
    doc: dict[Reply, Reply] = {}
    if summary:
        doc[b"summary"] = summary.encode()
    if since:
        doc[b"since"] = since.encode()
    doc[b"group"] = spec.group.encode()
    if complexity:
        doc[b"complexity"] = complexity.encode()
    for key in ("doc_flags", "deprecated_since", "replaced_by", "history", "arguments"):
        if key in recorded:
            doc[key.encode()] = _to_reply(recorded[key], key)
    if spec.subcommands:
        doc[b"subcommands"] = {sub.name.encode(): command_docs(sub) for sub in _subcommands(spec)}
    return doc


# --- the COMMAND command --------------------------------------------------------------------

COMMAND_HELP: Final = (
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
)

_FLAGS = "loading stale"
_ACL = "@slow @connection"


@command(
    "command",
    arity=-1,
    flags=_FLAGS,
    group="server",
    summary="Get array of Redis command details",
    since="2.8.13",
    complexity="O(N) where N is the total number of Redis commands",
    acl=_ACL,
)
def command_(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 1:
        raise CommandError(
            f"ERR unknown subcommand '{argv[1].decode('utf-8', 'surrogateescape')}'. "
            "Try COMMAND HELP."
        )
    return [command_info(spec) for spec in all_specs()]


@command(
    "command|count",
    arity=2,
    flags=_FLAGS,
    group="server",
    summary="Get total number of Redis commands",
    since="2.8.13",
    complexity="O(1)",
    acl=_ACL,
)
def command_count(c: Client, argv: list[bytes]) -> Reply:
    return len(REGISTRY)


@command(
    "command|info",
    arity=-2,
    flags=_FLAGS,
    group="server",
    summary="Get array of specific Redis command details, or all when no argument is given.",
    since="2.8.13",
    complexity="O(N) where N is the number of commands to look up",
    acl=_ACL,
)
def command_info_(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        return [command_info(spec) for spec in all_specs()]
    out: list[Reply] = []
    for name in argv[2:]:
        spec = find_spec(name)
        out.append(command_info(spec) if spec is not None else None)
    return out


@command(
    "command|docs",
    arity=-2,
    flags=_FLAGS,
    group="server",
    summary="Get array of specific Redis command documentation",
    since="7.0.0",
    complexity="O(N) where N is the number of commands to look up",
    acl=_ACL,
)
def command_docs_(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        return {spec.name.encode(): command_docs(spec) for spec in all_specs()}
    out: dict[Reply, Reply] = {}
    for name in argv[2:]:
        spec = find_spec(name)
        if spec is not None:
            out[spec.name.encode()] = command_docs(spec)
    return out


def _all_names() -> Iterator[CommandSpec]:
    for spec in all_specs():
        yield spec
        yield from _subcommands(spec)


@command(
    "command|list",
    arity=-2,
    flags=_FLAGS,
    group="server",
    summary="Get an array of Redis command names",
    since="7.0.0",
    complexity="O(N) where N is the total number of Redis commands",
    acl=_ACL,
)
def command_list(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        return [spec.name.encode() for spec in _all_names()]
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        raise CommandError(SYNTAX)
    kind, value = argv[3].lower(), argv[4]
    if kind == b"module":
        return []
    if kind == b"aclcat":
        category = value.decode("utf-8", "replace").lower()
        return [spec.name.encode() for spec in _all_names() if category in acl_categories(spec)]
    if kind == b"pattern":
        from respcache.config import stringmatch

        pattern = value.decode("utf-8", "surrogateescape")
        return [
            spec.name.encode()
            for spec in _all_names()
            if stringmatch(pattern, spec.name, nocase=True)
        ]
    raise CommandError(SYNTAX)


_ACL_READ: Final = 1  # respcache.security.acl.READ / WRITE
_ACL_WRITE: Final = 2


def acl_key_access(spec: CommandSpec, argv: list[bytes]) -> list[tuple[int, int]]:
    """The permission each key needs (``ACLSelectorCheckKey``): ``%R~`` for a key spec's
    ``access`` flag, ``%W~`` for ``insert``/``delete``/``update``, none for neither.

    Keys come from :func:`~respcache.commands.keyspecs.command_keys`, the one key finder
    COMMAND GETKEYS and client tracking use too; where the arguments do not fit the key
    specs, the registry's key positions are judged by the command's write flag.
    """
    found = command_keys(spec, argv)
    if not found:
        needs = _ACL_WRITE if spec.is_write else _ACL_READ
        return [(i, needs) for i in spec.key_positions(argv)]
    out: list[tuple[int, int]] = []
    for pos, flags in found:
        needs = _ACL_READ if "access" in flags else 0
        if "insert" in flags or "delete" in flags or "update" in flags:
            needs |= _ACL_WRITE
        out.append((pos, needs))
    return out


def _getkeys(argv: list[bytes]) -> list[KeyRef]:
    """Redis's ``getKeysSubcommandImpl``: the keys of the command line after GETKEYS."""
    target = argv[2:]
    spec = REGISTRY.get(target[0].decode("utf-8", "replace").lower())
    if spec is not None and spec.subcommands and len(target) >= 2:
        spec = spec.subcommands.get(target[1].decode("utf-8", "replace").lower())
    if spec is None:
        raise CommandError("ERR Invalid command specified")
    if not has_keys(spec):
        raise CommandError("ERR The command has no key arguments")
    n = len(target)
    if (spec.arity > 0 and spec.arity != n) or n < -spec.arity:
        raise CommandError("ERR Invalid number of arguments specified for command")
    found = command_keys(spec, target)
    if not found and "no_mandatory_keys" not in spec.flags:
        raise CommandError("ERR Invalid arguments specified for command")
    return [(pos + 2, flags) for pos, flags in found]


@command(
    "command|getkeys",
    arity=-4,
    flags=_FLAGS,
    group="server",
    summary="Extract keys given a full Redis command",
    since="2.8.13",
    complexity="O(N) where N is the number of arguments to the command",
    acl=_ACL,
)
def command_getkeys(c: Client, argv: list[bytes]) -> Reply:
    return [argv[pos] for pos, _ in _getkeys(argv)]


@command(
    "command|getkeysandflags",
    arity=-4,
    flags=_FLAGS,
    group="server",
    summary="Extract keys and access flags given a full Redis command",
    since="7.0.0",
    complexity="O(N) where N is the number of arguments to the command",
    acl=_ACL,
)
def command_getkeysandflags(c: Client, argv: list[bytes]) -> Reply:
    return [[argv[pos], OrderedSet(flags)] for pos, flags in _getkeys(argv)]


@command(
    "command|help",
    arity=2,
    flags=_FLAGS,
    group="server",
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
    acl=_ACL,
)
def command_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("COMMAND", COMMAND_HELP)


# --- docs/commands.md -----------------------------------------------------------------------

MARKDOWN_BEGIN: Final = "<!-- BEGIN GENERATED by bin/gen-commands-doc: do not edit by hand -->"
MARKDOWN_END: Final = "<!-- END GENERATED -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def commands_markdown() -> str:
    """The generated part of docs/commands.md: one table row per command and subcommand."""
    rows = [
        MARKDOWN_BEGIN,
        "",
        f"{len(REGISTRY)} commands, {sum(len(s.subcommands) for s in all_specs())} subcommands.",
        "",
        "| Command | Group | Arity | Flags | Since | Summary |",
        "|---|---|---|---|---|---|",
    ]
    for spec in _all_names():
        name = spec.name.upper().replace("|", " ")
        flags = " ".join(flag for flag in FLAG_ORDER if flag in spec.flags)
        docs = command_docs(spec)
        summary = bytes(docs.get(b"summary", b"")).decode()  # type: ignore[arg-type]
        since = bytes(docs.get(b"since", b"")).decode()  # type: ignore[arg-type]
        rows.append(
            f"| `{name}` | {spec.group} | {spec.arity} | {flags} | {since} | {_cell(summary)} |"
        )
    rows += ["", MARKDOWN_END]
    return "\n".join(rows) + "\n"


def render_commands_doc(current: str) -> str:
    """``current`` (docs/commands.md) with its generated part replaced; text around it stays."""
    generated = commands_markdown()
    start = current.find(MARKDOWN_BEGIN)
    end = current.find(MARKDOWN_END)
    if start < 0 or end < start:
        return current.rstrip("\n") + ("\n\n" if current.strip() else "") + generated
    return current[:start] + generated + current[end + len(MARKDOWN_END) + 1 :]
