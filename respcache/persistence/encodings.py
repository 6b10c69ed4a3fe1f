"""The compact encodings Redis stores inside RDB strings: listpack, ziplist, intset, zipmap.

Redis 7.0 writes listpacks (``src/listpack.c``) for small hashes and sorted sets and for
the nodes of a list's quicklist, and intsets (``src/intset.c``) for small sets of
integers. It still reads the ziplists (``src/ziplist.c``) and zipmaps (``src/zipmap.c``)
older versions wrote, converting them on load; so do we. Decoders return the elements as
``bytes`` (integers as their decimal text, as Redis hands them out); encoders take
``bytes`` and, like ``lpAppend``, store a canonical integer as an integer entry.

Every decoder validates as it goes and raises :class:`EncodingError` on anything that
does not parse (Redis's ``lpValidateIntegrity`` & co.); nothing here trusts a length.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from itertools import pairwise
from typing import Final

__all__ = [
    "EncodingError",
    "canonical_int",
    "intset_decode",
    "intset_encode",
    "listpack_decode",
    "listpack_encode",
    "ziplist_decode",
    "ziplist_encode",
    "zipmap_decode",
]

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
LP_EOF: Final = 0xFF
LP_HDR_SIZE: Final = 6


class EncodingError(ValueError):
    """A compact encoding that does not validate."""


def canonical_int(value: bytes) -> int | None:
    """The integer ``value`` spells if Redis's ``string2ll`` accepts it, else None."""
    n = len(value)
    if not 0 < n <= 20:
        return None
    if value == b"0":
        return 0
    digits = value[1:] if value[:1] == b"-" else value
    if not digits.isdigit() or digits[:1] == b"0" or not digits.isascii():
        return None
    number = int(value)
    return number if INT64_MIN <= number <= INT64_MAX else None


# --- listpack ------------------------------------------------------------------------------


def _backlen_size(length: int) -> int:
    if length <= 127:
        return 1
    if length < 16383:
        return 2
    if length < 2097151:
        return 3
    if length < 268435455:
        return 4
    return 5


def _backlen(length: int) -> bytes:
    size = _backlen_size(length)
    out = bytearray(size)
    out[0] = length >> (7 * (size - 1)) & (0x7F if size > 1 else 0xFF)
    for i in range(1, size):
        out[i] = (length >> (7 * (size - 1 - i)) & 127) | 128
    return bytes(out)


def _lp_int(number: int) -> bytes:
    if 0 <= number <= 127:
        return bytes((number,))
    if -4096 <= number <= 4095:
        u = number & 0x1FFF
        return bytes((0xC0 | (u >> 8), u & 0xFF))
    if -32768 <= number <= 32767:
        return b"\xf1" + struct.pack("<h", number)
    if -8388608 <= number <= 8388607:
        return b"\xf2" + (number & 0xFFFFFF).to_bytes(3, "little")
    if -(2**31) <= number < 2**31:
        return b"\xf3" + struct.pack("<i", number)
    return b"\xf4" + struct.pack("<q", number)


def _lp_entry(element: bytes) -> bytes:
    number = canonical_int(element) if len(element) <= 20 else None
    if number is not None:
        enc = _lp_int(number)
    else:
        n = len(element)
        if n < 64:
            enc = bytes((0x80 | n,)) + element
        elif n < 4096:
            enc = bytes((0xE0 | (n >> 8), n & 0xFF)) + element
        else:
            enc = b"\xf0" + struct.pack("<I", n) + element
    return enc + _backlen(len(enc))


def listpack_encode(elements: Iterable[bytes]) -> bytes:
    """A listpack holding ``elements`` in order."""
    entries = [_lp_entry(e) for e in elements]
    count = len(entries)
    body = b"".join(entries)
    total = LP_HDR_SIZE + len(body) + 1
    return struct.pack("<IH", total, count if count < 65535 else 65535) + body + b"\xff"


