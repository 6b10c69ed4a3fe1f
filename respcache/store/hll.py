"""Redis's HyperLogLog representation, byte for byte (``src/hyperloglog.c`` of Redis 7.0.15).

An HLL is an ordinary string: a 16-byte header (``HYLL``, the encoding, three unused
bytes, the cached cardinality little endian with its top bit meaning "stale") followed
by the registers, either *dense* (16384 registers of 6 bits, packed least significant
bit first, 12288 bytes) or *sparse* (run-length opcodes ZERO ``00xxxxxx``, XZERO
``01xxxxxx yyyyyyyy`` and VAL ``1vvvvvxx``). Every function here follows the C code
step by step, including the in-place sparse update with its five-opcode merge window and
the promotion to dense beyond ``hll-sparse-max-bytes``, so that the bytes a GET returns,
and so the counts, are exactly Redis's. Elements are hashed with MurmurHash64A (seed
``0xadc83b19``) and counted with Otmar Ertl's estimator as Redis does.

These are pure functions over ``bytearray`` (no keyspace, no commands); the commands are
in :mod:`respcache.commands.hyperloglog`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Final

P: Final = 14
Q: Final = 64 - P
REGISTERS: Final = 1 << P
P_MASK: Final = REGISTERS - 1
BITS: Final = 6
REGISTER_MAX: Final = (1 << BITS) - 1
HDR_SIZE: Final = 16
DENSE_SIZE: Final = HDR_SIZE + (REGISTERS * BITS + 7) // 8
DENSE: Final = 0
SPARSE: Final = 1
MAX_ENCODING: Final = 1
SEED: Final = 0xADC83B19

SPARSE_VAL_MAX_VALUE: Final = 32
SPARSE_VAL_MAX_LEN: Final = 4
SPARSE_ZERO_MAX_LEN: Final = 64
SPARSE_XZERO_MAX_LEN: Final = 16384
ALPHA_INF: Final = 0.721347520444481703680

_M64: Final = (1 << 64) - 1
_MURMUR_M: Final = 0xC6A4A7935BD1E995


class CorruptHLL(Exception):
    """The sparse representation does not cover exactly 16384 registers (Redis's C_ERR)."""


def murmurhash64a(data: bytes, seed: int = SEED) -> int:
    """MurmurHash2, 64-bit version, endian neutral as Redis modified it."""
    m = _MURMUR_M
    length = len(data)
    h = (seed ^ (length * m)) & _M64
    tail = length - (length & 7)
    for i in range(0, tail, 8):
        k = int.from_bytes(data[i : i + 8], "little")
        k = (k * m) & _M64
        k ^= k >> 47
        k = (k * m) & _M64
        h ^= k
        h = (h * m) & _M64
    rest = length & 7
    if rest:
        h ^= int.from_bytes(data[tail:], "little")
        h = (h * m) & _M64
    h ^= h >> 47
    h = (h * m) & _M64
    h ^= h >> 47
    return h


def pattern(element: bytes) -> tuple[int, int]:
    """Redis's ``hllPatLen``: (register index, length of the 000..1 run)."""
    h = murmurhash64a(element)
    index = h & P_MASK
    h >>= P
    h |= 1 << Q
    return index, (h & -h).bit_length()


# --- dense registers ------------------------------------------------------------------


def dense_get(data: bytes | bytearray, index: int) -> int:
    """Register ``index`` of a dense HLL (``data`` includes the header)."""
    bit = index * BITS
    byte = HDR_SIZE + (bit >> 3)
    fb = bit & 7
    b0 = data[byte]
    b1 = data[byte + 1] if byte + 1 < len(data) else 0
    return ((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX


def dense_put(data: bytearray, index: int, value: int) -> None:
    bit = index * BITS
    byte = HDR_SIZE + (bit >> 3)
    fb = bit & 7
    fb8 = 8 - fb
    data[byte] = (data[byte] & ~(REGISTER_MAX << fb) & 0xFF) | ((value << fb) & 0xFF)
    if byte + 1 < len(data):
        data[byte + 1] = (data[byte + 1] & ~(REGISTER_MAX >> fb8) & 0xFF) | (value >> fb8)


def dense_set(data: bytearray, index: int, count: int) -> int:
    """Raise register ``index`` to ``count``: 1 if it changed, else 0."""
    if count > dense_get(data, index):
        dense_put(data, index, count)
        return 1
    return 0


def dense_registers(data: bytes | bytearray) -> list[int]:
    """All 16384 registers of a dense HLL (three bytes hold four registers)."""
    regs = memoryview(data)[HDR_SIZE:DENSE_SIZE]
    out: list[int] = []
    append = out.append
    for a, b, c in zip(regs[0::3], regs[1::3], regs[2::3], strict=True):
        v = a | (b << 8) | (c << 16)
        append(v & 63)
        append((v >> 6) & 63)
        append((v >> 12) & 63)
        append(v >> 18)
    return out


def pack_dense(header: bytes | bytearray, registers: list[int]) -> bytearray:
    """A dense HLL with ``header`` (its encoding byte set to dense) and these registers."""
    out = bytearray(header[:HDR_SIZE])
    out[4] = DENSE
    body = bytearray(DENSE_SIZE - HDR_SIZE)
    j = 0
    for i in range(0, REGISTERS, 4):
        v = (
            registers[i]
            | (registers[i + 1] << 6)
            | (registers[i + 2] << 12)
            | (registers[i + 3] << 18)
        )
        body[j] = v & 0xFF
        body[j + 1] = (v >> 8) & 0xFF
        body[j + 2] = v >> 16
        j += 3
    out += body
    return out


# --- sparse representation -----------------------------------------------------------


def _val(value: int, length: int) -> int:
    return ((value - 1) << 2 | (length - 1)) | 0x80


def _zero_ops(length: int) -> bytes:
    if length > SPARSE_ZERO_MAX_LEN:
        n = length - 1
        return bytes(((n >> 8) | 0x40, n & 0xFF))
    return bytes((length - 1,))


def new_sparse() -> bytearray:
    """Redis's ``createHLLObject``: an empty sparse HLL (header + XZERO opcodes)."""
    out = bytearray(b"HYLL" + bytes((SPARSE, 0, 0, 0)) + bytes(8))
    left = REGISTERS
    while left:
        run = min(SPARSE_XZERO_MAX_LEN, left)
        out += _zero_ops(run)
        left -= run
    return out


def sparse_runs(data: bytes | bytearray) -> list[tuple[int, int]]:
    """The sparse opcodes as (value, run length) pairs, value 0 for ZERO/XZERO."""
    out: list[tuple[int, int]] = []
    p = HDR_SIZE
    end = len(data)
    while p < end:
        op = data[p]
        if op & 0xC0 == 0:
            out.append((0, (op & 0x3F) + 1))
            p += 1
        elif op & 0x80 == 0:
            low = data[p + 1] if p + 1 < end else 0
            out.append((0, (((op & 0x3F) << 8) | low) + 1))
            p += 2
        else:
            out.append((((op >> 2) & 0x1F) + 1, (op & 3) + 1))
            p += 1
    return out


def sparse_to_registers(data: bytes | bytearray) -> list[int]:
    """Registers of a sparse HLL, as ``hllSparseToDense``/``hllMerge`` read them."""
    regs = [0] * REGISTERS
    idx = 0
    for value, run in sparse_runs(data):
        if value:
            if run + idx > REGISTERS:
                break
            regs[idx : idx + run] = [value] * run
        idx += run
    if idx != REGISTERS:
        raise CorruptHLL
    return regs


def to_dense(data: bytearray) -> bytearray:
    """Redis's ``hllSparseToDense`` (a dense HLL is returned as it is)."""
    if data[4] == DENSE:
        return data
    return pack_dense(data, sparse_to_registers(data))


def sparse_set(data: bytearray, index: int, count: int, max_bytes: int) -> tuple[int, bytearray]:
    """Redis's ``hllSparseSet``: (1 changed / 0 not / -1 corrupt, the HLL afterwards, which
    is a new dense one when it had to be promoted)."""
    if count > SPARSE_VAL_MAX_VALUE:
        return _promote(data, index, count)
    end = len(data)
    p = HDR_SIZE
    first = 0
    prev = -1
    span = 0
    while p < end:
        op = data[p]
        oplen = 1
        if op & 0xC0 == 0:
            span = (op & 0x3F) + 1
        elif op & 0x80:
            span = (op & 3) + 1
        else:
            span = (((op & 0x3F) << 8) | (data[p + 1] if p + 1 < end else 0)) + 1
            oplen = 2
        if index <= first + span - 1:
            break
        prev = p
        p += oplen
        first += span
    if span == 0 or p >= end:
        return -1, data
    op = data[p]
    is_zero = op & 0xC0 == 0
    is_xzero = op & 0xC0 == 0x40
    if is_zero:
        runlen = (op & 0x3F) + 1
    elif is_xzero:
        runlen = span
    else:
        runlen = (op & 3) + 1
        if ((op >> 2) & 0x1F) + 1 >= count:
            return 0, data
    if runlen == 1 and not is_xzero:
        data[p] = _val(count, 1)
    else:
        last = first + span - 1
        seq = bytearray()
        if is_zero or is_xzero:
            if index != first:
                seq += _zero_ops(index - first)
            seq.append(_val(count, 1))
            if index != last:
                seq += _zero_ops(last - index)
        else:
            current = ((op >> 2) & 0x1F) + 1
            if index != first:
                seq.append(_val(current, index - first))
            seq.append(_val(count, 1))
            if index != last:
                seq.append(_val(current, last - index))
        oldlen = 2 if is_xzero else 1
        delta = len(seq) - oldlen
        if delta > 0 and len(data) + delta > max_bytes:
            return _promote(data, index, count)
        data[p : p + oldlen] = seq
        end += delta
    # Merge adjacent VAL opcodes of the same value, up to five opcodes from prev.
    p = prev if prev >= 0 else HDR_SIZE
    scan = 5
    while p < end and scan > 0:
        scan -= 1
        op = data[p]
        if op & 0xC0 == 0x40:
            p += 2
            continue
        if op & 0xC0 == 0:
            p += 1
            continue
        if p + 1 < end and data[p + 1] & 0x80:
            nxt = data[p + 1]
            v1 = ((op >> 2) & 0x1F) + 1
            if v1 == ((nxt >> 2) & 0x1F) + 1:
                length = (op & 3) + 1 + (nxt & 3) + 1
                if length <= SPARSE_VAL_MAX_LEN:
                    data[p + 1] = _val(v1, length)
                    del data[p]
                    end -= 1
                    continue
        p += 1
    invalidate(data)
    return 1, data


def _promote(data: bytearray, index: int, count: int) -> tuple[int, bytearray]:
    try:
        dense = to_dense(data)
    except CorruptHLL:
        return -1, data
    changed = dense_set(dense, index, count)
    assert changed == 1
    return 1, dense


def add(data: bytearray, element: bytes, max_bytes: int) -> tuple[int, bytearray]:
    """Redis's ``hllAdd``: (1 / 0 / -1, the HLL afterwards)."""
    index, count = pattern(element)
    encoding = data[4]
    if encoding == DENSE:
        return dense_set(data, index, count), data
    if encoding == SPARSE:
        return sparse_set(data, index, count, max_bytes)
    return -1, data


# --- header and validity ---------------------------------------------------------------


def is_valid(value: bytes) -> bool:
    """Redis's ``isHLLObjectOrReply`` checks on a string: magic, encoding, dense size."""
    if len(value) < HDR_SIZE or value[:4] != b"HYLL" or value[4] > MAX_ENCODING:
        return False
    return not (value[4] == DENSE and len(value) != DENSE_SIZE)


def invalidate(data: bytearray) -> None:
    data[15] |= 0x80


def cached(data: bytes | bytearray) -> int | None:
    """The cached cardinality, None when stale."""
    if data[15] & 0x80:
        return None
    return int.from_bytes(data[8:16], "little")


def set_cached(data: bytearray, card: int) -> None:
    data[8:16] = card.to_bytes(8, "little")


# --- counting --------------------------------------------------------------------------


def registers(data: bytes | bytearray) -> list[int]:
    """All registers of a valid HLL, dense or sparse (raises CorruptHLL)."""
    if data[4] == DENSE:
        return dense_registers(data)
    return sparse_to_registers(data)


def merge_into(maximum: list[int], data: bytes | bytearray) -> None:
    """Redis's ``hllMerge``: ``maximum[i] = max(maximum[i], register i)``."""
    for i, value in enumerate(registers(data)):
        if value > maximum[i]:
            maximum[i] = value


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_prime = z
        z += x * y
        y += y
        if z_prime == z:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        z_prime = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if z_prime == z:
            return z / 3


def histogram(data: bytes | bytearray) -> list[int]:
    """Register histogram (64 slots) of a valid HLL; CorruptHLL for a bad sparse one."""
    histo = [0] * 64
    if data[4] == DENSE:
        for value in dense_registers(data):
            histo[value] += 1
        return histo
    idx = 0
    for value, run in sparse_runs(data):
        idx += run
        if value < 64:
            histo[value] += run
    if idx != REGISTERS:
        raise CorruptHLL
    return histo


def estimate(histo: list[int]) -> int:
    """Redis's ``hllCount`` from a register histogram."""
    m = float(REGISTERS)
    z = m * _tau((m - histo[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    value = ALPHA_INF * m * m / z
    whole = math.floor(value)
    return whole + 1 if value - whole >= 0.5 else whole


def count_registers(regs: list[int]) -> int:
    histo = [0] * 64
    for value in regs:
        histo[value] += 1
    return estimate(histo)


# --- the sparse representation as a list of opcodes (fast path of many updates) ---------

_ZERO, _XZERO, _VAL = 0, 1, 2


class SparseOps:
    """A well-formed sparse HLL as a list of opcodes ``(kind, value, run)`` with the first
    register of each (``starts``), so that finding the opcode of a register is a bisection
    instead of a walk. :meth:`set` makes exactly the changes :func:`sparse_set` makes on
    the bytes (same splits, same merge window), so :meth:`to_bytes` gives the same string.
    """

    __slots__ = ("header", "nbytes", "ops", "starts")

    def __init__(self, header: bytes, ops: list[tuple[int, int, int]]) -> None:
        self.header = header
        self.ops = ops
        self.starts: list[int] = []
        total = 0
        nbytes = HDR_SIZE
        for kind, _value, run in ops:
            self.starts.append(total)
            total += run
            nbytes += 2 if kind == _XZERO else 1
        self.nbytes = nbytes

    @classmethod
    def parse(cls, data: bytes | bytearray) -> SparseOps | None:
        """None unless the opcodes cover exactly the 16384 registers, ending cleanly."""
        ops: list[tuple[int, int, int]] = []
        p = HDR_SIZE
        end = len(data)
        total = 0
        while p < end:
            op = data[p]
            if op & 0xC0 == 0:
                ops.append((_ZERO, 0, (op & 0x3F) + 1))
                p += 1
            elif op & 0x80 == 0:
                if p + 1 >= end:
                    return None
                ops.append((_XZERO, 0, (((op & 0x3F) << 8) | data[p + 1]) + 1))
                p += 2
            else:
                ops.append((_VAL, ((op >> 2) & 0x1F) + 1, (op & 3) + 1))
                p += 1
            total += ops[-1][2]
        if total != REGISTERS:
            return None
        return cls(bytes(data[:HDR_SIZE]), ops)

    def to_bytes(self) -> bytearray:
        out = bytearray(self.header)
        for kind, value, run in self.ops:
            if kind == _VAL:
                out.append(_val(value, run))
            elif kind == _ZERO:
                out.append(run - 1)
            else:
                out += bytes((((run - 1) >> 8) | 0x40, (run - 1) & 0xFF))
        return out

    def registers(self) -> list[int]:
        regs = [0] * REGISTERS
        for (kind, value, run), start in zip(self.ops, self.starts, strict=True):
            if kind == _VAL:
                regs[start : start + run] = [value] * run
        return regs

    @staticmethod
    def _zeros(run: int) -> tuple[int, int, int]:
        return (_XZERO, 0, run) if run > SPARSE_ZERO_MAX_LEN else (_ZERO, 0, run)

    def set(self, index: int, count: int, max_bytes: int) -> int:
        """1 changed, 0 not, 2: must be promoted to dense (nothing changed)."""
        if count > SPARSE_VAL_MAX_VALUE:
            return 2
        ops, starts = self.ops, self.starts
        k = bisect_right(starts, index) - 1
        kind, value, run = ops[k]
        first = starts[k]
        if kind == _VAL and value >= count:
            return 0
        if run == 1 and kind != _XZERO:
            ops[k] = (_VAL, count, 1)
        else:
            last = first + run - 1
            seq: list[tuple[int, int, int]] = []
            if kind == _VAL:
                if index != first:
                    seq.append((_VAL, value, index - first))
                seq.append((_VAL, count, 1))
                if index != last:
                    seq.append((_VAL, value, last - index))
            else:
                if index != first:
                    seq.append(self._zeros(index - first))
                seq.append((_VAL, count, 1))
                if index != last:
                    seq.append(self._zeros(last - index))
            size = sum(2 if op[0] == _XZERO else 1 for op in seq)
            delta = size - (2 if kind == _XZERO else 1)
            if delta > 0 and self.nbytes + delta > max_bytes:
                return 2
            seq_starts = []
            at = first
            for op in seq:
                seq_starts.append(at)
                at += op[2]
            ops[k : k + 1] = seq
            starts[k : k + 1] = seq_starts
            self.nbytes += delta
        p = k - 1 if k > 0 else 0
        scan = 5
        while p < len(ops) and scan > 0:
            scan -= 1
            kind, value, run = ops[p]
            if kind != _VAL:
                p += 1
                continue
            if p + 1 < len(ops):
                nkind, nvalue, nrun = ops[p + 1]
                if nkind == _VAL and nvalue == value and run + nrun <= SPARSE_VAL_MAX_LEN:
                    ops[p + 1] = (_VAL, value, run + nrun)
                    starts[p + 1] = starts[p]
                    del ops[p]
                    del starts[p]
                    self.nbytes -= 1
                    continue
            p += 1
        return 1


def add_many(data: bytearray, elements: list[bytes], max_bytes: int) -> tuple[int, bytearray]:
    """PFADD's loop: (updates, the HLL afterwards); updates is -1 on a corrupt HLL (the HLL
    then holds what was done before)."""
    updated = 0
    if data[4] == SPARSE:
        ops = SparseOps.parse(data)
        if ops is None:  # malformed: the byte-level code decides what Redis would do
            for i, element in enumerate(elements):
                result, data = add(data, element, max_bytes)
                if result == -1:
                    return -1, data
                updated += result
                if data[4] == DENSE:
                    more, data = add_many(data, elements[i + 1 :], max_bytes)
                    return updated + more, data
            return updated, data
        for i, element in enumerate(elements):
            index, count = pattern(element)
            result = ops.set(index, count, max_bytes)
            if result == 2:
                dense = pack_dense(ops.header, ops.registers())
                dense_set(dense, index, count)
                more, dense = add_many(dense, elements[i + 1 :], max_bytes)
                return updated + 1 + more, dense
            updated += result
        out = ops.to_bytes()
        if updated:
            invalidate(out)
        return updated, out
    if data[4] != DENSE:
        return -1, data
    for element in elements:
        index, count = pattern(element)
        updated += dense_set(data, index, count)
    return updated, data


# --- whole-register-set operations at C speed (bytes.translate, big integers) ----------
#
# Registers as a 16384-byte string (one register per byte) let PFCOUNT and PFMERGE of
# several keys run without a Python loop over registers: unpacking and packing the dense
# 6-bit layout is done with translate tables on the three byte lanes, the per-register
# maximum with SWAR arithmetic on one big integer, the histogram with bytes.count.


def _table(fn: object) -> bytes:
    return bytes(fn(i) & 0xFF for i in range(256))  # type: ignore[operator]


_AND63 = _table(lambda b: b & 63)
_SHR6 = _table(lambda b: b >> 6)
_AND15_SHL2 = _table(lambda b: (b & 15) << 2)
_SHR4 = _table(lambda b: b >> 4)
_AND3_SHL4 = _table(lambda b: (b & 3) << 4)
_SHR2 = _table(lambda b: b >> 2)
_AND3_SHL6 = _table(lambda b: (b & 3) << 6)
_AND15_SHL4 = _table(lambda b: (b & 15) << 4)
_SHL2 = _table(lambda b: b << 2)


def _or(a: bytes, b: bytes) -> bytes:
    """Byte-wise OR of two equal-length strings whose set bits never overlap."""
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


def unpack_dense(data: bytes | bytearray) -> bytes:
    """The 16384 registers of a dense HLL, one per byte."""
    regs = bytes(data[HDR_SIZE:DENSE_SIZE])
    b0, b1, b2 = regs[0::3], regs[1::3], regs[2::3]
    out = bytearray(REGISTERS)
    out[0::4] = b0.translate(_AND63)
    out[1::4] = _or(b0.translate(_SHR6), b1.translate(_AND15_SHL2))
    out[2::4] = _or(b1.translate(_SHR4), b2.translate(_AND3_SHL4))
    out[3::4] = b2.translate(_SHR2)
    return bytes(out)


def pack_registers(header: bytes | bytearray, regs: bytes) -> bytearray:
    """A dense HLL with ``header`` (encoding set to dense) and these registers (one a byte)."""
    r0, r1, r2, r3 = regs[0::4], regs[1::4], regs[2::4], regs[3::4]
    body = bytearray(DENSE_SIZE - HDR_SIZE)
    body[0::3] = _or(r0, r1.translate(_AND3_SHL6))
    body[1::3] = _or(r1.translate(_SHR2), r2.translate(_AND15_SHL4))
    body[2::3] = _or(r2.translate(_SHR4), r3.translate(_SHL2))
    out = bytearray(header[:HDR_SIZE])
    out[4] = DENSE
    out += body
    return out


def register_bytes(data: bytes | bytearray) -> bytes:
    """All registers of a valid HLL, one per byte (raises CorruptHLL for a bad sparse one)."""
    if data[4] == DENSE:
        return unpack_dense(data)
    regs = bytearray(REGISTERS)
    idx = 0
    for value, run in sparse_runs(data):
        if value:
            if run + idx > REGISTERS:
                break
            regs[idx : idx + run] = bytes((value,)) * run
        idx += run
    if idx != REGISTERS:
        raise CorruptHLL
    return bytes(regs)


_LANES_H = int.from_bytes(b"\x80" * REGISTERS, "little")
_LANES_ALL = (1 << (8 * REGISTERS)) - 1


def max_registers(a: bytes, b: bytes) -> bytes:
    """Per-register maximum of two register strings (values below 128), SWAR style."""
    x = int.from_bytes(a, "little")
    y = int.from_bytes(b, "little")
    ge = (((x | _LANES_H) - y) & _LANES_H) >> 7  # 1 in each lane where x >= y
    mask = (ge << 8) - ge  # 0xff in those lanes
    return ((x & mask) | (y & ~mask & _LANES_ALL)).to_bytes(REGISTERS, "little")


def count_register_bytes(regs: bytes) -> int:
    return estimate([regs.count(bytes((v,))) for v in range(64)])
