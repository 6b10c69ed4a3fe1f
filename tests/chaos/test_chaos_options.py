"""Run options of the new faults: persistence for kill-all, the zk-outage length (no processes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from respcache.chaos.__main__ import cli
from respcache.chaos.cluster import RespcacheCluster
from respcache.chaos.nemesis import FaultKind
from respcache.chaos.runner import RunOptions


def test_kill_all_turns_persistence_on_unless_told_otherwise() -> None:
    assert RunOptions().effective_persistence() == "none"
    assert RunOptions(faults=[FaultKind.KILL_LEADER]).effective_persistence() == "none"
    assert RunOptions(faults=[FaultKind.KILL_ALL]).effective_persistence() == "aof"
    told = RunOptions(faults=[FaultKind.KILL_ALL], persistence="none")
    assert told.effective_persistence() == "none"
    assert RunOptions(persistence="aof").effective_persistence() == "aof"


def test_the_replay_command_keeps_the_new_options() -> None:
    options = RunOptions(
        seed=5,
        faults=[FaultKind.ZK_OUTAGE],
        session_timeout_ms=15000,
        zk_outage=10.0,
        persistence="aof",
    )
    words = options.replay_command(5).split()
    for pair in (["--zk-outage", "10"], ["--session-timeout", "15000"], ["--persistence", "aof"]):
        i = words.index(pair[0])
        assert words[i : i + 2] == pair
    assert "--zk-outage" not in RunOptions().replay_command(5)


def _argv(persistence: str, tmp_path: Path) -> list[str]:
    cluster = RespcacheCluster(tmp_path, size=1, persistence=persistence)
    cluster._addresses = {"n1": ("127.0.0.1", 7000)}
    cluster.zookeeper = type("Z", (), {"connect_string": "127.0.0.1:2181"})()  # type: ignore[assignment]
    return cluster._node_argv("n1")


def test_aof_nodes_fsync_every_write_and_others_keep_no_file(tmp_path: Path) -> None:
    aof = _argv("aof", tmp_path)
    assert aof[aof.index("--appendonly") + 1] == "yes"
    assert aof[aof.index("--appendfsync") + 1] == "always"
    assert aof[aof.index("--dir") + 1] == str(tmp_path.absolute() / "n1")
    none = _argv("none", tmp_path)
    assert none[none.index("--appendonly") + 1] == "no" and "--appendfsync" not in none
    assert RespcacheCluster(tmp_path, persistence="aof").persistent
    assert not RespcacheCluster(tmp_path).persistent
    with pytest.raises(ValueError):
        RespcacheCluster(tmp_path, persistence="rdb")


def test_plan_uses_the_zk_outage_given() -> None:
    args = ["plan", "--seed", "3", "--time", "60", "--faults", "zk-outage,kill-all"]
    default = CliRunner().invoke(cli, args)
    assert default.exit_code == 0, default.output
    assert "zk-outage for 1.2s" in default.output and "kill-all" in default.output
    longer = CliRunner().invoke(cli, [*args, "--zk-outage", "10"])
    assert "zk-outage for 10.0s" in longer.output
    bad = CliRunner().invoke(cli, ["run", "--persistence", "rdb"])
    assert bad.exit_code != 0 and "rdb" in bad.output
