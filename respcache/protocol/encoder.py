"""Replies in, bytes out: the reply side of RESP2 and RESP3, without I/O.

:func:`encode` implements the table in :mod:`respcache.protocol.types`, picking the
writer from ``type(value)`` in a dict (one lookup, no ``isinstance`` chain); a
subclass of a table type that is not in the table itself is resolved once through its
MRO and remembered. Floats are written as Redis 7.0 writes doubles (``%.17g``; ``inf``,
``-inf``; ``nan``/``-nan`` as glibc prints them): a bulk string in RESP2
(``$19\\r\\n0.10000000000000001\\r\\n``), a double in RESP3 (``,0.10000000000000001\\r\\n``).
Simple strings and errors are encoded with UTF-8 and ``surrogateescape`` (so raw bytes
decoded that way come back unchanged); CR and LF in them become spaces, as Redis does
for error lines, so that a reply can never break the stream.

:func:`encode_command` writes a command as a RESP array of bulk strings (the
replication stream, tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Final

from respcache.errors import CommandError
from respcache.protocol.types import NULL_ARRAY, BigNumber, Push, Raw, Reply, Verbatim

__all__ = ["encode", "encode_command", "format_double"]

_Writer = Callable[[Any], bytes]


def encode(reply: Reply, resp3: bool = False) -> bytes:
    """The RESP bytes of ``reply`` (RESP2, or RESP3 when ``resp3``)."""
    table = _RESP3 if resp3 else _RESP2
    try:
        return table[type(reply)](reply)
    except KeyError:
        return _resolve(table, type(reply))(reply)


def encode_command(argv: Sequence[bytes]) -> bytes:
    """``argv`` as a RESP array of bulk strings, the form clients send commands in."""
    out = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        out += (b"$%d\r\n" % len(arg), arg, b"\r\n")
    return b"".join(out)


def format_double(value: float) -> bytes:
    """A double as Redis 7.0's ``addReplyDouble`` prints it (C's ``%.17g``)."""
    if value != value:  # NaN: glibc shows the sign bit, Python does not
        return b"-nan" if math.copysign(1.0, value) < 0 else b"nan"
    return b"%.17g" % value


# -- writers shared by both protocols -----------------------------------------


def _bulk(value: bytes) -> bytes:
    size = len(value)
    if size < 16384:
        return b"$%d\r\n%b\r\n" % (size, value)
    return b"".join((b"$%d\r\n" % size, value, b"\r\n"))  # %b is slow for big values


def _line(text: str) -> bytes:
    if "\r" in text or "\n" in text:
        text = text.replace("\r", " ").replace("\n", " ")
    return text.encode("utf-8", "surrogateescape")


def _simple(value: str) -> bytes:
    return b"+%b\r\n" % _line(value)


def _error(value: CommandError) -> bytes:
    return b"-%b\r\n" % _line(value.message)


def _integer(value: int) -> bytes:
    return b":%d\r\n" % value


def _raw(value: Raw) -> bytes:
    return value


# -- RESP2 --------------------------------------------------------------------


def _bool2(value: bool) -> bytes:
    return b":1\r\n" if value else b":0\r\n"


def _float2(value: float) -> bytes:
    return _bulk(format_double(value))


def _null2(value: None) -> bytes:
    return b"$-1\r\n"


def _null_array2(value: object) -> bytes:
    return b"*-1\r\n"


def _array2(value: Sequence[Reply]) -> bytes:
    out = [b"*%d\r\n" % len(value)]
    append = out.append
    table = _RESP2
    for item in value:
        if type(item) is bytes:
            out += (b"$%d\r\n" % len(item), item, b"\r\n")
        else:
            kind = type(item)
            writer = table.get(kind) or _resolve(table, kind)
            append(writer(item))
    return b"".join(out)


def _map2(value: dict[Reply, Reply]) -> bytes:
    out = [b"*%d\r\n" % (2 * len(value))]
    for key, item in value.items():
        out.append(encode(key))
        out.append(encode(item))
    return b"".join(out)


def _verbatim2(value: Verbatim) -> bytes:
    return _bulk(value.text)


def _big_number2(value: BigNumber) -> bytes:
    return _bulk(b"%d" % value)


# -- RESP3 --------------------------------------------------------------------


def _bool3(value: bool) -> bytes:
    return b"#t\r\n" if value else b"#f\r\n"


def _float3(value: float) -> bytes:
    return b",%b\r\n" % format_double(value)


def _null3(value: object) -> bytes:
    return b"_\r\n"


def _aggregate3(marker: bytes, value: Sequence[Reply] | set[Reply] | frozenset[Reply]) -> bytes:
    out = [b"%b%d\r\n" % (marker, len(value))]
    append = out.append
    table = _RESP3
    for item in value:
        if type(item) is bytes:
            out += (b"$%d\r\n" % len(item), item, b"\r\n")
        else:
            kind = type(item)
            writer = table.get(kind) or _resolve(table, kind)
            append(writer(item))
    return b"".join(out)


def _array3(value: Sequence[Reply]) -> bytes:
    return _aggregate3(b"*", value)


def _set3(value: set[Reply] | frozenset[Reply]) -> bytes:
    return _aggregate3(b"~", value)


def _push3(value: Push) -> bytes:
    return _aggregate3(b">", value)


def _map3(value: dict[Reply, Reply]) -> bytes:
    out = [b"%%%d\r\n" % len(value)]
    for key, item in value.items():
        out.append(encode(key, True))
        out.append(encode(item, True))
    return b"".join(out)


def _verbatim3(value: Verbatim) -> bytes:
    text = value.text
    return b"=%d\r\n%b:%b\r\n" % (len(text) + 4, value.format.encode("ascii"), text)


def _big_number3(value: BigNumber) -> bytes:
    return b"(%d\r\n" % value


_RESP2: Final[dict[type, _Writer]] = {
    bytes: _bulk,
    str: _simple,
    int: _integer,
    bool: _bool2,
    float: _float2,
    type(None): _null2,
    type(NULL_ARRAY): _null_array2,
    list: _array2,
    tuple: _array2,
    dict: _map2,
    set: _array2,
    frozenset: _array2,
    Verbatim: _verbatim2,
    Push: _array2,
    BigNumber: _big_number2,
    CommandError: _error,
    Raw: _raw,
}

_RESP3: Final[dict[type, _Writer]] = {
    **_RESP2,
    bool: _bool3,
    float: _float3,
    type(None): _null3,
    type(NULL_ARRAY): _null3,
    list: _array3,
    tuple: _array3,
    dict: _map3,
    set: _set3,
    frozenset: _set3,
    Verbatim: _verbatim3,
    Push: _push3,
    BigNumber: _big_number3,
}


def _resolve(table: dict[type, _Writer], kind: type) -> _Writer:
    """The writer of the nearest table type in ``kind``'s MRO, remembered for next time."""
    for base in kind.__mro__:
        writer = table.get(base)
        if writer is not None:
            table[kind] = writer
            return writer
    raise TypeError(f"cannot encode a {kind.__qualname__} as a RESP reply")
