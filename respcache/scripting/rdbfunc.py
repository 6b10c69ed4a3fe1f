"""The RDB pieces FUNCTION DUMP / RESTORE need, self-contained.

Redis 7.0.15's payload (src/functions.c functionDumpCommand, rdb.c
rdbSaveFunctions / rdbFunctionLoad, cluster.c verifyDumpPayload): for each
library ``RDB_OPCODE_FUNCTION2`` (245) and its code as an RDB string, then the
RDB version as two little-endian bytes (10 for Redis 7.0) and the CRC64 of
everything before it, eight little-endian bytes. CRC64 is Redis's crc64.c
(Jones polynomial 0xad93d23594c935a9, reflected, initial value 0). Loading
accepts what Redis writes: plain, integer-encoded and LZF-compressed strings,
the old ``RDB_OPCODE_FUNCTION`` (246) is refused as Redis 7.0 refuses it
("Pre-GA function format not supported"). The full RDB module is written
in respcache.persistence; CRC64 is its ``crc64``.
"""

from __future__ import annotations

from typing import Final

from respcache.persistence.crc64 import crc64

RDB_VERSION: Final = 10
RDB_OPCODE_FUNCTION2: Final = 245
RDB_OPCODE_FUNCTION_PRE_GA: Final = 246


class PayloadError(Exception):
    """A FUNCTION RESTORE payload Redis would refuse (message: Redis's reply text)."""


def _length(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def dump_functions(codes: list[bytes]) -> bytes:
    """FUNCTION DUMP's payload for the libraries' codes (strings stored uncompressed)."""
    body = b"".join(bytes([RDB_OPCODE_FUNCTION2]) + _length(len(c)) + c for c in codes)
    body += RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def _lzf_decompress(data: bytes, expected: int) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            out += data[i : i + ctrl + 1]
            i += ctrl + 1
        else:
            length = ctrl >> 5
            ref = len(out) - ((ctrl & 0x1F) << 8) - 1
            if length == 7:
                length += data[i]
                i += 1
            ref -= data[i]
            i += 1
            if ref < 0:
                raise PayloadError("failed loading the given functions payload")
            for _ in range(length + 2):
                out.append(out[ref])
                ref += 1
    if len(out) != expected:
        raise PayloadError("failed loading the given functions payload")
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise PayloadError("failed loading the given functions payload")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def length(self) -> tuple[int, bool]:
        first = self.take(1)[0]
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.take(1)[0], False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return int.from_bytes(self.take(4), "big"), False
        if first == 0x81:
            return int.from_bytes(self.take(8), "big"), False
        raise PayloadError("failed loading the given functions payload")

    def string(self) -> bytes:
        n, encoded = self.length()
        if not encoded:
            return self.take(n)
        if n in (0, 1, 2):  # RDB_ENC_INT8/16/32
            size = 1 << n
            return b"%d" % int.from_bytes(self.take(size), "little", signed=True)
        if n == 3:  # RDB_ENC_LZF
            clen, _ = self.length()
            ulen, _ = self.length()
            return _lzf_decompress(self.take(clen), ulen)
        raise PayloadError("failed loading the given functions payload")


def load_functions(payload: bytes) -> list[bytes]:
    """The libraries' codes in a FUNCTION DUMP payload (PayloadError with Redis's text)."""
    if len(payload) < 10:
        raise PayloadError("DUMP payload version or checksum are wrong")
    version = int.from_bytes(payload[-10:-8], "little")
    if version > RDB_VERSION or crc64(payload[:-8]) != int.from_bytes(payload[-8:], "little"):
        raise PayloadError("DUMP payload version or checksum are wrong")
    reader = _Reader(payload[:-10])
    codes = []
    while reader.pos < len(reader.data):
        kind = reader.take(1)[0]
        if kind == RDB_OPCODE_FUNCTION_PRE_GA:
            raise PayloadError("Pre-GA function format not supported")
        if kind != RDB_OPCODE_FUNCTION2:
            raise PayloadError("given type is not a function")
        codes.append(reader.string())
    return codes
