"""One follower attached to this leader: its transport, its sync state, its stream backlog.

A link is created when a client sends ``PSYNC`` (or ``SYNC``) and lives until
its connection closes. Its ``state`` says what the leader's stream does with
it: nothing yet (``psync``), keep the bytes for after the snapshot
(``wait_bgsave``), write them (``online``), or nothing any more (``closed``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.replication.leader_snapshot import SnapshotJob

__all__ = ["LinkTransport", "ReplicaLink"]


class LinkTransport(Protocol):
    def write(self, data: bytes) -> None: ...

    def get_write_buffer_size(self) -> int: ...

    def get_extra_info(self, name: str, default: Any = None) -> Any: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def is_closing(self) -> bool: ...


class ReplicaLink:
    """One follower connected to this leader (the client that sent PSYNC)."""

    __slots__ = (
        "addr",
        "capa",
        "client",
        "connected_at",
        "fid",
        "ip",
        "job",
        "legacy",
        "pending",
        "pending_size",
        "port",
        "rdb",
        "state",
        "transport",
    )

    def __init__(self, client: Client, transport: LinkTransport, ip: str, port: int) -> None:
        self.client = client
        self.transport = transport
        self.ip = ip
        self.port = port
        self.fid = f"{ip}:{port}"
        self.addr = ""
        self.capa: set[str] = set()
        self.state = "psync"
        """``psync`` (attached, nothing decided: gets no stream), ``wait_bgsave`` (full
        sync running: the stream after the snapshot's offset is kept in ``pending``),
        ``online`` (streaming), ``closed``."""
        self.pending: list[bytes] = []
        """Stream written while the snapshot is sent (sent after it)."""
        self.pending_size = 0
        self.job: SnapshotJob | None = None
        self.connected_at = time.monotonic()
        self.rdb = False
        """Not a respcache follower (a Redis replica): a full sync sends an RDB, and the
        follower replicates asynchronously (it never joins the ISR)."""
        self.legacy = False
        """It sent SYNC, not PSYNC: the RDB comes without a ``+FULLRESYNC`` line."""

    def close(self) -> None:
        if self.state != "closed":
            self.state = "closed"
            self.pending.clear()
            if self.job is not None:
                self.job.cancel()
                self.job = None
            self.transport.close()
