"""ACL users and their rules, as Redis 7.0's ``acl.c``, without I/O and without the server.

This is the rule model only: a :class:`User` holds its flags, passwords (SHA-256 hex,
as Redis keeps them) and one root :class:`Selector` (commands, key patterns, channel
patterns); :meth:`User.apply` takes one ``ACL SETUSER`` rule at a time exactly as
``ACLSetUser``/``ACLSetSelector`` do and raises :class:`AclRuleError` with Redis's
reason (``ACLSetUserStringError``). The command table is passed in (anything with
``name``, ``acl_categories`` and ``subcommands``, which :class:`CommandSpec` has), so
this module imports nothing of the server and is tested on its own.

Commands are a set of allowed full names (``get``, ``config|get``) plus Redis's
"future commands" bit (``+@all``/``allcommands``), plus first arguments allowed for a
command without subcommands (``+select|0``): the same information as Redis's
per-selector bitmap.

:class:`AccessControl` holds the users and makes the permission check, one call the
engine makes right after authentication (``Engine.execute``) and that a script's
``redis.call`` should make the same way: ``acl.check(client.user, spec, argv)``.

Selectors (``(...)``, ``clearselectors``) are more :class:`Selector` objects on a user,
tried after the root one (``ACLCheckAllUserCommandPerm``: the first that allows the
command wins; otherwise the "most relevant" denial is reported). Key permissions follow
the command's key specs (``%R~`` needs the spec's ``access`` flag, ``%W~`` its insert,
delete or update flags) when the engine passes a key walk (``key_access``); without it a
key needs W for a ``write`` command, R otherwise. An ACL file (``ACL LOAD``, ``aclfile``)
is parsed by :func:`parse_acl_file` into new users, all or nothing (``ACLLoadFromFile``).

Known difference: ACL LIST orders two or more single-command rules by name, Redis by its
command dict's hash order.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple, Protocol

__all__ = [
    "AclFileError",
    "AclRuleError",
    "CommandInfo",
    "Selector",
    "User",
    "UserLineError",
    "hash_password",
]

READ: Final = 1
WRITE: Final = 2
ALL_PERMISSIONS: Final = READ | WRITE

_ERRORS: Final = {
    "ENOENT": "Unknown command or category name in ACL",
    "EINVAL": "Syntax error",
    "EEXIST": (
        "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does "
        "not have any effect. Try 'resetkeys' to start with an empty list of patterns"
    ),
    "EISDIR": (
        "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
        "does not have any effect. Try 'resetchannels' to start with an empty list of channels"
    ),
    "ENODEV": "The password you are trying to remove from the user does not exist",
    "EBADMSG": (
        "The password hash must be exactly 64 characters and contain only lowercase "
        "hexadecimal characters"
    ),
    "ECHILD": "Allowing first-arg of a subcommand is not supported",
}
_HEX: Final = frozenset("0123456789abcdef")


class UserLineError(ValueError):
    """A bad ``user`` config line: ``word`` is the rule at fault, ``str()`` the reason."""

    def __init__(self, word: str, reason: str) -> None:
        super().__init__(reason)
        self.word = word


class AclFileError(ValueError):
    """An ACL file Redis refuses as a whole: ``str()`` is ``ACL LOAD``'s error text."""


class UnmatchedSelector(ValueError):
    """``ACLMergeSelectorArguments``: a ``(`` never closed; ``index`` is where it opened."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class AclRuleError(ValueError):
    """A rule Redis refuses; ``str()`` is Redis's reason, ``code`` its errno name."""

    def __init__(self, code: str) -> None:
        super().__init__(_ERRORS[code])
        self.code = code


class CommandInfo(Protocol):
    """What the ACL needs of a command (``respcache.commands.registry.CommandSpec``)."""

    @property
    def name(self) -> str: ...
    @property
    def acl_categories(self) -> tuple[str, ...]: ...
    @property
    def subcommands(self) -> Mapping[str, CommandInfo]: ...


def hash_password(password: bytes) -> str:
    """How Redis stores a password (``ACLHashPassword``): lowercase SHA-256 hex."""
    return hashlib.sha256(password).hexdigest()


def _has_spaces(text: str) -> bool:
    return any(c.isspace() for c in text)


def _all_commands(table: Mapping[str, CommandInfo]) -> Iterable[CommandInfo]:
    for spec in table.values():
        yield spec
        yield from spec.subcommands.values()


