"""MODULE: respcache loads no Redis modules (they are C shared objects written against
Redis's internals), and says so the way Redis 7.0.15 (``module.c``) does for a module it
cannot load: ``MODULE LIST`` is empty, ``LOAD``/``LOADEX`` fail with Redis's error (and
log why), ``UNLOAD`` finds no such module.

Redis refuses every MODULE subcommand unless ``enable-module-command`` allows it; that
gate belongs to the configuration of protected commands, not to this module.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from respcache.commands.introspection import help_reply
from respcache.commands.registry import command
from respcache.errors import CommandError
from respcache.protocol.types import Reply

if TYPE_CHECKING:
    from respcache.commands.client import Client

log = logging.getLogger("respcache.modules")

_ACL: Final = "@admin @slow @dangerous"
LOAD_ERROR: Final = "ERR Error loading the extension. Please check the server logs."

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


@command(
    "module|list",
    arity=2,
    flags="admin noscript",
    group="server",
    summary="List all modules loaded by the server",
    since="4.0.0",
    complexity="O(N) where N is the number of loaded modules.",
    acl=_ACL,
)
def module_list(c: Client, argv: list[bytes]) -> Reply:
    return []


@command(
    "module|load",
    arity=-3,
    flags="admin noscript no_async_loading",
    group="server",
    summary="Load a module",
    since="4.0.0",
    complexity="O(1)",
    acl=_ACL,
)
def module_load(c: Client, argv: list[bytes]) -> Reply:
    path = argv[2].decode("utf-8", "surrogateescape")
    log.warning("Module %s failed to load: respcache cannot load Redis modules", path)
    raise CommandError(LOAD_ERROR)


@command(
    "module|loadex",
    arity=-3,
    flags="admin noscript no_async_loading",
    group="server",
    summary="Load a module with extended parameters",
    since="7.0.0",
    complexity="O(1)",
    acl=_ACL,
)
def module_loadex(c: Client, argv: list[bytes]) -> Reply:
    """Arguments are checked as Redis checks them (CONFIG name value pairs, then ARGS)."""
    j = 3
    while j < len(argv):
        word = argv[j].lower()
        if word == b"config" and len(argv) - j > 2:
            j += 3
        elif word == b"args" and len(argv) - j > 1:
            break
        else:
            log.warning(
                "Syntax Error from arguments to loadex around %s.",
                argv[j].decode("utf-8", "surrogateescape"),
            )
            raise CommandError(LOAD_ERROR)
    return module_load(c, argv)


@command(
    "module|unload",
    arity=3,
    flags="admin noscript no_async_loading",
    group="server",
    summary="Unload a module",
    since="4.0.0",
    complexity="O(1)",
    acl=_ACL,
)
def module_unload(c: Client, argv: list[bytes]) -> Reply:
    raise CommandError("ERR Error unloading module: no such module with that name")


@command(
    "module|help",
    arity=2,
    flags="loading stale",
    group="server",
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
    acl="@slow",
)
def module_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("MODULE", MODULE_HELP)
