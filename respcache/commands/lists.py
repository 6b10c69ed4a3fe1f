"""List commands, blocking ones included (Redis 7.0's ``list`` group).

A list is a :class:`~respcache.store.values.ListValue`, a ``deque`` of bytes:
pushes and pops at either end are O(1). Access by index (LINDEX, LSET,
LINSERT's insertion point) walks the deque from its nearer end, O(n) like
Redis's quicklist; LRANGE walks from the nearer end of its start as well.
Every change of size goes through ``db.grow`` (``LIST_ITEM_OVERHEAD`` plus the
element's bytes), and a list that becomes empty is deleted.

Blocking commands (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH) return
:class:`~respcache.commands.blocking.Blocked` when every key is empty. The
engine parks the client and runs the same command again when a key it waits
on is written; that run is told which key became ready
(``engine.blocked_clients.serving_key``) and, as in Redis, serves from that key
only, stays blocked if the key is not a non-empty list (deleted again, or overwritten by
another type), and for BLMOVE replies WRONGTYPE when the destination is not a
list. Inside MULTI (``client.in_exec``) a blocking command never blocks: it
answers as a timeout at once. A blocking pop is replicated as its non-blocking
form (``LPOP key``, ``LPOP key <count>``, ``LMOVE``/``RPOPLPUSH``), as Redis does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Final

from respcache.commands.args import INT64_MAX, INT64_MIN, parse_int
from respcache.commands.blocking import Blocked
from respcache.commands.client import Client, key_modified
from respcache.commands.registry import command
from respcache.errors import (
    INDEX_OUT_OF_RANGE,
    NO_SUCH_KEY,
    NOT_POSITIVE,
    SYNTAX,
    WRONGTYPE,
    CommandError,
    wrong_arity,
)
from respcache.protocol.types import NULL_ARRAY, OK, Reply
from respcache.store.keyspace import Database
from respcache.store.values import LIST_ITEM_OVERHEAD, ListValue

TIMEOUT_NOT_FLOAT: Final = "ERR timeout is not a float or out of range"
TIMEOUT_NEGATIVE: Final = "ERR timeout is negative"
RANK_ZERO: Final = (
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)
COUNT_NEGATIVE: Final = "ERR COUNT can't be negative"
MAXLEN_NEGATIVE: Final = "ERR MAXLEN can't be negative"
NUMKEYS_POSITIVE: Final = "ERR numkeys should be greater than 0"
COUNT_POSITIVE: Final = "ERR count should be greater than 0"

LEFT: Final = True
RIGHT: Final = False

# Beyond this a wait is as good as forever (and no event loop timer overflows).
_MAX_TIMER_SECONDS: Final = 10.0**9
# long double limits (x87 80-bit): strtold fails with ERANGE beyond them.
_LDBL_MAX_EXP10: Final = 4932
_LDBL_MIN_EXP10: Final = -4951


# --- helpers ---------------------------------------------------------------------------------


def item_size(element: bytes) -> int:
    """Estimated bytes one list element costs (slot, bytes header, payload)."""
    return LIST_ITEM_OVERHEAD + (len(element) & ~15)


def _sizes(elements: Iterable[bytes]) -> int:
    return sum(LIST_ITEM_OVERHEAD + (len(e) & ~15) for e in elements)


def _get_list(db: Database, key: bytes, write: bool = True) -> ListValue | None:
    """The list at ``key`` (None when missing); WRONGTYPE for another type."""
    value = db.lookup_write(key) if write else db.lookup(key)
    if value is None or type(value) is ListValue:
        return value
    raise CommandError(WRONGTYPE)


def _notify_new(c: Client, key: bytes) -> None:
    """Redis's ``new`` event (class ``n``), sent by dbAdd before the command's own event."""
    hook = c.engine.notify_hook
    if hook is not None:
        hook("n", b"new", c.db.id, key)


def _push(c: Client, key: bytes, elements: list[bytes], left: bool, lst: ListValue | None) -> int:
    """Push onto ``lst`` (creating the list at ``key`` when None); the new length."""
    db = c.db
    if lst is None:
        lst = ListValue()
        if left:
            lst.extendleft(elements)
        else:
            lst.extend(elements)
        lst.nbytes += _sizes(elements)
        db.set(key, lst)
        _notify_new(c, key)
    else:
        if left:
            lst.extendleft(elements)
        else:
            lst.extend(elements)
        db.grow(lst, _sizes(elements))
    key_modified(c, key, b"lpush" if left else b"rpush", "l")
    return len(lst)


def _pop(lst: ListValue, count: int, left: bool) -> list[bytes]:
    """Remove up to ``count`` elements from one end, in pop order (no accounting)."""
    pop = lst.popleft if left else lst.pop
    return [pop() for _ in range(min(count, len(lst)))]


def _removed(c: Client, key: bytes, lst: ListValue, elements: list[bytes], event: bytes) -> None:
    """Account for elements taken from ``lst``, notify, delete the list when emptied."""
    db = c.db
    db.grow(lst, -_sizes(elements))
    key_modified(c, key, event, "l")
    if not lst:
        db.delete(key)
        key_modified(c, key, b"del", "g")


def _where(arg: bytes) -> bool:
    """LEFT / RIGHT (any case) → True for the head."""
    lowered = arg.lower()
    if lowered == b"left":
        return LEFT
    if lowered == b"right":
        return RIGHT
    raise CommandError(SYNTAX)


def _parse_range_long(arg: bytes, low: int, error: str) -> int:
    """Redis's getRangeLongFromObjectOrReply with a message: one error for every failure."""
    try:
        value = parse_int(arg)
    except CommandError:
        raise CommandError(error) from None
    if value < low:
        raise CommandError(error)
    return value


