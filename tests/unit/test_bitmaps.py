"""Bitmap commands through the engine; expected replies read from a real redis-server 7.0.15."""

from __future__ import annotations

from conftest import run

from respcache.commands import Client
from respcache.commands.bitmaps import popcount
from respcache.errors import CommandError

OFFSET = CommandError("ERR bit offset is not an integer or out of range")
BIT = CommandError("ERR bit is not an integer or out of range")
SYNTAX = CommandError("ERR syntax error")
WRONGTYPE = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
TYPE = CommandError(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
)


def test_setbit_getbit(client: Client) -> None:
    assert run(client, "SETBIT", "k", 7, 1) == 0
    assert run(client, "SETBIT", "k", 7, 1) == 1
    assert run(client, "GET", "k") == b"\x01"
    assert run(client, "SETBIT", "k", 7, 0) == 1
    assert run(client, "SETBIT", "k", 17, 1) == 0
    assert run(client, "GET", "k") == b"\x00\x00\x40"
    assert run(client, "GETBIT", "k", 17) == 1
    assert run(client, "GETBIT", "k", 1000) == 0
    assert run(client, "GETBIT", "nokey", 0) == 0
    assert run(client, "OBJECT", "ENCODING", "k") == b"raw"


def test_setbit_errors(client: Client) -> None:
    assert run(client, "SETBIT", "k", -1, 1) == OFFSET
    assert run(client, "SETBIT", "k", 4294967296, 1) == OFFSET
    assert run(client, "SETBIT", "k", "abc", 1) == OFFSET
    assert run(client, "SETBIT", "k", 0, 2) == BIT
    assert run(client, "SETBIT", "k", 0, -1) == BIT
    run(client, "LPUSH", "l", "a")
    assert run(client, "SETBIT", "l", 0, 1) == WRONGTYPE
    assert run(client, "GETBIT", "l", 0) == WRONGTYPE


def test_setbit_limit_follows_proto_max_bulk_len(client: Client) -> None:
    run(client, "CONFIG", "SET", "proto-max-bulk-len", "1mb")
    assert run(client, "SETBIT", "k", 8 * 1024 * 1024, 1) == OFFSET
    assert run(client, "SETBIT", "k", 8 * 1024 * 1024 - 1, 1) == 0


def test_setbit_unchanged_is_not_replicated(client: Client, propagated: list) -> None:
    run(client, "SETBIT", "k", 3, 1)
    run(client, "SETBIT", "k", 3, 1)
    run(client, "SETBIT", "k", 3, 0)
    assert [argv[0] for _db, argv in propagated] == [b"SETBIT", b"SETBIT"]


def test_bitcount(client: Client) -> None:
    run(client, "SET", "s", "foobar")
    assert run(client, "BITCOUNT", "s") == 26
    assert run(client, "BITCOUNT", "s", 1, 1) == 6
    assert run(client, "BITCOUNT", "s", 5, 30, "BIT") == 17
    assert run(client, "BITCOUNT", "s", -1, -2) == 0
    assert run(client, "BITCOUNT", "s", -1, -2, "foo") == 0
    assert run(client, "BITCOUNT", "s", 0) == SYNTAX
    assert run(client, "BITCOUNT", "s", 0, 1, "bits") == SYNTAX
    assert run(client, "BITCOUNT", "nokey", 0) == 0
    assert popcount(b"\xff" * 1000) == 8000


def test_bitpos(client: Client) -> None:
    run(client, "SET", "s", "foobar")
    assert run(client, "BITPOS", "s", 1, 7, 15, "BIT") == 9
    assert run(client, "BITPOS", "s", 0, 7, 15, "BIT") == 7
    run(client, "SET", "ff", b"\xff\xff\xff")
    assert run(client, "BITPOS", "ff", 0) == 24
    assert run(client, "BITPOS", "ff", 0, 0, -1) == -1
    assert run(client, "BITPOS", "ff", 1, 3, 5, "bit") == 3
    assert run(client, "BITPOS", "nokey", 0) == 0
    assert run(client, "BITPOS", "nokey", 1) == -1
    assert run(client, "BITPOS", "s", 2) == CommandError("ERR The bit argument must be 1 or 0.")
    run(client, "SET", "e", "")
    assert run(client, "BITPOS", "e", 0) == -1


def test_bitop(client: Client) -> None:
    run(client, "SET", "s", "foobar")
    run(client, "SET", "ff", b"\xff\xff\xff")
    assert run(client, "BITOP", "XOR", "dest", "s", "ff") == 6
    assert run(client, "GET", "dest") == b"\x99\x90\x90bar"
    assert run(client, "BITOP", "and", "dest", "s", "ff") == 6
    assert run(client, "GET", "dest") == b"foo\x00\x00\x00"
    assert run(client, "BITOP", "NOT", "dest", "ff") == 3
    assert run(client, "GET", "dest") == b"\x00\x00\x00"
    assert run(client, "BITOP", "NOT", "dest", "s", "ff") == CommandError(
        "ERR BITOP NOT must be called with a single source key."
    )
    assert run(client, "BITOP", "NAND", "dest", "s") == SYNTAX
    assert run(client, "BITOP", "OR", "dest", "nokey", "nokey2") == 0
    assert run(client, "EXISTS", "dest") == 0
    run(client, "LPUSH", "l", "a")
    assert run(client, "BITOP", "OR", "dest", "s", "l") == WRONGTYPE


def test_bitfield(client: Client) -> None:
    assert run(
        client, "BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", 0, 200,
        "INCRBY", "u4", 8, -3, "OVERFLOW", "FAIL", "INCRBY", "u2", 12, 5, "GET", "u8", 0,
    ) == [127, 0, None, 127]  # fmt: skip
    assert run(
        client, "BITFIELD", "bf", "SET", "i8", "#1", -200, "GET", "i8", "#1",
        "OVERFLOW", "WRAP", "INCRBY", "i64", 64, 9223372036854775807, "INCRBY", "i64", 64, 2,
    ) == [0, 56, 9223372036854775807, -9223372036854775807]  # fmt: skip
    assert run(client, "BITFIELD", "bf", "GET", "u64", 0) == TYPE
    assert run(client, "BITFIELD", "bf", "GET", "i65", 0) == TYPE
    assert run(client, "BITFIELD", "bf", "GET", "u8", -1) == OFFSET
    assert run(client, "BITFIELD", "bf", "OVERFLOW", "foo") == CommandError(
        "ERR Invalid OVERFLOW type specified"
    )
    assert run(client, "BITFIELD", "bf", "GET", "u8") == SYNTAX
    assert run(client, "BITFIELD_RO", "bf", "GET", "u8", 0) == [127]
    assert run(client, "BITFIELD_RO", "bf", "SET", "u8", 0, 1) == CommandError(
        "ERR BITFIELD_RO only supports the GET subcommand"
    )
    assert run(client, "BITFIELD", "nokey", "GET", "u8", 0) == [0]
    assert run(client, "EXISTS", "nokey") == 0
