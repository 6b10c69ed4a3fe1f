"""Sorted set commands: ZADD, ZRANGE and its family, ZPOP/BZPOP, ZUNION/ZINTER/ZDIFF, ZSCAN.

A sorted set is a :class:`~respcache.store.zset.ZSetValue`. Scores are parsed like Redis
parses them: ``strtod`` (decimal, hexadecimal, ``inf``), whole argument, no NaN, no
overflow to infinity or underflow to zero for a score; ranges (``ZRANGEBYSCORE``) read a
C string with ``strtod`` and accept what it accepts (``"(1"``, ``" 1"``, ``""`` as 0,
``1e400`` as inf). Replies carry scores as ``float``: the encoder writes them as Redis 7.0
does (``%.17g``; RESP3 doubles).

Lexicographic ranges assume, as Redis documents, that all elements share one score; then
they are binary searches. With mixed scores the answer follows Redis's listpack walk (the
first element from the low end that is >= min, then onward while <= max), in O(n).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from respcache.commands.args import parse_int
from respcache.commands.blocking import Blocked
from respcache.commands.client import Client, key_modified
from respcache.commands.keys import COPIERS
from respcache.commands.lists import parse_timeout
from respcache.commands.registry import command
from respcache.commands.scan import parse_cursor, parse_scan_options, scan_step
from respcache.commands.sets import notify_new, parse_positive, parse_random_count
from respcache.errors import NOT_FLOAT, SYNTAX, WRONGTYPE, CommandError
from respcache.protocol.encoder import format_double
from respcache.protocol.types import NULL_ARRAY, Reply
from respcache.store.values import SetValue
from respcache.store.zset import ZSetValue, member_cost

NOT_A_RANGE: Final = "ERR min or max is not a float"
NOT_A_LEX_RANGE: Final = "ERR min or max not valid string range item"
NAN_RESULT: Final = "ERR resulting score is not a number (NaN)"
_HALF_LONG_MAX: Final = (2**63 - 1) // 2

# --- parsing doubles the way strtod does -------------------------------------------------

_STRTOD: Final = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?)(?:"
    rb"(0x(?:[0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(?:p[+-]?[0-9]+)?)"
    rb"|((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)"
    rb"|(inf(?:inity)?)"
    rb"|(nan(?:\([0-9a-z_]*\))?)"
    rb")",
    re.IGNORECASE,
)
_WHITESPACE: Final = b" \t\n\v\f\r"


def strtod(text: bytes) -> tuple[float, int, bool]:
    """C's ``strtod`` on ``text``: (value, characters consumed, ERANGE was set).

    Nothing parsed gives (0.0, 0, False), as ``strtod`` leaves ``endptr`` at the start.
    """
    m = _STRTOD.match(text)
    if m is None:
        return 0.0, 0, False
    sign, hexa, decimal, inf, _nan = m.groups()
    negative = sign == b"-"
    erange = False
    if hexa is not None:
        mantissa = hexa[2:].lower().split(b"p")[0].replace(b".", b"")
        try:
            value = float.fromhex(hexa.decode())
        except OverflowError:
            value, erange = math.inf, True
        else:
            erange = value == 0.0 and mantissa.strip(b"0") != b""
    elif decimal is not None:
        value = float(decimal)
        if math.isinf(value):
            erange = True
        elif value == 0.0:
            erange = decimal.lower().split(b"e")[0].strip(b"0.") != b""
    elif inf is not None:
        value = math.inf
    else:
        value = math.nan
    return (-value if negative else value), m.end(), erange


def parse_score(arg: bytes, error: str = NOT_FLOAT) -> float:
    """A score as Redis's ``getDoubleFromObject`` reads it."""
    if not arg or arg[0] in _WHITESPACE:
        raise CommandError(error)
    value, end, erange = strtod(arg)
    if end != len(arg) or math.isnan(value) or (erange and (math.isinf(value) or value == 0.0)):
        raise CommandError(error)
    return value


@dataclass(frozen=True, slots=True)
class ScoreRange:
    low: float
    low_ex: bool
    high: float
    high_ex: bool


def _score_bound(arg: bytes) -> tuple[float, bool]:
    text = arg.split(b"\0", 1)[0]  # Redis reads the argument as a C string
    exclusive = text[:1] == b"("
    if exclusive:
        text = text[1:]
    value, end, _erange = strtod(text)
    if end != len(text) or math.isnan(value):
        raise CommandError(NOT_A_RANGE)
    return value, exclusive


def parse_score_range(low: bytes, high: bytes) -> ScoreRange:
    """Redis's ``zslParseRange``: ``(`` for exclusive, ``-inf``/``+inf``."""
    lo, lo_ex = _score_bound(low)
    hi, hi_ex = _score_bound(high)
    return ScoreRange(lo, lo_ex, hi, hi_ex)


@dataclass(frozen=True, slots=True)
class LexBound:
    kind: int
    """-1 for ``-`` (below everything), 1 for ``+`` (above everything), 0 for a string."""
    value: bytes = b""
    exclusive: bool = True


def _lex_bound(arg: bytes) -> LexBound:
    first = arg[:1]
    if first in (b"+", b"-"):
        if len(arg) > 1 and arg[1] != 0:
            raise CommandError(NOT_A_LEX_RANGE)
        return LexBound(1 if first == b"+" else -1)
    if first == b"(":
        return LexBound(0, arg[1:], True)
    if first == b"[":
        return LexBound(0, arg[1:], False)
    raise CommandError(NOT_A_LEX_RANGE)


