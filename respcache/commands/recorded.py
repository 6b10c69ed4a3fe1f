"""Redis 7.0.15's own command table, as recorded from a real redis-server.

``docs_data.json`` (written by ``bin/gen-docs-data``) holds, per command and subcommand
(``config|get``), Redis's ``COMMAND INFO`` (flags, tips, key specs) and ``COMMAND DOCS``
(arguments, history). COMMAND's replies and the key-spec engine read what the registry
does not hold from here.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Final

from respcache.commands.registry import CommandSpec

DOCS_DATA: Final = Path(__file__).with_name("docs_data.json")


@functools.cache
def docs_data() -> dict[str, dict[str, Any]]:
    """``docs_data.json``'s commands (name → {"info": ..., "docs": ...}); empty if missing."""
    try:
        with DOCS_DATA.open(encoding="utf-8") as f:
            commands: dict[str, dict[str, Any]] = json.load(f)["commands"]
    except FileNotFoundError:
        return {}
    return commands


def recorded(spec: CommandSpec, part: str) -> dict[str, Any] | None:
    """The recorded ``info`` or ``docs`` part of ``spec``'s entry, if Redis has one."""
    entry = docs_data().get(spec.name)
    if entry is None:
        return None
    found: dict[str, Any] | None = entry.get(part)
    return found
