"""Bytes in, commands out: the request side of RESP, without I/O.

:class:`RequestParser` takes whatever the socket delivered (:meth:`~RequestParser.feed`)
and hands back one command at a time as a list of ``bytes``
(:meth:`~RequestParser.next_command`), or ``None`` when it needs more data::

    parser.feed(data)
    while (argv := parser.next_command()) is not None:
        execute(argv)

It accepts exactly what Redis 7.0 accepts (``networking.c``: ``processInlineBuffer``,
``processMultibulkBuffer``, ``sdssplitargs``) and fails where Redis fails, with the
same words. The quirks kept on purpose, all checked against redis-server 7.0.15:

* a header line ends at the first ``\\r``; the byte after it is skipped, whatever it is;
* the two bytes after a bulk string's data are skipped, not checked;
* ``*0``, ``*-1`` (any count <= 0) is no command and is skipped silently;
* an inline line ends at ``\\n`` (a ``\\r`` before it is dropped); empty lines are skipped;
* a NUL byte before the end of a header or inline line hides the end (Redis searches
  with ``strchr``), so the command never completes and the line runs into its 64 KiB limit.

Errors: a malformed command raises :class:`respcache.errors.ProtocolError` when
:meth:`~RequestParser.next_command` reaches it, after every command before it was
returned. ``str(exc)`` is Redis's text after ``Protocol error: ``; a byte Redis quotes
(``expected '$', got '\\xff'``) is decoded with ``surrogateescape`` so that encoding the
reply the same way gives Redis's bytes back. The server answers ``-ERR Protocol error: ...``
(:attr:`ProtocolError.reply`) and closes the connection; the parser is not usable after
an error (the same call raises again).

:class:`QueryBufferLimitError` (a :class:`ProtocolError`) is different: Redis answers
nothing when a client passes ``client-query-buffer-limit``, it logs a warning and closes
the connection. The server should do the same (no reply). It is raised when the bytes
of commands not yet returned pass the limit while a command is still incomplete, so a
large pipeline of complete commands never trips it, and the buffer never holds more
than the limit plus one read.

Until :attr:`RequestParser.authenticated` is true (the server clears it when
``requirepass`` is set and sets it after ``AUTH``), a multibulk count above 10 or a bulk
length above 16384 is an error, as in Redis 7.0.15 (``unauthenticated multibulk
length`` / ``unauthenticated bulk length``); inline commands have no such limit.

Speed: a multibulk frame is parsed by ``hiredis.Reader`` when it is complete and the
client is authenticated. hiredis parses *replies*, so its output is checked: the frame
must be a list of bulk strings whose ``$`` headers sit where their lengths put them
(hiredis returns ``bytes`` for ``+``, ``=`` and ``(`` too), each no longer than
``max_bulk_len``. Anything else (an incomplete frame, a hiredis error, a failed check, an
inline command) goes to the reference parser in this module, which keeps how far it
has scanned so that a frame trickling in byte by byte costs linear time.

hiredis must never see a large aggregate count. It allocates the list for ``*N`` (or a
nested ``*N``, ``%N``, ``~N``, ``>N``, ``|N``) the moment the header line is complete,
before any element arrived, and frees it slot by slot: ``*2147483648\r\n``, 14 bytes,
cost 16 GiB of address space and ~10 s of CPU in the event loop, stalling every client,
where Redis judges the count at once (``processMultibulkBuffer`` checks ``> INT_MAX``
and the unauthenticated limit before it allocates, and then allocates at most 1024
slots). So every byte handed to hiredis is first searched for an aggregate header of
six digits or more (:data:`_BIG_AGGREGATE`, in C, once per byte fed); where one is
found, the buffer up to there is left to the reference parser, which judges the count
as soon as the line is complete and allocates nothing in proportion to it.
"""

from __future__ import annotations

import re
from typing import Final, cast

import hiredis

from respcache.errors import ProtocolError

__all__ = [
    "QueryBufferLimitError",
    "RequestParser",
    "split_args",
]

PROTO_INLINE_MAX_SIZE: Final = 64 * 1024
"""Redis's limit for an inline request and for a ``*``/``$`` header line without its end."""
UNAUTH_MAX_MULTIBULK: Final = 10
UNAUTH_MAX_BULK: Final = 16384
_INT_MAX: Final = 2**31 - 1
_LLONG_MIN: Final = -(2**63)
_LLONG_MAX: Final = 2**63 - 1
_STAR: Final = 42  # b"*"
_DOLLAR: Final = 36  # b"$"
_CR: Final = 13

