"""The keyspace without sockets: LRU order, expiry, memory accounting, eviction policies."""

from __future__ import annotations

import pytest

from respcache.store import POLICIES, Keyspace, entry_size
from respcache.store.keyspace import KeySampler
from respcache.store.values import EXPIRE_OVERHEAD, HashValue


class Clock:
    """A controllable wall clock in seconds."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(**kwargs: object) -> tuple[Keyspace, Clock]:
    clock = Clock()
    ks = Keyspace(clock=clock, **kwargs)  # type: ignore[arg-type]
    return ks, clock


def test_lookup_moves_key_to_most_recent() -> None:
    ks, _ = make()
    db = ks.dbs[0]
    for k in (b"a", b"b", b"c"):
        db.set(k, b"v")
    assert list(db.data) == [b"a", b"b", b"c"]
    assert db.lookup(b"a") == b"v"
    assert list(db.data) == [b"b", b"c", b"a"]
    db.set(b"b", b"w")
    assert list(db.data) == [b"c", b"a", b"b"]


def test_peek_and_no_touch_keep_order() -> None:
    ks, _ = make()
    db = ks.dbs[0]
    db.set(b"a", b"1")
    db.set(b"b", b"2")
    assert db.peek(b"a") == b"1"
    ks.no_touch = True
    assert db.lookup(b"a") == b"1"
    ks.no_touch = False
    assert list(db.data) == [b"a", b"b"]


def test_hits_and_misses_counted_on_reads_only() -> None:
    ks, _ = make()
    db = ks.dbs[0]
    db.set(b"a", b"1")
    db.lookup(b"a")
    db.lookup(b"nope")
    db.lookup_write(b"nope")
    assert (ks.hits, ks.misses) == (1, 1)


def test_lazy_expiry_deletes_and_reports_event() -> None:
    ks, clock = make()
    db = ks.dbs[0]
    db.set(b"k", b"v")
    db.set_expire(b"k", ks.now_ms + 1000)
    assert db.lookup(b"k") == b"v"
    clock.now += 1.0
    ks.update_clock()
    assert db.lookup(b"k") is None
    assert b"k" not in db.data
    assert ks.drain_events() == [(0, b"k", "expired")]
    assert ks.expired_keys == 1
    assert ks.used_memory == 0


def test_replica_hides_expired_keys_without_deleting() -> None:
    ks, clock = make()
    ks.expire_keys = False
    db = ks.dbs[0]
    db.set(b"k", b"v")
    db.set_expire(b"k", ks.now_ms + 10)
    clock.now += 1
    ks.update_clock()
    assert db.lookup(b"k") is None
    assert b"k" in db.data
    assert ks.drain_events() == []
    assert ks.active_expire_cycle(1.0) == 0


def test_overwrite_drops_ttl_unless_kept() -> None:
    ks, _ = make()
    db = ks.dbs[0]
    db.set(b"k", b"v")
    db.set_expire(b"k", ks.now_ms + 5000)
    db.set(b"k", b"w", keep_ttl=True)
    assert db.get_expire(b"k") == ks.now_ms + 5000
    db.set(b"k", b"x")
    assert db.get_expire(b"k") is None


def test_memory_accounting_returns_to_zero() -> None:
    ks, _ = make()
    db = ks.dbs[0]
    db.set(b"key", b"x" * 100)
    assert ks.used_memory == entry_size(b"key", b"x" * 100)
    db.set_expire(b"key", ks.now_ms + 10_000)
    assert ks.used_memory == entry_size(b"key", b"x" * 100) + EXPIRE_OVERHEAD
    db.set(b"key", b"y" * 1000, keep_ttl=True)
    assert ks.used_memory == entry_size(b"key", b"y" * 1000) + EXPIRE_OVERHEAD
    h = HashValue()
    db.set(b"h", h)
    db.grow(h, 500)
    assert h.nbytes >= 500
    db.delete(b"key")
    db.delete(b"h")
    assert ks.used_memory == 0


def test_clear_and_flushall_reset_memory() -> None:
    ks, _ = make()
    for i in range(100):
        ks.dbs[i % 3].set(b"k%d" % i, b"v" * i)
        ks.dbs[i % 3].set_expire(b"k%d" % i, ks.now_ms + 100_000)
    ks.dbs[0].clear()
    assert ks.used_memory == sum(
        entry_size(k, v) + EXPIRE_OVERHEAD for db in ks.dbs for k, v in db.data.items()
    )
    assert ks.flushall() == 66
    assert ks.used_memory == 0


def test_swap_exchanges_contents() -> None:
    ks, _ = make()
    ks.dbs[0].set(b"a", b"0")
    ks.dbs[1].set(b"b", b"1")
    ks.dbs[1].set_expire(b"b", ks.now_ms + 10_000)
    ks.dbs[0].swap(ks.dbs[1])
    assert list(ks.dbs[0].data) == [b"b"]
    assert ks.dbs[0].get_expire(b"b") is not None
    assert list(ks.dbs[1].data) == [b"a"]


def test_noeviction_refuses() -> None:
    ks, _ = make(maxmemory=1000)
    db = ks.dbs[0]
    for i in range(20):
        db.set(b"k%d" % i, b"v" * 50)
    assert ks.over_maxmemory()
    assert ks.evict() is False
    assert len(db) == 20


def test_allkeys_lru_evicts_exact_least_recently_used() -> None:
    ks, _ = make(policy="allkeys-lru")
    db = ks.dbs[0]
    for i in range(10):
        db.set(b"k%d" % i, b"v" * 50)
    db.lookup(b"k0")  # k0 becomes most recently used
    ks.maxmemory = ks.used_memory - 1  # one key too many
    assert ks.evict()
    assert b"k1" not in db.data
    assert b"k0" in db.data
    assert ks.drain_events() == [(0, b"k1", "evicted")]
    assert ks.evicted_keys == 1


def test_volatile_lru_evicts_only_keys_with_ttl_in_lru_order() -> None:
    ks, _ = make(policy="volatile-lru")
    db = ks.dbs[0]
    db.set(b"persistent", b"v" * 50)
    for k in (b"t1", b"t2", b"t3"):
        db.set(k, b"v" * 50)
        db.set_expire(k, ks.now_ms + 100_000)
    db.lookup(b"t1")
    ks.maxmemory = ks.used_memory - 1
    assert ks.evict()
    assert b"t2" not in db.data
    assert {b"persistent", b"t1", b"t3"} <= set(db.data)
    ks.maxmemory = 1
    assert ks.evict() is False  # only the persistent key is left
    assert list(db.data) == [b"persistent"]


def test_volatile_ttl_evicts_nearest_expiry() -> None:
    ks, _ = make(policy="volatile-ttl", samples=10)
    db = ks.dbs[0]
    for i, ttl in enumerate((5000, 1000, 9000)):
        db.set(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, ks.now_ms + ttl)
    ks.maxmemory = ks.used_memory - 1
    assert ks.evict()
    assert b"k1" not in db.data


def test_lfu_evicts_least_frequently_used() -> None:
    ks, _ = make(policy="allkeys-lfu", samples=64)
    db = ks.dbs[0]
    for i in range(8):
        db.set(b"k%d" % i, b"v")
    for _ in range(200):
        for i in range(1, 8):
            db.lookup(b"k%d" % i)
    ks.maxmemory = ks.used_memory - 1
    assert ks.evict()
    assert b"k0" not in db.data


def test_lfu_counter_decays_with_time() -> None:
    ks, clock = make(policy="allkeys-lfu")
    db = ks.dbs[0]
    db.set(b"k", b"v")
    for _ in range(100):
        db.lookup(b"k")
    hot = ks.lfu_counter(db.lfu[b"k"])
    assert hot > 5
    clock.now += 60 * 3  # three minutes, decay time 1 minute
    ks.update_clock()
    assert ks.lfu_counter(db.lfu[b"k"]) == max(0, hot - 3)


@pytest.mark.parametrize("policy", [p for p in POLICIES if p != "noeviction"])
def test_every_policy_gets_under_the_limit(policy: str) -> None:
    ks, _ = make(policy=policy)
    for i in range(300):
        db = ks.dbs[i % 2]
        db.set(b"k%d" % i, b"v" * 64)
        db.set_expire(b"k%d" % i, ks.now_ms + 1000 + i)
    ks.maxmemory = ks.used_memory // 2
    assert ks.evict()
    assert ks.used_memory <= ks.maxmemory
    assert len(ks.drain_events()) >= 100


def test_active_expiry_removes_expired_keys_and_keeps_live_ones() -> None:
    ks, clock = make()
    db = ks.dbs[0]
    for i in range(1000):
        db.set(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, ks.now_ms + (100 if i % 2 else 100_000))
    clock.now += 1
    removed = 0
    for _ in range(50):
        removed += ks.active_expire_cycle(1.0)
    assert removed == 500
    assert len(db) == 500
    assert all(int(k[1:]) % 2 == 0 for k in db.data)


def test_active_expiry_respects_time_budget() -> None:
    ks, clock = make()
    db = ks.dbs[0]
    for i in range(50_000):
        db.set(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, ks.now_ms + 10)
    clock.now += 1
    first = ks.active_expire_cycle(0.0)  # no budget: a single slice per db
    assert 0 < first < 50_000


def test_keys_snapshot_skips_expired() -> None:
    ks, clock = make()
    db = ks.dbs[0]
    db.set(b"a", b"1")
    db.set(b"b", b"2")
    db.set_expire(b"b", ks.now_ms + 10)
    clock.now += 1
    ks.update_clock()
    assert db.keys() == [b"a"]


def test_random_key_returns_live_keys_only() -> None:
    ks, _ = make()
    db = ks.dbs[0]
    assert db.random_key() is None
    for i in range(100):
        db.set(b"k%d" % i, b"v")
    for i in range(99):
        db.delete(b"k%d" % i)
    assert db.random_key() == b"k99"


def test_sampler_sees_keys_added_after_snapshot() -> None:
    data: dict[bytes, object] = {b"a": 1}
    sampler = KeySampler(data)
    assert sampler.sample(1) == [b"a"]
    del data[b"a"]
    for i in range(10):
        data[b"n%d" % i] = 1
    seen = {k for _ in range(50) for k in sampler.sample(3)}
    assert seen and seen <= set(data)


def test_a_sample_as_large_as_the_database_is_every_key() -> None:
    # As Redis's dictGetSomeKeys: eviction sampling with maxmemory-samples >= the number
    # of keys considers every key, so the best candidate is never missed by chance.
    ks, _ = make(policy="volatile-ttl", samples=10)
    db = ks.dbs[0]
    for i in range(3):
        db.set(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, ks.now_ms + 1000 * (i + 1))
    for _ in range(200):
        assert sorted(db._volatile_sampler.sample(10)) == [b"k0", b"k1", b"k2"]
