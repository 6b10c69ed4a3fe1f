"""String commands: GET, SET and every other command of Redis 7.0's ``string`` group.

Strings are plain ``bytes`` in the store. What Redis would report as their internal
encoding (``OBJECT ENCODING``) follows from the bytes by Redis's rule (``int`` for a
canonical 64-bit integer of at most 20 characters, ``embstr`` up to 44 bytes, ``raw``
beyond) except for values a command builds in place: APPEND and SETRANGE leave a
``raw`` string, INCRBYFLOAT an ``embstr`` even when it looks like an integer. Those
exceptions are remembered per key in a small bounded table (:func:`mark_encoding`),
holding the value object itself so that any later overwrite makes the mark stale.

INCRBYFLOAT computes in x87 80-bit ``long double`` like Redis (exact rational
arithmetic rounded to a 64-bit mantissa) and prints ``%.17Lf`` with trailing zeros
removed, so ``0.1 + 0.2`` is ``0.3`` as in Redis, not ``0.30000000000000004``.

Replication follows Redis: relative expiries go out as ``SET key value PXAT <ms>``,
``GETEX`` as ``PEXPIREAT``/``PERSIST``/``DEL``, ``GETSET`` as ``SET``, ``GETDEL`` as
``DEL``, ``INCRBYFLOAT`` as ``SET key <result> KEEPTTL``, ``SET ... GET`` without its
``GET``.
"""

from __future__ import annotations

import contextlib
import re
import weakref
from collections import OrderedDict
from fractions import Fraction
from typing import Final

from respcache.commands.args import INT64_MAX, INT64_MIN, parse_int
from respcache.commands.client import Client, key_modified
from respcache.commands.registry import command
from respcache.commands.sets import notify_new
from respcache.errors import (
    INVALID_EXPIRE,
    NOT_FLOAT,
    OVERFLOW,
    STRING_TOO_LONG,
    SYNTAX,
    WRONGTYPE,
    CommandError,
    wrong_arity,
)
from respcache.protocol.types import OK, Reply
from respcache.store.keyspace import Database, Keyspace

# --- helpers shared with other modules ---------------------------------------------------


def get_string(c: Client, key: bytes) -> bytes | None:
    """The string value of a key for reading, None when missing, WRONGTYPE otherwise."""
    value = c.db.lookup(key)
    if value is None or type(value) is bytes:
        return value
    raise CommandError(WRONGTYPE)


def check_string_length(c: Client, size: int) -> None:
    """Redis's ``checkStringLength``: refuse a string longer than ``proto-max-bulk-len``."""
    if size > c.engine.config.proto_max_bulk_len and not c.is_master:
        raise CommandError(STRING_TOO_LONG)


EMBSTR_SIZE_LIMIT: Final = 44
MAX_MARKS: Final = 65536


def is_canonical_int(value: bytes) -> bool:
    """Would Redis's ``string2ll`` accept it (and so store it ``int``-encoded)?"""
    if not 0 < len(value) <= 20:
        return False
    if value == b"0":
        return True
    digits = value[1:] if value[:1] == b"-" else value
    if not digits or not digits.isdigit() or digits[:1] == b"0":
        return False
    return INT64_MIN <= int(value) <= INT64_MAX


def rule_encoding(value: bytes) -> str:
    """The encoding Redis's ``tryObjectEncoding`` gives a string."""
    if len(value) <= 20 and is_canonical_int(value):
        return "int"
    return "embstr" if len(value) <= EMBSTR_SIZE_LIMIT else "raw"


_MARKS: weakref.WeakKeyDictionary[Keyspace, OrderedDict[tuple[int, bytes], tuple[bytes, str]]] = (
    weakref.WeakKeyDictionary()
)


def _marks(ks: Keyspace) -> OrderedDict[tuple[int, bytes], tuple[bytes, str]]:
    marks = _MARKS.get(ks)
    if marks is None:
        marks = _MARKS[ks] = OrderedDict()
    return marks