@dataclass
class Selector:
    """Commands, keys and channels one selector allows (Redis's ``aclSelector``)."""

    allowed: set[str] = field(default_factory=set)
    future: bool = False  # the reserved command bit only +@all sets: commands added later
    first_args: dict[str, list[str]] = field(default_factory=dict)
    key_patterns: list[tuple[str, int]] = field(default_factory=list)  # (pattern, READ|WRITE)
    all_keys: bool = False
    channels: list[str] = field(default_factory=list)
    all_channels: bool = False

    def copy(self) -> Selector:
        return Selector(
            allowed=set(self.allowed),
            future=self.future,
            first_args={k: list(v) for k, v in self.first_args.items()},
            key_patterns=list(self.key_patterns),
            all_keys=self.all_keys,
            channels=list(self.channels),
            all_channels=self.all_channels,
        )

    def apply(self, op: str, table: Mapping[str, CommandInfo]) -> None:
        """One rule of ``ACLSetSelector``; raises :class:`AclRuleError`."""
        low = op.lower()
        if low in ("allkeys", "~*"):
            self.all_keys = True
            self.key_patterns.clear()
        elif low == "resetkeys":
            self.all_keys = False
            self.key_patterns.clear()
        elif low in ("allchannels", "&*"):
            self.all_channels = True
            self.channels.clear()
        elif low == "resetchannels":
            self.all_channels = False
            self.channels.clear()
        elif low in ("allcommands", "+@all"):
            self.allowed = {spec.name for spec in _all_commands(table)}
            self.future = True
            self.first_args.clear()
        elif low in ("nocommands", "-@all"):
            self.allowed.clear()
            self.future = False
            self.first_args.clear()
        elif op[:1] in ("~", "%"):
            self._add_key_pattern(op)
        elif op[:1] == "&":
            if self.all_channels:
                raise AclRuleError("EISDIR")
            if _has_spaces(op[1:]):
                raise AclRuleError("EINVAL")
            if op[1:] not in self.channels:
                self.channels.append(op[1:])
            self.all_channels = False
        elif op[:1] == "+" and op[1:2] != "@":
            self._allow_command(op[1:], table)
        elif op[:1] == "-" and op[1:2] != "@":
            spec = _lookup(op[1:], table)
            if spec is None:
                raise AclRuleError("ENOENT")
            self._change(spec, False)
        elif op[:2] in ("+@", "-@"):
            category = op[2:].lower()
            if category not in _KNOWN_CATEGORIES:
                raise AclRuleError("ENOENT")
            for spec in _all_commands(table):
                if f"@{category}" not in spec.acl_categories:
                    continue
                self._change(spec, op[0] == "+")
        else:
            raise AclRuleError("EINVAL")

    def _add_key_pattern(self, op: str) -> None:
        if self.all_keys:
            raise AclRuleError("EEXIST")
        flags = 0
        offset = 1
        if op[0] == "%":
            while offset < len(op):
                c = op[offset].upper()
                if c == "R" and not flags & READ:
                    flags |= READ
                elif c == "W" and not flags & WRITE:
                    flags |= WRITE
                elif op[offset] == "~":
                    offset += 1
                    break
                else:
                    raise AclRuleError("EINVAL")
                offset += 1
        else:
            flags = ALL_PERMISSIONS
        pattern = op[offset:]
        if _has_spaces(pattern):
            raise AclRuleError("EINVAL")
        for i, (existing, old_flags) in enumerate(self.key_patterns):
            if existing == pattern:
                self.key_patterns[i] = (existing, old_flags | flags)
                break
        else:
            self.key_patterns.append((pattern, flags))
        self.all_keys = False

    def _allow_command(self, name: str, table: Mapping[str, CommandInfo]) -> None:
        if "|" not in name:
            spec = _lookup(name, table)
            if spec is None:
                raise AclRuleError("ENOENT")
            self._change(spec, True)
            return
        parent_name, _, sub = name.rpartition("|")
        parent = _lookup(parent_name, table)
        if parent is None:
            raise AclRuleError("ENOENT")
        if "|" in parent_name:
            raise AclRuleError("ECHILD")
        if not sub:
            raise AclRuleError("EINVAL")
        if parent.subcommands:
            spec = parent.subcommands.get(sub.lower())
            if spec is None:
                raise AclRuleError("ENOENT")
            self._change(spec, True)
            return
        # A first argument of a command without subcommands (+select|0).
        if _has_spaces(sub):
            raise AclRuleError("EINVAL")
        if parent.name in self.allowed:
            return  # already allowed as a whole
        args = self.first_args.setdefault(parent.name, [])
        if sub.lower() not in (a.lower() for a in args):
            args.append(sub)

    def _change(self, spec: CommandInfo, allow: bool) -> None:
        """``ACLChangeSelectorPerm``: a command and all its subcommands; first args reset."""
        self.first_args.pop(spec.name, None)
        for one in (spec, *spec.subcommands.values()):
            if allow:
                self.allowed.add(one.name)
            else:
                self.allowed.discard(one.name)

    def can_run(self, spec: CommandInfo, first_arg: bytes | None) -> bool:
        """Whether the command (full name) may run; a first-arg rule allows only that arg."""
        return self.can_run_name(spec.name, first_arg)

    def can_run_name(self, name: str, first_arg: bytes | None) -> bool:
        if name in self.allowed:
            return True
        args = self.first_args.get(name)
        if args and first_arg is not None:
            text = first_arg.decode("utf-8", "surrogateescape").lower()
            return any(a.lower() == text for a in args)
        return False


