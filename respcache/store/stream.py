"""The stream value: Redis 7.0's node structure, consumer groups and pending entries.

Follows Redis 7.0.15 ``src/t_stream.c`` and ``src/stream.h``. Redis keeps a stream as
a radix tree of listpacks ("nodes"); the structure is visible to clients in three
places, so it is reproduced here exactly:

* approximate trimming (``MAXLEN ~`` / ``MINID ~``) removes only whole nodes, so the
  number of entries it removes depends on where nodes begin;
* a node is closed when it holds ``stream-node-max-entries`` entries (live and
  deleted) or when its listpack would reach ``stream-node-max-bytes``; the byte size
  is computed with the listpack's own encoding rules (``src/listpack.c``: integers
  stored in 1 to 9 bytes, strings with a 1, 2 or 5 byte header, a back-length of
  1 to 5 bytes per element), including the master entry and the delta-encoded IDs;
* deleting (``XDEL``, exact trimming) only marks an entry deleted inside its node,
  which still counts towards the node's size; a node whose every entry was deleted
  by XDEL goes away (``streamIteratorRemoveEntry``).

Internals (what a serializer needs; ``persistence/rdb.py`` may read them):

* An ID is one ``int``: ``ms << 64 | seq`` (:func:`make_id`, :func:`id_parts`).
* :attr:`StreamValue.nodes` is a list of :class:`StreamNode` in ID order, and
  :attr:`StreamValue.heads` the master IDs (``nodes[i].master``) for bisection. A
  node keeps ``ids`` (every entry it ever took, deleted ones included), ``items``
  (the flat ``field, value, ...`` tuple of each entry, ``None`` once deleted),
  ``fields`` (the master entry's field names), ``count`` (live entries) and
  ``deleted`` (entries marked deleted).
* The stream's metadata: ``length``, ``last_id``, ``first_id`` (Redis's
  ``recorded-first-entry-id``), ``max_deleted_id``, ``entries_added``.
* ``groups``: name → :class:`ConsumerGroup` (``last_id``, ``entries_read`` with
  ``-1`` for "invalid", ``pel``, ``consumers``); a :class:`Nack` (delivery time in
  unix ms, delivery count, owning :class:`Consumer`) is shared by the group's PEL
  and its consumer's PEL, as in Redis. Groups and consumers are listed in bytewise
  name order (a rax's order).

Memory: ``nbytes`` is an estimate of what the Python objects cost, kept up to date
by every method that changes the value (the command layer reports the difference
to the keyspace with ``Database.grow``). No asyncio, no config: the node limits are
arguments.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from typing import Final

from respcache.store.values import BYTES_OVERHEAD, CONTAINER_OVERHEAD

MASK64: Final = (1 << 64) - 1
MAX_ID: Final = (1 << 128) - 1
LISTPACK_MAX_SIZE: Final = 1 << 30
"""STREAM_LISTPACK_MAX_SIZE: a node's bytes limit when the setting is 0 or larger."""
INVALID_ENTRIES_READ: Final = -1
"""SCG_INVALID_ENTRIES_READ."""

# Memory estimate (bytes of Python objects; same spirit as store/values.py).
NODE_OVERHEAD: Final = 240
ENTRY_OVERHEAD: Final = 120
GROUP_OVERHEAD: Final = 600
CONSUMER_OVERHEAD: Final = 400
NACK_OVERHEAD: Final = 260

_LP_HEADER: Final = 7
"""LP_HDR_SIZE (6) plus the end-of-listpack byte."""


def make_id(ms: int, seq: int) -> int:
    return ms << 64 | seq


def id_parts(sid: int) -> tuple[int, int]:
    return sid >> 64, sid & MASK64


def format_id(sid: int) -> bytes:
    return b"%d-%d" % (sid >> 64, sid & MASK64)


# --- listpack sizes (src/listpack.c) ---------------------------------------------------


def _backlen(size: int) -> int:
    if size <= 127:
        return 1
    if size < 16383:
        return 2
    if size < 2097151:
        return 3
    if size < 268435455:
        return 4
    return 5


def lp_int_size(v: int) -> int:
    """Bytes a listpack element holding the integer ``v`` takes (encoding + back-length)."""
    if 0 <= v <= 127:
        n = 1
    elif -4096 <= v <= 4095:
        n = 2
    elif -32768 <= v <= 32767:
        n = 3
    elif -8388608 <= v <= 8388607:
        n = 4
    elif -2147483648 <= v <= 2147483647:
        n = 5
    else:
        n = 9
    return n + _backlen(n)


