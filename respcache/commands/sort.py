"""SORT and SORT_RO (Redis 7.0's ``generic`` group), following ``src/sort.c`` of Redis 7.0.15.

Lists, sets and sorted sets sort numerically (C ``strtod`` weights, equal weights
ordered by the elements' bytes) or with ALPHA (bytes, as ``strcoll`` in the C locale,
which stops at a NUL byte; with STORE a plain binary comparison as Redis does), by the
elements themselves or by ``BY`` pattern weights (``*`` substituted once, ``->field``
for a hash field); a ``BY`` without ``*`` skips sorting and keeps the native order
(lists, sorted sets; a set is then sorted ALPHA when storing, as Redis forces).
Python's sort is stable like glibc's merge-sort ``qsort``, so equal ALPHA weights keep
the input order. As in Redis, sorting a sorted set converts it to a skiplist for good.

``SORT ... STORE`` is a write (a list, or the key deleted when the result is empty) and is
replicated as it is; without STORE nothing changes and nothing is replicated.
"""

from __future__ import annotations

import math
from typing import Final

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
            dontsort = b"*" not in sortby
            if not dontsort:
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
                by_values = [lookup_by_pattern(db, sortby, e) for e in elements]
                order = list(range(len(elements)))
                binary = store is not None

                def alpha_cmp(i: int) -> tuple[int, bytes]:
                    v = by_values[i]
                    if v is None:
                        return (0, b"")
                    return (1, v if binary else _alpha_key(v))

                order.sort(key=alpha_cmp, reverse=desc)
                elements = [elements[i] for i in order]
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
