"""Connection commands: PING, ECHO, SELECT, QUIT, AUTH, HELLO, RESET and CLIENT.

CLIENT follows Redis 7.0, plus what Redis 7.2 added and clients already send:
``CLIENT SETINFO LIB-NAME|LIB-VER`` (redis-py sends it on every connection),
``CLIENT NO-TOUCH`` and the ``lib-name``/``lib-ver`` fields at the end of the
``CLIENT LIST`` lines.

``CLIENT PAUSE`` is simplified: it is validated and remembered (``CLIENT UNPAUSE``
ends it) but commands are not held back; see docs/commands.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from respcache.commands.args import parse_int
from respcache.commands.client import Client
from respcache.commands.introspection import help_reply
from respcache.commands.pause import CLIENT_COMMAND, PAUSE_ALL, PAUSE_WRITE
from respcache.commands.registry import command
from respcache.errors import DB_INDEX_OUT_OF_RANGE, SYNTAX, WRONGPASS, CommandError
from respcache.protocol.types import OK, PONG, Reply, Verbatim

if TYPE_CHECKING:
    from respcache.security.acl import User

NAME_ERROR: Final = "ERR Client names cannot contain spaces, newlines or special characters."
UNBLOCKED_ERROR: Final = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
CLIENT_OVERHEAD: Final = 2048
"""Estimated bytes of one idle connection (client, protocol and parser objects): tot-mem."""


@command(
    "ping",
    arity=-1,
    flags="fast",
    group="connection",
    summary="Ping the server",
    since="1.0.0",
    complexity="O(1)",
    acl="@fast @connection",
)
def ping(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 2:
        raise CommandError("ERR wrong number of arguments for 'ping' command")
    if c.resp == 2 and c.in_pubsub:
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    if len(argv) == 2:
        return argv[1]
    return PONG


@command(
    "echo",
    arity=2,
    flags="loading stale fast",
    group="connection",
    summary="Echo the given string",
    since="1.0.0",
    complexity="O(1)",
    acl="@fast @connection",
)
def echo(c: Client, argv: list[bytes]) -> Reply:
    return argv[1]


@command(
    "select",
    arity=2,
    flags="loading stale fast",
    group="connection",
    summary="Change the selected database for the current connection",
    since="1.0.0",
    complexity="O(1)",
    acl="@fast @connection",
)
def select(c: Client, argv: list[bytes]) -> Reply:
    index = parse_int(argv[1], "ERR value is not an integer or out of range")
    if not -(2**31) <= index < 2**31:  # Redis parses a C int first
        raise CommandError(
            "ERR value is out of range, value must between -2147483648 and 2147483647"
        )
    dbs = c.engine.keyspace.dbs
    if not 0 <= index < len(dbs):
        raise CommandError(DB_INDEX_OUT_OF_RANGE)
    c.db = dbs[index]
    return OK


@command(
    "quit",
    arity=-1,
    flags="noscript loading stale fast no_auth allow_busy",
    group="connection",
    summary="Close the connection",
    since="1.0.0",
    complexity="O(1)",
    acl="@fast @connection",
)
def quit_(c: Client, argv: list[bytes]) -> Reply:
    c.close_after_reply = True
    return OK


def check_password(c: Client, username: bytes, password: bytes, command: bytes) -> None:
    """AUTH / HELLO AUTH: become ``username`` if it is enabled and the password fits."""
    user = c.engine.acl.authenticate(username, password)
    if user is None:
        name = username.decode("utf-8", "surrogateescape")
        c.engine.gate_steps.log_acl(c, "auth", command.decode("utf-8", "surrogateescape"), name)
        raise CommandError(WRONGPASS)
    c.user = user
    c.authenticated = True


@command(
    "auth",
    arity=-2,
    flags="noscript loading stale fast no_auth allow_busy",
    group="connection",
    summary="Authenticate to the server",
    since="1.0.0",
    complexity="O(N) where N is the number of passwords defined for the user",
    acl="@fast @connection",
)
def auth(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    if len(argv) == 2:
        if c.engine.acl.default.nopass:
            raise CommandError(
                "ERR AUTH <password> called without any password configured for the "
                "default user. Are you sure your configuration is correct?"
            )
        check_password(c, b"default", argv[1], argv[0])
    else:
        check_password(c, argv[1], argv[2], argv[0])
    return OK


def valid_client_attr(value: bytes) -> bool:
    """Client names and lib names: printable ASCII without spaces (``!``..``~``)."""
    return all(33 <= ch <= 126 for ch in value)


@command(
    "hello",
    arity=-1,
    flags="noscript loading stale fast no_auth allow_busy",
    group="connection",
    summary="Handshake with Redis",
    since="6.0.0",
    complexity="O(1)",
    acl="@fast @connection",
)
def hello(c: Client, argv: list[bytes]) -> Reply:
    version = c.resp
    i = 1
    if len(argv) > 1:
        try:
            version = parse_int(argv[1])
        except CommandError:
            raise CommandError("ERR Protocol version is not an integer or out of range") from None
        if version not in (2, 3):
            raise CommandError("NOPROTO unsupported protocol version")
        i = 2
    name: bytes | None = None
    # As Redis 7.0: options are handled in order, AUTH authenticates at once.
    while i < len(argv):
        opt = argv[i].lower()
        remaining = len(argv) - i - 1
        if opt == b"auth" and remaining >= 2:
            check_password(c, argv[i + 1], argv[i + 2], argv[0])
            i += 3
        elif opt == b"setname" and remaining >= 1:
            name = argv[i + 1]
            if not valid_client_attr(name):
                raise CommandError(NAME_ERROR)
            i += 2
        else:
            raise CommandError(
                f"ERR Syntax error in HELLO option '{argv[i].decode('utf-8', 'surrogateescape')}'"
            )
    if not c.authenticated:
        raise CommandError(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
            "select the RESP protocol version at the same time"
        )
    if name is not None:
        c.name = name
    c.resp = version
    engine = c.engine
    return {
        b"server": b"redis",
        b"version": engine.redis_version.encode(),
        b"proto": version,
        b"id": c.id,
        b"mode": b"standalone",
        b"role": b"replica" if engine.read_only else b"master",
        b"modules": [],
    }


@command(
    "reset",
    arity=1,
    flags="noscript loading stale fast no_auth allow_busy",
    group="connection",
    summary="Reset the connection",
    since="6.2.0",
    complexity="O(1)",
    acl="@fast @connection",
)
def reset(c: Client, argv: list[bytes]) -> Reply:
    """Back to a new connection's state (Redis's ``clearClientConnectionState``).

    Not monitoring, no client-side caching, db 0, RESP2, no transaction and no WATCHed
    keys, no subscriptions, no name,
    replies on, NO-EVICT and NO-TOUCH off, and unauthenticated if a password is
    required. CLIENT SETINFO's lib-name and lib-ver stay, as in Redis.
    """
    engine = c.engine
    engine.monitors.forget(c)
    if c.tracking is not None:
        engine.tracking.disable(c)
    c.db = engine.keyspace.dbs[0]
    c.resp = 2
    c.authenticated = engine.acl.default.nopass and engine.acl.default.enabled
    c.user = engine.acl.default
    c.multi = None
    c.multi_error = False
    engine.watches.unwatch_all(c)
    if c.in_pubsub:
        # The pub/sub layer forgets a client through the disconnect hooks (no messages).
        for hook in engine.disconnect_hooks:
            hook(c)
        c.subscriptions.clear()
        c.patterns.clear()
    c.name = b""
    c.reply_mode = "on"
    c.no_evict = False
    c.no_touch = False
    return "RESET"


# --- CLIENT -----------------------------------------------------------------------------

CLIENT_HELP: Final = (
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
)

CLIENT_TYPES: Final = {
    b"normal": "normal",
    b"slave": "replica",
    b"replica": "replica",
    b"pubsub": "pubsub",
    b"master": "master",
}


def client_type(c: Client) -> str:
    """Redis's ``getClientType``: master link, replica link, pub/sub or normal."""
    if c.is_master:
        return "master"
    if getattr(c, "is_replica", False):
        return "replica"
    if c.in_pubsub:
        return "pubsub"
    return "normal"


