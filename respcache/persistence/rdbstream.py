"""Streams in RDB files and DUMP payloads: ``RDB_TYPE_STREAM_LISTPACKS_2`` (19), and
reading the older ``RDB_TYPE_STREAM_LISTPACKS`` (15) of Redis 5 and 6.

Followed: Redis 7.0.15 ``rdb.c`` (``rdbSaveObject``/``rdbLoadObject`` for
``OBJ_STREAM``, ``rdbSaveStreamPEL``, ``rdbSaveStreamConsumers``) and ``t_stream.c``
(the node listpack layout written by ``streamAppendItem``). A stream is:

* the number of nodes, then per node its master ID (16 bytes, big-endian ms and seq)
  and its listpack: ``count deleted num-fields field... 0`` (the master entry), then per
  entry ``flags ms-diff seq-diff`` and either its values (flag ``SAMEFIELDS``: the
  master's fields in the same order) or ``num-fields field value ...``, then
  ``lp-count`` (the entry's element count, for walking backwards);
* ``length``, ``last_id`` (ms, seq), and with type 19 ``first_id``, the maximal deleted
  ID and ``entries_added``;
* the groups in name order: name, ``last_id``, (19) ``entries_read``, the global PEL
  (raw 16-byte IDs with delivery time in ms and delivery count), then the consumers in
  name order: name, seen time in ms, their PEL (raw IDs only; each refers to the
  group's entry).

respcache's nodes keep no data of a deleted entry (``StreamNode.items[i] is None``), so
a deleted entry is written with the master's fields and empty values: Redis reads it
the same (it only skips deleted entries), but the node's listpack is smaller than the
original, so after a reload a node may take a few more entries before it is closed.
"""

from __future__ import annotations

import struct
from typing import Final

from respcache.persistence.encodings import listpack_decode, listpack_encode
from respcache.persistence.rdb import (
    TYPE_STREAM_LISTPACKS_2,
    RdbError,
    RdbReader,
    encode_len,
    encode_string,
)
from respcache.store.stream import (
    INVALID_ENTRIES_READ,
    MASK64,
    Consumer,
    ConsumerGroup,
    Nack,
    StreamNode,
    StreamValue,
    id_parts,
    lp_int_size,
    make_id,
)

__all__ = ["read_stream", "read_stream_v1", "write_stream"]

FLAG_DELETED: Final = 1
FLAG_SAMEFIELDS: Final = 2
_ID: Final = struct.Struct(">QQ")
_MS: Final = struct.Struct("<q")


def _signed64(v: int) -> int:
    v &= MASK64
    return v - (1 << 64) if v >> 63 else v


def _node_listpack(node: StreamNode) -> bytes:
    fields = node.fields
    nf = len(fields)
    elements: list[bytes] = [b"%d" % node.count, b"%d" % node.deleted, b"%d" % nf, *fields, b"0"]
    master_ms, master_seq = id_parts(node.master)
    add = elements.append
    extend = elements.extend
    for sid, item in zip(node.ids, node.items, strict=True):
        ms, seq = id_parts(sid)
        ms_diff = b"%d" % _signed64(ms - master_ms)
        seq_diff = b"%d" % _signed64(seq - master_seq)
        if item is None:
            extend((b"%d" % (FLAG_DELETED | FLAG_SAMEFIELDS), ms_diff, seq_diff))
            extend([b""] * nf)
            add(b"%d" % (nf + 3))
        elif len(item) == 2 * nf and item[0::2] == fields:
            extend((b"%d" % FLAG_SAMEFIELDS, ms_diff, seq_diff))
            extend(item[1::2])
            add(b"%d" % (nf + 3))
        else:
            n = len(item) // 2
            extend((b"0", ms_diff, seq_diff, b"%d" % n))
            extend(item)
            add(b"%d" % (2 * n + 4))
    return listpack_encode(elements)


def write_stream(value: object, compress: bool) -> tuple[int, bytes]:
    """A stream as ``RDB_TYPE_STREAM_LISTPACKS_2``."""
    assert isinstance(value, StreamValue)
    s = value
    parts = [encode_len(len(s.nodes))]
    for node in s.nodes:
        parts.append(encode_string(_ID.pack(*id_parts(node.master)), compress))
        parts.append(encode_string(_node_listpack(node), compress))
    for number in (
        s.length,
        *id_parts(s.last_id),
        *id_parts(s.first_id),
        *id_parts(s.max_deleted_id),
        s.entries_added,
    ):
        parts.append(encode_len(number))
    groups = s.sorted_groups()
    parts.append(encode_len(len(groups)))
    for group in groups:
        parts.append(encode_string(group.name, compress))
        parts.extend(encode_len(x) for x in id_parts(group.last_id))
        entries_read = group.entries_read
        # SCG_INVALID_ENTRIES_READ is -1, written as an unsigned 64-bit length.
        parts.append(encode_len(entries_read & MASK64))
        pel = group.pel
        parts.append(encode_len(len(pel)))
        for sid in pel.order:
            nack = pel.by_id[sid]
            parts.append(_ID.pack(*id_parts(sid)))
            parts.append(_MS.pack(nack.delivery_time))
            parts.append(encode_len(nack.delivery_count))
        consumers = group.sorted_consumers()
        parts.append(encode_len(len(consumers)))
        for consumer in consumers:
            parts.append(encode_string(consumer.name, compress))
            parts.append(_MS.pack(consumer.seen_time))
            parts.append(encode_len(len(consumer.pel)))
            parts.extend(_ID.pack(*id_parts(sid)) for sid in consumer.pel.order)
    return TYPE_STREAM_LISTPACKS_2, b"".join(parts)


