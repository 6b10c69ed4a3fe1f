"""RDB encodings without sockets: LZF and CRC64 vectors, listpack/ziplist/intset, round-trips."""

from __future__ import annotations

import io
import math
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respcache.commands.hashes import field_cost
from respcache.commands.lists import item_size as item_cost
from respcache.commands.sets import member_cost as set_member_cost
from respcache.persistence import lzf
from respcache.persistence.crc64 import crc64, py_crc64
from respcache.persistence.encodings import (
    EncodingError,
    intset_decode,
    intset_encode,
    listpack_decode,
    listpack_encode,
    ziplist_decode,
    ziplist_encode,
)
from respcache.persistence.rdb import (
    RdbError,
    RdbReader,
    encode_len,
    encode_string,
    load_rdb,
    read_value,
    write_keyspace,
    write_value,
)
from respcache.store.keyspace import Keyspace
from respcache.store.values import CONTAINER_OVERHEAD, HashValue, ListValue, SetValue
from respcache.store.zset import ZSetValue, member_cost

LOREM = (
    b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed "
    b"do eiusmod tempor incididunt ut labore et dolore magna "
    b"aliqua. Ut enim ad minim veniam, quis nostrud exercitation "
    b"ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis "
    b"aute irure dolor in reprehenderit in voluptate velit esse "
    b"cillum dolore eu fugiat nulla pariatur. Excepteur sint "
    b"occaecat cupidatat non proident, sunt in culpa qui officia "
    b"deserunt mollit anim id est laborum."
)

# --- CRC64 (the vectors of Redis's crc64.c test) ---------------------------------------------------


@pytest.mark.parametrize("fun", [crc64, py_crc64])
def test_crc64_vectors(fun: object) -> None:
    assert fun(b"123456789") == 0xE9C6D914C4B8D9CA  # type: ignore[operator]
    assert fun(LOREM + b"\x00") == 0xC7794709E69683B3  # type: ignore[operator]  # sizeof(li)


def test_crc64_continues() -> None:
    assert crc64(b"6789", crc64(b"12345")) == crc64(b"123456789")
    assert py_crc64(b"6789", py_crc64(b"12345")) == 0xE9C6D914C4B8D9CA


# --- LZF ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"a" * 100, LOREM, LOREM * 20, b"abcabcabcabcabcabcabcabc" * 50, bytes(range(256)) * 40],
)
def test_lzf_round_trips_across_implementations(data: bytes) -> None:
    for comp in (lzf.compress, lzf.py_compress):
        packed = comp(data)
        assert packed is not None and len(packed) < len(data)
        assert lzf.decompress(packed, len(data)) == data
        assert lzf.py_decompress(packed, len(data)) == data


def test_lzf_known_vector_and_refusals() -> None:
    # liblzf's encoding of 100 'a': one literal, a 95-byte back reference, two literals.
    packed = b"\x01aa\xe0W\x00\x01aa"
    assert lzf.py_decompress(packed, 100) == b"a" * 100
    assert lzf.decompress(packed, 100) == b"a" * 100
    assert lzf.compress(bytes(range(40))) is None  # incompressible
    assert lzf.py_compress(bytes(range(40))) is None
    with pytest.raises(lzf.LzfError):
        lzf.py_decompress(packed, 99)
    with pytest.raises(lzf.LzfError):
        lzf.decompress(packed, 101)
    with pytest.raises(lzf.LzfError):
        lzf.py_decompress(b"\x20\x05", 10)  # reference before the start


def test_lzf_random_round_trip() -> None:
    rng = random.Random(7)
    for _ in range(50):
        data = bytes(rng.choice(b"abcd") for _ in range(rng.randrange(1, 3000)))
        packed = lzf.py_compress(data, len(data) + 100)
        assert packed is not None
        assert lzf.decompress(packed, len(data)) == data


# --- compact encodings -------------------------------------------------------------------------------

ELEMENTS = [
    b"a", b"0", b"-1", b"127", b"128", b"-4096", b"4095", b"4096", b"-32768", b"40000",
    b"-8388608", b"8388608", b"2147483647", b"-2147483649", b"9223372036854775807",
    b"-9223372036854775808", b"9223372036854775808", b"x" * 63, b"x" * 64, b"y" * 4095,
    b"y" * 4096, b"", b"01", b"+1", b" 1", b"\xff\x00",
]  # fmt: skip


def test_listpack_and_ziplist_round_trip() -> None:
    assert listpack_decode(listpack_encode(ELEMENTS)) == ELEMENTS
    assert ziplist_decode(ziplist_encode(ELEMENTS)) == ELEMENTS
    assert listpack_decode(listpack_encode([])) == []