def mark_encoding(c: Client, key: bytes, value: bytes, encoding: str) -> None:
    """Remember that ``value`` (just stored at ``key``) has ``encoding`` despite the rule.

    For commands that build a string in place (APPEND, SETRANGE, SETBIT, PFADD...:
    ``raw``) or from a number (INCRBYFLOAT: ``embstr``). One-byte values are skipped:
    CPython shares them, so identity could not tell them apart.
    """
    marks = _marks(c.engine.keyspace)
    entry = (c.db.id, key)
    if encoding == rule_encoding(value) or len(value) <= 1:
        marks.pop(entry, None)
        return
    marks[entry] = (value, encoding)
    marks.move_to_end(entry)
    if len(marks) > MAX_MARKS:
        marks.popitem(last=False)


def string_encoding(ks: Keyspace, db: Database, key: bytes, value: bytes) -> str:
    """What OBJECT ENCODING answers for a string value stored at ``key``."""
    marks = _MARKS.get(ks)
    if marks:
        mark = marks.get((db.id, key))
        if mark is not None and mark[0] is value:
            return mark[1]
    return rule_encoding(value)


def move_mark(ks: Keyspace, src: tuple[int, bytes], dst: tuple[int, bytes], keep: bool) -> None:
    """The value moved (RENAME, MOVE) or was copied (COPY, ``keep``) to another key."""
    marks = _MARKS.get(ks)
    if not marks:
        return
    mark = marks.get(src) if keep else marks.pop(src, None)
    if mark is not None:
        marks[dst] = mark
    else:
        marks.pop(dst, None)


def swap_marks(ks: Keyspace, db1: int, db2: int) -> None:
    """SWAPDB: the marks follow the data to the other db number."""
    marks = _MARKS.get(ks)
    if not marks:
        return
    swap = {db1: db2, db2: db1}
    moved = [(k, v) for k, v in marks.items() if k[0] in swap]
    for k, _ in moved:
        del marks[k]
    for (db, key), v in moved:
        marks[(swap[db], key)] = v


# --- GET and SET -------------------------------------------------------------------------


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


# Option flags of SET and GETEX, as in Redis's parseExtendedStringArgumentsOrReply.
_NX, _XX, _EX, _PX, _KEEPTTL, _GET, _EXAT, _PXAT, _PERSIST = (1 << i for i in range(9))
_EXPIRE_FLAGS: Final = _EX | _PX | _EXAT | _PXAT
_OPTIONS: Final = {
    b"nx": _NX,
    b"xx": _XX,
    b"get": _GET,
    b"keepttl": _KEEPTTL,
    b"persist": _PERSIST,
    b"ex": _EX,
    b"px": _PX,
    b"exat": _EXAT,
    b"pxat": _PXAT,
}
# Which flags each option may not be combined with (repeating an option is allowed).
_CONFLICTS: Final = {
    _NX: _XX,
    _XX: _NX,
    _GET: 0,
    _KEEPTTL: _PERSIST | _EXPIRE_FLAGS,
    _PERSIST: _KEEPTTL | _EXPIRE_FLAGS,
    _EX: _KEEPTTL | _PERSIST | _PX | _EXAT | _PXAT,
    _PX: _KEEPTTL | _PERSIST | _EX | _EXAT | _PXAT,
    _EXAT: _KEEPTTL | _PERSIST | _EX | _PX | _PXAT,
    _PXAT: _KEEPTTL | _PERSIST | _EX | _PX | _EXAT,
}
_SET_ONLY: Final = _NX | _XX | _GET | _KEEPTTL