def _lp_string_int(s: bytes) -> int | None:
    """lpStringToInt64: the integer a string is stored as, or None."""
    n = len(s)
    if n == 0 or n >= 21:
        return None
    if s == b"0":
        return 0
    body = s[1:] if s[:1] == b"-" else s
    if not body or not body.isdigit() or body[:1] == b"0" or not body.isascii():
        return None
    v = int(s)
    if v > (1 << 63) - 1 or v < -(1 << 63):
        return None
    return v


def lp_str_size(s: bytes) -> int:
    """Bytes a listpack element holding ``s`` takes (integers are stored as integers)."""
    v = _lp_string_int(s)
    if v is not None:
        return lp_int_size(v)
    n = len(s)
    enc = 1 + n if n < 64 else (2 + n if n < 4096 else 5 + n)
    return enc + _backlen(enc)


def _signed64(v: int) -> int:
    v &= MASK64
    return v - (1 << 64) if v >= 1 << 63 else v


def _bytes_cost(data: bytes) -> int:
    return BYTES_OVERHEAD + (len(data) & ~15)


# --- nodes -----------------------------------------------------------------------------


class StreamNode:
    """One listpack of the radix tree: a master entry and the entries after it."""

    __slots__ = ("base", "count", "deleted", "fields", "ids", "items", "master")

    def __init__(self, master: int, fields: tuple[bytes, ...]) -> None:
        self.master = master
        self.fields = fields
        self.ids: list[int] = []
        self.items: list[tuple[bytes, ...] | None] = []
        self.count = 0
        self.deleted = 0
        # Listpack bytes without the count/deleted integers (their size changes).
        self.base = (
            _LP_HEADER
            + lp_int_size(len(fields))
            + sum(lp_str_size(f) for f in fields)
            + lp_int_size(0)
        )

    def lp_bytes(self) -> int:
        return self.base + lp_int_size(self.count) + lp_int_size(self.deleted)

    def last_id(self) -> int:
        """The last entry's ID, deleted or not (lpGetEdgeStreamID)."""
        return self.ids[-1]


class Consumer:
    __slots__ = ("name", "pel", "seen_time")

    def __init__(self, name: bytes, now_ms: int) -> None:
        self.name = name
        self.seen_time = now_ms
        self.pel = Pel()


class Nack:
    """A pending entry: shared by the group's PEL and its consumer's PEL."""

    __slots__ = ("consumer", "delivery_count", "delivery_time")

    def __init__(self, consumer: Consumer | None, now_ms: int) -> None:
        self.consumer = consumer
        self.delivery_time = now_ms
        self.delivery_count = 1


class Pel:
    """Pending entries by ID, iterable in ID order (a rax keyed by the encoded ID)."""

    __slots__ = ("by_id", "order")

    def __init__(self) -> None:
        self.by_id: dict[int, Nack] = {}
        self.order: list[int] = []

    def __len__(self) -> int:
        return len(self.by_id)

    def __contains__(self, sid: int) -> bool:
        return sid in self.by_id

    def get(self, sid: int) -> Nack | None:
        return self.by_id.get(sid)

    def add(self, sid: int, nack: Nack) -> None:
        self.by_id[sid] = nack
        order = self.order
        if not order or order[-1] < sid:
            order.append(sid)
        else:
            insort(order, sid)

    def remove(self, sid: int) -> None:
        if self.by_id.pop(sid, None) is not None:
            order = self.order
            del order[bisect_left(order, sid)]

    def from_id(self, start: int) -> Iterator[int]:
        """IDs >= start in order (a snapshot: safe to change the PEL while iterating)."""
        order = self.order
        return iter(order[bisect_left(order, start) :])

    def first(self) -> int:
        return self.order[0]

    def last(self) -> int:
        return self.order[-1]


class ConsumerGroup:
    __slots__ = ("consumers", "entries_read", "last_id", "name", "pel")

    def __init__(self, name: bytes, last_id: int, entries_read: int) -> None:
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel = Pel()
        self.consumers: dict[bytes, Consumer] = {}

    def sorted_consumers(self) -> list[Consumer]:
        return [self.consumers[n] for n in sorted(self.consumers)]


# --- the stream ------------------------------------------------------------------------