def _lookup(name: str, table: Mapping[str, CommandInfo]) -> CommandInfo | None:
    """``ACLLookupCommand``: ``get`` or ``config|get``."""
    parent_name, _, sub = name.lower().partition("|")
    spec = table.get(parent_name)
    if spec is None or not sub:
        return spec
    return spec.subcommands.get(sub)


# Redis 7.0's ACLCommandCategories: a category with no command in respcache's table is
# still a valid name (e.g. @stream, @geo), as it is in Redis.
_KNOWN_CATEGORIES: Final = frozenset(
    [
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
    ]
)


def merge_selector_args(args: list[str]) -> list[str]:
    """``ACLMergeSelectorArguments``: a selector spread over several words is one rule.

    ``(`` starts one (unless the word also ends with ``)``), the first word ending with
    ``)`` closes it; raises :class:`UnmatchedSelector` with the opening word's index.
    """
    merged: list[str] = []
    opened = -1
    current = ""
    for j, op in enumerate(args):
        if opened < 0 and op[:1] == "(" and op[-1:] != ")":
            current, opened = op, j
            continue
        if opened >= 0:
            current += " " + op
            if op[-1:] == ")":
                merged.append(current)
                opened = -1
            continue
        merged.append(op)
    if opened >= 0:
        raise UnmatchedSelector(opened)
    return merged


def selector_from_opset(
    op: str, table: Mapping[str, CommandInfo], allchannels: bool = False
) -> Selector:
    """``aclCreateSelectorFromOpSet``: ``(rule rule ...)`` as a new selector (which, as
    every new selector, starts with ``acl-pubsub-default``'s channels)."""
    from respcache.config import split_args

    sel = Selector(all_channels=allchannels)
    for rule in split_args(op[1:-1]) or []:
        sel.apply(rule, table)
    return sel


@dataclass
class User:
    """One ACL user (``struct user``): flags, passwords, its root selector and the others."""

    name: str
    enabled: bool = False
    nopass: bool = False
    passwords: list[str] = field(default_factory=list)  # SHA-256 hex, in order added
    root: Selector = field(default_factory=Selector)
    selectors: list[Selector] = field(default_factory=list)
    """The selectors after the root one, in the order added (``(...)`` rules)."""
    sanitize: str = ""
    """``sanitize-payload``, ``skip-sanitize-payload`` or neither (a flag ACL LIST shows)."""

    def apply(
        self, op: str, table: Mapping[str, CommandInfo], *, allchannels: bool = False
    ) -> None:
        """One rule of ``ACLSetUser``; raises :class:`AclRuleError`.

        ``allchannels``: ``acl-pubsub-default`` is ``allchannels`` (what ``reset`` gives).
        """
        if not op:
            return  # Redis: an empty rule is a no-operation
        low = op.lower()
        if low == "on":
            self.enabled = True
        elif low == "off":
            self.enabled = False
        elif low == "skip-sanitize-payload" or low == "sanitize-payload":
            self.sanitize = low  # RESTORE payload sanitizing: shown, not used
        elif low == "nopass":
            self.nopass = True
            self.passwords.clear()
        elif low == "resetpass":
            self.nopass = False
            self.passwords.clear()
        elif op[:1] == ">" or op[:1] == "#":
            if op[0] == ">":
                digest = hash_password(op[1:].encode("utf-8", "surrogateescape"))
            else:
                digest = op[1:]
                if len(digest) != 64 or not set(digest) <= _HEX:
                    raise AclRuleError("EBADMSG")
            if digest not in self.passwords:
                self.passwords.append(digest)
            self.nopass = False
        elif op[:1] == "<" or op[:1] == "!":
            if op[0] == "<":
                digest = hash_password(op[1:].encode("utf-8", "surrogateescape"))
            else:
                digest = op[1:]
                if len(digest) != 64 or not set(digest) <= _HEX:
                    raise AclRuleError("EBADMSG")
            if digest not in self.passwords:
                raise AclRuleError("ENODEV")
            self.passwords.remove(digest)
        elif op[0] == "(" and op[-1] == ")":
            self.selectors.append(selector_from_opset(op, table, allchannels))
        elif low == "clearselectors":
            self.selectors.clear()
        elif low == "reset":
            for rule in ("resetpass", "resetkeys", "resetchannels"):
                self.apply(rule, table)
            if allchannels:
                self.apply("allchannels", table)
            for rule in ("off", "sanitize-payload", "clearselectors", "-@all"):
                self.apply(rule, table)
        else:
            self.root.apply(op, table)

    def all_selectors(self) -> list[Selector]:
        """The root selector, then the others (the order Redis checks them in)."""
        return [self.root, *self.selectors]

    def flag_names(self) -> list[str]:
        """ACL GETUSER's ``flags`` (``ACLUserFlags`` order)."""
        flags = ["on" if self.enabled else "off"]
        if self.nopass:
            flags.append("nopass")
        if self.sanitize:
            flags.append(self.sanitize)
        return flags

    def copy(self) -> User:
        """A deep copy: ACL SETUSER applies its rules to one and keeps it only if all pass."""
        return User(
            self.name,
            self.enabled,
            self.nopass,
            list(self.passwords),
            self.root.copy(),
            [s.copy() for s in self.selectors],
            self.sanitize,
        )

    def replace_with(self, other: User) -> None:
        """Take ``other``'s rules (connections keep pointing at this object)."""
        self.enabled, self.nopass = other.enabled, other.nopass
        self.passwords, self.root = other.passwords, other.root
        self.selectors, self.sanitize = other.selectors, other.sanitize

    def check_password(self, password: bytes) -> bool:
        """``ACLCheckUserCredentials``: enabled, and nopass or a matching hash."""
        if not self.enabled:
            return False
        return self.nopass or hash_password(password) in self.passwords


