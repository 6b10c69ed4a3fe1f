"""Helpers for tests that run real processes: ports, servers, a lossless RESP client."""

from .net import free_port, port_is_open
from .resp import ConnectionClosed, RawConnection, Reply, encode_command
from .servers import (
    ServerFactory,
    ServerProcess,
    ServerStartError,
    failure_report,
    live_servers,
    respcache_is_redis,
    start_redis,
    start_respcache,
    wait_until,
)

__all__ = [
    "ConnectionClosed",
    "RawConnection",
    "Reply",
    "ServerFactory",
    "ServerProcess",
    "ServerStartError",
    "encode_command",
    "failure_report",
    "free_port",
    "live_servers",
    "port_is_open",
    "respcache_is_redis",
    "start_redis",
    "start_respcache",
    "wait_until",
]
