"""ACL: users and permissions, the commands of Redis 7.0's ``acl.c`` (``aclCommand``).

The rule model and the permission check live in :mod:`respcache.security.acl` (no
I/O); these handlers only parse arguments and shape replies. Done: SETUSER, GETUSER,
DELUSER, USERS, WHOAMI, CAT, LIST, GENPASS, LOG, DRYRUN. Not registered yet (so they answer
Redis's unknown-subcommand error rather than pretend): SAVE, LOAD, HELP,
and selectors in SETUSER are refused with an error.
"""

from __future__ import annotations

import secrets
import time
from typing import Final

from respcache.commands.args import parse_int
from respcache.commands.client import Client
from respcache.commands.registry import REGISTRY, command
from respcache.errors import NOT_INTEGER, CommandError
from respcache.protocol.types import OK, Reply
from respcache.security.acl import (
    CATEGORIES,
    AclRuleError,
    User,
    describe_channels,
    describe_commands,
    describe_keys,
    describe_user,
)

_ADMIN: Final = "@admin @slow @dangerous"
_FLAGS: Final = "admin noscript loading stale"


def _text(arg: bytes) -> str:
    return arg.decode("utf-8", "surrogateescape")


def _bulk(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@command(
    "acl|setuser", arity=-3, flags=_FLAGS, group="server",
    summary="Modify or create the rules for a specific ACL user", since="6.0.0",
    complexity="O(N). Where N is the number of rules provided.", acl=_ADMIN,
)  # fmt: skip
def acl_setuser(c: Client, argv: list[bytes]) -> Reply:
    acl = c.engine.acl
    name = _text(argv[2])
    existing = acl.users.get(name)
    if existing is None:
        draft = User(name)
        if c.engine.config.get("acl-pubsub-default") == "allchannels":
            draft.apply("allchannels", acl.table)
    else:
        draft = existing.copy()
    for arg in argv[3:]:
        rule = _text(arg)
        if rule.startswith("(") or rule.lower() == "clearselectors":
            raise CommandError(
                f"ERR Error in ACL SETUSER modifier '{rule}': selectors are not supported "
                "by respcache yet"
            )
        try:
            draft.apply(rule, acl.table)
        except AclRuleError as exc:
            raise CommandError(f"ERR Error in ACL SETUSER modifier '{rule}': {exc}") from None
    if existing is None:
        acl.users[name] = draft
    else:
        existing.replace_with(draft)  # its connections stay, as in Redis 7.0 (off included)
    return OK


@command(
    "acl|getuser", arity=3, flags=_FLAGS, group="server",
    summary="Get the rules for a specific ACL user", since="6.0.0",
    complexity="O(N). Where N is the number of password, command and pattern rules that the user has.",
    acl=_ADMIN,
)  # fmt: skip
def acl_getuser(c: Client, argv: list[bytes]) -> Reply:
    u = c.engine.acl.users.get(_text(argv[2]))
    if u is None:
        return None
    flags: list[Reply] = [b"on" if u.enabled else b"off"]
    if u.nopass:
        flags.append(b"nopass")
    sel = u.root
    return [
        b"flags", flags,
        b"passwords", [_bulk(p) for p in u.passwords],
        b"commands", _bulk(describe_commands(sel, c.engine.acl.table)),
        b"keys", _bulk(describe_keys(sel)),
        b"channels", _bulk(describe_channels(sel)),
        b"selectors", [],
    ]  # fmt: skip


@command(
    "acl|deluser", arity=-3, flags=_FLAGS, group="server",
    summary="Remove the specified ACL users and the associated rules", since="6.0.0",
    complexity="O(1) amortized time considering the typical user.", acl=_ADMIN,
)  # fmt: skip
def acl_deluser(c: Client, argv: list[bytes]) -> Reply:
    acl = c.engine.acl
    names = [_text(a) for a in argv[2:]]
    if "default" in names:
        raise CommandError("ERR The 'default' user cannot be removed")
    deleted = 0
    for name in names:
        u = acl.users.pop(name, None)
        if u is None:
            continue
        deleted += 1
        for other in list(c.engine.clients.values()):
            if other.user is u:
                other.kill()
    return deleted


@command(
    "acl|users", arity=2, flags=_FLAGS, group="server",
    summary="List the username of all the configured ACL rules", since="6.0.0",
    complexity="O(N). Where N is the number of configured users.", acl=_ADMIN,
)  # fmt: skip
def acl_users(c: Client, argv: list[bytes]) -> Reply:
    names: list[Reply] = [_bulk(name) for name in sorted(c.engine.acl.users)]
    return names


@command(
    "acl|list", arity=2, flags=_FLAGS, group="server",
    summary="List the current ACL rules in ACL config file format", since="6.0.0",
    complexity="O(N). Where N is the number of configured users.", acl=_ADMIN,
)  # fmt: skip
def acl_list(c: Client, argv: list[bytes]) -> Reply:
    acl = c.engine.acl
    return [
        _bulk(f"user {name} {describe_user(acl.users[name], acl.table)}")
        for name in sorted(acl.users)
    ]


@command(
    "acl|whoami", arity=2, flags="noscript loading stale", group="server",
    summary="Return the name of the user associated to the current connection",
    since="6.0.0", complexity="O(1)", acl="@slow",
)  # fmt: skip
def acl_whoami(c: Client, argv: list[bytes]) -> Reply:
    return c.user.name.encode("utf-8", "surrogateescape")


@command(
    "acl|cat", arity=-2, flags="noscript loading stale", group="server",
    summary="List the ACL categories or the commands inside a category", since="6.0.0",
    complexity="O(1) since the categories and commands are a fixed set.", acl="@slow",
)  # fmt: skip
def acl_cat(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        return [_bulk(category) for category in CATEGORIES]
    if len(argv) > 3:
        raise CommandError(
            "ERR unknown subcommand or wrong number of arguments for 'cat'. Try ACL HELP."
        )
    category = _text(argv[2]).lower()
    if category not in CATEGORIES:
        raise CommandError(f"ERR Unknown category '{_text(argv[2])}'")
    out: list[Reply] = []
    for name in sorted(REGISTRY):
        spec = REGISTRY[name]
        for one in (spec, *(spec.subcommands[s] for s in sorted(spec.subcommands))):
            if f"@{category}" in one.acl_categories:
                out.append(_bulk(one.name))
    return out


@command(
    "acl|genpass", arity=-2, flags="noscript loading stale", group="server",
    summary="Generate a pseudorandom secure password to use for ACL users", since="6.0.0",
    complexity="O(N)", acl="@slow",
)  # fmt: skip
def acl_genpass(c: Client, argv: list[bytes]) -> Reply:
    bits = 256
    error = (
        "ERR ACL GENPASS argument must be the number of bits for the output password, "
        "a positive number up to 4096"
    )
    if len(argv) == 3:
        try:
            bits = int(argv[2])
        except ValueError:
            raise CommandError(error) from None
        if bits <= 0 or bits > 4096:
            raise CommandError(error)
    elif len(argv) > 3:
        raise CommandError(
            "ERR unknown subcommand or wrong number of arguments for 'genpass'. Try ACL HELP."
        )
    chars = (bits + 3) // 4
    return _bulk(secrets.token_hex((chars + 1) // 2)[:chars])


@command(
    "acl|log", arity=-2, flags=_FLAGS, group="server",
    summary="List latest events denied because of ACLs in place", since="6.0.0",
    complexity="O(N) with N being the number of entries shown.", acl=_ADMIN,
)  # fmt: skip
def acl_log(c: Client, argv: list[bytes]) -> Reply:
    log = c.engine.acl.log
    if len(argv) > 3:
        raise CommandError(
            "ERR unknown subcommand or wrong number of arguments for 'log'. Try ACL HELP."
        )
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            log.entries.clear()
            return OK
        count = max(parse_int(argv[2], NOT_INTEGER), 0)
    now = int(time.time() * 1000)
    return [
        {
            b"count": e.count,
            b"reason": _bulk(e.reason),
            b"context": _bulk(e.context),
            b"object": _bulk(e.object),
            b"username": _bulk(e.username),
            b"age-seconds": (now - e.ctime_ms) / 1000,
            b"client-info": _bulk(e.client_info),
        }
        for e in log.entries[:count]
    ]


@command(
    "acl|dryrun", arity=-4, flags=_FLAGS, group="server",
    summary="Returns whether the user can execute the given command without executing the command.",
    since="7.0.0", complexity="O(1).", acl=_ADMIN,
)  # fmt: skip
def acl_dryrun(c: Client, argv: list[bytes]) -> Reply:
    acl = c.engine.acl
    u = acl.users.get(_text(argv[2]))
    if u is None:
        raise CommandError(f"ERR User '{_text(argv[2])}' not found")
    args = argv[3:]
    try:
        spec = c.engine.lookup(args)
    except CommandError:
        spec = None
    if spec is None:
        raise CommandError(f"ERR Command '{_text(args[0])}' not found")
    if (spec.arity > 0 and spec.arity != len(args)) or len(args) < -spec.arity:
        raise CommandError(f"ERR wrong number of arguments for '{spec.name}' command")
    denied = acl.check(u, spec, args)
    if denied is None:
        return OK
    if denied.reason == "command":
        return _bulk(f"This user has no permissions to run the '{spec.name}' command")
    return _bulk(f"This user has no permissions to access the '{denied.object}' {denied.reason}")
