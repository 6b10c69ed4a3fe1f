"""The full-sync snapshot: a keyspace written as records and loaded back, byte by byte too."""

from __future__ import annotations

import math

import hiredis
import pytest

from respcache.commands.digest import dataset_digest
from respcache.replication.snapshot import (
    CONTAINER_BATCH,
    STRING_BATCH,
    SnapshotError,
    SnapshotLoader,
    SnapshotWriter,
)
from respcache.store.keyspace import Keyspace
from respcache.store.values import HashValue, ListValue, SetValue

try:
    from respcache.store.zset import ZSetValue
except ImportError:  # sorted sets not in this tree yet
    ZSetValue = None  # type: ignore[assignment,misc]


def _grow(ks: Keyspace, db: int, key: bytes, value: object, delta: int) -> None:
    ks.dbs[db].set(key, value)
    ks.dbs[db].grow(value, delta)


def _sample_keyspace() -> Keyspace:
    ks = Keyspace(4, clock=lambda: 1_700_000_000.0)
    db0, db2 = ks.dbs[0], ks.dbs[2]
    for i in range(STRING_BATCH + 10):  # more than one strings record
        db0.set(b"s:%d" % i, b"v%d" % i)
    db0.set(b"empty", b"")
    db0.set(b"binary\r\n\x00", b"\x00\xff\r\n")
    for i in range(5):
        db0.set(b"ttl:%d" % i, b"x")
        db0.set_expire(b"ttl:%d" % i, 1_700_000_100_000 + i)
    h = HashValue()
    h.update({b"f1": b"v1", b"f2": b""})
    _grow(ks, 0, b"hash", h, 300)
    lst = ListValue()
    lst.extend([b"a", b"b", b"a"])
    _grow(ks, 2, b"list", lst, 100)
    db2.set_expire(b"list", 1_700_000_200_000)
    big = SetValue()
    big.update(b"m%d" % i for i in range(3 * CONTAINER_BATCH + 7))  # "more" records
    _grow(ks, 2, b"bigset", big, 12345)
    if ZSetValue is not None:
        zset = ZSetValue.from_scores({b"a": 1.5, b"b": -0.0, b"c": math.inf, b"d": -math.inf})
        ks.dbs[3].set(b"z", zset)
        zbig = ZSetValue.from_scores({b"m%d" % i: i / 7 for i in range(300)})
        ks.dbs[3].set(b"zbig", zbig)
    db0.lookup(b"s:0")  # LRU order differs from insertion order
    return ks


def _load(chunks: list[bytes], split: int | None = None) -> tuple[Keyspace, SnapshotLoader]:
    target = Keyspace(4, clock=lambda: 1_700_000_000.0)
    target.dbs[1].set(b"old", b"data")  # replaced by the snapshot
    loader = SnapshotLoader(target)
    loader.begin()
    reader = hiredis.Reader()
    data = b"".join(chunks)
    step = split or len(data)
    done = False
    for i in range(0, len(data), step):
        reader.feed(data[i : i + step])
        while (record := reader.gets()) is not False:
            assert not done
            done = loader.apply(record)
    assert done
    return target, loader


def test_round_trip_keeps_everything() -> None:
    source = _sample_keyspace()
    writer = SnapshotWriter(source, chunk_size=4096)
    chunks = list(writer.chunks())
    assert len(chunks) > 1  # streamed in pieces
    assert writer.keys == source.total_keys()
    target, loader = _load(chunks)
    assert loader.keys == source.total_keys()
    assert dataset_digest(target.dbs) == dataset_digest(source.dbs)
    assert target.used_memory == source.used_memory
    for a, b in zip(source.dbs, target.dbs, strict=True):
        assert list(a.data) == list(b.data)  # LRU order too
        assert dict(a.expires) == dict(b.expires)
        for key, value in a.data.items():
            copy = b.data[key]
            assert type(copy) is type(value)
            assert copy == value
    assert b"old" not in target.dbs[1].data


@pytest.mark.skipif(ZSetValue is None, reason="no sorted sets in this tree")
def test_sorted_sets_keep_order_encoding_and_signed_zero() -> None:
    source = _sample_keyspace()
    target, _ = _load(list(SnapshotWriter(source).chunks()))
    for key in (b"z", b"zbig"):
        a, b = source.dbs[3].data[key], target.dbs[3].data[key]
        assert isinstance(a, ZSetValue) and isinstance(b, ZSetValue)
        assert list(b.order) == list(a.order)
        assert b.big == a.big
        assert b.nbytes == a.nbytes
    z = target.dbs[3].data[b"z"]
    assert isinstance(z, ZSetValue)
    assert math.copysign(1.0, z[b"b"]) == math.copysign(1.0, source.dbs[3].data[b"z"][b"b"])  # type: ignore[index]


def test_loading_byte_by_byte() -> None:
    source = Keyspace(2)
    for i in range(50):
        source.dbs[1].set(b"k%d" % i, b"v" * i)
    h = HashValue()
    h[b"f"] = b"v"
    source.dbs[0].set(b"h", h)
    target, _ = _load(list(SnapshotWriter(source).chunks()), split=1)
    assert dataset_digest(target.dbs) == dataset_digest(source.dbs)


def test_empty_keyspace() -> None:
    chunks = list(SnapshotWriter(Keyspace(2)).chunks())
    target, loader = _load(chunks)
    assert loader.keys == 0
    assert target.total_keys() == 0


def test_lfu_counters_are_initialised_when_lfu_is_on() -> None:
    source = _sample_keyspace()
    target = Keyspace(4, policy="allkeys-lfu")
    loader = SnapshotLoader(target)
    loader.begin()
    reader = hiredis.Reader()
    for chunk in SnapshotWriter(source).chunks():
        reader.feed(chunk)
        while (record := reader.gets()) is not False:
            loader.apply(record)
    assert set(target.dbs[0].lfu) == set(target.dbs[0].data)


@pytest.mark.parametrize(
    "record, message",
    [
        ([b"bogus"], "unknown snapshot record"),
        ([b"select", b"99"], "does not exist"),
        ([b"strings", b"k"], "odd number"),
        ([b"more", b"x"], "without a container"),
        ([b"end", b"5"], "announced 5 keys"),
        ([b"snapshot", b"9", b"16"], "unsupported snapshot format"),
        ([b"hash", b"k", b"", b"10"], "short hash record"),
    ],
)
def test_bad_records_are_errors(record: list[bytes], message: str) -> None:
    loader = SnapshotLoader(Keyspace(2))
    loader.begin()
    with pytest.raises(SnapshotError, match=message):
        loader.apply(record)


def test_unknown_value_type_cannot_be_written() -> None:
    ks = Keyspace(1)
    ks.dbs[0].data[b"weird"] = object()
    with pytest.raises(SnapshotError, match="no snapshot codec"):
        list(SnapshotWriter(ks).chunks())
