"""Redis Cluster's commands, answered as a Redis 7.0 with ``cluster-enabled no`` answers them.

respcache is not a Redis Cluster (no hash slots; its own replication and election, see
docs/architecture.md), and says so as Redis does (``INFO cluster``: ``cluster_enabled:0``):
``CLUSTER <any subcommand>``, ``ASKING``, ``READONLY`` and ``READWRITE`` fail with
``ERR This instance has cluster support disabled`` (Redis's ``clusterCommand``,
``askingCommand``, ``readonlyCommand``, ``readwriteCommand``), after the usual unknown
subcommand and arity checks. ``RESTORE-ASKING`` is RESTORE, as in Redis without cluster.

The CLUSTER subcommands' table entries (arity, flags, summaries) are Redis's own, read
from ``docs_data.json``, so COMMAND, COMMAND DOCS and ACL categories list them as Redis does.
"""

from __future__ import annotations

from typing import Any, Final

from respcache.commands.client import Client
from respcache.commands.persistence import restore
from respcache.commands.recorded import docs_data
from respcache.commands.registry import Handler, command
from respcache.errors import CommandError
from respcache.protocol.types import Reply

DISABLED: Final = "ERR This instance has cluster support disabled"


def disabled(c: Client, argv: list[bytes]) -> Reply:
    """Any cluster command on a node that is not part of a Redis Cluster."""
    raise CommandError(DISABLED)


def _register(name: str, handler: Handler, entry: dict[str, Any]) -> None:
    info, docs = entry["info"], entry["docs"]
    flags = [flag for flag in info["flags"] if flag != "module"]
    command(
        name,
        arity=info["arity"],
        flags=" ".join(flags),
        keys=(info["first_key"], info["last_key"], info["step"]),
        group=docs["group"],
        summary=docs["summary"],
        since=docs["since"],
        complexity=docs.get("complexity", ""),
        acl=" ".join(info["acl_categories"]),
    )(handler)


def _register_all() -> None:
    recorded = docs_data()
    for name in sorted(recorded):
        if name.startswith("cluster|") or name in ("asking", "readonly", "readwrite"):
            _register(name, disabled, recorded[name])
    if "restore-asking" in recorded:
        _register("restore-asking", restore, recorded["restore-asking"])


_register_all()
