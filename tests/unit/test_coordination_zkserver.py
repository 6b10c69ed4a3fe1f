"""ZooKeeperServer's configuration and command line (no process, no socket)."""

from __future__ import annotations

from pathlib import Path

import pytest

from respcache.coordination.zkserver import (
    FOUR_LETTER_WORDS,
    MAIN_CLASS,
    ZooKeeperError,
    ZooKeeperServer,
    default_cds_archive,
    find_classpath,
)


@pytest.fixture
def debian_jars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("RESPCACHE_ZOOKEEPER_CLASSPATH", raising=False)
    jars = tmp_path / "java"
    jars.mkdir()
    for name in ("zookeeper.jar", "slf4j-log4j12.jar", "log4j-1.2.jar", "unrelated.jar"):
        (jars / name).write_bytes(b"")
    return jars


def test_debian_layout_uses_the_manifest_jar_and_the_log_binding(debian_jars: Path) -> None:
    assert find_classpath([str(debian_jars)]) == [
        str(debian_jars / "zookeeper.jar"),
        str(debian_jars / "slf4j-log4j12.jar"),
        str(debian_jars / "log4j-1.2.jar"),
    ]


def test_tarball_layout_uses_every_jar_of_lib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RESPCACHE_ZOOKEEPER_CLASSPATH", raising=False)
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("zookeeper-3.9.2.jar", "zookeeper-jute-3.9.2.jar", "netty-handler.jar"):
        (lib / name).write_bytes(b"")
    assert find_classpath([str(tmp_path / "missing"), str(lib)]) == [
        str(lib / "netty-handler.jar"),
        str(lib / "zookeeper-3.9.2.jar"),
        str(lib / "zookeeper-jute-3.9.2.jar"),
    ]


def test_no_jar_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESPCACHE_ZOOKEEPER_CLASSPATH", raising=False)
    with pytest.raises(ZooKeeperError, match="no ZooKeeper jar"):
        find_classpath([str(tmp_path)])


def test_classpath_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESPCACHE_ZOOKEEPER_CLASSPATH", "/a.jar::/b.jar")
    assert find_classpath(["/nonexistent"]) == ["/a.jar", "/b.jar"]


def test_config(tmp_path: Path, debian_jars: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("respcache.coordination.zkserver._JAR_DIRS", (str(debian_jars),))
    server = ZooKeeperServer(tmp_path, port=2999, tick_time=150, cds_archive=None)
    cfg = server.config()
    assert cfg["tickTime"] == "150"
    assert cfg["minSessionTimeout"] == "300"  # sub-second sessions
    assert cfg["clientPort"] == "2999"
    assert cfg["clientPortAddress"] == "127.0.0.1"
    assert cfg["admin.enableServer"] == "false"
    assert cfg["dataDir"] == str(tmp_path / "data")
    assert set(cfg["4lw.commands.whitelist"].split(",")) == set(FOUR_LETTER_WORDS)
    assert {"ruok", "srvr", "stat", "mntr", "wchc"} <= set(FOUR_LETTER_WORDS)
    assert server.connect_string == "127.0.0.1:2999"
    extra = ZooKeeperServer(tmp_path, extra_config={"tickTime": "100", "x": "y"}, cds_archive=None)
    assert (extra.config()["tickTime"], extra.config()["x"]) == ("100", "y")


def test_config_file_and_command_line(
    tmp_path: Path, debian_jars: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("respcache.coordination.zkserver._JAR_DIRS", (str(debian_jars),))
    server = ZooKeeperServer(tmp_path / "zk", port=2999, heap_mb=48, cds_archive=None)
    server._write_files()
    lines = server.config_path.read_text().splitlines()
    assert "clientPort=2999" in lines
    assert "admin.enableServer=false" in lines
    assert str(server.log_path) in (tmp_path / "zk" / "log4j.properties").read_text()
    cmd = server.command(["-XX:SharedArchiveFile=/x.jsa"])
    assert cmd[-2:] == [MAIN_CLASS, str(server.config_path)]
    assert "-Xmx48m" in cmd
    assert "-XX:TieredStopAtLevel=1" in cmd
    assert "-XX:SharedArchiveFile=/x.jsa" in cmd
    assert cmd[cmd.index("-cp") + 1].split(":")[0] == str(debian_jars / "zookeeper.jar")


def test_connect_string_needs_a_port(tmp_path: Path) -> None:
    with pytest.raises(ZooKeeperError):
        _ = ZooKeeperServer(tmp_path, cds_archive=None).connect_string


def test_cds_archive_name_depends_on_jvm_and_classpath(tmp_path: Path) -> None:
    java = tmp_path / "java"
    java.write_bytes(b"")
    one = default_cds_archive(str(java), ["/a.jar"])
    assert one == default_cds_archive(str(java), ["/a.jar"])
    assert one != default_cds_archive(str(java), ["/a.jar", "/b.jar"])
    assert one.suffix == ".jsa"