def test_listpack_bytes_match_redis() -> None:
    # DUMP of a Redis 7.0 hash {a: 1} carries this listpack.
    assert listpack_encode([b"a", b"1"]) == bytes.fromhex("0c00000002008161020101ff")
    # A 13-bit negative integer and a 12-bit string header.
    assert listpack_encode([b"-1"])[6:9] == b"\xdf\xff\x02"
    assert listpack_encode([b"z" * 100])[6:8] == b"\xe0\x64"


def test_listpack_rejects_garbage() -> None:
    good = listpack_encode([b"hello", b"12"])
    for bad in (good[:-1], good[:5], b"\x00" * 7, good[:-2] + b"\x00\xff"):
        with pytest.raises(EncodingError):
            listpack_decode(bad)
    wrong_count = good[:4] + struct.pack("<H", 3) + good[6:]
    with pytest.raises(EncodingError):
        listpack_decode(wrong_count)


def test_intset() -> None:
    for numbers, width in (([1, -5, 3], 2), ([70000, 1], 4), ([-(2**40), 2], 8)):
        blob = intset_encode(numbers)
        assert struct.unpack_from("<I", blob)[0] == width
        assert intset_decode(blob) == sorted(numbers)
    with pytest.raises(EncodingError):
        intset_decode(struct.pack("<II2h", 2, 2, 5, 5))  # not strictly ascending
    with pytest.raises(EncodingError):
        intset_decode(struct.pack("<II", 3, 0))


# --- strings and lengths -------------------------------------------------------------------------------


def test_lengths_and_strings_decode() -> None:
    for n in (0, 63, 64, 16383, 16384, 2**32 - 1, 2**32):
        assert RdbReader(encode_len(n)).length() == n
    for s in (b"", b"12", b"-128", b"32767", b"-2147483648", b"2147483648", b"012", b"a" * 30,
              LOREM, bytes(range(256))):  # fmt: skip
        assert RdbReader(encode_string(s)).string() == s
        assert RdbReader(encode_string(s, compress=False)).string() == s
    assert encode_string(b"12") == b"\xc0\x0c"
    assert encode_string(b"a" * 30)[0] == 0xC3  # LZF
    assert encode_string(b"a" * 30, compress=False)[0] == 30


# --- values and whole files -------------------------------------------------------------------------------


def _zset(pairs: dict[bytes, float]) -> ZSetValue:
    z = ZSetValue()
    for m, s in pairs.items():
        z.nbytes += z.insert(m, s)
    return z


def _hash(pairs: dict[bytes, bytes]) -> HashValue:
    h = HashValue()
    h.update(pairs)
    h.nbytes = CONTAINER_OVERHEAD + sum(field_cost(f, v) for f, v in pairs.items())
    return h


def _set(members: list[bytes]) -> SetValue:
    s = SetValue()
    s.update(members)
    s.nbytes = CONTAINER_OVERHEAD + sum(set_member_cost(m) for m in members)
    s.big = not all(m.lstrip(b"-").isdigit() for m in members) or len(members) > 512
    return s


def _list(items: list[bytes]) -> ListValue:
    lst = ListValue()
    lst.extend(items)
    lst.nbytes = CONTAINER_OVERHEAD + sum(item_cost(e) for e in items)
    return lst


def _sample() -> Keyspace:
    ks = Keyspace(16, clock=lambda: 1_700_000_000.0)
    db0, db5 = ks.dbs[0], ks.dbs[5]
    db0.set(b"int", b"12345")
    db0.set(b"bigint", b"123456789012345")
    db0.set(b"text", LOREM)
    db0.set(b"empty", b"")
    db0.set(b"bin\r\n\x00", bytes(range(256)))
    db0.set(b"ttl", b"v")
    db0.set_expire(b"ttl", 1_800_000_000_000)
    db0.set(b"list", _list([b"a", b"1", b"x" * 100] * 200))
    db0.set(b"intset", _set([b"1", b"-7", b"9223372036854775807"]))
    db0.set(b"strset", _set([b"a", b"b", b"1"]))
    db0.set(b"smallhash", _hash({b"a": b"1", b"b": b"two"}))
    db0.set(b"longhash", _hash({b"f": b"v" * 100}))
    db0.set(b"bighash", _hash({b"f%d" % i: b"%d" % i for i in range(600)}))
    db5.set(b"zsmall", _zset({b"a": 1.0, b"b": 2.5, b"c": -math.inf, b"d": math.inf, b"e": -0.0}))
    db5.set(b"zbig", _zset({b"m%d" % i: i / 3 for i in range(300)}))
    db5.set(b"zneg0", _zset({b"x" * 70: -0.0}))
    return ks


