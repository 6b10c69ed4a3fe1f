"""The asyncio server: connections, the commit gate, the cron; wires every layer."""

from respcache.server.app import Server, run, serve

__all__ = ["Server", "run", "serve"]
