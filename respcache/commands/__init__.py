"""Commands: the registry, the dispatch engine and the handlers, one module per group.

Importing this package registers every command (each module's decorators run).
"""

from respcache.commands import (  # noqa: F401  (registration)
    acl,
    connection,
    digest,
    failover,
    hashes,
    introspection,
    keys,
    lists,
    modules,
    pubsub,
    replication,
    sentinel,
    server,
    sets,
    strings,
    transactions,
    zsets,
)
from respcache.commands.client import Client
from respcache.commands.engine import Blocked, Engine
from respcache.commands.registry import REGISTRY, CommandSpec, command

__all__ = ["REGISTRY", "Blocked", "Client", "CommandSpec", "Engine", "command"]