def _parse_extended(argv: list[bytes], start: int, for_set: bool) -> tuple[int, bytes | None]:
    """SET/GETEX options: (flags, the expire argument or None). Redis's exact rules."""
    flags = 0
    expire: bytes | None = None
    i = start
    n = len(argv)
    while i < n:
        flag = _OPTIONS.get(argv[i].lower(), 0)
        if (
            not flag
            or flags & _CONFLICTS[flag]
            or (flag & _SET_ONLY and not for_set)
            or (flag == _PERSIST and for_set)
            or (flag & _EXPIRE_FLAGS and i + 1 >= n)
        ):
            raise CommandError(SYNTAX)
        flags |= flag
        if flag & _EXPIRE_FLAGS:
            i += 1
            expire = argv[i]
        i += 1
    return flags, expire


def expire_at_ms(c: Client, arg: bytes, flags: int, command_name: str) -> int:
    """Redis's ``getExpireMillisecondsOrReply``: the absolute unix-ms time of EX/PX/EXAT/PXAT."""
    amount = parse_int(arg)
    seconds = bool(flags & (_EX | _EXAT))
    if amount <= 0 or (seconds and amount > INT64_MAX // 1000):
        raise CommandError(INVALID_EXPIRE.format(command_name))
    if seconds:
        amount *= 1000
    if flags & (_EX | _PX):
        amount += c.engine.keyspace.now_ms
    if amount > INT64_MAX:  # Redis sees the signed overflow as a negative time
        raise CommandError(INVALID_EXPIRE.format(command_name))
    return amount


def _set_generic(
    c: Client,
    argv: list[bytes],
    flags: int,
    key: bytes,
    value: bytes,
    expire_arg: bytes | None,
    command_name: str,
) -> tuple[bool, bytes | None]:
    """Redis's ``setGenericCommand`` minus the reply: (was the key set, old value for GET).

    Raises WRONGTYPE for ``GET`` on a non-string. Sets ``c.propagate_as`` when the
    command must replicate as something else than its own argv.
    """
    when = expire_at_ms(c, expire_arg, flags, command_name) if expire_arg is not None else None
    db = c.db
    old: bytes | None = None
    if flags & _GET:
        current = db.lookup(key)
        if current is not None:
            if not isinstance(current, bytes):
                raise CommandError(WRONGTYPE)
            old = current
    found = db.lookup_write(key) is not None
    if (flags & _NX and found) or (flags & _XX and not found):
        return False, old
    db.set(key, value, keep_ttl=bool(flags & _KEEPTTL) and found)
    if not found:
        notify_new(c, key)
    key_modified(c, key, b"set", "$")
    if when is not None:
        # Even a time already past is set, as Redis 7.0 does: the key then expires
        # lazily (an "expired" event and a DEL to the replicas).
        db.set_expire(key, when)
        key_modified(c, key, b"expire", "g")
        c.propagate_as = [[b"SET", key, value, b"PXAT", b"%d" % when]]
    elif flags & _GET:
        c.propagate_as = [argv[:3] + [a for a in argv[3:] if a.lower() != b"get"]]
    return True, old


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
    if len(argv) == 3:  # the common case, kept short
        db = c.db
        if c.engine.notify_hook is not None and db.lookup_write(key) is None:
            db.set(key, value)
            notify_new(c, key)
        else:
            db.set(key, value)
        key_modified(c, key, b"set", "$")
        return OK
    flags, expire = _parse_extended(argv, 3, for_set=True)
    done, old = _set_generic(c, argv, flags, key, value, expire, "set")
    if flags & _GET:
        return old
    return OK if done else None


@command(
    "setnx",
    arity=3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="string",
    summary="Set the value of a key, only if the key does not exist",
    since="1.0.0",
    complexity="O(1)",
    acl="@write @string @fast",
)
def setnx(c: Client, argv: list[bytes]) -> Reply:
    return 1 if _set_generic(c, argv, _NX, argv[1], argv[2], None, "setnx")[0] else 0


@command(
    "setex",
    arity=4,
    flags="write denyoom",
    keys=(1, 1, 1),
    group="string",
    summary="Set the value and expiration of a key",
    since="2.0.0",
    complexity="O(1)",
    acl="@write @string @slow",
)
def setex(c: Client, argv: list[bytes]) -> Reply:
    _set_generic(c, argv, _EX, argv[1], argv[3], argv[2], "setex")
    return OK


@command(
    "psetex",
    arity=4,
    flags="write denyoom",
    keys=(1, 1, 1),
    group="string",
    summary="Set the value and expiration in milliseconds of a key",
    since="2.6.0",
    complexity="O(1)",
    acl="@write @string @slow",
)
def psetex(c: Client, argv: list[bytes]) -> Reply:
    _set_generic(c, argv, _PX, argv[1], argv[3], argv[2], "psetex")
    return OK


@command(
    "getset",
    arity=3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="string",
    summary="Set the string value of a key and return its old value",
    since="1.0.0",
    complexity="O(1)",
    acl="@write @string @fast",
)
def getset(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    old = get_string(c, key)
    c.db.set(key, argv[2])
    if old is None:
        notify_new(c, key)
    key_modified(c, key, b"set", "$")
    c.propagate_as = [[b"SET", key, argv[2]]]
    return old


@command(
    "getdel",
    arity=2,
    flags="write fast",
    keys=(1, 1, 1),
    group="string",
    summary="Get the value of a key and delete the key",
    since="6.2.0",
    complexity="O(1)",
    acl="@write @string @fast",
)
def getdel(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    old = get_string(c, key)
    if old is not None and c.db.delete(key):
        key_modified(c, key, b"del", "g")
        c.propagate_as = [[b"DEL", key]]
    return old


@command(
    "getex",
    arity=-2,
    flags="write fast",
    keys=(1, 1, 1),
    group="string",
    summary="Get the value of a key and optionally set its expiration",
    since="6.2.0",
    complexity="O(1)",
    acl="@write @string @fast",
)
def getex(c: Client, argv: list[bytes]) -> Reply:
    flags, expire = _parse_extended(argv, 2, for_set=False)
    key = argv[1]
    value = get_string(c, key)
    if value is None:
        return None
    when = expire_at_ms(c, expire, flags, "getex") if expire is not None else None
    db = c.db
    ks = c.engine.keyspace
    if when is not None:
        if flags & (_EXAT | _PXAT) and when <= ks.now_ms and ks.expire_keys:
            db.delete(key)
            key_modified(c, key, b"del", "g")
            c.propagate_as = [[b"DEL", key]]
        else:
            db.set_expire(key, when)
            key_modified(c, key, b"expire", "g")
            c.propagate_as = [[b"PEXPIREAT", key, b"%d" % when]]
    elif flags & _PERSIST and db.persist(key):
        key_modified(c, key, b"persist", "g")
        c.propagate_as = [[b"PERSIST", key]]
    return value


# --- several keys -------------------------------------------------------------------------


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
        raise wrong_arity("mset")
    db = c.db
    notify = c.engine.notify_hook is not None
    for i in range(1, len(argv), 2):
        key = argv[i]
        new = notify and db.lookup_write(key) is None
        db.set(key, argv[i + 1])
        if new:
            notify_new(c, key)
        key_modified(c, key, b"set", "$")
    return OK


@command(
    "msetnx",
    arity=-3,
    flags="write denyoom",
    keys=(1, -1, 2),
    group="string",
    summary="Set multiple keys to multiple values, only if none of the keys exist",
    since="1.0.1",
    complexity="O(N) where N is the number of keys to set.",
    acl="@write @string @slow",
)
def msetnx(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) % 2 == 0:
        raise wrong_arity("msetnx")
    db = c.db
    for i in range(1, len(argv), 2):
        if db.lookup_write(argv[i]) is not None:
            return 0
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1])
        notify_new(c, argv[i])
        key_modified(c, argv[i], b"set", "$")
    return 1


# --- counters -----------------------------------------------------------------------------


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
    db.set(key, b"%d" % result, keep_ttl=old is not None)
    if old is None:
        notify_new(c, key)
    key_modified(c, key, b"incrby", "$")
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


# x87 80-bit long double: 64-bit mantissa, exponents down to 2**-16445 (subnormal).
_LD_MANTISSA: Final = 64
_LD_MIN_QUANTUM: Final = -16445
# (Fraction's power, not ``1 << 16320``: mypyc folds constant shifts into a literal, and
# Python will not read an int literal of 4913 digits back.)
_LD_MAX: Final = Fraction((1 << _LD_MANTISSA) - 1) * Fraction(2) ** (16384 - _LD_MANTISSA)
_LD_MAX_CHARS: Final = 5 * 1024  # Redis's MAX_LONG_DOUBLE_CHARS
_DECIMAL = re.compile(rb"([+-]?)(?:(\d+)\.?(\d*)|\.(\d+))(?:[eE]([+-]?\d+))?")
_HEXADECIMAL = re.compile(
    rb"([+-]?)0[xX](?:([0-9a-fA-F]+)\.?([0-9a-fA-F]*)|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?"
)
_INFINITY = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)


