"""A minimal, lossless RESP client for tests: raw bytes in, typed reply trees out.

redis-py turns replies into Python values and loses what the differential
tests must compare (``+OK`` vs ``$2 OK``, an integer's exact digits, a RESP3
double's text). This client keeps everything: a reply is a :class:`Reply`
``(kind, value)`` where ``kind`` is the RESP type byte as a one-character
string and ``value`` is

* the raw payload ``bytes`` for ``+ - : , ( # $ = !`` (``None`` for a null bulk),
* a ``list`` of replies for ``* ~ >`` (``None`` for a null array),
* a ``list`` of ``(key, value)`` reply pairs for ``%`` and ``|``,
* ``None`` for ``_``.

Two replies are equal iff the servers sent the same bytes (modulo the exact
digits of a length header, which carry no information).
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

CRLF = b"\r\n"


class Reply(NamedTuple):
    kind: str
    value: Any

    def __repr__(self) -> str:
        return format_reply(self)

    @property
    def is_error(self) -> bool:
        return self.kind in ("-", "!")

    def text(self) -> str:
        """The payload of a scalar reply as text (errors, simple strings)."""
        assert isinstance(self.value, bytes), self
        return self.value.decode("utf-8", "backslashreplace")


def format_reply(reply: Reply) -> str:
    """A compact one-line rendering, e.g. ``[$b'a', :1, -ERR x]``."""
    kind, value = reply
    if kind in ("*", "~", ">"):
        if value is None:
            return "*nil"
        inner = ", ".join(format_reply(item) for item in value)
        return f"{'' if kind == '*' else kind}[{inner}]"
    if kind in ("%", "|"):
        inner = ", ".join(f"{format_reply(k)}: {format_reply(v)}" for k, v in value)
        return f"{kind}{{{inner}}}"
    if kind == "$" and value is None:
        return "$nil"
    if kind == "_":
        return "_null"
    if kind in ("-", "+", ":", ",", "(", "#"):
        return f"{kind}{value.decode('utf-8', 'backslashreplace')}"
    return f"{kind}{value!r}"


def encode_command(args: Iterable[bytes | str | int | float]) -> bytes:
    """A multibulk request frame."""
    parts: list[bytes] = []
    items = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    parts.append(b"*%d\r\n" % len(items))
    for item in items:
        parts.append(b"$%d\r\n%s\r\n" % (len(item), item))
    return b"".join(parts)


class Incomplete(Exception):
    """The buffer does not yet hold a whole reply."""


_KIND = [chr(i) for i in range(256)]
_SCALARS = frozenset(b"+-:,(#")
_BULKS = frozenset(b"$=!")


def parse_reply(buf: bytes, pos: int = 0) -> tuple[Reply, int]:
    """Parse one reply from ``buf[pos:]``; returns it and the position after it."""
    end = buf.find(CRLF, pos)
    if end < 0:
        raise Incomplete
    kind = chr(buf[pos])
    line = buf[pos + 1 : end]
    pos = end + 2
    if kind in ("+", "-", ":", ",", "(", "#"):
        return Reply(kind, line), pos
    if kind == "_":
        return Reply(kind, None), pos
    if kind in ("$", "=", "!"):
        length = int(line)
        if length < 0:
            return Reply(kind, None), pos
        if len(buf) < pos + length + 2:
            raise Incomplete
        return Reply(kind, buf[pos : pos + length]), pos + length + 2
    if kind in ("*", "~", ">"):
        count = int(line)
        if count < 0:
            return Reply(kind, None), pos
        # Scalar and bulk elements are parsed inline: arrays of thousands of
        # elements (PFDEBUG GETREG, LRANGE, a SCAN page) are common in tests.
        items: list[Reply] = []
        append = items.append
        find = buf.find
        for _ in range(count):
            end = find(CRLF, pos)
            if end < 0:
                raise Incomplete
            byte = buf[pos]
            if byte in _SCALARS:
                append(Reply(_KIND[byte], buf[pos + 1 : end]))
                pos = end + 2
            elif byte in _BULKS:
                length = int(buf[pos + 1 : end])
                start = end + 2
                if length < 0:
                    append(Reply(_KIND[byte], None))
                    pos = start
                    continue
                pos = start + length + 2
                if len(buf) < pos:
                    raise Incomplete
                append(Reply(_KIND[byte], buf[start : pos - 2]))
            else:
                item, pos = parse_reply(buf, pos)
                append(item)
        return Reply(kind, items), pos
    if kind in ("%", "|"):
        count = int(line)
        pairs = []
        for _ in range(count):
            key, pos = parse_reply(buf, pos)
            value, pos = parse_reply(buf, pos)
            pairs.append((key, value))
        return Reply(kind, pairs), pos
    raise ValueError(f"not a RESP reply: {buf[pos - len(line) - 3 :][:80]!r}")


class ConnectionClosed(Exception):
    """The server closed the connection (possibly after some replies)."""


class RawConnection:
    """A blocking socket speaking RESP, for exact-bytes tests.

    ``call(*args)`` sends one command and returns its :class:`Reply`;
    ``send_raw`` / ``read_reply`` / ``read_all`` give full control over framing.
    """

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = 10.0,
        source: tuple[str, int] | None = None,
    ) -> None:
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout, source_address=source)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closed = False

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, *args: bytes | str | int | float) -> None:
        self.sock.sendall(encode_command(args))

    def _recv(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete reply; buffered {self.buf[:200]!r}")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 16)
        except TimeoutError:
            raise TimeoutError(f"no complete reply; buffered {self.buf[:200]!r}") from None
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            raise ConnectionClosed(f"connection closed; buffered {self.buf[:200]!r}")
        self.buf += data

    def read_reply(self, timeout: float | None = None) -> Reply:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if self.buf:
                try:
                    reply, pos = parse_reply(self.buf)
                except Incomplete:
                    pass
                else:
                    self.buf = self.buf[pos:]
                    return reply
            self._recv(deadline)

    def call(self, *args: bytes | str | int | float) -> Reply:
        self.send(*args)
        return self.read_reply()

    def read_bytes(self, n: int, timeout: float | None = None) -> bytes:
        """Exactly ``n`` bytes (fewer only if the server closes the connection first)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(self.buf) < n and not self.closed:
            try:
                self._recv(deadline)
            except ConnectionClosed:
                break
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_all(self, timeout: float | None = None) -> bytes:
        """Every byte until the server closes the connection (TimeoutError if it does not)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.closed:
            try:
                self._recv(deadline)
            except ConnectionClosed:
                break
        data, self.buf = self.buf, b""
        return data

    def read_available(self, wait: float = 0.2) -> bytes:
        """Whatever arrives within ``wait`` seconds (no error if nothing or closed)."""
        deadline = time.monotonic() + wait
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([self.sock], [], [], remaining)
            if not ready:
                break
            try:
                data = self.sock.recv(1 << 16)
            except (ConnectionResetError, TimeoutError):
                data = b""
            if not data:
                self.closed = True
                break
            self.buf += data
        data, self.buf = self.buf, b""
        return data

    def wait_closed(self, timeout: float = 10.0) -> bytes:
        """Wait until the server closes the connection; returns what it sent before."""
        return self.read_all(timeout)
