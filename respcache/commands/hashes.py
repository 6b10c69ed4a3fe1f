"""Hash commands: HSET, HGET, HDEL, HINCRBY, HRANDFIELD, HSCAN and friends.

A hash is a :class:`~respcache.store.values.HashValue` (a ``dict`` field → value, which
keeps insertion order like Redis's listpack does). Random picks share the slot lists of
:mod:`respcache.commands.sets`; HINCRBYFLOAT computes in x87 long double like Redis,
with the helpers of :mod:`respcache.commands.strings`.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Final, cast

from respcache.commands.args import INT64_MAX, INT64_MIN, parse_int
from respcache.commands.client import Client, key_modified
from respcache.commands.registry import command
from respcache.commands.scan import parse_cursor, parse_scan_options, scan_step
from respcache.commands.sets import (
    forget,
    note_added,
    note_removed,
    notify_new,
    parse_random_count,
    random_element,
    random_elements,
)
from respcache.commands.strings import (
    _Infinite,
    format_long_double,
    ld_round,
    parse_long_double,
)
from respcache.errors import OVERFLOW, SYNTAX, WRONGTYPE, CommandError
from respcache.protocol.types import OK, Reply
from respcache.store.encoding import LIMITS
from respcache.store.values import HASH_FIELD_OVERHEAD, HashValue

_HALF_LONG_MAX: Final = INT64_MAX // 2


def field_cost(field: bytes, value: bytes) -> int:
    """Estimated bytes one field adds to a hash."""
    return HASH_FIELD_OVERHEAD + (len(field) & ~15) + (len(value) & ~15)


def is_listpack(value: HashValue) -> bool:
    if value.big or len(value) > LIMITS.hash_max_listpack_entries:  # converted once: for good
        return False
    limit = LIMITS.hash_max_listpack_value
    return all(len(f) <= limit and len(v) <= limit for f, v in value.items())


def encoding(value: HashValue) -> bytes:
    """OBJECT ENCODING of a hash: ``listpack`` or ``hashtable`` (decided from the contents;
    Redis never converts back, see docs/data-types.md)."""
    return b"listpack" if is_listpack(value) else b"hashtable"


def read_hash(c: Client, key: bytes) -> HashValue | None:
    value = c.db.lookup(key)
    if value is None or type(value) is HashValue:
        return value
    raise CommandError(WRONGTYPE)


def write_hash(c: Client, key: bytes) -> HashValue | None:
    value = c.db.lookup_write(key)
    if value is None or type(value) is HashValue:
        return value
    raise CommandError(WRONGTYPE)


def _create(c: Client, key: bytes) -> HashValue:
    value = HashValue()
    c.db.set(key, value)
    notify_new(c, key)
    return value


def set_fields(
    c: Client, key: bytes, value: HashValue, pairs: Iterable[tuple[bytes, bytes]]
) -> int:
    """Set fields (the last value wins for a repeated field); returns how many are new."""
    delta = 0
    added: list[bytes] = []
    long_item = False
    limit = LIMITS.hash_max_listpack_value
    for field, new in pairs:
        if len(field) > limit or len(new) > limit:
            long_item = True
        old = value.get(field)
        if old is None:
            delta += field_cost(field, new)
            added.append(field)
        else:
            delta += (len(new) & ~15) - (len(old) & ~15)
        value[field] = new
    if added:
        note_added(value, added)
    if not value.big and (long_item or len(value) > LIMITS.hash_max_listpack_entries):
        value.big = True  # Redis converts to hashtable here, and never back
    c.db.grow(value, delta)
    return len(added)


def _pairs(argv: list[bytes], start: int) -> Iterable[tuple[bytes, bytes]]:
    return zip(argv[start::2], argv[start + 1 :: 2], strict=True)


@command(
    "hset",
    arity=-4,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Set the string value of a hash field",
    since="2.0.0",
    complexity="O(1) for each field/value pair added, so O(N) to add N field/value pairs when "
    "the command is called with multiple field/value pairs.",
    acl="@write @hash @fast",
)
def hset(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) % 2 == 1:
        raise CommandError("ERR wrong number of arguments for 'hset' command")
    key = argv[1]
    value = write_hash(c, key)
    if value is None:
        value = _create(c, key)
    added = set_fields(c, key, value, _pairs(argv, 2))
    key_modified(c, key, b"hset", "h")
    return added


@command(
    "hmset",
    arity=-4,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Set multiple hash fields to multiple values",
    since="2.0.0",
    complexity="O(N) where N is the number of fields being set.",
    acl="@write @hash @fast",
)
def hmset(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) % 2 == 1:
        raise CommandError("ERR wrong number of arguments for 'hmset' command")
    key = argv[1]
    value = write_hash(c, key)
    if value is None:
        value = _create(c, key)
    set_fields(c, key, value, _pairs(argv, 2))
    key_modified(c, key, b"hset", "h")
    return OK


@command(
    "hsetnx",
    arity=4,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Set the value of a hash field, only if the field does not exist",
    since="2.0.0",
    complexity="O(1)",
    acl="@write @hash @fast",
)
def hsetnx(c: Client, argv: list[bytes]) -> Reply:
    key, field = argv[1], argv[2]
    value = write_hash(c, key)
    if value is not None and field in value:
        return 0
    if value is None:
        value = _create(c, key)
    set_fields(c, key, value, ((field, argv[3]),))
    key_modified(c, key, b"hset", "h")
    return 1


@command(
    "hget",
    arity=3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Get the value of a hash field",
    since="2.0.0",
    complexity="O(1)",
    acl="@read @hash @fast",
)
def hget(c: Client, argv: list[bytes]) -> Reply:
    value = read_hash(c, argv[1])
    return value.get(argv[2]) if value is not None else None


@command(
    "hmget",
    arity=-3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Get the values of all the given hash fields",
    since="2.0.0",
    complexity="O(N) where N is the number of fields being requested.",
    acl="@read @hash @fast",
)
def hmget(c: Client, argv: list[bytes]) -> Reply:
    value = read_hash(c, argv[1])
    if value is None:
        return [None] * (len(argv) - 2)
    get = value.get
    return [get(f) for f in argv[2:]]


@command(
    "hdel",
    arity=-3,
    flags="write fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Delete one or more hash fields",
    since="2.0.0",
    complexity="O(N) where N is the number of fields to be removed.",
    acl="@write @hash @fast",
)
def hdel(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    value = write_hash(c, key)
    if value is None:
        return 0
    delta = 0
    removed: list[bytes] = []
    for field in argv[2:]:
        old = value.pop(field, None)
        if old is not None:
            delta -= field_cost(field, old)
            removed.append(field)
    if not removed:
        return 0
    note_removed(value, removed)
    c.db.grow(value, delta)
    key_modified(c, key, b"hdel", "h")
    if not value:
        forget(value)
        c.db.delete(key)
        key_modified(c, key, b"del", "g")
    return len(removed)


@command(
    "hexists",
    arity=3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Determine if a hash field exists",
    since="2.0.0",
    complexity="O(1)",
    acl="@read @hash @fast",
)
def hexists(c: Client, argv: list[bytes]) -> Reply:
    value = read_hash(c, argv[1])
    return 1 if value is not None and argv[2] in value else 0


@command(
    "hgetall",
    arity=2,
    flags="readonly",
    keys=(1, 1, 1),
    group="hash",
    summary="Get all the fields and values in a hash",
    since="2.0.0",
    complexity="O(N) where N is the size of the hash.",
    acl="@read @hash @slow",
)
def hgetall(c: Client, argv: list[bytes]) -> Reply:
    value = read_hash(c, argv[1])
    return cast(Reply, dict(value)) if value is not None else {}


@command(
    "hkeys",
    arity=2,
    flags="readonly",
    keys=(1, 1, 1),
    group="hash",
    summary="Get all the fields in a hash",
    since="2.0.0",
    complexity="O(N) where N is the size of the hash.",
    acl="@read @hash @slow",
)
def hkeys(c: Client, argv: list[bytes]) -> Reply:
    value = read_hash(c, argv[1])
    return [*value] if value is not None else []


@command(
    "hvals",
    arity=2,
    flags="readonly",
    keys=(1, 1, 1),
    group="hash",
    summary="Get all the values in a hash",
    since="2.0.0",
    complexity="O(N) where N is the size of the hash.",
    acl="@read @hash @slow",
)
def hvals(c: Client, argv: list[bytes]) -> Reply:
    value = read_hash(c, argv[1])
    return [*value.values()] if value is not None else []


@command(
    "hlen",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Get the number of fields in a hash",
    since="2.0.0",
    complexity="O(1)",
    acl="@read @hash @fast",
)
def hlen(c: Client, argv: list[bytes]) -> Reply:
    value = read_hash(c, argv[1])
    return len(value) if value is not None else 0


@command(
    "hstrlen",
    arity=3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Get the length of the value of a hash field",
    since="3.2.0",
    complexity="O(1)",
    acl="@read @hash @fast",
)
def hstrlen(c: Client, argv: list[bytes]) -> Reply:
    value = read_hash(c, argv[1])
    if value is None:
        return 0
    field_value = value.get(argv[2])
    return len(field_value) if field_value is not None else 0


def _is_ll(data: bytes) -> int | None:
    """Redis's ``string2ll``: the value of a canonical int64, None otherwise."""
    if not 0 < len(data) <= 20:
        return None
    if data == b"0":
        return 0
    digits = data[1:] if data[:1] == b"-" else data
    if not digits.isdigit() or digits[:1] == b"0":
        return None
    number = int(data)
    return number if INT64_MIN <= number <= INT64_MAX else None


