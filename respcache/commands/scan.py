"""Glob patterns and cursors: what KEYS, SCAN, HSCAN, SSCAN and ZSCAN share.

Glob patterns
-------------
:func:`glob_matcher` compiles a pattern with the rules of Redis's ``stringmatchlen``
(``*``, ``?``, ``[a-z]``, ``[^x]``, ``\\`` escapes, byte-wise, case-sensitive unless
``nocase``) into a predicate. The pattern becomes one ``re`` expression, so matching
a million keys runs in C; each ``*`` before a fixed-width segment is an atomic group
(``(?>.*?seg)``), which commits to the segment's first occurrence, so no pattern
backtracks exponentially (the same effect as Redis's ``skipLongerMatches``). Redis's
quirks are kept: a class left open runs to the end of the pattern, ``[a-]`` is the range
``a``..``]``, ranges may be reversed, ``*`` never matches an empty string on its own,
and a pattern with more than 1000 inner ``*`` never matches (its recursion limit).

Cursors
-------
Redis walks its hash table's buckets in reverse-binary order, an order that survives
rehashing. A Python dict has no such order we can resume from, so a cursor here names
a *snapshot*:

* The first call (cursor 0) copies the element names of the collection (for SCAN, the
  keys of the selected db) into a list: ``list(dict.keys(...))``, a C-speed copy of
  references (about 20 ms and 8 MB per million keys), and returns its first batch.
* Every call returns the next elements of the snapshot that are still alive (for SCAN:
  still present and not expired; dead ones are skipped, at most ``10 * COUNT`` of them
  per call, as Redis visits at most ``10 * COUNT`` empty buckets). The cursor returned
  is ``snapshot id << 32 | position``, so repeating a call with the same cursor (a
  client retrying after a timeout) returns the same batch again.
* Guarantees: an element present from the first call to the last is returned (it is in
  the snapshot and alive when its turn comes); within one snapshot nothing is returned
  twice. Elements added during the scan are not returned (Redis: "may or may not be").
* Memory is bounded: the table of snapshots (:class:`CursorTable`, one per keyspace)
  holds at most :data:`MAX_ELEMENTS` references in total, but always keeps the
  :data:`MIN_KEPT` most recently used snapshots; beyond that the least recently used
  is dropped. A finished scan drops its snapshot at once, and a collection that fits in
  one batch never gets one. The references are not counted in ``used_memory``.
* A cursor the table does not know (its snapshot was dropped, it comes from before a
  restart or from another node, or it was made up) starts the scan over with a fresh
  snapshot: elements may then be returned again (Redis allows duplicates), none is
  missed. With more than :data:`MIN_KEPT` huge scans running at once, each of them
  could keep restarting; size :data:`MAX_ELEMENTS` for the concurrency you expect.
"""

from __future__ import annotations

import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Final

from respcache.commands.args import parse_int
from respcache.errors import SYNTAX, CommandError
from respcache.store.keyspace import Keyspace

MAX_ELEMENTS: Final = 4 * 1024 * 1024
"""References kept in snapshots across all running scans of a keyspace (8 bytes each)."""
MIN_KEPT: Final = 8
"""Snapshots always kept, however large, so a few full scans never evict each other."""
GLOB_NESTING_LIMIT: Final = 1000
"""Redis gives up (no match) past this many nested ``*``."""

INVALID_CURSOR: Final = "ERR invalid cursor"
_ULONG_MAX: Final = 2**64 - 1

# --- glob patterns -----------------------------------------------------------------------

Matcher = Callable[[bytes], bool]


def _lower(c: int) -> int:
    """C's ``tolower`` in the C locale: ASCII letters only."""
    return c + 32 if 65 <= c <= 90 else c


def _class_regex(allowed: set[int]) -> bytes:
    """A regex matching exactly one byte from ``allowed``."""
    if not allowed:
        return b"(?!)"
    if len(allowed) == 256:
        return b"."
    parts: list[bytes] = []
    values = sorted(allowed)
    start = prev = values[0]
    for v in [*values[1:], -1]:
        if v == prev + 1:
            prev = v
            continue
        parts.append(b"\\x%02x" % start if start == prev else b"\\x%02x-\\x%02x" % (start, prev))
        start = prev = v
    return b"[" + b"".join(parts) + b"]"


def _literal(c: int, nocase: bool) -> set[int]:
    if not nocase:
        return {c}
    return {b for b in range(256) if _lower(b) == _lower(c)}