class StreamGroups:
    """The consumer groups of a stream: groups, consumers and their PELs, with the memory
    accounting each change costs (t_stream.c streamCreateCG, streamDelConsumer, ...).

    A base of :class:`StreamValue`, apart from the entry log it reads nothing of.
    """

    __slots__ = ("groups", "nbytes")
    groups: dict[bytes, ConsumerGroup]
    nbytes: int

    def create_group(self, name: bytes, last_id: int, entries_read: int) -> ConsumerGroup | None:
        if name in self.groups:
            return None
        group = self.groups[name] = ConsumerGroup(name, last_id, entries_read)
        self.nbytes += GROUP_OVERHEAD + _bytes_cost(name)
        return group

    def destroy_group(self, name: bytes) -> bool:
        group = self.groups.pop(name, None)
        if group is None:
            return False
        cost = GROUP_OVERHEAD + _bytes_cost(name) + NACK_OVERHEAD * len(group.pel)
        for consumer in group.consumers.values():
            cost += CONSUMER_OVERHEAD + _bytes_cost(consumer.name)
        self.nbytes -= cost
        return True

    def sorted_groups(self) -> list[ConsumerGroup]:
        return [self.groups[n] for n in sorted(self.groups)]

    def create_consumer(self, group: ConsumerGroup, name: bytes, now_ms: int) -> Consumer | None:
        if name in group.consumers:
            return None
        consumer = group.consumers[name] = Consumer(name, now_ms)
        self.nbytes += CONSUMER_OVERHEAD + _bytes_cost(name)
        return consumer

    def delete_consumer(self, group: ConsumerGroup, consumer: Consumer) -> int:
        """streamDelConsumer: its pending entries leave the group's PEL; their count."""
        pending = len(consumer.pel)
        for sid in consumer.pel.order:
            group.pel.remove(sid)
        del group.consumers[consumer.name]
        self.nbytes -= CONSUMER_OVERHEAD + _bytes_cost(consumer.name) + NACK_OVERHEAD * pending
        return pending

    def add_pending(self, group: ConsumerGroup, sid: int, nack: Nack) -> None:
        """A new NACK in the group's PEL (and its consumer's, when it has one)."""
        group.pel.add(sid, nack)
        if nack.consumer is not None:
            nack.consumer.pel.add(sid, nack)
        self.nbytes += NACK_OVERHEAD

    def remove_pending(self, group: ConsumerGroup, sid: int) -> bool:
        nack = group.pel.get(sid)
        if nack is None:
            return False
        group.pel.remove(sid)
        if nack.consumer is not None:
            nack.consumer.pel.remove(sid)
        self.nbytes -= NACK_OVERHEAD
        return True

    @staticmethod
    def move_pending(sid: int, nack: Nack, consumer: Consumer) -> None:
        """Give a pending entry to another consumer (same NACK object)."""
        if nack.consumer is consumer:
            return
        if nack.consumer is not None:
            nack.consumer.pel.remove(sid)
        consumer.pel.add(sid, nack)
        nack.consumer = consumer



