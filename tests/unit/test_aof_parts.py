"""The AOF's collaborators alone, without an engine: the directory and its manifest
(``aof_manifest.AofFiles``), the loader of the files it names (``aof_loader.AofLoader``),
the rewrite (``aof_rewrite.AofRewrite``) and the file being appended
(``aof_incr.IncrFile``)."""

from __future__ import annotations

import errno
import io
import os
import time
from pathlib import Path

import pytest

from respcache.config import Config
from respcache.persistence.aof_incr import IncrFile
from respcache.persistence.aof_loader import AofLoad, AofLoader, AofStatus, format_mark
from respcache.persistence.aof_manifest import AofError, AofFiles, AofInfo, Manifest
from respcache.persistence.aof_rewrite import (
    AofRewrite,
    encode_command,
    growth,
    growth_wants_rewrite,
)
from respcache.persistence.rdb import write_keyspace
from respcache.store.keyspace import Keyspace

# --- the directory and its manifest -------------------------------------------------------------


def _files(tmp_path: Path, **options: str) -> AofFiles:
    return AofFiles(Config(dir=str(tmp_path), **options))


def test_persisted_manifest_loads_back_equal(tmp_path: Path) -> None:
    files = _files(tmp_path)
    am = Manifest()
    am.new_base(files.filename, rdb=True)
    am.new_incr(files.filename)
    am.new_base(files.filename, rdb=False)
    am.new_incr(files.filename)
    (tmp_path / "appendonlydir").mkdir()
    files.persist_manifest(am)
    path = tmp_path / "appendonlydir" / "appendonly.aof.manifest"
    assert path.read_text() == am.format()
    assert not (tmp_path / "appendonlydir" / "temp-appendonly.aof.manifest").exists()
    fresh = _files(tmp_path)
    fresh.load_manifest()
    assert fresh.manifest == am


def test_no_directory_or_manifest_is_an_empty_manifest(tmp_path: Path) -> None:
    files = _files(tmp_path)
    files.manifest.new_incr(files.filename)
    files.load_manifest()
    assert files.manifest == Manifest()
    (tmp_path / "appendonlydir").mkdir()
    files.load_manifest()
    assert files.manifest == Manifest()


def test_sizes_count_base_and_incr_not_history(tmp_path: Path) -> None:
    files = _files(tmp_path)
    directory = tmp_path / "appendonlydir"
    directory.mkdir()
    am = files.manifest
    base = am.new_base(files.filename, rdb=False)
    old = am.new_incr(files.filename)
    am.rewritten_incr_to_history(keep_last=False)
    incr = am.new_incr(files.filename)
    (directory / base).write_bytes(b"b" * 10)
    (directory / old).write_bytes(b"o" * 100)
    (directory / incr).write_bytes(b"i" * 3)
    assert files.size_of(am) == 13
    assert files.base_size() == 10
    assert files.file_size("missing") == 0


def test_history_is_deleted_unless_auto_gc_is_disabled(tmp_path: Path) -> None:
    directory = tmp_path / "appendonlydir"
    directory.mkdir()
    for gc_off in ("yes", "no"):
        files = _files(tmp_path, aof_disable_auto_gc=gc_off)
        am = files.manifest
        am.new_base(files.filename, rdb=True)
        old = am.new_base(files.filename, rdb=True)
        history = am.history[0].name
        (directory / history).write_bytes(b"x")
        (directory / old).write_bytes(b"y")
        files.del_history()
        assert (directory / history).exists() is (gc_off == "yes")
        assert bool(am.history) is (gc_off == "yes")
        if gc_off == "no":
            assert (directory / "appendonly.aof.manifest").read_text() == am.format()
        (directory / history).unlink(missing_ok=True)


def test_old_style_file_moves_into_the_directory(tmp_path: Path) -> None:
    (tmp_path / "appendonly.aof").write_bytes(b"*1\r\n$4\r\nPING\r\n")
    files = _files(tmp_path)
    files.upgrade_old_style()
    directory = tmp_path / "appendonlydir"
    assert not (tmp_path / "appendonly.aof").exists()
    assert (directory / "appendonly.aof").read_bytes() == b"*1\r\n$4\r\nPING\r\n"
    assert files.manifest.base == AofInfo("appendonly.aof", 1, "b")
    assert (directory / "appendonly.aof.manifest").read_text() == (
        "file appendonly.aof seq 1 type b\n"
    )