def _parse_positive(arg: bytes) -> int:
    """getPositiveLongFromObjectOrReply without a message (LPOP/RPOP count)."""
    try:
        value = parse_int(arg)
    except CommandError:
        raise CommandError(NOT_POSITIVE) from None
    if value < 0:
        raise CommandError(NOT_POSITIVE)
    return value


def _strtold(text: bytes) -> float | None:
    """A number as Redis's string2ld (strtold) reads it, or None when it refuses it.

    Decimal and ``0x`` hexadecimal forms, ``inf``/``infinity``; no spaces, no NaN,
    and nothing beyond long double range (ERANGE). Python floats have less range
    than long doubles: a value between the two is returned as ±inf, which gives
    the same answer for a timeout (out of range means "negative", as in Redis).
    """
    if not text or text[0] in b" \t\n\v\f\r" or text[-1] in b" \t\n\v\f\r" or b"_" in text:
        return None
    try:
        body = text.decode("ascii")
    except UnicodeDecodeError:
        return None
    unsigned = body.lstrip("+-")
    if len(body) - len(unsigned) > 1:
        return None
    if unsigned[:2].lower() == "0x":
        try:
            value = float.fromhex(body)
        except (ValueError, OverflowError):
            return None  # beyond double range: no timeout is that long anyway
        return value
    try:
        value = float(body)
    except ValueError:
        return None
    if math.isnan(value):
        return None
    if unsigned.lower() in ("inf", "infinity"):
        return value
    try:
        exact = Decimal(body)
    except InvalidOperation:
        return None
    if exact != 0:
        magnitude = exact.adjusted()
        if magnitude > _LDBL_MAX_EXP10 or magnitude < _LDBL_MIN_EXP10:
            return None
    return value


def parse_timeout(arg: bytes) -> float:
    """A blocking command's timeout in seconds (0 = forever), as Redis 7.0 reads it.

    Redis reads a long double of seconds, converts it to milliseconds rounded up
    and refuses a negative result; a value too large for a 64-bit count of
    milliseconds also ends up negative there. Sub-millisecond precision is
    therefore rounded up to whole milliseconds, and ``-0.0001`` means 0 (forever).
    """
    seconds = _strtold(arg)
    if seconds is None:
        raise CommandError(TIMEOUT_NOT_FLOAT)
    millis = seconds * 1000.0
    if math.isinf(millis) or millis > INT64_MAX or millis < INT64_MIN:
        raise CommandError(TIMEOUT_NEGATIVE)
    whole = math.ceil(millis)
    if whole < 0:
        raise CommandError(TIMEOUT_NEGATIVE)
    if whole / 1000.0 > _MAX_TIMER_SECONDS:
        return 0.0
    return whole / 1000.0


def _ready_key(c: Client) -> bytes | None:
    """The key a blocked client is being served from (None on a first run)."""
    if c.blocked is None:
        return None
    return c.engine.blocked_clients.serving_key


