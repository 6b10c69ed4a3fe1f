"""CLIENT REPLY on the wire: what reaches the client, compared with real Redis."""

from __future__ import annotations

import time

import pytest
from support import ServerProcess, encode_command

pytestmark = pytest.mark.integration


def _replies_to(server: ServerProcess, *commands: tuple[str, ...]) -> bytes:
    with server.raw() as conn:
        conn.send_raw(b"".join(encode_command(cmd) for cmd in commands))
        conn.send_raw(encode_command(("ECHO", "end")))
        data = b""
        deadline = time.monotonic() + 10
        while not data.endswith(b"$3\r\nend\r\n") and time.monotonic() < deadline:
            data += conn.read_available(0.2)
        return data


@pytest.mark.parametrize(
    "commands",
    [
        [("CLIENT", "REPLY", "SKIP"), ("SET", "k", "1"), ("GET", "k")],
        [("CLIENT", "REPLY", "OFF"), ("SET", "k", "2"), ("CLIENT", "REPLY", "ON"), ("GET", "k")],
        [
            ("CLIENT", "REPLY", "OFF"),
            ("CLIENT", "REPLY", "SKIP"),
            ("PING",),
            ("CLIENT", "REPLY", "ON"),
            ("PING",),
        ],
    ],
    ids=["skip", "off-on", "skip-while-off"],
)
def test_client_reply_matches_redis(
    respcache_server: ServerProcess, redis_server: ServerProcess, commands: list[tuple[str, ...]]
) -> None:
    assert _replies_to(respcache_server, *commands) == _replies_to(redis_server, *commands)