# Redis 7.0's ACLCommandCategories, in its order (the order ACL LIST tries them in).
CATEGORIES: Final = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
    "dangerous", "connection", "transaction", "scripting",
)  # fmt: skip


def describe_commands(selector: Selector, table: Mapping[str, CommandInfo]) -> str:
    """``ACLDescribeSelectorCommandRules``: ``+@all``/``-@all``, best-fit categories, commands.

    The category pass is Redis's (the category with the fewest differences and more in
    common than different, repeatedly); the final single commands come in the table's
    sorted order where Redis walks its command dict in hash order, so with two or more
    single-command rules the order may differ from redis-server's.
    """
    everything = list(_all_commands(table))
    additive = not selector.future
    rules = ["-@all" if additive else "+@all"]
    fake = Selector()
    fake.apply("-@all" if additive else "+@all", table)
    temp = set(selector.allowed)
    applied: set[str] = set()
    while True:
        best, mindiff, maxsame = None, 2**31, 0
        for category in CATEGORIES:
            if category in applied:
                continue
            members = [s.name for s in everything if f"@{category}" in s.acl_categories]
            on = sum(1 for n in members if n in temp)
            off = len(members) - on
            diff, same = (off, on) if additive else (on, off)
            if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                best, mindiff, maxsame = category, diff, same
        if best is None:
            break
        op = ("+@" if additive else "-@") + best
        fake.apply(op, table)
        inverse = Selector(allowed=temp)
        inverse.apply(("-@" if additive else "+@") + best, table)
        temp = inverse.allowed
        rules.append(op)
        applied.add(best)
    for name in sorted(table):
        for spec in (
            table[name],
            *(table[name].subcommands[s] for s in sorted(table[name].subcommands)),
        ):
            user_bit = spec.name in selector.allowed
            if user_bit != (spec.name in fake.allowed):
                rules.append(("+" if user_bit else "-") + spec.name)
                # ACLChangeSelectorPerm: a parent's rule changes its subcommands too
                for one in (spec, *spec.subcommands.values()):
                    if user_bit:
                        fake.allowed.add(one.name)
                    else:
                        fake.allowed.discard(one.name)
            if not user_bit:
                rules.extend(
                    f"+{spec.name}|{arg}" for arg in selector.first_args.get(spec.name, ())
                )
    return " ".join(rules)


def describe_keys(selector: Selector) -> str:
    """The key patterns as ACL GETUSER shows them (``~*``, ``~a %R~b %W~c``)."""
    if selector.all_keys:
        return "~*"
    prefix = {ALL_PERMISSIONS: "~", READ: "%R~", WRITE: "%W~"}
    return " ".join(prefix[flags] + pattern for pattern, flags in selector.key_patterns)


def describe_channels(selector: Selector) -> str:
    """The channel patterns as ACL GETUSER shows them (``&*``, ``&a &b``, empty)."""
    if selector.all_channels:
        return "&*"
    return " ".join("&" + c for c in selector.channels)


def describe_selector(sel: Selector, table: Mapping[str, CommandInfo]) -> str:
    """``ACLDescribeSelector``: keys, channels (``resetchannels`` first) and commands."""
    parts = []
    keys = describe_keys(sel)
    if keys:
        parts.append(keys)
    parts.append(
        "&*" if sel.all_channels else " ".join(["resetchannels", *("&" + c for c in sel.channels)])
    )
    parts.append(describe_commands(sel, table))
    return " ".join(parts)


