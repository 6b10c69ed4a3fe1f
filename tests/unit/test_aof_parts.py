"""The AOF's collaborators alone, without an engine: the directory and its manifest
(``aof_manifest.AofFiles``), the loader of the files it names (``aof_loader.AofLoader``)
and the rewrite's decisions (``aof_rewrite``)."""

from __future__ import annotations

import io
from pathlib import Path

from respcache.config import Config
from respcache.persistence.aof_loader import AofLoad, AofLoader, AofStatus, format_mark
from respcache.persistence.aof_manifest import AofFiles, AofInfo, Manifest
from respcache.persistence.aof_rewrite import encode_command
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