def _content(ks: Keyspace) -> dict[tuple[int, bytes], tuple[str, object, int | None]]:
    out: dict[tuple[int, bytes], tuple[str, object, int | None]] = {}
    for db in ks.dbs:
        for key, value in db.data.items():
            if isinstance(value, ZSetValue):
                plain: object = sorted((m, s, math.copysign(1, s)) for m, s in value.items())
            elif isinstance(value, ListValue):
                plain = list(value)
            elif isinstance(value, dict | set):
                plain = value.copy()
            else:
                plain = value
            out[db.id, key] = (type(value).__name__, plain, db.expires.get(key))
    return out


def test_keyspace_round_trip_keeps_data_order_memory_and_encodings() -> None:
    ks = _sample()
    ks.dbs[0].lookup(b"int")  # now the most recently used
    buffer = io.BytesIO()
    writer = write_keyspace(buffer, ks)
    blob = buffer.getvalue()
    assert blob[:9] == b"REDIS0010" and writer.keys == ks.total_keys()
    assert struct.unpack("<Q", blob[-8:])[0] == crc64(blob[:-8])
    loaded = Keyspace(16, clock=lambda: 1_700_000_000.0)
    result = load_rdb(blob, loaded)
    assert result.keys_loaded == ks.total_keys() and result.checksum_checked
    assert result.aux["redis-ver"] == b"7.0.15"
    assert _content(loaded) == _content(ks)
    assert list(loaded.dbs[0].data) == list(ks.dbs[0].data)  # LRU order kept
    assert loaded.used_memory == ks.used_memory
    z = loaded.dbs[5].data[b"zneg0"]
    assert isinstance(z, ZSetValue) and z.big and math.copysign(1, z[b"x" * 70]) < 0
    assert not loaded.dbs[5].data[b"zsmall"].big  # type: ignore[attr-defined]
    assert loaded.dbs[0].data[b"strset"].big  # type: ignore[attr-defined]
    assert not loaded.dbs[0].data[b"intset"].big  # type: ignore[attr-defined]
    assert loaded.dbs[0].data[b"bighash"].big  # type: ignore[attr-defined]


def test_uncompressed_and_unchecksummed_files_load() -> None:
    ks = _sample()
    buffer = io.BytesIO()
    write_keyspace(buffer, ks, compress=False, checksum=False)
    blob = buffer.getvalue()
    assert blob[-8:] == b"\x00" * 8
    loaded = Keyspace(16, clock=lambda: 1_700_000_000.0)
    assert not load_rdb(blob, loaded).checksum_checked
    assert _content(loaded) == _content(ks)


