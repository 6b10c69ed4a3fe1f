"""ACL: users and permissions, the commands of Redis 7.0's ``acl.c`` (``aclCommand``).

The rule model and the permission check live in :mod:`respcache.security.acl` (no
I/O); these handlers only parse arguments, shape replies, and read or write the ACL file
(``ACL LOAD``/``ACL SAVE``, the ``aclfile`` setting).

Unlike Redis, a leader sends its ACL changes down the replication stream, so every node
of a cluster has the same users and a failover does not change who may do what: SETUSER
and LOAD replicate as one ``ACL SETUSER <name> reset <rules>`` per user they changed (the
user's whole state, so a follower that missed nothing ends up exactly alike), DELUSER as
itself (with the users LOAD removed), SAVE as itself (each node writes its own file).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Final

from respcache.commands.args import parse_int
from respcache.commands.client import Client
from respcache.commands.introspection import OrderedSet, help_reply
from respcache.commands.registry import command
from respcache.errors import NOT_INTEGER, CommandError
from respcache.protocol.types import OK, Reply
from respcache.security.acl import (
    CATEGORIES,
    AclFileError,
    AclRuleError,
    CommandInfo,
    Selector,
    UnmatchedSelector,
    User,
    acl_file_path,
    acl_file_text,
    channel_in_list,
    describe_channels,
    describe_commands,
    describe_keys,
    describe_user,
    merge_selector_args,
    pubsub_may_lose,
    read_acl_file,
    user_state_command,
    write_acl_file,
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
    """``ACLStringSetUser``: every rule on a copy, kept only if all of them pass."""
    acl = c.engine.acl
    name = _text(argv[2])
    if any(ch.isspace() for ch in name) or "\0" in name:
        raise CommandError("ERR Usernames can't contain spaces or null characters")
    args = [_text(a) for a in argv[3:]]
    try:
        rules = merge_selector_args(args)
    except UnmatchedSelector as exc:
        raise CommandError(
            f"ERR Unmatched parenthesis in acl selector starting at '{args[exc.index]}'."
        ) from None
    allchannels = c.engine.config.get("acl-pubsub-default") == "allchannels"
    existing = acl.users.get(name)
    draft = User(name) if existing is None else existing.copy()
    if existing is None and allchannels:
        draft.apply("allchannels", acl.table)
    for rule in rules:
        try:
            draft.apply(rule, acl.table, allchannels=allchannels)
        except AclRuleError as exc:
            raise CommandError(f"ERR Error in ACL SETUSER modifier '{rule}': {exc}") from None
    if existing is None:
        acl.users[name] = draft
    else:
        kill_pubsub_clients_if_needed(c, draft, existing)
        existing.replace_with(draft)  # its connections stay, as in Redis 7.0 (off included)
    propagate_users(c, [name])
    return OK


def kill_pubsub_clients_if_needed(c: Client, new: User, original: User) -> None:
    """``ACLKillPubsubClientsIfNeeded``: disconnect the user's subscribers that lost a channel."""
    upcoming = pubsub_may_lose(new, original)
    if upcoming is None:
        return
    from respcache.commands.pubsub import pubsub_of

    state = pubsub_of(c.engine, create=False)
    shards = state.client_shards if state is not None else {}
    for other in list(c.engine.clients.values()):
        if other.user is not original:
            continue
        revoked = (
            any(not channel_in_list(upcoming, p, True) for p in other.patterns)
            or any(not channel_in_list(upcoming, ch, False) for ch in other.subscriptions)
            or any(not channel_in_list(upcoming, ch, False) for ch in shards.get(other, ()))
        )
        if revoked:
            _disconnect(c, other)


def _disconnect(c: Client, other: Client) -> None:
    """``ACLFreeUserAndKillClients`` for one client: back to unauthenticated, then closed
    (after its reply when it is the one running the command)."""
    other.user = c.engine.acl.default
    other.authenticated = False
    if other is c:
        c.close_after_reply = True
    else:
        other.kill()


