"""Redis's RDB file format, version 10 (Redis 7.0): writing a keyspace and reading one back.

Followed: Redis 7.0.15 ``src/rdb.c`` and ``src/rdb.h``. A file is ``REDIS0010``, aux
fields, then per database ``SELECTDB`` and ``RESIZEDB`` and the keys, each optionally led
by ``EXPIRETIME_MS``, ``IDLE`` or ``FREQ``; then ``EOF`` and the CRC64 of everything
before it (zero when ``rdbchecksum no``).

Writing uses the encodings Redis 7.0 writes: strings as integers when they are small
canonical integers and LZF-compressed when longer than 20 bytes and compressible (with
``rdbcompression``); lists as a quicklist of listpack nodes (``LIST_QUICKLIST_2``); sets as
an intset or a plain set (7.0 has no listpack sets); hashes and sorted sets as a listpack
when small, else as a table (sorted sets with binary doubles, greatest first, as
``rdbSaveObject`` walks the skiplist from its tail). Keys go out in the store's LRU order
(least recently used first), so a file read back here restores that order exactly; the
store keeps no access times, so no ``IDLE`` opcode is written (see docs/persistence.md).

Reading accepts every encoding Redis 7.0 reads, from RDB version 1 to 10: also the
ziplists, zipmaps and older list/zset encodings of earlier versions. The value types are
two tables, :data:`VALUE_WRITERS` (by Python type) and :data:`VALUE_READERS` (by RDB type
byte), so a new value type (streams) adds an entry to each. Streams, function libraries
and module data are refused with a clear :class:`RdbError` until then.

The module does no I/O of its own beyond a binary file object it is given, and imports
nothing of the server: it is used by SAVE/BGSAVE (in a forked child), the startup load,
DEBUG RELOAD and DUMP/RESTORE.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from respcache.persistence import lzf
from respcache.persistence.crc64 import crc64
from respcache.persistence.encodings import (
    EncodingError,
    canonical_int,
    intset_decode,
    intset_encode,
    listpack_decode,
    listpack_encode,
    ziplist_decode,
    zipmap_decode,
)
from respcache.persistence.loading import LoadProgress, Steps, drain, key_load_delay
from respcache.store.keyspace import Database, Keyspace
from respcache.store.values import (
    CONTAINER_OVERHEAD,
    EXPIRE_OVERHEAD,
    HASH_FIELD_OVERHEAD,
    LIST_ITEM_OVERHEAD,
    SET_MEMBER_OVERHEAD,
    HashValue,
    ListValue,
    SetValue,
    entry_size,
)
from respcache.store.zset import ZSetValue

__all__ = [
    "RDB_VERSION",
    "VALUE_READERS",
    "VALUE_WRITERS",
    "LoadResult",
    "RdbError",
    "RdbReader",
    "RdbWriter",
    "load_rdb",
    "read_value",
    "write_value",
]

RDB_VERSION: Final = 10
REDIS_VERSION: Final = "7.0.15"

# Value types (rdb.h).
TYPE_STRING: Final = 0
TYPE_LIST: Final = 1
TYPE_SET: Final = 2
TYPE_ZSET: Final = 3
TYPE_HASH: Final = 4
TYPE_ZSET_2: Final = 5
TYPE_MODULE: Final = 6
TYPE_MODULE_2: Final = 7
TYPE_HASH_ZIPMAP: Final = 9
TYPE_LIST_ZIPLIST: Final = 10
TYPE_SET_INTSET: Final = 11
TYPE_ZSET_ZIPLIST: Final = 12
TYPE_HASH_ZIPLIST: Final = 13
TYPE_LIST_QUICKLIST: Final = 14
TYPE_STREAM_LISTPACKS: Final = 15
TYPE_HASH_LISTPACK: Final = 16
TYPE_ZSET_LISTPACK: Final = 17
TYPE_LIST_QUICKLIST_2: Final = 18
TYPE_STREAM_LISTPACKS_2: Final = 19

# Opcodes.
OP_FUNCTION2: Final = 245
OP_FUNCTION: Final = 246
OP_MODULE_AUX: Final = 247
OP_IDLE: Final = 248
OP_FREQ: Final = 249
OP_AUX: Final = 250
OP_RESIZEDB: Final = 251
OP_EXPIRETIME_MS: Final = 252
OP_EXPIRETIME: Final = 253
OP_SELECTDB: Final = 254
OP_EOF: Final = 255

ENC_INT8: Final = 0
ENC_INT16: Final = 1
ENC_INT32: Final = 2
ENC_LZF: Final = 3

QUICKLIST_PLAIN: Final = 1
QUICKLIST_PACKED: Final = 2
LIST_NODE_MAX_BYTES: Final = 8192
"""``list-max-listpack-size -2``: listpack nodes of at most 8 KiB."""

# Redis 7.0's encoding thresholds (the defaults; respcache does not make them settable).
HASH_MAX_LISTPACK_ENTRIES: Final = 512
HASH_MAX_LISTPACK_VALUE: Final = 64
SET_MAX_INTSET_ENTRIES: Final = 512
ZSET_MAX_LISTPACK_ENTRIES: Final = 128
ZSET_MAX_LISTPACK_VALUE: Final = 64

_DOUBLE: Final = struct.Struct("<d")
_INT64: Final = struct.Struct("<q")


class RdbError(Exception):
    """An RDB file or payload that cannot be read (corrupt, truncated or unsupported)."""


# --- writing primitives ---------------------------------------------------------------------


def encode_len(length: int) -> bytes:
    """``rdbSaveLen``: 6, 14, 32 or 64 bits."""
    if length < 64:
        return bytes((length,))
    if length < 16384:
        return bytes((0x40 | (length >> 8), length & 0xFF))
    if length <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", length)
    return b"\x81" + struct.pack(">Q", length)


def _encode_int(number: int) -> bytes | None:
    """``rdbEncodeInteger``: 8, 16 or 32 bits, else None."""
    if -128 <= number <= 127:
        return bytes((0xC0, number & 0xFF))
    if -32768 <= number <= 32767:
        return b"\xc1" + struct.pack("<h", number)
    if -(2**31) <= number < 2**31:
        return b"\xc2" + struct.pack("<i", number)
    return None


def encode_string(data: bytes, compress: bool = True) -> bytes:
    """``rdbSaveRawString``: an integer, LZF (longer than 20 bytes) or verbatim."""
    size = len(data)
    if size <= 11:
        number = canonical_int(data)
        if number is not None:
            encoded = _encode_int(number)
            if encoded is not None:
                return encoded
    if compress and size > 20:
        packed = lzf.compress(data, size - 4)
        if packed is not None:
            return b"\xc3" + encode_len(len(packed)) + encode_len(size) + packed
    if size < 64:
        return bytes((size,)) + data
    return encode_len(size) + data


# --- value writers (one per Python type) ------------------------------------------------------


def _is_int_member(member: bytes) -> bool:
    return canonical_int(member) is not None


def _write_string(value: object, compress: bool) -> tuple[int, bytes]:
    assert type(value) is bytes
    return TYPE_STRING, encode_string(value, compress)


def _write_list(value: object, compress: bool) -> tuple[int, bytes]:
    assert isinstance(value, ListValue)
    nodes: list[bytes] = []
    node: list[bytes] = []
    size = 7
    for element in value:
        cost = len(element) + 11
        if node and size + cost > LIST_NODE_MAX_BYTES:
            nodes.append(listpack_encode(node))
            node = []
            size = 7
        node.append(element)
        size += cost
    if node:
        nodes.append(listpack_encode(node))
    parts = [encode_len(len(nodes))]
    for blob in nodes:
        parts.append(b"\x02")  # QUICKLIST_NODE_CONTAINER_PACKED
        parts.append(encode_string(blob, compress))
    return TYPE_LIST_QUICKLIST_2, b"".join(parts)


def set_is_intset(value: SetValue) -> bool:
    """Redis 7.0's rule (``setTypeCreate``/``setTypeAdd``), with the one-way conversion."""
    if value.big or len(value) > SET_MAX_INTSET_ENTRIES:
        return False
    return all(map(_is_int_member, value))


