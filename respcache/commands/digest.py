"""DEBUG DIGEST and DEBUG DIGEST-VALUE: Redis 7.0.15's fingerprints, byte for byte.

The commands run ``debug.c``'s algorithm (:func:`redis_dataset_digest`,
:func:`redis_value_digest`) so a respcache node and a redis-server holding the same
data answer the same 40 hexadecimal characters (SHA1 from hashlib):

* ``xorDigest(d, data)``: ``d ^= SHA1(data)`` (unordered parts: set members, hash
  fields, sorted-set members, the keys of a database);
* ``mixDigest(d, data)``: ``d = SHA1(d ^ SHA1(data))`` (ordered parts);
* a key: ``mix(key)``, ``mix(htonl(type))``, then its value: a string mixed; list
  elements mixed in order; set members xored; each hash field and sorted-set member
  digested alone (``mix(field)``, ``mix(value)``; a score as ``"%.17g"``) and its
  SHA1 xored in; stream entries mixed in order as ``"<ms>.<seq>"`` and then each field and value
  (consumer groups and PELs are not part of Redis's digest); a key with a TTL has
  ``"!!expire!!"`` xored in (only *whether* it expires, not when);
* the dataset: for each non-empty database ``mix(htonl(dbid))``, then every key's
  digest ``xor``-ed in; an empty dataset, and a missing key, digest to 40 zeros.

The earlier, stricter fingerprint (BLAKE2b of TTL values, stream groups and PELs) is
kept as :func:`dataset_digest` / :func:`value_digest` for tests that compare a
snapshot or a copy more closely than Redis's digest can; no command answers it.
"""

from __future__ import annotations

import struct
from hashlib import blake2b, sha1
from typing import Final

from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.protocol.types import Reply
from respcache.store.keyspace import Database
from respcache.store.values import HashValue, ListValue, SetValue

__all__ = [
    "dataset_digest",
    "key_digest",
    "redis_dataset_digest",
    "redis_value_digest",
    "value_digest",
]

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


# --- Redis 7.0.15 debug.c -----------------------------------------------------------------

_OBJ_STRING: Final = 0
_OBJ_LIST: Final = 1
_OBJ_SET: Final = 2
_OBJ_ZSET: Final = 3
_OBJ_HASH: Final = 4
_OBJ_MODULE: Final = 5
_OBJ_STREAM: Final = 6
_TYPE_CODES: Final = {"list": _OBJ_LIST, "set": _OBJ_SET, "zset": _OBJ_ZSET, "hash": _OBJ_HASH}
_EXPIRE_SHA: Final = int.from_bytes(sha1(b"!!expire!!").digest(), "big")
_TYPE_SHA: Final = [int.from_bytes(sha1(struct.pack(">I", t)).digest(), "big") for t in range(7)]
_MASK64: Final = (1 << 64) - 1


def _sha(data: bytes) -> int:
    return int.from_bytes(sha1(data).digest(), "big")


def _mix(digest: int, data: bytes) -> int:
    """``mixDigest``: SHA1 of (digest xor SHA1(data))."""
    return _sha((digest ^ _sha(data)).to_bytes(_SIZE, "big"))


def _mix_type(digest: int, code: int) -> int:
    """``mixDigest(digest, htonl(type))`` with the type's SHA1 precomputed."""
    return int.from_bytes(sha1((digest ^ _TYPE_SHA[code]).to_bytes(_SIZE, "big")).digest(), "big")


def _pair(first: bytes, second: bytes) -> int:
    """An element digested on its own (hash field and value, member and score), as
    ``xorDigest`` adds it: the SHA1 of its 20 bytes."""
    return _sha(_mix(_mix(0, first), second).to_bytes(_SIZE, "big"))


def _redis_object(digest: int, value: object, expires: bool) -> int:
    """``xorObjectDigest``: mix the type and the value into ``digest``."""
    if type(value) is bytes:
        digest = _mix(_mix_type(digest, _OBJ_STRING), value)
    elif isinstance(value, ListValue):
        digest = _mix_type(digest, _OBJ_LIST)
        for item in value:
            digest = _mix(digest, item)
    else:
        kind = str(getattr(type(value), "type_name", ""))
        code = _TYPE_CODES.get(kind, _OBJ_STREAM if kind == "stream" else _OBJ_MODULE)
        digest = _mix_type(digest, code)
        if isinstance(value, SetValue):
            for member in value:
                digest ^= _sha(member)
        elif isinstance(value, HashValue):
            for field, item in value.items():
                digest ^= _pair(field, item)
        elif code == _OBJ_ZSET:
            for member, score in value.items():  # type: ignore[attr-defined]
                digest ^= _pair(member, b"%.17g" % score)
        elif code == _OBJ_STREAM:
            from respcache.store.stream import MAX_ID, StreamValue

            assert isinstance(value, StreamValue)
            for sid, entry in value.range(0, MAX_ID):
                digest = _mix(digest, b"%d.%d" % (sid >> 64, sid & _MASK64))
                for part in entry:
                    digest = _mix(digest, part)
        # a module type without a digest callback adds nothing (as in Redis)
    if expires:
        digest ^= _EXPIRE_SHA
    return digest


def redis_value_digest(db: Database, key: bytes) -> str:
    """``DEBUG DIGEST-VALUE`` of one key (40 zeros when it does not exist)."""
    value = db.data.get(key)
    if value is None:
        return ZERO
    return f"{_redis_object(0, value, key in db.expires):040x}"


def redis_dataset_digest(dbs: list[Database]) -> str:
    """``computeDatasetDigest``: the whole dataset's ``DEBUG DIGEST``."""
    final = 0
    for db in dbs:
        if not db.data:
            continue
        final = _mix(final, struct.pack(">I", db.id))
        expires = db.expires
        for key, value in db.data.items():
            digest = _redis_object(_mix(0, key), value, key in expires)
            final ^= _sha(digest.to_bytes(_SIZE, "big"))
    return f"{final:040x}"


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
    return redis_dataset_digest(c.engine.keyspace.dbs)


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
    db = c.db
    out: list[Reply] = [redis_value_digest(db, key) for key in argv[2:]]
    return out