def describe_user(u: User, table: Mapping[str, CommandInfo]) -> str:
    """``ACLDescribeUser``: an ``ACL LIST`` line without the leading ``user <name> ``."""
    parts = u.flag_names()
    parts.extend("#" + p for p in u.passwords)
    parts.append(describe_selector(u.root, table))
    parts.extend(f"({describe_selector(s, table)})" for s in u.selectors)
    return " ".join(parts)


def default_user(table: Mapping[str, CommandInfo]) -> User:
    """Redis's ``default`` user at start: ``on nopass ~* &* +@all``."""
    u = User("default")
    for rule in ("on", "nopass", "~*", "&*", "+@all"):
        u.apply(rule, table)
    return u


DENIED_COMMAND: Final = "command"
DENIED_KEY: Final = "key"
DENIED_CHANNEL: Final = "channel"


def channel_allowed(selector: Selector, channel: bytes, is_pattern: bool) -> bool:
    """``ACLCheckChannelAgainstList``: a PSUBSCRIBE pattern must equal an ACL pattern."""
    from respcache.config import stringmatch

    if selector.all_channels:
        return True
    text = channel.decode("utf-8", "surrogateescape")
    if is_pattern:
        return text in selector.channels
    return any(stringmatch(p, text) for p in selector.channels)


def key_allowed(selector: Selector, key: bytes, needs: int) -> bool:
    """A key matches a pattern whose permissions include ``needs`` (READ/WRITE)."""
    from respcache.config import stringmatch

    if selector.all_keys:
        return True
    text = key.decode("utf-8", "surrogateescape")
    return any(
        flags & needs == needs and stringmatch(p, text) for p, flags in selector.key_patterns
    )


NOPERM_COMMAND: Final = "NOPERM this user has no permissions to run the '{}' command"
NOPERM_KEY: Final = (
    "NOPERM this user has no permissions to access one of the keys used as arguments"
)
NOPERM_CHANNEL: Final = (
    "NOPERM this user has no permissions to access one of the channels used as arguments"
)
_CHANNEL_COMMANDS: Final = {"publish": (1, 2, False), "spublish": (1, 2, False)}
_SUBSCRIBE: Final = {"subscribe": False, "ssubscribe": False, "psubscribe": True}


class KeyedCommand(CommandInfo, Protocol):
    """A command whose key arguments and write flag the check needs."""

    @property
    def is_write(self) -> bool: ...
    @property
    def no_auth(self) -> bool: ...
    def key_positions(self, argv: list[bytes]) -> list[int]: ...


KeyAccess = Callable[[KeyedCommand, list[bytes]], list[tuple[int, int]]]
"""(position, READ|WRITE needed) of each key of a command line: the engine's key walk."""

DENIED_CMD: Final = 1  # Redis's ACL_DENIED_CMD < ACL_DENIED_KEY < ACL_DENIED_CHANNEL
DENIED_KEY_CODE: Final = 2
DENIED_CHANNEL_CODE: Final = 4


def flag_key_access(spec: KeyedCommand, argv: list[bytes]) -> list[tuple[int, int]]:
    """Without key specs: a key needs W for a ``write`` command, R otherwise."""
    needs = WRITE if spec.is_write else READ
    return [(i, needs) for i in spec.key_positions(argv)]


def _check_selector(
    sel: Selector,
    spec: KeyedCommand,
    name: str,
    argv: list[bytes],
    keys: Callable[[], list[tuple[int, int]]],
) -> tuple[int, int]:
    """``ACLSelectorCheckCmd``: (0, 0) if allowed, else (denial code, argument index).

    ``name`` is the command as the ACL knows it (``spec.name``, or the parent of a
    subcommand Redis does not have: see :func:`fold_table`).
    """
    if not spec.no_auth and not sel.can_run_name(name, argv[1] if len(argv) > 1 else None):
        return DENIED_CMD, 0
    if not sel.all_keys:
        for i, needs in keys():
            if not key_allowed(sel, argv[i], needs):
                return DENIED_KEY_CODE, i
    if not sel.all_channels:
        name = spec.name
        if name in _CHANNEL_COMMANDS and len(argv) > 1:
            if not channel_allowed(sel, argv[1], False):
                return DENIED_CHANNEL_CODE, 1
        elif name in _SUBSCRIBE:
            is_pattern = _SUBSCRIBE[name]
            for i in range(1, len(argv)):
                if not channel_allowed(sel, argv[i], is_pattern):
                    return DENIED_CHANNEL_CODE, i
    return 0, 0


@dataclass(frozen=True)
class _FoldedCommand:
    """A command as Redis's ACL sees it: without the subcommands Redis does not have."""

    name: str
    acl_categories: tuple[str, ...]
    subcommands: Mapping[str, CommandInfo]


