"""DEBUG subcommands as Redis 7.0.15's debug.c answers them (byte for byte where the
reply is fixed; tests/integration compares the rest with redis-server)."""

from __future__ import annotations

import pytest
from conftest import run

from respcache.commands import Client, Engine
from respcache.errors import CommandError
from respcache.protocol.encoder import encode
from respcache.protocol.types import OK, Push

RESP3 = {
    "string": b"$11\r\nHello World\r\n",
    "integer": b":12345\r\n",
    "double": b",3.141\r\n",
    "bignum": b"(1234567999999999999999999999999999999\r\n",
    "null": b"_\r\n",
    "array": b"*3\r\n:0\r\n:1\r\n:2\r\n",
    "set": b"~3\r\n:0\r\n:1\r\n:2\r\n",
    "map": b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
    "attrib": b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
    b"$39\r\nSome real reply following the attribute\r\n",
    "verbatim": b"=29\r\ntxt:This is a verbatim\nstring\r\n",
    "true": b"#t\r\n",
    "false": b"#f\r\n",
}


@pytest.mark.parametrize(("name", "wire"), sorted(RESP3.items()))
def test_protocol_types_in_resp3(engine: Engine, name: str, wire: bytes) -> None:
    c = engine.new_client()
    run(c, "HELLO", "3")
    assert encode(run(c, "DEBUG", "PROTOCOL", name), True) == wire  # type: ignore[arg-type]


def test_protocol_push_and_errors(engine: Engine, client: Client) -> None:
    assert run(client, "DEBUG", "PROTOCOL", "push") == CommandError(
        "ERR RESP2 is not supported by this command"
    )
    assert run(client, "DEBUG", "PROTOCOL", "nosuch") == CommandError(
        "ERR Wrong protocol type name. Please use one of the following: "
        "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
    )
    c = engine.new_client()
    run(c, "HELLO", "3")
    c.pushed.clear()
    assert run(c, "DEBUG", "PROTOCOL", "push") == b"Some real reply following the push reply"
    assert c.pushed == [Push([b"server-cpu-usage", 42])]


def test_error_and_active_expire(engine: Engine, client: Client) -> None:
    assert encode(run(client, "DEBUG", "ERROR", "WRONG a\nb")) == b"-WRONG a b\r\n"  # type: ignore[arg-type]
    assert run(client, "DEBUG", "SET-ACTIVE-EXPIRE", "0") == OK
    assert engine.active_expire is False
    assert run(client, "DEBUG", "SET-ACTIVE-EXPIRE", "1") == OK
    assert engine.active_expire is True
    assert run(client, "DEBUG", "PAUSE-CRON", "1") == OK
    assert engine.cron_paused is True
    assert run(client, "DEBUG", "PAUSE-CRON", "0") == OK
    assert engine.cron_paused is False


def test_populate(engine: Engine, client: Client) -> None:
    run(client, "SET", "p:1", "mine")
    assert run(client, "DEBUG", "POPULATE", "3", "p", "10") == OK
    assert run(client, "GET", "p:0") == b"value:0\0\0\0"
    assert run(client, "GET", "p:1") == b"mine"  # existing keys are skipped
    assert run(client, "DEBUG", "POPULATE", "2") == OK
    assert run(client, "GET", "key:1") == b"value:1"
    assert run(client, "DEBUG", "POPULATE", "-1") == CommandError(
        "ERR value is out of range, must be positive"
    )


def test_encodings_and_threshold(engine: Engine, client: Client) -> None:
    run(client, "RPUSH", "l", "a")
    run(client, "HSET", "h", "a", "b")
    assert run(client, "DEBUG", "LISTPACK", "h") == "Listpack structure printed on stdout"
    assert run(client, "DEBUG", "LISTPACK", "l") == CommandError("ERR Not a listpack encoded object.")
    assert run(client, "DEBUG", "QUICKLIST", "l", "1") == "Quicklist structure printed on stdout"
    assert run(client, "DEBUG", "QUICKLIST", "nokey") == CommandError("ERR no such key")
    assert run(client, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb") == CommandError(
        "ERR argument must be a memory value bigger than 1 and smaller than 4gb"
    )
    assert run(client, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1k") == OK
    assert run(client, "DEBUG", "STRINGMATCH-TEST") == "Apparently Redis did not crash: test passed"
