"""DEBUG DIGEST and DEBUG DIGEST-VALUE: a fingerprint of the dataset, and of single values.

Two nodes have the same ``DEBUG DIGEST`` exactly when they hold the same keys,
in the same databases, with the same types, values and TTLs (absolute expiry
times): replication tests compare a leader's and its followers' digests.

Each key's digest is a 160-bit BLAKE2b of its database number, name, type,
value digest and expiry; the dataset's digest is the XOR of the keys' digests,
so it does not depend on iteration order (LRU order differs between nodes).
Unordered values (sets, hashes, sorted sets) are digested the same way: the
XOR of their elements' digests; lists and streams in order (a stream with its
IDs, counters, groups and pending entries). Every variable-length part is
length-prefixed, so no two different values share an encoding. An empty
dataset, and a missing key, digest to 40 zeros, as in Redis. (Redis's own
digest is a different function and only records *whether* a key has a TTL;
this one is not meant to match its bytes.)
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Final

from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.protocol.types import Reply
from respcache.store.keyspace import Database
from respcache.store.values import HashValue, ListValue, SetValue

__all__ = ["dataset_digest", "key_digest", "value_digest"]

ZERO: Final = "0" * 40
_SIZE: Final = 20


def _h(data: bytes) -> int:
    return int.from_bytes(blake2b(data, digest_size=_SIZE).digest(), "big")


def _lp(data: bytes) -> bytes:
    """Length-prefixed bytes."""
    return b"%d:%b" % (len(data), data)


def value_digest(value: object) -> bytes:
    """The digest of a value alone (type and content, no key, no TTL)."""
    if type(value) is bytes:
        return b"s" + blake2b(value, digest_size=_SIZE).digest()
    if isinstance(value, ListValue):
        h = blake2b(digest_size=_SIZE)
        for item in value:
            h.update(_lp(item))
        return b"l" + h.digest()
    acc = 0
    kind = str(getattr(type(value), "type_name", type(value).__name__))
    size: int = len(value)  # type: ignore[arg-type]
    if isinstance(value, SetValue):
        for member in value:
            acc ^= _h(member)
    elif isinstance(value, HashValue):
        for field, item in value.items():
            acc ^= _h(_lp(field) + item)
    elif kind == "zset":
        for member, score in value.items():  # type: ignore[attr-defined]
            acc ^= _h(_lp(member) + repr(float(score)).encode())
    elif kind == "stream":
        return b"stream:" + _stream_digest(value)
    else:  # a type this module does not know yet: its repr, ordered as stored
        acc = _h(repr(value).encode())
    return kind.encode() + b":%d:" % size + acc.to_bytes(_SIZE, "big")


def _stream_digest(value: object) -> bytes:
    """Entries in order, the stream's IDs and counters, groups with their PELs.

    Consumers' seen-times are left out: each node sets its own clock there (Redis
    too), while delivery times and counts travel with the replicated XCLAIMs.
    """
    from respcache.store.stream import MAX_ID, StreamValue, format_id

    assert isinstance(value, StreamValue)
    h = blake2b(digest_size=_SIZE)
    for sid, item in value.range(0, MAX_ID):
        h.update(_lp(format_id(sid)) + b"%d:" % len(item))
        for part in item:
            h.update(_lp(part))
    h.update(
        b"|%d|%d|%d|%d|%d"
        % (value.length, value.last_id, value.first_id, value.max_deleted_id, value.entries_added)
    )
    for name in sorted(value.groups):
        group = value.groups[name]
        h.update(b"g" + _lp(name) + b"%d:%d" % (group.last_id, group.entries_read))
        for cname in sorted(group.consumers):
            h.update(b"c" + _lp(cname))
        for sid in group.pel.order:
            nack = group.pel.by_id[sid]
            owner = b"" if nack.consumer is None else nack.consumer.name
            h.update(
                b"p%d:%d:%d:" % (sid, nack.delivery_time, nack.delivery_count) + _lp(owner)
            )
    return h.digest()


def key_digest(db: Database, key: bytes) -> int:
    """A key's digest as an integer (0 when the key does not exist)."""
    value = db.data.get(key)
    if value is None:
        return 0
    expire = db.expires.get(key)
    tail = b"" if expire is None else b"!!expire!!%d" % expire
    return _h(b"%d:" % db.id + _lp(key) + value_digest(value) + tail)


def dataset_digest(dbs: list[Database]) -> str:
    """The whole dataset's digest, 40 hexadecimal characters."""
    acc = 0
    for db in dbs:
        if not db.data:
            continue
        prefix = b"%d:" % db.id
        expires = db.expires
        for key, value in db.data.items():
            if type(value) is bytes:
                part = b"s" + blake2b(value, digest_size=_SIZE).digest()
            else:
                part = value_digest(value)
            expire = expires.get(key) if expires else None
            if expire is not None:
                part += b"!!expire!!%d" % expire
            acc ^= int.from_bytes(
                blake2b(prefix + _lp(key) + part, digest_size=_SIZE).digest(), "big"
            )
    return f"{acc:040x}" if acc else ZERO


@command(
    "debug|digest",
    arity=2,
    flags="admin noscript loading stale",
    group="server",
    summary="Output a hex signature representing the current DB content",
    since="1.0.0",
    complexity="O(N)",
    acl="@admin @slow @dangerous",
)
def debug_digest(c: Client, argv: list[bytes]) -> Reply:
    return dataset_digest(c.engine.keyspace.dbs)


@command(
    "debug|digest-value",
    arity=-2,
    flags="admin noscript loading stale",
    group="server",
    summary="Output a hex signature of the values of the given keys",
    since="6.0.0",
    complexity="O(N)",
    acl="@admin @slow @dangerous",
)
def debug_digest_value(c: Client, argv: list[bytes]) -> Reply:
    out: list[Reply] = []
    db = c.db
    for key in argv[2:]:
        value = db.data.get(key)
        if value is None:
            out.append(ZERO)
            continue
        expire = db.expires.get(key)
        tail = b"" if expire is None else b"!!expire!!%d" % expire
        digest = _h(value_digest(value) + tail)
        out.append(f"{digest:040x}" if digest else ZERO)
    return out