def fold_table(
    table: Mapping[str, CommandInfo], known: Callable[[str], bool]
) -> tuple[dict[str, CommandInfo], dict[str, str]]:
    """The ACL's command table: subcommands Redis 7.0 does not have (respcache's DEBUG
    DIGEST, SENTINEL MASTERS, CLIENT SETINFO...) are folded into their parent, so
    ``+debug|digest`` is a first-argument rule and ``ACL LIST`` reads as Redis's.
    Returns the table and, for each folded subcommand, its parent's name."""
    out: dict[str, CommandInfo] = {}
    folded: dict[str, str] = {}
    for key, spec in table.items():
        subs = {k: v for k, v in spec.subcommands.items() if known(v.name)}
        if len(subs) == len(spec.subcommands):
            out[key] = spec
            continue
        out[key] = _FoldedCommand(spec.name, spec.acl_categories, subs)
        folded.update(
            (v.name, spec.name)
            for v in spec.subcommands.values()
            if v.name not in {s.name for s in subs.values()}
        )
    return out, folded


class AccessControl:
    """The users of one server and the permission check (``ACLCheckAllPerm``).

    :meth:`check` is the one call the engine makes after authentication, and the one a
    script's ``redis.call`` should make: ``refusal = acl.check(user, spec, argv)``.
    ``key_access`` finds a command's keys and the permission each needs (the engine
    passes one built on the key specs); the default goes by the ``write`` flag.
    """

    def __init__(
        self,
        table: Mapping[str, CommandInfo],
        requirepass: str = "",
        key_access: KeyAccess | None = None,
        known: Callable[[str], bool] | None = None,
    ) -> None:
        """``known``: whether Redis has a (sub)command of that full name (None: all)."""
        self._folded: dict[str, str] = {}
        if known is not None:
            table, self._folded = fold_table(table, known)
        self.table = table
        self.users: dict[str, User] = {}
        self.default = default_user(table)
        self.users["default"] = self.default
        self._all = {spec.name for spec in _all_commands(table)}
        self.log = AclLog()
        self._loaded: set[str] = set()
        self.key_access: KeyAccess = key_access or flag_key_access
        self.set_requirepass(requirepass)

    def load_user_line(self, words: list[str], *, allchannels: bool = False) -> None:
        """A ``user NAME RULE...`` config line (``ACLAppendUserForLoading`` + loading).

        Raises :class:`UserLineError` naming the word at fault, as redis-server reports
        ``Error in user declaration '<word>': <reason>``. A user defined twice is an error;
        ``user default ...`` redefines the default user from scratch.
        """
        name = words[1]
        if name in self._loaded:
            raise UserLineError(
                words[1], "Duplicate user found. A user can only be defined once in config files"
            )
        try:
            rules = merge_selector_args(words[2:])
        except UnmatchedSelector as unmatched:  # (one name per exception type: mypyc)
            raise UserLineError(words[unmatched.index], _ERRORS["EINVAL"]) from None
        draft = User(name, root=Selector(all_channels=allchannels))
        if name == "default":
            draft.apply("reset", self.table, allchannels=allchannels)  # ACLLoadConfiguredUsers
        for j, rule in enumerate(rules):
            try:
                draft.apply(rule, self.table, allchannels=allchannels)
            except AclRuleError as exc:
                # Redis names words[j], not the rule (its argc_err indexes the whole line).
                raise UserLineError(words[j], str(exc)) from None
        self._loaded.add(name)
        existing = self.users.get(name)
        if existing is None:
            self.users[name] = draft
        else:
            existing.replace_with(draft)

    def auth_required(self) -> bool:
        """``authRequired``: a connection not yet authenticated needs AUTH unless the
        ``default`` user is ``nopass`` and ``on`` (judged now, not at connect)."""
        return not self.default.nopass or not self.default.enabled

    def set_requirepass(self, password: str) -> None:
        """``requirepass`` is the default user's password (``resetpass`` then ``>pw``)."""
        self.default.apply("resetpass", self.table)
        self.default.apply(">" + password if password else "nopass", self.table)

    def authenticate(self, username: bytes, password: bytes) -> User | None:
        """The user if enabled and the password fits (``ACLCheckUserCredentials``)."""
        u = self.users.get(username.decode("utf-8", "surrogateescape"))
        if u is None or not u.check_password(password):
            return None
        return u

    def unrestricted(self, u: User) -> bool:
        sel = u.root
        return sel.all_keys and sel.all_channels and len(sel.allowed) >= len(self._all)

    def check(self, u: User, spec: KeyedCommand, argv: list[bytes]) -> Denial | None:
        """Why ``u`` may not run ``argv`` (``ACLCheckAllUserCommandPerm``), or None.

        Every selector is tried, the root first; the first that allows the command wins.
        Otherwise the denial reported is the most relevant one: a channel over a key over
        the command, and among equals the one at the later argument.
        """
        sel = u.root
        if sel.all_keys and sel.all_channels and spec.name in sel.allowed:
            return None  # (a folded subcommand is never in ``allowed``: no shortcut)
        cache: list[list[tuple[int, int]]] = []

        def keys() -> list[tuple[int, int]]:
            if not cache:
                cache.append(self.key_access(spec, argv))
            return cache[0]

        name = self._folded.get(spec.name, spec.name) if self._folded else spec.name
        worst, worst_at = DENIED_CMD, 0
        for one in (sel, *u.selectors):
            code, at = _check_selector(one, spec, name, argv, keys)
            if not code:
                return None
            if code > worst or (code == worst and at > worst_at):
                worst, worst_at = code, at
        if worst == DENIED_CMD:
            return Denial(NOPERM_COMMAND.format(name), "command", name)
        if worst == DENIED_KEY_CODE:
            return Denial(NOPERM_KEY, "key", _decode(argv[worst_at]))
        return Denial(NOPERM_CHANNEL, "channel", _decode(argv[worst_at]))

    def unrestricted_key_access(
        self, u: User, spec: KeyedCommand, argv: list[bytes], needs: int = READ
    ) -> bool:
        """``ACLUserCheckCmdWithUnrestrictedKeyAccess``: a selector that allows the command
        also reaches every key with ``needs`` (``allkeys``, or ``*`` with those permissions).
        SORT's BY and GET patterns need it (they name keys the command line does not)."""
        name = self._folded.get(spec.name, spec.name) if self._folded else spec.name
        cache: list[list[tuple[int, int]]] = []

        def keys() -> list[tuple[int, int]]:
            if not cache:
                cache.append(self.key_access(spec, argv))
            return cache[0]

        for sel in u.all_selectors():
            if _check_selector(sel, spec, name, argv, keys)[0]:
                continue
            if sel.all_keys or any(
                p == "*" and flags & needs == needs for p, flags in sel.key_patterns
            ):
                return True
        return False

    # --- ACL LOAD / aclfile ----------------------------------------------------------------

    def replace_users(self, users: dict[str, User]) -> list[User]:
        """Take a loaded set of users (``ACLLoadFromFile``'s success path).

        The ``default`` user object stays (connections point at it) and takes the new
        rules (Redis's default ``on nopass ~* &* +@all`` when the file has none). Returns
        the users that are gone: every other old user, whose clients Redis disconnects
        (``ACLFreeUsersSet``), even if the file defines a user of the same name.
        """
        new_default = users.pop("default", None) or default_user(self.table)
        self.default.replace_with(new_default)
        old = [u for name, u in self.users.items() if name != "default"]
        self.users = {"default": self.default, **users}
        return old


