"""Lazy freeing (store/lazyfree.py): free effort, the worker's draining, UNLINK and ASYNC."""

from __future__ import annotations

from conftest import run

from respcache.commands import Client, Engine
from respcache.commands.keys import object_encoding
from respcache.protocol.types import OK
from respcache.store.lazyfree import LAZYFREE_THRESHOLD, LazyFree, free_effort


def info_field(client: Client, name: str) -> str:
    text = run(client, "INFO", "memory")
    assert isinstance(text, bytes | str)
    raw = text.decode() if isinstance(text, bytes) else text
    for line in raw.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    raise AssertionError(name)


def test_free_effort_by_type_and_encoding(client: Client, engine: Engine) -> None:
    db = engine.keyspace.dbs[0]

    def effort(key: bytes) -> int:
        return free_effort(db.data[key], object_encoding(client, key, db.data[key]))

    run(client, "SET", "s", "x")
    run(client, "SADD", "small", "1", "2")
    run(client, "SADD", "big", *[f"m{i}" for i in range(600)])
    run(client, "HSET", "h", *[x for i in range(600) for x in (f"f{i}", "v")])
    run(client, "ZADD", "z", *[x for i in range(600) for x in (str(i), f"m{i}")])
    run(client, "RPUSH", "l", *["x" * 1000 for _ in range(100)])
    assert effort(b"s") == 1
    assert effort(b"small") == 1  # intset: one allocation
    assert effort(b"big") == 600  # hashtable: one per member
    assert effort(b"h") == 600  # (past hash-max-listpack-entries)
    assert effort(b"z") == 600  # skiplist
    assert 10 <= effort(b"l") <= 14  # ~100 KB in 8 KB quicklist nodes


def test_stream_effort_counts_nodes_and_groups(client: Client, engine: Engine) -> None:
    run(client, "CONFIG", "SET", "stream-node-max-entries", 5)
    for i in range(100):
        run(client, "XADD", "st", "*", "f", i)
    run(client, "XGROUP", "CREATE", "st", "g", "0")
    run(client, "XREADGROUP", "GROUP", "g", "alice", "COUNT", 3, "STREAMS", "st", ">")
    value = engine.keyspace.dbs[0].data[b"st"]
    assert free_effort(value, "stream") == 20 + 1 * (1 + 3)


def test_worker_drains_and_counts() -> None:
    lazy = LazyFree()
    big = {i: {j: [b"x"] for j in range(50)} for i in range(100)}
    lazy.free(big, 1)
    del big
    assert lazy.wait_idle()
    assert lazy.pending == 0 and lazy.lazyfreed_objects == 1
    lazy.reset_stats()
    assert lazy.lazyfreed_objects == 0


def test_worker_never_changes_an_object_someone_else_holds() -> None:
    lazy = LazyFree()
    shared = {b"k": b"v"}
    lazy.free({b"a": shared, b"b": {b"x": b"y"}}, 1)
    assert lazy.wait_idle()
    assert shared == {b"k": b"v"}
    kept = set(range(1000))
    lazy.free(kept, 1)
    assert lazy.wait_idle()
    assert len(kept) == 1000


def test_unlink_frees_big_values_in_background(client: Client) -> None:
    run(client, "SADD", "big", *[str(i) for i in range(600)])  # hashtable: 600 > threshold
    run(client, "SADD", "small", *[f"m{i}" for i in range(LAZYFREE_THRESHOLD)])  # effort 64
    run(client, "SET", "s", "v")
    assert run(client, "UNLINK", "big", "small", "s", "missing") == 3
    assert run(client, "EXISTS", "big", "small", "s") == 0
    assert client.engine.keyspace.lazyfree.wait_idle()
    assert info_field(client, "lazyfreed_objects") == "1"
    assert info_field(client, "lazyfree_pending_objects") == "0"


def test_del_is_lazy_only_with_lazyfree_lazy_user_del(client: Client) -> None:
    lazy = client.engine.keyspace.lazyfree
    members = [f"m{i}" for i in range(600)]
    run(client, "SADD", "a", *members)
    assert run(client, "DEL", "a") == 1
    assert lazy.submitted == 0
    assert run(client, "CONFIG", "SET", "lazyfree-lazy-user-del", "yes") == OK
    run(client, "SADD", "a", *members)
    assert run(client, "DEL", "a") == 1
    assert lazy.submitted == 1


def test_flush_async_hands_the_tables_over(client: Client, engine: Engine) -> None:
    lazy = engine.keyspace.lazyfree
    for i in range(10):
        run(client, "SET", f"k{i}", "v", "EX", 100)
    assert run(client, "FLUSHDB", "ASYNC") == OK
    assert run(client, "DBSIZE") == 0
    assert lazy.wait_idle() and lazy.lazyfreed_objects == 10
    run(client, "SET", "a", "1")
    assert run(client, "FLUSHDB") == OK  # SYNC: not counted
    assert lazy.lazyfreed_objects == 10
    run(client, "CONFIG", "SET", "lazyfree-lazy-user-flush", "yes")
    run(client, "SET", "a", "1")
    run(client, "SELECT", 3)
    run(client, "SET", "b", "1")
    assert run(client, "FLUSHALL") == OK
    assert lazy.wait_idle() and lazy.lazyfreed_objects == 12
    run(client, "SET", "c", "1")
    assert run(client, "FLUSHALL", "SYNC") == OK
    assert lazy.lazyfreed_objects == 12
    run(client, "CONFIG", "RESETSTAT")
    assert info_field(client, "lazyfreed_objects") == "0"