def test_corruption_is_detected() -> None:
    buffer = io.BytesIO()
    write_keyspace(buffer, _sample())
    blob = buffer.getvalue()
    at = blob.index(bytes(range(100, 140))) + 5  # inside a verbatim string value
    with pytest.raises(RdbError, match="CRC"):
        load_rdb(blob[:at] + bytes([blob[at] ^ 1]) + blob[at + 1 :], Keyspace(16))
    with pytest.raises(RdbError, match="EOF"):
        load_rdb(blob[: len(blob) // 2], Keyspace(16))
    with pytest.raises(RdbError, match="signature"):
        load_rdb(b"RODIS0010", Keyspace(16))
    with pytest.raises(RdbError, match="version 11"):
        load_rdb(b"REDIS0011\xff" + b"\x00" * 8, Keyspace(16))


def test_expired_keys_skipped_on_load_unless_replica() -> None:
    ks = Keyspace(16, clock=lambda: 1_700_000_000.0)
    ks.dbs[0].set(b"gone", b"x")
    ks.dbs[0].set_expire(b"gone", 1_600_000_000_000)
    ks.dbs[0].set(b"kept", b"y")
    buffer = io.BytesIO()
    write_keyspace(buffer, ks)
    master = Keyspace(16, clock=lambda: 1_700_000_000.0)
    result = load_rdb(buffer.getvalue(), master)
    assert (result.keys_loaded, result.keys_expired) == (1, 1)
    replica = Keyspace(16, clock=lambda: 1_700_000_000.0)
    assert load_rdb(buffer.getvalue(), replica, expire_on_load=False).keys_loaded == 2


def test_lfu_frequency_travels() -> None:
    ks = Keyspace(16, policy="allkeys-lfu", clock=lambda: 1_700_000_000.0)
    ks.dbs[0].set(b"k", b"v")
    ks.dbs[0].lfu[b"k"] = (ks.lfu_new() & ~0xFF) | 200
    buffer = io.BytesIO()
    write_keyspace(buffer, ks)
    assert b"\xf9\xc8\x00" in buffer.getvalue()  # FREQ 200, then a string
    loaded = Keyspace(16, policy="allkeys-lfu", clock=lambda: 1_700_000_000.0)
    load_rdb(buffer.getvalue(), loaded)
    assert loaded.lfu_counter(loaded.dbs[0].lfu[b"k"]) == 200


def test_old_encodings_are_read() -> None:
    """What Redis 6 and older wrote: ziplists, a v1 quicklist, text-double zsets, zipmaps."""
    zl = ziplist_encode([b"a", b"1", b"b", b"2"])
    cases: list[tuple[int, bytes, object]] = [
        (10, encode_string(zl), [b"a", b"1", b"b", b"2"]),  # LIST_ZIPLIST
        (14, encode_len(1) + encode_string(zl), [b"a", b"1", b"b", b"2"]),  # LIST_QUICKLIST
        (13, encode_string(zl), {b"a": b"1", b"b": b"2"}),  # HASH_ZIPLIST
        (12, encode_string(zl), {b"a": 1.0, b"b": 2.0}),  # ZSET_ZIPLIST
        (1, encode_len(2) + encode_string(b"x") + encode_string(b"7"), [b"x", b"7"]),
        (
            3,
            encode_len(2) + encode_string(b"m") + b"\x032.5" + encode_string(b"n") + b"\xfe",
            {b"m": 2.5, b"n": math.inf},
        ),
        # Redis 2.4 zipmap {"f": "vv"} (with one free byte after the value).
        (9, encode_string(b"\x01\x01f\x02\x01vvX\xff"), {b"f": b"vv"}),
    ]
    for kind, body, expected in cases:
        value = read_value(RdbReader(body), kind)
        if isinstance(value, ListValue):
            assert list(value) == expected
        else:
            assert dict(value) == expected  # type: ignore[call-overload]


def test_truncated_streams_and_pre_ga_functions_refuse_clearly() -> None:
    with pytest.raises(RdbError):
        read_value(RdbReader(encode_len(0)), 19)  # ends before the stream's length
    blob = b"REDIS0010\xf6" + encode_string(b"#!lua name=x")
    with pytest.raises(RdbError, match="Pre-GA function format not supported"):
        load_rdb(blob, Keyspace(16))


def test_empty_containers_are_skipped() -> None:
    blob = b"REDIS0010\xfe\x00" + b"\x02" + encode_string(b"k") + encode_len(0) + b"\xff"
    blob += struct.pack("<Q", crc64(blob))
    ks = Keyspace(16)
    result = load_rdb(blob, ks)
    assert result.empty_keys_skipped == 1 and ks.total_keys() == 0


def test_value_payload_for_each_type() -> None:
    kinds = {
        bytes: 0,
        ListValue: 18,
        SetValue: 11,
        HashValue: 16,
        ZSetValue: 17,
    }
    values: list[object] = [
        b"x",
        _list([b"a"]),
        _set([b"1"]),
        _hash({b"a": b"b"}),
        _zset({b"m": 1}),
    ]
    for value in values:
        kind, body = write_value(value)
        assert kind == kinds[type(value)]
        back = read_value(RdbReader(body), kind)
        assert type(back) is type(value)
    assert member_cost(b"abc") > 0


# --- property: any keyspace survives a round trip ------------------------------------------------


_members = st.one_of(
    st.binary(max_size=80),
    st.integers(-(2**63), 2**63 - 1).map(lambda n: b"%d" % n),
    st.integers(-300, 300).map(lambda n: b"%d" % n),
)
_scores = st.floats(allow_nan=False)
_values = st.one_of(
    _members,
    st.lists(_members, min_size=1, max_size=40).map(_list),
    st.sets(_members, min_size=1, max_size=40).map(lambda m: _set(sorted(m))),
    st.dictionaries(_members, _members, min_size=1, max_size=40).map(_hash),
    st.dictionaries(_members, _scores, min_size=1, max_size=200).map(_zset),
)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.tuples(st.integers(0, 3), st.binary(max_size=20)), _values, max_size=12),
    st.booleans(),
)
def test_any_keyspace_round_trips(entries: dict[tuple[int, bytes], object], compress: bool) -> None:
    ks = Keyspace(16, clock=lambda: 1_700_000_000.0)
    for (db, key), value in entries.items():
        ks.dbs[db].set(key, value)
    buffer = io.BytesIO()
    write_keyspace(buffer, ks, compress=compress)
    loaded = Keyspace(16, clock=lambda: 1_700_000_000.0)
    load_rdb(buffer.getvalue(), loaded)
    assert _content(loaded) == _content(ks)
    assert loaded.used_memory == ks.used_memory
