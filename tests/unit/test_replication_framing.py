"""The replication link's frames: stream encoding, sizes, and the incremental reader."""

from __future__ import annotations

import pytest

from respcache.replication.framing import (
    FrameReader,
    LinkProtocolError,
    Status,
    encode_command,
    frame_size,
)

COMMANDS = [
    [b"SET", b"k", b"v"],
    [b"SELECT", b"3"],
    [b"PING"],
    [b"SET", b"", b""],
    [b"APPEND", b"k" * 9, b"x" * 10],
    [b"SET", b"big", b"\r\n\x00" * 5000],
    [b"MSET", *([b"a", b"b"] * 6000)],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: f"{a[0].decode()}-{len(a)}")
def test_frame_size_is_the_encoded_length(argv: list[bytes]) -> None:
    assert frame_size(argv) == len(encode_command(argv))


def test_encode_command_is_canonical_resp() -> None:
    assert encode_command([b"SET", b"k", b"va"]) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nva\r\n"


def _drain(reader: FrameReader) -> list[tuple[list[bytes], int]]:
    out = []
    while (item := reader.next_array()) is not None:
        out.append(item)
    return out


def test_reader_whole_and_byte_by_byte() -> None:
    data = b"".join(encode_command(c) for c in COMMANDS)
    whole = FrameReader()
    whole.feed(data)
    expected = [(c, len(encode_command(c))) for c in COMMANDS]
    assert _drain(whole) == expected

    trickle = FrameReader()
    got = []
    for i in range(len(data)):
        trickle.feed(data[i : i + 1])
        got += _drain(trickle)
    assert got == expected


def test_reader_sizes_add_up_to_the_bytes_consumed() -> None:
    data = b"".join(encode_command(c) for c in COMMANDS)
    reader = FrameReader()
    reader.feed(data)
    assert sum(size for _, size in _drain(reader)) == len(data)


def test_status_and_error_replies() -> None:
    reader = FrameReader()
    reader.feed(b"+FULLRESYNC abc 42\r\n-NOAUTH Authentication required.\r\n+PONG\r\n")
    assert reader.next() == Status("FULLRESYNC abc 42")
    assert reader.next() == Status("NOAUTH Authentication required.", error=True)
    assert reader.next() == Status("PONG")
    assert reader.next() is None


def test_status_then_arrays_in_one_read() -> None:
    reader = FrameReader()
    reader.feed(b"+CONTINUE\r\n" + encode_command([b"DEL", b"x"]))
    assert reader.next() == Status("CONTINUE")
    assert reader.next_array() == ([b"DEL", b"x"], 20)


@pytest.mark.parametrize(
    "data",
    [
        b":1\r\n",  # an integer
        b"*1\r\n*1\r\n$1\r\na\r\n",  # a nested array
        b"*2\r\n$1\r\na\r\n$-1\r\n",  # a null inside
        b"*-1\r\n",  # a null array
        b"?what\r\n",  # not RESP
    ],
)
def test_reader_rejects_what_is_not_a_link_frame(data: bytes) -> None:
    reader = FrameReader()
    reader.feed(data)
    with pytest.raises(LinkProtocolError):
        reader.next()


def test_next_array_rejects_a_status_in_the_stream() -> None:
    reader = FrameReader()
    reader.feed(b"+OK\r\n")
    with pytest.raises(LinkProtocolError):
        reader.next_array()
