"""MONITOR over real connections, line for line against redis-server 7.0.15 (times and
client ports masked): quoting, redaction, db numbers, transactions, several monitors."""

from __future__ import annotations

import re
import time

import pytest
from support import RawConnection, ServerFactory

pytestmark = pytest.mark.integration

COMMANDS: list[tuple[str | bytes, ...]] = [
    ("SET", "k", b'a"b\\c\n\x01\xff'),
    ("AUTH", "pw"),
    ("HELLO", "2", "AUTH", "default", "secret"),
    ("SELECT", "3"),
    ("get", "k"),
    ("CONFIG", "GET", "port"),
    ("NOSUCH",),
    ("MULTI",),
    ("INCR", "n"),
    ("EXEC",),
    ("ECHO", "end"),
]


def _collect(monitor: RawConnection) -> bytes:
    data = b""
    deadline = time.monotonic() + 10
    while b'"end"' not in data and time.monotonic() < deadline:
        data += monitor.read_available(0.1)
    return re.sub(rb"\+\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\]", rb"+T [\1 ADDR]", data)


def _session(server: object) -> list[bytes]:
    with server.raw() as m1, server.raw() as m2, server.raw() as c:  # type: ignore[attr-defined]
        assert m1.call("MONITOR").text() == "OK"
        assert m2.call("MONITOR").text() == "OK"
        for command in COMMANDS:
            c.send(*command)
            c.read_reply()
        return [_collect(m1), _collect(m2)]


def test_monitor_lines_match_redis(server_factory: ServerFactory) -> None:
    ours = _session(server_factory.respcache())
    theirs = _session(server_factory.redis())
    assert ours == theirs
    assert ours[0] == ours[1]
    assert b'"AUTH" "(redacted)"\r\n' in ours[0]
    assert b"CONFIG" not in ours[0] and b"NOSUCH" not in ours[0]


def test_monitor_line_has_the_current_time(server_factory: ServerFactory) -> None:
    server = server_factory.respcache()
    with server.raw() as m, server.raw() as c:
        m.call("MONITOR")
        c.call("PING")
        line = m.read_reply().text()
        stamp = float(line.split(" ")[0])
        assert abs(stamp - time.time()) < 5
        assert re.fullmatch(r"\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] \"PING\"", line)
