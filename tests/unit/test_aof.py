"""The AOF without sockets: the manifest format, command loading and truncation, the
engine's feed (what replication propagates), rewrites, and the commit gate's disk barrier."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from respcache.commands import Client, Engine
from respcache.commands.persistence import load_aof
from respcache.config import Config
from respcache.persistence.aof import (
    AofError,
    AofStatus,
    Manifest,
    encode_command,
    format_mark,
    load_commands,
    parse_mark,
)
from respcache.protocol.types import OK
from respcache.server.gate import CommitGate


def run(client: Client, *args: str | int) -> object:
    return client.engine.execute(client, [str(a).encode() for a in args])


# --- manifest ---------------------------------------------------------------------------------


def test_manifest_format_is_redis_7_and_round_trips() -> None:
    am = Manifest()
    assert am.new_base("appendonly.aof", rdb=True) == "appendonly.aof.1.base.rdb"
    assert am.new_incr("appendonly.aof") == "appendonly.aof.1.incr.aof"
    assert am.format() == (
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    )
    # A rewrite: the old base becomes history, the old incr too (the new one is kept).
    am.new_incr("appendonly.aof")
    assert am.new_base("appendonly.aof", rdb=False) == "appendonly.aof.2.base.aof"
    am.rewritten_incr_to_history(keep_last=True)
    text = am.format()
    assert text.splitlines() == [
        "file appendonly.aof.2.base.aof seq 2 type b",
        "file appendonly.aof.1.incr.aof seq 1 type h",
        "file appendonly.aof.1.base.rdb seq 1 type h",
        "file appendonly.aof.2.incr.aof seq 2 type i",
    ]
    again = Manifest.parse(text)
    assert again.format() == text
    assert (again.base_seq, again.incr_seq) == (2, 2)


def test_manifest_quotes_names_that_need_it() -> None:
    am = Manifest()
    am.new_base("my file.aof", rdb=True)
    line = am.format()
    assert line == 'file "my file.aof.1.base.rdb" seq 1 type b\n'
    assert Manifest.parse(line).base is not None
    assert Manifest.parse(line).base.name == "my file.aof.1.base.rdb"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Found an empty AOF manifest"),
        ("file a seq 1\n", "Invalid AOF manifest file format"),
        ("file a/b seq 1 type b\n", "File can't be a path, just a filename"),
        ("file a seq 1 type b\nfile b seq 2 type b\n", "Found duplicate base file information"),
        ("file a seq 2 type i\nfile b seq 2 type i\n", "Found a non-monotonic sequence number"),
        ("file a seq 1 type x\n", "Unknown AOF file type"),
    ],
)
def test_manifest_errors_are_redis_messages(text: str, message: str) -> None:
    with pytest.raises(AofError, match=message):
        Manifest.parse(text)


def test_manifest_skips_comments_and_ignores_unknown_keys() -> None:
    am = Manifest.parse("# hello\nfile a.rdb seq 1 type b future 7\n")
    assert am.base is not None and am.base.name == "a.rdb"


# --- loading commands -------------------------------------------------------------------------------


def _collect(data: bytes) -> tuple[AofStatus | None, int, list[list[bytes]]]:
    seen: list[list[bytes]] = []

    def execute(argv: list[bytes]) -> bool:
        seen.append(argv)
        return argv[0] != b"NOSUCH"

    status, valid = load_commands(data, 0, execute, "f")
    return status, valid, seen


def test_commands_load_and_annotations_are_skipped() -> None:
    data = (
        b"#TS:1700000000\r\n"
        + encode_command([b"SET", b"k", b"v"])
        + encode_command([b"DEL", b"k"])
    )
    status, valid, seen = _collect(data)
    assert status is None and valid == len(data)
    assert seen == [[b"SET", b"k", b"v"], [b"DEL", b"k"]]


def test_truncated_tail_reports_last_whole_command() -> None:
    one = encode_command([b"SET", b"k", b"v"])
    two = encode_command([b"SET", b"k2", b"value"])
    for cut in range(1, len(two)):
        status, valid, seen = _collect(one + two[:cut])
        assert status is AofStatus.TRUNCATED and valid == len(one), cut
        assert seen == [[b"SET", b"k", b"v"]]


def test_open_transaction_at_the_end_is_cut_before_its_multi() -> None:
    one = encode_command([b"SET", b"a", b"1"])
    tail = encode_command([b"MULTI"]) + encode_command([b"SET", b"b", b"2"])
    status, valid, _ = _collect(one + tail)
    assert status is AofStatus.TRUNCATED and valid == len(one)


def test_bad_format_and_unknown_commands_fail() -> None:
    assert _collect(b"GARBAGE\r\n")[0] is AofStatus.FAILED
    assert _collect(encode_command([b"NOSUCH"]))[0] is AofStatus.FAILED


# --- the engine's feed, a restart, a rewrite ------------------------------------------------------


def _engine(tmp_path: Path, **options: str) -> Engine:
    cfg = Config(
        dir=str(tmp_path),
        appendonly="yes",
        appendfsync="always",
        enable_debug_command="yes",
        **options,
    )
    engine = Engine(cfg)
    aof = engine.aof
    aof.load_manifest()
    assert load_aof(engine) in (AofStatus.OK, AofStatus.NOT_EXIST, AofStatus.TRUNCATED)
    aof.open_on_start()
    engine.aof_feed = aof.feed
    return engine


def _content(engine: Engine) -> dict[tuple[int, bytes], object]:
    out: dict[tuple[int, bytes], object] = {}
    for db in engine.keyspace.dbs:
        for key, value in db.data.items():
            out[db.id, key] = (value, db.expires.get(key))
    return out


def _write_some(engine: Engine) -> None:
    c = engine.new_client()
    assert run(c, "SET", "s", "v") == OK
    assert run(c, "SET", "ttl", "v", "EX", 1000) == OK
    run(c, "RPUSH", "l", "a", "b", "c")
    run(c, "SADD", "set", "x", "1")
    run(c, "ZADD", "z", "1.5", "m", "-inf", "n")
    run(c, "HSET", "h", "f", "v")
    run(c, "INCRBYFLOAT", "f", "1.5")
    run(c, "MULTI")
    run(c, "INCR", "n")
    run(c, "SELECT", "3")
    run(c, "SET", "in3", "yes")
    run(c, "EXEC")
    run(c, "EVAL", "redis.call('set', KEYS[1], 'fromscript') return 1", "1", "sk")
    engine.aof.flush()


def test_what_is_fed_reloads_equal_and_expiries_are_absolute(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _write_some(engine)
    incr = (tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes()
    assert b"PXAT" in incr and b"EX\r\n" not in incr  # as replicas get it
    assert b"MULTI" in incr and b"EXEC" in incr
    assert b"EVAL" not in incr  # scripts as their effects
    again = _engine(tmp_path)
    assert _content(again) == _content(engine)
    assert engine.keyspace.dbs[3].data[b"in3"] == b"yes"


def test_publish_is_replicated_but_not_appended(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    c = engine.new_client()
    run(c, "PUBLISH", "ch", "m")
    run(c, "MULTI")
    run(c, "publish", "ch", "m")
    run(c, "EXEC")
    run(c, "MULTI")
    run(c, "PUBLISH", "ch", "m")
    run(c, "SET", "k", "v")
    run(c, "EXEC")
    engine.aof.flush()
    incr = (tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes()
    assert b"PUBLISH" not in incr.upper()
    assert incr.count(b"MULTI") == 1 and b"SET" in incr


def test_debug_loadaof_reloads_and_is_not_appended(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _write_some(engine)
    before = _content(engine)
    c = engine.new_client()
    assert run(c, "DEBUG", "LOADAOF") == OK
    engine.aof.flush()
    assert _content(engine) == before
    incr = (tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes()
    assert b"LOADAOF" not in incr.upper()


def test_truncated_last_file_is_cut_and_loaded(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _write_some(engine)
    path = tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof"
    good = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b"*3\r\n$3\r\nSET\r\n$1\r\nx")
    again = _engine(tmp_path)
    assert path.stat().st_size == good
    assert _content(again) == _content(engine)


def test_truncated_tail_refused_without_aof_load_truncated(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _write_some(engine)
    with open(tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof", "ab") as f:
        f.write(b"*1\r\n$4\r\nPI")
    cfg = Config(dir=str(tmp_path), appendonly="yes", aof_load_truncated="no")
    fresh = Engine(cfg)
    fresh.aof.load_manifest()
    assert load_aof(fresh) is AofStatus.FAILED


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_rewrite_makes_a_new_base_and_drops_history(tmp_path: Path, preamble: str) -> None:
    engine = _engine(tmp_path, aof_use_rdb_preamble=preamble)
    _write_some(engine)
    aof = engine.aof
    aof.rewrite_background()
    run(engine.new_client(), "SET", "during", "rewrite")
    deadline = time.monotonic() + 20
    while not aof.poll():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    aof.flush()
    suffix = "rdb" if preamble == "yes" else "aof"
    directory = tmp_path / "appendonlydir"
    assert (directory / "appendonly.aof.manifest").read_text() == (
        f"file appendonly.aof.2.base.{suffix} seq 2 type b\n"
        "file appendonly.aof.2.incr.aof seq 2 type i\n"
    )
    assert sorted(os.listdir(directory)) == [
        f"appendonly.aof.2.base.{suffix}",
        "appendonly.aof.2.incr.aof",
        "appendonly.aof.manifest",
    ]
    info = "\n".join(aof.info_lines() + aof.enabled_info_lines())
    assert "aof_rewrites:1" in info and "aof_last_bgrewrite_status:ok" in info
    assert f"aof_base_size:{(directory / f'appendonly.aof.2.base.{suffix}').stat().st_size}" in info
    again = _engine(tmp_path)
    assert _content(again) == _content(engine)
    assert again.keyspace.dbs[0].data[b"during"] == b"rewrite"


# --- the replication mark (what a recovery after every node died reads back) ---------------


REPLID = "a" * 40


def test_marks_are_annotations_redis_skips_and_the_last_one_wins() -> None:
    assert format_mark((REPLID, 1234, 7)) == b"#RC:" + REPLID.encode() + b" 1234 7\r\n"
    assert parse_mark(format_mark((REPLID, 1234, 7))) == (REPLID, 1234, 7)
    assert parse_mark(b"#RC:short 1 2\r\n") is None
    assert parse_mark(b"#TS:1700000000\r\n") is None
    data = (
        encode_command([b"SET", b"a", b"1"])
        + format_mark((REPLID, 10, 1))
        + b"#TS:1700000000\r\n"
        + encode_command([b"SET", b"b", b"2"])
        + format_mark((REPLID, 20, 2))
    )
    seen: list[list[bytes]] = []
    marks: list[tuple[str, int, int]] = []
    status, _ = load_commands(data, 0, lambda argv: seen.append(argv) or True, "f", marks.append)
    assert status is None
    assert seen == [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"]]
    assert marks == [(REPLID, 10, 1), (REPLID, 20, 2)]


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_a_restart_from_the_aof_knows_its_replication_history(
    tmp_path: Path, preamble: str
) -> None:
    engine = _engine(tmp_path, aof_use_rdb_preamble=preamble)
    offset = [100]
    engine.aof.repl_mark = lambda: (REPLID, offset[0], 3)
    c = engine.new_client()
    run(c, "SET", "k", "v")
    engine.aof.flush()
    again = _engine(tmp_path, aof_use_rdb_preamble=preamble)
    load = again.persistence.last_load
    assert load is not None
    assert (load.repl_id, load.repl_offset, load.aux["respcache-epoch"]) == (REPLID, 100, b"3")
    # A rewrite's base records the mark as of its fork; later flushes move it on.
    aof = engine.aof
    aof.rewrite_background()
    deadline = time.monotonic() + 20
    while not aof.poll():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    third = _engine(tmp_path, aof_use_rdb_preamble=preamble)
    assert third.persistence.last_load.repl_offset == 100  # type: ignore[union-attr]
    offset[0] = 250
    run(c, "SET", "k", "w")
    aof.flush()
    fourth = _engine(tmp_path, aof_use_rdb_preamble=preamble)
    assert fourth.persistence.last_load.repl_offset == 250  # type: ignore[union-attr]
    assert fourth.keyspace.dbs[0].data[b"k"] == b"w"


# --- the commit gate's disk barrier --------------------------------------------------------------------


class _Waiter:
    def __init__(self, gate: CommitGate) -> None:
        self.gate = gate
        self.need = gate.need()
        self.released = False

    def release(self, committed: int) -> None:
        if self.gate.satisfied(self.need):
            self.released = True
        else:
            self.gate.wait(self)

    def fail_held(self, message: bytes) -> None:
        raise AssertionError(message)


def test_reply_waits_for_both_replication_and_disk() -> None:
    gate = CommitGate()
    gate.advance(100)
    gate.disk_fed(50)
    assert not gate.open
    waiter = _Waiter(gate)
    gate.wait(waiter)
    gate.commit(100)
    assert not waiter.released  # acknowledged, not yet on disk
    gate.disk_sync(50)
    assert waiter.released and gate.open


def test_one_fsync_releases_a_batch_in_order() -> None:
    gate = CommitGate()
    waiters = []
    for total in (10, 20, 30):
        gate.disk_fed(total)
        w = _Waiter(gate)
        gate.wait(w)
        waiters.append(w)
    gate.disk_sync(20)
    assert [w.released for w in waiters] == [True, True, False]
    gate.disk_sync(30)
    assert all(w.released for w in waiters)


def test_appendfsync_always_feed_moves_the_disk_barrier(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    gate = CommitGate()
    aof = engine.aof
    aof.on_synced = gate.disk_sync

    def feed(db: int, commands: list[list[bytes]]) -> None:
        aof.feed(db, commands)
        if aof.gating:
            gate.disk_fed(aof.fed)

    engine.aof_feed = feed
    run(engine.new_client(), "SET", "k", "v")
    assert not gate.open  # written to the buffer, not yet fsynced
    aof.flush()
    assert gate.open
    assert aof.last_incr_fsync_offset == aof.last_incr_size > 0


def test_on_state_tells_whether_the_aof_takes_writes(tmp_path: Path) -> None:
    """The server gives the engine its AOF feed only while the AOF is not OFF."""
    engine = _engine(tmp_path)
    aof = engine.aof
    seen: list[bool] = []
    aof.on_state = seen.append
    aof.stop()
    assert seen == [False] and not aof.enabled
    aof.start()  # CONFIG SET appendonly yes: waits for its first rewrite
    assert seen[-1] is True and aof.enabled
    while aof.child is not None:
        aof.poll()
    assert seen[-1] is True