def test_old_style_file_stays_beside_a_manifest_that_names_others(tmp_path: Path) -> None:
    (tmp_path / "appendonly.aof").write_bytes(b"old")
    files = _files(tmp_path)
    (tmp_path / "appendonlydir").mkdir()
    files.manifest.new_base(files.filename, rdb=True)
    files.upgrade_old_style()
    assert (tmp_path / "appendonly.aof").read_bytes() == b"old"
    assert not (tmp_path / "appendonlydir" / "appendonly.aof.manifest").exists()


# --- the loader --------------------------------------------------------------------------------

REPLID = "a" * 40
SET_A = encode_command([b"SET", b"a", b"1"])
SET_B = encode_command([b"SET", b"b", b"2"])


def _aof_dir(tmp_path: Path, base: bytes, *incrs: bytes, rdb: bool = False) -> AofFiles:
    """A directory whose manifest names ``base`` and ``incrs``, as a started node leaves it."""
    files = _files(tmp_path)
    directory = tmp_path / "appendonlydir"
    directory.mkdir(exist_ok=True)
    am = Manifest()
    (directory / am.new_base(files.filename, rdb=rdb)).write_bytes(base)
    for data in incrs:
        (directory / am.new_incr(files.filename)).write_bytes(data)
    files.persist_manifest(am)
    files.load_manifest()
    return files


class _Replay:
    """A loader over ``files`` and the commands it replayed (NOSUCH: an unknown command)."""

    def __init__(self, files: AofFiles, **options: str) -> None:
        for name, value in options.items():
            files.config.set(name.replace("_", "-"), value)
        self.seen: list[list[bytes]] = []
        self.loader = AofLoader(files.config, Keyspace(), files)

    def execute(self, argv: list[bytes]) -> bool:
        self.seen.append(argv)
        return argv[0] != b"NOSUCH"

    def load(self) -> AofLoad:
        return self.loader.load(self.execute)