def _tokens(p: bytes, nocase: bool) -> list[bytes | None]:
    """The pattern as one-byte regex fragments, ``None`` standing for ``*``.

    A transcription of the parsing half of ``stringmatchlen``: how far each token
    reaches does not depend on the string, only whether it matches.
    """
    out: list[bytes | None] = []
    n = len(p)
    i = 0
    while i < n:
        c = p[i]
        if c == 0x2A:  # '*'
            while i + 1 < n and p[i + 1] == 0x2A:
                i += 1
            out.append(None)
        elif c == 0x3F:  # '?'
            out.append(b".")
        elif c == 0x5B:  # '['
            i += 1
            negate = i < n and p[i] == 0x5E
            if negate:
                i += 1
            allowed: set[int] = set()
            while True:
                if i < n and p[i] == 0x5C and n - i >= 2:  # escaped: exact, even nocase
                    i += 1
                    allowed.add(p[i])
                elif i < n and p[i] == 0x5D:  # ']'
                    break
                elif i >= n:  # unterminated: the class runs to the end of the pattern
                    i -= 1
                    break
                elif n - i >= 3 and p[i + 1] == 0x2D:  # range (may swallow a ']')
                    lo, hi = sorted((p[i], p[i + 2]))
                    if nocase:
                        lo, hi = _lower(lo), _lower(hi)
                        allowed.update(b for b in range(256) if lo <= _lower(b) <= hi)
                    else:
                        allowed.update(range(lo, hi + 1))
                    i += 2
                else:
                    allowed |= _literal(p[i], nocase)
                i += 1
            if negate:
                allowed = set(range(256)) - allowed
            out.append(_class_regex(allowed))
        else:
            if c == 0x5C and n - i >= 2:  # '\x' is x
                i += 1
                c = p[i]
            out.append(_class_regex(_literal(c, nocase)))
        i += 1
    return out


def _compile(pattern: bytes, nocase: bool) -> Matcher:
    if not pattern:
        return lambda s: not s
    special = any(ch in pattern for ch in b"*?[\\")
    if not special and not nocase:
        return lambda s: s == pattern
    body = pattern[:-1]
    if pattern.endswith(b"*") and not nocase and body and not any(ch in body for ch in b"*?[\\"):
        return lambda s: s.startswith(body)
    tokens = _tokens(pattern, nocase)
    stars = tokens.count(None) - (1 if tokens[-1] is None else 0)
    if stars > GLOB_NESTING_LIMIT:
        return lambda s: False
    # Split into fixed-width segments between the stars.
    segments: list[list[bytes]] = [[]]
    for tok in tokens:
        if tok is None:
            segments.append([])
        else:
            segments[-1].append(tok)
    regex = b"".join(segments[0])
    if len(segments) > 1:
        for middle in segments[1:-1]:
            if middle:
                regex += b"(?>.*?" + b"".join(middle) + b")"
        last = segments[-1]
        regex += b".*" + b"".join(last)
    compiled = re.compile(regex, re.DOTALL)
    fullmatch = compiled.fullmatch
    # An empty string only matches an empty pattern (Redis never enters its loop).
    return lambda s: bool(s) and fullmatch(s) is not None


_MATCHERS: OrderedDict[tuple[bytes, bool], Matcher] = OrderedDict()
_MATCHERS_MAX: Final = 256


def glob_matcher(pattern: bytes, nocase: bool = False) -> Matcher:
    """A predicate telling whether a string matches ``pattern`` (cached per pattern)."""
    entry = (pattern, nocase)
    matcher = _MATCHERS.get(entry)
    if matcher is None:
        matcher = _MATCHERS[entry] = _compile(pattern, nocase)
        if len(_MATCHERS) > _MATCHERS_MAX:
            _MATCHERS.popitem(last=False)
    else:
        _MATCHERS.move_to_end(entry)
    return matcher


def glob_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """Redis's ``stringmatchlen(pattern, string, nocase)``."""
    return glob_matcher(pattern, nocase)(string)


# --- arguments ---------------------------------------------------------------------------


def parse_cursor(arg: bytes) -> int:
    """A cursor as Redis reads it with ``strtoul``: sign allowed, ``-1`` wraps, "" is 0.

    ``strtoul`` reads a C string: a NUL byte ends the cursor (``"7\\0x"`` is 7, and
    ``"\\0…"`` is 0), as redis-server answers.
    """
    text = arg.split(b"\0", 1)[0]
    if text and text[:1] in b" \t\n\v\f\r":
        raise CommandError(INVALID_CURSOR)
    negative = text[:1] == b"-"
    if text[:1] in (b"-", b"+"):
        text = text[1:]
        if not text:
            raise CommandError(INVALID_CURSOR)
    if not text:
        return 0
    if not text.isdigit():
        raise CommandError(INVALID_CURSOR)
    value = int(text)
    if value > _ULONG_MAX:
        raise CommandError(INVALID_CURSOR)
    return (-value) & _ULONG_MAX if negative else value


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """COUNT, MATCH and TYPE of a SCAN-family command."""

    count: int = 10
    match: Matcher | None = None
    """None when there is no pattern, or it is exactly ``*`` (Redis skips matching then)."""
    type: bytes | None = None
    """Lower-cased TYPE argument (SCAN only)."""


