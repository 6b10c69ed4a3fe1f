"""The AOF on real processes: directories move between respcache and redis-server both
ways, CONFIG SET appendonly yes, and with ``appendfsync always`` nothing acknowledged is
lost by a SIGKILL, on a leader and on a follower."""

from __future__ import annotations

import math
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from redis.backoff import NoBackoff
from redis.retry import Retry
from support import ServerFactory, ServerProcess, wait_until

pytestmark = pytest.mark.integration

AOF = {"appendonly": "yes", "appendfsync": "always"}
LIBRARY = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 1 end)"


def _fill(r: Any) -> None:
    r.set("s", "value")
    r.set("n", 12345)
    r.set("ttl", "v", px=3_600_000)
    r.expire("n", 7200)
    r.rpush("l", *[f"e{i}" for i in range(300)])
    r.sadd("ints", 1, 2, 3)
    r.sadd("strs", "a", "b")
    r.hset("h", mapping={"f": "v", "g": "w" * 100})
    r.zadd("z", {"a": 1.5, "b": -math.inf, "c": 3})
    r.incrbyfloat("fl", "2.5")
    with r.pipeline(transaction=True) as p:
        p.incr("counter")
        p.lpush("l2", "x")
        p.execute()
    r.eval("redis.call('set', KEYS[1], ARGV[1]) redis.call('incr', 'counter')", 1, "ev", "x")
    for i in range(120):  # a stream of several nodes, groups, consumers, pending entries
        r.xadd("st", {"f": i, "g": "v" * (i % 5)} if i % 3 else {"other": i})
    r.xgroup_create("st", "g1", id="0")
    r.xgroup_create("st", "g2", id="$")
    r.xreadgroup("g1", "alice", {"st": ">"}, count=10)
    r.xreadgroup("g1", "bob", {"st": ">"}, count=5)
    ids = [e[0] for e in r.xrange("st", count=40)]
    r.xack("st", "g1", ids[0], ids[3])
    r.xdel("st", ids[15], ids[30])
    r.xgroup_createconsumer("st", "g2", "idle")
    r.function_load(LIBRARY)
    r.execute_command("SELECT", 2)  # (one connection: redis-py has no pool switching here)
    r.set("other-db", "x")
    r.execute_command("SELECT", 0)


def _more(r: Any) -> None:
    r.set("after-rewrite", "yes")
    r.getdel("s")
    r.rpush("l", "tail")
    r.zincrby("z", 1, "a")
    # Units that change database: SELECT inside MULTI/EXEC in the file, as Redis writes it.
    pipe = r.pipeline(transaction=True)
    pipe.set("tx-db0", "a")
    pipe.execute_command("SELECT", "4")
    pipe.set("tx-db4", "b")
    pipe.execute_command("SELECT", "0")
    pipe.execute()
    r.eval(
        "redis.call('set', 'lua-db0', '1') redis.call('select', 7) redis.call('set', 'lua-db7', '2')",
        0,
    )


def _content(r: Any) -> dict[tuple[int, bytes], Any]:
    out: dict[tuple[int, bytes], Any] = {}
    for db in range(16):
        r.execute_command("SELECT", db)
        for key in r.scan_iter(count=1000):
            kind = r.type(key)
            if kind == b"string":
                value: Any = r.get(key)
            elif kind == b"list":
                value = r.lrange(key, 0, -1)
            elif kind == b"set":
                value = sorted(r.smembers(key))
            elif kind == b"hash":
                value = r.hgetall(key)
            elif kind == b"stream":
                value = _stream(r.execute_command("XINFO", "STREAM", key, "FULL"))
            else:
                value = r.zrange(key, 0, -1, withscores=True)
            out[db, key] = (kind, value, r.execute_command("PEXPIRETIME", key))
    r.execute_command("SELECT", 0)
    out[-1, b"functions"] = sorted(map(str, r.function_list(withcode=True)))
    return out


def _stream(full: dict[bytes, Any]) -> dict[bytes, Any]:
    """XINFO STREAM FULL without the consumers' seen-time (an AOF's XCLAIMs set it anew,
    in Redis too)."""
    for group in full[b"groups"]:
        for consumer in group[b"consumers"]:
            consumer.pop(b"seen-time")
    return full


def _info(server: ServerProcess) -> dict[str, str]:
    return {k: str(v) for k, v in server.client().info("persistence").items()}


def _rewrite(server: ServerProcess) -> None:
    assert server.client().bgrewriteaof()
    assert wait_until(lambda: _info(server)["aof_rewrite_in_progress"] == "0", 30)
    assert _info(server)["aof_last_bgrewrite_status"] == "ok"


