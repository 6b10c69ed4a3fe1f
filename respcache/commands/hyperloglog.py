"""HyperLogLog commands (Redis 7.0's ``hyperloglog`` group): PFADD, PFCOUNT, PFMERGE,
PFDEBUG and PFSELFTEST, following ``src/hyperloglog.c`` of Redis 7.0.15.

An HLL is a plain string in the store; :mod:`respcache.store.hll` holds its exact
representation, so GET of an HLL key returns Redis's bytes and the counts are Redis's.
As in Redis, PFCOUNT of one key writes the cardinality it computed into the header (a
change replicated like a write, although the command is read-only), and every command
that touches an HLL leaves the string ``raw`` (``dbUnshareStringValue``).

PFSELFTEST runs Redis's two checks (register access, then dense and sparse estimates
agreeing within bounds) on a smaller scale than Redis's ten million elements, which
would take minutes in Python: 10 register cycles, cardinalities up to 100000.
"""

from __future__ import annotations

import math
import random
from typing import Final

from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.commands.sets import notify_new
from respcache.commands.strings import mark_encoding
from respcache.errors import WRONGTYPE, CommandError
from respcache.protocol.types import OK, Reply
from respcache.store import hll

INVALID_HLL: Final = "INVALIDOBJ Corrupted HLL object detected"
NOT_HLL: Final = "WRONGTYPE Key is not a valid HyperLogLog string value."


def _check(value: object) -> bytes:
    """Redis's ``isHLLObjectOrReply``."""
    if type(value) is not bytes:
        raise CommandError(WRONGTYPE)
    if not hll.is_valid(value):
        raise CommandError(NOT_HLL)
    return value


def _max_bytes(c: Client) -> int:
    return c.engine.config.hll_sparse_max_bytes


def _store(c: Client, key: bytes, data: bytearray, created: bool) -> bytes:
    db = c.db
    value = bytes(data)
    if created:
        notify_new(c, key)
        db.set(key, value)
    else:
        db.set(key, value, keep_ttl=True)
    mark_encoding(c, key, value, "raw")
    return value


