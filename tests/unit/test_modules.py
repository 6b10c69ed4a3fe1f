"""MODULE: nothing loaded, nothing loadable, in Redis 7.0.15's words."""

from __future__ import annotations

import pytest
from conftest import run

from respcache.commands import Client, Engine
from respcache.config import Config
from respcache.errors import CommandError

LOAD_ERROR = CommandError("ERR Error loading the extension. Please check the server logs.")


@pytest.fixture
def client() -> Client:
    """MODULE is refused unless enable-module-command allows it (test_safe_defaults.py)."""
    return Engine(Config(enable_module_command="yes")).new_client()


def test_module_list_is_empty(client: Client) -> None:
    assert run(client, "MODULE", "LIST") == []


def test_module_load_is_refused_as_an_unloadable_module(client: Client) -> None:
    assert run(client, "MODULE", "LOAD", "/x.so", "a") == LOAD_ERROR
    assert run(client, "MODULE", "LOADEX", "/x.so", "CONFIG", "a", "b", "ARGS", "c") == LOAD_ERROR
    assert run(client, "MODULE", "LOADEX", "/x.so", "foo") == LOAD_ERROR
    assert run(client, "MODULE", "UNLOAD", "x") == CommandError(
        "ERR Error unloading module: no such module with that name"
    )
    assert run(client, "MODULE", "nosuch") == CommandError(
        "ERR unknown subcommand 'nosuch'. Try MODULE HELP."
    )
