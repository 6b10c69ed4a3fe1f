"""Live migration: respcache REPLICAOF a real redis-server 7.0 primary under write load.

The primary is written to by a thread (strings, counters, hashes, lists, sets, sorted
sets, TTLs, transactions, two databases) while respcache syncs from it: it loads the
RDB of the full sync and applies the command stream. Once the writes stop and the
offsets agree, every key must have the same type, value and TTL on both. A dropped link continues
with a partial resync (``+CONTINUE``), and ``REPLICAOF NO ONE`` makes respcache a
writable primary.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from typing import Any

import pytest
from support import ServerFactory, wait_until

from respcache.persistence.rdb import load_rdb
from respcache.store.keyspace import Keyspace

pytestmark = pytest.mark.integration

TTL_MS = 600_000  # long: nothing expires during the test (expiry order is not compared)


def _prefill(r: Any) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"s:{i}", f"v{i}" * (i % 9 + 1))
    for i in range(50):
        pipe.hset(f"h:{i}", mapping={f"f{j}": j for j in range(i * 5 + 1)})
        pipe.rpush(f"l:{i}", *[f"e{j}" for j in range(i * 10 + 1)])
        pipe.sadd(f"set:{i}", *range(i * 3 + 1))
        pipe.sadd(f"sset:{i}", *[f"m{j}" for j in range(i + 1)])
        pipe.zadd(f"z:{i}", {f"m{j}": j / 3 for j in range(i * 4 + 1)})
        pipe.set(f"ttl:{i}", "x", px=TTL_MS + i)
    pipe.execute()


def _write(r: Any, rng: random.Random) -> None:
    i = rng.randrange(3000)
    op = rng.randrange(11)
    if op == 0:
        r.set(f"s:{i}", rng.randbytes(rng.randrange(1, 60)))
    elif op == 1:
        r.incrby(f"n:{i % 40}", rng.randrange(1, 100))
    elif op == 2:
        r.hset(f"h:{i % 80}", f"f{rng.randrange(200)}", i)
    elif op == 3:
        r.rpush(f"l:{i % 80}", i) if rng.random() < 0.7 else r.lpop(f"l:{i % 80}")
    elif op == 4:
        r.sadd(f"set:{i % 80}", i) if rng.random() < 0.7 else r.spop(f"set:{i % 80}")
    elif op == 5:
        r.zadd(f"z:{i % 80}", {f"m{i}": rng.random()})
    elif op == 6:
        r.set(f"ttl:{i}", "y", ex=TTL_MS // 1000)
    elif op == 7:
        r.delete(f"s:{i}")
    elif op == 8:
        pipe = r.pipeline(transaction=True)
        pipe.incr("tx:a").lpush("tx:l", i).hincrby("tx:h", "n", 1)
        pipe.execute()
    elif op == 9:
        r.pexpire(f"h:{i % 80}", TTL_MS)
    else:
        r.execute_command("SELECT", 1)
        r.set(f"db1:{i}", i)
        r.execute_command("SELECT", 0)


class Writer(threading.Thread):
    def __init__(self, r: Any, seed: int) -> None:
        super().__init__(daemon=True)
        self.r = r
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.count = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            _write(self.r, self.rng)
            self.count += 1

    def stop(self) -> int:
        self.stopping.set()
        self.join(10)
        return self.count


def _info(r: Any) -> dict[str, Any]:
    return r.info("replication")  # type: ignore[no-any-return]


_READ = {
    b"string": lambda p, k: p.get(k),
    b"hash": lambda p, k: p.hgetall(k),
    b"list": lambda p, k: p.lrange(k, 0, -1),
    b"set": lambda p, k: p.smembers(k),
    b"zset": lambda p, k: p.zrange(k, 0, -1, withscores=True),
}


_DEBUG = {"enable-debug-command": "yes"}  # DEBUG DIGEST on both sides


def _content(r: Any) -> dict[tuple[int, bytes], tuple[bytes, Any, bool]]:
    """Every key of databases 0 and 1: (type, value, has a TTL).

    (Values are compared as well as DEBUG DIGEST: a difference is then shown by key.)
    """
    out: dict[tuple[int, bytes], tuple[bytes, Any, bool]] = {}
    for db in (0, 1):
        r.execute_command("SELECT", db)
        keys = sorted(r.keys("*"))
        pipe = r.pipeline(transaction=False)
        for key in keys:
            pipe.type(key)
            pipe.pttl(key)
        meta = pipe.execute()
        pipe = r.pipeline(transaction=False)
        for i, key in enumerate(keys):
            _READ[meta[2 * i]](pipe, key)
        values = pipe.execute()
        for i, key in enumerate(keys):
            out[db, key] = (meta[2 * i], values[i], meta[2 * i + 1] > 0)
    r.execute_command("SELECT", 0)
    return out


def _same_content(primary: Any, replica: Any) -> None:
    theirs, ours = _content(primary), _content(replica)
    differ = [k for k in theirs.keys() | ours.keys() if theirs.get(k) != ours.get(k)]
    assert not differ, [(k, theirs.get(k), ours.get(k)) for k in sorted(differ)[:5]]
    assert len(ours) > 2000
    assert replica.execute_command("DEBUG", "DIGEST") == primary.execute_command("DEBUG", "DIGEST")


def _caught_up(primary: Any, replica: Any) -> bool:
    theirs = _info(primary)["master_repl_offset"]
    ours = _info(replica)
    return ours.get("master_link_status") == "up" and ours["slave_repl_offset"] == theirs


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_respcache_follows_a_redis_primary_under_load(
    server_factory: ServerFactory, diskless: str
) -> None:
    redis = server_factory.redis(
        {"repl-diskless-sync": diskless, "repl-diskless-sync-delay": 0, **_DEBUG}
    )
    rc = server_factory.respcache(_DEBUG)
    primary = redis.client()
    replica = rc.client()
    _prefill(primary)
    writer = Writer(redis.client(), seed=1 if diskless == "yes" else 2)
    writer.start()
    try:
        wait_until(lambda: writer.count > 200, timeout=10)
        assert replica.execute_command("REPLICAOF", "127.0.0.1", str(redis.port)) == b"OK"
        assert wait_until(lambda: _info(replica).get("master_link_status") == "up", timeout=10)
        start = writer.count
        wait_until(lambda: writer.count > start + 300, timeout=10)
    finally:
        writes = writer.stop()
    assert writes > 500
    assert wait_until(lambda: _caught_up(primary, replica), timeout=10), (
        _info(primary),
        _info(replica),
    )
    assert primary.info("stats")["sync_full"] == 1
    # The primary hears our offset: REPLCONF ACK every second and on GETACK (WAIT).
    assert primary.wait(1, 5000) == 1
    offset = _info(primary)["master_repl_offset"]
    assert wait_until(lambda: _info(primary)["slave0"]["offset"] == offset, timeout=5)
    _same_content(primary, replica)
    assert primary.dbsize() == replica.dbsize() > 2000
    assert replica.get("s:1") == primary.get("s:1")
    assert replica.pttl("ttl:1") > 0

    # The link drops: the replica continues from its offset (+CONTINUE), no full sync.
    primary.client_kill_filter(_type="replica")
    primary.set("after:drop", "1")
    primary.hset("h:0", "dropped", "yes")
    assert wait_until(lambda: _caught_up(primary, replica), timeout=10)
    stats = primary.info("stats")
    assert (stats["sync_full"], stats["sync_partial_ok"]) == (1, 1)
    assert replica.get("after:drop") == b"1"
    _same_content(primary, replica)

    # Promotion: respcache takes writes.
    assert replica.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    assert replica.set("written:on:respcache", "yes")
    assert replica.info("replication")["role"] == "master"
    assert replica.get("after:drop") == b"1"


def test_redis_follows_a_respcache_primary_under_load(server_factory: ServerFactory) -> None:
    """The reverse: a redis-server REPLICAOF respcache gets an RDB, then the stream, and is
    asynchronous (respcache's writes never wait for it)."""
    rc = server_factory.respcache(_DEBUG)
    redis = server_factory.redis(_DEBUG)
    primary = rc.client()
    replica = redis.client()
    _prefill(primary)
    writer = Writer(rc.client(), seed=7)
    writer.start()
    try:
        wait_until(lambda: writer.count > 200, timeout=10)
        assert replica.execute_command("REPLICAOF", "127.0.0.1", str(rc.port)) == b"OK"
        assert wait_until(lambda: _info(replica).get("master_link_status") == "up", timeout=10)
        start = writer.count
        wait_until(lambda: writer.count > start + 300, timeout=10)
    finally:
        writes = writer.stop()
    assert writes > 500
    assert wait_until(lambda: _caught_up(primary, replica), timeout=10), (
        _info(primary),
        _info(replica),
    )
    _same_content(primary, replica)
    assert _info(primary)["connected_slaves"] == 1
    # Its REPLCONF ACKs (once a second) reach our offset: still not in the ISR.
    offset = _info(primary)["master_repl_offset"]
    assert wait_until(lambda: _info(primary)["slave0"]["offset"] == offset, timeout=5)
    assert not _info(primary).get("isr")
    # Not in the in-sync set: a write is acknowledged at once even while the replica
    # is stopped (SIGSTOP) and cannot acknowledge anything.
    redis.signal(signal.SIGSTOP)
    try:
        assert primary.set("while:stopped", "1")
        assert primary.incr("tx:a") > 0
    finally:
        redis.signal(signal.SIGCONT)
    assert wait_until(lambda: replica.get("while:stopped") == b"1", timeout=10)


def test_a_legacy_sync_replica_gets_a_bare_rdb_and_does_not_hold_writes(
    server_factory: ServerFactory,
) -> None:
    """SYNC (no PSYNC): ``$<length>`` and the RDB with no +FULLRESYNC line, as Redis; the
    replica never acknowledges, and writes go on (no NOREPLICAS/NOTCOMMITTED)."""
    rc = server_factory.respcache({"repl-timeout": 1})
    primary = rc.client()
    primary.set("k", "v")
    primary.rpush("l", "a", "b")
    raw = rc.raw()
    raw.send_raw(b"SYNC\r\n")
    head = b""
    while not head.endswith(b"\r\n"):
        head = (head + raw.read_bytes(1)).lstrip(b"\n")  # keepalive newlines first
    assert head.startswith(b"$"), head
    rdb = raw.read_bytes(int(head[1:-2]))
    keyspace = Keyspace(16)
    load_rdb(rdb, keyspace)
    assert keyspace.dbs[0].data[b"k"] == b"v"
    for i in range(20):
        assert primary.set(f"after:{i}", i)
    assert primary.wait(1, 50) == 0  # connected, but it never acknowledged
    stream = [b""]
    assert wait_until(
        lambda: stream.append(raw.read_available(0.05)) or b"after:19" in b"".join(stream)
    )
    # Silent for more than repl-timeout: a SYNC replica is not dropped (it never ACKs).
    time.sleep(1.5)
    primary.set("late", "1")
    assert wait_until(
        lambda: stream.append(raw.read_available(0.05)) or b"late" in b"".join(stream)
    )
    assert _info(primary)["connected_slaves"] == 1
    raw.close()