def parse_scan_options(argv: list[bytes], start: int, allow_type: bool) -> ScanOptions:
    """Parse ``[MATCH pattern] [COUNT n] [TYPE t]`` from ``argv[start:]`` as Redis does."""
    count = 10
    match: Matcher | None = None
    type_name: bytes | None = None
    i = start
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        more = n - i - 1
        if opt == b"count" and more >= 1:
            count = parse_int(argv[i + 1])
            if count < 1:
                raise CommandError(SYNTAX)
        elif opt == b"match" and more >= 1:
            pattern = argv[i + 1]
            match = None if pattern == b"*" else glob_matcher(pattern)
        elif opt == b"type" and allow_type and more >= 1:
            type_name = argv[i + 1].lower()
        else:
            raise CommandError(SYNTAX)
        i += 2
    return ScanOptions(count, match, type_name)


# --- cursors -----------------------------------------------------------------------------


class _Snapshot:
    __slots__ = ("elements", "owner")

    def __init__(self, owner: Hashable, elements: list[bytes]) -> None:
        self.owner = owner
        self.elements = elements


class CursorTable:
    """The snapshots of the scans in progress on one keyspace (see the module docstring)."""

    __slots__ = ("_next_id", "_snapshots", "max_elements", "min_kept", "total")

    def __init__(self, max_elements: int = MAX_ELEMENTS, min_kept: int = MIN_KEPT) -> None:
        self.max_elements = max_elements
        self.min_kept = min_kept
        self._snapshots: OrderedDict[int, _Snapshot] = OrderedDict()
        self._next_id = 0
        self.total = 0
        """References held by all snapshots."""

    def __len__(self) -> int:
        return len(self._snapshots)

    def step(
        self,
        owner: Hashable,
        cursor: int,
        snapshot: Callable[[], list[bytes]],
        alive: Callable[[bytes], bool],
        count: int,
    ) -> tuple[int, list[bytes]]:
        """One SCAN call: up to ``count`` live elements and the next cursor (0: done).

        ``owner`` names the collection (``(db index,)`` for SCAN, ``(db index, key)``
        for HSCAN...): a cursor from another collection starts over. ``snapshot`` lists
        the collection's element names now; ``alive`` tells whether one still exists.
        """
        snap_id = cursor >> 32
        pos = cursor & 0xFFFFFFFF
        snap = self._snapshots.get(snap_id) if cursor else None
        if snap is None or snap.owner != owner or pos > len(snap.elements):
            elements = snapshot()
            pos = 0
            snap = None
        else:
            self._snapshots.move_to_end(snap_id)
            elements = snap.elements
        out: list[bytes] = []
        size = len(elements)
        skip_budget = 10 * count
        while pos < size and len(out) < count and skip_budget > 0:
            chunk = elements[pos : pos + count - len(out)]
            pos += len(chunk)
            live = [element for element in chunk if alive(element)]
            skip_budget -= len(chunk) - len(live)
            out += live
        if pos >= size:
            if snap is not None:
                self._drop(snap_id)
            return 0, out
        if snap is None:
            snap_id = self._add(owner, elements)
        return snap_id << 32 | pos, out

    def _add(self, owner: Hashable, elements: list[bytes]) -> int:
        self._next_id = self._next_id % 0x7FFFFFFF + 1
        snap_id = self._next_id
        if snap_id in self._snapshots:
            self._drop(snap_id)
        self._snapshots[snap_id] = _Snapshot(owner, elements)
        self.total += len(elements)
        while self.total > self.max_elements and len(self._snapshots) > self.min_kept:
            oldest = next(iter(self._snapshots))
            self._drop(oldest)
        return snap_id

    def _drop(self, snap_id: int) -> None:
        snap = self._snapshots.pop(snap_id)
        self.total -= len(snap.elements)

    def clear(self) -> None:
        self._snapshots.clear()
        self.total = 0


_TABLES: weakref.WeakKeyDictionary[Keyspace, CursorTable] = weakref.WeakKeyDictionary()


def cursor_table(ks: Keyspace) -> CursorTable:
    """The cursor table of a keyspace (created on first use, gone with the keyspace)."""
    table = _TABLES.get(ks)
    if table is None:
        table = _TABLES[ks] = CursorTable()
    return table


def scan_step(
    ks: Keyspace,
    owner: Hashable,
    cursor: int,
    count: int,
    snapshot: Callable[[], list[bytes]],
    alive: Callable[[bytes], bool],
) -> tuple[bytes, list[bytes]]:
    """One step on the keyspace's cursor table; the next cursor comes back as a reply.

    HSCAN/SSCAN/ZSCAN use it like SCAN: parse the cursor first (:func:`parse_cursor`,
    Redis checks it before the key and the options), then ``owner=(db.id, key)``,
    ``snapshot=lambda: list(dict.keys(value))`` (or ``list(value)``),
    ``alive=value.__contains__``; filter the elements with ``options.match`` and build
    the reply ``[cursor, [...]]``.
    """
    next_cursor, elements = cursor_table(ks).step(owner, cursor, snapshot, alive, count)
    return b"%d" % next_cursor, elements