# Decimal digits of n for the lengths the fast path meets most; len(str(n)) beyond.
_DIGITS: Final = tuple(len(str(n)) for n in range(10000))
_HIREDIS_ERRORS: Final = (hiredis.ProtocolError, hiredis.ReplyError)
# An aggregate header hiredis would allocate >= 100000 slots for (800 KB); a bulk's data
# that happens to match only sends its frame to the reference parser.
_BIG_AGGREGATE: Final = re.compile(rb"[*%~>|][0-9]{6}")
# The same for "*" alone: a literal first byte lets the regex engine skip ahead to each
# "*" instead of testing every byte against a class (4x faster on a pipelined read).
# The full pattern is searched only where one of the other four markers occurs at all.
_BIG_ARRAY: Final = re.compile(rb"\*[0-9]{6}")
_GUARD_OVERLAP: Final = 7  # a match may straddle two feeds


class QueryBufferLimitError(ProtocolError):
    """The client passed ``client-query-buffer-limit``: close the connection, reply nothing."""


def _string2ll(text: bytes) -> int | None:
    """Redis's ``string2ll``: the strict integer syntax of every RESP length, or None."""
    if len(text) >= 21 or _STRICT_INT.fullmatch(text) is None:
        return None
    value = int(text)
    if value < _LLONG_MIN or value > _LLONG_MAX:
        return None
    return value


_STRICT_INT: Final = re.compile(rb"-?[1-9][0-9]*|0")

# sdssplitargs: isspace() in the C locale skips blanks between arguments, but an
# unquoted argument ends only at space, \n, \r, \t (or the end).
_ISSPACE: Final = frozenset(b" \t\n\v\f\r")
_UNQUOTED_END: Final = frozenset(b" \n\r\t")
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES: Final = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_UNBALANCED: Final = "unbalanced quotes in request"


def split_args(line: bytes) -> list[bytes]:
    """Split an inline request as Redis's ``sdssplitargs`` does.

    Double quotes understand ``\\xHH``, ``\\n``, ``\\r``, ``\\t``, ``\\b``, ``\\a`` and
    ``\\<any>``; single quotes only ``\\'``. A closing quote must be followed by a blank
    or the end of the line. Raises :class:`ProtocolError` (``unbalanced quotes in
    request``) otherwise. The line ends at a NUL byte, as a C string does.
    """
    if b"\0" in line:
        line = line[: line.index(b"\0")]
    if b'"' not in line and b"'" not in line and b"\v" not in line and b"\f" not in line:
        return line.split()
    n = len(line)
    i = 0
    out: list[bytes] = []
    while True:
        while i < n and line[i] in _ISSPACE:
            i += 1
        if i >= n:
            return out
        cur = bytearray()
        in_double = in_single = False
        while True:
            c = line[i] if i < n else 0
            nxt = line[i + 1] if i + 1 < n else 0
            if in_double:
                if (
                    c == 92  # backslash
                    and nxt == 120  # x
                    and i + 3 < n
                    and line[i + 2] in _HEX
                    and line[i + 3] in _HEX
                ):
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 92 and nxt:
                    i += 1
                    cur.append(_ESCAPES.get(nxt, nxt))
                elif c == 34:  # closing "
                    if nxt and nxt not in _ISSPACE:
                        raise ProtocolError(_UNBALANCED)
                    i += 1
                    break
                elif not c:
                    raise ProtocolError(_UNBALANCED)
                else:
                    cur.append(c)
            elif in_single:
                if c == 92 and nxt == 39:
                    i += 1
                    cur.append(39)
                elif c == 39:  # closing '
                    if nxt and nxt not in _ISSPACE:
                        raise ProtocolError(_UNBALANCED)
                    i += 1
                    break
                elif not c:
                    raise ProtocolError(_UNBALANCED)
                else:
                    cur.append(c)
            elif not c:
                break
            elif c in _UNQUOTED_END:
                i += 1
                break
            elif c == 34:
                in_double = True
            elif c == 39:
                in_single = True
            else:
                cur.append(c)
            i += 1
        out.append(bytes(cur))


def _quoted_byte(byte: int) -> str:
    """How Redis's ``%c`` shows a byte in an error line (CR and LF become spaces)."""
    if byte in (10, 13):
        return " "
    return bytes((byte,)).decode("utf-8", "surrogateescape")