@command(
    "hincrby",
    arity=4,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Increment the integer value of a hash field by the given number",
    since="2.0.0",
    complexity="O(1)",
    acl="@write @hash @fast",
)
def hincrby(c: Client, argv: list[bytes]) -> Reply:
    key, field = argv[1], argv[2]
    incr = parse_int(argv[3])
    value = write_hash(c, key)
    current = 0
    if value is not None:
        old = value.get(field)
        if old is not None:
            parsed = _is_ll(old)
            if parsed is None:
                raise CommandError("ERR hash value is not an integer")
            current = parsed
    result = current + incr
    if not INT64_MIN <= result <= INT64_MAX:
        raise CommandError(OVERFLOW)
    if value is None:
        value = _create(c, key)
    set_fields(c, key, value, ((field, b"%d" % result),))
    key_modified(c, key, b"hincrby", "h")
    return result


@command(
    "hincrbyfloat",
    arity=4,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="hash",
    summary="Increment the float value of a hash field by the given amount",
    since="2.6.0",
    complexity="O(1)",
    acl="@write @hash @fast",
)
def hincrbyfloat(c: Client, argv: list[bytes]) -> Reply:
    key, field = argv[1], argv[2]
    try:
        incr = parse_long_double(argv[3])
    except _Infinite:
        raise CommandError("ERR value is NaN or Infinity") from None
    value = write_hash(c, key)
    current = Fraction(0)
    if value is not None:
        old = value.get(field)
        if old is not None:
            try:
                current = parse_long_double(old)
            except CommandError:
                raise CommandError("ERR hash value is not a float") from None
            except _Infinite:
                raise CommandError("ERR increment would produce NaN or Infinity") from None
    try:
        result = ld_round(current + incr)
    except _Infinite:
        raise CommandError("ERR increment would produce NaN or Infinity") from None
    new = format_long_double(result)
    if value is None:
        value = _create(c, key)
    set_fields(c, key, value, ((field, new),))
    key_modified(c, key, b"hincrbyfloat", "h")
    c.propagate_as = [[b"HSET", key, field, new]]
    return new


