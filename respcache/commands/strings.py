"""String commands: GET, SET and friends."""

from __future__ import annotations

from respcache.commands.args import INT64_MAX, INT64_MIN, parse_int
from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.errors import INVALID_EXPIRE, OVERFLOW, SYNTAX, WRONGTYPE, CommandError
from respcache.protocol.types import OK, Reply

# Largest relative expire Redis accepts before the absolute time overflows.
_MAX_EXPIRE_MS = INT64_MAX // 2


def get_string(c: Client, key: bytes) -> bytes | None:
    """The string value of a key for reading, None when missing, WRONGTYPE otherwise."""
    value = c.db.lookup(key)
    if value is None or type(value) is bytes:
        return value
    raise CommandError(WRONGTYPE)


@command(
    "get",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="string",
    summary="Get the value of a key",
    since="1.0.0",
    complexity="O(1)",
    acl="@read @string @fast",
)
def get(c: Client, argv: list[bytes]) -> Reply:
    value = c.db.lookup(argv[1])
    if value is None or type(value) is bytes:
        return value
    raise CommandError(WRONGTYPE)


def parse_expire_option(c: Client, option: bytes, arg: bytes, command_name: str) -> int:
    """Absolute expiry in unix ms from EX/PX/EXAT/PXAT and its argument."""
    amount = parse_int(arg)
    if amount <= 0:
        raise CommandError(INVALID_EXPIRE.format(command_name))
    if option in (b"ex", b"exat"):
        if amount > _MAX_EXPIRE_MS // 1000:
            raise CommandError(INVALID_EXPIRE.format(command_name))
        amount *= 1000
    if option in (b"ex", b"px"):
        if amount > _MAX_EXPIRE_MS:
            raise CommandError(INVALID_EXPIRE.format(command_name))
        amount += c.engine.keyspace.now_ms
    return amount


@command(
    "set",
    arity=-3,
    flags="write denyoom",
    keys=(1, 1, 1),
    group="string",
    summary="Set the string value of a key",
    since="1.0.0",
    complexity="O(1)",
    acl="@write @string @slow",
)
def set_(c: Client, argv: list[bytes]) -> Reply:
    key, value = argv[1], argv[2]
    db = c.db
    if len(argv) == 3:  # the common case, kept short
        db.set(key, value)
        c.modified(key, b"set", "$")
        return OK
    nx = xx = keepttl = want_get = False
    expire_at: int | None = None
    expire_kind = b""
    i = 3
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"nx" and not xx:
            nx = True
        elif opt == b"xx" and not nx:
            xx = True
        elif opt == b"get":
            want_get = True
        elif opt == b"keepttl" and not expire_kind:
            keepttl = True
        elif (
            opt in (b"ex", b"px", b"exat", b"pxat")
            and not keepttl
            and not expire_kind
            and i + 1 < n
        ):
            expire_kind = opt
            i += 1
            expire_at = parse_expire_option(c, opt, argv[i], "set")
        else:
            raise CommandError(SYNTAX)
        i += 1
    old = db.lookup_write(key)
    if want_get and old is not None and type(old) is not bytes:
        raise CommandError(WRONGTYPE)
    if (nx and old is not None) or (xx and old is None):
        return old if want_get else None
    db.set(key, value, keep_ttl=keepttl)
    c.modified(key, b"set", "$")
    if expire_at is not None:
        if expire_at <= c.engine.keyspace.now_ms and c.engine.keyspace.expire_keys:
            # Already in the past (EXAT/PXAT): the key is deleted at once, as in Redis.
            db.delete(key)
            c.modified(key, b"del", "g")
            c.propagate_as = [[b"DEL", key]]
        else:
            db.set_expire(key, expire_at)
            c.modified(key, b"expire", "g")
            # Replicas get the absolute time, never a relative one.
            rest = [a for a in _strip_expire(argv[3:])]
            c.propagate_as = [[b"SET", key, value, *rest, b"PXAT", b"%d" % expire_at]]
    return old if want_get else OK


def _strip_expire(options: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    skip = False
    for opt in options:
        if skip:
            skip = False
            continue
        low = opt.lower()
        if low in (b"ex", b"px", b"exat", b"pxat"):
            skip = True
            continue
        out.append(opt)
    return out


@command(
    "mget",
    arity=-2,
    flags="readonly fast",
    keys=(1, -1, 1),
    group="string",
    summary="Get the values of all the given keys",
    since="1.0.0",
    complexity="O(N) where N is the number of keys to retrieve.",
    acl="@read @string @fast",
)
def mget(c: Client, argv: list[bytes]) -> Reply:
    lookup = c.db.lookup
    out: list[Reply] = []
    for key in argv[1:]:
        value = lookup(key)
        out.append(value if type(value) is bytes else None)
    return out


@command(
    "mset",
    arity=-3,
    flags="write denyoom",
    keys=(1, -1, 2),
    group="string",
    summary="Set multiple keys to multiple values",
    since="1.0.1",
    complexity="O(N) where N is the number of keys to set.",
    acl="@write @string @slow",
)
def mset(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) % 2 == 0:
        raise CommandError("ERR wrong number of arguments for 'mset' command")
    db = c.db
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1])
        c.modified(argv[i], b"set", "$")
    return OK


def incr_by(c: Client, key: bytes, delta: int) -> int:
    db = c.db
    old = db.lookup_write(key)
    if old is None:
        current = 0
    elif type(old) is not bytes:
        raise CommandError(WRONGTYPE)
    else:
        current = parse_int(old)
    result = current + delta
    if not INT64_MIN <= result <= INT64_MAX:
        raise CommandError(OVERFLOW)
    db.set(key, b"%d" % result, keep_ttl=True)
    c.modified(key, b"incrby", "$")
    return result


@command(
    "incr",
    arity=2,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="string",
    summary="Increment the integer value of a key by one",
    since="1.0.0",
    complexity="O(1)",
    acl="@write @string @fast",
)
def incr(c: Client, argv: list[bytes]) -> Reply:
    return incr_by(c, argv[1], 1)


@command(
    "decr",
    arity=2,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="string",
    summary="Decrement the integer value of a key by one",
    since="1.0.0",
    complexity="O(1)",
    acl="@write @string @fast",
)
def decr(c: Client, argv: list[bytes]) -> Reply:
    return incr_by(c, argv[1], -1)


@command(
    "incrby",
    arity=3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="string",
    summary="Increment the integer value of a key by the given amount",
    since="1.0.0",
    complexity="O(1)",
    acl="@write @string @fast",
)
def incrby(c: Client, argv: list[bytes]) -> Reply:
    return incr_by(c, argv[1], parse_int(argv[2]))


@command(
    "decrby",
    arity=3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="string",
    summary="Decrement the integer value of a key by the given number",
    since="1.0.0",
    complexity="O(1)",
    acl="@write @string @fast",
)
def decrby(c: Client, argv: list[bytes]) -> Reply:
    delta = parse_int(argv[2])
    if delta == INT64_MIN:
        raise CommandError("ERR decrement would overflow")
    return incr_by(c, argv[1], -delta)
