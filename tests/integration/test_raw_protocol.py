"""Raw sockets: inline commands, pipelining, framing trickled in, malformed frames.

Every expected byte string here is what redis-server 7.0.15 sends (run with
``RCTEST_IMPL=redis`` to check the table against it).
"""

from __future__ import annotations

import pytest
from support import RawConnection, ServerProcess

pytestmark = pytest.mark.integration


# (request bytes, exact reply bytes) on a connection that stays open.
KEPT_OPEN = [
    (b"PING\r\n", b"+PONG\r\n"),
    (b"PING\n", b"+PONG\r\n"),
    (b"ping hello\r\n", b"$5\r\nhello\r\n"),
    (b'ECHO "hello world"\r\n', b"$11\r\nhello world\r\n"),
    (b"ECHO 'single quoted'\r\n", b"$13\r\nsingle quoted\r\n"),
    (b'ECHO "tab\\there\\x41\\n"\r\n', b"$10\r\ntab\there" + b"A\n" + b"\r\n"),
    (b"ECHO    spaced     \r\n", b"$6\r\nspaced\r\n"),
    (b"\r\n\r\nPING\r\n", b"+PONG\r\n"),  # empty inline lines are skipped
    (b"*0\r\n*-1\r\nPING\r\n", b"+PONG\r\n"),  # empty multibulks are skipped
    (b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", b"$0\r\n\r\n"),
    (
        b"*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n",
        b"+PONG\r\n+PONG\r\n$1\r\nx\r\n",
    ),
    (b"NOSUCH a b\r\n", b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"),
    (b"GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n"),
    (b"\x01\r\n", b"-ERR unknown command '\x01', with args beginning with: \r\n"),
]


@pytest.mark.parametrize(("request_bytes", "expected"), KEPT_OPEN, ids=lambda v: repr(v)[:40])
def test_requests(respcache_server: ServerProcess, request_bytes: bytes, expected: bytes) -> None:
    with respcache_server.raw() as conn:
        conn.send_raw(request_bytes)
        assert conn.read_bytes(len(expected), timeout=5.0) == expected
        # Still open and in sync.
        assert conn.call("PING") == ("+", b"PONG")


# (request bytes, everything the server sends before closing the connection).
CLOSED = [
    (b'ECHO "unbalanced\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"*1\r\n+PING\r\n", b"-ERR Protocol error: expected '$', got '+'\r\n"),
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*2147483648\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    # Longer than proto-max-bulk-len (512 MiB): refused at the header, no data sent.
    (b"*1\r\n$536870913\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$9223372036854775807\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    # Replies to the commands before the bad frame are sent first.
    (
        b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\nX\r\nPING\r\n",
        b"+PONG\r\n+PONG\r\n-ERR Protocol error: expected '$', got 'X'\r\n",
    ),
]


@pytest.mark.parametrize(("request_bytes", "expected"), CLOSED, ids=lambda v: repr(v)[:40])
def test_protocol_errors_close_the_connection(
    respcache_server: ServerProcess, request_bytes: bytes, expected: bytes
) -> None:
    with respcache_server.raw() as conn:
        conn.send_raw(request_bytes)
        assert conn.wait_closed(10.0) == expected


def test_huge_bulk_header_is_refused_at_once(respcache_server: ServerProcess) -> None:
    """A 4 GiB bulk announced: error and close without waiting for (or buffering) the data."""
    with respcache_server.raw() as conn:
        conn.send_raw(b"*2\r\n$3\r\nSET\r\n$4294967296\r\n")
        assert conn.wait_closed(5.0) == b"-ERR Protocol error: invalid bulk length\r\n"


def test_inline_line_too_long(respcache_server: ServerProcess) -> None:
    with respcache_server.raw() as conn:
        conn.send_raw(b"ECHO " + b"x" * (70 * 1024))
        assert conn.wait_closed(10.0) == b"-ERR Protocol error: too big inline request\r\n"


def test_multibulk_header_too_long(respcache_server: ServerProcess) -> None:
    with respcache_server.raw() as conn:
        conn.send_raw(b"*" + b"1" * (70 * 1024))
        assert conn.wait_closed(10.0) == b"-ERR Protocol error: too big mbulk count string\r\n"


def test_frame_trickled_byte_by_byte(respcache_server: ServerProcess) -> None:
    frame = b"*3\r\n$3\r\nSET\r\n$10\r\ntrickle:k1\r\n$5\r\nva\r\nl\r\n*2\r\n$3\r\nGET\r\n$10\r\ntrickle:k1\r\n"
    with respcache_server.raw() as conn:
        for i in range(len(frame)):
            conn.send_raw(frame[i : i + 1])
        assert conn.read_reply() == ("+", b"OK")
        assert conn.read_reply() == ("$", b"va\r\nl")


def test_large_pipeline_in_one_write(respcache_server: ServerProcess) -> None:
    n = 20_000
    request = b"".join(b"*2\r\n$4\r\nINCR\r\n$12\r\npipeline:ctr\r\n" for _ in range(n))
    with respcache_server.raw() as conn:
        conn.call("DEL", "pipeline:ctr")
        conn.send_raw(request)
        for i in range(1, n + 1):
            assert conn.read_reply() == (":", str(i).encode())


def test_big_value_round_trip(respcache_server: ServerProcess) -> None:
    value = b"\r\n$-1\r\n" * (3 * 1024 * 1024 // 7)  # ~3 MiB that looks like RESP
    with respcache_server.raw(timeout=30) as conn:
        assert conn.call("SET", "raw:big", value) == ("+", b"OK")
        assert conn.call("GET", "raw:big") == ("$", value)
        assert conn.call("DEL", "raw:big") == (":", b"1")


def test_quit_replies_then_closes(respcache_server: ServerProcess) -> None:
    with respcache_server.raw() as conn:
        conn.send_raw(b"PING\r\nQUIT\r\nPING\r\n")
        assert conn.wait_closed(5.0) == b"+PONG\r\n+OK\r\n"


def test_connection_survives_other_clients_errors(respcache_server: ServerProcess) -> None:
    with respcache_server.raw() as good, respcache_server.raw() as bad:
        bad.send_raw(b"*1\r\n+X\r\n")
        bad.wait_closed(5.0)
        assert good.call("PING") == ("+", b"PONG")


def test_raw_connection_helper_is_lossless(respcache_server: ServerProcess) -> None:
    with RawConnection(respcache_server.host, respcache_server.port) as conn:
        conn.call("SET", "raw:n", "12")
        assert conn.call("INCR", "raw:n") == (":", b"13")
        assert conn.call("GET", "raw:n") == ("$", b"13")
        assert conn.call("MGET", "raw:n", "raw:missing") == ("*", [("$", b"13"), ("$", None)])


BIG_DECLARED = [
    b"*2147483648\r\n",  # over INT_MAX: refused
    b"*2147483647\r\n",  # accepted, the arguments are awaited (Redis allocates 1024 slots)
    b"*1\r\n*2147483647\r\n",  # a nested aggregate: refused at its first byte
    b"*1\r\n$4294967296\r\n",
]


@pytest.mark.parametrize("request_bytes", BIG_DECLARED, ids=lambda v: repr(v)[:40])
def test_huge_declared_count_does_not_stall_other_clients(
    respcache_server: ServerProcess, request_bytes: bytes
) -> None:
    """Issue 14: 14 bytes of ``*2147483648`` used to stall the whole server ~10 s."""
    import time

    with respcache_server.raw() as other:
        assert other.call("PING") == ("+", b"PONG")
        for _ in range(3):
            with respcache_server.raw() as attacker:
                attacker.send_raw(request_bytes)
                started = time.monotonic()
                assert other.call("PING") == ("+", b"PONG")
                assert time.monotonic() - started < 1.0
    assert respcache_server.rss_bytes() < 512 * 1024 * 1024
