"""Bytes of the replication link, without I/O.

The link carries three kinds of frames, all plain RESP:

* replies to the follower's handshake (``+PONG``, ``+OK``, ``+FULLRESYNC <id> <offset>``,
  ``+CONTINUE [<id>]``, ``-ERR ...``),
* the snapshot of a full sync: RESP arrays of bulk strings (see :mod:`.snapshot`),
* the command stream: every write as a RESP array of bulk strings, exactly the bytes
  the leader appended to its backlog, so that a byte offset means the same thing on
  every node.

:class:`FrameReader` turns bytes into those frames with ``hiredis.Reader`` (C speed)
and tells the size of every array it returns. The stream is always written in the
canonical form of :func:`encode_command` (what the leader's backlog holds), so the
size follows from the arguments (:func:`frame_size`) and offsets are counted without
keeping the raw bytes. hiredis returns ``+x`` and ``$1 x`` alike, so an array holding
simple strings would be miscounted: a leader never sends one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import hiredis

__all__ = [
    "HIREDIS_ERRORS",
    "FrameReader",
    "LinkProtocolError",
    "Status",
    "encode_command",
    "frame_size",
]

# Decimal digits of n, for the lengths met most; len(str(n)) beyond.
_DIGITS: Final = tuple(len(str(n)) for n in range(10000))
HIREDIS_ERRORS: Final = (hiredis.ProtocolError, hiredis.ReplyError)


class LinkProtocolError(Exception):
    """The peer of a replication link sent something that is not valid there."""


class Status:
    """A status or error reply (``+OK``, ``-NOAUTH ...``) read on the link."""

    __slots__ = ("error", "text")

    def __init__(self, text: str, error: bool = False) -> None:
        self.text = text
        self.error = error

    def __repr__(self) -> str:
        return f"{'-' if self.error else '+'}{self.text}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Status) and (other.text, other.error) == (self.text, self.error)

    def __hash__(self) -> int:
        return hash((self.text, self.error))


def encode_command(argv: Sequence[bytes]) -> bytes:
    """A command as a RESP array of bulk strings (the only form the stream uses)."""
    return b"*%d\r\n" % len(argv) + b"".join([b"$%d\r\n%b\r\n" % (len(a), a) for a in argv])


def frame_size(argv: Sequence[bytes]) -> int:
    """Bytes :func:`encode_command` writes for ``argv``, computed without encoding.

    Raises :class:`LinkProtocolError` if an element is not a (bulk) string.
    """
    n = len(argv)
    size = (_DIGITS[n] if n < 10000 else len(str(n))) + 3
    for arg in argv:
        if type(arg) is not bytes:
            raise LinkProtocolError("expected an array of bulk strings")
        k = len(arg)
        size += k + (_DIGITS[k] if k < 10000 else len(str(k))) + 5
    return size


class FrameReader:
    """Incremental reader of link frames: ``feed(bytes)``, then :meth:`next` until None.

    :meth:`next` returns a :class:`Status` for a top-level ``+``/``-`` reply (or a
    bulk string, which hiredis cannot tell from it) and a ``list`` of bytes for an
    array of strings; :meth:`next_array` also returns the array's size in the
    stream. Anything else (an integer, a nested array, a null) is a
    :class:`LinkProtocolError`, as is malformed RESP.
    """

    __slots__ = ("_reader", "gets")

    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self.gets = self._reader.gets
        """hiredis's own ``gets`` (False: incomplete), for the follower's hot loop."""

    def feed(self, data: bytes) -> None:
        self._reader.feed(data)

    def next(self) -> list[bytes] | Status | None:
        """The next frame, or None when more bytes are needed."""
        try:
            frame = self._reader.gets()
        except HIREDIS_ERRORS as err:
            raise LinkProtocolError(f"malformed RESP: {err}") from None
        kind = type(frame)
        if kind is bool:  # False: incomplete
            return None
        if kind is list:
            for arg in frame:
                if type(arg) is not bytes:
                    raise LinkProtocolError("expected an array of bulk strings")
            return frame  # type: ignore[no-any-return]
        if kind is bytes:
            return Status(frame.decode("utf-8", "replace"))
        if isinstance(frame, hiredis.ReplyError):
            return Status(str(frame), error=True)
        raise LinkProtocolError(f"unexpected frame {frame!r:.80}")

    def next_array(self) -> tuple[list[bytes], int] | None:
        """The next frame, which must be an array of strings, with its stream size."""
        frame = self.next()
        if frame is None:
            return None
        if type(frame) is not list:
            raise LinkProtocolError(f"expected a command, got {frame!r:.80}")
        return frame, frame_size(frame)
