"""MODULE: nothing loaded, nothing loadable, in Redis 7.0.15's words."""

from __future__ import annotations

from conftest import run

from respcache.commands import Client
from respcache.errors import CommandError

LOAD_ERROR = CommandError("ERR Error loading the extension. Please check the server logs.")


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