@command(
    "pfadd",
    arity=-2,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="hyperloglog",
    summary="Adds the specified elements to the specified HyperLogLog.",
    since="2.8.9",
    complexity="O(1) to add every element.",
    acl="@write @hyperloglog @fast",
)
def pfadd(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    old = c.db.lookup_write(key)
    updated = 0
    if old is None:
        data = hll.new_sparse()
        updated = 1
    else:
        data = bytearray(_check(old))
    result, data = hll.add_many(data, argv[2:], _max_bytes(c))
    if result == -1:
        _store(c, key, data, old is None)
        raise CommandError(INVALID_HLL)
    updated += result
    if updated:
        hll.invalidate(data)
        _store(c, key, data, old is None)
        c.modified(key, b"pfadd", "$")
    else:
        mark_encoding(c, key, _check(old), "raw")
    return 1 if updated else 0


@command(
    "pfcount",
    arity=-2,
    flags="readonly may_replicate",
    keys=(1, -1, 1),
    group="hyperloglog",
    summary="Return the approximated cardinality of the set(s) observed by the HyperLogLog "
    "at key(s).",
    since="2.8.9",
    complexity="O(1) with a very small average constant time when called with a single key. "
    "O(N) with N being the number of keys, and much bigger constant times, when called with "
    "multiple keys.",
    acl="@read @hyperloglog @slow",
)
def pfcount(c: Client, argv: list[bytes]) -> Reply:
    db = c.db
    if len(argv) > 2:
        maximum = bytes(hll.REGISTERS)
        for key in argv[1:]:
            value = db.lookup(key)
            if value is None:
                continue
            try:
                maximum = hll.max_registers(maximum, hll.register_bytes(_check(value)))
            except hll.CorruptHLL:
                raise CommandError(INVALID_HLL) from None
        return hll.count_register_bytes(maximum)
    key = argv[1]
    value = db.lookup(key)
    if value is None:
        return 0
    value = _check(value)
    card = hll.cached(value)
    if card is not None:
        mark_encoding(c, key, value, "raw")
        return card
    try:
        if value[4] == hll.DENSE:
            card = hll.count_register_bytes(hll.unpack_dense(value))
        else:
            card = hll.estimate(hll.histogram(value))
    except hll.CorruptHLL:
        raise CommandError(INVALID_HLL) from None
    data = bytearray(value)
    hll.set_cached(data, card)
    _store(c, key, data, created=False)
    c.modified(key)  # the cache is part of the value: replicated
    return card


@command(
    "pfmerge",
    arity=-2,
    flags="write denyoom",
    keys=(1, -1, 1),
    group="hyperloglog",
    summary="Merge N different HyperLogLogs into a single one.",
    since="2.8.9",
    complexity="O(N) to merge N HyperLogLogs, but with high constant times.",
    acl="@write @hyperloglog @slow",
)
def pfmerge(c: Client, argv: list[bytes]) -> Reply:
    db = c.db
    maximum = [0] * hll.REGISTERS
    use_dense = False
    for key in argv[1:]:
        value = db.lookup(key)
        if value is None:
            continue
        value = _check(value)
        if value[4] == hll.DENSE:
            use_dense = True
        try:
            hll.merge_into(maximum, value)
        except hll.CorruptHLL:
            raise CommandError(INVALID_HLL) from None
    dest = argv[1]
    old = db.lookup_write(dest)
    data = hll.new_sparse() if old is None else bytearray(_check(old))
    if use_dense:
        try:
            data = hll.to_dense(data)
        except hll.CorruptHLL:
            raise CommandError(INVALID_HLL) from None
    if data[4] == hll.DENSE:
        registers = hll.dense_registers(data)
        merged = [max(a, b) for a, b in zip(registers, maximum, strict=True)]
        data = hll.pack_dense(data, merged)
    else:
        max_bytes = _max_bytes(c)
        for index, value in enumerate(maximum):
            if not value:
                continue
            if data[4] == hll.DENSE:
                hll.dense_set(data, index, value)
            else:
                _result, data = hll.sparse_set(data, index, value, max_bytes)
    hll.invalidate(data)
    _store(c, dest, data, old is None)
    c.modified(dest, b"pfadd", "$")
    return OK


@command(
    "pfdebug",
    arity=3,
    flags="write denyoom admin",
    keys=(2, 2, 1),
    group="hyperloglog",
    summary="Internal commands for debugging HyperLogLog values",
    since="2.8.9",
    complexity="N/A",
    acl="@write @hyperloglog @admin @slow @dangerous",
)
def pfdebug(c: Client, argv: list[bytes]) -> Reply:
    sub = argv[1]
    key = argv[2]
    old = c.db.lookup_write(key)
    if old is None:
        raise CommandError("ERR The specified key does not exist")
    value = _check(old)
    mark_encoding(c, key, value, "raw")
    name = sub.lower()
    if name in (b"getreg", b"todense"):
        converted = False
        data = bytearray(value)
        if data[4] == hll.SPARSE:
            try:
                data = hll.to_dense(data)
            except hll.CorruptHLL:
                raise CommandError(INVALID_HLL) from None
            _store(c, key, data, created=False)
            c.modified(key)
            converted = True
        if name == b"todense":
            return 1 if converted else 0
        out: list[Reply] = list(hll.dense_registers(data))
        return out
    if name == b"decode":
        if value[4] != hll.SPARSE:
            raise CommandError("ERR HLL encoding is not sparse")
        return " ".join(fmt % args for fmt, args in _opcodes(value)).encode()
    if name == b"encoding":
        return "dense" if value[4] == hll.DENSE else "sparse"
    text = sub.decode("utf-8", "surrogateescape")
    raise CommandError(f"ERR Unknown PFDEBUG subcommand '{text}'")


def _opcodes(value: bytes) -> list[tuple[str, tuple[int, ...]]]:
    """The sparse opcodes as PFDEBUG DECODE prints them."""
    out: list[tuple[str, tuple[int, ...]]] = []
    p = hll.HDR_SIZE
    end = len(value)
    while p < end:
        op = value[p]
        if op & 0xC0 == 0:
            out.append(("z:%d", ((op & 0x3F) + 1,)))
            p += 1
        elif op & 0x80 == 0:
            low = value[p + 1] if p + 1 < end else 0
            out.append(("Z:%d", ((((op & 0x3F) << 8) | low) + 1,)))
            p += 2
        else:
            out.append(("v:%d,%d", (((op >> 2) & 0x1F) + 1, (op & 3) + 1)))
            p += 1
    return out


SELFTEST_CYCLES: Final = 10
SELFTEST_MAX: Final = 100_000


@command(
    "pfselftest",
    arity=1,
    flags="admin",
    group="hyperloglog",
    summary="An internal command for testing HyperLogLog values",
    since="2.8.9",
    complexity="N/A",
    acl="@hyperloglog @admin @slow @dangerous",
)
def pfselftest(c: Client, argv: list[bytes]) -> Reply:
    rng = random.Random()
    dense = bytearray(hll.DENSE_SIZE)
    for _ in range(SELFTEST_CYCLES):
        expected = [rng.randrange(hll.REGISTER_MAX + 1) for _ in range(hll.REGISTERS)]
        for i, value in enumerate(expected):
            hll.dense_put(dense, i, value)
        for i, value in enumerate(expected):
            got = hll.dense_get(dense, i)
            if got != value:
                raise CommandError(f"TESTFAILED Register {i} should be {value} but is {got}")
        if hll.dense_registers(dense) != expected:
            raise CommandError("TESTFAILED dense register decoding")
    dense = bytearray(hll.DENSE_SIZE)
    dense[:4] = b"HYLL"
    sparse = hll.new_sparse()
    max_bytes = _max_bytes(c)
    relerr = 1.04 / math.sqrt(hll.REGISTERS)
    checkpoint = 1
    seed = rng.getrandbits(64)
    for j in range(1, SELFTEST_MAX + 1):
        element = (j ^ seed).to_bytes(8, "little")
        index, count = hll.pattern(element)
        hll.dense_set(dense, index, count)
        _result, sparse = hll.add(sparse, element, max_bytes)
        if j != checkpoint:
            continue
        if j < max_bytes / 2 and sparse[4] != hll.SPARSE:
            raise CommandError("TESTFAILED sparse encoding not used")
        card = hll.estimate(hll.histogram(dense))
        if card != hll.estimate(hll.histogram(sparse)):
            raise CommandError("TESTFAILED dense/sparse disagree")
        maxerr = 1 if j == 10 else math.ceil(relerr * 6 * checkpoint)
        abserr = abs(checkpoint - card)
        if abserr > maxerr:
            raise CommandError(f"TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}")
        checkpoint *= 10
    return OK
