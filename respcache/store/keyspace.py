"""The keyspace: numbered databases of keys in exact LRU order, TTLs, memory, eviction.

A :class:`Database` is an ``OrderedDict`` (a hash map plus a doubly linked list,
in C) from key to value, kept in least- to most-recently-used order: every
access moves the key to the end, eviction pops from the front. Both are O(1),
and the LRU is exact, not sampled as in Redis.

TTLs live beside the data in ``expires`` (key → absolute unix milliseconds),
itself kept in LRU order of the volatile keys, so ``volatile-lru`` is exact
and O(1) too. Expiry is lazy (a key found expired on access is deleted) plus
an active cycle that walks the volatile keys a bounded slice at a time.

The store knows no sockets and no replication. Deletions it decides by itself
(expiry, eviction) are reported through :attr:`Keyspace.events`, an outbox the
command layer drains after each command to propagate them as ``DEL`` and send
notifications.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Final

from respcache.store.allocator import tune_malloc
from respcache.store.lazyfree import LazyFree
from respcache.store.memory import MemoryOverhead
from respcache.store.values import (
    BYTES_OVERHEAD,
    ENTRY_OVERHEAD,
    EXPIRE_OVERHEAD,
    WeakReferable,
    entry_size,
    value_size,
)

POLICIES: Final = (
    "noeviction",
    "allkeys-lru",
    "volatile-lru",
    "allkeys-lfu",
    "volatile-lfu",
    "allkeys-random",
    "volatile-random",
    "volatile-ttl",
)
LFU_INIT_VAL: Final = 5
_STRING_ENTRY: Final = ENTRY_OVERHEAD + 2 * BYTES_OVERHEAD
"""``entry_size`` of a string key without the rounded lengths of key and value."""
ACTIVE_EXPIRE_KEYS_PER_LOOP: Final = 20


class KeySampler:
    """Random keys from a dict in amortised O(1).

    (Snapshots read ``dict.keys(od)``, the plain hash table in insertion order:
    walking an ``OrderedDict``'s linked list is ~30x slower and order does not
    matter for sampling.)

    Python dicts cannot pick a random key cheaply, so this keeps a snapshot of
    the keys and samples it, skipping keys deleted since. The snapshot is
    rebuilt (O(n)) only after Ω(n) changes, or when it is exhausted of live keys.
    """

    __slots__ = ("_keys", "_misses", "_source")

    def __init__(self, source: dict[bytes, Any]) -> None:
        self._source = source
        self._keys: list[bytes] = []
        self._misses = 0

    def rebind(self, source: dict[bytes, Any]) -> None:
        self._source = source
        self._keys = []

    def sample(self, count: int) -> list[bytes]:
        """Up to ``count`` distinct-ish live keys, uniformly drawn."""
        source = self._source
        if not source:
            return []
        size = len(source)
        if count >= size:  # as dictGetSomeKeys: a sample as large as the table is all of it
            return list(dict.keys(source))
        keys = self._keys
        if not keys or len(keys) > 2 * size + 16 or 2 * len(keys) < size or self._misses > size:
            keys = self._keys = list(dict.keys(source))
            self._misses = 0
        out: list[bytes] = []
        tries = 0
        while len(out) < count and tries < 4 * count + 8:
            tries += 1
            key = keys[random.randrange(len(keys))]
            if key in source:
                out.append(key)
            else:
                self._misses += 1
        if not out:  # snapshot entirely stale: rebuild once
            self._keys = list(dict.keys(source))
            self._misses = 0
            return [self._keys[random.randrange(len(self._keys))]]
        return out


class Database:
    """One numbered database (``SELECT n``)."""

    __slots__ = (
        "_expire_cursor",
        "_sampler",
        "_volatile_sampler",
        "data",
        "expires",
        "id",
        "ks",
        "lfu",
    )

    def __init__(self, ks: Keyspace, index: int) -> None:
        self.ks = ks
        self.id = index
        self.data: OrderedDict[bytes, object] = OrderedDict()
        self.expires: OrderedDict[bytes, int] = OrderedDict()
        self.lfu: dict[bytes, int] = {}
        self._sampler = KeySampler(self.data)
        self._volatile_sampler = KeySampler(self.expires)
        self._expire_cursor: Iterator[bytes] | None = None

    def __len__(self) -> int:
        return len(self.data)

    # --- lookups -------------------------------------------------------------

    def lookup(self, key: bytes) -> object | None:
        """Read access: lazy expiry, LRU/LFU touch, hit/miss statistics."""
        value = self.data.get(key)
        ks = self.ks
        if value is None:
            ks.misses += 1
            return None
        expires = self.expires
        if expires and key in expires:
            if self._expired(key):
                ks.misses += 1
                return None
            if not ks.no_touch:
                expires.move_to_end(key)
        ks.hits += 1
        if not ks.no_touch:  # _touch, inlined: the hot path of every read
            self.data.move_to_end(key)
            if ks.lfu_enabled:
                self.lfu[key] = ks.lfu_touch(self.lfu.get(key))
        return value

    def lookup_write(self, key: bytes) -> object | None:
        """Write access: lazy expiry and LRU touch, no hit/miss statistics."""
        value = self.data.get(key)
        if value is None:
            return None
        expires = self.expires
        if expires and key in expires and self._expired(key):
            return None
        self._touch(key)
        return value

    def peek(self, key: bytes) -> object | None:
        """The live value without touching LRU/LFU or statistics (TYPE, OBJECT, SCAN)."""
        value = self.data.get(key)
        if value is None:
            return None
        if self.expires and key in self.expires and self._expired(key):
            return None
        return value

    def exists(self, key: bytes) -> bool:
        return self.peek(key) is not None

    def _touch(self, key: bytes) -> None:
        if not self.ks.no_touch:
            self.data.move_to_end(key)
            if key in self.expires:
                self.expires.move_to_end(key)
            if self.ks.lfu_enabled:
                self.lfu[key] = self.ks.lfu_touch(self.lfu.get(key))

    def _expired(self, key: bytes) -> bool:
        """Is the key past its TTL? Deletes it when this node expires keys itself."""
        if self.expires[key] > self.ks.now_ms or self.ks.loading:
            return False
        if self.ks.expire_keys and not self.ks.paused:
            self._remove(key)
            self.ks.expired_keys += 1
            self.ks.events.append((self.id, key, "expired"))
        return True

    # --- mutation ------------------------------------------------------------

    def set(self, key: bytes, value: object, *, keep_ttl: bool = False) -> None:
        """Create or overwrite a key; drops its TTL unless ``keep_ttl``."""
        data = self.data
        old = data.get(key)
        ks = self.ks
        # (entry_size and value_size inlined for strings, the common case: the hot path.)
        if old is None:
            if type(value) is bytes:
                ks.used_memory += _STRING_ENTRY + (len(key) & ~15) + (len(value) & ~15)
            else:
                ks.used_memory += entry_size(key, value)
            data[key] = value  # a new key is appended: already the most recently used
            if ks.lfu_enabled:
                self.lfu[key] = ks.lfu_new()
            return
        if type(value) is bytes and type(old) is bytes:
            ks.used_memory += (len(value) & ~15) - (len(old) & ~15)
        else:
            ks.used_memory += value_size(value) - value_size(old)
        if not keep_ttl and self.expires and key in self.expires:
            del self.expires[key]
            ks.used_memory -= EXPIRE_OVERHEAD
        if ks.lfu_enabled:
            self.lfu[key] = ks.lfu_touch(self.lfu.get(key))
        data[key] = value
        data.move_to_end(key)

    def grow(self, value: object, delta: int) -> None:
        """Account ``delta`` bytes more (or fewer) for a container mutated in place."""
        value.nbytes += delta  # type: ignore[attr-defined]
        self.ks.used_memory += delta

    def delete(self, key: bytes) -> bool:
        """Delete a live key; False when it did not exist (or had expired)."""
        if self.peek(key) is None:
            return False
        self._remove(key)
        return True

    def _remove(self, key: bytes) -> None:
        value = self.data.pop(key)
        ks = self.ks
        ks.used_memory -= entry_size(key, value)
        if self.expires.pop(key, None) is not None:
            ks.used_memory -= EXPIRE_OVERHEAD
        if self.lfu:
            self.lfu.pop(key, None)

    def pop(self, key: bytes) -> object | None:
        """Remove a live key and return its value (RENAME, MOVE, GETDEL)."""
        value = self.peek(key)
        if value is not None:
            self._remove(key)
        return value

    def clear(self) -> int:
        """Remove every key (FLUSHDB); returns how many there were."""
        count = len(self.data)
        freed = sum(entry_size(k, v) for k, v in dict.items(self.data))
        self.ks.used_memory -= freed + EXPIRE_OVERHEAD * len(self.expires)
        self.data = OrderedDict()
        self.expires = OrderedDict()
        self.lfu = {}
        self._rebind()
        return count

    def swap(self, other: Database) -> None:
        """Exchange contents with another database (SWAPDB); clients keep their db number."""
        self.data, other.data = other.data, self.data
        self.expires, other.expires = other.expires, self.expires
        self.lfu, other.lfu = other.lfu, self.lfu
        self._rebind()
        other._rebind()

    def _rebind(self) -> None:
        self._sampler.rebind(self.data)
        self._volatile_sampler.rebind(self.expires)
        self._expire_cursor = None

    # --- TTLs ----------------------------------------------------------------

    def set_expire(self, key: bytes, when_ms: int) -> None:
        """Give a live key an absolute expiry time (unix ms)."""
        if key not in self.expires:
            self.ks.used_memory += EXPIRE_OVERHEAD
        self.expires[key] = when_ms
        self.expires.move_to_end(key)

    def get_expire(self, key: bytes) -> int | None:
        """Absolute expiry (unix ms) of a key, or None when it has none."""
        return self.expires.get(key)

    def persist(self, key: bytes) -> bool:
        if self.expires.pop(key, None) is None:
            return False
        self.ks.used_memory -= EXPIRE_OVERHEAD
        return True

    # --- iteration -----------------------------------------------------------

    def keys(self) -> list[bytes]:
        """A snapshot of the live keys (expired ones skipped, not deleted)."""
        now = self.ks.now_ms
        expires = self.expires
        if not expires:
            return list(dict.keys(self.data))
        return [k for k in dict.keys(self.data) if (w := expires.get(k)) is None or w > now]

    def random_key(self) -> bytes | None:
        for _ in range(100):
            sample = self._sampler.sample(1)
            if not sample:
                return None
            key = sample[0]
            if self.peek(key) is not None:
                return key
        return None

    def volatile_count(self) -> int:
        return len(self.expires)

    def avg_ttl(self) -> int:
        """Average remaining TTL in ms over a sample of volatile keys (INFO keyspace)."""
        sample = self._volatile_sampler.sample(32)
        now = self.ks.now_ms
        ttls = [self.expires[k] - now for k in sample if k in self.expires]
        return max(0, sum(ttls) // len(ttls)) if ttls else 0

    # --- active expiry ---------------------------------------------------------

    def expire_slice(self, limit: int) -> tuple[int, int]:
        """Check up to ``limit`` volatile keys in order; returns (checked, expired)."""
        if not self.expires or not self.ks.expire_keys or self.ks.paused:
            return 0, 0
        checked = expired = 0
        now = self.ks.now_ms
        while checked < limit:
            if self._expire_cursor is None:
                self._expire_cursor = iter(list(dict.keys(self.expires)))
            key = next(self._expire_cursor, None)
            if key is None:
                self._expire_cursor = None
                break
            when = self.expires.get(key)
            if when is None:
                continue
            checked += 1
            if when <= now:
                self._remove(key)
                self.ks.expired_keys += 1
                self.ks.events.append((self.id, key, "expired"))
                expired += 1
        return checked, expired


class Keyspace(WeakReferable):
    """All databases, the clock, memory accounting and eviction.

    (Other modules keep per-keyspace state in weak-keyed tables: hence the base.)
    """

    def __init__(
        self,
        databases: int = 16,
        *,
        maxmemory: int = 0,
        policy: str = "noeviction",
        samples: int = 5,
        lfu_log_factor: int = 10,
        lfu_decay_time: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        tune_malloc()  # before the first key: ~16 B per key less RSS (store/allocator.py)
        self.clock = clock
        self.now_ms = int(clock() * 1000)
        self.clock_held_until_ns = 0
        """``time.perf_counter_ns()`` until which ``now_ms`` stands for the commands of one
        batch (:meth:`hold_clock`); 0 outside a batch: the clock is taken per command."""
        self.used_memory = 0
        """The dataset's estimate (keys, values, TTLs), kept up to date per change."""
        self.overhead = MemoryOverhead()
        """The rest of INFO's ``used_memory`` as last sampled (store/memory.py): set by
        the server's cron; all zero for a keyspace on its own."""
        self.overhead_memory = 0
        """``overhead.counted``, cached: what ``maxmemory`` adds to ``used_memory``."""
        self.maxmemory = maxmemory
        self.samples = samples
        self.lfu_log_factor = lfu_log_factor
        self.lfu_decay_time = lfu_decay_time
        self.policy = "noeviction"
        self.lfu_enabled = False
        self.expire_keys = True
        """False on a replica: expired keys are hidden from reads but only the leader deletes them."""
        self.paused = False
        self.loading = False
        """True while an AOF is replayed: no key counts as expired (Redis's ``keyIsExpired``
        during loading), so the commands see the dataset they were logged against."""
        """True during CLIENT PAUSE: the dataset stays still (Redis 7.0): expired keys are
        hidden but not deleted, no active expiry, no eviction."""
        self.no_touch = False
        """True while a command must not change LRU/LFU (CLIENT NO-TOUCH, replication apply)."""
        self.functions: dict[str, bytes] = {}
        """[scripting] FUNCTION libraries, name -> code: data that full syncs carry (not
        flushed by FLUSHALL, as in Redis); compiled by respcache/commands/functions.py."""
        self.events: list[tuple[int, bytes, str]] = []
        """Outbox of deletions the store made by itself: (db, key, "expired" | "evicted")."""
        self.lazyfree = LazyFree()
        """Frees big values and flushed databases on a worker thread (UNLINK, ASYNC)."""
        self.hits = self.misses = self.expired_keys = self.evicted_keys = 0
        self.expire_cycle_stale_perc = 0.0
        self.dbs = [Database(self, i) for i in range(databases)]
        self._evict_db = 0
        self.set_policy(policy)

    # --- clock -----------------------------------------------------------------

    def update_clock(self) -> int:
        """Take the time once per command, as Redis caches ``mstime`` per command."""
        self.now_ms = now = int(self.clock() * 1000)
        return now

    def hold_clock(self, until_ns: int) -> None:
        """Take the time now and let the commands of a batch share it until ``until_ns``
        (``perf_counter_ns``), then ``release_clock``.

        The command layer takes the time again for the first command after ``until_ns``
        (a slow command inside the batch moves it on), so ``now_ms`` is never more
        than about a millisecond old, its own resolution: per batch, not per command.
        """
        self.update_clock()
        self.clock_held_until_ns = until_ns

    def release_clock(self) -> None:
        self.clock_held_until_ns = 0

    # --- configuration -----------------------------------------------------------

    def set_policy(self, policy: str) -> None:
        if policy not in POLICIES:
            raise ValueError(policy)
        self.policy = policy
        lfu = policy.endswith("lfu")
        if lfu and not self.lfu_enabled:
            init = self.lfu_new()
            for db in self.dbs:
                db.lfu = dict.fromkeys(dict.keys(db.data), init)
        elif not lfu:
            for db in self.dbs:
                db.lfu = {}
        self.lfu_enabled = lfu

    # --- LFU (Redis's logarithmic counter with decay) -----------------------------

    def _lfu_minutes(self) -> int:
        return (self.now_ms // 60000) & 0xFFFF

    def lfu_new(self) -> int:
        return (self._lfu_minutes() << 8) | LFU_INIT_VAL

    def lfu_counter(self, packed: int | None) -> int:
        """The decayed counter (what OBJECT FREQ answers)."""
        if packed is None:
            return LFU_INIT_VAL
        counter = packed & 0xFF
        if self.lfu_decay_time:
            now = self._lfu_minutes()
            last = packed >> 8
            elapsed = now - last if now >= last else 65535 - last + now
            counter = max(0, counter - elapsed // self.lfu_decay_time)
        return counter

    def lfu_touch(self, packed: int | None) -> int:
        counter = self.lfu_counter(packed)
        if counter < 255:
            base = counter - LFU_INIT_VAL
            if base < 0 or random.random() < 1.0 / (base * self.lfu_log_factor + 1):
                counter += 1
        return (self._lfu_minutes() << 8) | counter

    # --- memory and eviction --------------------------------------------------------

    def set_overhead(self, overhead: MemoryOverhead) -> None:
        """Take a new sample of the server's overhead (the cron's, store/memory.py)."""
        self.overhead = overhead
        self.overhead_memory = overhead.counted

    def over_maxmemory(self) -> bool:
        """Redis's ``getMaxmemoryState``: the dataset plus the counted overhead (the
        replicas' and AOF buffers left out) past ``maxmemory``."""
        return bool(self.maxmemory) and self.used_memory + self.overhead_memory > self.maxmemory

    def evict(self) -> bool:
        """Evict until under ``maxmemory``; True when under it (or no limit).

        When the overhead alone is past it every key may go and it is still False, as
        Redis's ``performEvictions`` ends in ``EVICT_FAIL``.
        """
        maxmemory = self.maxmemory
        if not maxmemory or self.used_memory + self.overhead_memory <= maxmemory or self.paused:
            return True
        if self.policy == "noeviction":
            return False
        while self.used_memory + self.overhead_memory > maxmemory:
            if not self._evict_one():
                return False
        return True

    def _evict_one(self) -> bool:
        volatile = self.policy.startswith("volatile")
        n = len(self.dbs)
        for i in range(n):
            db = self.dbs[(self._evict_db + i) % n]
            pool = db.expires if volatile else db.data
            if not pool:
                continue
            self._evict_db = (self._evict_db + i + 1) % n
            key = self._victim(db, volatile)
            db._remove(key)
            self.evicted_keys += 1
            self.events.append((db.id, key, "evicted"))
            return True
        return False

    def _victim(self, db: Database, volatile: bool) -> bytes:
        policy = self.policy
        if policy.endswith("lru"):
            return next(iter(db.expires if volatile else db.data))
        sampler = db._volatile_sampler if volatile else db._sampler
        if policy.endswith("random"):
            return sampler.sample(1)[0]
        sample = sampler.sample(self.samples)
        if policy == "volatile-ttl":
            return min(sample, key=db.expires.__getitem__)
        return min(sample, key=lambda k: self.lfu_counter(db.lfu.get(k)))

    # --- active expiry ---------------------------------------------------------------

    def active_expire_cycle(self, budget_s: float, effort: int = 1) -> int:
        """Expire keys for at most ``budget_s`` seconds; returns how many expired.

        Like Redis's cycle: each database is checked a slice of volatile keys at
        a time, and the cycle goes on while more than ``10% - effort`` of a slice
        had expired (so a keyspace full of expired keys is cleaned quickly) and
        the time budget lasts.
        """
        if not self.expire_keys or self.paused:
            return 0
        self.update_clock()
        deadline = time.perf_counter() + budget_s
        per_loop = ACTIVE_EXPIRE_KEYS_PER_LOOP + ACTIVE_EXPIRE_KEYS_PER_LOOP // 4 * (effort - 1)
        threshold = max(1, 10 - effort + 1) / 100
        total_checked = total_expired = 0
        for db in self.dbs:
            while db.expires:
                checked, expired = db.expire_slice(per_loop)
                total_checked += checked
                total_expired += expired
                if checked == 0 or expired / checked <= threshold:
                    break
                if time.perf_counter() > deadline:
                    break
            if time.perf_counter() > deadline:
                break
        if total_checked:
            self.expire_cycle_stale_perc = total_expired / total_checked
        return total_expired

    # --- whole keyspace ------------------------------------------------------------------

    def flushall(self) -> int:
        removed = sum(db.clear() for db in self.dbs)
        self.used_memory = 0
        return removed

    def total_keys(self) -> int:
        return sum(len(db) for db in self.dbs)

    def drain_events(self) -> list[tuple[int, bytes, str]]:
        events = self.events
        if events:
            self.events = []
        return events
