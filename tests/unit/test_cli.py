"""respcache-server's command line (click's CliRunner, a fake server) and Redis-format logging."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from respcache import REDIS_VERSION, __version__
from respcache.cli import command, main
from respcache.config import Config
from respcache.log import (
    VERBOSE,
    RedisFormatter,
    get_role,
    reset_logging,
    set_role,
    setup_logging,
)

LINE = re.compile(
    r"^(\d+):([MSCX]) (\d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) ([.\-*#]) (.*)$"
)


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    yield
    reset_logging()
    set_role("M")
    logging.getLogger("respcache").setLevel(logging.NOTSET)


class FakeServer:
    """Stands in for respcache.server: records the Config ``run`` was given."""

    def __init__(self, code: int = 0) -> None:
        self.code = code
        self.configs: list[Config] = []

    def run(self, config: Config) -> int:
        self.configs.append(config)
        logging.getLogger("respcache.server").info("fake server running")
        return self.code

    @property
    def config(self) -> Config:
        assert len(self.configs) == 1
        return self.configs[0]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()
    module = types.ModuleType("respcache.server")
    module.run = fake.run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "respcache.server", module)
    return fake


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    # Only the variables a test gives: RESPCACHE_* from the outer environment are removed.
    environment: dict[str, str | None] = {
        k: None for k in os.environ if k.upper().startswith("RESPCACHE_")
    }
    environment.update(env or {})
    return CliRunner().invoke(
        command, list(args), env=environment, input=input, catch_exceptions=False
    )


# --- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-v"])
def test_version(flag: str, server: FakeServer) -> None:
    result = invoke(flag)
    assert result.exit_code == 0
    assert result.stdout == f"respcache {__version__} (Redis {REDIS_VERSION} compatible)\n"
    assert server.configs == []


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_explains_the_redis_server_usage(flag: str, server: FakeServer) -> None:
    result = invoke(flag)
    assert result.exit_code == 0
    assert "[CONFIGFILE] [--name value ...]" in result.stdout
    assert "RESPCACHE_" in result.stdout
    assert "maxmemory-policy" in result.stdout
    assert server.configs == []


def test_no_arguments_runs_with_defaults(server: FakeServer) -> None:
    result = invoke()
    assert result.exit_code == 0
    assert server.config.matching(["*"]) == Config().matching(["*"])
    assert server.config.config_file is None


def test_options_override_the_file(tmp_path: Path, server: FakeServer) -> None:
    path = tmp_path / "a.conf"
    path.write_text("port 7000\nmaxmemory 1mb\nsave 3600 1\n")
    result = invoke(
        str(path),
        "--port",
        "7001",
        "--maxmemory",
        "100mb",
        "--save",
        "",
        "--slowlog-log-slower-than",
        "-1",
        "--client-output-buffer-limit",
        "pubsub",
        "1mb",
        "2mb",
        "3",
        "--loglevel",
        "warning",
    )
    assert result.exit_code == 0, result.output
    config = server.config
    assert config.config_file == str(path)
    assert config.port == 7001
    assert config.maxmemory == 100 * 1024**2
    assert config.save == ()
    assert config.slowlog_log_slower_than == -1
    assert config.output_buffer_limit("pubsub") == (1024**2, 2 * 1024**2, 3)
    assert config.loglevel == "warning"


def test_bare_save(server: FakeServer) -> None:
    assert invoke("--save", "--port", "7002").exit_code == 0
    assert (server.config.save, server.config.port) == ((), 7002)


def test_environment_sits_between_file_and_options(tmp_path: Path, server: FakeServer) -> None:
    path = tmp_path / "a.conf"
    path.write_text("port 7000\nhz 20\ntimeout 5\n")
    env = {"RESPCACHE_PORT": "7001", "RESPCACHE_HZ": "30"}
    result = invoke(str(path), "--port", "7002", env=env)
    assert result.exit_code == 0
    assert (server.config.port, server.config.hz, server.config.timeout) == (7002, 30, 5)


def test_unknown_environment_variables_are_logged(server: FakeServer) -> None:
    result = invoke(env={"RESPCACHE_NO_SUCH_THING": "1"})
    assert result.exit_code == 0
    assert (
        "# Ignoring environment variable RESPCACHE_NO_SUCH_THING: no such setting" in result.stderr
    )


def test_config_from_stdin(server: FakeServer) -> None:
    assert invoke("-", input="port 7003\nhz 40\n").exit_code == 0
    assert (server.config.port, server.config.hz) == (7003, 40)


def test_exit_code_is_the_servers(server: FakeServer) -> None:
    server.code = 3
    assert invoke("--port", "0").exit_code == 3


def test_logging_is_set_up_before_the_server_runs(server: FakeServer) -> None:
    result = invoke("--port", "0")
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    m = LINE.match(lines[0])
    assert m is not None
    assert (m.group(2), m.group(4), m.group(5)) == ("M", "*", "fake server running")


def test_bad_option_is_a_fatal_config_error(server: FakeServer) -> None:
    result = invoke("--port", "7000", "--nosuch", "1")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n"
        "Reading the configuration file, at line 3\n"
        ">>> 'nosuch \"1\"'\n"
        "Bad directive or wrong number of arguments\n"
    )
    assert server.configs == []


def test_bad_value_and_missing_file(tmp_path: Path, server: FakeServer) -> None:
    result = invoke("--port", "abc")
    assert result.exit_code == 1
    assert "argument couldn't be parsed into an integer" in result.stderr
    missing = tmp_path / "missing.conf"
    result = invoke(str(missing))
    assert result.exit_code == 1
    assert result.stderr == (
        f"\nFatal error, can't open config file '{missing}': No such file or directory\n"
    )
    assert server.configs == []


def test_unwritable_logfile(tmp_path: Path, server: FakeServer) -> None:
    result = invoke("--logfile", str(tmp_path / "no" / "such" / "dir.log"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n"
        "Can't open the log file: No such file or directory\n"
    )
    assert server.configs == []


def test_main_is_the_console_script(server: FakeServer) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--port", "7004"])
    assert info.value.code == 0
    assert server.config.port == 7004


# --- logging ------------------------------------------------------------------------------


def record(level: int, message: str = "hello", created: float | None = None) -> logging.LogRecord:
    rec = logging.LogRecord("respcache.test", level, __file__, 1, message, None, None)
    if created is not None:
        rec.created = created
        rec.msecs = (created - int(created)) * 1000
    return rec


@pytest.mark.parametrize(
    ("level", "mark"),
    [
        (logging.DEBUG, "."),
        (VERBOSE, "-"),
        (logging.INFO, "*"),
        (logging.WARNING, "#"),
        (logging.ERROR, "#"),
        (logging.CRITICAL, "#"),
    ],
)
def test_level_marks(level: int, mark: str) -> None:
    m = LINE.match(RedisFormatter().format(record(level)))
    assert m is not None
    assert m.group(4) == mark
    assert m.group(5) == "hello"


def test_line_shape_pid_role_and_time() -> None:
    created = time.mktime((2024, 3, 5, 7, 8, 9, 0, 0, -1)) + 0.012
    line = RedisFormatter().format(record(logging.INFO, "Ready", created))
    assert line == f"{os.getpid()}:M 05 Mar 2024 07:08:09.012 * Ready"
    set_role("S")
    assert get_role() == "S"
    assert RedisFormatter().format(record(logging.INFO)).split(" ", 1)[0].endswith(":S")
    set_role("C")
    assert RedisFormatter().format(record(logging.INFO)).split(" ", 1)[0].endswith(":C")
    with pytest.raises(ValueError):
        set_role("Q")


def test_exceptions_follow_the_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        rec = record(logging.WARNING, "failed")
        rec.exc_info = sys.exc_info()
    text = RedisFormatter().format(rec)
    first, rest = text.split("\n", 1)
    assert first.endswith("# failed")
    assert "RuntimeError: boom" in rest


def test_loglevel_filters_and_follows_config_set(tmp_path: Path) -> None:
    logfile = tmp_path / "respcache.log"
    config = Config(logfile=str(logfile), loglevel="verbose")
    setup_logging(config)
    log = logging.getLogger("respcache.some.module")
    log.debug("not shown")
    log.log(VERBOSE, "verbose shown")
    log.info("notice shown")
    config.set("loglevel", "warning")
    log.info("notice hidden")
    log.warning("warning shown")
    lines = logfile.read_text().splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed)
    assert [(m.group(4), m.group(5)) for m in parsed if m] == [
        ("-", "verbose shown"),
        ("*", "notice shown"),
        ("#", "warning shown"),
    ]


def test_setup_logging_twice_keeps_one_handler(tmp_path: Path) -> None:
    logfile = tmp_path / "a.log"
    config = Config(logfile=str(logfile))
    setup_logging(config)
    setup_logging(config)
    logging.getLogger("respcache.x").warning("once")
    assert logfile.read_text().count("once") == 1