class StreamValue(StreamGroups):
    """A Redis stream (see the module docstring for its internals)."""

    __slots__ = (
        "entries_added",
        "first_id",
        "heads",
        "last_id",
        "length",
        "max_deleted_id",
        "nodes",
    )
    type_name: Final = "stream"

    def __init__(self) -> None:
        self.nodes: list[StreamNode] = []
        self.heads: list[int] = []
        self.length = 0
        self.last_id = 0
        self.first_id = 0
        self.max_deleted_id = 0
        self.entries_added = 0
        self.groups: dict[bytes, ConsumerGroup] = {}
        self.nbytes = CONTAINER_OVERHEAD

    def __len__(self) -> int:
        return self.length

    # --- adding ------------------------------------------------------------------

    def append(self, sid: int, pairs: list[bytes], max_bytes: int, max_entries: int) -> None:
        """Add an entry with ID ``sid`` (already checked greater than ``last_id``).

        ``pairs`` is the flat ``field, value, ...`` list. Exactly streamAppendItem's
        choice of node: a new node when the tail's listpack bytes plus the raw
        lengths of the new fields and values reach ``max_bytes``, or its entries
        (live and deleted) reach ``max_entries``.
        """
        numfields = len(pairs) // 2
        node = self.nodes[-1] if self.nodes else None
        if node is not None:
            limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
            totelelen = sum(len(p) for p in pairs)
            if node.lp_bytes() + totelelen >= limit or (
                max_entries and node.count + node.deleted >= max_entries
            ):
                node = None
        fields = tuple(pairs[0::2])
        if node is None:
            node = StreamNode(sid, fields)
            self.nodes.append(node)
            self.heads.append(sid)
            self.nbytes += NODE_OVERHEAD + sum(_bytes_cost(f) for f in fields)
            same = True
        else:
            same = fields == node.fields
        master_ms, master_seq = id_parts(node.master)
        ms, seq = id_parts(sid)
        size = 2 + lp_int_size(ms - master_ms) + lp_int_size(_signed64(seq - master_seq))
        values = pairs[1::2]
        if same:
            size += sum(lp_str_size(v) for v in values)
            lp_count = numfields + 3
            item = tuple(x for pair in zip(node.fields, values, strict=True) for x in pair)
            cost = sum(_bytes_cost(v) for v in values)
        else:
            size += lp_int_size(numfields) + sum(lp_str_size(p) for p in pairs)
            lp_count = 2 * numfields + 4
            item = tuple(pairs)
            cost = sum(_bytes_cost(p) for p in pairs)
        size += lp_int_size(lp_count)
        node.base += size
        node.ids.append(sid)
        node.items.append(item)
        node.count += 1
        self.nbytes += ENTRY_OVERHEAD + 8 * len(item) + cost
        self.length += 1
        self.entries_added += 1
        self.last_id = sid
        if self.length == 1:
            self.first_id = sid

    # --- reading -----------------------------------------------------------------

    def range(
        self, start: int, end: int, rev: bool = False
    ) -> Iterator[tuple[int, tuple[bytes, ...]]]:
        """Live entries with start <= ID <= end, in order (reversed with ``rev``).

        The iterator must be consumed before the stream changes.
        """
        if start > end or not self.nodes:
            return
        heads = self.heads
        nodes = self.nodes
        first = max(bisect_right(heads, start) - 1, 0)
        last = bisect_right(heads, end) - 1
        if last < 0:
            return
        if not rev:
            for i in range(first, last + 1):
                node = nodes[i]
                ids = node.ids
                items = node.items
                j = bisect_left(ids, start) if i == first else 0
                n = len(ids)
                while j < n:
                    sid = ids[j]
                    if sid > end:
                        return
                    item = items[j]
                    if item is not None:
                        yield sid, item
                    j += 1
        else:
            for i in range(last, first - 1, -1):
                node = nodes[i]
                ids = node.ids
                items = node.items
                j = bisect_right(ids, end) - 1 if i == last else len(ids) - 1
                while j >= 0:
                    sid = ids[j]
                    if sid < start:
                        return
                    item = items[j]
                    if item is not None:
                        yield sid, item
                    j -= 1

    def get(self, sid: int) -> tuple[bytes, ...] | None:
        """The fields of a live entry, or None."""
        found = self._locate(sid)
        if found is None:
            return None
        node, j = found
        return node.items[j]

    def exists(self, sid: int) -> bool:
        return self.get(sid) is not None

    def first_entry(self) -> tuple[int, tuple[bytes, ...]] | None:
        return next(self.range(0, MAX_ID), None)

    def last_entry(self) -> tuple[int, tuple[bytes, ...]] | None:
        return next(self.range(0, MAX_ID, rev=True), None)

    def last_valid_id(self) -> int:
        """streamLastValidID: the last live entry's ID (0 when empty)."""
        entry = self.last_entry()
        return 0 if entry is None else entry[0]

    def _first_edge(self) -> int:
        """streamGetEdgeID(first, skip_tombstones): the first live ID, or MAX_ID."""
        entry = self.first_entry()
        return MAX_ID if entry is None else entry[0]

    def _locate(self, sid: int) -> tuple[StreamNode, int] | None:
        i = bisect_right(self.heads, sid) - 1
        if i < 0:
            return None
        node = self.nodes[i]
        j = bisect_left(node.ids, sid)
        if j < len(node.ids) and node.ids[j] == sid and node.items[j] is not None:
            return node, j
        return None

    # --- deleting ----------------------------------------------------------------

    def delete(self, sid: int) -> bool:
        """XDEL one ID (streamDeleteItem): mark it deleted; drop a node left empty."""
        found = self._locate(sid)
        if found is None:
            return False
        node, j = found
        item = node.items[j]
        assert item is not None
        if node.count == 1:
            self._drop_node(bisect_left(self.heads, node.master))
        else:
            self.nbytes -= self._item_cost(node, item)
            node.items[j] = None
            node.count -= 1
            node.deleted += 1
        self.length -= 1
        return True

    def after_delete(self, deleted_first: bool) -> None:
        """XDEL's bookkeeping of the recorded first ID once its deletions are done."""
        if self.length == 0:
            self.first_id = 0
        elif deleted_first:
            self.first_id = self._first_edge()

    def _item_cost(self, node: StreamNode, item: tuple[bytes, ...]) -> int:
        if len(item) == 2 * len(node.fields) and item[0::2] == node.fields:
            cost = sum(_bytes_cost(v) for v in item[1::2])
        else:
            cost = sum(_bytes_cost(p) for p in item)
        return ENTRY_OVERHEAD + 8 * len(item) + cost

    def _drop_node(self, i: int) -> int:
        """Remove node ``i``; the number of live entries it held."""
        node = self.nodes.pop(i)
        del self.heads[i]
        cost = NODE_OVERHEAD + sum(_bytes_cost(f) for f in node.fields)
        for item in node.items:
            if item is not None:
                cost += self._item_cost(node, item)
        self.nbytes -= cost
        return node.count

    def trim(
        self,
        maxlen: int | None = None,
        minid: int | None = None,
        approx: bool = False,
        limit: int = 0,
    ) -> int:
        """streamTrim by MAXLEN or MINID (exactly one given); the entries removed.

        Whole nodes go first; with ``approx`` that is all, otherwise the entries of
        the first node that must stay partly are marked deleted. ``limit`` (0 = none)
        bounds the entries removed, node by node.
        """
        deleted = 0
        while self.nodes:
            if maxlen is not None and self.length <= maxlen:
                break
            node = self.nodes[0]
            entries = node.count
            if limit and deleted + entries > limit:
                break
            if maxlen is not None:
                remove_node = self.length - entries >= maxlen
            else:
                assert minid is not None
                remove_node = node.last_id() < minid
            if remove_node:
                self._drop_node(0)
                self.length -= entries
                deleted += entries
                continue
            if approx:
                break
            from_node = 0
            items = node.items
            for j, sid in enumerate(node.ids):
                if maxlen is not None:
                    if self.length <= maxlen:
                        break
                elif sid >= minid:  # type: ignore[operator]
                    break
                item = items[j]
                if item is not None:
                    self.nbytes -= self._item_cost(node, item)
                    items[j] = None
                    from_node += 1
                    self.length -= 1
            node.count -= from_node
            node.deleted += from_node
            deleted += from_node
            break
        if self.length == 0:
            self.first_id = 0
        elif deleted:
            self.first_id = self._first_edge()
        return deleted

    def first_id_any(self) -> int:
        """streamGetEdgeID(first, no skipping): the first node's first ID, deleted or not."""
        if not self.nodes:
            return MAX_ID
        return self.nodes[0].ids[0]

    # --- structure facts (XINFO) -------------------------------------------------

    def radix_tree_nodes(self) -> int:
        """The rax's node count for the nodes' 16-byte big-endian keys.

        Computed on the canonical compressed form (a rax keeps that on inserts;
        after deletions Redis may keep a few more nodes than this).
        """
        keys = [h.to_bytes(16, "big") for h in self.heads]
        if not keys:
            return 1
        return _rax_count(keys, 0)

    # --- lag (streamReplyWithCGLag and friends) ----------------------------------

    def range_has_tombstones(self, start: int, end: int = MAX_ID) -> bool:
        if not self.length or self.max_deleted_id == 0:
            return False
        if self.first_id > self.max_deleted_id:
            return False
        return start <= self.max_deleted_id <= end

    def estimate_distance(self, sid: int) -> int:
        """streamEstimateDistanceFromFirstEverEntry (-1 when it cannot be known)."""
        if not self.entries_added:
            return 0
        if not self.length and sid <= self.last_id:
            return self.entries_added
        if sid == self.last_id:
            return self.entries_added
        if sid > self.last_id:
            return INVALID_ENTRIES_READ
        if self.max_deleted_id == 0 or self.max_deleted_id < self.first_id:
            if sid < self.first_id:
                return self.entries_added - self.length
            if sid == self.first_id:
                return self.entries_added - self.length + 1
        return INVALID_ENTRIES_READ

    def lag(self, group: ConsumerGroup) -> int | None:
        """A group's lag, or None when fragmentation makes it unknown."""
        if not self.entries_added:
            return 0
        if group.entries_read != INVALID_ENTRIES_READ and not self.range_has_tombstones(
            group.last_id
        ):
            return self.entries_added - group.entries_read
        entries_read = self.estimate_distance(group.last_id)
        if entries_read != INVALID_ENTRIES_READ:
            return self.entries_added - entries_read
        return None

    def deliver(self, group: ConsumerGroup, sid: int) -> None:
        """The group's last ID moves to ``sid`` (streamReplyWithRange's counter rules)."""
        if sid <= group.last_id:
            return
        if group.entries_read != INVALID_ENTRIES_READ and not self.range_has_tombstones(sid):
            group.entries_read += 1
        elif self.entries_added:
            group.entries_read = self.estimate_distance(sid)
        group.last_id = sid

    def estimate(self) -> int:
        """``nbytes`` computed from scratch (what the incremental updates must equal)."""
        total = CONTAINER_OVERHEAD
        for node in self.nodes:
            total += NODE_OVERHEAD + sum(_bytes_cost(f) for f in node.fields)
            for item in node.items:
                if item is not None:
                    total += self._item_cost(node, item)
        for group in self.groups.values():
            total += GROUP_OVERHEAD + _bytes_cost(group.name) + NACK_OVERHEAD * len(group.pel)
            for consumer in group.consumers.values():
                total += CONSUMER_OVERHEAD + _bytes_cost(consumer.name)
        return total

    # --- copying -----------------------------------------------------------------

    def copy(self) -> StreamValue:
        """An independent deep copy (COPY), groups and pending entries included."""
        new = StreamValue()
        for node in self.nodes:
            twin = StreamNode.__new__(StreamNode)
            twin.master = node.master
            twin.fields = node.fields
            twin.ids = list(node.ids)
            twin.items = list(node.items)
            twin.count = node.count
            twin.deleted = node.deleted
            twin.base = node.base
            new.nodes.append(twin)
        new.heads = list(self.heads)
        new.length = self.length
        new.last_id = self.last_id
        new.first_id = self.first_id
        new.max_deleted_id = self.max_deleted_id
        new.entries_added = self.entries_added
        for name, group in self.groups.items():
            g = ConsumerGroup(name, group.last_id, group.entries_read)
            for cname, consumer in group.consumers.items():
                g.consumers[cname] = Consumer(cname, consumer.seen_time)
            for sid in group.pel.order:
                nack = group.pel.by_id[sid]
                owner = None if nack.consumer is None else g.consumers[nack.consumer.name]
                twin_nack = Nack(owner, nack.delivery_time)
                twin_nack.delivery_count = nack.delivery_count
                g.pel.add(sid, twin_nack)
                if owner is not None:
                    owner.pel.add(sid, twin_nack)
            new.groups[name] = g
        new.nbytes = self.nbytes
        return new