def parse_client_type(arg: bytes) -> str:
    kind = CLIENT_TYPES.get(arg.lower())
    if kind is None:
        raise CommandError(f"ERR Unknown client type '{arg.decode('utf-8', 'surrogateescape')}'")
    return kind


def client_flags(c: Client, info: dict[str, str]) -> str:
    """The ``flags=`` letters, in Redis's order."""
    flags = ""
    if c in c.engine.monitors.clients:
        flags += "O"
    elif getattr(c, "is_replica", False):
        flags += "S"
    if c.is_master:
        flags += "M"
    if c.in_pubsub:
        flags += "P"
    if c.multi is not None:
        flags += "x"
    if c.blocked is not None:
        flags += "b"
    tracking = c.tracking
    if tracking is not None:
        flags += "t"
        if tracking.broken_redirect:
            flags += "R"
        if tracking.bcast:
            flags += "B"
    if c.dirty_cas:
        flags += "d"
    if c.close_after_reply:
        flags += "c"
    if info.get("unix"):
        flags += "U"
    if c.no_evict:
        flags += "e"
    if c.no_touch:
        flags += "T"
    return flags or "N"


def _argv_mem(argv: Iterable[bytes]) -> int:
    return sum(len(arg) for arg in argv)


def client_info_line(
    c: Client, current: Client | None = None, argv: list[bytes] | None = None
) -> str:
    """One ``CLIENT LIST`` line (without the newline), fields in Redis's order.

    ``current``/``argv`` are the client running the command and its arguments: for
    it, ``cmd`` is the command running now (``client|list``) and ``argv-mem`` its size.
    Transport facts (addresses, fd, buffers) come from :meth:`Client.connection_info`.
    """
    info = c.connection_info()
    now = time.time()
    addr = info.get("addr", "")
    laddr = info.get("laddr", "")
    if not addr and laddr.startswith("/"):  # a Unix socket: Redis shows path:0
        info["unix"] = "1"
        addr = laddr = laddr + ":0"
    if c is current and argv is not None:
        cmd = "exec" if c.in_exec else _full_name(argv)
        argv_mem = _argv_mem(argv)
    else:
        cmd = c.last_command
        argv_mem = 0
    multi_mem = 0
    if c.multi is not None:
        multi_mem = sum(_argv_mem(queued_argv) for _, queued_argv in c.multi)
    qbuf = int(info.get("qbuf", "0"))
    obl = int(info.get("obl", "0"))
    omem = int(info.get("omem", "0"))
    fields = [
        f"id={c.id}",
        f"addr={addr}",
        f"laddr={laddr}",
        f"fd={info.get('fd', '-1')}",
        f"name={c.name.decode('utf-8', 'surrogateescape')}",
        f"age={int(now - c.created)}",
        f"idle={int(now - c.last_interaction)}",
        f"flags={client_flags(c, info)}",
        f"db={c.db.id}",
        f"sub={len(c.subscriptions)}",
        f"psub={len(c.patterns)}",
        "ssub=0",
        f"multi={len(c.multi) if c.multi is not None else -1}",
        f"qbuf={qbuf}",
        f"qbuf-free={info.get('qbuf-free', '0')}",
        f"argv-mem={argv_mem}",
        f"multi-mem={multi_mem}",
        "rbs=0",
        "rbp=0",
        f"obl={obl}",
        f"oll={info.get('oll', '0')}",
        f"omem={omem}",
        f"tot-mem={CLIENT_OVERHEAD + qbuf + argv_mem + multi_mem + omem}",
        f"events={'rw' if obl else 'r'}",
        f"cmd={cmd}",
        f"user={c.user.name}",
        f"redir={c.tracking.redirect if c.tracking is not None else -1}",
        f"resp={c.resp}",
        f"lib-name={c.lib_name}",
        f"lib-ver={c.lib_ver}",
    ]
    return " ".join(fields)