class _Infinite(Exception):
    """A long double operand or result is infinite."""


def ld_round(value: Fraction) -> Fraction:
    """Round an exact value to the nearest long double (ties to even); _Infinite on overflow."""
    if value == 0:
        return value
    a = abs(value)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if a < (Fraction(1 << e) if e >= 0 else Fraction(1, 1 << -e)):
        e -= 1
    quantum = max(e - (_LD_MANTISSA - 1), _LD_MIN_QUANTUM)
    scaled = a * (1 << -quantum) if quantum < 0 else a / (1 << quantum)
    units = round(scaled)  # Fraction rounds half to even
    rounded = Fraction(units) * (Fraction(1, 1 << -quantum) if quantum < 0 else (1 << quantum))
    if rounded > _LD_MAX:
        raise _Infinite
    return rounded if value > 0 else -rounded


def _exponent(text: bytes | None) -> int:
    """An exponent's value, saturated far beyond any long double's range."""
    if not text:
        return 0
    negative = text[:1] == b"-"
    digits = text.lstrip(b"+-").lstrip(b"0") or b"0"
    value = int(digits) if len(digits) <= 12 else 10**12
    return -value if negative else value


def parse_long_double(arg: bytes) -> Fraction:
    """A string as Redis's ``string2ld`` reads it: ``strtold`` rounding, whole string.

    Raises ``ERR value is not a valid float`` for what Redis rejects (spaces, NaN,
    overflow to HUGE_VAL, underflow to zero) and :class:`_Infinite` for "inf".
    """
    if not arg or len(arg) >= _LD_MAX_CHARS or arg[:1].isspace():
        raise CommandError(NOT_FLOAT)
    m = _DECIMAL.fullmatch(arg)
    if m is not None:
        sign, whole, frac, only_frac, exp = m.groups()
        digits = (whole or b"") + (frac or only_frac or b"")
        exp10 = _exponent(exp) - len(frac or only_frac or b"")
        significant = digits.lstrip(b"0")
        if not significant:
            return Fraction(0)
        magnitude = len(significant) + exp10  # value < 10**magnitude
        if magnitude - 1 > 4932:
            raise CommandError(NOT_FLOAT)  # overflow: HUGE_VAL
        if magnitude <= -4951:
            raise CommandError(NOT_FLOAT)  # underflow to zero
        exact = Fraction(_decimal_int(significant)) * Fraction(10) ** exp10
    else:
        m = _HEXADECIMAL.fullmatch(arg)
        if m is not None:
            sign, whole, frac, only_frac, exp = m.groups()
            fraction_digits = frac or only_frac or b""
            mantissa = int((whole or b"") + fraction_digits, 16)
            if mantissa == 0:
                return Fraction(0)
            exp2 = _exponent(exp) - 4 * len(fraction_digits)
            bits = mantissa.bit_length() + exp2  # value < 2**bits
            if bits - 1 > 16383:
                raise CommandError(NOT_FLOAT)
            if bits < -16446:
                raise CommandError(NOT_FLOAT)
            exact = Fraction(mantissa) * Fraction(2) ** exp2
        elif _INFINITY.fullmatch(arg):
            raise _Infinite
        else:
            raise CommandError(NOT_FLOAT)
    try:
        value = ld_round(exact)
    except _Infinite:
        raise CommandError(NOT_FLOAT) from None
    if value == 0:
        raise CommandError(NOT_FLOAT)
    return -value if sign == b"-" else value


