"""RequestParser against Redis 7.0.15's behaviour (every expectation was checked on a real server).

Each case is fed whole (the hiredis fast path), one byte at a time and split in two at
every position (the reference parser, picking up where it stopped).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import hiredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from respcache.errors import ProtocolError
from respcache.protocol.encoder import encode_command
from respcache.protocol.parser import QueryBufferLimitError, RequestParser, split_args

Argv = list[bytes]


def chunkings(data: bytes) -> Iterator[tuple[str, list[bytes]]]:
    yield "whole", [data]
    yield "bytewise", [data[i : i + 1] for i in range(len(data))]
    for cut in range(1, len(data)):
        yield f"cut{cut}", [data[:cut], data[cut:]]


def run(
    chunks: list[bytes], parser: RequestParser | None = None
) -> tuple[list[Argv], ProtocolError | None, RequestParser]:
    parser = parser or RequestParser()
    out: list[Argv] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            while (argv := parser.next_command()) is not None:
                out.append(argv)
    except ProtocolError as exc:
        return out, exc, parser
    return out, None, parser


def cmd(*args: bytes) -> bytes:
    return encode_command(list(args))


VALID: list[tuple[bytes, list[Argv]]] = [
    (b"*1\r\n$4\r\nPING\r\n", [[b"PING"]]),
    (b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n", [[b"GET", b"a"]]),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", [[b"SET", b"k", b""]]),
    (cmd(b"SET", b"k", b"\r\n\x00\xff*$"), [[b"SET", b"k", b"\r\n\x00\xff*$"]]),
    (cmd(b"SET", b"k", b"v" * 10000), [[b"SET", b"k", b"v" * 10000]]),
    (cmd(*[b"%d" % i for i in range(12)]), [[b"%d" % i for i in range(12)]]),
    (cmd(b"GET", b"a") * 5, [[b"GET", b"a"]] * 5),
    # counts <= 0 are no command
    (b"*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n", [[b"PING"]]),
    (b"*-9223372036854775808\r\nPING\r\n", [[b"PING"]]),
    # a header line ends at \r; the byte after it is skipped unchecked
    (b"*1\rX$4\r\nPING\r\n", [[b"PING"]]),
    (b"*1\r\n$4\rXPING\r\n", [[b"PING"]]),
    # the two bytes after bulk data are skipped unchecked
    (b"*1\r\n$4\r\nPINGXY*1\r\n$1\r\nx\r\n", [[b"PING"], [b"x"]]),
    # inline
    (b"PING\r\n", [[b"PING"]]),
    (b"PING\n", [[b"PING"]]),
    (b"PING\r\r\n", [[b"PING"]]),
    (b"\r\n\r\n   \r\n\nPING\r\n", [[b"PING"]]),
    (b"\vPING\r\n", [[b"PING"]]),
    (b"set  k\tv \r\n", [[b"set", b"k", b"v"]]),
    (b"ECHO a\vb\r\n", [[b"ECHO", b"a\vb"]]),
    (b"ECHO a\fb\r\n", [[b"ECHO", b"a\fb"]]),
    (
        b'ECHO "a\\x41b\\x4g\\n\\r\\t\\b\\a\\\\\\"\\z"\r\n',
        [[b"ECHO", b'aAbx4g\n\r\t\x08\x07\\"z']],
    ),
    (b"ECHO 'a\\'b\\n'\r\n", [[b"ECHO", b"a'b\\n"]]),
    (b"ECHO abc\"def ghi\"\r\n", [[b"ECHO", b"abcdef ghi"]]),
    (b'ECHO "abc"\v\r\n', [[b"ECHO", b"abc"]]),
    (b'ECHO "a"\t\r\n', [[b"ECHO", b"a"]]),
    (b"ECHO \"\" ''\r\n", [[b"ECHO", b"", b""]]),
    (b'xyz a b "c d"\r\n', [[b"xyz", b"a", b"b", b"c d"]]),
    # inline and multibulk in any order
    (b"PING\r\n*1\r\n$4\r\nPING\r\nPING\r\n", [[b"PING"]] * 3),
    (b"\r\n*1\r\n$4\r\nPING\r\n", [[b"PING"]]),
    (cmd(b"A") + b"B c\n" + cmd(b"D", b"e") + b"F\r\n", [[b"A"], [b"B", b"c"], [b"D", b"e"], [b"F"]]),
]


@pytest.mark.parametrize(("data", "expected"), VALID)
def test_valid(data: bytes, expected: list[Argv]) -> None:
    for how, chunks in chunkings(data):
        out, err, parser = run(chunks)
        assert err is None, (how, err)
        assert out == expected, how
        assert parser.buffered() == 0, how
        assert all(type(arg) is bytes for argv in out for arg in argv)


# (input, commands returned before the error, the error text after "Protocol error: ")
ERRORS: list[tuple[bytes, list[Argv], str]] = [
    (b"ECHO 'a\\'b\\n\\\\'\r\n", [], "unbalanced quotes in request"),
    (b'ECHO "abc"def\r\n', [], "unbalanced quotes in request"),
    (b"ECHO 'abc'def\r\n", [], "unbalanced quotes in request"),
    (b'ECHO "abc\r\n', [], "unbalanced quotes in request"),
    (b"ECHO 'abc\r\n", [], "unbalanced quotes in request"),
    (b'ECHO "a\\\r\n', [], "unbalanced quotes in request"),
    (b"*01\r\n", [], "invalid multibulk length"),
    (b"*+1\r\n", [], "invalid multibulk length"),
    (b"* 1\r\n", [], "invalid multibulk length"),
    (b"*\r\n", [], "invalid multibulk length"),
    (b"*abc\r\n", [], "invalid multibulk length"),
    (b"*-0\r\n", [], "invalid multibulk length"),
    (b"*1 \r\n", [], "invalid multibulk length"),
    (b"*1\n$4\r\nPING\r\n", [], "invalid multibulk length"),
    (b"*2147483648\r\n", [], "invalid multibulk length"),
    (b"*9223372036854775808\r\n", [], "invalid multibulk length"),
    (b"*100000000000000000000\r\n", [], "invalid multibulk length"),
    (b"*1\r\n:1\r\n", [], "expected '$', got ':'"),
    (b"*1\r\n+PING\r\n", [], "expected '$', got '+'"),
    (b"*1\r\n=8\r\ntxt:PING\r\n", [], "expected '$', got '='"),
    (b"*1\r\n(123\r\n", [], "expected '$', got '('"),
    (b"*1\r\n,1.5\r\n", [], "expected '$', got ','"),
    (b"*1\r\n#t\r\n", [], "expected '$', got '#'"),
    (b"*1\r\n_\r\n", [], "expected '$', got '_'"),
    (b"*1\r\n-ERR x\r\n", [], "expected '$', got '-'"),
    (b"*1\r\n*1\r\n$1\r\na\r\n", [], "expected '$', got '*'"),
    (b"*1\r\n%1\r\n$1\r\na\r\n$1\r\nb\r\n", [], "expected '$', got '%'"),
    (b"*1\r\n~1\r\n$1\r\na\r\n", [], "expected '$', got '~'"),
    (b"*1\r\n>1\r\n$1\r\na\r\n", [], "expected '$', got '>'"),
    (b"*2\r\n|1\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nx\r\n$1\r\ny\r\n", [], "expected '$', got '|'"),
    (b"*2\r\n$4\r\nECHO\r\n:1\r\n", [], "expected '$', got ':'"),
    (b"*2\r\n$1\r\na\r\n=5\r\ntxt:b\r\n", [], "expected '$', got '='"),
    (b"*2\r\n$1\r\na\r\n+b\r\n", [], "expected '$', got '+'"),
    (b"*1\r\n\r\n", [], "expected '$', got ' '"),
    (b"*1\r\n\n\r\n", [], "expected '$', got ' '"),
    (b"*1\r\nx\r\n", [], "expected '$', got 'x'"),
    (b"*1\r\n\xff\r\n", [], "expected '$', got '\udcff'"),
    (b"*1\r\n$-1\r\n", [], "invalid bulk length"),
    (b"*1\r\n$-2\r\n", [], "invalid bulk length"),
    (b"*1\r\n$01\r\n", [], "invalid bulk length"),
    (b"*1\r\n$\r\n", [], "invalid bulk length"),
    (b"*1\r\n$ 1\r\n", [], "invalid bulk length"),
    (b"*1\r\n$+1\r\n", [], "invalid bulk length"),
    (b"*1\r\n$1_0\r\n", [], "invalid bulk length"),
    (b"*1\r\n$600000000\r\n", [], "invalid bulk length"),
    (b"*1\r\n$536870913\r\n", [], "invalid bulk length"),
    (b"*1\r\n$99999999999999999999\r\n", [], "invalid bulk length"),
    (b"*1\r\n$-9223372036854775808\r\n", [], "invalid bulk length"),
    # commands before the error come first
    (b"PING\r\n*1\r\n:1\r\n", [[b"PING"]], "expected '$', got ':'"),
    (cmd(b"PING") + b"*2\r\n*1\r\n", [[b"PING"]], "expected '$', got '*'"),
    (cmd(b"GET", b"a") * 3 + b"*1\r\n$-1\r\n" + cmd(b"PING"), [[b"GET", b"a"]] * 3, "invalid bulk length"),
    (b"PING\r\nECHO \"x\r\nPING\r\n", [[b"PING"]], "unbalanced quotes in request"),
]


@pytest.mark.parametrize(("data", "before", "message"), ERRORS)
def test_protocol_errors(data: bytes, before: list[Argv], message: str) -> None:
    for how, chunks in chunkings(data):
        out, err, parser = run(chunks)
        assert out == before, how
        assert err is not None, how
        assert type(err) is ProtocolError
        assert str(err) == message, how
        assert err.reply == f"ERR Protocol error: {message}"
        # the parser stays failed
        with pytest.raises(ProtocolError, match=f"^{re.escape(message)}$"):
            parser.next_command()


def test_error_byte_round_trips_to_redis_bytes() -> None:
    _, err, _ = run([b"*1\r\n\xff\r\n"])
    assert err is not None
    assert ("-" + err.reply).encode("utf-8", "surrogateescape") == (
        b"-ERR Protocol error: expected '$', got '\xff'"
    )


# Redis waits for more on these (a NUL hides the end of a line from strchr).
INCOMPLETE = [
    b"*1\r\n$536870912\r\n",
    b"*2147483647\r\n",
    b"*1\r\n$4\r",
    b"*1\r",
    b"*1\r\n$4\r\nPING\r",
    b"ECHO a",
    b"ECHO a\x00b\r\nPING\r\n",
    b"*1\x00\r\n",
    b"*1\r\n\x00\r\n",
    b"*1\r\n$1\x00\r\n",
]


@pytest.mark.parametrize("data", INCOMPLETE)
def test_incomplete(data: bytes) -> None:
    for how, chunks in chunkings(data):
        out, err, parser = run(chunks)
        assert (out, err) == ([], None), how
        assert parser.buffered() == len(data)


def test_incomplete_then_completed_by_more_data() -> None:
    parser = RequestParser()
    parser.feed(b"*2\r\n$3\r\nGET\r\n$1")
    assert parser.next_command() is None
    assert parser.buffered() == 15
    parser.feed(b"\r\nk\r\n*1\r\n$4\r\nPI")
    assert parser.next_command() == [b"GET", b"k"]
    assert parser.next_command() is None
    assert parser.buffered() == 10
    parser.feed(b"NG\r\n")
    assert parser.next_command() == [b"PING"]
    assert parser.next_command() is None
    assert parser.buffered() == 0


def test_pipeline_of_many_commands() -> None:
    commands = [[b"SET", b"key:%d" % i, b"v" * (i % 50)] for i in range(500)]
    commands += [[b"GET", b"key:%d" % i] for i in range(500)]
    data = b"".join(encode_command(c) for c in commands)
    for size in (len(data), 1, 7, 100, 4096):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        out, err, _ = run(chunks)
        assert err is None
        assert out == commands


def test_mixed_inline_and_multibulk_pipeline() -> None:
    commands: list[Argv] = []
    data = b""
    for i in range(200):
        argv = [b"SET", b"k%d" % i, b"v%d" % i]
        commands.append(argv)
        data += encode_command(argv) if i % 3 else b"SET k%d v%d\r\n" % (i, i)
    for size in (len(data), 1, 13):
        out, err, _ = run([data[i : i + size] for i in range(0, len(data), size)])
        assert err is None
        assert out == commands


def test_complete_multibulk_commands_use_hiredis(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_slow_path(self: RequestParser) -> None:
        raise AssertionError("reference parser used")

    monkeypatch.setattr(RequestParser, "_parse_slow", no_slow_path)
    data = cmd(b"GET", b"a") * 10 + b"*0\r\n*-1\r\n" + cmd(b"SET", b"k", b"x" * 20000)
    out, err, _ = run([data])
    assert err is None
    assert out == [[b"GET", b"a"]] * 10 + [[b"SET", b"k", b"x" * 20000]]


# -- limits -------------------------------------------------------------------


def test_inline_limit() -> None:
    assert run([b"A" * 16], RequestParser(max_inline_len=16))[:2] == ([], None)
    out, err, _ = run([b"A" * 17], RequestParser(max_inline_len=16))
    assert str(err) == "too big inline request"
    # a NUL hides the line end: the line runs into the limit
    out, err, _ = run([b"A\x00BCDEFGHIJ\r\nPING\r\n"], RequestParser(max_inline_len=16))
    assert (out, str(err)) == ([], "too big inline request")
    # a longer line whose end is already there is accepted, as by Redis
    out, err, _ = run([b"ECHO " + b"A" * 30 + b"\r\n"], RequestParser(max_inline_len=16))
    assert (out, err) == ([[b"ECHO", b"A" * 30]], None)


def test_header_line_limits() -> None:
    out, err, _ = run([b"*" + b"1" * 15], RequestParser(max_inline_len=16))
    assert (out, err) == ([], None)
    out, err, _ = run([b"*" + b"1" * 16], RequestParser(max_inline_len=16))
    assert str(err) == "too big mbulk count string"
    out, err, _ = run([b"*1\r\n$" + b"1" * 16], RequestParser(max_inline_len=16))
    assert str(err) == "too big bulk count string"
    # counted from the start of the bulk header, after arguments already read
    data = b"*2\r\n$1\r\na\r\n" + b"x" * 17
    for _, chunks in chunkings(data):
        out, err, _ = run(chunks, RequestParser(max_inline_len=16))
        assert str(err) == "too big bulk count string"


def test_max_bulk_len_checked_at_the_header() -> None:
    for data in (b"*2\r\n$3\r\nSET\r\n$11\r\n", cmd(b"SET", b"x" * 11)):
        for how, chunks in chunkings(data):
            out, err, _ = run(chunks, RequestParser(max_bulk_len=10))
            assert (out, str(err)) == ([], "invalid bulk length"), how
    out, err, _ = run([cmd(b"SET", b"x" * 10)], RequestParser(max_bulk_len=10))
    assert (out, err) == ([[b"SET", b"x" * 10]], None)


def test_query_buffer_limit() -> None:
    parser = RequestParser(query_buffer_limit=100)
    parser.feed(b"*2\r\n$3\r\nSET\r\n$200\r\n" + b"x" * 80)
    assert parser.next_command() is None
    parser.feed(b"x" * 10)
    with pytest.raises(QueryBufferLimitError):
        parser.next_command()
    # an incomplete inline line too
    parser = RequestParser(query_buffer_limit=10)
    parser.feed(b"ECHO " + b"x" * 10)
    with pytest.raises(QueryBufferLimitError):
        parser.next_command()


def test_query_buffer_limit_counts_only_the_incomplete_command() -> None:
    data = cmd(b"SET", b"k", b"v" * 20) * 50 + b"*1\r\n$4\r\nPI"
    out, err, parser = run([data], RequestParser(query_buffer_limit=40))
    assert err is None
    assert len(out) == 50
    assert parser.buffered() == 10


UNAUTH_ERRORS = [
    (b"*11\r\n", "unauthenticated multibulk length"),
    (b"*11\r\n$4\r\nPING\r\n", "unauthenticated multibulk length"),
    (b"*1\r\n$16385\r\n", "unauthenticated bulk length"),
    (b"*2\r\n$3\r\nSET\r\n$16385\r\n", "unauthenticated bulk length"),
    (b"*2147483648\r\n", "invalid multibulk length"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*1\r\n$600000000\r\n", "invalid bulk length"),
]


@pytest.mark.parametrize(("data", "message"), UNAUTH_ERRORS)
def test_unauthenticated_limits(data: bytes, message: str) -> None:
    for how, chunks in chunkings(data):
        parser = RequestParser()
        parser.authenticated = False
        out, err, _ = run(chunks, parser)
        assert (out, str(err)) == ([], message), how


def test_unauthenticated_within_limits() -> None:
    commands = [[b"x"] * 10, [b"SET", b"k", b"v" * 16384], [b"PING"] + [b"a"] * 20]
    data = encode_command(commands[0]) + encode_command(commands[1]) + b"PING" + b" a" * 20 + b"\r\n"
    data += b"*-20\r\n"
    for how, chunks in chunkings(data):
        parser = RequestParser()
        parser.authenticated = False
        out, err, _ = run(chunks, parser)
        assert (out, err) == (commands, None), how


def test_authentication_lifts_the_limits_for_the_next_command() -> None:
    parser = RequestParser()
    parser.authenticated = False
    parser.feed(cmd(b"AUTH", b"pw") + cmd(*[b"a"] * 11))
    assert parser.next_command() == [b"AUTH", b"pw"]
    parser.authenticated = True
    assert parser.next_command() == [b"a"] * 11
    parser.authenticated = False  # e.g. RESET
    parser.feed(cmd(*[b"a"] * 11))
    with pytest.raises(ProtocolError, match=r"^unauthenticated multibulk length$"):
        parser.next_command()


# -- big declared counts: judged at the header, never allocated ------------------

_LONG_ARGV = [b"SET", b"k", b"x" * 600]
_LONG = cmd(*_LONG_ARGV)

BIG_COUNTS = [
    (b"*2147483648\r\n", [], "invalid multibulk length"),
    (b"*9223372036854775807\r\n", [], "invalid multibulk length"),
    (b"*1\r\n*2147483647\r\n", [], "expected '$', got '*'"),
    (b"*1\r\n%2147483647\r\n", [], "expected '$', got '%'"),
    (b"*2\r\n$1\r\naXY~99999999\r\n", [], "expected '$', got '~'"),
    (cmd(b"PING") + b"*2147483648\r\n", [[b"PING"]], "invalid multibulk length"),
    (cmd(b"PING") + b"*1\r\n>99999999\r\n", [[b"PING"]], "expected '$', got '>'"),
    (cmd(b"PING") + b"*2147483647\r\n", [[b"PING"]], None),  # Redis waits for its arguments
    # After a long read (where only "*" is searched unless another marker occurs at all):
    (_LONG + b"*2147483648\r\n", [_LONG_ARGV], "invalid multibulk length"),
    (_LONG + b"*1\r\n%2147483647\r\n", [_LONG_ARGV], "expected '$', got '%'"),
    (_LONG + b"*2\r\n$1\r\naXY|99999999\r\n", [_LONG_ARGV], "expected '$', got '|'"),
]


class _SpyReader:
    """hiredis.Reader that records what it is fed."""

    fed: list[bytes] = []
    real = hiredis.Reader

    def __init__(self) -> None:
        self._inner = _SpyReader.real()

    def feed(self, data: bytes | bytearray, offset: int = 0) -> None:
        _SpyReader.fed.append(bytes(data[offset:]))
        self._inner.feed(data, offset)

    def gets(self) -> object:
        return self._inner.gets()


@pytest.mark.parametrize(("data", "commands", "message"), BIG_COUNTS)
def test_big_aggregate_counts_never_reach_hiredis(
    monkeypatch: pytest.MonkeyPatch, data: bytes, commands: list[Argv], message: str | None
) -> None:
    """hiredis allocates N slots at a ``*N`` header: 14 bytes once stalled the server ~10 s."""
    import respcache.protocol.parser as parser_module

    monkeypatch.setattr(parser_module.hiredis, "Reader", _SpyReader)
    for how, chunks in chunkings(data):
        _SpyReader.fed = []
        out, err, _ = run(chunks)
        assert (out, None if err is None else str(err)) == (commands, message), how
        seen = b"".join(_SpyReader.fed)
        assert re.search(rb"[*%~>|][0-9]{6}", seen) is None, (how, seen)


def test_a_bulk_that_looks_like_a_big_header_still_parses() -> None:
    data = cmd(b"SET", b"k", b"*1234567") + cmd(b"GET", b"k") * 3
    for how, chunks in chunkings(data):
        out, err, _ = run(chunks)
        assert (out, err) == ([[b"SET", b"k", b"*1234567"]] + [[b"GET", b"k"]] * 3, None), how


# -- sdssplitargs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"", []),
        (b"   ", []),
        (b"a b  c", [b"a", b"b", b"c"]),
        (b'"a b" c', [b"a b", b"c"]),
        (b'"\\x00\\xff\\xFf"', [b"\x00\xff\xff"]),
        (b'"\\x4"', [b"x4"]),
        (b'"\\q"', [b"q"]),
        (b"'\\x41'", [b"\\x41"]),
        (b"'it''s'", None),
        (b"a\x00b c", [b"a"]),
        (b'"a"b', None),
        (b'"a', None),
        (b"'a", None),
        (b'"a\\"', None),
    ],
)
def test_split_args(line: bytes, expected: list[bytes] | None) -> None:
    if expected is None:
        with pytest.raises(ProtocolError, match=r"^unbalanced quotes in request$"):
            split_args(line)
    else:
        assert split_args(line) == expected


# -- round trip -----------------------------------------------------------------

argvs = st.lists(st.lists(st.binary(max_size=40), min_size=1, max_size=8), min_size=1, max_size=6)


@given(argvs, st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_encode_command_round_trip(commands: list[Argv], cuts: list[int]) -> None:
    data = b"".join(encode_command(argv) for argv in commands)
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    out, err, parser = run(chunks)
    assert err is None
    assert out == commands
    assert parser.buffered() == 0


FRAGMENTS = [
    b"*", b"$", b"\r", b"\n", b"\r\n", b"0", b"1", b"2", b"-1", b"12", b":", b"+", b"=", b'"', b"'",
    b"\\", b"\x00", b" ", b"a", b"PING", b"*1\r\n", b"*2\r\n", b"$1\r\n", b"$3\r\n", b"*0\r\n",
    cmd(b"GET", b"k"), b"GET k\r\n",
]


@given(st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=4), max_size=25), st.integers(0, 200))
def test_fast_and_reference_paths_agree(parts: list[bytes], cut: int) -> None:
    """Whatever the bytes, hiredis (whole) and the reference parser (bytewise) agree."""
    data = b"".join(parts)
    outcomes = []
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))], [data[:cut], data[cut:]]):
        out, err, _ = run(chunks)  # nothing but ProtocolError may escape
        outcomes.append((out, None if err is None else str(err)))
    assert outcomes[0] == outcomes[1] == outcomes[2]


def test_query_buffer_counts_the_running_command_until_the_next_read() -> None:
    """CLIENT LIST's qbuf: Redis trims the query buffer after the read's commands ran."""
    from respcache.protocol.parser import RequestParser

    p = RequestParser()
    frame = b"*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n"
    p.feed(frame + b"*1\r\n$4\r\nPI")
    assert p.next_command() == [b"client", b"list"]
    assert p.query_buffer() == len(frame) + 10  # the running command and the partial one
    assert p.buffered() == 10
    assert p.next_command() is None
    p.feed(b"NG\r\n")
    assert p.next_command() == [b"PING"]
    assert p.next_command() is None
    assert p.query_buffer() == 0
