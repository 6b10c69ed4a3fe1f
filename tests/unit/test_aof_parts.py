"""The AOF's collaborators alone, without an engine: the directory and its manifest
(``aof_manifest.AofFiles``), the loader of the files it names (``aof_loader.AofLoader``)
and the rewrite's decisions (``aof_rewrite``)."""

from __future__ import annotations

from pathlib import Path

from respcache.config import Config
from respcache.persistence.aof_manifest import AofFiles, AofInfo, Manifest

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