# Python refuses int <-> decimal text beyond 4300 digits; long doubles reach 4933.
_CHUNK: Final = 10**4000


def _decimal_text(n: int) -> bytes:
    if n < _CHUNK:
        return b"%d" % n
    high, low = divmod(n, _CHUNK)
    return _decimal_text(high) + b"%04000d" % low


def _decimal_int(digits: bytes) -> int:
    if len(digits) <= 4000:
        return int(digits)
    return _decimal_int(digits[:-4000]) * _CHUNK + int(digits[-4000:])


def format_long_double(value: Fraction) -> bytes:
    """Redis's ``ld2string(..., LD_STR_HUMAN)``: ``%.17Lf`` without trailing zeros."""
    units = round(abs(value) * 10**17)
    whole, frac = divmod(units, 10**17)
    text = (_decimal_text(whole) + b".%017d" % frac).rstrip(b"0").rstrip(b".")
    if value < 0 and text != b"0":
        text = b"-" + text
    return text


def incr_float(old: bytes | None, increment: bytes) -> bytes:
    """``old + increment`` in long double, formatted as Redis stores it (also HINCRBYFLOAT).

    Errors: ``ERR value is not a valid float`` for either operand,
    ``ERR increment would produce NaN or Infinity`` for an infinite result.
    """
    try:
        base = parse_long_double(old) if old is not None else Fraction(0)
        delta = parse_long_double(increment)
        result = ld_round(base + delta)
    except _Infinite:
        # Redis parses both operands first; either being inf gives inf or NaN.
        if old is not None:
            _parse_or_inf(old)
        _parse_or_inf(increment)
        raise CommandError("ERR increment would produce NaN or Infinity") from None
    return format_long_double(result)


