"""What kazoo lacks: ZooKeeper's ``removeWatches`` (3.5+).

A node re-aims its predecessor watch when the line changes (an ISR change
reorders it). Without removal the old watch would stay on the server until
its znode changes, so a second node would wake when that znode goes: not a
herd, but not "only the predecessor" either. The request is kazoo's own
request protocol (an object with ``type``, ``serialize`` and ``deserialize``
handed to ``KazooClient._call``), as kazoo's built-in requests are.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

__all__ = ["remove_data_watch_async"]

_WATCHER_TYPE_DATA = 2  # ZooKeeper's WatcherType: CHILDREN=1, DATA=2, ANY=3
_OPCODE_REMOVE_WATCHES = 18


class _RemoveWatches(NamedTuple):
    path: str
    watcher_type: int

    @property
    def type(self) -> int:
        return _OPCODE_REMOVE_WATCHES

    def serialize(self) -> bytes:
        raw = self.path.encode("utf-8")
        return struct.pack("!i", len(raw)) + raw + struct.pack("!i", self.watcher_type)

    @classmethod
    def deserialize(cls, buffer: bytes, offset: int) -> bool:
        return True


def remove_data_watch_async(client: Any, path: str, callback: object) -> Any:
    """Remove this session's data/exists watch on ``path`` (server side and in kazoo).

    Returns kazoo's async result; it fails with ``NoWatcherError`` if there was no
    watch, ``UnimplementedError`` on servers before 3.5.
    """
    watchers = client._data_watchers.get(path)
    if watchers is not None:
        watchers.discard(callback)
    result = client.handler.async_result()
    client._call(_RemoveWatches(path, _WATCHER_TYPE_DATA), result)
    return result
