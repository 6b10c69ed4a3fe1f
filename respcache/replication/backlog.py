"""The replication history of a node: ids, offsets, the backlog, and PSYNC decisions.

Offsets count bytes of the replication stream since the history began, as in
Redis: ``master_repl_offset`` is the number of bytes produced (on a leader) or
applied (on a follower); the first byte of the stream has offset 1, and a
follower asks ``PSYNC <replid> <offset + 1>``, the first byte it misses.

The :class:`Backlog` is a ring buffer of the last ``size`` bytes of the
stream. It holds ``histlen`` bytes, from ``first_byte_offset`` to ``offset``
included; appending more than fits overwrites the oldest bytes.

:class:`History` is a node's identity in replication: its ``replid``, and,
after a promotion (PSYNC2), the id it had before with the offset where that
history stopped being valid (``replid2``, ``second_replid_offset``), so that the
followers of the previous leader can continue from this node without a full sync.
:func:`psync_decision` is Redis's ``masterTryPartialResynchronization`` without
the I/O.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

__all__ = [
    "NO_REPLID",
    "Backlog",
    "History",
    "PsyncDecision",
    "new_replid",
    "psync_decision",
]

NO_REPLID: Final = "0" * 40
"""The all-zero id Redis shows for ``master_replid2`` when there is none."""


def new_replid() -> str:
    """A random 40-character hexadecimal replication id."""
    return os.urandom(20).hex()


class Backlog:
    """A ring buffer holding the last ``size`` bytes of the replication stream."""

    __slots__ = ("_buf", "_pos", "first_byte_offset", "histlen", "offset", "size")

    def __init__(self, size: int, offset: int = 0) -> None:
        if size <= 0:
            raise ValueError("backlog size must be positive")
        self.size = size
        self._buf = bytearray(size)
        self._pos = 0  # where the next byte goes
        self.offset = offset
        """Offset of the last byte appended (``master_repl_offset``)."""
        self.histlen = 0
        self.first_byte_offset = offset + 1
        """Offset of the oldest byte held (``offset + 1`` while empty)."""

    def append(self, data: bytes | bytearray | memoryview) -> None:
        """Add stream bytes at the end (the oldest ones fall out when it is full)."""
        n = len(data)
        if not n:
            return
        size = self.size
        self.offset += n
        if n >= size:
            self._buf[:] = data[n - size :]
            self._pos = 0
            self.histlen = size
        else:
            pos = self._pos
            room = size - pos
            if n <= room:
                self._buf[pos : pos + n] = data
            else:
                self._buf[pos:] = data[:room]
                self._buf[: n - room] = data[room:]
            self._pos = (pos + n) % size
            self.histlen = min(size, self.histlen + n)
        self.first_byte_offset = self.offset - self.histlen + 1

    def covers(self, start: int) -> bool:
        """Whether every byte from offset ``start`` on is still held (or none is needed)."""
        return self.first_byte_offset <= start <= self.offset + 1

    def read(self, start: int) -> bytes:
        """The bytes from offset ``start`` to the end; ValueError if they are gone."""
        if not self.covers(start):
            raise ValueError(
                f"offset {start} is outside the backlog "
                f"[{self.first_byte_offset}, {self.offset + 1}]"
            )
        count = self.offset + 1 - start
        if not count:
            return b""
        begin = (self._pos - count) % self.size
        if begin + count <= self.size:
            return bytes(self._buf[begin : begin + count])
        return bytes(self._buf[begin:]) + bytes(self._buf[: begin + count - self.size])

    def resize(self, size: int) -> None:
        """Change the capacity, keeping the most recent bytes that still fit."""
        if size <= 0:
            raise ValueError("backlog size must be positive")
        keep = self.read(self.first_byte_offset)[-size:] if self.histlen else b""
        end = self.offset
        self.size = size
        self._buf = bytearray(size)
        self._pos = 0
        self.offset = end - len(keep)
        self.histlen = 0
        self.first_byte_offset = self.offset + 1
        self.append(keep)

    def reset(self, offset: int) -> None:
        """Forget the history: empty, with the stream continuing after ``offset``."""
        self._pos = 0
        self.offset = offset
        self.histlen = 0
        self.first_byte_offset = offset + 1


@dataclass
class History:
    """A node's replication identity: current id, previous id, and where it stopped."""

    replid: str
    replid2: str = NO_REPLID
    second_replid_offset: int = -1
    """First offset *not* valid under ``replid2`` (-1: no previous history)."""

    @classmethod
    def fresh(cls) -> History:
        return cls(new_replid())

    def shift(self, offset: int) -> None:
        """Start a new history at ``offset`` (promotion): the old id stays valid up to it.

        Redis's ``shiftReplicationId``: a follower of the old leader that has
        processed at most ``offset`` bytes can continue with us.
        """
        self.replid2 = self.replid
        self.second_replid_offset = offset + 1
        self.replid = new_replid()

    def adopt(self, replid: str, offset: int) -> None:
        """A follower was told ``+CONTINUE <replid>`` at ``offset``: take the leader's new id."""
        if replid != self.replid:
            self.replid2 = self.replid
            self.second_replid_offset = offset + 1
            self.replid = replid

    def clear_previous(self) -> None:
        self.replid2 = NO_REPLID
        self.second_replid_offset = -1


@dataclass(frozen=True)
class PsyncDecision:
    """What a leader answers to ``PSYNC <replid> <offset>``."""

    full: bool
    reason: str
    start: int = 0
    """For a partial resync: the first offset to send from the backlog."""


def psync_decision(
    history: History, backlog: Backlog | None, replid: str, offset: int
) -> PsyncDecision:
    """Can a follower asking for ``replid`` from byte ``offset`` continue with us?

    It can when it asks for our current history, or for our previous one
    (PSYNC2, after a promotion) no further than where that one stopped being
    ours, and the backlog still holds every byte from ``offset`` on. A follower
    whose history went past the point where ours diverged (``offset >
    second_replid_offset``) has data we never had: it must resync fully.
    """
    if replid == "?" or offset < 0:
        return PsyncDecision(True, "full resync requested")
    if replid != history.replid:
        if replid != history.replid2 or history.replid2 == NO_REPLID:
            return PsyncDecision(True, f"replication id mismatch ({replid} is not ours)")
        if offset > history.second_replid_offset:
            return PsyncDecision(
                True,
                f"requested offset {offset} is past the end of the previous history "
                f"({history.second_replid_offset})",
            )
    if backlog is None:
        return PsyncDecision(True, "no backlog")
    if not backlog.covers(offset):
        return PsyncDecision(
            True,
            f"offset {offset} is outside the backlog "
            f"[{backlog.first_byte_offset}, {backlog.offset + 1}]",
        )
    return PsyncDecision(False, "partial resync", offset)
