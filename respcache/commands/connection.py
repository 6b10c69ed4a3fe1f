"""Connection commands: PING, ECHO, SELECT, QUIT, AUTH, HELLO."""

from __future__ import annotations

import hmac

from respcache.commands.args import parse_int
from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.errors import DB_INDEX_OUT_OF_RANGE, WRONGPASS, CommandError
from respcache.protocol.types import OK, PONG, Reply


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
    flags="fast",
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


def check_password(c: Client, username: bytes, password: bytes) -> None:
    """AUTH / HELLO AUTH against ``requirepass`` (the ``default`` user is the only one)."""
    required = c.engine.config.requirepass.encode()
    if username != b"default" or not required or not hmac.compare_digest(password, required):
        raise CommandError(WRONGPASS)
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
        raise CommandError("ERR syntax error")
    if len(argv) == 2:
        if not c.engine.config.requirepass:
            raise CommandError(
                "ERR AUTH <password> called without any password configured for the "
                "default user. Are you sure your configuration is correct?"
            )
        check_password(c, b"default", argv[1])
    else:
        check_password(c, argv[1], argv[2])
    return OK


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
    while i < len(argv):
        opt = argv[i].lower()
        remaining = len(argv) - i - 1
        if opt == b"auth" and remaining >= 2:
            check_password(c, argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"setname" and remaining >= 1:
            name = argv[i + 1]
            if any(ch <= 32 or ch > 126 for ch in name):
                raise CommandError(
                    "ERR Client names cannot contain spaces, newlines or special characters."
                )
            i += 2
        else:
            raise CommandError(
                f"ERR Syntax error in HELLO option '{argv[i].decode('utf-8', 'surrogateescape')}'"
            )
    if not c.authenticated:
        raise CommandError(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client "
            "and select the RESP protocol version at the same time"
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
