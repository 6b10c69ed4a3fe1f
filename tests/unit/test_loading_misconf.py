"""Loading state and disk-error refusals without sockets: the loaders' steps, the
``loading_*`` INFO arithmetic (server.c), the LOADING gate, and the AOF's MISCONF."""

from __future__ import annotations

import errno
from pathlib import Path

from respcache.commands import Client, Engine
from respcache.config import Config
from respcache.persistence.aof import encode_command, load_commands_steps
from respcache.persistence.loading import LOADING, LoadProgress, drain
from respcache.persistence.rdb import load_rdb_steps, save_keyspace_bytes
from respcache.protocol.types import OK
from respcache.store.keyspace import Keyspace


def run(client: Client, *args: str | int) -> object:
    return client.engine.execute(client, [str(a).encode() for a in args])


def test_progress_info_lines_follow_redis_arithmetic() -> None:
    progress = LoadProgress()
    assert progress.info_lines() == []
    progress.begin(1000)
    progress.advance(250)
    start = progress.start_time
    assert progress.info_lines(now=start) == [
        f"loading_start_time:{start}",
        "loading_total_bytes:1000",
        "loading_rdb_used_mem:0",
        "loading_loaded_bytes:250",
        "loading_loaded_perc:25.00",
        "loading_eta_seconds:1",  # no time elapsed: Redis's fake 1 second
    ]
    assert progress.info_lines(now=start + 10)[-1] == f"loading_eta_seconds:{10 * 750 // 251}"
    progress.total_bytes = 0  # (a replication stream of unknown size: the used-mem estimate)
    progress.rdb_used_mem = 200
    assert progress.info_lines(now=start)[4] == "loading_loaded_perc:99.99"
    progress.end()
    assert progress.info_lines() == []


def test_rdb_loader_yields_every_interval_bytes_and_records_progress() -> None:
    source = Keyspace()
    for i in range(3000):
        source.dbs[0].data[b"key:%d" % i] = b"value:%d" % i
    data = save_keyspace_bytes(source, compress=False)
    target = Keyspace()
    progress = LoadProgress()
    progress.begin(len(data))
    steps = load_rdb_steps(data, target, progress=progress, interval=4096)
    seen = []
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            result = stop.value
            break
        seen.append(progress.loaded_bytes)
    assert result.keys_loaded == 3000 and len(target.dbs[0].data) == 3000
    assert len(seen) >= len(data) // 4096 - 2
    assert seen == sorted(seen) and all(0 < pos < len(data) for pos in seen)
    # Without an interval it never yields.
    assert drain(load_rdb_steps(data, Keyspace())).keys_loaded == 3000


def test_aof_loader_yields_every_1024_commands() -> None:
    data = b"".join(encode_command([b"SET", b"k%d" % i, b"v"]) for i in range(3000))
    ran: list[list[bytes]] = []
    progress = LoadProgress()
    steps = load_commands_steps(data, 0, lambda argv: ran.append(argv) is None, "f", None, progress)
    yields = 0
    for _ in steps:
        yields += 1
        assert len(ran) == 1024 * yields - 1  # (the 1024th is parsed, not yet run)
    assert yields == 2 and len(ran) == 3000
    assert 0 < progress.loaded_bytes < len(data)


def test_loading_gate_refuses_commands_without_the_loading_flag() -> None:
    engine = Engine(Config())
    client = Client(engine)
    engine.persistence.progress.begin(100)
    for command in (("GET", "k"), ("SET", "k", "v"), ("PING",)):
        reply = run(client, *command)
        assert getattr(reply, "message", None) == LOADING, command
    assert run(client, "CONFIG", "GET", "maxmemory") == {b"maxmemory": b"0"}
    assert b"loading:1" in run(client, "INFO", "persistence")  # type: ignore[operator]
    assert run(client, "MULTI") == OK  # EXEC of loading commands only runs
    run(client, "CONFIG", "GET", "maxmemory")
    assert run(client, "EXEC") == [{b"maxmemory": b"0"}]
    assert run(client, "MULTI") == OK
    assert getattr(run(client, "GET", "k"), "message", None) == LOADING  # (refused queueing)
    assert "EXECABORT" in getattr(run(client, "EXEC"), "message", "")
    engine.persistence.progress.end()
    assert run(client, "SET", "k", "v") == OK


def test_aof_write_error_is_misconf_until_a_write_succeeds(tmp_path: Path) -> None:
    engine = Engine(Config(dir=str(tmp_path), appendonly=True))
    client = Client(engine)
    engine.aof.load_manifest()
    engine.aof.open_on_start()
    aof = engine.aof
    aof.last_write_ok = False
    aof.last_write_errno = errno.ENOSPC
    expected = "MISCONF Errors writing to the AOF file: No space left on device"
    assert getattr(run(client, "SET", "k", "v"), "message", None) == expected
    assert getattr(run(client, "PING"), "message", None) == expected
    assert run(client, "GET", "k") is None
    assert b"aof_last_write_status:err" in run(client, "INFO", "persistence")  # type: ignore[operator]
    aof.last_write_ok = True
    aof.bio_fsync_ok = False  # a failed background fsync refuses writes too
    aof.bio_fsync_errno = errno.EIO
    assert getattr(run(client, "SET", "k", "v"), "message", None) == (
        "MISCONF Errors writing to the AOF file: Input/output error"
    )
    aof.bio_fsync_ok = True
    assert run(client, "SET", "k", "v") == OK
    aof.shutdown()


def test_failed_bgsave_refuses_writes_only_with_save_points_and_stop_writes(
    tmp_path: Path,
) -> None:
    from respcache.persistence.saver import MISCONF

    engine = Engine(Config(dir=str(tmp_path), save="3600 1"))
    client = Client(engine)
    assert run(client, "SET", "k", "v") == OK
    engine.persistence.last_bgsave_ok = False
    assert getattr(run(client, "SET", "k", "v"), "message", None) == MISCONF
    assert getattr(run(client, "PING"), "message", None) == MISCONF
    assert run(client, "GET", "k") == b"v"
    engine.config.set("stop-writes-on-bgsave-error", "no")
    assert run(client, "SET", "k", "w") == OK
    engine.config.set("stop-writes-on-bgsave-error", "yes")
    engine.config.set("save", "")
    assert run(client, "SET", "k", "x") == OK
    engine.persistence.last_bgsave_ok = True
    engine.config.set("save", "3600 1")
    assert run(client, "SET", "k", "y") == OK
