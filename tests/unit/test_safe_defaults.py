"""Redis 7.0's safe defaults: DEBUG and MODULE refused unless enabled; rename-command.

Texts as redis-server 7.0.15 sends them (``server.c`` processCommand, ``module.c``,
``config.c`` loadServerConfigFromString).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from respcache.commands import Engine
from respcache.commands.client import Client
from respcache.commands.engine import command_table
from respcache.config import Config, ConfigFileError
from respcache.errors import CommandError
from respcache.protocol.types import OK

DEBUG_REFUSED = (
    'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", '
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)
MODULE_REFUSED = DEBUG_REFUSED.replace("DEBUG", "MODULE").replace("debug", "module")


class RemoteClient(Client):
    __slots__ = ()

    def connection_info(self) -> dict[str, str]:
        return {"addr": "10.1.2.3:5555", "laddr": "10.1.2.1:6379", "fd": "8"}


class LocalClient(Client):
    __slots__ = ()

    def connection_info(self) -> dict[str, str]:
        return {"addr": "[::1]:5555", "laddr": "[::1]:6379", "fd": "8"}


def _run(engine: Engine, client: Client, *args: str) -> object:
    return engine.execute(client, [a.encode() for a in args])


def _error(reply: object) -> str:
    assert isinstance(reply, CommandError), reply
    return str(reply)


def test_debug_and_module_are_refused_by_default() -> None:
    engine = Engine(Config())
    client = engine.new_client()
    assert _error(_run(engine, client, "DEBUG", "SLEEP", "0")) == DEBUG_REFUSED
    assert _error(_run(engine, client, "debug", "digest")) == DEBUG_REFUSED
    assert _error(_run(engine, client, "MODULE", "LOAD", "/x.so")) == MODULE_REFUSED
    assert _error(_run(engine, client, "MODULE", "UNLOAD", "x")) == MODULE_REFUSED
    assert _run(engine, client, "MODULE", "LIST") == []  # not PROTECTED in Redis 7.0
    # arity is checked first, as in Redis
    assert (
        _error(_run(engine, client, "DEBUG")) == "ERR wrong number of arguments for 'debug' command"
    )


def test_protected_check_comes_before_authentication() -> None:
    engine = Engine(Config(requirepass="pw"))
    client = engine.new_client()
    assert _error(_run(engine, client, "DEBUG", "SLEEP", "0")) == DEBUG_REFUSED
    assert _error(_run(engine, client, "GET", "k")).startswith("NOAUTH")


def test_in_multi_a_refused_debug_aborts_exec() -> None:
    engine = Engine(Config())
    client = engine.new_client()
    assert _run(engine, client, "MULTI") is OK
    assert _error(_run(engine, client, "DEBUG", "SLEEP", "0")) == DEBUG_REFUSED
    assert _error(_run(engine, client, "EXEC")).startswith("EXECABORT")


@pytest.mark.parametrize(
    ("setting", "local_ok", "remote_ok"),
    [("yes", True, True), ("local", True, False), ("no", False, False)],
)
def test_enable_debug_command_values(setting: str, local_ok: bool, remote_ok: bool) -> None:
    engine = Engine(Config(enable_debug_command=setting))
    for cls, allowed in ((LocalClient, local_ok), (RemoteClient, remote_ok)):
        client = cls(engine)
        engine.add_client(client)
        reply = _run(engine, client, "DEBUG", "SLEEP", "0")
        assert (reply is OK) if allowed else (_error(reply) == DEBUG_REFUSED), (setting, cls)


def test_module_commands_when_enabled() -> None:
    engine = Engine(Config(enable_module_command="yes"))
    client = engine.new_client()
    assert _run(engine, client, "MODULE", "LIST") == []
    assert _error(_run(engine, client, "MODULE", "LOAD", "/x.so")) == (
        "ERR Error loading the extension. Please check the server logs."
    )
    assert _error(_run(engine, client, "MODULE", "UNLOAD", "x")) == (
        "ERR Error unloading module: no such module with that name"
    )


def test_protected_settings_are_fixed_at_startup() -> None:
    config = Config()
    for name in ("enable-debug-command", "enable-module-command", "enable-protected-configs"):
        with pytest.raises(Exception, match="can't set immutable config"):
            config.set(name, "yes")
    with pytest.raises(
        ConfigFileError, match="argument\\(s\\) must be one of the following: no, yes, local"
    ):
        Config.load(None, ["--enable-debug-command", "maybe"])


def test_rename_command() -> None:
    config = Config.load(
        None, ["--rename-command", "GET", "FETCH", "--rename-command", "DEBUG", ""]
    )
    engine = Engine(config)
    client = engine.new_client()
    assert _run(engine, client, "SET", "k", "v") is OK
    assert _run(engine, client, "FETCH", "k") == b"v"
    assert _error(_run(engine, client, "GET", "k")).startswith("ERR unknown command 'GET'")
    assert _error(_run(engine, client, "DEBUG", "HELP")).startswith("ERR unknown command 'DEBUG'")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--rename-command", "NOSUCH", "X"], "No such command in rename-command"),
        (["--rename-command", "GET", "SET"], "Target command name already exists"),
    ],
)
def test_rename_command_errors(args: list[str], reason: str) -> None:
    with pytest.raises(ConfigFileError) as info:
        command_table(Config.load(None, args))
    assert info.value.reason == reason
    assert "rename-command" in str(info.value)


def test_config_rewrite_keeps_rename_command_lines(tmp_path: Path) -> None:
    path = tmp_path / "server.conf"
    path.write_text('rename-command DEBUG ""\nmaxclients 7\n')
    config = Config.load(str(path))
    config.set("maxclients", "8")
    config.rewrite()
    text = path.read_text()
    assert 'rename-command DEBUG ""' in text
    assert "maxclients 8" in text
    assert "???" not in text
