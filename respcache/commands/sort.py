"""SORT and SORT_RO (Redis 7.0's ``generic`` group), following ``src/sort.c`` of Redis 7.0.15.

Lists, sets and sorted sets sort numerically (C ``strtod`` weights, equal weights
ordered by the elements' bytes) or with ALPHA (bytes, as ``strcoll`` in the C locale,
which stops at a NUL byte; with STORE a plain binary comparison as Redis does), by the
elements themselves or by ``BY`` pattern weights (``*`` substituted once, ``->field``
for a hash field); a ``BY`` without ``*`` skips sorting and keeps the native order
(lists, sorted sets; a set is then sorted ALPHA when storing, as Redis forces).
Python's sort is stable like glibc's merge-sort ``qsort``, so equal ALPHA weights keep
the input order. With ``BY`` and a ``LIMIT`` narrower than the whole input Redis sorts
with its own partial quicksort (``src/pqsort.c``), which is not stable: :func:`pqsort`
is a port of it, used where ties are visible (ALPHA ``BY``: equal or missing weights;
numeric ties are broken by the elements' bytes, so only identical elements tie). As in
Redis, sorting a sorted set converts it to a skiplist for good.

``SORT ... STORE`` is a write (a list, or the key deleted when the result is empty) and is
replicated as it is; without STORE nothing changes and nothing is replicated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final, TypeVar

from respcache.commands.args import parse_int
from respcache.commands.client import Client
from respcache.commands.keyspecs import GETKEYS_PROCS
from respcache.commands.lists import item_size
from respcache.commands.registry import REGISTRY, command
from respcache.commands.sets import members_in_order, notify_new
from respcache.commands.zsets import strtod
from respcache.errors import SYNTAX, WRONGTYPE, CommandError
from respcache.protocol.types import Reply
from respcache.store.keyspace import Database
from respcache.store.values import HashValue, ListValue, SetValue
from respcache.store.zset import ZSetValue

_WHITESPACE: Final = b" \t\n\v\f\r"

T = TypeVar("T")


def lookup_by_pattern(db: Database, pattern: bytes, subst: bytes) -> bytes | None:
    """Redis's ``lookupKeyByPattern``: ``#`` is the element; else ``*`` is replaced by it,
    and ``->field`` reads a hash field. None when missing or of another type."""
    if pattern == b"#":
        return subst
    star = pattern.find(b"*")
    if star < 0:
        return None
    arrow = pattern.find(b"->", star + 1)
    field: bytes | None = None
    if arrow >= 0 and arrow + 2 < len(pattern):
        field = pattern[arrow + 2 :]
        postfix = pattern[star + 1 : arrow]
    else:
        postfix = pattern[star + 1 :]
    key = pattern[:star] + subst + postfix
    value = db.lookup(key)
    if value is None:
        return None
    if field is not None:
        if type(value) is not HashValue:
            return None
        return value.get(field)
    return value if type(value) is bytes else None


def _weight(value: bytes) -> float | None:
    """C ``strtod`` as SORT checks it (the whole C string consumed, no ERANGE, no NaN)."""
    text = value.split(b"\0", 1)[0]
    body = text.lstrip(_WHITESPACE)
    if not body:
        return 0.0 if not text else None
    number, end, erange = strtod(body)
    if end != len(body) or erange or math.isnan(number):
        return None
    return number


def _alpha_key(value: bytes) -> bytes:
    """``strcoll`` in the C locale: a byte comparison up to the first NUL."""
    return value.split(b"\0", 1)[0]


def _med3(v: list[T], a: int, b: int, c: int, cmp: Callable[[T, T], int]) -> int:
    if cmp(v[a], v[b]) < 0:
        return b if cmp(v[b], v[c]) < 0 else (c if cmp(v[a], v[c]) < 0 else a)
    return b if cmp(v[b], v[c]) > 0 else (a if cmp(v[a], v[c]) < 0 else c)


def _vecswap(v: list[T], a: int, b: int, n: int) -> None:
    for i in range(n):
        v[a + i], v[b + i] = v[b + i], v[a + i]


def pqsort(v: list[T], cmp: Callable[[T, T], int], lrange: int, rrange: int) -> None:
    """Redis's ``pqsort`` (``src/pqsort.c``: Bentley & McIlroy's quicksort that only goes
    into the parts overlapping ``[lrange, rrange]``), in place, step for step, so that
    equal elements end in Redis's order. The parts are disjoint: the order they are
    sorted in (C recursion, here a stack) does not change the result."""
    parts = [(0, len(v))]
    while parts:
        a, n = parts.pop()
        if n < 7:
            for pm in range(a + 1, a + n):
                pl = pm
                while pl > a and cmp(v[pl - 1], v[pl]) > 0:
                    v[pl], v[pl - 1] = v[pl - 1], v[pl]
                    pl -= 1
            continue
        pm = a + n // 2
        if n > 7:
            pl = a
            pn = a + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(v, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(v, pm - d, pm, pm + d, cmp)
                pn = _med3(v, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(v, pl, pm, pn, cmp)
        v[a], v[pm] = v[pm], v[a]
        pa = pb = a + 1
        pc = pd = a + n - 1
        while True:
            while pb <= pc:
                result = cmp(v[pb], v[a])
                if result > 0:
                    break
                if result == 0:
                    v[pa], v[pb] = v[pb], v[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                result = cmp(v[pc], v[a])
                if result < 0:
                    break
                if result == 0:
                    v[pc], v[pd] = v[pd], v[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            v[pb], v[pc] = v[pc], v[pb]
            pb += 1
            pc -= 1
        pn = a + n
        r = min(pa - a, pb - pa)
        _vecswap(v, a, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(v, pb, pn - r, r)
        for lo, size in ((a, pb - pa), (pn - (pd - pc), pd - pc)):
            if size > 1 and _overlaps(lo, lo + size - 1, lrange, rrange):
                parts.append((lo, size))


def _overlaps(lo: int, hi: int, lrange: int, rrange: int) -> bool:
    return not ((lrange < lo and rrange < lo) or (lrange > hi and rrange > hi))


def _sort(c: Client, argv: list[bytes], readonly: bool) -> Reply:
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    store: bytes | None = None
    sortby: bytes | None = None
    gets: list[bytes] = []
    j = 2
    n = len(argv)
    full_key_access: bool | None = None  # (asked only for a BY or GET pattern)

    def refuse_pattern(option: str) -> None:
        nonlocal full_key_access
        if full_key_access is None:
            spec = REGISTRY["sort_ro" if readonly else "sort"]
            full_key_access = c.engine.acl.unrestricted_key_access(c.user, spec, argv)
        if not full_key_access:
            raise CommandError(
                f"ERR {option} option of SORT denied due to insufficient ACL permissions."
            )

    while j < n:
        left = n - j - 1
        arg = argv[j].lower()
        if arg == b"asc":
            desc = False
        elif arg == b"desc":
            desc = True
        elif arg == b"alpha":
            alpha = True
        elif arg == b"limit" and left >= 2:
            limit_start = parse_int(argv[j + 1])
            limit_count = parse_int(argv[j + 2])
            j += 2
        elif not readonly and arg == b"store" and left >= 1:
            store = argv[j + 1]
            j += 1
        elif arg == b"by" and left >= 1:
            sortby = argv[j + 1]
            if b"*" not in sortby:
                dontsort = True  # for good, as in Redis: a later BY pattern does not undo it
            else:
                refuse_pattern("BY")
            j += 1
        elif arg == b"get" and left >= 1:
            refuse_pattern("GET")
            gets.append(argv[j + 1])
            j += 1
        else:
            raise CommandError(SYNTAX)
        j += 1
    db = c.db
    value = db.lookup(argv[1])
    elements: list[bytes]
    if value is None:
        value = ListValue()
    elif type(value) not in (ListValue, SetValue, ZSetValue):
        raise CommandError(WRONGTYPE)
    if dontsort and type(value) is SetValue and (store is not None or c.is_script):
        dontsort = False
        alpha = True
        sortby = None
    if type(value) is ZSetValue:
        value.big = True  # zsetConvert(..., SKIPLIST): for good
    size = len(value)  # type: ignore[arg-type]
    start = min(max(limit_start, 0), size)
    limit_count = min(max(limit_count, -1), size)
    end = size - 1 if limit_count < 0 else start + limit_count - 1
    if start >= size:
        start = size - 1
        end = size - 2
    end = min(end, size - 1)
    if type(value) in (ListValue, ZSetValue) and dontsort:
        if end >= start:
            if type(value) is ListValue:
                ordered = list(reversed(value)) if desc else list(value)
            else:
                assert isinstance(value, ZSetValue)
                ordered = [m for _s, m in value.iter_span(0, size, reverse=desc)]
            elements = ordered[start : end + 1]
            end -= start
            start = 0
        else:
            elements = []
    elif type(value) is SetValue:
        elements = members_in_order(value)
    elif type(value) is ZSetValue:
        assert isinstance(value, ZSetValue)
        elements = list(value)
    else:
        assert isinstance(value, ListValue)
        elements = list(value)
    error = False
    if not dontsort:
        if alpha:
            if sortby is None:
                if store is not None:
                    elements.sort(reverse=desc)
                else:
                    elements.sort(key=_alpha_key, reverse=desc)
            else:
                binary = store is not None
                keyed_by: list[tuple[bytes | None, bytes]] = []
                for e in elements:
                    by = lookup_by_pattern(db, sortby, e)
                    keyed_by.append((by if by is None or binary else _alpha_key(by), e))
                if start != 0 or end != size - 1:
                    sign = -1 if desc else 1

                    def alpha_cmp(
                        x: tuple[bytes | None, bytes], y: tuple[bytes | None, bytes]
                    ) -> int:
                        a, b = x[0], y[0]
                        if a is None or b is None:
                            return 0 if a is b else (-sign if a is None else sign)
                        return sign * ((a > b) - (a < b))

                    pqsort(keyed_by, alpha_cmp, start, end)
                else:
                    keyed_by.sort(
                        key=lambda kv: (0, b"") if kv[0] is None else (1, kv[0]), reverse=desc
                    )
                elements = [e for _by, e in keyed_by]
        else:
            keyed: list[tuple[float, bytes]] = []
            for element in elements:
                weight_of = element if sortby is None else lookup_by_pattern(db, sortby, element)
                weight = 0.0
                if weight_of is not None:
                    parsed = _weight(weight_of)
                    if parsed is None:
                        error = True
                    else:
                        weight = parsed
                keyed.append((weight, element))
            keyed.sort(reverse=desc)
            elements = [e for _w, e in keyed]
    if error:
        raise CommandError("ERR One or more scores can't be converted into double")
    selected = elements[start : end + 1] if end >= start else []
    if store is None:
        if not gets:
            out: list[Reply] = list(selected)
            return out
        return [lookup_by_pattern(db, g, e) for e in selected for g in gets]
    result = (
        [lookup_by_pattern(db, g, e) or b"" for e in selected for g in gets]
        if gets
        else list(selected)
    )
    if result:
        stored = ListValue()
        stored.extend(result)
        stored.nbytes += sum(item_size(e) for e in result)
        if db.lookup_write(store) is None:
            notify_new(c, store)
        db.set(store, stored)
        c.modified(store, b"sortstore", "l")
    elif db.delete(store):
        c.modified(store, b"del", "g")
    return len(result)


@command(
    "sort",
    arity=-2,
    flags="write denyoom movablekeys",
    keys=(1, 1, 1),
    group="generic",
    summary="Sort the elements in a list, set or sorted set",
    since="1.0.0",
    complexity="O(N+M*log(M)) where N is the number of elements in the list or set to sort, "
    "and M the number of returned elements. When the elements are not sorted, complexity is "
    "O(N).",
    acl="@write @set @sortedset @list @slow @dangerous",
)
def sort(c: Client, argv: list[bytes]) -> Reply:
    return _sort(c, argv, readonly=False)


@command(
    "sort_ro",
    arity=-2,
    flags="readonly movablekeys",
    keys=(1, 1, 1),
    group="generic",
    summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
    since="7.0.0",
    complexity="O(N+M*log(M)) where N is the number of elements in the list or set to sort, "
    "and M the number of returned elements. When the elements are not sorted, complexity is "
    "O(N).",
    acl="@read @set @sortedset @list @slow @dangerous",
)
def sort_ro(c: Client, argv: list[bytes]) -> Reply:
    return _sort(c, argv, readonly=True)


def sort_keys(argv: list[bytes]) -> list[tuple[int, list[str]]]:
    """Redis's ``sortGetKeys``: the sorted key, and the last STORE key (options with
    arguments skipped as Redis skips them)."""
    keys: list[tuple[int, list[str]]] = [(1, ["RO", "access"])]
    store: tuple[int, list[str]] | None = None
    skips = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    while i < len(argv):
        word = argv[i].lower()
        if word in skips:
            i += skips[word]
        elif word == b"store" and i + 1 < len(argv):
            store = (i + 1, ["OW", "update"])
        i += 1
    if store is not None:
        keys.append(store)
    return keys


GETKEYS_PROCS["sort"] = sort_keys