def test_loader_replays_base_then_incr_files_and_measures_them(tmp_path: Path) -> None:
    files = _aof_dir(tmp_path, SET_A, SET_B, b"")
    replay = _Replay(files)
    done = replay.load()
    assert done.status is AofStatus.OK  # (an empty incr file is no error)
    assert replay.seen == [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"]]
    assert (done.current_size, done.base_size) == (len(SET_A) + len(SET_B), len(SET_A))
    assert not replay.loader.loading


def test_loader_reads_an_rdb_base_into_the_keyspace(tmp_path: Path) -> None:
    source = Keyspace()
    source.dbs[0].data[b"k"] = b"v"
    out = io.BytesIO()
    write_keyspace(out, source, aof_base=True, repl_id=REPLID, repl_offset=7)
    rdb = out.getvalue()
    files = _aof_dir(tmp_path, rdb, SET_A, rdb=True)
    replay = _Replay(files)
    done = replay.load()
    assert done.status is AofStatus.OK
    assert replay.loader.keyspace.dbs[0].data == {b"k": b"v"}
    assert replay.seen == [[b"SET", b"a", b"1"]]
    assert replay.loader.loaded_mark == (REPLID, 7, 0)


def test_loader_keeps_the_last_mark_and_skips_marks_in_a_transaction(tmp_path: Path) -> None:
    multi = encode_command([b"MULTI"]) + format_mark((REPLID, 99, 1)) + encode_command([b"EXEC"])
    files = _aof_dir(
        tmp_path, SET_A + format_mark((REPLID, 5, 1)), format_mark((REPLID, 9, 2)) + multi
    )
    replay = _Replay(files)
    assert replay.load().status is AofStatus.OK
    assert replay.loader.loaded_mark == (REPLID, 9, 2)


def test_loader_cuts_a_truncated_tail_of_the_last_file(tmp_path: Path) -> None:
    files = _aof_dir(tmp_path, SET_A, SET_B + SET_A[:5])
    replay = _Replay(files, aof_load_truncated="yes")
    done = replay.load()
    assert done.status is AofStatus.TRUNCATED
    assert replay.seen == [[b"SET", b"a", b"1"], [b"SET", b"b", b"2"]]
    incr = tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof"
    assert incr.read_bytes() == SET_B
    assert done.current_size == len(SET_A) + len(SET_B)


def test_loader_refuses_a_truncated_tail_without_aof_load_truncated(tmp_path: Path) -> None:
    files = _aof_dir(tmp_path, SET_A, SET_B + SET_A[:5])
    replay = _Replay(files, aof_load_truncated="no")
    done = replay.load()
    assert done.status is AofStatus.FAILED and done.current_size is None
    incr = tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof"
    assert incr.read_bytes() == SET_B + SET_A[:5]  # (left as it was)


def test_loader_fails_on_a_truncated_file_that_is_not_the_last(tmp_path: Path) -> None:
    files = _aof_dir(tmp_path, SET_A, SET_B[:-1], SET_A)
    replay = _Replay(files, aof_load_truncated="yes")
    assert replay.load().status is AofStatus.FAILED


def test_loader_statuses_without_data(tmp_path: Path) -> None:
    files = _files(tmp_path)
    replay = _Replay(files)
    replay.loader.loaded_mark = (REPLID, 1, 1)
    assert replay.load().status is AofStatus.NOT_EXIST
    files = _aof_dir(tmp_path, b"", b"")
    replay.loader.files = files
    assert replay.load().status is AofStatus.EMPTY
    assert replay.loader.loaded_mark == (REPLID, 1, 1)  # (no file read: the last mark stands)
    (tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof").unlink()
    assert replay.load().status is AofStatus.FAILED


def test_loader_fails_on_an_unknown_command(tmp_path: Path) -> None:
    files = _aof_dir(tmp_path, SET_A, encode_command([b"NOSUCH"]))
    replay = _Replay(files)
    assert replay.load().status is AofStatus.FAILED


# --- the rewrite ---------------------------------------------------------------------------------


def _rewrite(
    tmp_path: Path, *, other_child: bool = False, **options: str
) -> tuple[AofRewrite, AofFiles]:
    files = _files(tmp_path, **options)
    (tmp_path / "appendonlydir").mkdir(exist_ok=True)
    keyspace = Keyspace()
    keyspace.dbs[0].data[b"k"] = b"v"
    rewrite = AofRewrite(files.config, keyspace, files, lambda: other_child, lambda: None)
    return rewrite, files


def test_growth_is_percent_of_the_base_and_respects_min_size() -> None:
    cfg = Config(auto_aof_rewrite_percentage="100", auto_aof_rewrite_min_size="1000")
    assert growth(300, 100) == 200
    assert growth(5, 0) == 400  # (no base: counted as 1 byte)
    assert growth_wants_rewrite(cfg, 2000, 1000)
    assert not growth_wants_rewrite(cfg, 1999, 1000)
    assert not growth_wants_rewrite(cfg, 900, 100)  # (under auto-aof-rewrite-min-size)
    cfg.set("auto-aof-rewrite-percentage", "0")
    assert not growth_wants_rewrite(cfg, 10**9, 1)


def test_due_when_scheduled_or_grown_never_beside_a_child(tmp_path: Path) -> None:
    rewrite, _ = _rewrite(tmp_path, auto_aof_rewrite_min_size="10")
    assert not rewrite.due(True, 15, 10)
    assert rewrite.due(True, 20, 10)
    assert not rewrite.due(False, 20, 10)  # (the AOF is off or waits for its first rewrite)
    rewrite.scheduled = True
    assert rewrite.due(False, 0, 0)
    busy, _ = _rewrite(tmp_path, other_child=True)
    busy.scheduled = True
    assert not busy.due(True, 10**9, 1)


def test_three_failures_in_a_row_limit_rewrites_for_a_minute_then_more(tmp_path: Path) -> None:
    rewrite, _ = _rewrite(tmp_path)
    rewrite.scheduled = True
    rewrite.consecutive_failures = 2
    assert not rewrite.limited()
    rewrite.consecutive_failures = 3
    assert rewrite.limited() and rewrite._limit_delay == 1
    assert not rewrite.due(True, 0, 0)
    rewrite._limit_until = 1.0  # (the minute is over)
    assert not rewrite.limited()
    assert rewrite.limited() and rewrite._limit_delay == 2
    rewrite.consecutive_failures = 0
    assert not rewrite.limited() and rewrite._limit_delay == 0


def test_start_refuses_beside_a_child_and_when_the_switch_fails(tmp_path: Path) -> None:
    busy, _ = _rewrite(tmp_path, other_child=True)
    with pytest.raises(AofError):
        busy.start(lambda: None)
    assert busy.rewrites == 0 and busy.last_ok
    rewrite, _ = _rewrite(tmp_path)

    def fail() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(AofError):
        rewrite.start(fail)
    assert not rewrite.last_ok and rewrite.child is None and rewrite.rewrites == 0


def test_install_adopts_the_base_and_makes_the_old_files_history(tmp_path: Path) -> None:
    rewrite, files = _rewrite(tmp_path)
    directory = tmp_path / "appendonlydir"
    am = files.manifest
    (directory / am.new_base(files.filename, rdb=True)).write_bytes(b"old base")
    (directory / am.new_incr(files.filename)).write_bytes(b"old incr")
    (directory / am.new_incr(files.filename)).write_bytes(b"")  # (opened before the fork)
    (tmp_path / "temp-rewriteaof-bg-42.aof").write_bytes(b"new base")
    rewrite.consecutive_failures = 2
    assert rewrite.install(42, wait_rewrite=False, keep_last=True) == "appendonly.aof.2.base.rdb"
    assert files.manifest.format() == (
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    )
    assert (directory / "appendonly.aof.manifest").read_text() == files.manifest.format()
    assert sorted(p.name for p in directory.iterdir()) == [
        "appendonly.aof.2.base.rdb",
        "appendonly.aof.2.incr.aof",
        "appendonly.aof.manifest",
    ]
    assert rewrite.last_ok and rewrite.consecutive_failures == 0
    # a child's file that is gone: recorded as a failure, the manifest stays
    before = files.manifest.format()
    assert rewrite.install(43, wait_rewrite=False, keep_last=True) is None
    assert files.manifest.format() == before
    assert not rewrite.last_ok and rewrite.consecutive_failures == 1


def test_install_after_wait_rewrite_adopts_the_temporary_incr_file(tmp_path: Path) -> None:
    rewrite, files = _rewrite(tmp_path)
    directory = tmp_path / "appendonlydir"
    (directory / files.temp_incr_name).write_bytes(b"written meanwhile")
    (tmp_path / "temp-rewriteaof-bg-7.aof").write_bytes(b"base")
    assert rewrite.install(7, wait_rewrite=True, keep_last=True) == "appendonly.aof.1.base.rdb"
    assert files.manifest.format() == (
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    )
    assert (directory / "appendonly.aof.1.incr.aof").read_bytes() == b"written meanwhile"


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_the_child_writes_a_base_that_loads_back(tmp_path: Path, preamble: str) -> None:
    rewrite, files = _rewrite(tmp_path, aof_use_rdb_preamble=preamble)
    switched: list[bool] = []
    rewrite.start(lambda: switched.append(True))
    assert switched == [True] and rewrite.child is not None and rewrite.busy()
    deadline = time.monotonic() + 10
    while (end := rewrite.poll(wait_rewrite=False, keep_last=False)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert end.base == f"appendonly.aof.1.base.{'rdb' if preamble == 'yes' else 'aof'}"
    assert rewrite.child is None and rewrite.rewrites == rewrite.forks == 1
    assert not list(tmp_path.glob("temp-rewriteaof-*"))
    assert "aof_rewrites:1" in rewrite.info_lines()
    replay = _Replay(files)
    assert replay.load().status is AofStatus.OK
    if preamble == "yes":
        assert replay.loader.keyspace.dbs[0].data == {b"k": b"v"}
    else:
        assert replay.seen == [[b"SELECT", b"0"], [b"SET", b"k", b"v"]]


def test_create_incr_persists_a_manifest_naming_it_or_a_temporary_file(tmp_path: Path) -> None:
    files = _aof_dir(tmp_path, SET_A, SET_B)
    directory = tmp_path / "appendonlydir"
    fd = files.create_incr(temporary=False)
    os.close(fd)
    assert [i.name for i in files.manifest.incr] == [
        "appendonly.aof.1.incr.aof",
        "appendonly.aof.2.incr.aof",
    ]
    assert (directory / "appendonly.aof.manifest").read_text() == files.manifest.format()
    assert (directory / "appendonly.aof.2.incr.aof").read_bytes() == b""
    before = files.manifest.format()
    fd = files.create_incr(temporary=True)
    os.close(fd)
    assert (directory / "temp-appendonly.aof.incr").exists()
    assert files.manifest.format() == before


# --- the file being appended ----------------------------------------------------------------------


def test_incr_file_counts_what_is_written_and_fsynced(tmp_path: Path) -> None:
    path = tmp_path / "incr.aof"
    path.write_bytes(b"12345")
    incr = IncrFile()
    incr.open_append(str(path))
    assert (incr.size, incr.fsynced) == (5, 5) and incr.all_fsynced
    assert incr.write(SET_A) == (len(SET_A), 0)
    assert incr.size == 5 + len(SET_A) and not incr.all_fsynced
    incr.fsync()
    assert incr.all_fsynced
    incr.write(SET_B)
    incr.fsync_in_background()
    assert incr.all_fsynced  # (counted as covered once the job is queued, as Redis)
    incr.shutdown()
    assert incr.bio_ok and not incr.fsync_in_progress()
    incr.close()
    assert path.read_bytes() == b"12345" + SET_A + SET_B
    assert (incr.fd, incr.size) == (-1, 0)


def test_incr_file_failed_write_changes_nothing(tmp_path: Path) -> None:
    incr = IncrFile()
    incr.fd = os.open("/dev/full", os.O_WRONLY)
    written, code = incr.write(SET_A)
    assert (written, code) == (-1, errno.ENOSPC) and incr.size == 0
    incr.close()


def test_incr_file_short_write_is_cut_off_and_retried_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "incr.aof"
    incr = IncrFile()
    incr.open_append(str(path))
    incr.write(SET_A)
    real_write = os.write

    def short(fd: int, data: bytes) -> int:
        if len(data) > 3:
            return real_write(fd, bytes(data[:3]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", short)
    assert incr.write(SET_B) == (-1, errno.ENOSPC)
    monkeypatch.undo()
    assert incr.size == len(SET_A) and path.read_bytes() == SET_A
    assert incr.write(SET_B) == (len(SET_B), 0)
    assert path.read_bytes() == SET_A + SET_B
    incr.close()


def test_incr_file_background_fsync_failure_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    incr = IncrFile()
    incr.open_append(str(tmp_path / "incr.aof"))
    incr.write(SET_A)

    def failing(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing)
    incr.fsync_in_background()
    deadline = time.monotonic() + 5
    while incr.fsync_in_progress():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not incr.bio_ok and incr.bio_errno == errno.EIO
    monkeypatch.undo()
    incr.write(SET_B)
    incr.fsync_in_background()
    incr.shutdown()
    assert incr.bio_ok
    incr.close()


def test_incr_file_switch_closes_the_previous_one_in_the_background(tmp_path: Path) -> None:
    incr = IncrFile()
    assert not incr.switch_to(os.open(tmp_path / "a", os.O_WRONLY | os.O_CREAT, 0o644))
    incr.write(SET_A)
    old = incr.fd
    assert incr.switch_to(os.open(tmp_path / "b", os.O_WRONLY | os.O_CREAT, 0o644))
    assert incr.fd != old and (incr.size, incr.fsynced) == (0, 0)
    incr.shutdown()
    with pytest.raises(OSError):
        os.fstat(old)
    incr.close()