def _range(lst: ListValue, start: int, end: int, reverse: bool = False) -> list[bytes]:
    """LRANGE's slice (Redis's addListRangeReply), walking from the nearer end."""
    llen = len(lst)
    if start < 0:
        start += llen
    if end < 0:
        end += llen
    if start < 0:
        start = 0
    if start > end or start >= llen:
        return []
    if end >= llen:
        end = llen - 1
    if start > llen - 1 - end:
        # Nearer to the tail: walk backwards.
        out = list(islice(reversed(lst), llen - 1 - end, llen - start))
        if not reverse:
            out.reverse()
        return out
    out = list(islice(lst, start, end + 1))
    if reverse:
        out.reverse()
    return out


# --- push ------------------------------------------------------------------------------------


@command(
    "lpush",
    arity=-3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="list",
    summary="Prepend one or multiple elements to a list",
    since="1.0.0",
    complexity="O(1) for each element added, so O(N) to add N elements when the command is "
    "called with multiple arguments.",
    acl="@write @list @fast",
)
def lpush(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    return _push(c, key, argv[2:], LEFT, _get_list(c.db, key))


@command(
    "rpush",
    arity=-3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="list",
    summary="Append one or multiple elements to a list",
    since="1.0.0",
    complexity="O(1) for each element added, so O(N) to add N elements when the command is "
    "called with multiple arguments.",
    acl="@write @list @fast",
)
def rpush(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    return _push(c, key, argv[2:], RIGHT, _get_list(c.db, key))


@command(
    "lpushx",
    arity=-3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="list",
    summary="Prepend an element to a list, only if the list exists",
    since="2.2.0",
    complexity="O(1) for each element added, so O(N) to add N elements when the command is "
    "called with multiple arguments.",
    acl="@write @list @fast",
)
def lpushx(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    lst = _get_list(c.db, key)
    if lst is None:
        return 0
    return _push(c, key, argv[2:], LEFT, lst)


@command(
    "rpushx",
    arity=-3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="list",
    summary="Append an element to a list, only if the list exists",
    since="2.2.0",
    complexity="O(1) for each element added, so O(N) to add N elements when the command is "
    "called with multiple arguments.",
    acl="@write @list @fast",
)
def rpushx(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    lst = _get_list(c.db, key)
    if lst is None:
        return 0
    return _push(c, key, argv[2:], RIGHT, lst)


# --- pop -------------------------------------------------------------------------------------


def _pop_command(c: Client, argv: list[bytes], left: bool) -> Reply:
    n = len(argv)
    if n > 3:
        raise wrong_arity("lpop" if left else "rpop")
    count = _parse_positive(argv[2]) if n == 3 else None
    key = argv[1]
    lst = _get_list(c.db, key)
    if lst is None:
        return NULL_ARRAY if count is not None else None
    if count == 0:
        return []
    elements = _pop(lst, 1 if count is None else count, left)
    _removed(c, key, lst, elements, b"lpop" if left else b"rpop")
    return elements[0] if count is None else elements  # type: ignore[return-value]


@command(
    "lpop",
    arity=-2,
    flags="write fast",
    keys=(1, 1, 1),
    group="list",
    summary="Remove and get the first elements in a list",
    since="1.0.0",
    complexity="O(N) where N is the number of elements returned",
    acl="@write @list @fast",
)
def lpop(c: Client, argv: list[bytes]) -> Reply:
    return _pop_command(c, argv, LEFT)


@command(
    "rpop",
    arity=-2,
    flags="write fast",
    keys=(1, 1, 1),
    group="list",
    summary="Remove and get the last elements in a list",
    since="1.0.0",
    complexity="O(N) where N is the number of elements returned",
    acl="@write @list @fast",
)
def rpop(c: Client, argv: list[bytes]) -> Reply:
    return _pop_command(c, argv, RIGHT)


# --- reading -----------------------------------------------------------------------------------


@command(
    "llen",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="list",
    summary="Get the length of a list",
    since="1.0.0",
    complexity="O(1)",
    acl="@read @list @fast",
)
def llen(c: Client, argv: list[bytes]) -> Reply:
    lst = _get_list(c.db, argv[1], write=False)
    return 0 if lst is None else len(lst)


@command(
    "lrange",
    arity=4,
    flags="readonly",
    keys=(1, 1, 1),
    group="list",
    summary="Get a range of elements from a list",
    since="1.0.0",
    complexity="O(S+N) where S is the distance of start offset from HEAD for small lists, from "
    "nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the "
    "specified range.",
    acl="@read @list @slow",
)
def lrange(c: Client, argv: list[bytes]) -> Reply:
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    lst = _get_list(c.db, argv[1], write=False)
    if lst is None:
        return []
    return _range(lst, start, end)  # type: ignore[return-value]


@command(
    "lindex",
    arity=3,
    flags="readonly",
    keys=(1, 1, 1),
    group="list",
    summary="Get an element from a list by its index",
    since="1.0.0",
    complexity="O(N) where N is the number of elements to traverse to get to the element at "
    "index. This makes asking for the first or the last element of the list O(1).",
    acl="@read @list @slow",
)
def lindex(c: Client, argv: list[bytes]) -> Reply:
    lst = _get_list(c.db, argv[1], write=False)
    if lst is None:
        return None
    index = parse_int(argv[2])
    if not -len(lst) <= index < len(lst):
        return None
    return lst[index]  # a deque walks from its nearer end


@command(
    "lpos",
    arity=-3,
    flags="readonly",
    keys=(1, 1, 1),
    group="list",
    summary="Return the index of matching elements on a list",
    since="6.0.6",
    complexity="O(N) where N is the number of elements in the list, for the average case. When "
    "searching for elements near the head or the tail of the list, or when the MAXLEN option "
    "is provided, the command may run in constant time.",
    acl="@read @list @slow",
)
def lpos(c: Client, argv: list[bytes]) -> Reply:
    element = argv[2]
    rank, count, maxlen = 1, -1, 0
    n = len(argv)
    i = 3
    while i < n:
        opt = argv[i].lower()
        more = i + 1 < n
        if opt == b"rank" and more:
            i += 1
            rank = parse_int(argv[i])
            if rank == 0:
                raise CommandError(RANK_ZERO)
        elif opt == b"count" and more:
            i += 1
            count = _parse_range_long(argv[i], 0, COUNT_NEGATIVE)
        elif opt == b"maxlen" and more:
            i += 1
            maxlen = _parse_range_long(argv[i], 0, MAXLEN_NEGATIVE)
        else:
            raise CommandError(SYNTAX)
        i += 1
    forward = True
    if rank < 0:
        # C negates a long: -LONG_MIN stays LONG_MIN, a rank every match satisfies.
        rank = -rank if rank != INT64_MIN else INT64_MIN
        forward = False
    lst = _get_list(c.db, argv[1], write=False)
    if lst is None:
        return [] if count != -1 else None
    llen_ = len(lst)
    matches = 0
    found: list[int] = []
    items: Iterable[bytes] = lst if forward else reversed(lst)
    if maxlen:
        items = islice(items, maxlen)
    for index, item in enumerate(items):
        if item != element:
            continue
        matches += 1
        if matches < rank:
            continue
        position = index if forward else llen_ - index - 1
        if count == -1:
            return position
        found.append(position)
        # matches - rank + 1 in C long arithmetic (wraps for rank LONG_MIN).
        taken = (matches - rank + 1 + 2**63) % 2**64 - 2**63
        if count and taken >= count:
            break
    if count == -1:
        return None
    return found  # type: ignore[return-value]


# --- in-place changes ----------------------------------------------------------------------------


@command(
    "lset",
    arity=4,
    flags="write denyoom",
    keys=(1, 1, 1),
    group="list",
    summary="Set the value of an element in a list by its index",
    since="1.0.0",
    complexity="O(N) where N is the length of the list. Setting either the first or the last "
    "element of the list is O(1).",
    acl="@write @list @slow",
)
def lset(c: Client, argv: list[bytes]) -> Reply:
    key, value = argv[1], argv[3]
    lst = _get_list(c.db, key)
    if lst is None:
        raise CommandError(NO_SUCH_KEY)
    index = parse_int(argv[2])
    if not -len(lst) <= index < len(lst):
        raise CommandError(INDEX_OUT_OF_RANGE)
    old = lst[index]
    lst[index] = value
    c.db.grow(lst, item_size(value) - item_size(old))
    key_modified(c, key, b"lset", "l")
    return OK


@command(
    "linsert",
    arity=5,
    flags="write denyoom",
    keys=(1, 1, 1),
    group="list",
    summary="Insert an element before or after another element in a list",
    since="2.2.0",
    complexity="O(N) where N is the number of elements to traverse before seeing the value "
    "pivot. This means that inserting somewhere on the left end on the list (head) can be "
    "considered O(1) and inserting somewhere on the right end (tail) is O(N).",
    acl="@write @list @slow",
)
def linsert(c: Client, argv: list[bytes]) -> Reply:
    where = argv[2].lower()
    if where == b"after":
        after = True
    elif where == b"before":
        after = False
    else:
        raise CommandError(SYNTAX)
    key, pivot, value = argv[1], argv[3], argv[4]
    lst = _get_list(c.db, key)
    if lst is None:
        return 0
    try:
        index = lst.index(pivot)
    except ValueError:
        return -1
    lst.insert(index + 1 if after else index, value)
    c.db.grow(lst, item_size(value))
    key_modified(c, key, b"linsert", "l")
    return len(lst)


@command(
    "lrem",
    arity=4,
    flags="write",
    keys=(1, 1, 1),
    group="list",
    summary="Remove elements from a list",
    since="1.0.0",
    complexity="O(N+M) where N is the length of the list and M is the number of elements removed.",
    acl="@write @list @slow",
)
def lrem(c: Client, argv: list[bytes]) -> Reply:
    key, element = argv[1], argv[3]
    count = parse_int(argv[2])
    lst = _get_list(c.db, key)
    if lst is None:
        return 0
    from_tail = count < 0
    limit = -count if from_tail else count  # 0: all of them
    kept: list[bytes] = []
    removed = 0
    items = reversed(lst) if from_tail else iter(lst)
    for item in items:
        if item == element and (limit == 0 or removed < limit):
            removed += 1
        else:
            kept.append(item)
    if not removed:
        return 0
    if from_tail:
        kept.reverse()
    lst.clear()
    lst.extend(kept)
    db = c.db
    db.grow(lst, -removed * item_size(element))
    key_modified(c, key, b"lrem", "l")
    if not lst:
        db.delete(key)
        key_modified(c, key, b"del", "g")
    return removed


@command(
    "ltrim",
    arity=4,
    flags="write",
    keys=(1, 1, 1),
    group="list",
    summary="Trim a list to the specified range",
    since="1.0.0",
    complexity="O(N) where N is the number of elements to be removed by the operation.",
    acl="@write @list @slow",
)
def ltrim(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    lst = _get_list(c.db, key)
    if lst is None:
        return OK
    llen_ = len(lst)
    if start < 0:
        start += llen_
    if end < 0:
        end += llen_
    if start < 0:
        start = 0
    if start > end or start >= llen_:
        left, right = llen_, 0
    else:
        if end >= llen_:
            end = llen_ - 1
        left, right = start, llen_ - end - 1
    removed = _pop(lst, left, LEFT) + _pop(lst, right, RIGHT)
    # Redis signals the key and sends "ltrim" even when nothing was removed.
    _removed(c, key, lst, removed, b"ltrim")
    return OK


# --- moving between lists ------------------------------------------------------------------------


def _move(
    c: Client, src_key: bytes, dst_key: bytes, src: ListValue, wherefrom: bool, whereto: bool
) -> bytes:
    """Pop from ``src`` and push onto ``dst_key`` (checked to be a list or missing)."""
    db = c.db
    dst = _get_list(db, dst_key)
    value = src.popleft() if wherefrom else src.pop()
    size = item_size(value)
    db.grow(src, -size)
    _push(c, dst_key, [value], whereto, dst)
    key_modified(c, src_key, b"lpop" if wherefrom else b"rpop", "l")
    if not src:
        db.delete(src_key)
        key_modified(c, src_key, b"del", "g")
    return value


def _lmove(c: Client, argv: list[bytes], wherefrom: bool, whereto: bool) -> Reply:
    src_key, dst_key = argv[1], argv[2]
    src = _get_list(c.db, src_key)
    if src is None:
        return None
    return _move(c, src_key, dst_key, src, wherefrom, whereto)


@command(
    "lmove",
    arity=5,
    flags="write denyoom",
    keys=(1, 2, 1),
    group="list",
    summary="Pop an element from a list, push it to another list and return it",
    since="6.2.0",
    complexity="O(1)",
    acl="@write @list @slow",
)
def lmove(c: Client, argv: list[bytes]) -> Reply:
    return _lmove(c, argv, _where(argv[3]), _where(argv[4]))


@command(
    "rpoplpush",
    arity=3,
    flags="write denyoom",
    keys=(1, 2, 1),
    group="list",
    summary="Remove the last element in a list, prepend it to another list and return it",
    since="1.2.0",
    complexity="O(1)",
    acl="@write @list @slow",
)
def rpoplpush(c: Client, argv: list[bytes]) -> Reply:
    return _lmove(c, argv, RIGHT, LEFT)


# --- LMPOP -----------------------------------------------------------------------------------


def _parse_mpop(argv: list[bytes], numkeys_index: int) -> tuple[list[bytes], bool, int]:
    """numkeys, keys, LEFT|RIGHT, [COUNT n] → (keys, left, count)."""
    numkeys = _parse_range_long(argv[numkeys_index], 1, NUMKEYS_POSITIVE)
    where_index = numkeys_index + numkeys + 1
    n = len(argv)
    if where_index >= n:
        raise CommandError(SYNTAX)
    left = _where(argv[where_index])
    count = -1
    i = where_index + 1
    while i < n:
        if count == -1 and argv[i].lower() == b"count" and i + 1 < n:
            i += 1
            count = _parse_range_long(argv[i], 1, COUNT_POSITIVE)
        else:
            raise CommandError(SYNTAX)
        i += 1
    return argv[numkeys_index + 1 : where_index], left, (1 if count == -1 else count)


def _mpop_from(c: Client, key: bytes, lst: ListValue, left: bool, count: int) -> Reply:
    """Pop up to ``count`` from one list: ``[key, [elements]]``, replicated as [LR]POP key n."""
    elements = _pop(lst, count, left)
    _removed(c, key, lst, elements, b"lpop" if left else b"rpop")
    c.propagate_as = [[b"LPOP" if left else b"RPOP", key, b"%d" % len(elements)]]
    return [key, elements]  # type: ignore[list-item]


def _first_nonempty(c: Client, keys: list[bytes]) -> tuple[bytes, ListValue] | None:
    """The first key holding a list, in order; WRONGTYPE when a key before it is not a list."""
    db = c.db
    for key in keys:
        lst = _get_list(db, key)
        if lst:
            return key, lst
    return None


@command(
    "lmpop",
    arity=-4,
    flags="write movablekeys",
    group="list",
    summary="Pop elements from a list",
    since="7.0.0",
    complexity="O(N+M) where N is the number of provided keys and M is the number of elements "
    "returned.",
    acl="@write @list @slow",
)
def lmpop(c: Client, argv: list[bytes]) -> Reply:
    keys, left, count = _parse_mpop(argv, 1)
    found = _first_nonempty(c, keys)
    if found is None:
        return NULL_ARRAY
    return _mpop_from(c, found[0], found[1], left, count)


# --- blocking --------------------------------------------------------------------------------------


def _served_list(c: Client, key: bytes) -> ListValue | None:
    """The ready key's list when it can serve a blocked client; None to keep waiting."""
    value = c.db.lookup_write(key)
    if type(value) is ListValue and value:
        return value
    return None


def _blocking_pop(c: Client, argv: list[bytes], left: bool) -> Reply | Blocked:
    timeout = parse_timeout(argv[-1])
    keys = argv[1:-1]
    ready = _ready_key(c)
    if ready is not None:
        lst = _served_list(c, ready)
        if lst is None:
            return Blocked([ready], timeout)
        found: tuple[bytes, ListValue] | None = (ready, lst)
    else:
        found = _first_nonempty(c, keys)
    if found is not None:
        key, lst = found
        value = lst.popleft() if left else lst.pop()
        _removed(c, key, lst, [value], b"lpop" if left else b"rpop")
        c.propagate_as = [[b"LPOP" if left else b"RPOP", key]]
        return [key, value]
    if c.in_exec:
        return NULL_ARRAY
    return Blocked(list(dict.fromkeys(keys)), timeout)


@command(
    "blpop",
    arity=-3,
    flags="write noscript blocking",
    keys=(1, -2, 1),
    group="list",
    summary="Remove and get the first element in a list, or block until one is available",
    since="2.0.0",
    complexity="O(N) where N is the number of provided keys.",
    acl="@write @list @slow @blocking",
)
def blpop(c: Client, argv: list[bytes]) -> Reply | Blocked:
    return _blocking_pop(c, argv, LEFT)


@command(
    "brpop",
    arity=-3,
    flags="write noscript blocking",
    keys=(1, -2, 1),
    group="list",
    summary="Remove and get the last element in a list, or block until one is available",
    since="2.0.0",
    complexity="O(N) where N is the number of provided keys.",
    acl="@write @list @slow @blocking",
)
def brpop(c: Client, argv: list[bytes]) -> Reply | Blocked:
    return _blocking_pop(c, argv, RIGHT)


@command(
    "blmpop",
    arity=-5,
    flags="write blocking movablekeys",
    group="list",
    summary="Pop elements from a list, or block until one is available",
    since="7.0.0",
    complexity="O(N+M) where N is the number of provided keys and M is the number of elements "
    "returned.",
    acl="@write @list @slow @blocking",
)
def blmpop(c: Client, argv: list[bytes]) -> Reply | Blocked:
    keys, left, count = _parse_mpop(argv, 2)
    timeout = parse_timeout(argv[1])
    ready = _ready_key(c)
    if ready is not None:
        lst = _served_list(c, ready)
        if lst is None:
            return Blocked([ready], timeout)
        return _mpop_from(c, ready, lst, left, count)
    found = _first_nonempty(c, keys)
    if found is not None:
        return _mpop_from(c, found[0], found[1], left, count)
    if c.in_exec:
        return NULL_ARRAY
    return Blocked(list(dict.fromkeys(keys)), timeout)


def _blocking_move(
    c: Client, argv: list[bytes], wherefrom: bool, whereto: bool, timeout_arg: bytes, blmove: bool
) -> Reply | Blocked:
    timeout = parse_timeout(timeout_arg)
    src_key, dst_key = argv[1], argv[2]
    if _ready_key(c) is not None:
        src = _served_list(c, src_key)
        if src is None:
            return Blocked([src_key], timeout)
        # A destination of another type: the client gets WRONGTYPE and stops waiting.
        value = _move(c, src_key, dst_key, src, wherefrom, whereto)
        if blmove:
            c.propagate_as = [
                [
                    b"LMOVE",
                    src_key,
                    dst_key,
                    b"LEFT" if wherefrom else b"RIGHT",
                    b"LEFT" if whereto else b"RIGHT",
                ]
            ]
        else:
            c.propagate_as = [[b"RPOPLPUSH", src_key, dst_key]]
        return value
    src = _get_list(c.db, src_key)
    if src is None:
        if c.in_exec:
            return None
        return Blocked([src_key], timeout)
    value = _move(c, src_key, dst_key, src, wherefrom, whereto)
    if blmove:
        c.propagate_as = [[b"LMOVE", src_key, dst_key, argv[3], argv[4]]]
    else:
        c.propagate_as = [[b"RPOPLPUSH", src_key, dst_key]]
    return value


@command(
    "blmove",
    arity=6,
    flags="write denyoom noscript blocking",
    keys=(1, 2, 1),
    group="list",
    summary="Pop an element from a list, push it to another list and return it; or block until "
    "one is available",
    since="6.2.0",
    complexity="O(1)",
    acl="@write @list @slow @blocking",
)
def blmove(c: Client, argv: list[bytes]) -> Reply | Blocked:
    wherefrom = _where(argv[3])
    whereto = _where(argv[4])
    return _blocking_move(c, argv, wherefrom, whereto, argv[5], blmove=True)


@command(
    "brpoplpush",
    arity=4,
    flags="write denyoom noscript blocking",
    keys=(1, 2, 1),
    group="list",
    summary="Pop an element from a list, push it to another list and return it; or block until "
    "one is available",
    since="2.2.0",
    complexity="O(1)",
    acl="@write @list @slow @blocking",
)
def brpoplpush(c: Client, argv: list[bytes]) -> Reply | Blocked:
    return _blocking_move(c, argv, RIGHT, LEFT, argv[3], blmove=False)