@dataclass(frozen=True, slots=True)
class LexRange:
    low: LexBound
    high: LexBound

    def gte_min(self, member: bytes) -> bool:
        low = self.low
        if low.kind:
            return low.kind < 0
        return member > low.value if low.exclusive else member >= low.value

    def lte_max(self, member: bytes) -> bool:
        high = self.high
        if high.kind:
            return high.kind > 0
        return member < high.value if high.exclusive else member <= high.value

    def empty(self) -> bool:
        """Redis's test for ranges that are always empty (``sdscmplex(min, max)``)."""
        low, high = self.low, self.high
        if low.kind and low.kind == high.kind:
            cmp = 0
        elif low.kind < 0 or high.kind > 0:
            cmp = -1
        elif low.kind > 0 or high.kind < 0:
            cmp = 1
        else:
            cmp = (low.value > high.value) - (low.value < high.value)
        return cmp > 0 or (cmp == 0 and (low.exclusive or high.exclusive))


def parse_lex_range(low: bytes, high: bytes) -> LexRange:
    return LexRange(_lex_bound(low), _lex_bound(high))


# --- ranges over a sorted set ---------------------------------------------------------------


def lex_span(zset: ZSetValue, lex: LexRange, reverse: bool = False) -> tuple[int, int]:
    """Indices ``start, stop`` of the elements a lex range selects (walking from the low
    end, or from the high end when ``reverse``)."""
    n = len(zset)
    if not n or lex.empty():
        return 0, 0
    if not lex.gte_min(zset.at(-1)[1]) or not lex.lte_max(zset.at(0)[1]):
        return 0, 0
    if zset.single_score():
        low, high = lex.low, lex.high
        if low.kind:
            start = 0 if low.kind < 0 else n
        else:
            start = zset.member_index(low.value, after=low.exclusive)
        if high.kind:
            stop = n if high.kind > 0 else 0
        else:
            stop = zset.member_index(high.value, after=not high.exclusive)
        return start, max(start, stop)
    members = [m for _s, m in zset.items_in_order()]
    if not reverse:
        start = next((i for i, m in enumerate(members) if lex.gte_min(m)), n)
        if start == n or not lex.lte_max(members[start]):
            return 0, 0
        stop = start
        while stop < n and lex.lte_max(members[stop]):
            stop += 1
        return start, stop
    last = next((i for i in range(n - 1, -1, -1) if lex.lte_max(members[i])), -1)
    if last < 0 or not lex.gte_min(members[last]):
        return 0, 0
    first = last
    while first > 0 and lex.gte_min(members[first - 1]):
        first -= 1
    return first, last + 1


def score_span(zset: ZSetValue, rng: ScoreRange) -> tuple[int, int]:
    return zset.score_span(rng.low, rng.low_ex, rng.high, rng.high_ex)


