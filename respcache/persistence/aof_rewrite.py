"""The dataset as commands: a rewritten AOF base without RDB preamble
(``rewriteAppendOnlyFileRio`` in Redis 7.0.15 ``aof.c``), and one command's encoding."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import BinaryIO, Final

from respcache.persistence.rdb import RdbError
from respcache.store.keyspace import Keyspace
from respcache.store.stream import StreamValue, format_id
from respcache.store.values import HashValue, ListValue, SetValue
from respcache.store.zset import ZSetValue

__all__ = ["REWRITE_ITEMS_PER_CMD", "encode_command", "rewrite_commands"]

REWRITE_ITEMS_PER_CMD: Final = 64
"""``AOF_REWRITE_ITEMS_PER_CMD``: elements per RPUSH/SADD/ZADD/HMSET of a rewritten base."""


# --- commands ----------------------------------------------------------------------------------


def encode_command(argv: Iterable[bytes]) -> bytes:
    """``catAppendOnlyGenericCommand``: one command in RESP multibulk form."""
    args = list(argv)
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(parts)


def _score(score: float) -> bytes:
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    if score == int(score) and abs(score) < 2**53:
        return b"%d" % int(score)
    return repr(score).encode()


def rewrite_commands(keyspace: Keyspace, out: BinaryIO, key_delay_us: int = 0) -> int:
    """``rewriteAppendOnlyFileRio``: the dataset as commands (``aof-use-rdb-preamble no``).

    Strings as SET, lists RPUSH, sets SADD, sorted sets ZADD, hashes HMSET (at most 64
    elements a command), then PEXPIREAT for keys with an expiry. Returns keys written.
    """
    keys = 0
    for code in keyspace.functions.values():  # rewriteFunctions
        out.write(encode_command([b"FUNCTION", b"LOAD", code]))
    for db in keyspace.dbs:
        if not db.data:
            continue
        out.write(encode_command([b"SELECT", b"%d" % db.id]))
        expires = db.expires
        for key, value in db.data.items():
            if type(value) is bytes:
                out.write(encode_command([b"SET", key, value]))
            elif isinstance(value, ListValue):
                _batched(out, b"RPUSH", key, list(value))
            elif isinstance(value, SetValue):
                _batched(out, b"SADD", key, list(value))
            elif isinstance(value, ZSetValue):
                flat = [
                    x for score, member in value.items_in_order() for x in (_score(score), member)
                ]
                _batched(out, b"ZADD", key, flat, 2)
            elif isinstance(value, HashValue):
                flat = [x for pair in value.items() for x in pair]
                _batched(out, b"HMSET", key, flat, 2)
            elif isinstance(value, StreamValue):
                _rewrite_stream(out, key, value)
            else:
                raise RdbError(
                    f"values of type {type(value).__name__} cannot be rewritten as AOF commands "
                    "yet (use aof-use-rdb-preamble yes)"
                )
            when = expires.get(key) if expires else None
            if when is not None:
                out.write(encode_command([b"PEXPIREAT", key, b"%d" % when]))
            keys += 1
            if key_delay_us > 0:
                time.sleep(key_delay_us / 1e6)
    return keys


def _rewrite_stream(out: BinaryIO, key: bytes, s: StreamValue) -> None:
    """``rewriteStreamObject``: XADDs, XSETID, XGROUP CREATE, XCLAIMs, CREATECONSUMER."""
    w = out.write
    if s.length:
        for node in s.nodes:
            for sid, item in zip(node.ids, node.items, strict=True):
                if item is not None:
                    w(encode_command([b"XADD", key, format_id(sid), *item]))
    else:  # the XADD MAXLEN 0 trick: an empty stream
        w(encode_command([b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]))
    w(
        encode_command(
            [
                b"XSETID",
                key,
                format_id(s.last_id),
                b"ENTRIESADDED",
                b"%d" % s.entries_added,
                b"MAXDELETEDID",
                format_id(s.max_deleted_id),
            ]
        )
    )
    for group in s.sorted_groups():
        w(
            encode_command(
                [
                    b"XGROUP",
                    b"CREATE",
                    key,
                    group.name,
                    format_id(group.last_id),
                    b"ENTRIESREAD",
                    b"%d" % group.entries_read,
                ]
            )
        )
        for consumer in group.sorted_consumers():
            if not len(consumer.pel):
                w(encode_command([b"XGROUP", b"CREATECONSUMER", key, group.name, consumer.name]))
                continue
            for sid in consumer.pel.order:
                nack = consumer.pel.by_id[sid]
                w(
                    encode_command(
                        [
                            b"XCLAIM",
                            key,
                            group.name,
                            consumer.name,
                            b"0",
                            format_id(sid),
                            b"TIME",
                            b"%d" % nack.delivery_time,
                            b"RETRYCOUNT",
                            b"%d" % nack.delivery_count,
                            b"JUSTID",
                            b"FORCE",
                        ]
                    )
                )


def _batched(out: BinaryIO, name: bytes, key: bytes, flat: list[bytes], step: int = 1) -> None:
    chunk = REWRITE_ITEMS_PER_CMD * step
    for i in range(0, len(flat), chunk):
        out.write(encode_command([name, key, *flat[i : i + chunk]]))
