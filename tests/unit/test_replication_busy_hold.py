"""A follower holds the leader's stream while a busy script has the keyspace.

Redis leaves the master client's input unread while a script is past
busy-reply-threshold (networking.c processInputBuffer) and reprocesses it when
the script ends; :class:`FollowerLink` does the same with what it received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from respcache.replication.follower import FollowerLink


class FakeSession:
    state = "streaming"

    def __init__(self) -> None:
        self.received: list[bytes] = []

    def receive(self, data: bytes) -> bytes:
        self.received.append(data)
        return b""


class FakeOwner:
    def __init__(self) -> None:
        self.busy = False
        self.waiting: list[Callable[[], None]] = []

    def hold_stream(self, resume: Callable[[], None]) -> bool:
        if self.busy:
            self.waiting.append(resume)
        return self.busy

    def link_state_changed(self, link: Any) -> None:
        pass


class FakeTransport:
    def __init__(self) -> None:
        self.reading = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def write(self, data: bytes) -> None:
        pass


def test_stream_waits_for_the_busy_script() -> None:
    owner = FakeOwner()
    # (the link keeps its loop only to reconnect: none is needed here)
    link = FollowerLink(owner, "127.0.0.1", 1, None, lambda: 60.0)  # type: ignore[arg-type]
    session = FakeSession()
    transport = FakeTransport()
    link.session = session  # type: ignore[assignment]
    link.transport = transport  # type: ignore[assignment]
    link._received(b"*1\r\n")
    assert session.received == [b"*1\r\n"]
    owner.busy = True
    link._received(b"$3\r\nSET")
    link._received(b"\r\n")
    assert session.received == [b"*1\r\n"]  # nothing applied while busy
    assert not transport.reading
    owner.busy = False
    [resume] = owner.waiting
    resume()
    assert session.received == [b"*1\r\n", b"$3\r\nSET\r\n"]  # in order, at once
    assert transport.reading
    link._received(b"x")
    assert session.received[-1] == b"x"