def _rax_count(keys: list[bytes], depth: int) -> int:
    """Nodes of a canonical rax holding ``keys`` (sorted, same length) below ``depth``."""
    size = len(keys[0])
    if depth == size:
        return 1  # the key node
    first, last = keys[0], keys[-1]
    common = 0
    while depth + common < size and first[depth + common] == last[depth + common]:
        common += 1
    if common:
        return 1 + _rax_count(keys, depth + common)
    total = 1
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i][depth] != keys[start][depth]:
            total += _rax_count(keys[start:i], depth + 1)
            start = i
    return total


# --- flat form (full sync) ----------------------------------------------------------------

# The tags of :func:`flat_elements`. A node's header carries its listpack size and
# counters, so tombstones keep their weight without their fields.
_NODE, _ENTRY, _TOMB, _GROUP, _CONSUMER, _PENDING, _END = (
    b"N", b"E", b"D", b"G", b"C", b"P", b"Z"
)


def flat_meta(s: StreamValue) -> bytes:
    """The stream's counters in one string (the snapshot record's ``meta``)."""
    return b"%d %d %d %d" % (s.last_id, s.first_id, s.max_deleted_id, s.entries_added)


def flat_elements(s: StreamValue) -> Iterator[bytes]:
    """The whole value, groups included, as a flat sequence of bulk strings.

    ``N master base count deleted nfields fields...`` opens a node, then per entry
    ``E id n field value...`` (live) or ``D id`` (tombstone); ``G name last_id
    entries_read``, ``C name seen_time``, ``P id owner-or-"" delivery_time count``;
    ``Z`` ends it. :class:`FlatLoader` reads it back in pieces of any size.
    """
    for node in s.nodes:
        yield from (_NODE, b"%d" % node.master, b"%d" % node.base, b"%d" % node.count)
        yield from (b"%d" % node.deleted, b"%d" % len(node.fields), *node.fields)
        for sid, item in zip(node.ids, node.items, strict=True):
            if item is None:
                yield from (_TOMB, b"%d" % sid)
            else:
                yield from (_ENTRY, b"%d" % sid, b"%d" % len(item), *item)
    for group in s.groups.values():
        yield from (_GROUP, group.name, b"%d" % group.last_id, b"%d" % group.entries_read)
        for consumer in group.consumers.values():
            yield from (_CONSUMER, consumer.name, b"%d" % consumer.seen_time)
        for sid in group.pel.order:
            nack = group.pel.by_id[sid]
            owner = b"" if nack.consumer is None else b"=" + nack.consumer.name
            yield from (_PENDING, b"%d" % sid, owner, b"%d" % nack.delivery_time)
            yield b"%d" % nack.delivery_count
    yield _END