class RequestParser:
    """Incremental RESP request parser (inline and multibulk), sans I/O.

    ``max_bulk_len`` is ``proto-max-bulk-len``, ``query_buffer_limit`` is
    ``client-query-buffer-limit`` and ``max_inline_len`` is Redis's fixed 64 KiB limit
    for an inline request or a header line (a parameter so that tests can make it small).
    """

    __slots__ = (
        "_args",
        "_buf",
        "_bulklen",
        "_fed",
        "_guard",
        "_left",
        "_max_bulk",
        "_max_inline",
        "_pos",
        "_qb_limit",
        "_reader",
        "_scan",
        "_searched",
        "_slow",
        "_stuck",
        "authenticated",
    )

    def __init__(
        self,
        *,
        max_bulk_len: int = 512 * 1024 * 1024,
        query_buffer_limit: int = 1024**3,
        max_inline_len: int = PROTO_INLINE_MAX_SIZE,
    ) -> None:
        self._max_bulk = max_bulk_len
        self._qb_limit = query_buffer_limit
        self._max_inline = max_inline_len
        self.authenticated = True
        """False until the client authenticates when a password is required (the server sets it)."""
        self._buf = bytearray()
        self._pos = 0  # start of the first command not yet returned
        # The hiredis fast path: the reader holds exactly self._buf[self._pos:self._fed].
        self._reader: hiredis.Reader | None = None
        self._fed = 0
        # hiredis is not used for a command starting before this offset (_BIG_AGGREGATE).
        self._guard = 0
        # The reference parser's state for the command at self._pos.
        self._slow = False  # the command at _pos is the reference parser's
        self._args: list[bytes] | None = None  # multibulk: arguments so far
        self._left = 0  # multibulk: arguments still to come
        self._bulklen = -1  # length of the bulk being read, -1 = its header is next
        self._scan = 0  # where the next unparsed part of the command starts
        self._searched = 0  # end of the line was looked for, and is not, before here
        self._stuck = False  # a NUL hides the end of the current line (strchr)

    def feed(self, data: bytes) -> None:
        """Append bytes received from the client."""
        self._buf += data

    def buffered(self) -> int:
        """Bytes held that are not yet returned as commands."""
        return len(self._buf) - self._pos

    def query_buffer(self) -> int:
        """``qbuf`` of CLIENT LIST: Redis trims its query buffer only after running
        every command of a read, so the command running now (and those before it from
        the same read) still count, as do the bytes not yet parsed."""
        return len(self._buf)

    def next_command(self) -> list[bytes] | None:
        """The next complete command, or None when more data is needed.

        Raises :class:`ProtocolError` at a malformed command (and again if called
        after that) and :class:`QueryBufferLimitError` when an incomplete command
        holds more than ``query_buffer_limit`` bytes.
        """
        buf = self._buf
        while True:
            pos = self._pos
            if pos >= len(buf):
                if pos:
                    buf.clear()
                    self._pos = self._fed = self._guard = 0
                return None
            reader = self._reader
            if (
                not self._slow
                and buf[pos] == _STAR
                and self.authenticated
                and pos >= self._guard
                # (hiredis has seen every byte already: the rest of a pipelined read)
                and ((reader is not None and self._fed == len(buf)) or self._feed_reader(pos))
            ):
                reader = self._reader
                assert reader is not None
                # (list[object]: hiredis may return other elements, and compiled code
                # checks a declared element type as it iterates.)
                reply: list[object] | bool | None
                try:
                    reply = reader.gets()
                except _HIREDIS_ERRORS:
                    reply = False
                if type(reply) is list:
                    count = len(reply)
                    if not count:  # *0\r\n: no command
                        self._pos = pos + 4
                        continue
                    # hiredis accepted the headers, so they are canonical: the
                    # frame is valid for Redis iff every element is a bulk string
                    # whose "$" is where the lengths before it put it.
                    end = pos + (_DIGITS[count] if count < 10000 else len(str(count))) + 3
                    max_bulk = self._max_bulk
                    for arg in reply:
                        if type(arg) is not bytes or buf[end] != _DOLLAR:
                            break
                        size = len(arg)
                        if size > max_bulk:
                            break
                        end += size + (_DIGITS[size] if size < 10000 else len(str(size))) + 5
                    else:
                        self._pos = end
                        return cast(list[bytes], reply)
                elif reply is None:  # *-1\r\n: no command
                    self._pos = pos + 5
                    continue
                # Incomplete, or not what Redis accepts: the reference parser decides.
                self._reader = None
                self._slow = True
            else:
                self._reader = None
            argv = self._parse_slow()
            if argv is None:
                if len(buf) - self._pos > self._qb_limit:
                    raise QueryBufferLimitError(
                        f"query buffer of {len(buf) - self._pos} bytes passed "
                        f"client-query-buffer-limit ({self._qb_limit})"
                    )
                self._compact()
                return None
            if argv:
                return argv

    def _feed_reader(self, pos: int) -> bool:
        """Hand hiredis the bytes it has not seen, unless they hold a big aggregate header.

        False (and no reader) when one is found: the commands up to its end are the
        reference parser's.
        """
        buf = self._buf
        reader = self._reader
        start = pos if reader is None else self._fed
        if start < len(buf):
            frm = max(start - _GUARD_OVERLAP, pos)
            if (
                len(buf) - frm < 512  # (short: the class scan costs less than the finds)
                or buf.find(b"%", frm) >= 0
                or buf.find(b"~", frm) >= 0
                or buf.find(b">", frm) >= 0
                or buf.find(b"|", frm) >= 0
            ):
                found = _BIG_AGGREGATE.search(buf, frm)
            else:
                found = _BIG_ARRAY.search(buf, frm)
            if found is not None:
                self._reader = None
                self._guard = found.end()
                return False
            if reader is None:
                reader = self._reader = hiredis.Reader()
            reader.feed(buf, start)  # type: ignore[arg-type]  # any buffer works
            self._fed = len(buf)
        return reader is not None

    # -- the reference parser -------------------------------------------------

    def _compact(self) -> None:
        pos = self._pos
        if pos:
            del self._buf[:pos]
            self._pos = 0
            self._guard = max(self._guard - pos, 0)
            self._scan = max(self._scan - pos, 0)
            self._searched = max(self._searched - pos, 0)

    def _find_end(self, start: int, char: bytes) -> int:
        """Where C's ``strchr(buf + start, char)`` finds ``char``, or -1 (keeps its progress)."""
        if self._stuck:
            return -1
        buf = self._buf
        frm = max(start, self._searched)
        i = buf.find(char, frm)
        if buf.find(b"\0", frm, len(buf) if i < 0 else i) >= 0:
            self._stuck = True
            return -1
        self._searched = len(buf) if i < 0 else i
        return i

    def _done(self, end: int) -> None:
        """The command at ``_pos`` ends at ``end``: reset for the next one."""
        self._pos = end
        self._slow = False
        self._args = None
        self._bulklen = -1
        self._searched = 0
        self._stuck = False

    def _parse_slow(self) -> list[bytes] | None:
        """Parse the command at ``_pos``: argv, [] for no command, None for more data."""
        self._slow = True
        buf = self._buf
        args = self._args
        if args is None:
            start = self._pos
            if buf[start] != _STAR:
                return self._parse_inline(start)
            i = self._find_end(start, b"\r")
            if i < 0:
                if len(buf) - start > self._max_inline:
                    raise ProtocolError("too big mbulk count string")
                return None
            if i + 1 >= len(buf):  # the byte after \r (not checked to be \n)
                return None
            count = _string2ll(bytes(buf[start + 1 : i]))
            if count is None or count > _INT_MAX:
                raise ProtocolError("invalid multibulk length")
            if count > UNAUTH_MAX_MULTIBULK and not self.authenticated:
                raise ProtocolError("unauthenticated multibulk length")
            if count <= 0:
                self._done(i + 2)
                return []
            args = self._args = []
            self._left = count
            self._scan = i + 2
            self._bulklen = -1
        while self._left:
            start = self._scan
            size = self._bulklen
            if size < 0:
                i = self._find_end(start, b"\r")
                if i < 0:
                    if len(buf) - start > self._max_inline:
                        raise ProtocolError("too big bulk count string")
                    return None
                if i + 1 >= len(buf):
                    return None
                if buf[start] != _DOLLAR:
                    raise ProtocolError(f"expected '$', got '{_quoted_byte(buf[start])}'")
                parsed = _string2ll(bytes(buf[start + 1 : i]))
                if parsed is None or parsed < 0 or parsed > self._max_bulk:
                    raise ProtocolError("invalid bulk length")
                if parsed > UNAUTH_MAX_BULK and not self.authenticated:
                    raise ProtocolError("unauthenticated bulk length")
                size = self._bulklen = parsed
                start = self._scan = i + 2
            if len(buf) - start < size + 2:
                return None
            if size < 4096:
                args.append(bytes(buf[start : start + size]))
            else:  # one copy, not two
                with memoryview(buf) as view:
                    args.append(view[start : start + size].tobytes())
            self._scan = start + size + 2  # the two bytes after the data are not checked
            self._bulklen = -1
            self._left -= 1
        self._done(self._scan)
        return args

    def _parse_inline(self, start: int) -> list[bytes] | None:
        buf = self._buf
        i = self._find_end(start, b"\n")
        if i < 0:
            if len(buf) - start > self._max_inline:
                raise ProtocolError("too big inline request")
            return None
        end = i - 1 if i > start and buf[i - 1] == _CR else i
        argv = split_args(bytes(buf[start:end]))
        self._done(i + 1)
        return argv
