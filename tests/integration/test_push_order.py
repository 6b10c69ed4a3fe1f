"""Where RESP3 pushes caused by a client's own commands land among its replies, as in Redis."""

from __future__ import annotations

import time

import pytest
from support import RawConnection, ServerFactory, encode_command

pytestmark = pytest.mark.integration


def _stream(conn: RawConnection, commands: list[tuple[str, ...]]) -> bytes:
    conn.send_raw(b"".join(encode_command(cmd) for cmd in commands))
    data = b""
    deadline = time.monotonic() + 10
    while not data.endswith(b"$3\r\nend\r\n") and time.monotonic() < deadline:
        data += conn.read_available(0.2)
    return data


def test_keyspace_push_follows_earlier_replies_of_the_same_pipeline(
    server_factory: ServerFactory,
) -> None:
    servers = [
        server_factory.respcache(notify_keyspace_events="KEA"),
        server_factory.redis(notify_keyspace_events="KEA"),
    ]
    streams = []
    for server in servers:
        with server.raw() as conn:
            conn.send_raw(encode_command(("HELLO", "3")))
            conn.read_reply()
            conn.send_raw(encode_command(("SUBSCRIBE", "__keyspace@0__:pushkey")))
            conn.read_reply()
            streams.append(
                _stream(
                    conn,
                    [("GET", "other"), ("SET", "pushkey", "v"), ("GET", "pushkey"), ("ECHO", "end")],
                )
            )
    assert streams[0] == streams[1]
    assert b">3\r\n" in streams[0]  # the notification did arrive