def listpack_decode(blob: bytes) -> list[bytes]:
    """The elements of a listpack (validated: sizes, terminator, count)."""
    n = len(blob)
    if n < LP_HDR_SIZE + 1:
        raise EncodingError("listpack too short")
    total, count = struct.unpack_from("<IH", blob)
    if total != n or blob[-1] != LP_EOF:
        raise EncodingError("listpack header does not match its size")
    out: list[bytes] = []
    append = out.append
    i = LP_HDR_SIZE
    end = n - 1
    try:
        while i < end:
            b = blob[i]
            if b < 0x80:
                append(b"%d" % b)
                size = 1
            elif b < 0xC0:
                length = b & 0x3F
                append(blob[i + 1 : i + 1 + length])
                size = 1 + length
            elif b < 0xE0:
                u = ((b & 0x1F) << 8) | blob[i + 1]
                append(b"%d" % (u - 0x2000 if u & 0x1000 else u))
                size = 2
            elif b < 0xF0:
                length = ((b & 0x0F) << 8) | blob[i + 1]
                append(blob[i + 2 : i + 2 + length])
                size = 2 + length
            elif b == 0xF0:
                (length,) = struct.unpack_from("<I", blob, i + 1)
                append(blob[i + 5 : i + 5 + length])
                size = 5 + length
            elif b == 0xF1:
                append(b"%d" % struct.unpack_from("<h", blob, i + 1)[0])
                size = 3
            elif b == 0xF2:
                u = int.from_bytes(blob[i + 1 : i + 4], "little")
                append(b"%d" % (u - (1 << 24) if u & 0x800000 else u))
                size = 4
            elif b == 0xF3:
                append(b"%d" % struct.unpack_from("<i", blob, i + 1)[0])
                size = 5
            elif b == 0xF4:
                append(b"%d" % struct.unpack_from("<q", blob, i + 1)[0])
                size = 9
            else:
                raise EncodingError(f"bad listpack entry encoding {b:#x}")
            back = _backlen_size(size)
            if blob[i + size : i + size + back] != _backlen(size):
                raise EncodingError("listpack entry with a bad back length")
            i += size + back
    except (IndexError, struct.error):
        raise EncodingError("listpack entry runs past the end") from None
    if i != end:
        raise EncodingError("listpack entries run past the end")
    if count != 65535 and count != len(out):
        raise EncodingError("listpack count does not match its entries")
    return out


# --- ziplist (read by Redis 7.0 from older files; written here for tests) ----------------------


def ziplist_decode(blob: bytes) -> list[bytes]:
    """The elements of a ziplist (RDB versions before 10)."""
    n = len(blob)
    if n < 11:
        raise EncodingError("ziplist too short")
    total, _tail, count = struct.unpack_from("<IIH", blob)
    if total != n or blob[-1] != 0xFF:
        raise EncodingError("ziplist header does not match its size")
    out: list[bytes] = []
    i = 10
    try:
        while blob[i] != 0xFF:
            i += 1 if blob[i] < 254 else 5  # prevlen
            b = blob[i]
            kind = b >> 6
            if kind == 0:
                length = b & 0x3F
                out.append(blob[i + 1 : i + 1 + length])
                i += 1 + length
            elif kind == 1:
                length = ((b & 0x3F) << 8) | blob[i + 1]
                out.append(blob[i + 2 : i + 2 + length])
                i += 2 + length
            elif kind == 2:
                (length,) = struct.unpack_from(">I", blob, i + 1)
                out.append(blob[i + 5 : i + 5 + length])
                i += 5 + length
            elif b == 0xC0:
                out.append(b"%d" % struct.unpack_from("<h", blob, i + 1)[0])
                i += 3
            elif b == 0xD0:
                out.append(b"%d" % struct.unpack_from("<i", blob, i + 1)[0])
                i += 5
            elif b == 0xE0:
                out.append(b"%d" % struct.unpack_from("<q", blob, i + 1)[0])
                i += 9
            elif b == 0xF0:
                u = int.from_bytes(blob[i + 1 : i + 4], "little")
                out.append(b"%d" % (u - (1 << 24) if u & 0x800000 else u))
                i += 4
            elif b == 0xFE:
                out.append(b"%d" % struct.unpack_from("<b", blob, i + 1)[0])
                i += 2
            elif 0xF1 <= b <= 0xFD:
                out.append(b"%d" % ((b & 0x0F) - 1))
                i += 1
            else:
                raise EncodingError(f"bad ziplist entry encoding {b:#x}")
            if i > n - 1:
                raise EncodingError("ziplist entry runs past the end")
    except (IndexError, struct.error):
        raise EncodingError("ziplist entry runs past the end") from None
    if i != n - 1:
        raise EncodingError("ziplist entries run past the end")
    if count != 65535 and count != len(out):
        raise EncodingError("ziplist count does not match its entries")
    return out


