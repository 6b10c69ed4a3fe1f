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

NOT YET (issue 14, left for the next session): selectors ``(...)``/``clearselectors``
(refused), ACL LOG/DRYRUN/SAVE/LOAD/HELP, aclfile and ``user`` config lines, ACL changes
on the replication stream, masteruser, the re-check of queued commands at EXEC, killing
pub/sub clients whose channels shrink, per-key-spec read/write flags (a key needs W for a
``write`` command, R otherwise). ACL LIST orders two or more single-command rules by
name, Redis by its command dict's hash order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple, Protocol

__all__ = [
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
        if spec.name in self.allowed:
            return True
        args = self.first_args.get(spec.name)
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


@dataclass
class User:
    """One ACL user (``struct user``): flags, passwords and its root selector."""

    name: str
    enabled: bool = False
    nopass: bool = False
    passwords: list[str] = field(default_factory=list)  # SHA-256 hex, in order added
    root: Selector = field(default_factory=Selector)

    def apply(self, op: str, table: Mapping[str, CommandInfo]) -> None:
        """One rule of ``ACLSetUser``; raises :class:`AclRuleError`."""
        low = op.lower()
        if low == "on":
            self.enabled = True
        elif low == "off":
            self.enabled = False
        elif low == "skip-sanitize-payload" or low == "sanitize-payload":
            pass  # RESTORE payload sanitizing: respcache has no RESTORE
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
        elif low == "reset":
            for rule in ("resetpass", "resetkeys", "resetchannels", "off", "-@all"):
                self.apply(rule, table)
        else:
            self.root.apply(op, table)

    def copy(self) -> User:
        """A deep copy: ACL SETUSER applies its rules to one and keeps it only if all pass."""
        sel = self.root
        root = Selector(
            allowed=set(sel.allowed),
            future=sel.future,
            first_args={k: list(v) for k, v in sel.first_args.items()},
            key_patterns=list(sel.key_patterns),
            all_keys=sel.all_keys,
            channels=list(sel.channels),
            all_channels=sel.all_channels,
        )
        return User(self.name, self.enabled, self.nopass, list(self.passwords), root)

    def replace_with(self, other: User) -> None:
        """Take ``other``'s rules (connections keep pointing at this object)."""
        self.enabled, self.nopass = other.enabled, other.nopass
        self.passwords, self.root = other.passwords, other.root

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
                if user_bit:
                    fake.allowed.add(spec.name)
                else:
                    fake.allowed.discard(spec.name)
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


def describe_user(u: User, table: Mapping[str, CommandInfo]) -> str:
    """``ACLDescribeUser``: an ``ACL LIST`` line without the leading ``user <name> ``."""
    parts = ["on" if u.enabled else "off"]
    if u.nopass:
        parts.append("nopass")
    parts.extend("#" + p for p in u.passwords)
    sel = u.root
    keys = describe_keys(sel)
    if keys:
        parts.append(keys)
    parts.append(
        "&*" if sel.all_channels else " ".join(["resetchannels", *("&" + c for c in sel.channels)])
    )
    parts.append(describe_commands(sel, table))
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


class AccessControl:
    """The users of one server and the permission check (``ACLCheckAllPerm``).

    :meth:`check` is the one call the engine makes after authentication, and the one a
    script's ``redis.call`` should make: ``refusal = acl.check(user, spec, argv)``.
    """

    def __init__(self, table: Mapping[str, CommandInfo], requirepass: str = "") -> None:
        self.table = table
        self.users: dict[str, User] = {}
        self.default = default_user(table)
        self.users["default"] = self.default
        self._all = {spec.name for spec in _all_commands(table)}
        self.log = AclLog()
        self._loaded: set[str] = set()
        self.set_requirepass(requirepass)

    def load_user_line(self, words: list[str]) -> None:
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
        draft = User(name)
        for j, rule in enumerate(words[2:]):
            if rule.startswith("(") or rule.lower() == "clearselectors":
                raise UserLineError(rule, "selectors are not supported by respcache yet")
            try:
                draft.apply(rule, self.table)
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
        """Why ``u`` may not run ``argv`` (``ACLCheckAllUserCommandPerm``), or None."""
        sel = u.root
        if sel.all_keys and sel.all_channels and spec.name in sel.allowed:
            return None
        first = argv[1] if len(argv) > 1 else None
        if not spec.no_auth and not sel.can_run(spec, first):  # AUTH, HELLO: always
            return Denial(NOPERM_COMMAND.format(spec.name), "command", spec.name)
        if not sel.all_keys:
            needs = WRITE if spec.is_write else READ
            for i in spec.key_positions(argv):
                if not key_allowed(sel, argv[i], needs):
                    return Denial(NOPERM_KEY, "key", _decode(argv[i]))
        if not sel.all_channels:
            name = spec.name
            if name in _CHANNEL_COMMANDS and len(argv) > 1:
                if not channel_allowed(sel, argv[1], False):
                    return Denial(NOPERM_CHANNEL, "channel", _decode(argv[1]))
            elif name in _SUBSCRIBE:
                is_pattern = _SUBSCRIBE[name]
                for ch in argv[1:]:
                    if not channel_allowed(sel, ch, is_pattern):
                        return Denial(NOPERM_CHANNEL, "channel", _decode(ch))
        return None


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