class FlatLoader:
    """Rebuilds a :class:`StreamValue` from :func:`flat_elements` given in batches.

    Leaves ``nbytes`` alone: the snapshot carries the leader's estimate.
    """

    __slots__ = ("buffer", "group", "s")

    def __init__(self, s: StreamValue, meta: bytes) -> None:
        self.s = s
        self.buffer: list[bytes] = []
        self.group: ConsumerGroup | None = None
        if meta:
            last, first, maxdel, added = (int(x) for x in meta.split())
            s.last_id, s.first_id, s.max_deleted_id, s.entries_added = last, first, maxdel, added

    def feed(self, items: list[bytes]) -> bool:
        """Consume what is complete; True once the end tag was read."""
        buf = self.buffer
        buf.extend(items)
        pos = 0
        s = self.s
        done = False
        while pos < len(buf):
            tag = buf[pos]
            if tag == _END:
                pos += 1
                done = True
                break
            if tag == _NODE:
                if pos + 6 > len(buf) or pos + 6 + int(buf[pos + 5]) > len(buf):
                    break
                nf = int(buf[pos + 5])
                node = StreamNode.__new__(StreamNode)
                node.master = int(buf[pos + 1])
                node.base = int(buf[pos + 2])
                node.count = int(buf[pos + 3])
                node.deleted = int(buf[pos + 4])
                node.fields = tuple(buf[pos + 6 : pos + 6 + nf])
                node.ids = []
                node.items = []
                s.nodes.append(node)
                s.heads.append(node.master)
                pos += 6 + nf
            elif tag == _ENTRY:
                if pos + 3 > len(buf) or pos + 3 + int(buf[pos + 2]) > len(buf):
                    break
                n = int(buf[pos + 2])
                node = s.nodes[-1]
                node.ids.append(int(buf[pos + 1]))
                node.items.append(tuple(buf[pos + 3 : pos + 3 + n]))
                s.length += 1
                pos += 3 + n
            elif tag == _TOMB:
                if pos + 2 > len(buf):
                    break
                node = s.nodes[-1]
                node.ids.append(int(buf[pos + 1]))
                node.items.append(None)
                pos += 2
            elif tag == _GROUP:
                if pos + 4 > len(buf):
                    break
                name = buf[pos + 1]
                self.group = s.groups[name] = ConsumerGroup(
                    name, int(buf[pos + 2]), int(buf[pos + 3])
                )
                pos += 4
            elif tag == _CONSUMER:
                if pos + 3 > len(buf):
                    break
                assert self.group is not None
                cname = buf[pos + 1]
                self.group.consumers[cname] = Consumer(cname, int(buf[pos + 2]))
                pos += 3
            elif tag == _PENDING:
                if pos + 5 > len(buf):
                    break
                group = self.group
                assert group is not None
                sid = int(buf[pos + 1])
                owner_tag = buf[pos + 2]
                owner = group.consumers[owner_tag[1:]] if owner_tag else None
                nack = Nack(owner, int(buf[pos + 3]))
                nack.delivery_count = int(buf[pos + 4])
                group.pel.add(sid, nack)
                if owner is not None:
                    owner.pel.add(sid, nack)
                pos += 5
            else:
                raise ValueError(f"bad stream element tag {tag!r}")
        del buf[:pos]
        return done
