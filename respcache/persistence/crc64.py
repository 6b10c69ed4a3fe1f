"""CRC-64/Jones, the checksum of RDB files and DUMP payloads (Redis ``src/crc64.c``).

Polynomial ``0xad93d23594c935a9``, reflected input and output, initial value 0, no final
xor: ``crc64(0, "123456789")`` is ``0xe9c6d914c4b8d9ca`` (the vector of crc64.c's own
test). ``crcmod``'s C extension computes it at memory speed; the table-driven pure-Python
version is the fallback and the reference in the tests. Both continue a running value,
so a file can be checksummed as it is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

__all__ = ["POLY", "crc64", "py_crc64"]

POLY: Final = 0xAD93D23594C935A9
_REFLECTED: Final = int(f"{POLY:064b}"[::-1], 2)


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE: Final = _table()


def py_crc64(data: bytes, crc: int = 0) -> int:
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def _fast() -> Callable[[bytes, int], int] | None:
    try:
        import crcmod
    except ImportError:  # pragma: no cover
        return None
    fun: Callable[[bytes, int], int] = crcmod.mkCrcFun(
        (1 << 64) | POLY, initCrc=0, xorOut=0, rev=True
    )
    return fun


_crc = _fast() or py_crc64


def crc64(data: bytes, crc: int = 0) -> int:
    """The CRC64 of ``data``, continuing from ``crc`` (0 to start)."""
    return _crc(data, crc)