def _read_node(s: StreamValue, key: bytes, blob: bytes) -> None:
    if len(key) != 16:
        raise RdbError("Stream node key entry is not the size of a stream ID")
    master = make_id(*_ID.unpack(key))
    elements = listpack_decode(blob)
    if not elements:
        raise RdbError("Empty listpack inside stream")
    try:
        count, deleted, nf = int(elements[0]), int(elements[1]), int(elements[2])
        fields = tuple(elements[3 : 3 + nf])
        pos = 3 + nf + 1  # the master entry's terminating 0
        node = StreamNode(master, fields)
        node.count, node.deleted = count, deleted
        node.base = len(blob) - lp_int_size(count) - lp_int_size(deleted)
        master_ms, master_seq = id_parts(master)
        end = len(elements)
        while pos < end:
            flags = int(elements[pos])
            ms = (master_ms + int(elements[pos + 1])) & MASK64
            seq = (master_seq + int(elements[pos + 2])) & MASK64
            pos += 3
            if flags & FLAG_SAMEFIELDS:
                values = elements[pos : pos + nf]
                pos += nf
                item = tuple(x for pair in zip(fields, values, strict=True) for x in pair)
            else:
                n = int(elements[pos])
                item = tuple(elements[pos + 1 : pos + 1 + 2 * n])
                pos += 1 + 2 * n
            pos += 1  # lp-count
            node.ids.append(make_id(ms, seq))
            node.items.append(None if flags & FLAG_DELETED else item)
    except (ValueError, IndexError):
        raise RdbError("Bad stream listpack") from None
    if pos != end:
        raise RdbError("Bad stream listpack")
    s.nodes.append(node)
    s.heads.append(master)


def _read(r: RdbReader, version2: bool) -> StreamValue:
    s = StreamValue()
    for _ in range(r.length()):
        key = r.string()
        _read_node(s, key, r.string())
    s.length = r.length()
    s.last_id = make_id(r.length(), r.length())
    if version2:
        s.first_id = make_id(r.length(), r.length())
        s.max_deleted_id = make_id(r.length(), r.length())
        s.entries_added = r.length()
    else:
        s.entries_added = s.length
        first = s.first_entry()
        s.first_id = first[0] if first is not None else 0
    if s.length and not s.nodes:
        raise RdbError("Stream length inconsistent with the stream's nodes")
    for _ in range(r.length()):
        name = r.string()
        last_id = make_id(r.length(), r.length())
        if version2:
            entries_read = r.length()
            if entries_read == MASK64:
                entries_read = INVALID_ENTRIES_READ
        else:
            entries_read = s.estimate_distance(last_id)
        if name in s.groups:
            raise RdbError("Duplicated consumer group name loading stream consumer group")
        group = s.groups[name] = ConsumerGroup(name, last_id, entries_read)
        for _ in range(r.length()):
            sid = make_id(*_ID.unpack(r.take(16)))
            nack = Nack(None, _MS.unpack(r.take(8))[0])
            nack.delivery_count = r.length()
            if sid in group.pel:
                raise RdbError("Duplicated global PEL entry loading stream consumer group")
            group.pel.add(sid, nack)
        for _ in range(r.length()):
            cname = r.string()
            consumer = Consumer(cname, _MS.unpack(r.take(8))[0])
            group.consumers[cname] = consumer
            for _ in range(r.length()):
                sid = make_id(*_ID.unpack(r.take(16)))
                shared = group.pel.get(sid)
                if shared is None:
                    raise RdbError("Consumer entry not found in group global PEL")
                shared.consumer = consumer
                consumer.pel.add(sid, shared)
        for sid in group.pel.order:
            if group.pel.by_id[sid].consumer is None:
                raise RdbError("Stream PEL NACK without a consumer")
    s.nbytes = s.estimate()
    return s


def read_stream(r: RdbReader) -> object:
    return _read(r, version2=True)


def read_stream_v1(r: RdbReader) -> object:
    return _read(r, version2=False)