def _write_set(value: object, compress: bool) -> tuple[int, bytes]:
    assert isinstance(value, SetValue)
    if set_is_intset(value):
        return TYPE_SET_INTSET, encode_string(intset_encode(map(int, value)), compress)
    parts = [encode_len(len(value))]
    parts.extend(encode_string(m, compress) for m in value)
    return TYPE_SET, b"".join(parts)


def hash_is_listpack(value: HashValue) -> bool:
    if value.big or len(value) > HASH_MAX_LISTPACK_ENTRIES:
        return False
    limit = HASH_MAX_LISTPACK_VALUE
    return all(len(f) <= limit and len(v) <= limit for f, v in value.items())


def _write_hash(value: object, compress: bool) -> tuple[int, bytes]:
    assert isinstance(value, HashValue)
    if hash_is_listpack(value):
        flat = [x for pair in value.items() for x in pair]
        return TYPE_HASH_LISTPACK, encode_string(listpack_encode(flat), compress)
    parts = [encode_len(len(value))]
    for f, v in value.items():
        parts.append(encode_string(f, compress))
        parts.append(encode_string(v, compress))
    return TYPE_HASH, b"".join(parts)


def _listpack_score(score: float) -> bytes:
    """``zzlInsertAt``: an integer entry when ``double2ll`` accepts it, else ``d2string``."""
    if -(2.0**62) <= score <= 2.0**62 and score == int(score):
        return b"%d" % int(score)
    if score != score:
        return b"nan"
    return b"%.17g" % score