def test_redis_aof_dir_loads_in_respcache(server_factory: ServerFactory, tmp_path: Path) -> None:
    redis = server_factory.redis(AOF)
    rr = redis.client(single_connection_client=True)
    _fill(rr)
    _rewrite(redis)  # base (RDB preamble) + a second incr file
    _more(rr)
    before = _content(rr)
    redis.stop()
    target = tmp_path / "to-respcache"
    shutil.copytree(redis.workdir / "appendonlydir", target / "appendonlydir")
    server = server_factory.respcache(AOF, extra_args=["--dir", str(target)])
    assert _content(server.client(single_connection_client=True)) == before
    info = _info(server)
    assert info["aof_enabled"] == "1"
    assert (
        int(info["aof_base_size"])
        == (target / "appendonlydir" / "appendonly.aof.2.base.rdb").stat().st_size
    )


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_respcache_aof_dir_loads_in_redis(
    server_factory: ServerFactory, tmp_path: Path, preamble: str
) -> None:
    server = server_factory.respcache(AOF, aof_use_rdb_preamble=preamble)
    r = server.client(single_connection_client=True)
    _fill(r)
    _rewrite(server)
    _more(r)
    before = _content(r)
    manifest = (server.workdir / "appendonlydir" / "appendonly.aof.manifest").read_text()
    suffix = "rdb" if preamble == "yes" else "aof"
    assert manifest == (
        f"file appendonly.aof.2.base.{suffix} seq 2 type b\n"
        "file appendonly.aof.2.incr.aof seq 2 type i\n"
    )
    server.kill()  # (no shutdown: what is on disk is what was written as it went)
    target = tmp_path / "to-redis"
    shutil.copytree(server.workdir / "appendonlydir", target / "appendonlydir")
    redis = server_factory.redis(AOF, extra_args=["--dir", str(target)])
    assert _content(redis.client(single_connection_client=True)) == before


def test_config_set_appendonly_yes_writes_a_base_then_appends(
    server_factory: ServerFactory,
) -> None:
    server = server_factory.respcache()
    r = server.client(single_connection_client=True)
    _fill(r)
    assert _info(server)["aof_enabled"] == "0"
    assert r.config_set("appendonly", "yes")
    assert wait_until(lambda: _info(server)["aof_rewrite_in_progress"] == "0", 30)
    r.set("after-enable", "1")
    info = _info(server)
    assert info["aof_enabled"] == "1" and info["aof_rewrites"] == "1"
    assert int(info["aof_current_size"]) > int(info["aof_base_size"]) > 0
    before = _content(r)
    server.kill()
    server.argv += ["--appendonly", "yes"]
    server.proc = None
    server.start()
    assert _content(server.client(single_connection_client=True)) == before


def _hammer(server: ServerProcess, name: str, acked: list[str], stop: threading.Event) -> None:
    r = server.client(retry=Retry(NoBackoff(), 0))  # the kill ends it at once
    i = 0
    try:
        while not stop.is_set():
            key = f"{name}:{i}"
            r.set(key, i)
            acked.append(key)
            i += 1
    except Exception:  # the kill cuts the connection: what was acknowledged is in acked
        pass


def _kill_under_load(server: ServerProcess, writers: int = 4, seconds: float = 0.8) -> list[str]:
    stop = threading.Event()
    acked: list[list[str]] = [[] for _ in range(writers)]
    threads = [
        threading.Thread(target=_hammer, args=(server, f"w{n}", acked[n], stop), daemon=True)
        for n in range(writers)
    ]
    for t in threads:
        t.start()
    time.sleep(seconds)
    server.kill()
    stop.set()
    for t in threads:
        t.join(10)
    return [key for keys in acked for key in keys]


def test_sigkill_loses_no_acknowledged_write(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(AOF)
    acked = _kill_under_load(server)
    assert len(acked) > 100
    server.proc = None
    server.start()
    r = server.client()
    missing = [k for k in acked if r.get(k) is None]
    assert missing == []


def test_follower_has_acknowledged_writes_on_disk(server_factory: ServerFactory) -> None:
    leader = server_factory.respcache()
    follower = server_factory.respcache(AOF, replicaof=("127.0.0.1", leader.port))
    assert wait_until(
        lambda: follower.client().info("replication")["master_link_status"] == "up", 20
    )
    assert wait_until(lambda: leader.client().info("replication")["connected_slaves"] == 1, 20)
    leader.client().set("before", "sync")
    acked = _kill_under_load_follower(leader, follower)
    assert len(acked) > 50
    at = follower.argv.index("--replicaof")
    del follower.argv[at : at + 3]  # restarted alone: only its own disk
    follower.proc = None
    follower.start()
    r = follower.client()
    assert r.get("before") == b"sync"
    assert [k for k in acked if r.get(k) is None] == []


def _kill_under_load_follower(leader: ServerProcess, follower: ServerProcess) -> list[str]:
    stop = threading.Event()
    acked: list[str] = []
    thread = threading.Thread(target=_hammer, args=(leader, "w", acked, stop), daemon=True)
    thread.start()
    time.sleep(0.8)
    follower.kill()
    count = len(acked)  # acknowledged by the leader, so by the in-sync follower
    stop.set()
    thread.join(10)
    return acked[:count]