def _full_name(argv: list[bytes]) -> str:
    """``client|list`` for ``CLIENT LIST``: the name Redis shows in ``cmd=``."""
    from respcache.commands.registry import lookup

    spec = lookup(argv)
    return spec.name if spec is not None else argv[0].decode("utf-8", "replace").lower()


def _client_text(c: Client, text: str) -> Reply:
    """CLIENT LIST/INFO: a bulk string in RESP2, a verbatim string in RESP3."""
    data = text.encode("utf-8", "surrogateescape")
    return Verbatim(data) if c.resp == 3 else data


@command(
    "client|id",
    arity=2,
    flags="noscript loading stale",
    group="connection",
    summary="Returns the client ID for the current connection",
    since="5.0.0",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_id(c: Client, argv: list[bytes]) -> Reply:
    return c.id


@command(
    "client|setname",
    arity=3,
    flags="noscript loading stale",
    group="connection",
    summary="Set the current connection name",
    since="2.6.9",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_setname(c: Client, argv: list[bytes]) -> Reply:
    name = argv[2]
    if not valid_client_attr(name):
        raise CommandError(NAME_ERROR)
    c.name = name
    return OK


@command(
    "client|getname",
    arity=2,
    flags="noscript loading stale",
    group="connection",
    summary="Get the current connection name",
    since="2.6.9",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_getname(c: Client, argv: list[bytes]) -> Reply:
    return c.name or None


@command(
    "client|setinfo",
    arity=4,
    flags="noscript loading stale",
    group="connection",
    summary="Set client or connection specific info",
    since="7.2.0",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_setinfo(c: Client, argv: list[bytes]) -> Reply:
    """Redis 7.2's CLIENT SETINFO (redis-py and other clients send it on connect)."""
    attr = argv[2]
    option = attr.lower()
    text = attr.decode("utf-8", "surrogateescape")
    if option not in (b"lib-name", b"lib-ver"):
        raise CommandError(f"ERR Unrecognized option '{text}'")
    value = argv[3]
    if not valid_client_attr(value):
        raise CommandError(f"ERR {text} cannot contain spaces, newlines or special characters.")
    if option == b"lib-name":
        c.lib_name = value.decode("ascii")
    else:
        c.lib_ver = value.decode("ascii")
    return OK


@command(
    "client|info",
    arity=2,
    flags="noscript loading stale",
    group="connection",
    summary="Returns information about the current client connection.",
    since="6.2.0",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_info(c: Client, argv: list[bytes]) -> Reply:
    return _client_text(c, client_info_line(c, c, argv) + "\n")


@command(
    "client|list",
    arity=-2,
    flags="admin noscript loading stale",
    group="connection",
    summary="Get the list of client connections",
    since="2.4.0",
    complexity="O(N) where N is the number of client connections",
    acl="@admin @slow @dangerous @connection",
)
def client_list(c: Client, argv: list[bytes]) -> Reply:
    clients = c.engine.clients
    selected: list[Client]
    if len(argv) == 4 and argv[2].lower() == b"type":
        kind = parse_client_type(argv[3])
        selected = [cl for cl in clients.values() if client_type(cl) == kind]
    elif len(argv) > 3 and argv[2].lower() == b"id":
        selected = []
        for arg in argv[3:]:
            found = clients.get(parse_int(arg, "ERR Invalid client ID"))
            if found is not None:
                selected.append(found)
    elif len(argv) != 2:
        raise CommandError(SYNTAX)
    else:
        selected = list(clients.values())
    text = "".join(client_info_line(cl, c, argv) + "\n" for cl in selected)
    return _client_text(c, text)


@command(
    "client|kill",
    arity=-3,
    flags="admin noscript loading stale",
    group="connection",
    summary="Kill the connection of a client",
    since="2.4.0",
    complexity="O(N) where N is the number of client connections",
    acl="@admin @slow @dangerous @connection",
)
def client_kill(c: Client, argv: list[bytes]) -> Reply:
    clients = list(c.engine.clients.values())
    if len(argv) == 3:
        # Old form: CLIENT KILL addr:port
        addr = argv[2].decode("utf-8", "surrogateescape")
        for target in clients:
            if _addr(target) == addr:
                _kill(c, target)
                return OK
        raise CommandError("ERR No such client")
    filters: list[Callable[[Client], bool]] = []
    skipme = True
    i = 2
    while i < len(argv):
        if i + 1 >= len(argv):
            raise CommandError(SYNTAX)
        option, value = argv[i].lower(), argv[i + 1]
        text = value.decode("utf-8", "surrogateescape")
        if option == b"id":
            wanted_id = parse_int(value, "ERR client-id should be greater than 0")
            if wanted_id <= 0:
                raise CommandError("ERR client-id should be greater than 0")
            filters.append(_match("id", wanted_id))
        elif option == b"type":
            kind = parse_client_type(value)
            filters.append(_match("type", kind))
        elif option == b"addr":
            filters.append(_match("addr", text))
        elif option == b"laddr":
            filters.append(_match("laddr", text))
        elif option == b"user":
            wanted_user = c.engine.acl.users.get(text)
            if wanted_user is None:
                raise CommandError(f"ERR No such user '{text}'")
            filters.append(_user_is(wanted_user))
        elif option == b"skipme":
            lowered = value.lower()
            if lowered == b"yes":
                skipme = True
            elif lowered == b"no":
                skipme = False
            else:
                raise CommandError(SYNTAX)
        else:
            raise CommandError(SYNTAX)
        i += 2
    killed = 0
    for target in clients:
        if skipme and target is c:
            continue
        if all(match(target) for match in filters):
            _kill(c, target)
            killed += 1
    return killed


def _user_is(wanted: User) -> Callable[[Client], bool]:
    """CLIENT KILL USER: clients authenticated as ``wanted``."""
    return lambda cl: cl.user is wanted


def _match(field: str, wanted: object) -> Callable[[Client], bool]:
    """A CLIENT KILL filter: the client's ``field`` (id, type, addr, laddr) is ``wanted``."""
    getters: dict[str, Callable[[Client], object]] = {
        "id": lambda cl: cl.id,
        "type": client_type,
        "addr": _addr,
        "laddr": lambda cl: cl.connection_info().get("laddr", ""),
    }
    get = getters[field]
    return lambda cl: get(cl) == wanted


def _addr(c: Client) -> str:
    info = c.connection_info()
    addr = info.get("addr", "")
    laddr = info.get("laddr", "")
    if not addr and laddr.startswith("/"):
        return laddr + ":0"
    return addr


def _kill(caller: Client, target: Client) -> None:
    """Close a connection; the caller's own one closes after this reply, as in Redis."""
    if target is caller:
        caller.close_after_reply = True
    else:
        target.kill()


def _on_off(arg: bytes) -> bool:
    lowered = arg.lower()
    if lowered == b"on":
        return True
    if lowered == b"off":
        return False
    raise CommandError(SYNTAX)


@command(
    "client|no-evict",
    arity=3,
    flags="admin noscript loading stale",
    group="connection",
    summary="Set client eviction mode for the current connection",
    since="7.0.0",
    complexity="O(1)",
    acl="@admin @slow @dangerous @connection",
)
def client_no_evict(c: Client, argv: list[bytes]) -> Reply:
    c.no_evict = _on_off(argv[2])
    return OK


@command(
    "client|no-touch",
    arity=3,
    flags="noscript loading stale",
    group="connection",
    summary="Controls whether commands sent by the client will alter the LRU/LFU of the keys they access.",
    since="7.2.0",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_no_touch(c: Client, argv: list[bytes]) -> Reply:
    c.no_touch = _on_off(argv[2])
    return OK


@command(
    "client|reply",
    arity=3,
    flags="noscript loading stale",
    group="connection",
    summary="Instruct the server whether to reply to commands",
    since="3.2.0",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_reply(c: Client, argv: list[bytes]) -> Reply:
    """ON answers +OK; OFF and SKIP are not answered (the server reads ``reply_mode``)."""
    mode = argv[2].lower()
    if mode == b"on":
        c.reply_mode = "on"
        return OK
    if mode == b"off":
        c.reply_mode = "off"
        return None
    if mode == b"skip":
        if c.reply_mode != "off":
            c.reply_mode = "skip_next"  # this reply is not sent; the next one is skipped
        return None
    raise CommandError(SYNTAX)


@command(
    "client|unblock",
    arity=-3,
    flags="admin noscript loading stale",
    group="connection",
    summary="Unblock a client blocked in a blocking command from a different connection",
    since="5.0.0",
    complexity="O(log N) where N is the number of client connections",
    acl="@admin @slow @dangerous @connection",
)
def client_unblock(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 4:
        raise CommandError(
            "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP."
        )
    target_id = parse_int(argv[2])
    error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason == b"error":
            error = True
        elif reason != b"timeout":
            raise CommandError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    target = c.engine.clients.get(target_id)
    if target is None or target.blocked is None:
        return 0
    reply: Reply = CommandError(UNBLOCKED_ERROR) if error else target.blocked.timeout_reply
    c.engine.blocked_clients.unblock(target, reply)
    return 1


@command(
    "client|pause",
    arity=-3,
    flags="admin noscript loading stale",
    group="connection",
    summary="Stop processing commands from clients for some time",
    since="2.9.50",
    complexity="O(1)",
    acl="@admin @slow @dangerous @connection",
)
def client_pause(c: Client, argv: list[bytes]) -> Reply:
    """Hold clients' commands (all, or those that may replicate) until the timeout.

    Redis 7.0's clientCommand: the mode is checked before the timeout, which is
    in milliseconds from now; see :mod:`respcache.commands.pause`.
    """
    if len(argv) > 4:
        raise CommandError(
            "ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP."
        )
    kind = PAUSE_ALL
    if len(argv) == 4:
        lowered = argv[3].lower()
        if lowered == b"write":
            kind = PAUSE_WRITE
        elif lowered != b"all":
            raise CommandError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    timeout = parse_int(argv[2], "ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise CommandError("ERR timeout is negative")
    # (Redis adds the current time only to a positive timeout: 0 has already ended.)
    end = int(c.engine.keyspace.clock() * 1000) + timeout if timeout > 0 else 0
    c.engine.pause.pause(CLIENT_COMMAND, end, kind)
    return OK


@command(
    "client|unpause",
    arity=2,
    flags="admin noscript loading stale",
    group="connection",
    summary="Resume processing of clients that were paused",
    since="6.2.0",
    complexity="O(N) Where N is the number of paused clients",
    acl="@admin @slow @dangerous @connection",
)
def client_unpause(c: Client, argv: list[bytes]) -> Reply:
    c.engine.pause.unpause(CLIENT_COMMAND)
    return OK


@command(
    "client|help",
    arity=2,
    flags="loading stale",
    group="connection",
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("CLIENT", CLIENT_HELP)