def _write_zset(value: object, compress: bool) -> tuple[int, bytes]:
    assert isinstance(value, ZSetValue)
    if not value.big:
        flat = [x for score, member in value.order for x in (member, _listpack_score(score))]
        return TYPE_ZSET_LISTPACK, encode_string(listpack_encode(flat), compress)
    parts = [encode_len(len(value))]
    pack = _DOUBLE.pack
    for score, member in reversed(value.order):
        parts.append(encode_string(member, compress))
        parts.append(pack(score))
    return TYPE_ZSET_2, b"".join(parts)


ValueWriter = Callable[[object, bool], tuple[int, bytes]]

VALUE_WRITERS: dict[type, ValueWriter] = {
    bytes: _write_string,
    ListValue: _write_list,
    SetValue: _write_set,
    HashValue: _write_hash,
    ZSetValue: _write_zset,
}
"""How each value type is written: ``(rdb type byte, serialized value)``. A new value type
(the stream) adds its entry here and its reader to :data:`VALUE_READERS`."""


def write_value(value: object, compress: bool = True) -> tuple[int, bytes]:
    """The RDB type byte and serialization of one value (also DUMP's payload body)."""
    writer = VALUE_WRITERS.get(type(value))
    if writer is None:
        raise RdbError(f"values of type {type(value).__name__} cannot be saved in an RDB yet")
    return writer(value, compress)


# --- the file writer ---------------------------------------------------------------------------


class RdbWriter:
    """Writes an RDB file to a binary file object, checksumming as it goes.

    The output is buffered in chunks of ``chunk_size`` bytes; the CRC64 runs over each
    chunk as it is flushed (``rdbchecksum no`` writes a zero checksum, which Redis then
    does not verify).
    """

    def __init__(
        self,
        out: BinaryIO,
        *,
        compress: bool = True,
        checksum: bool = True,
        chunk_size: int = 1 << 20,
    ) -> None:
        self.out = out
        self.compress = compress
        self.checksum = checksum
        self.chunk_size = chunk_size
        self.crc = 0
        self.written = 0
        self.keys = 0
        self._parts: list[bytes] = []
        self._size = 0

    def _emit(self, data: bytes) -> None:
        self._parts.append(data)
        self._size += len(data)
        if self._size >= self.chunk_size:
            self.flush()

    def flush(self) -> None:
        if not self._parts:
            return
        chunk = b"".join(self._parts)
        self._parts = []
        self._size = 0
        if self.checksum:
            self.crc = crc64(chunk, self.crc)
        self.out.write(chunk)
        self.written += len(chunk)

    def header(self) -> None:
        self._emit(b"REDIS%04d" % RDB_VERSION)

    def aux(self, key: str, value: str | int) -> None:
        text = value if isinstance(value, str) else str(value)
        self._emit(
            bytes((OP_AUX,))
            + encode_string(key.encode(), self.compress)
            + encode_string(text.encode(), self.compress)
        )

    def aux_fields(
        self,
        *,
        used_memory: int,
        repl_id: str | None = None,
        repl_offset: int | None = None,
        repl_stream_db: int = 0,
        aof_base: bool = False,
        ctime: int | None = None,
    ) -> None:
        """``rdbSaveInfoAuxFields``: the fields Redis writes, in its order."""
        self.aux("redis-ver", REDIS_VERSION)
        self.aux("redis-bits", 64)
        self.aux("ctime", int(time.time()) if ctime is None else ctime)
        self.aux("used-mem", used_memory)
        if repl_id is not None:
            self.aux("repl-stream-db", repl_stream_db)
            self.aux("repl-id", repl_id)
            self.aux("repl-offset", repl_offset or 0)
        self.aux("aof-base", int(aof_base))

    def functions(self, codes: Iterable[bytes]) -> None:
        """``rdbSaveFunctions``: each library's code after ``RDB_OPCODE_FUNCTION2``."""
        for code in codes:
            self._emit(bytes((OP_FUNCTION2,)) + encode_string(code, self.compress))

    def database(
        self,
        db: Database,
        *,
        lfu: Callable[[int | None], int] | None = None,
        key_delay_us: int = 0,
    ) -> None:
        """``SELECTDB``, ``RESIZEDB`` and every key of one database (nothing if empty);
        ``lfu`` (the keyspace's ``lfu_counter``) writes each key's ``FREQ``;
        ``key_delay_us`` sleeps after each key (``rdb-key-save-delay``, for tests)."""
        data = db.data
        if not data:
            return
        expires = db.expires
        self._emit(
            bytes((OP_SELECTDB,))
            + encode_len(db.id)
            + bytes((OP_RESIZEDB,))
            + encode_len(len(data))
            + encode_len(len(expires))
        )
        compress = self.compress
        emit = self._emit
        writers = VALUE_WRITERS
        pack_ms = _INT64.pack
        for key, value in data.items():
            head = b""
            if expires:
                when = expires.get(key)
                if when is not None:
                    head = b"\xfc" + pack_ms(when)
            if lfu is not None:
                head += bytes((OP_FREQ, lfu(db.lfu.get(key))))
            if type(value) is bytes:  # the common case, inline
                emit(head + b"\x00" + encode_string(key, compress) + encode_string(value, compress))
            else:
                writer = writers.get(type(value))
                if writer is None:
                    raise RdbError(
                        f"values of type {type(value).__name__} cannot be saved in an RDB yet"
                    )
                kind, body = writer(value, compress)
                emit(head + bytes((kind,)) + encode_string(key, compress) + body)
            self.keys += 1
            if key_delay_us > 0:
                time.sleep(key_delay_us / 1e6)

    def finish(self) -> None:
        """``EOF`` and the checksum."""
        self._emit(bytes((OP_EOF,)))
        self.flush()
        self.out.write(struct.pack("<Q", self.crc if self.checksum else 0))
        self.written += 8