@command(
    "hrandfield",
    arity=-2,
    flags="readonly",
    keys=(1, 1, 1),
    group="hash",
    summary="Get one or multiple random fields from a hash",
    since="6.2.0",
    complexity="O(N) where N is the number of fields returned",
    acl="@read @hash @slow",
)
def hrandfield(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        value = read_hash(c, argv[1])
        return random_element(value) if value else None
    count = parse_random_count(argv[2])
    with_values = False
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withvalues"):
        raise CommandError(SYNTAX)
    if len(argv) == 4:
        with_values = True
        if not -_HALF_LONG_MAX <= count <= _HALF_LONG_MAX:
            raise CommandError("ERR value is out of range")
    value = read_hash(c, argv[1])
    if not value or count == 0:
        return []
    if count < 0:
        fields = random_elements(value, -count, distinct=False)
    elif count >= len(value):
        fields = list(value)
    else:
        fields = random_elements(value, count, distinct=True)
    if not with_values:
        return [*fields]
    if c.resp == 2:
        return [x for f in fields for x in (f, value[f])]
    return [[f, value[f]] for f in fields]


@command(
    "hscan",
    arity=-3,
    flags="readonly",
    keys=(1, 1, 1),
    group="hash",
    summary="Incrementally iterate hash fields and associated values",
    since="2.8.0",
    complexity="O(1) for every call. O(N) for a complete iteration, including enough command "
    "calls for the cursor to return back to 0. N is the number of elements inside the "
    "collection..",
    acl="@read @hash @slow",
)
def hscan(c: Client, argv: list[bytes]) -> Reply:
    cursor = parse_cursor(argv[2])
    key = argv[1]
    value = read_hash(c, key)
    if value is None:
        return [b"0", []]
    options = parse_scan_options(argv, 3, allow_type=False)
    if is_listpack(value):  # Redis returns a compact encoding whole, cursor 0
        next_cursor, fields = b"0", list(value)
    else:
        next_cursor, fields = scan_step(
            c.engine.keyspace,
            (c.db.id, key),
            cursor,
            options.count,
            lambda: list(value),
            value.__contains__,
        )
    match = options.match
    out: list[Reply] = []
    for field in fields:
        if match is None or match(field):
            out += (field, value[field])
    return [next_cursor, out]
