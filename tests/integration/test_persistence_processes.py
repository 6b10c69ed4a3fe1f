"""SAVE, BGSAVE, the save schedule, SHUTDOWN, DEBUG RELOAD and the startup load, on real
processes; RDB files move between respcache and redis-server in both directions."""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from support import ServerFactory, ServerProcess, wait_until

pytestmark = pytest.mark.integration


def _fill(r: Any) -> None:
    r.set("s", "value")
    r.set("n", 12345)
    r.set("long", "abc" * 50)
    r.set("ttl", "v", px=3_600_000)
    r.rpush("l", *[f"e{i}" for i in range(1000)])
    r.sadd("ints", 1, 2, 3)
    r.sadd("strs", "a", "b")
    r.hset("h", mapping={"f": "v", "g": "w" * 100})
    r.zadd("z", {"a": 1.5, "b": -math.inf, "c": 3})
    r.zadd("zbig", {f"m{i}": i for i in range(300)})
    r.select(2)
    r.set("other-db", "x")
    r.select(0)


def _content(r: Any) -> dict[tuple[int, bytes], Any]:
    out: dict[tuple[int, bytes], Any] = {}
    for db in range(16):
        r.select(db)
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
            else:
                value = r.zrange(key, 0, -1, withscores=True)
            out[db, key] = (kind, value, r.execute_command("PEXPIRETIME", key))
    r.select(0)
    return out


def _persistence(server: ServerProcess) -> dict[str, str]:
    info = server.client().info("persistence")
    return {k: str(v) for k, v in info.items()}


def _wait_bgsave(server: ServerProcess) -> dict[str, str]:
    assert wait_until(lambda: _persistence(server)["rdb_bgsave_in_progress"] == "0", 60)
    return _persistence(server)


def test_save_then_restart_loads_everything(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(enable_debug_command="yes")
    r = server.client()
    _fill(r)
    before = _content(r)
    digest = r.execute_command("DEBUG", "DIGEST")
    assert r.save()
    assert (server.workdir / "dump.rdb").read_bytes()[:9] == b"REDIS0010"
    assert r.lastsave().timestamp() >= time.time() - 5
    r.set("after-save", "lost on restart")  # save "" : no save at shutdown
    server.restart()
    r = server.client()
    assert _content(r) == before
    assert r.execute_command("DEBUG", "DIGEST") == digest
    info = _persistence(server)
    assert info["rdb_last_load_keys_loaded"] == str(len(before))
    assert info["loading"] == "0"


def test_bgsave_file_loads_in_redis(server_factory: ServerFactory, tmp_path: Path) -> None:
    server = server_factory.respcache()
    r = server.client()
    _fill(r)
    before = _content(r)
    assert r.bgsave()
    info = _wait_bgsave(server)
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["rdb_changes_since_last_save"] == "0"
    assert int(info["rdb_saves"]) == 1
    target_dir = tmp_path / "to-redis"
    target_dir.mkdir()
    shutil.copy(server.workdir / "dump.rdb", target_dir / "dump.rdb")
    redis = server_factory.redis(extra_args=["--dir", str(target_dir)])
    assert _content(redis.client()) == before


def test_redis_file_loads_at_startup(server_factory: ServerFactory) -> None:
    redis = server_factory.redis()
    rr = redis.client()
    _fill(rr)
    before = _content(rr)
    assert rr.save()
    server = server_factory.respcache(extra_args=["--dir", str(redis.workdir)])
    assert _content(server.client()) == before


def test_shutdown_saves_with_save_points_and_nosave_does_not(
    server_factory: ServerFactory,
) -> None:
    server = server_factory.respcache(save="3600 1")
    r = server.client()
    r.set("k", "1")
    r.shutdown()
    server.wait(20)
    server.proc = None
    server.start()
    r = server.client()
    assert r.get("k") == b"1"
    r.set("k", "2")
    r.shutdown(nosave=True)
    server.wait(20)
    server.proc = None
    server.start()
    assert server.client().get("k") == b"1"


def test_sigterm_saves_with_save_points(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(save="3600 1")
    server.client().set("k", "v")
    server.restart()  # SIGTERM
    assert server.client().get("k") == b"v"


def test_save_schedule_triggers_bgsave(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(save="1 2")
    r = server.client()
    r.set("a", "1")
    time.sleep(1.5)
    assert _persistence(server)["rdb_saves"] == "0"  # one change: below the point
    r.set("b", "2")
    assert wait_until(lambda: _persistence(server)["rdb_saves"] == "1", 10)
    assert _persistence(server)["rdb_changes_since_last_save"] == "0"


def test_failed_bgsave_refuses_writes_with_misconf(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    doomed = tmp_path / "doomed"
    doomed.mkdir()
    server = server_factory.respcache(save="3600 1")
    r = server.raw()
    r.call("CONFIG", "SET", "dir", str(doomed))
    doomed.rmdir()  # the child cannot create its temp file
    assert r.call("BGSAVE").value == b"Background saving started"
    assert wait_until(lambda: _persistence(server)["rdb_last_bgsave_status"] == "err", 20)
    reply = r.call("SET", "k", "v")
    assert reply.is_error and reply.text().startswith("MISCONF Redis is configured to save RDB")
    assert r.call("PING").text().startswith("MISCONF")
    assert r.call("GET", "k").value is None  # reads still work
    r.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
    assert r.call("SET", "k", "v").value == b"OK"
    r.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes")
    r.call("CONFIG", "SET", "dir", str(tmp_path))
    assert r.call("SAVE").value == b"OK"  # a successful save clears the error
    assert r.call("SET", "k", "w").value == b"OK"


def test_debug_reload_keeps_the_data(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(enable_debug_command="yes")
    r = server.client()
    _fill(r)
    before = _content(r)
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert _content(r) == before
    r.set("extra", "1")
    assert r.execute_command("DEBUG", "RELOAD", "NOSAVE") == b"OK"  # the file has no "extra"
    assert r.get("extra") is None
    assert _content(r) == before


def test_corrupt_file_stops_startup(server_factory: ServerFactory, tmp_path: Path) -> None:
    (tmp_path / "dump.rdb").write_bytes(b"REDIS0010\xfe\x00\x00\x01k")
    with pytest.raises(Exception, match=r"Unexpected EOF|exited"):
        server_factory.respcache(extra_args=["--dir", str(tmp_path)])


def test_flushall_saves_the_empty_dataset_with_save_points(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(save="3600 1000")
    r = server.client()
    r.set("k", "v")
    assert r.save()
    r.set("k2", "v")
    r.flushall()
    assert _persistence(server)["rdb_changes_since_last_save"] == "1"  # as Redis: the FLUSHALL
    server.kill()
    server.proc = None
    server.start()
    assert server.client().dbsize() == 0


def test_rdb_records_the_replication_id_and_offset(server_factory: ServerFactory) -> None:
    from respcache.persistence.rdb import LoadResult, iter_entries

    server = server_factory.respcache()
    r = server.client()
    r.set("k", "v")
    assert r.save()
    info = r.info("replication")
    result = LoadResult()
    entries = list(iter_entries((server.workdir / "dump.rdb").read_bytes(), result))
    assert len(entries) == 1
    assert result.repl_id == info["master_replid"]
    assert result.repl_offset == info["master_repl_offset"]