def write_keyspace(
    out: BinaryIO,
    keyspace: Keyspace,
    *,
    compress: bool = True,
    checksum: bool = True,
    repl_id: str | None = None,
    repl_offset: int | None = None,
    aof_base: bool = False,
    key_delay_us: int = 0,
    extra_aux: Mapping[str, str | int] | None = None,
) -> RdbWriter:
    """Write a whole keyspace as an RDB file; returns the writer (bytes and keys written).

    Under an LFU policy each key carries its ``FREQ`` (the decayed counter, as
    ``LFUDecrAndReturn``), as Redis writes it. ``extra_aux``: more aux fields
    (respcache's own, e.g. ``respcache-epoch``; Redis ignores fields it does not know).
    """
    writer = RdbWriter(out, compress=compress, checksum=checksum)
    writer.header()
    writer.aux_fields(
        used_memory=keyspace.used_memory,
        repl_id=repl_id,
        repl_offset=repl_offset,
        aof_base=aof_base,
    )
    for name, value in (extra_aux or {}).items():
        writer.aux(name, value)
    writer.functions(keyspace.functions.values())
    lfu = keyspace.lfu_counter if keyspace.lfu_enabled else None
    for db in keyspace.dbs:
        writer.database(db, lfu=lfu, key_delay_us=key_delay_us)
    writer.finish()
    return writer


# --- reading -----------------------------------------------------------------------------------


