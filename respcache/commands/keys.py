"""Generic key commands: DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, COPY, MOVE, SWAPDB,
the EXPIRE family, TTL and friends, PERSIST, TOUCH, RANDOMKEY and OBJECT.

Lookups follow Redis's flags: EXISTS, TYPE, TTL and OBJECT count keyspace hits and
misses but do not touch the key's LRU/LFU position (``LOOKUP_NOTOUCH``); TOUCH always
touches. KEYS and SCAN are described in :mod:`respcache.commands.scan`.

OBJECT ENCODING reports what Redis 7.0 would use for the value as it is now: strings
by :func:`respcache.commands.strings.string_encoding`, lists always ``quicklist`` (7.0
has no small-list encoding), and hashes, sets and sorted sets by the ``encoding``
function of their own module (Redis 7.0.15's default thresholds). Redis never converts
a container back to its compact encoding when it shrinks; sorted sets record that, a
hash or set that shrank below the thresholds reports the compact encoding again here.

OBJECT IDLETIME is refused: the store keeps keys in exact LRU order but records no
access times, so there is no number to report (see the module's note below).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from respcache.commands.args import parse_int
from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.commands.scan import glob_matcher, parse_cursor, parse_scan_options, scan_step
from respcache.commands.strings import (
    move_mark,
    string_encoding,
    swap_marks,
)
from respcache.errors import (
    DB_INDEX_OUT_OF_RANGE,
    INVALID_EXPIRE,
    NO_SUCH_KEY,
    NOT_INTEGER,
    SYNTAX,
    CommandError,
    unknown_subcommand,
)
from respcache.protocol.types import OK, Reply
from respcache.store.keyspace import Database
from respcache.store.values import HashValue, ListValue, SetValue, type_name

if TYPE_CHECKING:
    from respcache.commands.engine import Engine

SAME_OBJECT: Final = "ERR source and destination objects are the same"
INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1
LLONG_MAX: Final = 2**63 - 1
LLONG_MIN: Final = -(2**63)

SHARED_INTEGERS: Final = 10000
SHARED_REFCOUNT: Final = 2**31 - 1


def lookup_notouch(c: Client, key: bytes) -> object | None:
    """A read lookup that counts hits/misses but leaves LRU/LFU alone (LOOKUP_NOTOUCH)."""
    ks = c.engine.keyspace
    saved = ks.no_touch
    ks.no_touch = True
    try:
        return c.db.lookup(key)
    finally:
        ks.no_touch = saved


def _int_arg(arg: bytes, error: str | None = None) -> int:
    """Redis's ``getIntFromObjectOrReply``: an integer that fits in a C int.

    ``error`` replaces both of Redis's messages when given (as SWAPDB does).
    """
    value = parse_int(arg, error or NOT_INTEGER)
    if not INT_MIN <= value <= INT_MAX:
        raise CommandError(
            error or f"ERR value is out of range, value must between {INT_MIN} and {INT_MAX}"
        )
    return value


def _db(c: Client, index: int) -> Database:
    dbs = c.engine.keyspace.dbs
    if not 0 <= index < len(dbs):
        raise CommandError(DB_INDEX_OUT_OF_RANGE)
    return dbs[index]


# --- existence and deletion ------------------------------------------------------------


def _delete(c: Client, argv: list[bytes], lazy: bool = False) -> int:
    """DEL, or UNLINK (``lazy``): big values are then freed by the lazy-free thread."""
    db = c.db
    lazyfree = c.engine.keyspace.lazyfree
    deleted = 0
    for key in argv[1:]:
        value = db.pop(key)
        if value is not None:
            c.modified(key, b"del", "g")
            deleted += 1
            if lazy:
                lazyfree.free_value(value, object_encoding(c, key, value))
            del value
    return deleted


@command(
    "del",
    arity=-2,
    flags="write",
    keys=(1, -1, 1),
    group="generic",
    summary="Delete a key",
    since="1.0.0",
    complexity=(
        "O(N) where N is the number of keys that will be removed. When a key to remove "
        "holds a value other than a string, the individual complexity for this key is O(M) "
        "where M is the number of elements in the list, set, sorted set or hash. Removing a "
        "single key that holds a string value is O(1)."
    ),
    acl="@keyspace @write @slow",
)
def del_(c: Client, argv: list[bytes]) -> Reply:
    return _delete(c, argv, lazy=bool(c.engine.config.lazyfree_lazy_user_del))


@command(
    "unlink",
    arity=-2,
    flags="write fast",
    keys=(1, -1, 1),
    group="generic",
    summary=(
        "Delete a key asynchronously in another thread. Otherwise it is just as DEL, "
        "but non blocking."
    ),
    since="4.0.0",
    complexity=(
        "O(1) for each key removed regardless of its size. Then the command does O(N) work "
        "in a different thread in order to reclaim memory, where N is the number of "
        "allocations the deleted objects where composed of."
    ),
    acl="@keyspace @write @fast",
)
def unlink(c: Client, argv: list[bytes]) -> Reply:
    return _delete(c, argv, lazy=True)


@command(
    "exists",
    arity=-2,
    flags="readonly fast",
    keys=(1, -1, 1),
    group="generic",
    summary="Determine if a key exists",
    since="1.0.0",
    complexity="O(N) where N is the number of keys to check.",
    acl="@keyspace @read @fast",
)
def exists(c: Client, argv: list[bytes]) -> Reply:
    return sum(1 for key in argv[1:] if lookup_notouch(c, key) is not None)


@command(
    "touch",
    arity=-2,
    flags="readonly fast",
    keys=(1, -1, 1),
    group="generic",
    summary=(
        "Alters the last access time of a key(s). Returns the number of existing keys specified."
    ),
    since="3.2.1",
    complexity="O(N) where N is the number of keys that will be touched.",
    acl="@keyspace @read @fast",
)
def touch(c: Client, argv: list[bytes]) -> Reply:
    ks = c.engine.keyspace
    saved = ks.no_touch
    ks.no_touch = False  # TOUCH touches, whatever CLIENT NO-TOUCH says
    try:
        return sum(1 for key in argv[1:] if c.db.lookup(key) is not None)
    finally:
        ks.no_touch = saved


@command(
    "type",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Determine the type stored at key",
    since="1.0.0",
    complexity="O(1)",
    acl="@keyspace @read @fast",
)
def type_(c: Client, argv: list[bytes]) -> Reply:
    value = lookup_notouch(c, argv[1])
    return "none" if value is None else type_name(value)


@command(
    "randomkey",
    arity=1,
    flags="readonly",
    group="generic",
    summary="Return a random key from the keyspace",
    since="1.0.0",
    complexity="O(1)",
    acl="@keyspace @read @slow",
)
def randomkey(c: Client, argv: list[bytes]) -> Reply:
    return c.db.random_key()


# --- KEYS and SCAN ----------------------------------------------------------------------


def _live_keys(c: Client) -> list[bytes]:
    """Every key of the db not logically expired, without deleting any (as KEYS does)."""
    db = c.db
    keys = list(dict.keys(db.data))  # the C dict order: a fast copy, unlike list(OrderedDict)
    expires = db.expires
    if not expires:
        return keys
    now = c.engine.keyspace.now_ms
    return [k for k in keys if (when := expires.get(k)) is None or when > now]


@command(
    "keys",
    arity=2,
    flags="readonly",
    group="generic",
    summary="Find all keys matching the given pattern",
    since="1.0.0",
    complexity=(
        "O(N) with N being the number of keys in the database, under the assumption that "
        "the key names in the database and the given pattern have limited length."
    ),
    acl="@keyspace @read @slow @dangerous",
)
def keys(c: Client, argv: list[bytes]) -> Reply:
    pattern = argv[1]
    live = _live_keys(c)
    if pattern != b"*":
        match = glob_matcher(pattern)
        live = [k for k in live if match(k)]
    out: list[Reply] = list(live)
    return out


@command(
    "scan",
    arity=-2,
    flags="readonly",
    group="generic",
    summary="Incrementally iterate the keys space",
    since="2.8.0",
    complexity=(
        "O(1) for every call. O(N) for a complete iteration, including enough command calls "
        "for the cursor to return back to 0. N is the number of elements inside the "
        "collection."
    ),
    acl="@keyspace @read @slow",
)
def scan(c: Client, argv: list[bytes]) -> Reply:
    cursor = parse_cursor(argv[1])
    options = parse_scan_options(argv, 2, allow_type=True)
    db = c.db
    peek = db.peek
    data = db.data
    expires = db.expires
    now = c.engine.keyspace.now_ms

    def alive_volatile(key: bytes) -> bool:
        # Only a key whose time has come costs a peek (which expires it).
        when = expires.get(key)
        return key in data if when is None or when > now else peek(key) is not None

    alive: Callable[[bytes], bool] = alive_volatile if expires else data.__contains__
    next_cursor, found = scan_step(
        c.engine.keyspace,
        (db.id,),
        cursor,
        options.count,
        lambda: list(dict.keys(data)),
        alive,
    )
    if options.match is not None:
        found = [k for k in found if options.match(k)]
    if options.type is not None:
        wanted = options.type
        kept = []
        for k in found:
            value = peek(k)
            if value is not None and type_name(value).encode() == wanted:
                kept.append(k)
        found = kept
    elements: list[Reply] = list(found)
    return [next_cursor, elements]


# --- renaming, copying, moving -------------------------------------------------------------


def _carry_lfu(src_db: Database, src: bytes, dst_db: Database, dst: bytes) -> None:
    """The value keeps its LFU counter when it changes key or db (Redis moves the object)."""
    counter = src_db.lfu.get(src)
    if counter is not None and src_db.ks.lfu_enabled:
        dst_db.lfu[dst] = counter


def _rename(c: Client, argv: list[bytes], nx: bool) -> Reply:
    src, dst = argv[1], argv[2]
    db = c.db
    value = db.lookup_write(src)
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    expire = db.get_expire(src)
    if db.lookup_write(dst) is not None:
        if nx:
            return 0
        db.delete(dst)
    counter = db.lfu.get(src)
    db.pop(src)
    db.set(dst, value)
    _notify_new(c, db.id, dst)
    if counter is not None and db.ks.lfu_enabled:
        db.lfu[dst] = counter
    if expire is not None:
        db.set_expire(dst, expire)
    move_mark(c.engine.keyspace, (db.id, src), (db.id, dst), keep=False)
    c.modified(src, b"rename_from", "g")
    c.modified(dst, b"rename_to", "g")
    return 1 if nx else OK


@command(
    "rename",
    arity=3,
    flags="write",
    keys=(1, 2, 1),
    group="generic",
    summary="Rename a key",
    since="1.0.0",
    complexity="O(1)",
    acl="@keyspace @write @slow",
)
def rename(c: Client, argv: list[bytes]) -> Reply:
    return _rename(c, argv, nx=False)


@command(
    "renamenx",
    arity=3,
    flags="write fast",
    keys=(1, 2, 1),
    group="generic",
    summary="Rename a key, only if the new key does not exist",
    since="1.0.0",
    complexity="O(1)",
    acl="@keyspace @write @fast",
)
def renamenx(c: Client, argv: list[bytes]) -> Reply:
    return _rename(c, argv, nx=True)


COPIERS: dict[type, Callable[[object], object]] = {}
"""Deep-copy functions by value type for COPY; other modules register their own types."""


def _copy_hash(value: object) -> object:
    assert isinstance(value, HashValue)
    new = HashValue()
    new.update(value)
    new.nbytes = value.nbytes
    return new


def _copy_list(value: object) -> object:
    assert isinstance(value, ListValue)
    new = ListValue()
    new.extend(value)
    new.nbytes = value.nbytes
    return new


def _copy_set(value: object) -> object:
    assert isinstance(value, SetValue)
    new = SetValue()
    new.update(value)
    new.nbytes = value.nbytes
    return new


COPIERS.update({HashValue: _copy_hash, ListValue: _copy_list, SetValue: _copy_set})


def _notify_new(c: Client, db: int, key: bytes) -> None:
    """``dbAdd``'s ``new`` event (class ``n``) for ``key`` in database ``db``."""
    hook = c.engine.notify_hook
    if hook is not None:
        hook("n", b"new", db, key)


