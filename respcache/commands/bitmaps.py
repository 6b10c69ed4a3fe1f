"""Bitmap commands (Redis 7.0's ``bitmap`` group): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
BITFIELD and BITFIELD_RO, following ``src/bitops.c`` of Redis 7.0.15.

Bitmaps are ordinary strings (``bytes`` in the store), bit 0 being the most significant
bit of the first byte. Whole-string work is done by CPython's C loops, never bit by bit
in Python: ``int.from_bytes(...).bit_count()`` for BITCOUNT, big integers for BITOP,
``bytes.lstrip`` to skip whole 0x00 / 0xff bytes in BITPOS. A write builds a new
``bytes`` (the store's strings are immutable), grown with zero bytes as Redis's
``sdsgrowzero`` does, so memory accounting goes through ``Database.set``.

Like Redis's ``lookupStringForBitCommand`` (which unshares the value), every write leaves
a ``raw``-encoded string; a write that changes nothing (same bit, no growth) is neither
notified nor replicated.
"""

from __future__ import annotations

from typing import Final

from respcache.commands.args import INT64_MAX, parse_int
from respcache.commands.client import Client
from respcache.commands.introspection import GETKEYS_PROCS
from respcache.commands.registry import command
from respcache.commands.sets import notify_new
from respcache.commands.strings import mark_encoding
from respcache.errors import SYNTAX, WRONGTYPE, CommandError
from respcache.protocol.types import Reply

BIT_OFFSET_ERROR: Final = "ERR bit offset is not an integer or out of range"
BIT_VALUE_ERROR: Final = "ERR bit is not an integer or out of range"
BITFIELD_TYPE_ERROR: Final = (
    "ERR Invalid bitfield type. Use something like i16 u8. "
    "Note that u64 is not supported but i64 is."
)
_U64: Final = 1 << 64

# --- helpers -------------------------------------------------------------------------


def bit_offset(c: Client, arg: bytes, bits: int = 0) -> int:
    """Redis's ``getBitOffsetFromArgument``: a bit offset within ``proto-max-bulk-len``.

    With ``bits`` (BITFIELD), ``#N`` means ``N * bits``.
    """
    use_hash = bits > 0 and arg[:1] == b"#"
    offset = parse_int(arg[1:] if use_hash else arg, BIT_OFFSET_ERROR)
    if use_hash:
        offset *= bits
        # C multiplies in a signed 64-bit integer.
        offset = (offset + (1 << 63)) % _U64 - (1 << 63)
    if offset < 0 or (not c.is_master and (offset >> 3) >= c.engine.config.proto_max_bulk_len):
        raise CommandError(BIT_OFFSET_ERROR)
    return offset


def _read_string(c: Client, key: bytes) -> bytes | None:
    value = c.db.lookup(key)
    if value is None or type(value) is bytes:
        return value
    raise CommandError(WRONGTYPE)


def _for_write(c: Client, key: bytes, max_bit: int) -> tuple[bytes | None, bytearray]:
    """Redis's ``lookupStringForBitCommand``: (the old value or None, a zero-padded copy
    long enough to address ``max_bit``)."""
    old = c.db.lookup_write(key)
    if old is None:
        return None, bytearray((max_bit >> 3) + 1)
    if type(old) is not bytes:
        raise CommandError(WRONGTYPE)
    buf = bytearray(old)
    need = (max_bit >> 3) + 1
    if len(buf) < need:
        buf.extend(bytes(need - len(buf)))
    return old, buf


def _store(c: Client, key: bytes, old: bytes | None, buf: bytearray, changed: bool) -> None:
    """Write the result of a bit command back; ``changed``: notify and replicate."""
    db = c.db
    if old is None:
        new = bytes(buf)
        notify_new(c, key)
        db.set(key, new)
    elif changed or len(buf) != len(old):
        new = bytes(buf)
        db.set(key, new, keep_ttl=True)
    else:
        new = old  # unshared in Redis: raw from now on
    mark_encoding(c, key, new, "raw")
    if changed or old is None or len(buf) != len(old):
        c.modified(key, b"setbit", "$")