class RdbReader:
    """Reads RDB primitives from a ``bytes`` buffer (a whole file or a DUMP payload)."""

    __slots__ = ("data", "pos", "version")

    def __init__(self, data: bytes, pos: int = 0, version: int = RDB_VERSION) -> None:
        self.data = data
        self.pos = pos
        self.version = version

    def take(self, size: int) -> bytes:
        pos = self.pos
        end = pos + size
        if end > len(self.data) or size < 0:
            raise RdbError("Unexpected EOF reading RDB file")
        self.pos = end
        return self.data[pos:end]

    def byte(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise RdbError("Unexpected EOF reading RDB file")
        self.pos = pos + 1
        return self.data[pos]

    def length_or_encoding(self) -> tuple[int, bool]:
        """``rdbLoadLenByRef``: (length, False) or (encoding type, True)."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return int.from_bytes(self.take(4), "big"), False
        if first == 0x81:
            return int.from_bytes(self.take(8), "big"), False
        raise RdbError(f"Unknown length encoding {kind} in rdbLoadLen()")

    def length(self) -> int:
        value, encoded = self.length_or_encoding()
        if encoded:
            raise RdbError("unexpected string encoding where a length was expected")
        return value

    def string(self) -> bytes:
        """``rdbGenericLoadStringObject``: integers come back as their decimal text."""
        data = self.data
        pos = self.pos
        if pos >= len(data):
            raise RdbError("Unexpected EOF reading RDB file")
        first = data[pos]
        if first < 0x40:  # a 6-bit length: the common case, inline
            end = pos + 1 + first
            if end > len(data):
                raise RdbError("Unexpected EOF reading RDB file")
            self.pos = end
            return data[pos + 1 : end]
        if first == 0xC3:  # LZF, inline too
            compressed_len, pos = _len_at(data, pos + 1)
            length, pos = _len_at(data, pos)
            end = pos + compressed_len
            if end > len(data):
                raise RdbError("Unexpected EOF reading RDB file")
            self.pos = end
            try:
                return lzf.decompress(data[pos:end], length)
            except lzf.LzfError:
                raise RdbError("Invalid LZF compressed string") from None
        value, encoded = self.length_or_encoding()
        if not encoded:
            return self.take(value)
        if value == ENC_LZF:
            compressed_len = self.length()
            length = self.length()
            try:
                return lzf.decompress(self.take(compressed_len), length)
            except lzf.LzfError:
                raise RdbError("Invalid LZF compressed string") from None
        if value == ENC_INT8:
            return b"%d" % struct.unpack("<b", self.take(1))[0]
        if value == ENC_INT16:
            return b"%d" % struct.unpack("<h", self.take(2))[0]
        if value == ENC_INT32:
            return b"%d" % struct.unpack("<i", self.take(4))[0]
        raise RdbError(f"Unknown RDB string encoding type {value}")

    def double_text(self) -> float:
        """``rdbLoadDoubleValue`` (RDB_TYPE_ZSET, versions before 8)."""
        size = self.byte()
        if size == 255:
            return float("-inf")
        if size == 254:
            return float("inf")
        if size == 253:
            return float("nan")
        try:
            return float(self.take(size))
        except ValueError:
            raise RdbError("bad double value") from None

    def double_binary(self) -> float:
        value: float = _DOUBLE.unpack(self.take(8))[0]
        return value


def _len_at(data: bytes, pos: int) -> tuple[int, int]:
    """A plain length at ``pos``: (length, position after it)."""
    try:
        first = data[pos]
        if first < 0x40:
            return first, pos + 1
        if first < 0x80:
            return ((first & 0x3F) << 8) | data[pos + 1], pos + 2
    except IndexError:
        raise RdbError("Unexpected EOF reading RDB file") from None
    size = 4 if first == 0x80 else 8 if first == 0x81 else 0
    if not size:
        raise RdbError(f"Unknown length encoding {first >> 6} in rdbLoadLen()")
    if pos + 1 + size > len(data):
        raise RdbError("Unexpected EOF reading RDB file")
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


# --- value readers (one per RDB type byte) -----------------------------------------------------


class EmptyKey(RdbError):
    """A value with no elements: Redis skips such keys with a warning (its bug #8453)."""


def _list_from(elements: Iterable[bytes]) -> ListValue:
    value = ListValue()
    value.extend(elements)
    if not value:
        raise EmptyKey("empty list")
    value.nbytes = CONTAINER_OVERHEAD + sum(LIST_ITEM_OVERHEAD + (len(e) & ~15) for e in value)
    return value


def _set_from(members: list[bytes], intset: bool) -> SetValue:
    value = SetValue()
    value.update(members)
    if len(value) != len(members):
        raise RdbError("Duplicate set members detected")
    if not value:
        raise EmptyKey("empty set")
    value.nbytes = CONTAINER_OVERHEAD + sum(SET_MEMBER_OVERHEAD + (len(m) & ~15) for m in value)
    if intset:
        value.big = len(value) > SET_MAX_INTSET_ENTRIES
    else:
        value.big = len(value) > SET_MAX_INTSET_ENTRIES or not all(map(_is_int_member, value))
    return value


def _hash_from(flat: list[bytes], listpack: bool) -> HashValue:
    if len(flat) % 2:
        raise RdbError("hash with an odd number of elements")
    value = HashValue()
    fields = flat[::2]
    values = flat[1::2]
    value.update(zip(fields, values, strict=True))
    if len(value) != len(fields):
        raise RdbError("Duplicate hash fields detected")
    if not value:
        raise EmptyKey("empty hash")
    value.nbytes = CONTAINER_OVERHEAD + sum(
        HASH_FIELD_OVERHEAD + (len(f) & ~15) + (len(v) & ~15) for f, v in value.items()
    )
    big = len(value) > HASH_MAX_LISTPACK_ENTRIES
    if not listpack and not big:
        limit = HASH_MAX_LISTPACK_VALUE
        big = any(len(f) > limit or len(v) > limit for f, v in value.items())
    value.big = big
    return value


def _zset_from(pairs: list[tuple[bytes, float]], listpack: bool) -> ZSetValue:
    scores: dict[bytes, float] = {}
    for member, score in pairs:
        if score != score:
            raise RdbError("Zset with NAN score detected")
        scores[member] = score
    if len(scores) != len(pairs):
        raise RdbError("Duplicate zset fields detected")
    if not scores:
        raise EmptyKey("empty zset")
    # A listpack stays one unless too long; a skiplist becomes a listpack when small.
    return ZSetValue.from_scores(scores, 0 if listpack else None)


def _score_text(text: bytes) -> float:
    try:
        return float(text)
    except ValueError:
        raise RdbError("bad score in a sorted set listpack") from None


def _pairs(flat: list[bytes]) -> list[tuple[bytes, float]]:
    if len(flat) % 2:
        raise RdbError("sorted set with an odd number of elements")
    return [(m, _score_text(s)) for m, s in zip(flat[::2], flat[1::2], strict=True)]


def _read_string(r: RdbReader) -> object:
    return r.string()


def _read_list(r: RdbReader) -> object:
    return _list_from([r.string() for _ in range(r.length())])


def _read_quicklist(r: RdbReader, version2: bool) -> object:
    elements: list[bytes] = []
    for _ in range(r.length()):
        container = r.length() if version2 else QUICKLIST_PACKED
        blob = r.string()
        if not blob:
            raise RdbError("empty quicklist node")
        if container == QUICKLIST_PLAIN:
            elements.append(blob)
        elif container == QUICKLIST_PACKED:
            elements.extend(listpack_decode(blob) if version2 else ziplist_decode(blob))
        else:
            raise RdbError(f"Quicklist integrity check failed: bad container {container}")
    return _list_from(elements)


def _read_set(r: RdbReader) -> object:
    return _set_from([r.string() for _ in range(r.length())], intset=False)


def _read_intset(r: RdbReader) -> object:
    return _set_from([b"%d" % n for n in intset_decode(r.string())], intset=True)


def _read_zset(r: RdbReader, binary: bool) -> object:
    read_score = r.double_binary if binary else r.double_text
    pairs = []
    for _ in range(r.length()):
        member = r.string()
        pairs.append((member, read_score()))
    return _zset_from(pairs, listpack=False)


def _read_hash(r: RdbReader) -> object:
    flat: list[bytes] = []
    for _ in range(r.length()):
        flat.append(r.string())
        flat.append(r.string())
    return _hash_from(flat, listpack=False)


def _unsupported(what: str) -> Callable[[RdbReader], object]:
    def refuse(r: RdbReader) -> object:
        raise RdbError(f"the RDB holds {what}, which respcache cannot load yet")

    return refuse


VALUE_READERS: dict[int, Callable[[RdbReader], object]] = {
    TYPE_STRING: _read_string,
    TYPE_LIST: _read_list,
    TYPE_SET: _read_set,
    TYPE_ZSET: lambda r: _read_zset(r, binary=False),
    TYPE_HASH: _read_hash,
    TYPE_ZSET_2: lambda r: _read_zset(r, binary=True),
    TYPE_MODULE: _unsupported("a module value"),
    TYPE_MODULE_2: _unsupported("a module value"),
    TYPE_HASH_ZIPMAP: lambda r: _hash_from(zipmap_decode(r.string()), listpack=False),
    TYPE_LIST_ZIPLIST: lambda r: _list_from(ziplist_decode(r.string())),
    TYPE_SET_INTSET: _read_intset,
    TYPE_ZSET_ZIPLIST: lambda r: _zset_from(_pairs(ziplist_decode(r.string())), listpack=True),
    TYPE_HASH_ZIPLIST: lambda r: _hash_from(ziplist_decode(r.string()), listpack=True),
    TYPE_LIST_QUICKLIST: lambda r: _read_quicklist(r, version2=False),
    TYPE_HASH_LISTPACK: lambda r: _hash_from(listpack_decode(r.string()), listpack=True),
    TYPE_ZSET_LISTPACK: lambda r: _zset_from(_pairs(listpack_decode(r.string())), listpack=True),
    TYPE_LIST_QUICKLIST_2: lambda r: _read_quicklist(r, version2=True),
}
"""How each RDB value type is read into a store value (streams, 15 and 19, are added by
:mod:`respcache.persistence.rdbstream`). Modules refuse."""


def read_value(r: RdbReader, kind: int) -> object:
    """One value of RDB type ``kind``; EmptyKey for an empty container."""
    reader = VALUE_READERS.get(kind)
    if reader is None:
        raise RdbError(f"Unknown RDB encoding type {kind}")
    try:
        return reader(r)
    except EncodingError as exc:
        raise RdbError(f"{exc} (value of type {kind})") from None


# --- loading a file into a keyspace ----------------------------------------------------------------


@dataclass
class LoadResult:
    version: int = 0
    keys_loaded: int = 0
    keys_expired: int = 0
    empty_keys_skipped: int = 0
    aux: dict[str, bytes] = field(default_factory=dict)
    checksum_checked: bool = False
    end: int = 0
    functions: list[bytes] = field(default_factory=list)
    reader: RdbReader | None = field(default=None, repr=False)
    """The reader :func:`iter_entries` uses (its ``pos``: how far loading got)."""
    """Function libraries' codes (``RDB_OPCODE_FUNCTION2``), in file order."""
    """Offset just past the file's checksum (an old-style AOF's command tail starts there)."""

    @property
    def repl_id(self) -> str | None:
        value = self.aux.get("repl-id")
        return value.decode() if value is not None and len(value) == 40 else None

    @property
    def repl_offset(self) -> int | None:
        value = self.aux.get("repl-offset")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None


def check_header(data: bytes) -> int:
    if len(data) < 9 or data[:5] != b"REDIS":
        raise RdbError("Wrong signature trying to load DB from file")
    try:
        version = int(data[5:9])
    except ValueError:
        raise RdbError("Wrong signature trying to load DB from file") from None
    if not 1 <= version <= RDB_VERSION:
        raise RdbError(f"Can't handle RDB format version {version}")
    return version


def iter_entries(
    data: bytes, result: LoadResult, *, verify_checksum: bool = True
) -> Iterator[tuple[int, bytes, object, int | None, int | None, int | None]]:
    """The keys of an RDB file: ``(db, key, value, expire_ms, lfu_freq, lru_idle)``.

    Aux fields land in ``result.aux``; the checksum is verified at the end (when the
    file has one and ``verify_checksum``).
    """
    version = check_header(data)
    result.version = version
    r = result.reader
    if r is None:
        r = result.reader = RdbReader(data, 9, version)
    else:
        r.pos, r.version = 9, version
    dbid = 0
    expire: int | None = None
    freq: int | None = None
    idle: int | None = None
    size = len(data)
    while True:
        pos = r.pos
        if pos >= size:
            raise RdbError("Unexpected EOF reading RDB file")
        kind = data[pos]
        r.pos = pos + 1
        if kind == TYPE_STRING:  # the common case first
            key = r.string()
            yield dbid, key, r.string(), expire, freq, idle
            expire = freq = idle = None
            continue
        if kind == OP_EXPIRETIME_MS:
            expire = struct.unpack("<q", r.take(8))[0]
            continue
        if kind == OP_EXPIRETIME:
            expire = struct.unpack("<i", r.take(4))[0] * 1000
            continue
        if kind == OP_FREQ:
            freq = r.byte()
            continue
        if kind == OP_IDLE:
            idle = r.length()
            continue
        if kind == OP_EOF:
            break
        if kind == OP_SELECTDB:
            dbid = r.length()
            continue
        if kind == OP_RESIZEDB:
            r.length()
            r.length()
            continue
        if kind == OP_AUX:
            name = r.string()
            result.aux[name.decode("utf-8", "replace")] = r.string()
            continue
        if kind == OP_MODULE_AUX:
            raise RdbError("the RDB holds module data, which respcache cannot load")
        if kind == OP_FUNCTION2:
            result.functions.append(r.string())
            continue
        if kind == OP_FUNCTION:
            raise RdbError("Pre-GA function format not supported")
        key = r.string()
        try:
            value = read_value(r, kind)
        except EmptyKey:
            result.empty_keys_skipped += 1
        else:
            yield dbid, key, value, expire, freq, idle
        expire = freq = idle = None
    if version >= 5:
        end = r.pos
        (stored,) = struct.unpack("<Q", r.take(8))
        if verify_checksum and stored:
            if crc64(data[:end]) != stored:
                raise RdbError("RDB CRC error")
            result.checksum_checked = True
    result.end = r.pos


def load_rdb(
    data: bytes,
    keyspace: Keyspace,
    *,
    expire_on_load: bool = True,
    verify_checksum: bool = True,
    now_ms: int | None = None,
    allow_dup: bool = False,
) -> LoadResult:
    """:func:`load_rdb_steps` run to its end (nothing else runs meanwhile)."""
    return drain(
        load_rdb_steps(
            data,
            keyspace,
            expire_on_load=expire_on_load,
            verify_checksum=verify_checksum,
            now_ms=now_ms,
            allow_dup=allow_dup,
        )
    )


def load_rdb_steps(
    data: bytes,
    keyspace: Keyspace,
    *,
    expire_on_load: bool = True,
    verify_checksum: bool = True,
    now_ms: int | None = None,
    allow_dup: bool = False,
    progress: LoadProgress | None = None,
    base: int = 0,
    interval: int = 0,
    key_delay: Callable[[], int] | None = None,
) -> Steps[LoadResult]:
    """Load an RDB file's keys into ``keyspace`` (which should be empty).

    As ``rdbLoadRio``: a key already expired is skipped when this node expires keys
    itself (a master, ``expire_on_load``); an empty container is skipped. Keys keep the
    file's order as their LRU order, except that ``IDLE`` times (Redis files under an LRU
    policy) reorder them, the idlest first. ``FREQ`` sets the LFU counter under an LFU
    policy. A key or library already present is an error, unless ``allow_dup`` (DEBUG RELOAD
    MERGE).
    Raises :class:`RdbError` and leaves what it loaded so far.

    Yields each time ``interval`` more bytes were read (``rdbLoadProgressCallback``;
    0: never), after recording ``base`` + the offset reached in ``progress``.
    ``key_delay``: reads ``key-load-delay``, a sleep per key (tests), at each step.
    """
    result = LoadResult()
    reader = result.reader = RdbReader(data, 0, 0)
    next_step = interval if interval > 0 else len(data) + 1
    count = 0
    key_delay_us = key_delay() if key_delay is not None else 0
    now = keyspace.update_clock() if now_ms is None else now_ms
    dbs = keyspace.dbs
    idle_order: dict[int, list[tuple[int, bytes]]] = {}
    lfu_enabled = keyspace.lfu_enabled
    minutes = keyspace.lfu_new() & ~0xFF
    for dbid, key, value, expire, freq, idle in iter_entries(
        data, result, verify_checksum=verify_checksum
    ):
        if key_delay_us:
            key_load_delay(key_delay_us)
        count += 1
        if not count & 63 and reader.pos >= next_step:
            if progress is not None:
                progress.advance(base + reader.pos)
                used = result.aux.get("used-mem")
                if used is not None and used.isdigit():
                    progress.rdb_used_mem = int(used)
            next_step = (reader.pos // interval + 1) * interval
            yield
            key_delay_us = key_delay() if key_delay is not None else 0
        if dbid >= len(dbs):
            raise RdbError(
                f"Data file was created with a Redis server configured to handle more than "
                f"{len(dbs)} databases"
            )
        if expire is not None and expire_on_load and expire < now:
            result.keys_expired += 1
            continue
        db = dbs[dbid]
        if key in db.data:
            if allow_dup:  # DEBUG RELOAD MERGE: the file's value replaces the key
                db._remove(key)
            else:
                raise RdbError(
                    f"RDB has duplicated key '{key.decode(errors='replace')}' in DB {dbid}"
                )
        db.data[key] = value
        keyspace.used_memory += entry_size(key, value)
        if expire is not None:
            db.expires[key] = expire
            keyspace.used_memory += EXPIRE_OVERHEAD
        if lfu_enabled:
            db.lfu[key] = minutes | freq if freq is not None else keyspace.lfu_new()
        if idle is not None:
            idle_order.setdefault(dbid, []).append((idle, key))
        result.keys_loaded += 1
    for code in result.functions:
        name = library_name(code)
        if name in keyspace.functions and not allow_dup:  # rdbFunctionLoad without ALLOW_DUP
            raise RdbError(f"Library '{name}' already exists")
        keyspace.functions[name] = code
    for dbid, order in idle_order.items():
        db = dbs[dbid]
        order.sort(key=lambda item: -item[0])  # stable: equal idle times keep file order
        for _idle, key in order:
            db.data.move_to_end(key)
    return result


def library_name(code: bytes) -> str:
    """The ``name=`` of a library's ``#!<engine> name=<name>`` first line (``""`` if none).

    (The commands layer checks the metadata fully when it compiles the library.)"""
    first = code.split(b"\n", 1)[0]
    for word in first.split()[1:]:
        if word.startswith(b"name="):
            return word[5:].decode("utf-8", "surrogateescape")
    return ""


def save_keyspace_bytes(keyspace: Keyspace, *, compress: bool = True) -> bytes:
    """The keyspace as one RDB file in memory (DEBUG RELOAD, tests)."""
    import io

    buffer = io.BytesIO()
    write_keyspace(buffer, keyspace, compress=compress)
    return buffer.getvalue()


def _register_streams() -> None:
    from respcache.persistence.rdbstream import read_stream, read_stream_v1, write_stream
    from respcache.store.stream import StreamValue

    VALUE_WRITERS[StreamValue] = write_stream
    VALUE_READERS[TYPE_STREAM_LISTPACKS] = read_stream_v1
    VALUE_READERS[TYPE_STREAM_LISTPACKS_2] = read_stream


_register_streams()
