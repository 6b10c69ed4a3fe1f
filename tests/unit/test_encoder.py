"""encode() against the table in respcache.protocol.types (doubles checked on redis-server 7.0.15)."""

from __future__ import annotations

import enum
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from respcache.errors import CommandError
from respcache.protocol.encoder import encode, encode_command, format_double
from respcache.protocol.parser import RequestParser
from respcache.protocol.types import (
    NULL_ARRAY,
    OK,
    PONG,
    QUEUED,
    BigNumber,
    Push,
    Raw,
    Reply,
    Verbatim,
)

# (value, RESP2, RESP3)
CASES: list[tuple[Reply, bytes, bytes]] = [
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
    (b"abc", b"$3\r\nabc\r\n", b"$3\r\nabc\r\n"),
    (b"a\r\n\x00\xff", b"$5\r\na\r\n\x00\xff\r\n", b"$5\r\na\r\n\x00\xff\r\n"),
    ("OK", b"+OK\r\n", b"+OK\r\n"),
    ("caf\u00e9", b"+caf\xc3\xa9\r\n", b"+caf\xc3\xa9\r\n"),
    ("a\udcffb", b"+a\xffb\r\n", b"+a\xffb\r\n"),
    ("a\r\nb", b"+a  b\r\n", b"+a  b\r\n"),
    (0, b":0\r\n", b":0\r\n"),
    (-42, b":-42\r\n", b":-42\r\n"),
    (2**63 - 1, b":9223372036854775807\r\n", b":9223372036854775807\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
    (False, b":0\r\n", b"#f\r\n"),
    (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (0.1, b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
    (3.0, b"$1\r\n3\r\n", b",3\r\n"),
    (1e20, b"$5\r\n1e+20\r\n", b",1e+20\r\n"),
    (1e-7, b"$22\r\n9.9999999999999995e-08\r\n", b",9.9999999999999995e-08\r\n"),
    (1.2345678901234568e17, b"$22\r\n1.2345678901234568e+17\r\n", b",1.2345678901234568e+17\r\n"),
    (0.30000000000000004, b"$19\r\n0.30000000000000004\r\n", b",0.30000000000000004\r\n"),
    (-0.0, b"$2\r\n-0\r\n", b",-0\r\n"),
    (float("inf"), b"$3\r\ninf\r\n", b",inf\r\n"),
    (float("-inf"), b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (float("nan"), b"$3\r\nnan\r\n", b",nan\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    ([], b"*0\r\n", b"*0\r\n"),
    ([b"a", b"bc"], b"*2\r\n$1\r\na\r\n$2\r\nbc\r\n", b"*2\r\n$1\r\na\r\n$2\r\nbc\r\n"),
    ((b"a", 1), b"*2\r\n$1\r\na\r\n:1\r\n", b"*2\r\n$1\r\na\r\n:1\r\n"),
    (
        [b"a", None, 1.5, True, [b"x", [None]], NULL_ARRAY],
        b"*6\r\n$1\r\na\r\n$-1\r\n$3\r\n1.5\r\n:1\r\n*2\r\n$1\r\nx\r\n*1\r\n$-1\r\n*-1\r\n",
        b"*6\r\n$1\r\na\r\n_\r\n,1.5\r\n#t\r\n*2\r\n$1\r\nx\r\n*1\r\n_\r\n_\r\n",
    ),
    ({}, b"*0\r\n", b"%0\r\n"),
    (
        {b"a": 1, b"b": [b"x"]},
        b"*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n$1\r\nx\r\n",
        b"%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n$1\r\nx\r\n",
    ),
    ({"proto": {b"k": 2.5}}, b"*2\r\n+proto\r\n*2\r\n$1\r\nk\r\n$3\r\n2.5\r\n", b"%1\r\n+proto\r\n%1\r\n$1\r\nk\r\n,2.5\r\n"),
    ({b"m"}, b"*1\r\n$1\r\nm\r\n", b"~1\r\n$1\r\nm\r\n"),
    (frozenset({1}), b"*1\r\n:1\r\n", b"~1\r\n:1\r\n"),
    (Verbatim(b"a\r\nb"), b"$4\r\na\r\nb\r\n", b"=8\r\ntxt:a\r\nb\r\n"),
    (Verbatim(b"# x", "mkd"), b"$3\r\n# x\r\n", b"=7\r\nmkd:# x\r\n"),
    (
        Push([b"message", b"ch", b"hi"]),
        b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
    ),
    (Push([b"x", [Push([b"y"])]]), b"*2\r\n$1\r\nx\r\n*1\r\n*1\r\n$1\r\ny\r\n", b">2\r\n$1\r\nx\r\n*1\r\n>1\r\n$1\r\ny\r\n"),
    (BigNumber(10**30), b"$31\r\n1" + b"0" * 30 + b"\r\n", b"(1" + b"0" * 30 + b"\r\n"),
    (BigNumber(-5), b"$2\r\n-5\r\n", b"(-5\r\n"),
    (CommandError("ERR syntax error"), b"-ERR syntax error\r\n", b"-ERR syntax error\r\n"),
    (CommandError("ERR unknown 'a\udcff'"), b"-ERR unknown 'a\xff'\r\n", b"-ERR unknown 'a\xff'\r\n"),
    (CommandError("ERR a\r\nb"), b"-ERR a  b\r\n", b"-ERR a  b\r\n"),
    ([CommandError("WRONGTYPE x"), b"a"], b"*2\r\n-WRONGTYPE x\r\n$1\r\na\r\n", b"*2\r\n-WRONGTYPE x\r\n$1\r\na\r\n"),
    (OK, b"+OK\r\n", b"+OK\r\n"),
    (PONG, b"+PONG\r\n", b"+PONG\r\n"),
    (QUEUED, b"+QUEUED\r\n", b"+QUEUED\r\n"),
    (Raw(b":1\r\n:2\r\n"), b":1\r\n:2\r\n", b":1\r\n:2\r\n"),
    ([Raw(b"+OK\r\n"), b"x"], b"*2\r\n+OK\r\n$1\r\nx\r\n", b"*2\r\n+OK\r\n$1\r\nx\r\n"),
]


@pytest.mark.parametrize(("value", "resp2", "resp3"), CASES)
def test_encode(value: Reply, resp2: bytes, resp3: bytes) -> None:
    assert encode(value) == resp2
    assert encode(value, resp3=False) == resp2
    assert encode(value, resp3=True) == resp3


def test_negative_nan_as_glibc_prints_it() -> None:
    negative = math.copysign(float("nan"), -1.0)
    assert format_double(negative) == b"-nan"
    assert encode(negative) == b"$4\r\n-nan\r\n"
    assert encode(negative, True) == b",-nan\r\n"


class Color(enum.IntEnum):
    RED = 1


class Name(str):
    pass


class MyError(CommandError):
    pass


@pytest.mark.parametrize(
    ("value", "resp2", "resp3"),
    [
        (Color.RED, b":1\r\n", b":1\r\n"),
        (Name("x"), b"+x\r\n", b"+x\r\n"),
        (MyError("ERR mine"), b"-ERR mine\r\n", b"-ERR mine\r\n"),
        ([Color.RED, Name("y")], b"*2\r\n:1\r\n+y\r\n", b"*2\r\n:1\r\n+y\r\n"),
    ],
)
def test_subclasses_use_their_base_type(value: Reply, resp2: bytes, resp3: bytes) -> None:
    for _ in range(2):  # the second time from the cache
        assert encode(value) == resp2
        assert encode(value, True) == resp3


@pytest.mark.parametrize("value", [object(), bytearray(b"x"), [b"ok", object()], {b"k": 1j}])
def test_unknown_types_are_refused(value: object) -> None:
    with pytest.raises(TypeError, match="cannot encode"):
        encode(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot encode"):
        encode(value, True)  # type: ignore[arg-type]


def test_encode_command() -> None:
    assert encode_command([b"SET", b"k", b""]) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
    assert encode_command([]) == b"*0\r\n"
    assert encode_command((b"PING",)) == b"*1\r\n$4\r\nPING\r\n"


@given(st.lists(st.binary(), min_size=1, max_size=10))
def test_encode_command_parses_back(argv: list[bytes]) -> None:
    parser = RequestParser()
    parser.feed(encode_command(argv))
    assert parser.next_command() == argv
    assert parser.next_command() is None


@given(st.floats())
def test_double_matches_c_printf(value: float) -> None:
    text = format_double(value)
    if value != value:
        assert text in (b"nan", b"-nan")
    else:
        assert text == (b"%.17g" % value)
        assert float(text) == value
