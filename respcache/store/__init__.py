"""The keyspace: values, LRU order, expiry, memory accounting and eviction. No I/O."""

from respcache.store.keyspace import POLICIES, Database, Keyspace
from respcache.store.values import HashValue, ListValue, SetValue, entry_size, type_name

__all__ = [
    "POLICIES",
    "Database",
    "HashValue",
    "Keyspace",
    "ListValue",
    "SetValue",
    "entry_size",
    "type_name",
]