def rank_span(length: int, start: int, end: int) -> tuple[int, int]:
    """Redis's index sanitizing: (first, last + 1) or an empty span."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    start = max(start, 0)
    if start > end or start >= length:
        return 0, 0
    return start, min(end, length - 1) + 1


def limited(
    zset: ZSetValue, start: int, stop: int, reverse: bool, offset: int, limit: int
) -> list[tuple[float, bytes]]:
    """Elements ``start..stop-1`` in walking order, after LIMIT ``offset`` ``count``."""
    if offset < 0 or stop <= start:
        return []
    if limit < 0:
        limit = stop - start
    if reverse:
        high = stop - offset
        low = max(start, high - limit)
        if high <= low:
            return []
        return list(zset.iter_span(low, high, reverse=True))
    low = start + offset
    high = min(stop, low + limit)
    if high <= low:
        return []
    return zset.span(low, high)


# --- helpers ---------------------------------------------------------------------------------


def read_zset(c: Client, key: bytes) -> ZSetValue | None:
    value = c.db.lookup(key)
    if value is None or type(value) is ZSetValue:
        return value
    raise CommandError(WRONGTYPE)


def write_zset(c: Client, key: bytes) -> ZSetValue | None:
    value = c.db.lookup_write(key)
    if value is None or type(value) is ZSetValue:
        return value
    raise CommandError(WRONGTYPE)


def _copy(value: object) -> object:
    assert isinstance(value, ZSetValue)
    return value.clone()


COPIERS[ZSetValue] = _copy


def encoding(value: ZSetValue) -> bytes:
    """OBJECT ENCODING of a sorted set: ``listpack`` or ``skiplist``."""
    return b"skiplist" if value.big else b"listpack"


def scored(items: Iterable[tuple[float, bytes]], with_scores: bool, resp: int) -> list[Reply]:
    """A range reply: members, or members and scores (flat in RESP2, pairs in RESP3)."""
    if not with_scores:
        return [m for _s, m in items]
    if resp == 2:
        return [x for s, m in items for x in (m, s)]
    return [[m, s] for s, m in items]


def _after_removal(c: Client, key: bytes, zset: ZSetValue, event: bytes) -> None:
    key_modified(c, key, event, "z")
    if not zset:
        c.db.delete(key)
        key_modified(c, key, b"del", "g")


def store_zset(c: Client, dst: bytes, result: ZSetValue, event: bytes) -> int:
    """Write a computed sorted set to ``dst``, or delete ``dst`` when it is empty."""
    db = c.db
    if result:
        if db.lookup_write(dst) is None:
            notify_new(c, dst)
        db.set(dst, result)
        key_modified(c, dst, event, "z")
        return len(result)
    if db.lookup_write(dst) is not None:
        db.delete(dst)
        key_modified(c, dst, b"del", "g")
    return 0


def listpack_score_text(score: float) -> bytes:
    """A score as a listpack holds it: an integer when it is one (up to 2**62), else
    ``%.17g``."""
    if -(2.0**62) <= score <= 2.0**62 and score == int(score):
        return b"%d" % int(score)
    return format_double(score)


# --- ZADD / ZINCRBY ---------------------------------------------------------------------------


def _zadd(c: Client, argv: list[bytes], incr: bool) -> Reply:
    key = argv[1]
    nx = xx = gt = lt = ch = False
    i = 2
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"ch":
            ch = True
        elif opt == b"incr":
            incr = True
        elif opt == b"gt":
            gt = True
        elif opt == b"lt":
            lt = True
        else:
            break
        i += 1
    elements = n - i
    if elements % 2 or not elements:
        raise CommandError(SYNTAX)
    elements //= 2
    if nx and xx:
        raise CommandError("ERR XX and NX options at the same time are not compatible")
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError("ERR GT, LT, and/or NX options at the same time are not compatible")
    if incr and elements > 1:
        raise CommandError("ERR INCR option supports a single increment-element pair")
    scores = [parse_score(argv[j]) for j in range(i, n, 2)]
    members = argv[i + 1 : n : 2]
    db = c.db
    zset = write_zset(c, key)
    if zset is None:
        if xx:
            return None if incr else 0
        zset = ZSetValue()
        db.set(key, zset)
        notify_new(c, key)
    added = updated = processed = 0
    delta = 0
    reply_score = 0.0
    for score, member in zip(scores, members, strict=True):
        current = zset.get(member)
        if current is not None:
            if nx:
                continue
            if incr:
                score += current
                if math.isnan(score):  # INCR has a single pair: nothing changed yet
                    raise CommandError(NAN_RESULT)
            if (lt and score >= current) or (gt and score <= current):
                continue
            processed += 1
            reply_score = score
            if score != current:
                zset.rescore(member, score)
                updated += 1
        else:
            if xx:
                continue
            delta += zset.insert(member, score)
            added += 1
            processed += 1
            reply_score = score
    if delta:
        db.grow(zset, delta)
    if added or updated:
        key_modified(c, key, b"zincr" if incr else b"zadd", "z")
    if incr:
        return reply_score if processed else None
    return added + updated if ch else added


@command(
    "zadd",
    arity=-4,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Add one or more members to a sorted set, or update its score if it already exists",
    since="1.2.0",
    complexity="O(log(N)) for each item added, where N is the number of elements in the sorted "
    "set.",
    acl="@write @sortedset @fast",
)
def zadd(c: Client, argv: list[bytes]) -> Reply:
    return _zadd(c, argv, incr=False)


@command(
    "zincrby",
    arity=4,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Increment the score of a member in a sorted set",
    since="1.2.0",
    complexity="O(log(N)) where N is the number of elements in the sorted set.",
    acl="@write @sortedset @fast",
)
def zincrby(c: Client, argv: list[bytes]) -> Reply:
    return _zadd(c, argv, incr=True)


# --- simple reads and removals -------------------------------------------------------------------


@command(
    "zrem",
    arity=-3,
    flags="write fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Remove one or more members from a sorted set",
    since="1.2.0",
    complexity="O(M*log(N)) with N being the number of elements in the sorted set and M the "
    "number of elements to be removed.",
    acl="@write @sortedset @fast",
)
def zrem(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    zset = write_zset(c, key)
    if zset is None:
        return 0
    delta = 0
    removed = 0
    for member in argv[2:]:
        change = zset.remove(member)
        if change:
            delta += change
            removed += 1
    if removed:
        c.db.grow(zset, delta)
        _after_removal(c, key, zset, b"zrem")
    return removed


@command(
    "zscore",
    arity=3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Get the score associated with the given member in a sorted set",
    since="1.2.0",
    complexity="O(1)",
    acl="@read @sortedset @fast",
)
def zscore(c: Client, argv: list[bytes]) -> Reply:
    zset = read_zset(c, argv[1])
    return zset.get(argv[2]) if zset is not None else None


@command(
    "zmscore",
    arity=-3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Get the score associated with the given members in a sorted set",
    since="6.2.0",
    complexity="O(N) where N is the number of members being requested.",
    acl="@read @sortedset @fast",
)
def zmscore(c: Client, argv: list[bytes]) -> Reply:
    zset = read_zset(c, argv[1])
    if zset is None:
        return [None] * (len(argv) - 2)
    get = zset.get
    return [get(m) for m in argv[2:]]


@command(
    "zcard",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Get the number of members in a sorted set",
    since="1.2.0",
    complexity="O(1)",
    acl="@read @sortedset @fast",
)
def zcard(c: Client, argv: list[bytes]) -> Reply:
    zset = read_zset(c, argv[1])
    return len(zset) if zset is not None else 0


@command(
    "zcount",
    arity=4,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Count the members in a sorted set with scores within the given values",
    since="2.0.0",
    complexity="O(log(N)) with N being the number of elements in the sorted set.",
    acl="@read @sortedset @fast",
)
def zcount(c: Client, argv: list[bytes]) -> Reply:
    rng = parse_score_range(argv[2], argv[3])
    zset = read_zset(c, argv[1])
    if zset is None:
        return 0
    start, stop = score_span(zset, rng)
    return stop - start


@command(
    "zlexcount",
    arity=4,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Count the number of members in a sorted set between a given lexicographical range",
    since="2.8.9",
    complexity="O(log(N)) with N being the number of elements in the sorted set.",
    acl="@read @sortedset @fast",
)
def zlexcount(c: Client, argv: list[bytes]) -> Reply:
    lex = parse_lex_range(argv[2], argv[3])
    zset = read_zset(c, argv[1])
    if zset is None:
        return 0
    start, stop = lex_span(zset, lex)
    return stop - start


def _rank(c: Client, argv: list[bytes], reverse: bool) -> Reply:
    zset = read_zset(c, argv[1])
    if zset is None:
        return None
    rank = zset.rank(argv[2])
    if rank is None:
        return None
    return len(zset) - 1 - rank if reverse else rank


@command(
    "zrank",
    arity=3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Determine the index of a member in a sorted set",
    since="2.0.0",
    complexity="O(log(N))",
    acl="@read @sortedset @fast",
)
def zrank(c: Client, argv: list[bytes]) -> Reply:
    return _rank(c, argv, reverse=False)


@command(
    "zrevrank",
    arity=3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Determine the index of a member in a sorted set, with scores ordered from high to low",
    since="2.0.0",
    complexity="O(log(N))",
    acl="@read @sortedset @fast",
)
def zrevrank(c: Client, argv: list[bytes]) -> Reply:
    return _rank(c, argv, reverse=True)


# --- ZRANGE and its family --------------------------------------------------------------------

RANK, SCORE, LEX = "rank", "score", "lex"


def _zrange(
    c: Client,
    argv: list[bytes],
    src_index: int,
    dst: bytes | None,
    range_type: str | None,
    reverse: bool | None,
) -> Reply:
    """Redis's ``zrangeGenericCommand``: options, then the range, then the key."""
    key = argv[src_index]
    low_index, high_index = src_index + 1, src_index + 2
    with_scores = False
    offset, limit = 0, -1
    n = len(argv)
    j = src_index + 3
    while j < n:
        opt = argv[j].lower()
        left = n - j - 1
        if dst is None and opt == b"withscores":
            with_scores = True
        elif opt == b"limit" and left >= 2:
            offset = parse_int(argv[j + 1])
            limit = parse_int(argv[j + 2])
            j += 2
        elif reverse is None and opt == b"rev":
            reverse = True
        elif range_type is None and opt == b"bylex":
            range_type = LEX
        elif range_type is None and opt == b"byscore":
            range_type = SCORE
        else:
            raise CommandError(SYNTAX)
        j += 1
    reverse = bool(reverse)
    range_type = range_type or RANK
    if limit != -1 and range_type == RANK:
        raise CommandError(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    if with_scores and range_type == LEX:
        raise CommandError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    if reverse and range_type != RANK:
        low_index, high_index = high_index, low_index
    if range_type == RANK:
        start_rank, end_rank = parse_int(argv[low_index]), parse_int(argv[high_index])
    elif range_type == SCORE:
        rng = parse_score_range(argv[low_index], argv[high_index])
    else:
        lex = parse_lex_range(argv[low_index], argv[high_index])
    zset = read_zset(c, key)
    items: list[tuple[float, bytes]] = []
    if zset is not None:
        if range_type == RANK:
            length = len(zset)
            start, stop = rank_span(length, start_rank, end_rank)
            if reverse:
                start, stop = length - stop, length - start
            items = limited(zset, start, stop, reverse, 0, -1)
        elif range_type == SCORE:
            start, stop = score_span(zset, rng)
            items = limited(zset, start, stop, reverse, offset, limit)
        else:
            start, stop = lex_span(zset, lex, reverse)
            items = limited(zset, start, stop, reverse, offset, limit)
    if dst is None:
        return scored(items, with_scores, c.resp)
    result = ZSetValue()
    for score, member in items:
        result.nbytes += result.insert(member, score)
    return store_zset(c, dst, result, b"zrangestore")


@command(
    "zrange",
    arity=-4,
    flags="readonly",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Return a range of members in a sorted set",
    since="1.2.0",
    complexity="O(log(N)+M) with N being the number of elements in the sorted set and M the "
    "number of elements returned.",
    acl="@read @sortedset @slow",
)
def zrange(c: Client, argv: list[bytes]) -> Reply:
    return _zrange(c, argv, 1, None, None, None)


@command(
    "zrangestore",
    arity=-5,
    flags="write denyoom",
    keys=(1, 2, 1),
    group="sorted-set",
    summary="Store a range of members from sorted set into another key",
    since="6.2.0",
    complexity="O(log(N)+M) with N being the number of elements in the sorted set and M the "
    "number of elements stored into the destination key.",
    acl="@write @sortedset @slow",
)
def zrangestore(c: Client, argv: list[bytes]) -> Reply:
    return _zrange(c, argv, 2, argv[1], None, None)


_BYSCORE_COMPLEXITY: Final = (
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
    "elements being returned. If M is constant (e.g. always asking for the first 10 elements "
    "with LIMIT), you can consider it O(log(N))."
)


@command(
    "zrangebyscore",
    arity=-4,
    flags="readonly",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Return a range of members in a sorted set, by score",
    since="1.0.5",
    complexity=_BYSCORE_COMPLEXITY,
    acl="@read @sortedset @slow",
)
def zrangebyscore(c: Client, argv: list[bytes]) -> Reply:
    return _zrange(c, argv, 1, None, SCORE, False)


@command(
    "zrevrangebyscore",
    arity=-4,
    flags="readonly",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Return a range of members in a sorted set, by score, with scores ordered from high "
    "to low",
    since="2.2.0",
    complexity=_BYSCORE_COMPLEXITY,
    acl="@read @sortedset @slow",
)
def zrevrangebyscore(c: Client, argv: list[bytes]) -> Reply:
    return _zrange(c, argv, 1, None, SCORE, True)


@command(
    "zrangebylex",
    arity=-4,
    flags="readonly",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Return a range of members in a sorted set, by lexicographical range",
    since="2.8.9",
    complexity=_BYSCORE_COMPLEXITY,
    acl="@read @sortedset @slow",
)
def zrangebylex(c: Client, argv: list[bytes]) -> Reply:
    return _zrange(c, argv, 1, None, LEX, False)


@command(
    "zrevrangebylex",
    arity=-4,
    flags="readonly",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Return a range of members in a sorted set, by lexicographical range, ordered from "
    "higher to lower strings.",
    since="2.8.9",
    complexity=_BYSCORE_COMPLEXITY,
    acl="@read @sortedset @slow",
)
def zrevrangebylex(c: Client, argv: list[bytes]) -> Reply:
    return _zrange(c, argv, 1, None, LEX, True)


@command(
    "zrevrange",
    arity=-4,
    flags="readonly",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Return a range of members in a sorted set, by index, with scores ordered from high "
    "to low",
    since="1.2.0",
    complexity="O(log(N)+M) with N being the number of elements in the sorted set and M the "
    "number of elements returned.",
    acl="@read @sortedset @slow",
)
def zrevrange(c: Client, argv: list[bytes]) -> Reply:
    return _zrange(c, argv, 1, None, RANK, True)


# --- ZREMRANGEBY* -------------------------------------------------------------------------------


def _zremrange(c: Client, argv: list[bytes], range_type: str) -> Reply:
    key = argv[1]
    if range_type == RANK:
        start_rank, end_rank = parse_int(argv[2]), parse_int(argv[3])
    elif range_type == SCORE:
        rng = parse_score_range(argv[2], argv[3])
    else:
        lex = parse_lex_range(argv[2], argv[3])
    zset = write_zset(c, key)
    if zset is None:
        return 0
    if range_type == RANK:
        start, stop = rank_span(len(zset), start_rank, end_rank)
        event = b"zremrangebyrank"
    elif range_type == SCORE:
        start, stop = score_span(zset, rng)
        event = b"zremrangebyscore"
    else:
        start, stop = lex_span(zset, lex)
        event = b"zremrangebylex"
    removed, delta = zset.remove_span(start, stop)
    if removed:
        c.db.grow(zset, delta)
        _after_removal(c, key, zset, event)
    return removed


@command(
    "zremrangebyrank",
    arity=4,
    flags="write",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Remove all members in a sorted set within the given indexes",
    since="2.0.0",
    complexity="O(log(N)+M) with N being the number of elements in the sorted set and M the "
    "number of elements removed by the operation.",
    acl="@write @sortedset @slow",
)
def zremrangebyrank(c: Client, argv: list[bytes]) -> Reply:
    return _zremrange(c, argv, RANK)


@command(
    "zremrangebyscore",
    arity=4,
    flags="write",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Remove all members in a sorted set within the given scores",
    since="1.2.0",
    complexity="O(log(N)+M) with N being the number of elements in the sorted set and M the "
    "number of elements removed by the operation.",
    acl="@write @sortedset @slow",
)
def zremrangebyscore(c: Client, argv: list[bytes]) -> Reply:
    return _zremrange(c, argv, SCORE)


@command(
    "zremrangebylex",
    arity=4,
    flags="write",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Remove all members in a sorted set between the given lexicographical range",
    since="2.8.9",
    complexity="O(log(N)+M) with N being the number of elements in the sorted set and M the "
    "number of elements removed by the operation.",
    acl="@write @sortedset @slow",
)
def zremrangebylex(c: Client, argv: list[bytes]) -> Reply:
    return _zremrange(c, argv, LEX)


# --- pops, blocking pops -----------------------------------------------------------------------


def _first_zset(c: Client, keys: Sequence[bytes]) -> tuple[bytes, ZSetValue] | None:
    """The first key holding a sorted set (WRONGTYPE if the first existing one does not).

    When the engine retries a blocked client, only the key that became ready counts,
    and one that now holds another type (or nothing) keeps the client waiting, as in
    Redis.
    """
    if c.blocked is not None and c.engine.blocked_clients.serving_key is not None:
        key = c.engine.blocked_clients.serving_key
        value = c.db.lookup_write(key)
        return (key, value) if type(value) is ZSetValue else None
    for key in keys:
        value = c.db.lookup_write(key)
        if value is None:
            continue
        if type(value) is not ZSetValue:
            raise CommandError(WRONGTYPE)
        return key, value
    return None


def _pop(
    c: Client, key: bytes, zset: ZSetValue, highest: bool, count: int
) -> list[tuple[float, bytes]]:
    """Pop up to ``count`` elements from one end; events, memory, deletion."""
    index = -1 if highest else 0
    popped: list[tuple[float, bytes]] = []
    delta = 0
    for _ in range(min(count, len(zset))):
        score, member = zset.pop_at(index)
        delta -= member_cost(member)
        popped.append((score, member))
    c.db.grow(zset, delta)
    _after_removal(c, key, zset, b"zpopmax" if highest else b"zpopmin")
    return popped


def _zpop(c: Client, argv: list[bytes], highest: bool) -> Reply:
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    count = parse_positive(argv[2]) if len(argv) == 3 else -1
    nested = c.resp > 2 and count != -1
    found = _first_zset(c, argv[1:2])
    if found is None or count == 0:
        return []
    key, zset = found
    popped = _pop(c, key, zset, highest, 1 if count == -1 else count)
    if nested:
        return [[m, s] for s, m in popped]
    return [x for s, m in popped for x in (m, s)]


@command(
    "zpopmin",
    arity=-2,
    flags="write fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Remove and return members with the lowest scores in a sorted set",
    since="5.0.0",
    complexity="O(log(N)*M) with N being the number of elements in the sorted set, and M being "
    "the number of elements popped.",
    acl="@write @sortedset @fast",
)
def zpopmin(c: Client, argv: list[bytes]) -> Reply:
    return _zpop(c, argv, highest=False)


@command(
    "zpopmax",
    arity=-2,
    flags="write fast",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Remove and return members with the highest scores in a sorted set",
    since="5.0.0",
    complexity="O(log(N)*M) with N being the number of elements in the sorted set, and M being "
    "the number of elements popped.",
    acl="@write @sortedset @fast",
)
def zpopmax(c: Client, argv: list[bytes]) -> Reply:
    return _zpop(c, argv, highest=True)


def _zpop_reply_nested(key: bytes, popped: list[tuple[float, bytes]]) -> Reply:
    return [key, [[m, s] for s, m in popped]]


def _bzpop(c: Client, argv: list[bytes], highest: bool) -> Reply | Blocked:
    timeout = parse_timeout(argv[-1])
    keys = argv[1:-1]
    found = _first_zset(c, keys)
    if found is None:
        if c.in_exec:
            return NULL_ARRAY
        return Blocked(keys, timeout)
    key, zset = found
    ((score, member),) = _pop(c, key, zset, highest, 1)
    c.propagate_as = [[b"ZPOPMAX" if highest else b"ZPOPMIN", key]]
    return [key, member, score]


@command(
    "bzpopmin",
    arity=-3,
    flags="write noscript blocking fast",
    keys=(1, -2, 1),
    group="sorted-set",
    summary="Remove and return the member with the lowest score from one or more sorted sets, "
    "or block until one is available",
    since="5.0.0",
    complexity="O(log(N)) with N being the number of elements in the sorted set.",
    acl="@write @sortedset @fast @blocking",
)
def bzpopmin(c: Client, argv: list[bytes]) -> Reply | Blocked:
    return _bzpop(c, argv, highest=False)


@command(
    "bzpopmax",
    arity=-3,
    flags="write noscript blocking fast",
    keys=(1, -2, 1),
    group="sorted-set",
    summary="Remove and return the member with the highest score from one or more sorted sets, "
    "or block until one is available",
    since="5.0.0",
    complexity="O(log(N)) with N being the number of elements in the sorted set.",
    acl="@write @sortedset @fast @blocking",
)
def bzpopmax(c: Client, argv: list[bytes]) -> Reply | Blocked:
    return _bzpop(c, argv, highest=True)


def _zmpop(c: Client, argv: list[bytes], numkeys_index: int, blocking: bool) -> Reply | Blocked:
    numkeys = parse_positive(argv[numkeys_index], "ERR numkeys should be greater than 0")
    if numkeys == 0:
        raise CommandError("ERR numkeys should be greater than 0")
    where_index = numkeys_index + numkeys + 1
    if where_index >= len(argv):
        raise CommandError(SYNTAX)
    where = argv[where_index].lower()
    if where not in (b"min", b"max"):
        raise CommandError(SYNTAX)
    highest = where == b"max"
    count = -1
    j = where_index + 1
    while j < len(argv):
        if count == -1 and argv[j].lower() == b"count" and j + 1 < len(argv):
            count = parse_positive(argv[j + 1], "ERR count should be greater than 0")
            if count == 0:
                raise CommandError("ERR count should be greater than 0")
            j += 2
        else:
            raise CommandError(SYNTAX)
    if count == -1:
        count = 1
    timeout = parse_timeout(argv[1]) if blocking else 0.0
    keys = argv[numkeys_index + 1 : where_index]
    found = _first_zset(c, keys)
    if found is None:
        if blocking and not c.in_exec:
            return Blocked(keys, timeout)
        return NULL_ARRAY
    key, zset = found
    popped = _pop(c, key, zset, highest, count)
    # As zmpop's genericZpopCommand: the COUNT replicated is what was popped.
    c.propagate_as = [[b"ZPOPMAX" if highest else b"ZPOPMIN", key, b"%d" % len(popped)]]
    return _zpop_reply_nested(key, popped)


@command(
    "zmpop",
    arity=-4,
    flags="write movablekeys",
    keys=(0, 0, 0),
    group="sorted-set",
    summary="Remove and return members with scores in a sorted set",
    since="7.0.0",
    complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the number "
    "of elements in the sorted set, and M being the number of elements popped.",
    acl="@write @sortedset @slow",
)
def zmpop(c: Client, argv: list[bytes]) -> Reply:
    reply = _zmpop(c, argv, 1, blocking=False)
    assert not isinstance(reply, Blocked)
    return reply


@command(
    "bzmpop",
    arity=-5,
    flags="write blocking movablekeys",
    keys=(0, 0, 0),
    group="sorted-set",
    summary="Remove and return members with scores in a sorted set or block until one is available",
    since="7.0.0",
    complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the number "
    "of elements in the sorted set, and M being the number of elements popped.",
    acl="@write @sortedset @slow @blocking",
)
def bzmpop(c: Client, argv: list[bytes]) -> Reply | Blocked:
    return _zmpop(c, argv, 2, blocking=True)


# --- ZUNION / ZINTER / ZDIFF ----------------------------------------------------------------------

UNION, INTER, DIFF = "union", "inter", "diff"


@dataclass(slots=True)
class _Source:
    value: ZSetValue | SetValue | None
    weight: float = 1.0

    def __len__(self) -> int:
        return len(self.value) if self.value is not None else 0

    def items(self) -> Iterable[tuple[bytes, float]]:
        value = self.value
        if value is None:
            return ()
        if type(value) is ZSetValue:
            return ((m, s) for s, m in value.items_in_order())
        return ((m, 1.0) for m in value)

    def score(self, member: bytes) -> float | None:
        value = self.value
        if value is None:
            return None
        if type(value) is ZSetValue:
            return value.get(member)
        return 1.0 if member in value else None


def _aggregate(target: float, value: float, how: bytes) -> float:
    if how == b"sum":
        total = target + value
        return 0.0 if math.isnan(total) else total
    if how == b"min":
        return value if value < target else target
    return value if value > target else target


def _weighted(weight: float, score: float) -> float:
    value = weight * score
    return 0.0 if math.isnan(value) else value


def _setop(
    c: Client, argv: list[bytes], numkeys_index: int, op: str, dst: bytes | None, card_only: bool
) -> Reply:
    """Redis's ``zunionInterDiffGenericCommand``."""
    name = argv[0].decode("latin-1").lower()
    numkeys = parse_int(argv[numkeys_index])
    if numkeys < 1:
        raise CommandError(f"ERR at least 1 input key is needed for '{name}' command")
    if numkeys > len(argv) - numkeys_index - 1:
        raise CommandError(SYNTAX)
    sources: list[_Source] = []
    for key in argv[numkeys_index + 1 : numkeys_index + 1 + numkeys]:
        value = c.db.lookup(key)
        if value is not None and type(value) not in (ZSetValue, SetValue):
            raise CommandError(WRONGTYPE)
        sources.append(_Source(value))  # type: ignore[arg-type]
    how = b"sum"
    with_scores = False
    limit = 0
    j = numkeys_index + 1 + numkeys
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        left = n - j
        if op != DIFF and not card_only and left >= numkeys + 1 and opt == b"weights":
            for i in range(numkeys):
                sources[i].weight = parse_score(argv[j + 1 + i], "ERR weight value is not a float")
            j += numkeys + 1
        elif op != DIFF and not card_only and left >= 2 and opt == b"aggregate":
            how = argv[j + 1].lower()
            if how not in (b"sum", b"min", b"max"):
                raise CommandError(SYNTAX)
            j += 2
        elif left >= 1 and dst is None and not card_only and opt == b"withscores":
            with_scores = True
            j += 1
        elif card_only and left >= 2 and opt == b"limit":
            limit = parse_positive(argv[j + 1], "ERR LIMIT can't be negative")
            j += 2
        else:
            raise CommandError(SYNTAX)
    if op != DIFF:
        sources.sort(key=len)  # stable, like glibc's merge-sort qsort
    result: dict[bytes, float] = {}
    maxelelen: int | None = None
    if op == INTER:
        if len(sources[0]):
            first, others = sources[0], sources[1:]
            count = 0
            for member, raw in first.items():
                score = _weighted(first.weight, raw)
                for other in others:
                    found = raw if other.value is first.value else other.score(member)
                    if found is None:
                        break
                    score = _aggregate(score, found * other.weight, how)
                else:
                    if card_only:
                        count += 1
                        if limit and count >= limit:
                            break
                    else:
                        result[member] = score
            if card_only:
                return count
        elif card_only:
            return 0
    elif op == UNION:
        for source in sources:
            for member, raw in source.items():
                score = _weighted(source.weight, raw)
                old = result.get(member)
                result[member] = score if old is None else _aggregate(old, score, how)
    else:
        result, maxelelen = _diff(sources)
    if dst is not None:
        return store_zset(
            c, dst, ZSetValue.from_scores(result, maxelelen), b"z%sstore" % op.encode()
        )
    ordered = sorted((s, m) for m, s in result.items())
    return scored(ordered, with_scores, c.resp)


def _diff(sources: list[_Source]) -> tuple[dict[bytes, float], int]:
    """The first set minus the others, and the longest member Redis's algorithm added."""
    first, others = sources[0], sources[1:]
    if any(o.value is first.value for o in others):
        return {}, 0
    algo_one = sum(len(first) for _ in sources) // 2
    algo_two = sum(len(s) for s in sources)
    result = {m: s for m, s in first.items() if all(o.score(m) is None for o in others)}
    if algo_one <= algo_two:
        maxelelen = max(map(len, result), default=0)
    else:  # algorithm 2 adds the whole first set, then removes
        maxelelen = max((len(m) for m, _s in first.items()), default=0)
    return result, maxelelen


@command(
    "zunion",
    arity=-3,
    flags="readonly movablekeys",
    keys=(0, 0, 0),
    group="sorted-set",
    summary="Add multiple sorted sets",
    since="6.2.0",
    complexity="O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, "
    "and M being the number of elements in the resulting sorted set.",
    acl="@read @sortedset @slow",
)
def zunion(c: Client, argv: list[bytes]) -> Reply:
    return _setop(c, argv, 1, UNION, None, False)


@command(
    "zinter",
    arity=-3,
    flags="readonly movablekeys",
    keys=(0, 0, 0),
    group="sorted-set",
    summary="Intersect multiple sorted sets",
    since="6.2.0",
    complexity="O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K "
    "being the number of input sorted sets and M being the number of elements in the "
    "resulting sorted set.",
    acl="@read @sortedset @slow",
)
def zinter(c: Client, argv: list[bytes]) -> Reply:
    return _setop(c, argv, 1, INTER, None, False)


@command(
    "zdiff",
    arity=-3,
    flags="readonly movablekeys",
    keys=(0, 0, 0),
    group="sorted-set",
    summary="Subtract multiple sorted sets",
    since="6.2.0",
    complexity="O(L + (N-K)log(N)) worst case where L is the total number of elements in all "
    "the sets, N is the size of the first set, and K is the size of the result set.",
    acl="@read @sortedset @slow",
)
def zdiff(c: Client, argv: list[bytes]) -> Reply:
    return _setop(c, argv, 1, DIFF, None, False)


@command(
    "zunionstore",
    arity=-4,
    flags="write denyoom movablekeys",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Add multiple sorted sets and store the resulting sorted set in a new key",
    since="2.0.0",
    complexity="O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, "
    "and M being the number of elements in the resulting sorted set.",
    acl="@write @sortedset @slow",
)
def zunionstore(c: Client, argv: list[bytes]) -> Reply:
    return _setop(c, argv, 2, UNION, argv[1], False)


@command(
    "zinterstore",
    arity=-4,
    flags="write denyoom movablekeys",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Intersect multiple sorted sets and store the resulting sorted set in a new key",
    since="2.0.0",
    complexity="O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K "
    "being the number of input sorted sets and M being the number of elements in the "
    "resulting sorted set.",
    acl="@write @sortedset @slow",
)
def zinterstore(c: Client, argv: list[bytes]) -> Reply:
    return _setop(c, argv, 2, INTER, argv[1], False)


@command(
    "zdiffstore",
    arity=-4,
    flags="write denyoom movablekeys",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Subtract multiple sorted sets and store the resulting sorted set in a new key",
    since="6.2.0",
    complexity="O(L + (N-K)log(N)) worst case where L is the total number of elements in all "
    "the sets, N is the size of the first set, and K is the size of the result set.",
    acl="@write @sortedset @slow",
)
def zdiffstore(c: Client, argv: list[bytes]) -> Reply:
    return _setop(c, argv, 2, DIFF, argv[1], False)


@command(
    "zintercard",
    arity=-3,
    flags="readonly movablekeys",
    keys=(0, 0, 0),
    group="sorted-set",
    summary="Intersect multiple sorted sets and return the cardinality of the result",
    since="7.0.0",
    complexity="O(N*K) worst case with N being the smallest input sorted set, K being the "
    "number of input sorted sets.",
    acl="@read @sortedset @slow",
)
def zintercard(c: Client, argv: list[bytes]) -> Reply:
    return _setop(c, argv, 1, INTER, None, True)


# --- ZRANDMEMBER, ZSCAN ------------------------------------------------------------------------------


@command(
    "zrandmember",
    arity=-2,
    flags="readonly",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Get one or multiple random elements from a sorted set",
    since="6.2.0",
    complexity="O(N) where N is the number of elements returned",
    acl="@read @sortedset @slow",
)
def zrandmember(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) == 2:
        zset = read_zset(c, argv[1])
        if not zset:
            return None
        return zset.at(random.randrange(len(zset)))[1]
    count = parse_random_count(argv[2])
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
        raise CommandError(SYNTAX)
    with_scores = len(argv) == 4
    if with_scores and not -_HALF_LONG_MAX <= count <= _HALF_LONG_MAX:
        raise CommandError("ERR value is out of range")
    zset = read_zset(c, argv[1])
    if not zset or count == 0:
        return []
    size = len(zset)
    if count < 0:
        picks = [zset.at(random.randrange(size)) for _ in range(-count)]
    elif count >= size:
        picks = list(zset.items_in_order())
    else:
        picks = [zset.at(i) for i in random.sample(range(size), count)]
    return scored(picks, with_scores, c.resp)


@command(
    "zscan",
    arity=-3,
    flags="readonly",
    keys=(1, 1, 1),
    group="sorted-set",
    summary="Incrementally iterate sorted sets elements and associated scores",
    since="2.8.0",
    complexity="O(1) for every call. O(N) for a complete iteration, including enough command "
    "calls for the cursor to return back to 0. N is the number of elements inside the "
    "collection..",
    acl="@read @sortedset @slow",
)
def zscan(c: Client, argv: list[bytes]) -> Reply:
    cursor = parse_cursor(argv[2])
    key = argv[1]
    zset = read_zset(c, key)
    if zset is None:
        return [b"0", []]
    options = parse_scan_options(argv, 3, allow_type=False)
    match = options.match
    out: list[Reply] = []
    if not zset.big:  # a listpack is returned whole, cursor 0, scores as it stores them
        for score, member in zset.items_in_order():
            if match is None or match(member):
                out += (member, listpack_score_text(score))
        return [b"0", out]
    next_cursor, members = scan_step(
        c.engine.keyspace,
        (c.db.id, key),
        cursor,
        options.count,
        lambda: list(zset),
        zset.__contains__,
    )
    for member in members:
        if match is None or match(member):
            out += (member, format_double(zset[member]))
    return [next_cursor, out]