def propagate_users(c: Client, names: list[str], deleted: list[str] | None = None) -> None:
    """Replicate the users ``names`` as they are now (and the ``deleted`` ones' removal)."""
    acl = c.engine.acl
    commands: list[list[bytes]] = []
    if deleted:
        commands.append([b"ACL", b"DELUSER", *(_bulk(n) for n in deleted)])
    commands.extend(user_state_command(acl.users[name], acl.table) for name in names)
    if commands:
        c.engine.propagate(c.db.id, commands)


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
    table = c.engine.acl.table
    reply: dict[Reply, Reply] = {
        b"flags": OrderedSet(_bulk(f) for f in u.flag_names()),
        b"passwords": [_bulk(p) for p in u.passwords],
    }
    reply.update(_selector_fields(u.root, table))
    reply[b"selectors"] = [_selector_fields(s, table) for s in u.selectors]
    return reply


def _selector_fields(sel: Selector, table: Mapping[str, CommandInfo]) -> dict[Reply, Reply]:
    """``aclAddReplySelectorDescription``: commands, keys, channels."""
    return {
        b"commands": _bulk(describe_commands(sel, table)),
        b"keys": _bulk(describe_keys(sel)),
        b"channels": _bulk(describe_channels(sel)),
    }


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
        _kill_clients_of(c, u)
    if deleted:
        c.engine.propagate(c.db.id, [argv])
    return deleted


def _kill_clients_of(c: Client, u: User) -> None:
    for other in list(c.engine.clients.values()):
        if other.user is u:
            _disconnect(c, other)


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
            f"ERR unknown subcommand or wrong number of arguments for '{_text(argv[1])}'. "
            "Try ACL HELP."
        )
    category = _text(argv[2]).lower()
    if category not in CATEGORIES:
        raise CommandError(f"ERR Unknown category '{_text(argv[2])}'")
    out: list[Reply] = []
    table = c.engine.acl.table  # (without the subcommands Redis 7.0 does not have)
    for name in sorted(table):
        spec = table[name]
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
            f"ERR unknown subcommand or wrong number of arguments for '{_text(argv[1])}'. "
            "Try ACL HELP."
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
            f"ERR unknown subcommand or wrong number of arguments for '{_text(argv[1])}'. "
            "Try ACL HELP."
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


_NO_ACLFILE: Final = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
    "Redis configuration file set) in order to store users in the Redis configuration."
)


def _aclfile(c: Client) -> str:
    """The ACL file's path (relative to ``dir``, as Redis after its chdir)."""
    config = c.engine.config
    if not config.aclfile:
        raise CommandError(_NO_ACLFILE)
    return acl_file_path(config.aclfile, config.dir)


@command(
    "acl|load", arity=2, flags=_FLAGS, group="server",
    summary="Reload the ACLs from the configured ACL file", since="6.0.0",
    complexity="O(N). Where N is the number of configured users.", acl=_ADMIN,
)  # fmt: skip
def acl_load(c: Client, argv: list[bytes]) -> Reply:
    """``ACLLoadFromFile``: all or nothing; every old user but ``default`` is replaced and
    its clients disconnected, as Redis frees the old users (even one the file redefines)."""
    path = _aclfile(c)
    acl = c.engine.acl
    allchannels = c.engine.config.get("acl-pubsub-default") == "allchannels"
    try:
        users = read_acl_file(
            path, acl.table, allchannels=allchannels, shown=c.engine.config.aclfile
        )
    except AclFileError as exc:
        raise CommandError(f"ERR {exc}") from None
    gone = acl.replace_users(users)
    for u in gone:
        _kill_clients_of(c, u)
    removed = [u.name for u in gone if u.name not in acl.users]
    propagate_users(c, sorted(acl.users), deleted=removed)
    return OK


@command(
    "acl|save", arity=2, flags=_FLAGS, group="server",
    summary="Save the current ACL rules in the configured ACL file", since="6.0.0",
    complexity="O(N). Where N is the number of configured users.", acl=_ADMIN,
)  # fmt: skip
def acl_save(c: Client, argv: list[bytes]) -> Reply:
    path = _aclfile(c)
    if not write_acl_file(path, acl_file_text(c.engine.acl)):
        raise CommandError(
            "ERR There was an error trying to save the ACLs. Please check the server logs "
            "for more information"
        )
    if not c.is_master:
        c.engine.propagate(c.db.id, [argv])  # every node writes its own file
    return OK


ACL_HELP: Final = (
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
)


@command(
    "acl|help", arity=2, flags="loading stale", group="server",
    summary="Show helpful text about the different subcommands", since="6.0.0",
    complexity="O(1)", acl="@slow",
)  # fmt: skip
def acl_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("ACL", ACL_HELP)