# --- SETBIT / GETBIT -----------------------------------------------------------------


@command(
    "setbit",
    arity=4,
    flags="write denyoom",
    keys=(1, 1, 1),
    group="bitmap",
    summary="Sets or clears the bit at offset in the string value stored at key",
    since="2.2.0",
    complexity="O(1)",
    acl="@write @bitmap @slow",
)
def setbit(c: Client, argv: list[bytes]) -> Reply:
    offset = bit_offset(c, argv[2])
    on = parse_int(argv[3], BIT_VALUE_ERROR)
    if on & ~1:
        raise CommandError(BIT_VALUE_ERROR)
    old, buf = _for_write(c, argv[1], offset)
    byte = offset >> 3
    mask = 1 << (7 - (offset & 7))
    was = buf[byte] & mask
    if on:
        buf[byte] |= mask
    else:
        buf[byte] &= ~mask & 0xFF
    _store(c, argv[1], old, buf, bool(was) != bool(on))
    return 1 if was else 0


@command(
    "getbit",
    arity=3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="bitmap",
    summary="Returns the bit value at offset in the string value stored at key",
    since="2.2.0",
    complexity="O(1)",
    acl="@read @bitmap @fast",
)
def getbit(c: Client, argv: list[bytes]) -> Reply:
    offset = bit_offset(c, argv[2])
    value = _read_string(c, argv[1])
    byte = offset >> 3
    if value is None or byte >= len(value):
        return 0
    return 1 if value[byte] & (1 << (7 - (offset & 7))) else 0


# --- BITCOUNT / BITPOS ---------------------------------------------------------------


def _unit(arg: bytes) -> bool:
    """BIT (True) or BYTE (False)."""
    word = arg.lower()
    if word == b"bit":
        return True
    if word == b"byte":
        return False
    raise CommandError(SYNTAX)


