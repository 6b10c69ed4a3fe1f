"""respcache-cluster without processes: the layout, the node configs, pid files, the status text."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from respcache import cluster_cli
from respcache.cluster_cli import (
    ClusterSpec,
    NodeSpec,
    NodeStatus,
    Status,
    agreed,
    command,
    conf_value,
    find_template,
    format_status,
    load_template,
    parse_info,
    plan,
    process_matches,
    read_pid,
    render_node_config,
)
from respcache.config import Config, split_args
from respcache.coordination.state import ClusterState

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "conf" / "cluster" / "node.conf.example"


def always_free(port: int) -> bool:
    return True


def never_free(port: int) -> bool:
    return False


def spec_for(tmp_path: Path, **kwargs: object) -> ClusterSpec:
    kwargs.setdefault("zk_port", 2999)
    return plan(tmp_path / "cluster", port_free=always_free, **kwargs)  # type: ignore[arg-type]


def load(tmp_path: Path, spec: ClusterSpec, node: NodeSpec, template: str) -> Config:
    spec.node_dir(node).mkdir(parents=True, exist_ok=True)  # the server wants its dir to exist
    text = render_node_config(spec, node, template)
    path = tmp_path / "node.conf"
    path.write_text(text)
    return Config.load(str(path))


# --- the layout --------------------------------------------------------------------------------


def test_plan_numbers_nodes_and_ports(tmp_path: Path) -> None:
    spec = plan(tmp_path, nodes=3, base_port=7001, zk_port=None, port_free=always_free)
    assert [(n.name, n.port, n.http_port) for n in spec.nodes] == [
        ("n1", 7001, 0),
        ("n2", 7002, 0),
        ("n3", 7003, 0),
    ]
    assert [n.node_id for n in spec.nodes] == ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"]
    assert spec.zk_port == 2181
    assert spec.zk_connect == "127.0.0.1:2181"
    assert spec.directory == tmp_path.absolute()
    assert spec.state_znode == "/respcache/respcache/state"


def test_plan_takes_another_zookeeper_port_when_2181_is_busy(tmp_path: Path) -> None:
    spec = plan(tmp_path, nodes=2, base_port=7001, zk_port=None, port_free=never_free)
    assert spec.zk_port not in (2181, 7001, 7002)
    assert 0 < spec.zk_port < 65536


def test_plan_http_ports(tmp_path: Path) -> None:
    spec = spec_for(tmp_path, nodes=2, base_port=7001, http_base_port=8001)
    assert [n.http_port for n in spec.nodes] == [8001, 8002]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nodes": 0}, "at least one node"),
        ({"base_port": 65535, "nodes": 3}, "not all valid"),
        ({"session_timeout_ms": 300, "tick_time_ms": 200}, "below ZooKeeper's minimum"),
        ({"settings": [("no-such-setting", "1")]}, "no such setting"),
        ({"base_port": 7001, "http_base_port": 7002, "nodes": 2}, "overlap"),
        ({"base_port": 7001, "zk_port": 7002, "nodes": 2}, "also a node's port"),
    ],
)
def test_plan_refuses_impossible_layouts(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        spec_for(tmp_path, **kwargs)


def test_spec_round_trips_through_json(tmp_path: Path) -> None:
    spec = spec_for(
        tmp_path,
        nodes=2,
        cluster_name="dev",
        session_timeout_ms=1500,
        tick_time_ms=100,
        http_base_port=8001,
        settings=[("maxmemory", "10mb")],
        template="/x/node.conf",
    )
    assert ClusterSpec.from_json(spec.to_json()) == spec
    spec.directory.mkdir(parents=True)
    spec.state_path.write_text(spec.to_json())
    assert ClusterSpec.load(spec.directory) == spec
    spec.state_path.write_text("{not json")
    assert ClusterSpec.load(spec.directory) is None
    assert ClusterSpec.load(tmp_path / "nowhere") is None


def test_node_lookup_by_id_or_name(tmp_path: Path) -> None:
    spec = spec_for(tmp_path, nodes=2, base_port=7001)
    assert spec.node_by_id("127.0.0.1:7002") == spec.nodes[1]
    assert spec.node_by_id("n1") == spec.nodes[0]
    assert spec.node_by_id("10.0.0.1:7001") is None
    assert spec.short("127.0.0.1:7001") == "n1"
    assert spec.short("elsewhere:1") == "elsewhere:1"


# --- node configs ------------------------------------------------------------------------------


def test_node_config_loads_as_the_server_would(tmp_path: Path) -> None:
    spec = spec_for(tmp_path, nodes=2, base_port=7001, cluster_name="dev", session_timeout_ms=1500)
    node = spec.nodes[1]
    config = load(tmp_path, spec, node, EXAMPLE.read_text())
    assert config.port == 7002
    assert config.bind == ["127.0.0.1"]
    assert config.zookeeper == "127.0.0.1:2999"
    assert config.cluster_name == "dev"
    assert config.zk_session_timeout == 1500
    assert config.announce_host == "127.0.0.1"
    assert config.announce_port == 7002
    assert config.pidfile == str(spec.pid_path(node))
    assert config.logfile == ""
    assert config.http_port == 0
    assert config.maxmemory_policy == "allkeys-lru"  # from the template


def test_node_lines_win_over_the_template_and_set_wins_over_both(tmp_path: Path) -> None:
    spec = spec_for(tmp_path, nodes=1, base_port=7001, settings=[("maxmemory", "1mb")])
    template = "port 9999\nbind 0.0.0.0\nmaxmemory 256mb\nzookeeper 10.0.0.1:2181\n"
    config = load(tmp_path, spec, spec.nodes[0], template)
    assert config.port == 7001
    assert config.bind == ["127.0.0.1"]
    assert config.zookeeper == "127.0.0.1:2999"
    assert config.maxmemory == 1024 * 1024


def test_node_id_is_written_only_when_the_server_knows_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_for(tmp_path, nodes=1, base_port=7001)
    real = cluster_cli.lookup
    monkeypatch.setattr(
        cluster_cli, "lookup", lambda name: None if name == "node-id" else real(name)
    )
    assert "\nnode-id " not in render_node_config(spec, spec.nodes[0], "")
    monkeypatch.setattr(cluster_cli, "lookup", lambda name: object())
    assert "\nnode-id 127.0.0.1:7001\n" in render_node_config(spec, spec.nodes[0], "")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("127.0.0.1:2181", "127.0.0.1:2181"),
        ("/var/x/n1", "/var/x/n1"),
        ("", '""'),
        ("a b", '"a b"'),
        ('say "hi"', '"say \\"hi\\""'),
    ],
)
def test_config_values_are_quoted_only_when_needed(value: str, written: str) -> None:
    assert conf_value(value) == written
    assert split_args(f"name {conf_value(value)}") == ["name", value]


def test_paths_with_spaces_survive(tmp_path: Path) -> None:
    spec = plan(tmp_path / "my cluster", nodes=1, zk_port=2999, port_free=always_free)
    config = load(tmp_path, spec, spec.nodes[0], "")
    assert config.pidfile == str(spec.pid_path(spec.nodes[0]))
    assert " " in config.pidfile


def test_the_example_template_sets_no_node_identity() -> None:
    config = Config.load(str(EXAMPLE))
    defaults = Config()
    for name in ("port", "bind", "zookeeper", "announce_port", "pidfile", "dir"):
        assert getattr(config, name) == getattr(defaults, name), name


def test_template_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cluster_cli, "PACKAGE_ROOT", tmp_path / "no-checkout")
    assert find_template() is None
    assert load_template() == (cluster_cli.BUILTIN_TEMPLATE, "builtin")
    (tmp_path / "conf" / "cluster").mkdir(parents=True)
    example = tmp_path / "conf" / "cluster" / "node.conf.example"
    example.write_text("loglevel warning\n")
    assert find_template() == example
    local = tmp_path / "conf" / "cluster" / "node.conf"
    local.write_text("loglevel debug\n")
    assert load_template() == ("loglevel debug\n", str(local))
    explicit = tmp_path / "mine.conf"
    explicit.write_text("hz 20\n")
    assert load_template(explicit)[0] == "hz 20\n"


def test_the_builtin_template_loads() -> None:
    Config.load(None, stdin=cluster_cli.BUILTIN_TEMPLATE)


# --- pid files ---------------------------------------------------------------------------------


def test_read_pid(tmp_path: Path) -> None:
    path = tmp_path / "x.pid"
    assert read_pid(path) is None
    path.write_text("1234\n")
    assert read_pid(path) == 1234
    path.write_text("garbage")
    assert read_pid(path) is None


def test_process_matches_its_command_line() -> None:
    with open("/proc/self/cmdline", "rb") as f:
        first = f.read().split(b"\0")[0].decode()
    assert process_matches(os.getpid(), first)
    assert not process_matches(os.getpid(), "/no/such/node.conf")
    assert not process_matches(2**22 + 12345, first)  # above pid_max: never alive


# --- INFO and the status text --------------------------------------------------------------------


def test_parse_info() -> None:
    text = "# Replication\r\nrole:master\r\nisr:127.0.0.1:7001,127.0.0.1:7002\r\nx\r\n\r\n"
    assert parse_info(text) == {"role": "master", "isr": "127.0.0.1:7001,127.0.0.1:7002"}


def make_status(tmp_path: Path, *, follower_master: str = "n1") -> Status:
    spec = spec_for(tmp_path, nodes=2, base_port=7001)
    state = ClusterState(
        leader="127.0.0.1:7001",
        epoch=4,
        isr=("127.0.0.1:7001", "127.0.0.1:7002"),
        leader_address="127.0.0.1:7001",
    )
    nodes = [
        NodeStatus(
            "n1", "127.0.0.1:7001", 11, "running", True, "master", "4", "n1,n2", "90",
            replication={"role": "master", "zk_extra": "1"}, sentinel_master="n1",
            coordination={"coordination_role": "leader", "last_decision": "bootstrap"},
        ),
        NodeStatus(
            "n2", "127.0.0.1:7002", 12, "running", True, "slave", "4", "-", "90", "up",
            follower_master, replication={"role": "slave"}, sentinel_master="n1",
        ),
    ]  # fmt: skip
    return Status(spec, 10, "running", True, "standalone", state, None, ["127.0.0.1:7001"], nodes)


def test_status_names_the_leader_zookeeper_records(tmp_path: Path) -> None:
    status = make_status(tmp_path)
    assert status.leader == status.spec.nodes[0]
    assert status.healthy
    assert agreed(status)
    text = format_status(status)
    assert "state znode: leader n1 (127.0.0.1:7001), epoch 4, ISR n1,n2" in text
    assert "registered in the election: n1" in text
    assert "leader: n1 (127.0.0.1:7001)" in text
    assert "n1: zk_extra:1" in text  # replication fields we do not know are shown as they are
    assert "coordination_role" not in text
    verbose = format_status(status, verbose=True)
    assert (
        "  n1 INFO coordination:\n    coordination_role:leader\n    last_decision:bootstrap"
        in verbose
    )
    data = status.to_json()
    assert data["leader"] == "n1"
    assert data["zookeeper"]["state"]["epoch"] == 4


def test_no_leader_when_the_recorded_one_is_not_master(tmp_path: Path) -> None:
    status = make_status(tmp_path)
    status.nodes[0].role = "slave"
    assert status.leader is None
    assert not status.healthy
    assert "leader: none" in format_status(status)


def test_not_agreed_while_a_follower_follows_someone_else(tmp_path: Path) -> None:
    status = make_status(tmp_path, follower_master="127.0.0.1:9999")
    assert status.leader is not None
    assert not agreed(status)


def test_not_agreed_while_a_node_is_outside_the_isr(tmp_path: Path) -> None:
    status = make_status(tmp_path)
    assert status.state is not None
    status.state = dataclasses.replace(status.state, isr=("127.0.0.1:7001",))
    assert status.leader is not None
    assert not agreed(status)
    status.state = None
    assert not agreed(status)


# --- the command line without a cluster ------------------------------------------------------------


def test_status_and_down_without_a_cluster(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(command, ["status", "--dir", str(tmp_path)])
    assert result.exit_code == cluster_cli.EXIT_NOT_RUNNING
    assert "No cluster recorded" in result.output
    result = runner.invoke(command, ["down", "--dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "nothing to stop" in result.output


def test_up_refuses_a_bad_layout_before_starting_anything(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        command,
        ["up", "--dir", str(tmp_path), "--session-timeout", "100", "--tick-time", "200"],
    )
    assert result.exit_code == 2
    assert "below ZooKeeper's minimum" in result.output
    assert not (tmp_path / "cluster.json").exists()