def user_state_command(u: User, table: Mapping[str, CommandInfo]) -> list[bytes]:
    """``ACL SETUSER <name> resetpass ... <rules>``: the whole state of ``u`` as one command
    (what a leader sends its followers, so they end up with exactly this user)."""
    rules = [*_RESET_ALL_BUT_FLAGS, *describe_user(u, table).split(" ")]
    enc = [r.encode("utf-8", "surrogateescape") for r in rules]
    return [b"ACL", b"SETUSER", u.name.encode("utf-8", "surrogateescape"), *enc]


# ``reset`` without its ``sanitize-payload`` (a flag the description may not have).
_RESET_ALL_BUT_FLAGS: Final = ("resetpass", "resetkeys", "resetchannels", "clearselectors", "-@all")


def state_commands(acl: AccessControl) -> list[list[bytes]]:
    """Every user as :func:`user_state_command` (a full sync sends them after the snapshot)."""
    return [user_state_command(acl.users[name], acl.table) for name in sorted(acl.users)]


def channel_list(u: User) -> list[str] | None:
    """Every channel pattern of every selector of ``u``; None if one allows all channels."""
    if any(s.all_channels for s in u.all_selectors()):
        return None
    return [c for s in u.all_selectors() for c in s.channels]


def pubsub_may_lose(new: User, original: User) -> list[str] | None:
    """``ACLKillPubsubClientsIfNeeded``'s shortcuts: None if no subscriber can lose a channel.

    Otherwise the new user's channel patterns, against which each subscription of the
    original user's pub/sub clients is checked (:func:`channel_in_list`).
    """
    upcoming = channel_list(new)
    if upcoming is None:
        return None
    for s in original.all_selectors():
        if s.all_channels:
            return upcoming
        if any(c not in upcoming for c in s.channels):
            return upcoming
    return None


def channel_in_list(patterns: list[str], channel: bytes, is_pattern: bool) -> bool:
    """``ACLCheckChannelAgainstList``: a pattern subscription must be listed literally."""
    from respcache.config import stringmatch

    text = channel.decode("utf-8", "surrogateescape")
    if is_pattern:
        return text in patterns
    return any(stringmatch(p, text) for p in patterns)


