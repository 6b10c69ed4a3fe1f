"""An RDB file as a full sync carries it (Redis's framing), without I/O.

A Redis primary answers ``PSYNC`` with ``+FULLRESYNC <replid> <offset>`` and then the
RDB as one bulk, in one of two framings (``readSyncBulkPayload`` in Redis's
``replication.c``):

* disk-based: ``$<length>\\r\\n`` and exactly ``length`` bytes;
* diskless (the replica announced ``capa eof``): ``$EOF:<40-byte mark>\\r\\n``, the
  bytes, and the mark again at the end.

While it prepares the file the primary sends single ``\\n`` bytes as keepalives; they
come before the ``$``. :class:`RdbPayload` reads the header, hands the file's bytes
to a sink as they arrive (the follower writes them to a temporary file, as Redis's
replica does, so the payload is never held in memory while it travels), and returns
what follows the payload: the first bytes of the command stream.

:func:`rdb_bulk_header` writes the disk-based header, for a leader sending an RDB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

__all__ = ["EOF_MARK_SIZE", "RdbPayload", "RdbPayloadError", "rdb_bulk_header"]

EOF_MARK_SIZE: Final = 40
_MAX_HEADER: Final = 1024


class RdbPayloadError(Exception):
    """The bytes after ``+FULLRESYNC`` are not an RDB bulk."""


def rdb_bulk_header(length: int) -> bytes:
    """``$<length>\\r\\n``: the disk-based framing of an RDB of ``length`` bytes."""
    return b"$%d\r\n" % length


class RdbPayload:
    """Receives one RDB bulk: :meth:`feed` bytes until :attr:`done`.

    ``sink`` takes the file's bytes in order (never the framing). :attr:`size` counts
    them; :attr:`expected` is the announced length (None for the diskless framing).
    """

    def __init__(self, sink: Callable[[bytes], None]) -> None:
        self.sink = sink
        self.size = 0
        self.expected: int | None = None
        self.mark: bytes | None = None
        self.done = False
        self._header = bytearray()
        self._started = False
        self._tail = b""
        """Diskless: the last bytes received, held back in case they begin the mark."""

    def feed(self, data: bytes) -> bytes:
        """Take bytes from the link; returns those past the payload (once :attr:`done`)."""
        if self.done:
            return data
        if not self._started:
            data = self._read_header(data)
            if not self._started:
                return b""
        if self.mark is None:
            assert self.expected is not None
            want = self.expected - self.size
            part, rest = data[:want], data[want:]
            if part:
                self.sink(part)
                self.size += len(part)
            if self.size == self.expected:
                self.done = True
                return rest
            return b""
        mark = self.mark
        data = self._tail + data
        at = data.find(mark)
        if at >= 0:
            if at:
                self.sink(data[:at])
                self.size += at
            self._tail = b""
            self.done = True
            return data[at + EOF_MARK_SIZE :]
        keep = EOF_MARK_SIZE - 1
        if len(data) > keep:
            self.sink(data[:-keep])
            self.size += len(data) - keep
            self._tail = data[-keep:]
        else:
            self._tail = data
        return b""

    def _read_header(self, data: bytes) -> bytes:
        header = self._header
        if not header:
            data = data.lstrip(b"\n")  # keepalives while the primary prepares the file
            if not data:
                return b""
            if data[:1] != b"$":
                raise RdbPayloadError(
                    f"bad protocol from the master, the first byte is not '$' "
                    f"(we received '{data[:40].decode('utf-8', 'replace')}')"
                )
        end = data.find(b"\n")
        if end < 0:
            header += data
            if len(header) > _MAX_HEADER:
                raise RdbPayloadError("RDB bulk header too long")
            return b""
        header += data[: end + 1]
        rest = data[end + 1 :]
        line = bytes(header).rstrip(b"\r\n")
        if line.startswith(b"$EOF:"):
            mark = line[5:]
            if len(mark) != EOF_MARK_SIZE:
                raise RdbPayloadError(f"bad EOF mark in {line[:60]!r}")
            self.mark = mark
        else:
            try:
                self.expected = int(line[1:])
            except ValueError:
                raise RdbPayloadError(f"bad RDB bulk header {line[:60]!r}") from None
            if self.expected < 0:
                raise RdbPayloadError(f"bad RDB bulk header {line[:60]!r}")
        self._started = True
        return rest
