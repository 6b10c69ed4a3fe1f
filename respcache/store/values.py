"""The value types a key can hold, and their memory estimates.

Strings are plain ``bytes`` (the most common value costs nothing extra). Every
container type subclasses a builtin and carries ``nbytes``: the estimated bytes
its elements take, kept up to date by whoever mutates it through
:meth:`respcache.store.keyspace.Database.grow`. The keyspace's ``used_memory``
is then the sum of :func:`entry_size` over all keys, in O(1) per change.

The constants are calibrated against the RSS of a CPython 3.11 process
(``bench/memory_calibration.py``): they are estimates of what the process
really holds, not of the payload, so ``maxmemory`` tracks the resident size.
"""

from __future__ import annotations

from collections import deque
from typing import Final

# Per key: OrderedDict slot + linked-list node + key object header (calibrated).
ENTRY_OVERHEAD: Final = 112
# A bytes object: header plus allocator rounding (pymalloc rounds to 16).
BYTES_OVERHEAD: Final = 48
# Extra per key with a TTL: the ``expires`` dict slot and the int object.
EXPIRE_OVERHEAD: Final = 96
# Per element of a container (slot in the builtin structure + element header).
HASH_FIELD_OVERHEAD: Final = 72 + 2 * BYTES_OVERHEAD
LIST_ITEM_OVERHEAD: Final = 8 + BYTES_OVERHEAD
SET_MEMBER_OVERHEAD: Final = 40 + BYTES_OVERHEAD
ZSET_MEMBER_OVERHEAD: Final = 176 + BYTES_OVERHEAD
CONTAINER_OVERHEAD: Final = 232


class WeakReferable:
    """A base for classes other modules key ``weakref.WeakKeyDictionary`` tables by.

    mypyc's native classes (``bin/build-compiled``) take no weak references unless
    they derive from a Python class: this one, which stays uncompiled here.
    """

    __slots__ = ()


def bytes_size(data: bytes) -> int:
    """Estimated heap bytes of a ``bytes`` object of this length."""
    return BYTES_OVERHEAD + (len(data) & ~15)


class HashValue(dict[bytes, bytes]):
    """A Redis hash."""

    __slots__ = ("big", "nbytes")
    type_name: Final = "hash"

    def __init__(self) -> None:
        super().__init__()
        self.nbytes = CONTAINER_OVERHEAD
        self.big = False
        """Redis converted it to ``hashtable`` (one way: it never converts back)."""


class ListValue(deque[bytes]):
    """A Redis list: O(1) pushes and pops at both ends."""

    __slots__ = ("nbytes",)
    type_name: Final = "list"

    def __init__(self) -> None:
        super().__init__()
        self.nbytes = CONTAINER_OVERHEAD


class SetValue(set[bytes]):
    """A Redis set."""

    __slots__ = ("big", "nbytes")
    type_name: Final = "set"

    def __init__(self) -> None:
        super().__init__()
        self.nbytes = CONTAINER_OVERHEAD
        self.big = False
        """Redis converted it to ``hashtable`` (one way: it never converts back)."""


def value_size(value: object) -> int:
    """Estimated bytes of a value (not counting its key)."""
    if type(value) is bytes:
        return bytes_size(value)
    nbytes: int = value.nbytes  # type: ignore[attr-defined]
    return nbytes


def entry_size(key: bytes, value: object) -> int:
    """Estimated bytes one key costs: entry overhead, key object, value."""
    return ENTRY_OVERHEAD + bytes_size(key) + value_size(value)


def type_name(value: object) -> str:
    """What ``TYPE`` answers for a value."""
    if type(value) is bytes:
        return "string"
    name: str = type(value).type_name  # type: ignore[attr-defined]
    return name
