"""DUMP payloads: one value in RDB format, the RDB version and a CRC64 (Redis ``cluster.c``).

``createDumpPayload`` writes the value's RDB type byte and serialization, then the RDB
version as two little-endian bytes and the CRC64 of all that as eight little-endian
bytes; ``verifyDumpPayload`` refuses a payload shorter than 10 bytes, from a newer RDB
version, or whose checksum differs. The same bytes move between respcache and
redis-server in both directions (DUMP/RESTORE, MIGRATE).
"""

from __future__ import annotations

import struct

from respcache.persistence.crc64 import crc64
from respcache.persistence.rdb import RDB_VERSION, RdbError, RdbReader, read_value, write_value

__all__ = ["create_payload", "load_payload", "verify_payload"]


def create_payload(value: object, compress: bool = True) -> bytes:
    kind, body = write_value(value, compress)
    head = bytes((kind,)) + body + struct.pack("<H", RDB_VERSION)
    return head + struct.pack("<Q", crc64(head))


def verify_payload(payload: bytes, check_crc: bool = True) -> bool:
    if len(payload) < 10:
        return False
    (version,) = struct.unpack_from("<H", payload, len(payload) - 10)
    if version > RDB_VERSION:
        return False
    if not check_crc:
        return True
    stored: int = struct.unpack_from("<Q", payload, len(payload) - 8)[0]
    return stored == crc64(payload[:-8])


def load_payload(payload: bytes) -> object:
    """The value of a verified payload; RdbError ("Bad data format") when it does not parse.

    An empty container is bad data here, as in Redis's RESTORE.
    """
    body = payload[:-10]
    if not body:
        raise RdbError("empty payload")
    (version,) = struct.unpack_from("<H", payload, len(payload) - 10)
    reader = RdbReader(body, 1, version)
    value = read_value(reader, body[0])
    if reader.pos != len(body):
        raise RdbError("trailing bytes after the value")
    return value
