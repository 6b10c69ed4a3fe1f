"""Commands: the registry, the dispatch engine and the handlers, one module per group.

Importing this package registers every command (each module's decorators run).
"""

from respcache.commands import (  # noqa: F401  (registration)
    acl,
    bitmaps,
    cluster,
    connection,
    debugging,
    digest,
    failover,
    functions,
    geo,
    hashes,
    hyperloglog,
    introspection,
    keys,
    latencystats,
    lists,
    lolwut,
    modules,
    monitor,
    persistence,
    pubsub,
    replication,
    scripting,
    sentinel,
    server,
    sets,
    sort,
    streams,
    strings,
    tracking,
    transactions,
    zsets,
)
from respcache.commands.blocking import Blocked
from respcache.commands.client import Client
from respcache.commands.engine import Engine
from respcache.commands.registry import REGISTRY, CommandSpec, command

__all__ = ["REGISTRY", "Blocked", "Client", "CommandSpec", "Engine", "command"]