def parse_acl_file(
    text: str, filename: str, table: Mapping[str, CommandInfo], *, allchannels: bool = False
) -> dict[str, User]:
    """``ACLLoadFromFile``'s parse: the users of an ACL file, or :class:`AclFileError`.

    Every line is checked and every problem collected into one line of text, as Redis
    reports them; with any problem nothing is loaded.
    """
    errors: list[str] = []
    users: dict[str, User] = {}
    for i, raw in enumerate(text.split("\n")):
        linenum = i + 1
        line = raw.strip(" \t\r\n")
        if not line:
            continue
        argv = line.split(" ")
        if argv[0] != "user" or len(argv) < 2:
            errors.append(
                f"{filename}:{linenum} should start with user keyword followed by the username. "
            )
            continue
        name = argv[1]
        if _has_spaces(name) or "\0" in name:
            errors.append(f"'{filename}:{linenum}: username '{name}' contains invalid characters. ")
            continue
        if name in users:
            errors.append(f"WARNING: Duplicate user '{name}' found on line {linenum}. ")
            continue
        u = users[name] = User(name, root=Selector(all_channels=allchannels))
        try:
            rules = merge_selector_args(argv[2:])
        except UnmatchedSelector:
            errors.append(f"{filename}:{linenum}: Unmatched parenthesis in selector definition.")
            continue
        syntax_error = False
        for rule in rules:
            rule = rule.strip("\t\r\n")
            try:
                u.apply(rule, table, allchannels=allchannels)
            except AclRuleError as exc:
                if exc.code == "ENOENT":
                    errors.append(
                        f"{filename}:{linenum}: Error in applying operation '{rule}': {exc}. "
                    )
                elif not syntax_error:
                    errors.append(f"{filename}:{linenum}: {exc}. ")
                    syntax_error = True
    if errors:
        errors.append(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was "
            "performed"
        )
        raise AclFileError("".join(errors))
    return users


def acl_file_path(aclfile: str, directory: str) -> str:
    """Where ``aclfile`` is: relative to ``dir``, as in Redis (which chdirs to ``dir``)."""
    return os.path.join(directory, aclfile) if aclfile else ""


def read_acl_file(
    filename: str,
    table: Mapping[str, CommandInfo],
    *,
    allchannels: bool = False,
    shown: str | None = None,
) -> dict[str, User]:
    """Read and parse an ACL file; :class:`AclFileError` as Redis words an unreadable one.

    ``shown``: the name the error texts use (the ``aclfile`` setting as given).
    """
    name = filename if shown is None else shown
    try:
        with open(filename, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise AclFileError(f"Error loading ACLs, opening file '{name}': {reason}") from None
    return parse_acl_file(text, name, table, allchannels=allchannels)


def acl_file_text(acl: AccessControl) -> str:
    """What ``ACL SAVE`` writes: one ``user`` line per user, sorted by name (``ACLSaveToFile``)."""
    return "".join(
        f"user {name} {describe_user(acl.users[name], acl.table)}\n" for name in sorted(acl.users)
    )


def write_acl_file(filename: str, text: str) -> bool:
    """Write ``text`` atomically (a temporary file renamed over ``filename``); False on error."""
    import time

    tmp = f"{filename}.tmp-{os.getpid()}-{int(time.time() * 1000)}"
    try:
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        os.replace(tmp, filename)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True


def _decode(arg: bytes) -> str:
    return arg.decode("utf-8", "surrogateescape")


class Denial(NamedTuple):
    """Why a command was refused: the NOPERM text, and what ACL LOG records."""

    message: str
    reason: str  # command | key | channel
    object: str  # the command's full name, the key or the channel


@dataclass
class AclLogEntry:
    """One ACL LOG entry (``ACLLogEntry``): similar events within 60 s are one entry."""

    count: int
    reason: str  # command | key | channel | auth
    context: str  # toplevel | multi | lua
    object: str
    username: str
    ctime_ms: int
    client_info: str


LOG_GROUPING_MS: Final = 60_000  # ACL_LOG_GROUPING_MAX_TIME_DELTA


class AclLog:
    """Redis's ACL LOG: newest first, at most ``acllog-max-len`` entries."""

    def __init__(self) -> None:
        self.entries: list[AclLogEntry] = []

    def record(self, entry: AclLogEntry, max_len: int) -> None:
        """``addACLLogEntry``: merge with one of the 10 newest alike entries, else add."""
        for i, current in enumerate(self.entries[:10]):
            if (
                current.reason == entry.reason
                and current.context == entry.context
                and abs(current.ctime_ms - entry.ctime_ms) <= LOG_GROUPING_MS
                and current.object == entry.object
                and current.username == entry.username
            ):
                del self.entries[i]
                current.client_info = entry.client_info
                current.ctime_ms = entry.ctime_ms
                current.count += 1
                self.entries.insert(0, current)
                return
        self.entries.insert(0, entry)
        del self.entries[max_len:]