def _zl_body(element: bytes) -> bytes:
    number = canonical_int(element) if len(element) <= 20 else None
    if number is not None:
        if 0 <= number <= 12:
            return bytes((0xF1 + number,))
        if -128 <= number <= 127:
            return b"\xfe" + struct.pack("<b", number)
        if -32768 <= number <= 32767:
            return b"\xc0" + struct.pack("<h", number)
        if -8388608 <= number <= 8388607:
            return b"\xf0" + (number & 0xFFFFFF).to_bytes(3, "little")
        if -(2**31) <= number < 2**31:
            return b"\xd0" + struct.pack("<i", number)
        return b"\xe0" + struct.pack("<q", number)
    n = len(element)
    if n < 64:
        return bytes((n,)) + element
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF)) + element
    return b"\x80" + struct.pack(">I", n) + element


def ziplist_encode(elements: Iterable[bytes]) -> bytes:
    """A ziplist of ``elements`` (what Redis 6 wrote; used to test the reader)."""
    parts: list[bytes] = []
    prev = 0
    offset = 10
    tail = 10
    for element in elements:
        body = _zl_body(element)
        head = bytes((prev,)) if prev < 254 else b"\xfe" + struct.pack("<I", prev)
        entry = head + body
        tail = offset
        offset += len(entry)
        prev = len(entry)
        parts.append(entry)
    body_bytes = b"".join(parts)
    total = 10 + len(body_bytes) + 1
    count = len(parts)
    return struct.pack("<IIH", total, tail, min(count, 65535)) + body_bytes + b"\xff"


# --- intset --------------------------------------------------------------------------------------

_INTSET_FORMATS: Final = {2: "h", 4: "i", 8: "q"}


def intset_encode(numbers: Iterable[int]) -> bytes:
    """An intset of distinct integers (sorted here), in the narrowest width that fits them."""
    values = sorted(numbers)
    width = 2
    if values and (values[0] < -(2**15) or values[-1] >= 2**15):
        width = 4
    if values and (values[0] < -(2**31) or values[-1] >= 2**31):
        width = 8
    fmt = _INTSET_FORMATS[width]
    return struct.pack(f"<II{len(values)}{fmt}", width, len(values), *values)


def intset_decode(blob: bytes) -> list[int]:
    """The integers of an intset (validated: width, size, strictly ascending)."""
    if len(blob) < 8:
        raise EncodingError("intset too short")
    width, count = struct.unpack_from("<II", blob)
    fmt = _INTSET_FORMATS.get(width)
    if fmt is None or len(blob) != 8 + width * count:
        raise EncodingError("intset header does not match its size")
    values = list(struct.unpack_from(f"<{count}{fmt}", blob, 8))
    if any(a >= b for a, b in pairwise(values)):
        raise EncodingError("intset not strictly ascending")
    return values


# --- zipmap (Redis 2.4 hashes; read only) ------------------------------------------------------------


def zipmap_decode(blob: bytes) -> list[bytes]:
    """The fields and values of a zipmap, flat (field, value, ...)."""
    out: list[bytes] = []
    i = 1
    try:
        while blob[i] != 0xFF:
            for is_value in (False, True):
                length = blob[i]
                if length == 254:
                    (length,) = struct.unpack_from("<I", blob, i + 1)
                    i += 5
                elif length == 255:
                    raise EncodingError("zipmap ends inside an entry")
                else:
                    i += 1
                free = 0
                if is_value:
                    free = blob[i]
                    i += 1
                if i + length > len(blob):
                    raise EncodingError("zipmap entry runs past the end")
                out.append(blob[i : i + length])
                i += length + free
    except (IndexError, struct.error):
        raise EncodingError("zipmap entry runs past the end") from None
    if i != len(blob) - 1:
        raise EncodingError("zipmap entries run past the end")
    return out