def _bit_range(start: int, end: int, total: int) -> tuple[int, int]:
    """Redis's index normalisation (negative from the end, clamped); may be empty."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    start = max(start, 0)
    end = max(end, 0)
    end = min(end, total - 1)
    return start, end


def popcount(data: bytes) -> int:
    """Set bits in ``data`` (Redis's ``redisPopcount``)."""
    return int.from_bytes(data, "big").bit_count()


@command(
    "bitcount",
    arity=-2,
    flags="readonly",
    keys=(1, 1, 1),
    group="bitmap",
    summary="Count set bits in a string",
    since="2.6.0",
    complexity="O(N)",
    acl="@read @bitmap @slow",
)
def bitcount(c: Client, argv: list[bytes]) -> Reply:
    value = _read_string(c, argv[1])
    if value is None:
        return 0
    n = len(argv)
    if n == 2:
        return popcount(value)
    if n not in (4, 5):
        raise CommandError(SYNTAX)
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    if start < 0 and end < 0 and start > end:
        return 0
    is_bit = _unit(argv[4]) if n == 5 else False
    total = len(value) * 8 if is_bit else len(value)
    start, end = _bit_range(start, end, total)
    if start > end:
        return 0
    if not is_bit:
        return popcount(value[start : end + 1])
    first, last = start >> 3, end >> 3
    number = int.from_bytes(value[first : last + 1], "big")
    number &= (1 << ((last - first + 1) * 8 - (start & 7))) - 1  # bits before start
    number >>= 7 - (end & 7)  # bits after end
    return number.bit_count()


def _first_bit(data: bytes | bytearray, bit: int) -> int:
    """Position of the first ``bit`` in ``data``, or -1 (Redis's ``redisBitpos`` with the
    "one past the end" answer for a missing 0 left to the caller)."""
    skip = b"\x00" if bit else b"\xff"
    rest = data.lstrip(skip)
    if not rest:
        return -1
    index = len(data) - len(rest)
    byte = rest[0] if bit else rest[0] ^ 0xFF
    return index * 8 + 8 - byte.bit_length()


@command(
    "bitpos",
    arity=-3,
    flags="readonly",
    keys=(1, 1, 1),
    group="bitmap",
    summary="Find first bit set or clear in a string",
    since="2.8.7",
    complexity="O(N)",
    acl="@read @bitmap @slow",
)
def bitpos(c: Client, argv: list[bytes]) -> Reply:
    bit = parse_int(argv[2])
    if bit not in (0, 1):
        raise CommandError("ERR The bit argument must be 1 or 0.")
    value = _read_string(c, argv[1])
    if value is None:
        return -1 if bit else 0
    n = len(argv)
    size = len(value)
    is_bit = False
    end_given = False
    if n in (4, 5, 6):
        start = parse_int(argv[3])
        if n == 6:
            is_bit = _unit(argv[5])
        if n >= 5:
            end = parse_int(argv[4])
            end_given = True
        else:
            end = size - 1
        total = size * 8 if is_bit else size
        start, end = _bit_range(start, end, total)
    elif n == 3:
        start, end = 0, size - 1
    else:
        raise CommandError(SYNTAX)
    if start > end:
        return -1
    if not is_bit:
        pos = _first_bit(value[start : end + 1], bit)
        if pos == -1:
            if bit or end_given:
                return -1
            return (end + 1) * 8
        return start * 8 + pos
    first, last = start >> 3, end >> 3
    segment = bytearray(value[first : last + 1])
    head = (0xFF << (8 - (start & 7))) & 0xFF  # bits before start in the first byte
    tail = (1 << (7 - (end & 7))) - 1  # bits after end in the last byte
    if bit:
        segment[0] &= ~head & 0xFF
        segment[-1] &= ~tail & 0xFF
    else:
        segment[0] |= head
        segment[-1] |= tail
    pos = _first_bit(segment, bit)
    return -1 if pos == -1 else first * 8 + pos


# --- BITOP ---------------------------------------------------------------------------

_OPS: Final = {b"and": "and", b"or": "or", b"xor": "xor", b"not": "not"}


@command(
    "bitop",
    arity=-4,
    flags="write denyoom",
    keys=(2, -1, 1),
    group="bitmap",
    summary="Perform bitwise operations between strings",
    since="2.6.0",
    complexity="O(N)",
    acl="@write @bitmap @slow",
)
def bitop(c: Client, argv: list[bytes]) -> Reply:
    op = _OPS.get(argv[1].lower())
    if op is None:
        raise CommandError(SYNTAX)
    if op == "not" and len(argv) != 4:
        raise CommandError("ERR BITOP NOT must be called with a single source key.")
    sources: list[bytes] = []
    for key in argv[3:]:
        value = c.db.lookup(key)
        if value is None:
            sources.append(b"")
        elif type(value) is bytes:
            sources.append(value)
        else:
            raise CommandError(WRONGTYPE)
    size = max(map(len, sources))
    target = argv[2]
    db = c.db
    if not size:
        if db.delete(target):
            c.modified(target, b"del", "g")
        return 0

    def number(data: bytes) -> int:
        return int.from_bytes(data, "big") << (8 * (size - len(data)))

    result = number(sources[0])
    if op == "not":
        result ^= (1 << (8 * size)) - 1
    elif op == "and":
        for data in sources[1:]:
            result &= number(data)
    elif op == "or":
        for data in sources[1:]:
            result |= number(data)
    else:
        for data in sources[1:]:
            result ^= number(data)
    new = result.to_bytes(size, "big")
    if db.lookup_write(target) is None:
        notify_new(c, target)
    db.set(target, new)
    mark_encoding(c, target, new, "raw")
    c.modified(target, b"set", "$")
    return size


# --- BITFIELD ------------------------------------------------------------------------

_GET, _SET, _INCRBY = 0, 1, 2
_WRAP, _SAT, _FAIL = 0, 1, 2
_OVERFLOW: Final = {b"wrap": _WRAP, b"sat": _SAT, b"fail": _FAIL}


def _bitfield_type(arg: bytes) -> tuple[bool, int]:
    """``i16`` → (signed, 16); u64 is refused as in Redis."""
    sign = arg[:1]
    if sign not in (b"i", b"u"):
        raise CommandError(BITFIELD_TYPE_ERROR)
    signed = sign == b"i"
    try:
        bits = parse_int(arg[1:])
    except CommandError:
        raise CommandError(BITFIELD_TYPE_ERROR) from None
    if bits < 1 or bits > (64 if signed else 63):
        raise CommandError(BITFIELD_TYPE_ERROR)
    return signed, bits


def _wrap64(value: int) -> int:
    """A C ``int64_t`` from an arbitrary integer (two's complement wrap)."""
    return (value + (1 << 63)) % _U64 - (1 << 63)


def _get_field(buf: bytes | bytearray, offset: int, bits: int, signed: bool) -> int:
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    chunk = bytes(buf[first : last + 1])
    chunk += bytes(last + 1 - first - len(chunk))
    number = int.from_bytes(chunk, "big")
    number >>= (last + 1) * 8 - (offset + bits)
    number &= (1 << bits) - 1
    if signed and number >> (bits - 1):
        number -= 1 << bits
    return number


def _set_field(buf: bytearray, offset: int, bits: int, value: int) -> None:
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    width = (last + 1 - first) * 8
    shift = width - (offset - first * 8) - bits
    number = int.from_bytes(buf[first : last + 1], "big")
    mask = ((1 << bits) - 1) << shift
    number = (number & ~mask) | ((value << shift) & mask)
    buf[first : last + 1] = number.to_bytes(last + 1 - first, "big")


def _unsigned_overflow(value: int, incr: int, bits: int, owtype: int) -> tuple[bool, int]:
    """Redis's ``checkUnsignedBitfieldOverflow``: (overflowed, the value to store)."""
    value %= _U64  # a C uint64_t
    top = (1 << bits) - 1
    maxincr = _wrap64(top - value)
    minincr = _wrap64(-value)
    if value > top or (incr > 0 and incr > maxincr):
        if owtype == _SAT:
            return True, top
    elif incr < 0 and incr < minincr:
        if owtype == _SAT:
            return True, 0
    else:
        return False, value + incr
    return True, (value + incr) % _U64 & top


def _signed_overflow(value: int, incr: int, bits: int, owtype: int) -> tuple[bool, int]:
    """Redis's ``checkSignedBitfieldOverflow``: (overflowed, the value to store)."""
    top = INT64_MAX if bits == 64 else (1 << (bits - 1)) - 1
    bottom = -top - 1
    maxincr = _wrap64(top - value)
    minincr = _wrap64(bottom - value)
    if (
        value > top
        or (bits != 64 and incr > maxincr)
        or (value >= 0 and incr > 0 and incr > maxincr)
    ):
        if owtype == _SAT:
            return True, top
    elif (
        value < bottom
        or (bits != 64 and incr < minincr)
        or (value < 0 and incr < 0 and incr < minincr)
    ):
        if owtype == _SAT:
            return True, bottom
    else:
        return False, value + incr
    wrapped = (value + incr) % _U64
    if bits < 64:
        wrapped &= (1 << bits) - 1
        if wrapped >> (bits - 1):
            wrapped -= 1 << bits
    return True, _wrap64(wrapped)


def _bitfield(c: Client, argv: list[bytes], readonly_command: bool) -> Reply:
    ops: list[tuple[int, int, int, int, int, bool]] = []  # op, offset, value, ow, bits, sign
    owtype = _WRAP
    readonly = True
    highest = 0
    j = 2
    n = len(argv)
    while j < n:
        remaining = n - j - 1
        sub = argv[j].lower()
        if sub == b"get" and remaining >= 2:
            opcode = _GET
        elif sub == b"set" and remaining >= 3:
            opcode = _SET
        elif sub == b"incrby" and remaining >= 3:
            opcode = _INCRBY
        elif sub == b"overflow" and remaining >= 1:
            kind = _OVERFLOW.get(argv[j + 1].lower())
            if kind is None:
                raise CommandError("ERR Invalid OVERFLOW type specified")
            owtype = kind
            j += 2
            continue
        else:
            raise CommandError(SYNTAX)
        signed, bits = _bitfield_type(argv[j + 1])
        offset = bit_offset(c, argv[j + 2], bits)
        number = 0
        if opcode != _GET:
            readonly = False
            highest = max(highest, offset + bits - 1)
            number = parse_int(argv[j + 3])
        ops.append((opcode, offset, number, owtype, bits, signed))
        j += 4 if opcode != _GET else 3
    key = argv[1]
    if readonly:
        value = _read_string(c, key)
        return [_get_field(value or b"", off, bits, sign) for _op, off, _v, _ow, bits, sign in ops]
    if readonly_command:
        raise CommandError("ERR BITFIELD_RO only supports the GET subcommand")
    old, buf = _for_write(c, key, highest)
    grew = old is None or len(buf) != len(old)
    changes = 0
    out: list[Reply] = []
    for opcode, offset, number, ow, bits, signed in ops:
        if opcode == _GET:
            out.append(_get_field(buf, offset, bits, signed))
            continue
        current = _get_field(buf, offset, bits, signed)
        check = _signed_overflow if signed else _unsigned_overflow
        if opcode == _INCRBY:
            overflow, new = check(current, number, bits, ow)
            reply = new
        else:
            overflow, new = check(number, 0, bits, ow)
            reply = current
        if overflow and ow == _FAIL:
            out.append(None)
            continue
        if not signed:
            new %= _U64
            reply %= _U64
        out.append(reply)
        _set_field(buf, offset, bits, new)
        if grew or current != _get_field(buf, offset, bits, signed):
            changes += 1
    db = c.db
    if old is None:
        notify_new(c, key)
        stored = bytes(buf)
        db.set(key, stored)
    elif changes or grew:
        stored = bytes(buf)
        db.set(key, stored, keep_ttl=True)
    else:
        stored = old
    mark_encoding(c, key, stored, "raw")
    if changes:
        c.modified(key, b"setbit", "$")
    return out


@command(
    "bitfield",
    arity=-2,
    flags="write denyoom",
    keys=(1, 1, 1),
    group="bitmap",
    summary="Perform arbitrary bitfield integer operations on strings",
    since="3.2.0",
    complexity="O(1) for each subcommand specified",
    acl="@write @bitmap @slow",
)
def bitfield(c: Client, argv: list[bytes]) -> Reply:
    return _bitfield(c, argv, readonly_command=False)


@command(
    "bitfield_ro",
    arity=-2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="bitmap",
    summary="Perform arbitrary bitfield integer operations on strings. Read-only variant of "
    "BITFIELD",
    since="6.0.0",
    complexity="O(1) for each subcommand specified",
    acl="@read @bitmap @fast",
)
def bitfield_ro(c: Client, argv: list[bytes]) -> Reply:
    return _bitfield(c, argv, readonly_command=True)


def bitfield_keys(argv: list[bytes]) -> list[tuple[int, list[str]]]:
    """BITFIELD's key flags (Redis's ``bitfieldGetKeys``): read-only with only GET/OVERFLOW."""
    readonly = True
    i = 2
    while i < len(argv):
        remaining = len(argv) - i - 1
        word = argv[i].lower()
        if word == b"get" and remaining >= 2:
            i += 3
        elif word in (b"set", b"incrby") and remaining >= 3:
            readonly = False
            break
        elif word == b"overflow" and remaining >= 1:
            i += 2
        else:
            readonly = False  # a syntax error: safer to assume a write
            break
    if readonly:
        return [(1, ["RO", "access"])]
    return [(1, ["RW", "access", "update"])]


GETKEYS_PROCS["bitfield"] = bitfield_keys