def copy_value(value: object) -> object:
    """An independent copy of a value (strings are immutable and shared)."""
    if type(value) is bytes:
        return value
    copier = COPIERS.get(type(value))
    return copier(value) if copier is not None else copy.deepcopy(value)


@command(
    "copy",
    arity=-3,
    flags="write denyoom",
    keys=(1, 2, 1),
    group="generic",
    summary="Copy a key",
    since="6.2.0",
    complexity=(
        "O(N) worst case for collections, where N is the number of nested items. O(1) for "
        "string values."
    ),
    acl="@keyspace @write @slow",
)
def copy_(c: Client, argv: list[bytes]) -> Reply:
    src_db = dst_db = c.db
    replace = False
    i = 3
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and i + 1 < len(argv):
            dst_db = _db(c, _int_arg(argv[i + 1]))
            i += 1
        else:
            raise CommandError(SYNTAX)
        i += 1
    src, dst = argv[1], argv[2]
    if src_db is dst_db and src == dst:
        raise CommandError(SAME_OBJECT)
    value = src_db.lookup(src)
    if value is None:
        return 0
    expire = src_db.get_expire(src)
    if dst_db.lookup_write(dst) is not None:
        if not replace:
            return 0
        dst_db.delete(dst)
    dst_db.set(dst, copy_value(value))
    _notify_new(c, dst_db.id, dst)
    if expire is not None:
        dst_db.set_expire(dst, expire)
    move_mark(c.engine.keyspace, (src_db.id, src), (dst_db.id, dst), keep=True)
    c.engine.key_modified(dst_db.id, dst, b"copy_to", "g")
    return 1


