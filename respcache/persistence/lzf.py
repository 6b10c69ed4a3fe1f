"""LZF, the compression of Redis's RDB strings (``src/lzf_c.c``, ``src/lzf_d.c``).

The format is a stream of chunks, each led by a control byte: below 32 it is a literal
run of ``ctrl + 1`` bytes; otherwise its top three bits are a back reference's length
(7 means "plus the next byte") and its low five bits, with the next byte, the distance
back. Any conforming compressor's output is readable by any decompressor, so ours need
not match Redis's byte for byte.

The C extension ``lzf`` (python-lzf, liblzf itself) does the work when it is installed;
the pure-Python functions below are the fallback and the reference the tests compare it
with. :func:`compress` follows Redis's ``rdbSaveLzfStringObject`` contract: it returns
``None`` when the data does not shrink below ``max_length``.
"""

from __future__ import annotations

from typing import Final

try:  # pragma: no cover - which branch runs depends on the installation
    import lzf as _lzf
except ImportError:  # pragma: no cover
    _lzf = None

__all__ = ["LzfError", "compress", "decompress", "py_compress", "py_decompress"]

MAX_LIT: Final = 1 << 5
MAX_OFF: Final = 1 << 13
MAX_REF: Final = (1 << 8) + (1 << 3)


class LzfError(ValueError):
    """Compressed data that does not decode to the announced length."""


def py_compress(data: bytes, max_length: int | None = None) -> bytes | None:
    """LZF-compress ``data``; None if the result would not be shorter than ``max_length``
    (default ``len(data) - 1``)."""
    limit = len(data) - 1 if max_length is None else max_length
    n = len(data)
    out = bytearray()
    table: dict[bytes, int] = {}
    lit_start = 0
    i = 0
    while i < n - 2:
        triple = data[i : i + 3]
        ref = table.get(triple)
        table[triple] = i
        if ref is not None and i - ref - 1 < MAX_OFF:
            off = i - ref - 1
            length = 3
            max_len = min(MAX_REF, n - i)
            while length < max_len and data[ref + length] == data[i + length]:
                length += 1
            _literals(out, data, lit_start, i)
            code = length - 2
            if code < 7:
                out.append((code << 5) | (off >> 8))
            else:
                out.append((7 << 5) | (off >> 8))
                out.append(code - 7)
            out.append(off & 0xFF)
            i += length
            lit_start = i
            if len(out) > limit:
                return None
            continue
        i += 1
    _literals(out, data, lit_start, n)
    if len(out) > limit or not out:
        return None
    return bytes(out)


def _literals(out: bytearray, data: bytes, start: int, end: int) -> None:
    while start < end:
        run = min(MAX_LIT, end - start)
        out.append(run - 1)
        out += data[start : start + run]
        start += run


def py_decompress(data: bytes, length: int) -> bytes:
    """Decompress LZF data that must expand to exactly ``length`` bytes."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if i + run > n:
                raise LzfError("Invalid LZF compressed string")
            out += data[i : i + run]
            i += run
        else:
            size = ctrl >> 5
            if size == 7:
                if i >= n:
                    raise LzfError("Invalid LZF compressed string")
                size += data[i]
                i += 1
            if i >= n:
                raise LzfError("Invalid LZF compressed string")
            ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
            i += 1
            if ref < 0:
                raise LzfError("Invalid LZF compressed string")
            for _ in range(size + 2):  # may overlap its own output: byte by byte
                out.append(out[ref])
                ref += 1
        if len(out) > length:
            raise LzfError("Invalid LZF compressed string")
    if len(out) != length:
        raise LzfError("Invalid LZF compressed string")
    return bytes(out)


def compress(data: bytes, max_length: int | None = None) -> bytes | None:
    """LZF-compress with liblzf when available; None when it does not shrink enough."""
    if _lzf is None:
        return py_compress(data, max_length)
    if max_length is None:
        max_length = len(data) - 1
    if max_length <= 0:
        return None
    result: bytes | None = _lzf.compress(data, max_length)
    return result


def decompress(data: bytes, length: int) -> bytes:
    """Decompress to exactly ``length`` bytes, or raise :class:`LzfError`."""
    if _lzf is None:
        return py_decompress(data, length)
    if length == 0:
        if data:
            raise LzfError("Invalid LZF compressed string")
        return b""
    result: bytes | None = _lzf.decompress(data, length)
    if result is None or len(result) != length:
        raise LzfError("Invalid LZF compressed string")
    return result
