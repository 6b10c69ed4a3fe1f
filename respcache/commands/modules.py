"""MODULE: Redis's module commands, for a server that can load no modules.

respcache is Python: a Redis module is a C shared object built against Redis's own
API, so none can be loaded. MODULE exists so that it answers as Redis 7.0 does
(``module.c`` ``moduleCommand``): refused unless ``enable-module-command`` allows it
(the engine's protected-command check, ``server.c``), then LIST is empty, LOAD and
LOADEX fail with Redis's failure text (and a log line saying why), UNLOAD finds no
such module.
"""

from __future__ import annotations

import logging
from typing import Final

from respcache.commands.client import Client
from respcache.commands.introspection import help_reply
from respcache.commands.registry import command
from respcache.errors import CommandError
from respcache.protocol.types import Reply

log = logging.getLogger("respcache.modules")

MODULE_HELP: Final = (
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
)
_ADMIN: Final = "@admin @slow @dangerous"
_LOAD_FAILED: Final = "ERR Error loading the extension. Please check the server logs."


@command(
    "module|help", arity=2, flags="loading stale", group="server",
    summary="Show helpful text about the different subcommands", since="5.0.0",
    complexity="O(1)", acl="@slow",
)  # fmt: skip
def module_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("MODULE", MODULE_HELP)


@command(
    "module|list", arity=2, flags="admin noscript", group="server",
    summary="List all modules loaded by the server", since="4.0.0",
    complexity="O(N) where N is the number of loaded modules.", acl=_ADMIN,
)  # fmt: skip
def module_list(c: Client, argv: list[bytes]) -> Reply:
    return []


def _refuse_load(argv: list[bytes]) -> Reply:
    path = argv[2].decode("utf-8", "backslashreplace")
    log.warning("Module %s failed to load: respcache cannot load Redis modules", path)
    raise CommandError(_LOAD_FAILED)


@command(
    "module|load", arity=-3, flags="admin noscript no_async_loading", group="server",
    summary="Load a module", since="4.0.0", complexity="O(1)", acl=_ADMIN,
)  # fmt: skip
def module_load(c: Client, argv: list[bytes]) -> Reply:
    return _refuse_load(argv)


@command(
    "module|loadex", arity=-3, flags="admin noscript no_async_loading", group="server",
    summary="Load a module with extended parameters", since="7.0.0", complexity="O(1)",
    acl=_ADMIN,
)  # fmt: skip
def module_loadex(c: Client, argv: list[bytes]) -> Reply:
    return _refuse_load(argv)


@command(
    "module|unload", arity=3, flags="admin noscript no_async_loading", group="server",
    summary="Unload a module", since="4.0.0", complexity="O(1)", acl=_ADMIN,
)  # fmt: skip
def module_unload(c: Client, argv: list[bytes]) -> Reply:
    raise CommandError("ERR Error unloading module: no such module with that name")
