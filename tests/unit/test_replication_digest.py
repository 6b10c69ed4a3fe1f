"""Digests: the strict `dataset_digest` is equal exactly when data and TTLs are equal;
DEBUG DIGEST / DIGEST-VALUE (Redis's algorithm) see whether a key has a TTL."""

from __future__ import annotations

from conftest import Run

from respcache.commands import Client, Engine
from respcache.commands.digest import ZERO, dataset_digest
from respcache.config import Config
from respcache.store.keyspace import Keyspace
from respcache.store.values import HashValue, ListValue, SetValue

try:
    from respcache.store.zset import ZSetValue
except ImportError:  # sorted sets not in this tree yet
    ZSetValue = None  # type: ignore[assignment,misc]


def _ks() -> Keyspace:
    return Keyspace(4)


def test_empty_dataset_is_zeros() -> None:
    assert dataset_digest(_ks().dbs) == ZERO


def test_order_of_insertion_and_lru_do_not_matter() -> None:
    a, b = _ks(), _ks()
    for i in range(100):
        a.dbs[0].set(b"k%d" % i, b"v%d" % i)
    for i in reversed(range(100)):
        b.dbs[0].set(b"k%d" % i, b"v%d" % i)
    b.dbs[0].lookup(b"k5")
    assert dataset_digest(a.dbs) == dataset_digest(b.dbs) != ZERO


def _differs(change: object) -> None:
    a, b = _ks(), _ks()
    for ks in (a, b):
        ks.dbs[0].set(b"k", b"v")
    change(b)  # type: ignore[operator]
    assert dataset_digest(a.dbs) != dataset_digest(b.dbs)


def test_every_difference_shows() -> None:
    _differs(lambda ks: ks.dbs[0].set(b"k", b"w"))  # value
    _differs(lambda ks: ks.dbs[0].set(b"k2", b"v"))  # one more key
    _differs(lambda ks: ks.dbs[0].delete(b"k"))  # one key fewer
    _differs(lambda ks: (ks.dbs[0].delete(b"k"), ks.dbs[1].set(b"k", b"v")))  # db
    _differs(lambda ks: ks.dbs[0].set_expire(b"k", 1_700_000_000_000))  # a TTL


def test_ttl_values_matter() -> None:
    a, b = _ks(), _ks()
    for ks, when in ((a, 1_700_000_000_000), (b, 1_700_000_000_001)):
        ks.dbs[0].set(b"k", b"v")
        ks.dbs[0].set_expire(b"k", when)
    assert dataset_digest(a.dbs) != dataset_digest(b.dbs)


def test_types_are_distinguished() -> None:
    a, b = _ks(), _ks()
    lst = ListValue()
    lst.append(b"x")
    st = SetValue()
    st.add(b"x")
    a.dbs[0].set(b"k", lst)
    b.dbs[0].set(b"k", st)
    assert dataset_digest(a.dbs) != dataset_digest(b.dbs)


def test_containers() -> None:
    def build(order: list[int]) -> Keyspace:
        ks = _ks()
        h, s, lst = HashValue(), SetValue(), ListValue()
        scores = {}
        for i in order:
            h[b"f%d" % i] = b"v%d" % i
            s.add(b"m%d" % i)
            scores[b"z%d" % i] = float(i)
        lst.extend([b"a", b"b"])
        ks.dbs[0].set(b"h", h)
        ks.dbs[0].set(b"s", s)
        ks.dbs[0].set(b"l", lst)
        if ZSetValue is not None:
            ks.dbs[0].set(b"z", ZSetValue.from_scores(scores))
        return ks

    assert dataset_digest(build([1, 2, 3]).dbs) == dataset_digest(build([3, 1, 2]).dbs)
    changed = build([1, 2, 3])
    lst = changed.dbs[0].data[b"l"]
    assert isinstance(lst, ListValue)
    lst.reverse()  # lists are ordered
    assert dataset_digest(changed.dbs) != dataset_digest(build([1, 2, 3]).dbs)
    h = build([1, 2, 3])
    hv = h.dbs[0].data[b"h"]
    assert isinstance(hv, HashValue)
    hv[b"f1"], hv[b"f2"] = hv[b"f2"], hv[b"f1"]  # values swapped between fields
    assert dataset_digest(h.dbs) != dataset_digest(build([1, 2, 3]).dbs)


def test_debug_digest_commands(engine: Engine, client: Client, run: Run) -> None:
    assert run(client, "DEBUG", "DIGEST") == ZERO
    assert run(client, "SET", "a", "1") is not None
    digest = run(client, "DEBUG", "DIGEST")
    assert isinstance(digest, str) and len(digest) == 40 and digest != ZERO
    values = run(client, "DEBUG", "DIGEST-VALUE", "a", "missing")
    assert isinstance(values, list)
    assert values[1] == ZERO and values[0] != ZERO
    other = Engine(Config(enable_debug_command="yes"))
    c2 = other.new_client()
    run(c2, "SET", "a", "1")
    assert run(c2, "DEBUG", "DIGEST") == digest
    assert run(c2, "DEBUG", "DIGEST-VALUE", "a") == [values[0]]
    run(c2, "PEXPIREAT", "a", "99999999999999")
    assert run(c2, "DEBUG", "DIGEST") != digest
    assert run(c2, "DEBUG", "DIGEST-VALUE", "a") != [values[0]]
