"""Set commands: SADD, SREM, SMEMBERS, SPOP, SINTER and friends, SSCAN.

A set is a :class:`~respcache.store.values.SetValue` (a ``set`` of ``bytes``).

Random picks (SPOP, SRANDMEMBER, and HRANDFIELD for hashes) need random access, which a
Python ``set`` or ``dict`` does not have: ``random.sample(list(s), k)`` copies the whole
collection, O(n) per call. :class:`RandomAccess` keeps, for the few large collections
being sampled, a list of their elements (a *slot* per element) plus the set of slots
whose element has since been removed. The handlers that change a collection tell it
(:func:`note_added`, :func:`note_removed`): an added element gets a new slot (or revives
its old one), a removed one only marks its slot dead. A pick draws random slots until it
hits a live one, so it stays uniform, and the list is rebuilt once dead slots outnumber
live ones: O(1) expected per pick, O(n) once per Ω(n) changes. Collections under
:data:`SAMPLE_DIRECT_MAX` elements are simply copied; only :data:`MAX_SAMPLED` large ones
keep a slot list (least recently sampled dropped first). The trade-off: up to 8 bytes
per element of a sampled collection, not counted in ``used_memory``, and a reference that
keeps a deleted collection alive until its entry is dropped. See docs/data-types.md.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Collection, Iterable
from typing import Final

from respcache.commands.args import parse_int
from respcache.commands.client import Client, key_modified
from respcache.commands.registry import command
from respcache.commands.scan import parse_cursor, parse_scan_options, scan_step
from respcache.errors import SYNTAX, WRONGTYPE, CommandError
from respcache.protocol.types import OrderedSetReply, Reply
from respcache.store.encoding import LIMITS
from respcache.store.values import CONTAINER_OVERHEAD, SET_MEMBER_OVERHEAD, SetValue

LONG_MAX: Final = 2**63 - 1
POSITIVE: Final = "ERR value is out of range, must be positive"
COUNT_RANGE: Final = (
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)
SREM_BATCH: Final = 1024
"""Members per SREM when an SPOP with a count is replicated (Redis's batch size)."""

# --- memory and encoding ------------------------------------------------------------------


def member_cost(member: bytes) -> int:
    """Estimated bytes one member adds to a set."""
    return SET_MEMBER_OVERHEAD + (len(member) & ~15)


def is_int_member(member: bytes) -> bool:
    """Would Redis store it in an intset (``string2ll`` accepts it: canonical int64)?"""
    n = len(member)
    if not 0 < n <= 20:
        return False
    if member == b"0":
        return True
    digits = member[1:] if member[:1] == b"-" else member
    if not digits.isdigit() or digits[:1] == b"0":
        return False
    return -(2**63) <= int(member) <= LONG_MAX


def is_intset(value: Collection[bytes]) -> bool:
    if getattr(value, "big", False):  # converted once: Redis never goes back
        return False
    return len(value) <= LIMITS.set_max_intset_entries and all(map(is_int_member, value))


def encoding(value: SetValue) -> bytes:
    """OBJECT ENCODING of a set: ``intset`` or ``hashtable`` (decided from the contents;
    Redis never converts back, see docs/data-types.md)."""
    return b"intset" if is_intset(value) else b"hashtable"


def members_in_order(value: Collection[bytes]) -> list[bytes]:
    """The members in the order Redis iterates them: ascending for an intset."""
    if is_intset(value):
        return sorted(value, key=int)
    return list(value)


def new_set(members: Iterable[bytes]) -> SetValue:
    """A set built outside the keyspace (``nbytes`` set here, not through ``grow``)."""
    value = SetValue()
    value.update(members)
    value.nbytes = CONTAINER_OVERHEAD + sum(member_cost(m) for m in value)
    value.big = not is_intset(value)
    return value


# --- random access ----------------------------------------------------------------------------

SAMPLE_DIRECT_MAX: Final = 64
"""Below this size a random pick copies the collection (cheap) instead of keeping slots."""
MAX_SAMPLED: Final = 16
"""Large collections with a slot list at a time."""


class RandomAccess:
    """Slots for uniform random picks in a set or dict (see the module docstring).

    A native class when compiled (``respcache._compiled``), hence no ``__slots__``
    (there are at most :data:`MAX_SAMPLED` instances).
    """

    def __init__(self, container: Collection[bytes]) -> None:
        self.container = container
        self.slots: list[bytes] = list(container)
        self.dead: set[bytes] = set()

    def rebuild(self) -> None:
        self.slots = list(self.container)
        self.dead = set()

    def check(self) -> None:
        """Rebuild when dead slots dominate, or when a change was not reported."""
        live = len(self.container)
        if len(self.dead) > live or len(self.slots) - len(self.dead) != live:
            self.rebuild()

    def pick(self) -> bytes:
        """One uniformly random element (the container must not be empty)."""
        slots, container, choice = self.slots, self.container, random.choice
        while True:
            element = choice(slots)
            if element in container:
                return element

    def added(self, element: bytes) -> None:
        if element in self.dead:
            self.dead.discard(element)
        else:
            self.slots.append(element)

    def removed(self, element: bytes) -> None:
        self.dead.add(element)


_SAMPLERS: OrderedDict[int, RandomAccess] = OrderedDict()


def _sampler(container: Collection[bytes]) -> RandomAccess:
    entry = _SAMPLERS.get(id(container))
    if entry is None or entry.container is not container:
        entry = _SAMPLERS[id(container)] = RandomAccess(container)
        while len(_SAMPLERS) > MAX_SAMPLED:
            _SAMPLERS.popitem(last=False)
    else:
        _SAMPLERS.move_to_end(id(container))
        entry.check()
    return entry


def note_added(container: Collection[bytes], elements: Collection[bytes]) -> None:
    """Elements newly added to ``container`` (call only for ones that were not there).

    A set that stops being an intset is marked converted for good, as in Redis.
    """
    if type(container) is SetValue and not container.big and (
        len(container) > LIMITS.set_max_intset_entries or not all(map(is_int_member, elements))
    ):
        container.big = True
    if _SAMPLERS:
        entry = _SAMPLERS.get(id(container))
        if entry is not None and entry.container is container:
            for element in elements:
                entry.added(element)


def note_removed(container: Collection[bytes], elements: Iterable[bytes]) -> None:
    """Elements removed from ``container`` (call only for ones that were there)."""
    if _SAMPLERS:
        entry = _SAMPLERS.get(id(container))
        if entry is not None and entry.container is container:
            for element in elements:
                entry.removed(element)


def forget(container: Collection[bytes]) -> None:
    """The container left the keyspace: drop its slots."""
    if _SAMPLERS:
        entry = _SAMPLERS.get(id(container))
        if entry is not None and entry.container is container:
            del _SAMPLERS[id(container)]


def random_element(container: Collection[bytes]) -> bytes:
    """One uniformly random element of a non-empty set or dict."""
    if len(container) <= SAMPLE_DIRECT_MAX:
        return random.choice(list(container))
    return _sampler(container).pick()


def random_elements(container: Collection[bytes], count: int, distinct: bool) -> list[bytes]:
    """``count`` random elements: distinct ones (``count`` < size), or with repetitions."""
    size = len(container)
    if size <= SAMPLE_DIRECT_MAX or (distinct and count * 2 > size):
        population = list(container)
        if distinct:
            return random.sample(population, count)
        return random.choices(population, k=count)
    sampler = _sampler(container)
    if not distinct:
        return [sampler.pick() for _ in range(count)]
    chosen: dict[bytes, None] = {}
    while len(chosen) < count:
        chosen[sampler.pick()] = None
    return list(chosen)


# --- helpers ----------------------------------------------------------------------------------


def notify_new(c: Client, key: bytes) -> None:
    """Redis's ``new`` event (class ``n``): ``dbAdd`` sends it when a command creates a key,
    before the command's own event."""
    hook = c.engine.notify_hook
    if hook is not None:
        hook("n", b"new", c.db.id, key)


def read_set(c: Client, key: bytes) -> SetValue | None:
    value = c.db.lookup(key)
    if value is None or type(value) is SetValue:
        return value
    raise CommandError(WRONGTYPE)


def write_set(c: Client, key: bytes) -> SetValue | None:
    value = c.db.lookup_write(key)
    if value is None or type(value) is SetValue:
        return value
    raise CommandError(WRONGTYPE)


def remove_members(c: Client, key: bytes, value: SetValue, members: Iterable[bytes]) -> int:
    """Remove members that are present; deletes the key when it empties. Returns how many."""
    removed = [m for m in members if m in value]
    if not removed:
        return 0
    value.difference_update(removed)
    note_removed(value, removed)
    c.db.grow(value, -sum(member_cost(m) for m in removed))
    if not value:
        forget(value)
        c.db.delete(key)
    return len(removed)


def store_result(c: Client, dst: bytes, result: SetValue, event: bytes) -> int:
    """SINTERSTORE & co.: write the result (or delete ``dst`` when it is empty)."""
    db = c.db
    if result:
        old = db.lookup_write(dst)
        if old is None:
            notify_new(c, dst)
        elif type(old) is SetValue:
            forget(old)
        db.set(dst, result)
        key_modified(c, dst, event, "s")
        return len(result)
    old = db.lookup_write(dst)
    if old is not None:
        if type(old) is SetValue:
            forget(old)
        db.delete(dst)
        key_modified(c, dst, b"del", "g")
    return 0


def set_reply(members: Collection[bytes]) -> Reply:
    """A copy of ``members`` as a set reply, in Redis's order when that is defined."""
    if is_intset(members):
        return OrderedSetReply(sorted(members, key=int))
    return frozenset(members)


# --- commands ---------------------------------------------------------------------------------


@command(
    "sadd",
    arity=-3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="set",
    summary="Add one or more members to a set",
    since="1.0.0",
    complexity="O(1) for each element added, so O(N) to add N elements when the command is "
    "called with multiple arguments.",
    acl="@write @set @fast",
)
def sadd(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    db = c.db
    value = write_set(c, key)
    if value is None:
        value = SetValue()
        db.set(key, value)
        notify_new(c, key)
    added = [m for m in dict.fromkeys(argv[2:]) if m not in value]
    if added:
        value.update(added)
        note_added(value, added)
        db.grow(value, sum(member_cost(m) for m in added))
        key_modified(c, key, b"sadd", "s")
    return len(added)


@command(
    "srem",
    arity=-3,
    flags="write fast",
    keys=(1, 1, 1),
    group="set",
    summary="Remove one or more members from a set",
    since="1.0.0",
    complexity="O(N) where N is the number of members to be removed.",
    acl="@write @set @fast",
)
def srem(c: Client, argv: list[bytes]) -> Reply:
    key = argv[1]
    value = write_set(c, key)
    if value is None:
        return 0
    removed = remove_members(c, key, value, dict.fromkeys(argv[2:]))
    if removed:
        key_modified(c, key, b"srem", "s")
        if not value:
            key_modified(c, key, b"del", "g")
    return removed


@command(
    "smembers",
    arity=2,
    flags="readonly",
    keys=(1, 1, 1),
    group="set",
    summary="Get all the members in a set",
    since="1.0.0",
    complexity="O(N) where N is the set cardinality.",
    acl="@read @set @slow",
)
def smembers(c: Client, argv: list[bytes]) -> Reply:
    value = read_set(c, argv[1])
    return set_reply(value if value is not None else ())


@command(
    "sismember",
    arity=3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="set",
    summary="Determine if a given value is a member of a set",
    since="1.0.0",
    complexity="O(1)",
    acl="@read @set @fast",
)
def sismember(c: Client, argv: list[bytes]) -> Reply:
    value = read_set(c, argv[1])
    return 1 if value is not None and argv[2] in value else 0


@command(
    "smismember",
    arity=-3,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="set",
    summary="Returns the membership associated with the given elements for a set",
    since="6.2.0",
    complexity="O(N) where N is the number of elements being checked for membership",
    acl="@read @set @fast",
)
def smismember(c: Client, argv: list[bytes]) -> Reply:
    value = read_set(c, argv[1])
    if value is None:
        return [0] * (len(argv) - 2)
    return [1 if m in value else 0 for m in argv[2:]]


@command(
    "scard",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="set",
    summary="Get the number of members in a set",
    since="1.0.0",
    complexity="O(1)",
    acl="@read @set @fast",
)
def scard(c: Client, argv: list[bytes]) -> Reply:
    value = read_set(c, argv[1])
    return len(value) if value is not None else 0


def parse_positive(arg: bytes, error: str = POSITIVE) -> int:
    """Redis's ``getPositiveLongFromObjectOrReply``: one message for both failures."""
    try:
        value = parse_int(arg)
    except CommandError:
        raise CommandError(error) from None
    if value < 0:
        raise CommandError(error)
    return value


def parse_random_count(arg: bytes) -> int:
    """SRANDMEMBER/HRANDFIELD/ZRANDMEMBER's count: -LONG_MAX..LONG_MAX."""
    value = parse_int(arg)
    if value < -LONG_MAX:
        raise CommandError(COUNT_RANGE)
    return value


@command(
    "spop",
    arity=-2,
    flags="write fast",
    keys=(1, 1, 1),
    group="set",
    summary="Remove and return one or multiple random members from a set",
    since="1.0.0",
    complexity="Without the count argument O(1), otherwise O(N) where N is the value of the "
    "passed count.",
    acl="@write @set @fast",
)
def spop(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    key = argv[1]
    db = c.db
    if len(argv) == 2:
        value = write_set(c, key)
        if value is None:
            return None
        member = random_element(value)
        remove_members(c, key, value, (member,))
        key_modified(c, key, b"spop", "s")
        if not value:
            key_modified(c, key, b"del", "g")
        c.propagate_as = [[b"SREM", key, member]]
        return member
    count = parse_positive(argv[2])
    value = write_set(c, key)
    if value is None or count == 0:
        return set_reply(())
    if count >= len(value):
        reply = set_reply(value)
        forget(value)
        db.delete(key)
        key_modified(c, key, b"spop", "s")
        key_modified(c, key, b"del", "g")
        c.propagate_as = [[b"DEL", key]]
        return reply
    popped = random_elements(value, count, distinct=True)
    remove_members(c, key, value, popped)
    key_modified(c, key, b"spop", "s")
    c.propagate_as = [
        [b"SREM", key, *popped[i : i + SREM_BATCH]] for i in range(0, len(popped), SREM_BATCH)
    ]
    return set_reply(popped)


@command(
    "srandmember",
    arity=-2,
    flags="readonly",
    keys=(1, 1, 1),
    group="set",
    summary="Get one or multiple random members from a set",
    since="1.0.0",
    complexity="Without the count argument O(1), otherwise O(N) where N is the absolute value "
    "of the passed count.",
    acl="@read @set @slow",
)
def srandmember(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    if len(argv) == 2:
        value = read_set(c, argv[1])
        return random_element(value) if value is not None else None
    count = parse_random_count(argv[2])
    value = read_set(c, argv[1])
    if value is None or count == 0:
        return []
    if count < 0:
        return [*random_elements(value, -count, distinct=False)]
    if count >= len(value):
        return [*members_in_order(value)]
    return [*random_elements(value, count, distinct=True)]


@command(
    "smove",
    arity=4,
    flags="write fast",
    keys=(1, 2, 1),
    group="set",
    summary="Move a member from one set to another",
    since="1.0.0",
    complexity="O(1)",
    acl="@write @set @fast",
)
def smove(c: Client, argv: list[bytes]) -> Reply:
    src_key, dst_key, member = argv[1], argv[2], argv[3]
    db = c.db
    src = db.lookup_write(src_key)
    dst = db.lookup_write(dst_key)
    if src is None:
        return 0
    if type(src) is not SetValue or (dst is not None and type(dst) is not SetValue):
        raise CommandError(WRONGTYPE)
    if src is dst:
        return 1 if member in src else 0
    if member not in src:
        return 0
    remove_members(c, src_key, src, (member,))
    key_modified(c, src_key, b"srem", "s")
    if not src:
        key_modified(c, src_key, b"del", "g")
    if dst is None:
        dst = SetValue()
        db.set(dst_key, dst)
        notify_new(c, dst_key)
    if member not in dst:
        dst.add(member)
        note_added(dst, (member,))
        db.grow(dst, member_cost(member))
        key_modified(c, dst_key, b"sadd", "s")
    return 1


# --- algebra -------------------------------------------------------------------------------------


def _lookup_sets(c: Client, keys: list[bytes]) -> list[SetValue | None]:
    """Every key's set (None when missing); WRONGTYPE if any holds something else."""
    out: list[SetValue | None] = []
    for key in keys:
        out.append(read_set(c, key))
    return out


def intersection(sets: list[SetValue | None], limit: int = 0) -> list[bytes]:
    """Members in every set, in the iteration order of the smallest (as Redis walks it)."""
    present = [s for s in sets if s is not None]
    if len(present) < len(sets) or not present:
        return []
    present.sort(key=len)
    first, others = present[0], present[1:]
    out: list[bytes] = []
    for member in members_in_order(first):
        for other in others:
            if member not in other:
                break
        else:
            out.append(member)
            if limit and len(out) >= limit:
                break
    return out


def union(sets: list[SetValue | None]) -> set[bytes]:
    out: set[bytes] = set()
    for s in sets:
        if s is not None:
            out |= s
    return out


def difference(sets: list[SetValue | None]) -> set[bytes]:
    first = sets[0]
    if first is None:
        return set()
    out = set(first)
    for s in sets[1:]:
        if s is not None:
            out -= s
            if not out:
                break
    return out


@command(
    "sinter",
    arity=-2,
    flags="readonly",
    keys=(1, -1, 1),
    group="set",
    summary="Intersect multiple sets",
    since="1.0.0",
    complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is the "
    "number of sets.",
    acl="@read @set @slow",
)
def sinter(c: Client, argv: list[bytes]) -> Reply:
    return set_reply(intersection(_lookup_sets(c, argv[1:])))


@command(
    "sintercard",
    arity=-3,
    flags="readonly movablekeys",
    keys=(0, 0, 0),
    group="set",
    summary="Intersect multiple sets and return the cardinality of the result",
    since="7.0.0",
    complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is the "
    "number of sets.",
    acl="@read @set @slow",
)
def sintercard(c: Client, argv: list[bytes]) -> Reply:
    numkeys = parse_positive(argv[1], "ERR numkeys should be greater than 0")
    if numkeys == 0:
        raise CommandError("ERR numkeys should be greater than 0")
    if numkeys > len(argv) - 2:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    limit = 0
    i = 2 + numkeys
    while i < len(argv):
        if argv[i].lower() == b"limit" and i + 1 < len(argv):
            limit = parse_positive(argv[i + 1], "ERR LIMIT can't be negative")
            i += 2
        else:
            raise CommandError(SYNTAX)
    return len(intersection(_lookup_sets(c, argv[2 : 2 + numkeys]), limit))


@command(
    "sunion",
    arity=-2,
    flags="readonly",
    keys=(1, -1, 1),
    group="set",
    summary="Add multiple sets",
    since="1.0.0",
    complexity="O(N) where N is the total number of elements in all given sets.",
    acl="@read @set @slow",
)
def sunion(c: Client, argv: list[bytes]) -> Reply:
    return set_reply(union(_lookup_sets(c, argv[1:])))


@command(
    "sdiff",
    arity=-2,
    flags="readonly",
    keys=(1, -1, 1),
    group="set",
    summary="Subtract multiple sets",
    since="1.0.0",
    complexity="O(N) where N is the total number of elements in all given sets.",
    acl="@read @set @slow",
)
def sdiff(c: Client, argv: list[bytes]) -> Reply:
    return set_reply(difference(_lookup_sets(c, argv[1:])))


@command(
    "sinterstore",
    arity=-3,
    flags="write denyoom",
    keys=(1, -1, 1),
    group="set",
    summary="Intersect multiple sets and store the resulting set in a key",
    since="1.0.0",
    complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is the "
    "number of sets.",
    acl="@write @set @slow",
)
def sinterstore(c: Client, argv: list[bytes]) -> Reply:
    result = new_set(intersection(_lookup_sets(c, argv[2:])))
    return store_result(c, argv[1], result, b"sinterstore")


@command(
    "sunionstore",
    arity=-3,
    flags="write denyoom",
    keys=(1, -1, 1),
    group="set",
    summary="Add multiple sets and store the resulting set in a key",
    since="1.0.0",
    complexity="O(N) where N is the total number of elements in all given sets.",
    acl="@write @set @slow",
)
def sunionstore(c: Client, argv: list[bytes]) -> Reply:
    result = new_set(union(_lookup_sets(c, argv[2:])))
    return store_result(c, argv[1], result, b"sunionstore")


@command(
    "sdiffstore",
    arity=-3,
    flags="write denyoom",
    keys=(1, -1, 1),
    group="set",
    summary="Subtract multiple sets and store the resulting set in a key",
    since="1.0.0",
    complexity="O(N) where N is the total number of elements in all given sets.",
    acl="@write @set @slow",
)
def sdiffstore(c: Client, argv: list[bytes]) -> Reply:
    result = new_set(difference(_lookup_sets(c, argv[2:])))
    return store_result(c, argv[1], result, b"sdiffstore")


@command(
    "sscan",
    arity=-3,
    flags="readonly",
    keys=(1, 1, 1),
    group="set",
    summary="Incrementally iterate Set elements",
    since="2.8.0",
    complexity="O(1) for every call. O(N) for a complete iteration, including enough command "
    "calls for the cursor to return back to 0. N is the number of elements inside the "
    "collection..",
    acl="@read @set @slow",
)
def sscan(c: Client, argv: list[bytes]) -> Reply:
    cursor = parse_cursor(argv[2])
    key = argv[1]
    value = read_set(c, key)
    if value is None:
        return [b"0", []]
    options = parse_scan_options(argv, 3, allow_type=False)
    if is_intset(value):  # Redis returns a compact encoding whole, cursor 0
        next_cursor, members = b"0", sorted(value, key=int)
    else:
        next_cursor, members = scan_step(
            c.engine.keyspace,
            (c.db.id, key),
            cursor,
            options.count,
            lambda: list(value),
            value.__contains__,
        )
    match = options.match
    if match is not None:
        members = [m for m in members if match(m)]
    return [next_cursor, members]  # type: ignore[list-item]
