"""The registry of connected clients: ids, the table CLIENT LIST/KILL and INFO read, and
what runs when one goes away.

Redis keeps ``server.clients`` and ``server.next_client_id`` (``networking.c``
``createClient``/``freeClient``). Every client gets the next id (never reused), the
registry counts ``total_connections_received``, and on disconnect the layers that
hold per-client state (pub/sub, tracking, MONITOR, replication) forget it through
:attr:`ClientRegistry.disconnect_hooks`. The engine keeps only the coordination
(``Engine.remove_client`` also drops the client's WATCHes and its wait); the CLIENT
commands themselves are in ``commands/connection.py``. Not compiled: it runs once per
connection, not per command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from respcache.commands.stats import Stats

if TYPE_CHECKING:
    from respcache.commands.client import Client


class ClientRegistry:
    """The connected clients by id (``engine.clients``) and the disconnect hooks."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.by_id: dict[int, Client] = {}
        self._last_id = 0
        self.disconnect_hooks: list[Callable[[Client], None]] = []
        """Called when a client goes away (pub/sub unsubscribes it, ...)."""

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def add(self, client: Client) -> None:
        self.by_id[client.id] = client
        self.stats.total_connections_received += 1

    def remove(self, client: Client) -> None:
        """Forget a client and tell every layer that keeps state for it."""
        self.by_id.pop(client.id, None)
        for hook in self.disconnect_hooks:
            hook(client)
