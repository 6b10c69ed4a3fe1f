"""The sorted set value: a dict member → score plus a ``SortedList`` of ``(score, member)``.

The dict answers ZSCORE/ZADD's "is it there, with which score" in O(1); the sorted list
(``sortedcontainers``) keeps the elements in Redis's order (score, then member bytewise,
shorter first on a common prefix: Python's ``bytes`` order is ``memcmp`` plus length, like
``sdscmp``) and gives rank, index and range in O(log n). See docs/data-types.md for why
this rather than a hand-written skiplist.

Encoding. Redis keeps a small sorted set in a listpack and converts it for good to a
skiplist when it would hold more than 128 elements or a member longer than 64 bytes.
:attr:`ZSetValue.big` records that one-way conversion (OBJECT ENCODING reports it), and
with it one visible quirk of the listpack: it stores integral scores as integers, so a
``-0`` score becomes ``0`` there while a skiplist keeps ``-0``.

Memory. ``nbytes`` is the estimate :mod:`respcache.store.values` documents; the methods
that add or remove members return the change in bytes and the caller reports it with
``Database.grow`` (a value being built outside the keyspace sets ``nbytes`` itself).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Final

from sortedcontainers import SortedList

from respcache.store.encoding import LIMITS
from respcache.store.values import CONTAINER_OVERHEAD, ZSET_MEMBER_OVERHEAD

_INF: Final = math.inf


def member_cost(member: bytes) -> int:
    """Estimated bytes one member costs in a sorted set (dict slot, tuple, list slot)."""
    return ZSET_MEMBER_OVERHEAD + (len(member) & ~15)


class ZSetValue(dict[bytes, float]):
    """A Redis sorted set. Read it as a dict (``zset[member]`` is the score); change it
    only through :meth:`insert`, :meth:`rescore` and :meth:`remove`, which keep
    :attr:`order` in step."""

    __slots__ = ("big", "nbytes", "order")
    type_name: Final = "zset"

    def __init__(self) -> None:
        super().__init__()
        self.order = SortedList()
        """``(score, member)`` tuples in Redis's order."""
        self.nbytes = CONTAINER_OVERHEAD
        self.big = False
        """True once Redis would have converted it to a skiplist (never reset)."""

    # --- building ---------------------------------------------------------------------

    @classmethod
    def from_scores(cls, scores: dict[bytes, float], maxelelen: int | None = None) -> ZSetValue:
        """A sorted set built the way ZUNIONSTORE & co. build theirs: as a skiplist, then
        converted to a listpack when small enough (``maxelelen``: the longest member Redis
        considered, by default the longest kept)."""
        zset = cls()
        if maxelelen is None:
            maxelelen = max(map(len, scores), default=0)
        zset.big = (
            len(scores) > LIMITS.zset_max_listpack_entries
            or maxelelen > LIMITS.zset_max_listpack_value
        )
        if zset.big:
            dict.update(zset, scores)
            zset.order = SortedList((s, m) for m, s in scores.items())
        else:
            normal = {m: s + 0.0 for m, s in scores.items()}  # -0 → 0, as a listpack stores it
            dict.update(zset, normal)
            zset.order = SortedList((s, m) for m, s in normal.items())
        zset.nbytes = CONTAINER_OVERHEAD + sum(member_cost(m) for m in scores)
        return zset

    def clone(self) -> ZSetValue:
        """An independent copy (COPY), same encoding and memory estimate."""
        twin = ZSetValue()
        dict.update(twin, self)
        twin.order = self.order.copy()
        twin.big = self.big
        twin.nbytes = self.nbytes
        return twin

    # --- changes (each returns the change in estimated bytes) ---------------------------

    def insert(self, member: bytes, score: float) -> int:
        """Add a member that is not there yet."""
        if not self.big and (
            len(self) >= LIMITS.zset_max_listpack_entries
            or len(member) > LIMITS.zset_max_listpack_value
        ):
            self.big = True
        if not self.big:
            score += 0.0
        dict.__setitem__(self, member, score)
        self.order.add((score, member))
        return member_cost(member)

    def rescore(self, member: bytes, score: float) -> None:
        """Give an existing member a new score."""
        old = dict.__getitem__(self, member)
        if not self.big:
            score += 0.0
        self.order.remove((old, member))
        dict.__setitem__(self, member, score)
        self.order.add((score, member))

    def remove(self, member: bytes) -> int:
        """Remove a member; 0 when it was not there."""
        score = dict.pop(self, member, None)
        if score is None:
            return 0
        self.order.remove((score, member))
        return -member_cost(member)

    def pop_at(self, index: int) -> tuple[float, bytes]:
        """Remove and return the element at ``index`` (0: lowest, -1: highest)."""
        score, member = self.order.pop(index)
        dict.__delitem__(self, member)
        return score, member

    def remove_span(self, start: int, stop: int) -> tuple[int, int]:
        """Remove the elements at indices ``start..stop-1``: (count, change in bytes)."""
        if stop <= start:
            return 0, 0
        doomed = self.order[start:stop]
        del self.order[start:stop]
        delta = 0
        for _score, member in doomed:
            dict.__delitem__(self, member)
            delta -= member_cost(member)
        return len(doomed), delta

    # --- reading ------------------------------------------------------------------------

    def rank(self, member: bytes) -> int | None:
        """0-based rank in ascending order, None if absent."""
        score = self.get(member)
        if score is None:
            return None
        index: int = self.order.index((score, member))
        return index

    def at(self, index: int) -> tuple[float, bytes]:
        item: tuple[float, bytes] = self.order[index]
        return item

    def span(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        """Elements at indices ``start..stop-1`` in ascending order."""
        items: list[tuple[float, bytes]] = self.order[start:stop]
        return items

    def iter_span(
        self, start: int, stop: int, reverse: bool = False
    ) -> Iterator[tuple[float, bytes]]:
        it: Iterator[tuple[float, bytes]] = self.order.islice(start, stop, reverse=reverse)
        return it

    def items_in_order(self) -> Iterable[tuple[float, bytes]]:
        it: Iterable[tuple[float, bytes]] = self.order
        return it

    # --- score ranges: index boundaries -----------------------------------------------------

    def index_ge(self, score: float) -> int:
        """Index of the first element with a score >= ``score``."""
        index: int = self.order.bisect_left((score,))
        return index

    def index_gt(self, score: float) -> int:
        """Index of the first element with a score > ``score``."""
        if score == _INF:
            return len(self.order)
        index: int = self.order.bisect_left((math.nextafter(score, _INF),))
        return index

    def score_span(self, low: float, low_ex: bool, high: float, high_ex: bool) -> tuple[int, int]:
        """Indices ``start, stop`` of the elements with a score in the range (maybe empty)."""
        start = self.index_gt(low) if low_ex else self.index_ge(low)
        stop = self.index_ge(high) if high_ex else self.index_gt(high)
        return start, max(start, stop)

    # --- lexicographic ranges ---------------------------------------------------------------

    def single_score(self) -> bool:
        """Do all elements share one score (the case lex ranges are meant for)?"""
        order = self.order
        return bool(order) and order[0][0] == order[-1][0]

    def member_index(self, member: bytes, after: bool) -> int:
        """For a single-score set: index of the first member >= (or > if ``after``) ``member``."""
        key = (self.order[0][0], member)
        index: int = self.order.bisect_right(key) if after else self.order.bisect_left(key)
        return index


# --- flat form (replication snapshots) ------------------------------------------------------


def zset_elements(value: object) -> Iterator[bytes]:
    """A sorted set as ``member, score, member, score...`` (scores as ``repr``: exact,
    ``-0.0``, ``inf``), lowest first."""
    assert isinstance(value, ZSetValue)
    for score, member in value.order:
        yield member
        yield repr(score).encode()


def zset_extend(value: object, items: list[bytes]) -> None:
    """Add ``member, score...`` pairs made by :func:`zset_elements` to a sorted set being
    rebuilt outside the keyspace (``nbytes`` is the caller's business)."""
    assert isinstance(value, ZSetValue)
    if len(items) % 2:
        raise ValueError("sorted set elements come in member, score pairs")
    for member, score in zip(items[::2], items[1::2], strict=True):
        if member in value:
            value.rescore(member, float(score))
        else:
            value.insert(member, float(score))