def _parse_or_inf(arg: bytes) -> None:
    with contextlib.suppress(_Infinite):
        parse_long_double(arg)


@command(
    "incrbyfloat",
    arity=3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="string",
    summary="Increment the float value of a key by the given amount",
    since="2.6.0",
    complexity="O(1)",
    acl="@write @string @fast",
)
def incrbyfloat(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    db = c.db
    old = db.lookup_write(key)
    if old is not None and type(old) is not bytes:
        raise CommandError(WRONGTYPE)
    new = incr_float(old, argv[2])
    db.set(key, new, keep_ttl=old is not None)
    if old is None:
        notify_new(c, key)
    mark_encoding(c, key, new, "embstr" if len(new) <= EMBSTR_SIZE_LIMIT else "raw")
    key_modified(c, key, b"incrbyfloat", "$")
    c.propagate_as = [[b"SET", key, new, b"KEEPTTL"]]
    return new


# --- substrings ---------------------------------------------------------------------------


@command(
    "append",
    arity=3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="string",
    summary="Append a value to a key",
    since="2.0.0",
    complexity=(
        "O(1). The amortized time complexity is O(1) assuming the appended value is small "
        "and the already present value is of any size, since the dynamic string library "
        "used by Redis will double the free space available on every reallocation."
    ),
    acl="@write @string @fast",
)
def append(c: Client, argv: list[bytes]) -> Reply:
    key, suffix = argv[1], argv[2]
    db = c.db
    old = db.lookup_write(key)
    if old is None:
        db.set(key, suffix)
        notify_new(c, key)
        new = suffix
    else:
        if type(old) is not bytes:
            raise CommandError(WRONGTYPE)
        check_string_length(c, len(old) + len(suffix))
        new = old + suffix
        db.set(key, new, keep_ttl=True)
        mark_encoding(c, key, new, "raw")
    key_modified(c, key, b"append", "$")
    return len(new)


@command(
    "strlen",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="string",
    summary="Get the length of the value stored in a key",
    since="2.2.0",
    complexity="O(1)",
    acl="@read @string @fast",
)
def strlen(c: Client, argv: list[bytes]) -> Reply:
    value = get_string(c, argv[1])
    return 0 if value is None else len(value)


def _getrange(c: Client, argv: list[bytes]) -> Reply:
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    value = get_string(c, argv[1])
    if value is None:
        return b""
    if start < 0 and end < 0 and start > end:
        return b""
    size = len(value)
    if start < 0:
        start += size
    if end < 0:
        end += size
    start = max(start, 0)
    end = max(end, 0)
    if end >= size:
        end = size - 1
    if start > end or size == 0:
        return b""
    return value[start : end + 1]


_GETRANGE_COMPLEXITY: Final = (
    "O(N) where N is the length of the returned string. The complexity is ultimately "
    "determined by the returned length, but because creating a substring from an existing "
    "string is very cheap, it can be considered O(1) for small strings."
)


@command(
    "getrange",
    arity=4,
    flags="readonly",
    keys=(1, 1, 1),
    group="string",
    summary="Get a substring of the string stored at a key",
    since="2.4.0",
    complexity=_GETRANGE_COMPLEXITY,
    acl="@read @string @slow",
)
def getrange(c: Client, argv: list[bytes]) -> Reply:
    return _getrange(c, argv)


@command(
    "substr",
    arity=4,
    flags="readonly",
    keys=(1, 1, 1),
    group="string",
    summary="Get a substring of the string stored at a key",
    since="1.0.0",
    complexity=_GETRANGE_COMPLEXITY,
    acl="@read @string @slow",
)
def substr(c: Client, argv: list[bytes]) -> Reply:
    return _getrange(c, argv)


@command(
    "setrange",
    arity=4,
    flags="write denyoom",
    keys=(1, 1, 1),
    group="string",
    summary="Overwrite part of a string at key starting at the specified offset",
    since="2.2.0",
    complexity=(
        "O(1), not counting the time taken to copy the new string in place. Usually, this "
        "string is very small so the amortized complexity is O(1). Otherwise, complexity is "
        "O(M) with M being the length of the value argument."
    ),
    acl="@write @string @slow",
)
def setrange(c: Client, argv: list[bytes]) -> Reply:
    key, patch = argv[1], argv[3]
    offset = parse_int(argv[2])
    if offset < 0:
        raise CommandError("ERR offset is out of range")
    db = c.db
    old = db.lookup_write(key)
    if old is None:
        if not patch:
            return 0
        check_string_length(c, offset + len(patch))
        base = b""
    else:
        if type(old) is not bytes:
            raise CommandError(WRONGTYPE)
        if not patch:
            return len(old)
        check_string_length(c, offset + len(patch))
        base = old
    if len(base) < offset:
        base += bytes(offset - len(base))
    new = base[:offset] + patch + base[offset + len(patch) :]
    db.set(key, new, keep_ttl=old is not None)
    if old is None:
        notify_new(c, key)
    mark_encoding(c, key, new, "raw")
    key_modified(c, key, b"setrange", "$")
    return len(new)


# --- LCS ----------------------------------------------------------------------------------


def _bitmasks(s: bytes) -> dict[int, int]:
    """For each byte value in ``s``, an int with bit ``j`` set where ``s[j]`` is that byte."""
    masks: dict[int, int] = {}
    zeros = bytes(256)
    for ch in set(s):
        table = bytearray(zeros.replace(b"\x00", b"0"))
        table[ch] = ord("1")
        masks[ch] = int(s.translate(bytes(table))[::-1], 2)
    return masks


def _lcs_rows(outer: bytes, inner: bytes, keep: bool) -> list[int]:
    """Bit-parallel LCS (Hyyrö): one bit vector per prefix of ``outer`` over ``inner``.

    After ``outer[:i]``, bit ``j`` of the vector is 0 exactly where
    ``LCS(outer[:i], inner[:j+1]) = LCS(outer[:i], inner[:j]) + 1``, so a prefix of
    ``inner`` of length j has ``j - popcount(low j bits)`` common characters.
    Returns every vector when ``keep``, else just the last.
    """
    masks = _bitmasks(inner)
    full = (1 << len(inner)) - 1
    v = full
    rows = [v]
    for ch in outer:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
        if keep:
            rows.append(v)
    return rows if keep else [v]


@command(
    "lcs",
    arity=-3,
    flags="readonly",
    keys=(1, 2, 1),
    group="string",
    summary="Find longest common substring",
    since="7.0.0",
    complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively",
    acl="@read @string @slow",
)
def lcs(c: Client, argv: list[bytes]) -> Reply:
    obj_a = c.db.lookup(argv[1])
    obj_b = c.db.lookup(argv[2])
    if (obj_a is not None and type(obj_a) is not bytes) or (
        obj_b is not None and type(obj_b) is not bytes
    ):
        raise CommandError("ERR The specified keys must contain string values")
    a = obj_a if type(obj_a) is bytes else b""
    b = obj_b if type(obj_b) is bytes else b""
    get_len = get_idx = with_match_len = False
    min_match_len = 0
    i = 3
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"idx":
            get_idx = True
        elif opt == b"len":
            get_len = True
        elif opt == b"withmatchlen":
            with_match_len = True
        elif opt == b"minmatchlen" and i + 1 < len(argv):
            min_match_len = max(0, parse_int(argv[i + 1]))
            i += 1
        else:
            raise CommandError(SYNTAX)
        i += 1
    if get_len and get_idx:
        raise CommandError("ERR If you want both the length and indexes, please just use IDX.")
    alen, blen = len(a), len(b)
    if (alen + 1) * (blen + 1) * 4 > c.engine.config.proto_max_bulk_len:
        raise CommandError(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
        )
    compute = get_idx or not get_len
    # Iterate over the shorter string (fewer Python steps); LCS(i, j) is symmetric.
    by_rows = alen <= blen
    rows = _lcs_rows(a, b, compute) if by_rows else _lcs_rows(b, a, compute)
    total = (blen if by_rows else alen) - rows[-1].bit_count()
    if not compute:
        return total

    def table(i: int, j: int) -> int:
        """LCS(a[:i], b[:j])."""
        if by_rows:
            return j - (rows[i] & ((1 << j) - 1)).bit_count()
        return i - (rows[j] & ((1 << i) - 1)).bit_count()

    # The backtrack of Redis's lcsCommand, choices and range emission included.
    result = bytearray(total)
    idx = total
    matches: list[Reply] = []
    arange_start, arange_end, brange_start, brange_end = alen, 0, 0, 0
    i, j = alen, blen
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if arange_start == alen:
                arange_start = arange_end = i - 1
                brange_start = brange_end = j - 1
            elif arange_start == i and brange_start == j:
                arange_start -= 1
                brange_start -= 1
            else:
                emit = True
            if arange_start == 0 or brange_start == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if table(i - 1, j) > table(i, j - 1):
                i -= 1
            else:
                j -= 1
            if arange_start != alen:
                emit = True
        if emit:
            match_len = arange_end - arange_start + 1
            if get_idx and (min_match_len == 0 or match_len >= min_match_len):
                match: list[Reply] = [[arange_start, arange_end], [brange_start, brange_end]]
                if with_match_len:
                    match.append(match_len)
                matches.append(match)
            arange_start = alen
    if get_idx:
        return {b"matches": matches, b"len": total}
    return bytes(result)
