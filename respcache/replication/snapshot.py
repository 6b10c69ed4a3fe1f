"""The snapshot of a full sync: a keyspace as a stream of RESP arrays, and back.

The leader writes the snapshot in a forked child (see :mod:`.leader`), so the
writer is a plain generator over a :class:`~respcache.store.Keyspace` that no one
mutates while it runs; the follower's :class:`SnapshotLoader` applies the
records as they arrive, so neither side ever holds the whole snapshot.

Every record is a RESP array of bulk strings (parsed by hiredis on the follower):

====================================================  ==========================================
``snapshot <version> <databases>``                    first record
``function <library> <code>``                          a FUNCTION library (after the first record)
``select <db>``                                       the following keys belong to ``db``
``strings <k1> <v1> <k2> <v2> ...``                   string keys without a TTL, batched
``strings-px <k1> <v1> <ms1> ...``                    string keys with a TTL (unix ms)
``<type> <key> <pxat or ""> <nbytes> <meta>           a container (``hash``, ``list``, ``set``,
<elements...>``                                       ``zset``); ``nbytes`` is the leader's memory
                                                      estimate, ``meta`` what else the type keeps
                                                      (a sorted set's encoding, a stream's
                                                      counters; a stream's elements are
                                                      tagged, see ``store/stream.py``)
``more <elements...>``                                more elements of the last container
``end <keys>``                                        last record, with the number of keys
====================================================  ==========================================

The snapshot copies the keyspace as it is in memory: keys whose TTL has passed
but that the leader has not deleted yet are included with their TTL, as the
leader's ``DEL`` will follow in the stream. Values keep their LRU order, and the
memory estimates (``nbytes``) travel with containers, so ``used_memory`` agrees.
A container type is one entry of :data:`CODECS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from respcache.store.keyspace import Database, Keyspace
from respcache.store.stream import FlatLoader, StreamValue, flat_elements, flat_meta
from respcache.store.values import (
    BYTES_OVERHEAD,
    ENTRY_OVERHEAD,
    EXPIRE_OVERHEAD,
    HashValue,
    ListValue,
    SetValue,
    entry_size,
)

__all__ = [
    "CODECS",
    "FORMAT_VERSION",
    "Codec",
    "SnapshotError",
    "SnapshotLoader",
    "SnapshotWriter",
]

FORMAT_VERSION: Final = b"1"
STRING_BATCH: Final = 1024
"""String keys per ``strings`` record."""
CONTAINER_BATCH: Final = 1024
"""Elements per container record (the rest go in ``more`` records)."""


class SnapshotError(Exception):
    """A snapshot record that cannot be applied (or a value that cannot be written)."""


def _no_meta(value: object) -> bytes:
    return b""


@dataclass(frozen=True)
class Codec:
    """How one container type travels: flat elements out, a value back."""

    kind: bytes
    elements: Callable[[object], Iterable[bytes]]
    """The value as a flat sequence of bulk strings (``field, value, ...`` for a hash)."""
    new: Callable[[bytes], object]
    """An empty value, given the ``meta`` field."""
    extend: Callable[[object, list[bytes]], None]
    """Add a batch of elements (as produced by ``elements``) to a value being rebuilt."""
    meta: Callable[[object], bytes] = _no_meta


def _hash_elements(value: object) -> Iterable[bytes]:
    assert isinstance(value, HashValue)
    for field, item in value.items():
        yield field
        yield item


def _hash_extend(value: object, items: list[bytes]) -> None:
    assert isinstance(value, HashValue)
    if len(items) % 2:
        raise SnapshotError("hash record with an odd number of elements")
    value.update(zip(items[::2], items[1::2], strict=True))


def _list_extend(value: object, items: list[bytes]) -> None:
    assert isinstance(value, ListValue)
    value.extend(items)


def _set_extend(value: object, items: list[bytes]) -> None:
    assert isinstance(value, SetValue)
    value.update(items)


def _iterate(value: object) -> Iterable[bytes]:
    return value  # type: ignore[return-value]


def _zset_elements(value: object) -> Iterable[bytes]:
    for score, member in value.order:  # type: ignore[attr-defined]
        yield member
        yield repr(score).encode()  # repr round-trips every double, -0.0 and inf included


def _zset_new(meta: bytes) -> object:
    from respcache.store.zset import ZSetValue  # only needed once sorted sets exist

    zset = ZSetValue()
    zset.big = meta == b"big"
    return zset


def _zset_extend(value: object, items: list[bytes]) -> None:
    if len(items) % 2:
        raise SnapshotError("zset record with an odd number of elements")
    try:
        pairs = [(float(s), m) for m, s in zip(items[::2], items[1::2], strict=True)]
    except ValueError:
        raise SnapshotError("bad score in a zset record") from None
    assert isinstance(value, dict)
    for score, member in pairs:
        dict.__setitem__(value, member, score)
    value.order.update(pairs)  # type: ignore[attr-defined]


def _zset_meta(value: object) -> bytes:
    return b"big" if getattr(value, "big", False) else b""


def _stream_new(meta: bytes) -> object:
    stream = StreamValue()
    _STREAM_LOADERS[id(stream)] = FlatLoader(stream, meta)
    return stream


def _stream_extend(value: object, items: list[bytes]) -> None:
    loader = _STREAM_LOADERS.get(id(value))
    if loader is None or loader.s is not value:
        raise SnapshotError("stream record without its header")
    try:
        if loader.feed(items):
            del _STREAM_LOADERS[id(value)]
    except (ValueError, IndexError, KeyError, AssertionError) as exc:
        raise SnapshotError(f"bad stream record: {exc}") from None


def _stream_elements(value: object) -> Iterable[bytes]:
    assert isinstance(value, StreamValue)
    return flat_elements(value)


def _stream_meta(value: object) -> bytes:
    assert isinstance(value, StreamValue)
    return flat_meta(value)


_STREAM_LOADERS: dict[int, FlatLoader] = {}
"""Streams being rebuilt (their elements arrive over several records) → FlatLoader."""

CODECS: dict[str, Codec] = {
    "hash": Codec(b"hash", _hash_elements, lambda meta: HashValue(), _hash_extend),
    "list": Codec(b"list", _iterate, lambda meta: ListValue(), _list_extend),
    "set": Codec(b"set", _iterate, lambda meta: SetValue(), _set_extend),
    "zset": Codec(b"zset", _zset_elements, _zset_new, _zset_extend, _zset_meta),
    "stream": Codec(b"stream", _stream_elements, _stream_new, _stream_extend, _stream_meta),
}
"""Container codecs by type name (what TYPE answers); a new container type adds its entry."""

_BY_KIND: dict[bytes, Codec] = {}


def _codec_by_kind(kind: bytes) -> Codec | None:
    if len(_BY_KIND) != len(CODECS):
        _BY_KIND.clear()
        _BY_KIND.update({c.kind: c for c in CODECS.values()})
    return _BY_KIND.get(kind)


def _record(parts: list[bytes], count: int) -> bytes:
    """A RESP array of ``count`` already-encoded bulk strings."""
    return b"*%d\r\n" % count + b"".join(parts)


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(data), data)


class SnapshotWriter:
    """Writes a keyspace as snapshot records, in chunks of about ``chunk_size`` bytes.

    Iterating :meth:`chunks` must not interleave with changes to the keyspace
    (the leader runs it in a forked child). ``keys`` counts the keys written so
    far, ``bytes`` the bytes yielded.
    """

    def __init__(self, keyspace: Keyspace, chunk_size: int = 256 * 1024) -> None:
        self.keyspace = keyspace
        self.chunk_size = chunk_size
        self.keys = 0
        self.bytes = 0
        self.total_keys = keyspace.total_keys()

    def chunks(self) -> Iterator[bytes]:
        out: list[bytes] = [
            _record(
                [_bulk(b"snapshot"), _bulk(FORMAT_VERSION), _bulk(b"%d" % len(self.keyspace.dbs))],
                3,
            )
        ]
        for name, code in self.keyspace.functions.items():  # [scripting]
            out.append(_record([_bulk(b"function"), _bulk(name.encode()), _bulk(code)], 3))
        size = sum(len(part) for part in out)
        limit = self.chunk_size
        for db in self.keyspace.dbs:
            if not db.data:
                continue
            record = _record([_bulk(b"select"), _bulk(b"%d" % db.id)], 2)
            out.append(record)
            size += len(record)
            for record in self._database(db):
                out.append(record)
                size += len(record)
                if size >= limit:
                    chunk = b"".join(out)
                    out.clear()
                    size = 0
                    self.bytes += len(chunk)
                    yield chunk
        out.append(_record([_bulk(b"end"), _bulk(b"%d" % self.keys)], 2))
        chunk = b"".join(out)
        self.bytes += len(chunk)
        yield chunk

    def _database(self, db: Database) -> Iterator[bytes]:
        """The records of one database's keys, in its LRU order.

        Consecutive string keys are batched; a batch ends where a key of
        another kind (TTL or not, container) comes, so the order is kept.
        """
        expires = db.expires
        batch: list[bytes] = []
        timed = False  # what the current batch holds
        for key, value in db.data.items():
            when = expires.get(key) if expires else None
            if type(value) is bytes:
                if (when is not None) != timed or len(batch) >= STRING_BATCH:
                    if batch:
                        yield self._strings(batch, timed)
                    timed = when is not None
                if when is None:
                    batch.append(b"$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(key), key, len(value), value))
                else:
                    when_text = b"%d" % when
                    batch.append(
                        b"$%d\r\n%b\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
                        % (len(key), key, len(value), value, len(when_text), when_text)
                    )
                continue
            if batch:
                yield self._strings(batch, timed)
            self.keys += 1
            yield from self._container(key, value, when)
        if batch:
            yield self._strings(batch, timed)

    def _strings(self, batch: list[bytes], timed: bool) -> bytes:
        """A ``strings`` or ``strings-px`` record of the batch (which is emptied)."""
        self.keys += len(batch)
        if timed:
            record = b"*%d\r\n$10\r\nstrings-px\r\n" % (3 * len(batch) + 1) + b"".join(batch)
        else:
            record = b"*%d\r\n$7\r\nstrings\r\n" % (2 * len(batch) + 1) + b"".join(batch)
        batch.clear()
        return record

    def _container(self, key: bytes, value: object, when: int | None) -> Iterator[bytes]:
        codec = CODECS.get(getattr(type(value), "type_name", ""))
        if codec is None:
            raise SnapshotError(f"no snapshot codec for values of type {type(value).__name__}")
        nbytes: int = value.nbytes  # type: ignore[attr-defined]
        head = [
            _bulk(codec.kind),
            _bulk(key),
            _bulk(b"" if when is None else b"%d" % when),
            _bulk(b"%d" % nbytes),
            _bulk(codec.meta(value)),
        ]
        parts = head
        count = len(head)
        more = False
        for element in codec.elements(value):
            parts.append(_bulk(element))
            count += 1
            if count >= CONTAINER_BATCH:
                yield _record(parts, count)
                parts = [_bulk(b"more")]
                count = 1
                more = True
        if count > 1 or not more:
            yield _record(parts, count)


class SnapshotLoader:
    """Applies snapshot records to a keyspace as they arrive (the follower's side).

    :meth:`begin` empties the keyspace; :meth:`apply` takes one record and
    returns True at the ``end`` record. The keyspace's memory estimate is kept
    exact: values arrive with the leader's ``nbytes`` and the entry overheads
    are added as :meth:`Database.set` would.
    """

    def __init__(self, keyspace: Keyspace) -> None:
        self.keyspace = keyspace
        self.db: Database = keyspace.dbs[0]
        self.keys = 0
        self.expected: int | None = None
        self.started = False
        self._container: object | None = None
        self._codec: Codec | None = None

    def begin(self) -> None:
        self.keyspace.flushall()
        self.keyspace.functions.clear()  # [scripting]
        self.keys = 0
        self.started = False
        self._container = None

    def apply(self, record: list[bytes]) -> bool:
        if not record:
            raise SnapshotError("empty snapshot record")
        kind = record[0]
        if kind == b"strings":
            self._strings(record)
        elif kind == b"strings-px":
            self._strings_px(record)
        elif kind == b"more":
            if self._container is None or self._codec is None:
                raise SnapshotError("'more' record without a container before it")
            self._codec.extend(self._container, record[1:])
        elif kind == b"function":  # [scripting] a FUNCTION library: name, code
            if len(record) != 3:
                raise SnapshotError("function record needs a name and a code")
            self.keyspace.functions[record[1].decode("utf-8", "surrogateescape")] = record[2]
        elif kind == b"select":
            index = _int(record, 1)
            if not 0 <= index < len(self.keyspace.dbs):
                raise SnapshotError(f"snapshot database {index} does not exist here")
            self.db = self.keyspace.dbs[index]
            self._container = None
        elif kind == b"snapshot":
            if len(record) < 2 or record[1] != FORMAT_VERSION:
                raise SnapshotError(f"unsupported snapshot format {record[1:2]!r}")
            self.started = True
        elif kind == b"end":
            self.expected = _int(record, 1)
            if self.expected != self.keys:
                raise SnapshotError(
                    f"snapshot announced {self.expected} keys but {self.keys} arrived"
                )
            self._container = None
            return True
        else:
            codec = _codec_by_kind(kind)
            if codec is None:
                raise SnapshotError(f"unknown snapshot record {kind!r}")
            self._new_container(codec, record)
        return False

    def _strings(self, record: list[bytes]) -> None:
        if not len(record) % 2:
            raise SnapshotError("strings record with an odd number of elements")
        keys = record[1::2]
        values = record[2::2]
        db = self.db
        db.data.update(zip(keys, values, strict=True))
        ks = self.keyspace
        ks.used_memory += _strings_size(keys, values)
        if ks.lfu_enabled:
            db.lfu.update(dict.fromkeys(keys, ks.lfu_new()))
        self.keys += len(keys)

    def _strings_px(self, record: list[bytes]) -> None:
        if (len(record) - 1) % 3:
            raise SnapshotError("strings-px record with a bad number of elements")
        keys = record[1::3]
        values = record[2::3]
        db = self.db
        db.data.update(zip(keys, values, strict=True))
        try:
            db.expires.update(zip(keys, map(int, record[3::3]), strict=True))
        except ValueError:
            raise SnapshotError("bad expiry time in a strings-px record") from None
        ks = self.keyspace
        ks.used_memory += _strings_size(keys, values) + EXPIRE_OVERHEAD * len(keys)
        if ks.lfu_enabled:
            db.lfu.update(dict.fromkeys(keys, ks.lfu_new()))
        self.keys += len(keys)

    def _new_container(self, codec: Codec, record: list[bytes]) -> None:
        if len(record) < 5:
            raise SnapshotError(f"short {codec.kind.decode()} record")
        key = record[1]
        value = codec.new(record[4])
        codec.extend(value, record[5:])
        value.nbytes = _int(record, 3)  # type: ignore[attr-defined]
        db = self.db
        ks = self.keyspace
        db.data[key] = value
        ks.used_memory += entry_size(key, value)
        if record[2]:
            db.expires[key] = _int(record, 2)
            ks.used_memory += EXPIRE_OVERHEAD
        if ks.lfu_enabled:
            db.lfu[key] = ks.lfu_new()
        self._container = value
        self._codec = codec
        self.keys += 1


def _strings_size(keys: list[bytes], values: list[bytes]) -> int:
    """``sum(map(entry_size, keys, values))`` for string values, ten times faster.

    The same formula as :func:`respcache.store.values.entry_size` (a unit test
    compares the loaded keyspace's ``used_memory`` with the original's).
    """
    return (
        (ENTRY_OVERHEAD + 2 * BYTES_OVERHEAD) * len(keys)
        + sum([len(k) & ~15 for k in keys])
        + sum([len(v) & ~15 for v in values])
    )


def _int(record: list[bytes], index: int) -> int:
    try:
        return int(record[index])
    except (IndexError, ValueError):
        raise SnapshotError(f"bad integer in snapshot record {record[0]!r}") from None