@command(
    "move",
    arity=3,
    flags="write fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Move a key to another database",
    since="1.0.0",
    complexity="O(1)",
    acl="@keyspace @write @fast",
)
def move(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    src_db = c.db
    dst_db = _db(c, _int_arg(argv[2]))
    if src_db is dst_db:
        raise CommandError(SAME_OBJECT)
    value = src_db.lookup_write(key)
    if value is None:
        return 0
    expire = src_db.get_expire(key)
    if dst_db.lookup_write(key) is not None:
        return 0
    dst_db.set(key, value)
    _notify_new(c, dst_db.id, key)
    _carry_lfu(src_db, key, dst_db, key)
    if expire is not None:
        dst_db.set_expire(key, expire)
    src_db.pop(key)
    move_mark(c.engine.keyspace, (src_db.id, key), (dst_db.id, key), keep=False)
    engine = c.engine
    engine.key_modified(src_db.id, key, b"move_from", "g")
    engine.key_modified(dst_db.id, key, b"move_to", "g")
    return 1


@command(
    "swapdb",
    arity=3,
    flags="write fast",
    group="server",
    summary="Swaps two Redis databases",
    since="4.0.0",
    complexity=(
        "O(N) where N is the count of clients watching or blocking on keys from both databases."
    ),
    acl="@keyspace @write @fast @dangerous",
)
def swapdb(c: Client, argv: list[bytes]) -> Reply:
    id1 = _int_arg(argv[1], "ERR invalid first DB index")
    id2 = _int_arg(argv[2], "ERR invalid second DB index")
    engine = c.engine
    ks = engine.keyspace
    db1, db2 = _db(c, id1), _db(c, id2)
    engine.dirty += 1  # replicated even when id1 == id2, as in Redis
    if db1 is db2:
        return OK
    if engine.watches.watched:
        _touch_watched_on_swap(engine, id1, id2)
        _touch_watched_on_swap(engine, id2, id1)
    db1.swap(db2)
    swap_marks(ks, id1, id2)
    # Clients blocked on a key that now exists in their db may be served (BLPOP...).
    blocked = engine.blocked_clients
    for bdb, key in list(blocked.waiting):
        if bdb in (id1, id2) and key in ks.dbs[bdb].data:
            blocked.ready.append((bdb, key))
    return OK


def _touch_watched_on_swap(engine: Engine, emptied_id: int, replaced_id: int) -> None:
    """Redis 7.0's touchAllWatchedKeysInDb(emptied, replaced_with), for SWAPDB.

    A WATCH of database ``emptied_id`` is invalidated when its key exists in
    either database, except where nothing changes logically: a key that was
    already expired when WATCHed and is now gone, or replaced by another expired
    key, and a missing key replaced by an expired one (which is then remembered
    as expired, as WATCH would have). Called for both directions in turn, like
    Redis, so the second call sees the first one's marks.
    """
    dbs = engine.keyspace.dbs
    emptied, replaced = dbs[emptied_id], dbs[replaced_id]
    now = engine.keyspace.now_ms

    def expired_in_replaced(key: bytes) -> bool:
        when = replaced.expires.get(key)
        return when is not None and key in replaced.data and when <= now

    marks = engine.watches.expired
    for (wdb, key), watchers in engine.watches.watched.items():
        if wdb != emptied_id:
            continue
        in_emptied = key in emptied.data
        in_replaced = key in replaced.data
        if not (in_emptied or in_replaced):
            continue
        for watcher in watchers:
            mark = (watcher, wdb, key)
            if mark in marks:
                if not in_replaced:
                    marks.discard(mark)  # expired key now deleted: no logical change
                    continue
                if expired_in_replaced(key):
                    continue  # an expired key stays expired
            elif not in_emptied and expired_in_replaced(key):
                marks.add(mark)  # no key replaced with an expired key
                continue
            watcher.dirty_cas = True


# --- expiry -------------------------------------------------------------------------------

_EXPIRE_NX, _EXPIRE_XX, _EXPIRE_GT, _EXPIRE_LT = 1, 2, 4, 8
_EXPIRE_OPTIONS: Final = {
    b"nx": _EXPIRE_NX,
    b"xx": _EXPIRE_XX,
    b"gt": _EXPIRE_GT,
    b"lt": _EXPIRE_LT,
}


def _expire_generic(c: Client, argv: list[bytes], base_ms: int, unit_ms: int) -> Reply:
    """Redis's ``expireGenericCommand`` (``base_ms`` is now for relative forms, else 0)."""
    flags = 0
    for opt in argv[3:]:
        flag = _EXPIRE_OPTIONS.get(opt.lower())
        if flag is None:
            text = opt.decode("utf-8", "surrogateescape")
            raise CommandError(f"ERR Unsupported option {text}")
        flags |= flag
    if flags & _EXPIRE_NX and flags & (_EXPIRE_XX | _EXPIRE_GT | _EXPIRE_LT):
        raise CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if flags & _EXPIRE_GT and flags & _EXPIRE_LT:
        raise CommandError("ERR GT and LT options at the same time are not compatible")
    name = argv[0].decode("utf-8", "surrogateescape").lower()
    when = parse_int(argv[2])
    if unit_ms == 1000:
        # C's LLONG_MIN / 1000 truncates towards zero.
        if when > LLONG_MAX // 1000 or when < -(-LLONG_MIN // 1000):
            raise CommandError(INVALID_EXPIRE.format(name))
        when *= 1000
    if when > LLONG_MAX - base_ms:
        raise CommandError(INVALID_EXPIRE.format(name))
    when += base_ms
    key = argv[1]
    db = c.db
    if db.lookup_write(key) is None:
        return 0
    if flags:
        current = db.get_expire(key)
        if flags & _EXPIRE_NX and current is not None:
            return 0
        if flags & _EXPIRE_XX and current is None:
            return 0
        if flags & _EXPIRE_GT and (current is None or when <= current):
            return 0
        if flags & _EXPIRE_LT and current is not None and when >= current:
            return 0
    ks = c.engine.keyspace
    if when <= ks.now_ms and ks.expire_keys:
        db.delete(key)
        c.modified(key, b"del", "g")
        c.propagate_as = [[b"DEL", key]]
        return 1
    db.set_expire(key, when)
    c.modified(key, b"expire", "g")
    c.propagate_as = [[b"PEXPIREAT", key, b"%d" % when, *argv[3:]]]
    return 1


@command(
    "expire",
    arity=-3,
    flags="write fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Set a key's time to live in seconds",
    since="1.0.0",
    complexity="O(1)",
    acl="@keyspace @write @fast",
)
def expire(c: Client, argv: list[bytes]) -> Reply:
    return _expire_generic(c, argv, c.engine.keyspace.now_ms, 1000)


@command(
    "pexpire",
    arity=-3,
    flags="write fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Set a key's time to live in milliseconds",
    since="2.6.0",
    complexity="O(1)",
    acl="@keyspace @write @fast",
)
def pexpire(c: Client, argv: list[bytes]) -> Reply:
    return _expire_generic(c, argv, c.engine.keyspace.now_ms, 1)


@command(
    "expireat",
    arity=-3,
    flags="write fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Set the expiration for a key as a UNIX timestamp",
    since="1.2.0",
    complexity="O(1)",
    acl="@keyspace @write @fast",
)
def expireat(c: Client, argv: list[bytes]) -> Reply:
    return _expire_generic(c, argv, 0, 1000)


@command(
    "pexpireat",
    arity=-3,
    flags="write fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds",
    since="2.6.0",
    complexity="O(1)",
    acl="@keyspace @write @fast",
)
def pexpireat(c: Client, argv: list[bytes]) -> Reply:
    return _expire_generic(c, argv, 0, 1)


def _ttl_generic(c: Client, key: bytes, in_ms: bool, absolute: bool) -> int:
    if lookup_notouch(c, key) is None:
        return -2
    when = c.db.get_expire(key)
    if when is None:
        return -1
    ttl = when if absolute else max(0, when - c.engine.keyspace.now_ms)
    return ttl if in_ms else (ttl + 500) // 1000


@command(
    "ttl",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Get the time to live for a key in seconds",
    since="1.0.0",
    complexity="O(1)",
    acl="@keyspace @read @fast",
)
def ttl(c: Client, argv: list[bytes]) -> Reply:
    return _ttl_generic(c, argv[1], in_ms=False, absolute=False)


@command(
    "pttl",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Get the time to live for a key in milliseconds",
    since="2.6.0",
    complexity="O(1)",
    acl="@keyspace @read @fast",
)
def pttl(c: Client, argv: list[bytes]) -> Reply:
    return _ttl_generic(c, argv[1], in_ms=True, absolute=False)


@command(
    "expiretime",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Get the expiration Unix timestamp for a key",
    since="7.0.0",
    complexity="O(1)",
    acl="@keyspace @read @fast",
)
def expiretime(c: Client, argv: list[bytes]) -> Reply:
    return _ttl_generic(c, argv[1], in_ms=False, absolute=True)


@command(
    "pexpiretime",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Get the expiration Unix timestamp for a key in milliseconds",
    since="7.0.0",
    complexity="O(1)",
    acl="@keyspace @read @fast",
)
def pexpiretime(c: Client, argv: list[bytes]) -> Reply:
    return _ttl_generic(c, argv[1], in_ms=True, absolute=True)


@command(
    "persist",
    arity=2,
    flags="write fast",
    keys=(1, 1, 1),
    group="generic",
    summary="Remove the expiration from a key",
    since="2.2.0",
    complexity="O(1)",
    acl="@keyspace @write @fast",
)
def persist(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    db = c.db
    if db.lookup_write(key) is None or not db.persist(key):
        return 0
    c.modified(key, b"persist", "g")
    return 1


# --- OBJECT -------------------------------------------------------------------------------


def object_encoding(c: Client, key: bytes, value: object) -> str:
    """What Redis 7.0's OBJECT ENCODING would say for this value (see the module doc)."""
    if type(value) is bytes:
        return string_encoding(c.engine.keyspace, c.db, key, value)
    kind = type_name(value)
    if kind == "list":
        return "quicklist"
    # Each container module owns its encoding rule (imported here, not at the top:
    # those modules import this one to register their COPY copiers).
    if kind == "hash":
        from respcache.commands.hashes import encoding as hash_encoding

        return hash_encoding(value).decode()  # type: ignore[arg-type]
    if kind == "set":
        from respcache.commands.sets import encoding as set_encoding

        return set_encoding(value).decode()  # type: ignore[arg-type]
    if kind == "zset":
        from respcache.commands.zsets import encoding as zset_encoding

        return zset_encoding(value).decode()  # type: ignore[arg-type]
    if kind == "stream":
        return "stream"
    return "raw"


_OBJECT_HELP: Final = (
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
)
NO_LFU: Final = (
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
    "that when switching between policies at runtime LRU and LFU data will take some time "
    "to adjust."
)
LFU_SELECTED: Final = (
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust."
)
NO_IDLETIME: Final = (
    "ERR OBJECT IDLETIME is not supported: respcache keeps exact LRU order but no "
    "per-key access times"
)


@command(
    "object|help",
    arity=2,
    flags="loading stale",
    group="generic",
    summary="Show helpful text about the different subcommands",
    since="6.2.0",
    complexity="O(1)",
    acl="@keyspace @slow",
)
def object_help(c: Client, argv: list[bytes]) -> Reply:
    return list(_OBJECT_HELP)


@command(
    "object|encoding",
    arity=3,
    flags="readonly",
    keys=(2, 2, 1),
    group="generic",
    summary="Inspect the internal encoding of a Redis object",
    since="2.2.3",
    complexity="O(1)",
    acl="@keyspace @read @slow",
)
def object_encoding_(c: Client, argv: list[bytes]) -> Reply:
    value = lookup_notouch(c, argv[2])
    return None if value is None else object_encoding(c, argv[2], value).encode()


@command(
    "object|freq",
    arity=3,
    flags="readonly",
    keys=(2, 2, 1),
    group="generic",
    summary="Get the logarithmic access frequency counter of a Redis object",
    since="4.0.0",
    complexity="O(1)",
    acl="@keyspace @read @slow",
)
def object_freq(c: Client, argv: list[bytes]) -> Reply:
    key = argv[2]
    if lookup_notouch(c, key) is None:
        return None
    ks = c.engine.keyspace
    if not ks.lfu_enabled:
        raise CommandError(NO_LFU)
    return ks.lfu_counter(c.db.lfu.get(key))


@command(
    "object|idletime",
    arity=3,
    flags="readonly",
    keys=(2, 2, 1),
    group="generic",
    summary="Get the time since a Redis object was last accessed",
    since="2.2.3",
    complexity="O(1)",
    acl="@keyspace @read @slow",
)
def object_idletime(c: Client, argv: list[bytes]) -> Reply:
    if lookup_notouch(c, argv[2]) is None:
        return None
    if c.engine.keyspace.lfu_enabled:
        raise CommandError(LFU_SELECTED)
    raise CommandError(NO_IDLETIME)


@command(
    "object|refcount",
    arity=3,
    flags="readonly",
    keys=(2, 2, 1),
    group="generic",
    summary="Get the number of references to the value of the key",
    since="2.2.3",
    complexity="O(1)",
    acl="@keyspace @read @slow",
)
def object_refcount(c: Client, argv: list[bytes]) -> Reply:
    key = argv[2]
    value = lookup_notouch(c, key)
    if value is None:
        return None
    if type(value) is bytes and object_encoding(c, key, value) == "int":
        ks = c.engine.keyspace
        shared_allowed = not ks.maxmemory or not ks.policy.endswith(("lru", "lfu"))
        if shared_allowed and 0 <= int(value) < SHARED_INTEGERS:
            return SHARED_REFCOUNT
    return 1


@command(
    "object",
    arity=-2,
    group="generic",
    summary="A container for object introspection commands",
    since="2.2.3",
    complexity="Depends on subcommand.",
    acl="@slow",
)
def object_(c: Client, argv: list[bytes]) -> Reply:
    raise unknown_subcommand(argv[1], "object")
