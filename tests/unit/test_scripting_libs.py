"""cmsgpack and struct inside scripts: replies byte for byte as Redis 7.0.15's.

The expected replies were taken from a real redis-server (the differential
corpus, tests/differential/test_scripting_corpus.py, checks many more side by
side); ``script: SHA`` stands for the script's SHA1 in error positions.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from conftest import run

from respcache.commands import Client
from respcache.protocol.encoder import encode

CASES = [
    (
        "return cmsgpack.pack(1, -1, 128, 65536, 4294967296, -33, -129, -32769, -2147483649)",
        b"$37\r\n\x01\xff\xcc\x80\xce\x00\x01\x00\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xd0\xdf\xd1\xff\x7f\xd2\xff\xff\x7f\xff\xd3\xff\xff\xff\xff\x7f\xff\xff\xff\r\n",
    ),
    (
        "return cmsgpack.pack(0.5, 1.1, 1/0, 2^64)",
        b"$24\r\n\xca?\x00\x00\x00\xcb?\xf1\x99\x99\x99\x99\x99\x9a\xca\x7f\x80\x00\x00\xca_\x80\x00\x00\r\n",
    ),
    (
        "return cmsgpack.pack('abc', string.rep('x', 32), {1,2,3}, {}, {a=1}, true, false, nil)",
        b"$50\r\n\xa3abc\xd9 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\x93\x01\x02\x03\x90\x81\xa1a\x01\xc3\xc2\xc0\r\n",
    ),
    (
        "local t = {} t.self = t return cmsgpack.pack(t)",
        b"$97\r\n\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\x81\xa4self\xc0\r\n",
    ),
    (
        "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2,{3}}, true))}",
        b"*4\r\n:1\r\n$1\r\na\r\n*3\r\n:1\r\n:2\r\n*1\r\n:3\r\n:1\r\n",
    ),
    ("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}", b"*2\r\n:-1\r\n:3\r\n"),
    ("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}", b"*3\r\n:-1\r\n:2\r\n:3\r\n"),
    (
        "return cmsgpack.unpack('\\145')",
        b"-ERR user_script:1: Missing bytes in input. script: SHA, on @user_script:1.\r\n",
    ),
    (
        "return cmsgpack.unpack('\\193')",
        b"-ERR user_script:1: Bad data format in input. script: SHA, on @user_script:1.\r\n",
    ),
    (
        "return cmsgpack.pack()",
        b"-ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.) script: SHA, on @user_script:1.\r\n",
    ),
    (
        "return {struct.pack('>I2', 258), struct.pack('<i', -2), struct.pack('!4 b i', 1, 2), struct.pack('s', 'hi'), struct.pack('i16', -1)}",
        b"*5\r\n$2\r\n\x01\x02\r\n$4\r\n\xfe\xff\xff\xff\r\n$8\r\n\x01\x00\x00\x00\x02\x00\x00\x00\r\n$3\r\nhi\x00\r\n$16\r\n\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\r\n",
    ),
    ("return {struct.unpack('b c0', '\\3abcd')}", b"*2\r\n$3\r\nabc\r\n:5\r\n"),
    (
        "return {struct.unpack('!4 b i', struct.pack('!4 b i', -3, 70000))}",
        b"*3\r\n:-3\r\n:70000\r\n:9\r\n",
    ),
    ("return {struct.size('!8 b d'), struct.size('c10 h')}", b"*2\r\n:16\r\n:12\r\n"),
    (
        "return struct.pack('q', 1)",
        b"-ERR user_script:1: bad argument #1 to 'pack' (invalid format option 'q') script: SHA, on @user_script:1.\r\n",
    ),
    (
        "return struct.unpack('i', 'ab')",
        b"-ERR user_script:1: bad argument #2 to 'unpack' (data string too short) script: SHA, on @user_script:1.\r\n",
    ),
    (
        "return struct.size('s')",
        b"-ERR user_script:1: bad argument #1 to 'size' (option 's' has no fixed size) script: SHA, on @user_script:1.\r\n",
    ),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_library_reply(client: Client, body: str, expected: bytes) -> None:
    reply = encode(run(client, "EVAL", body, 0), False)  # type: ignore[arg-type]
    sha = hashlib.sha1(body.encode()).hexdigest().encode()
    assert re.sub(rb"script: " + sha, b"script: SHA", reply) == expected


def test_a_reply_nested_too_deep_ends_with_redis_error(client: Client) -> None:
    body = "local a = {}; local b = {a}; a[1] = b; return a"
    reply = encode(run(client, "EVAL", body, 0), False)  # type: ignore[arg-type]
    assert reply == b"*1\r\n" * 7995 + b"-ERR reached lua stack limit\r\n"  # as Redis 7.0.15


def test_cjson_settings_last_until_script_flush(client: Client) -> None:
    # As in Redis, the settings belong to the Lua state: the next script sees them,
    # and SCRIPT FLUSH (a new Lua state in Redis) restores the defaults.
    assert encode(run(client, "EVAL", "return cjson.encode_number_precision(3)", 0), False) == (  # type: ignore[arg-type]
        b":3\r\n"
    )
    assert encode(run(client, "EVAL", "return cjson.encode({3.14159})", 0), False) == (  # type: ignore[arg-type]
        b"$6\r\n[3.14]\r\n"
    )
    run(client, "SCRIPT", "FLUSH")
    assert encode(run(client, "EVAL", "return cjson.encode_number_precision()", 0), False) == (  # type: ignore[arg-type]
        b":14\r\n"
    )


def test_functions_have_a_lua_state_of_their_own(client: Client) -> None:
    # Redis 7.0: EVAL scripts and FUNCTION libraries live in two Lua states, so a
    # script's cjson setting does not reach a function, nor the other way round.
    lib = (
        "#!lua name=prec\n"
        "redis.register_function('enc', function() return cjson.encode({3.14159}) end)\n"
        "redis.register_function('setp', function() return cjson.encode_number_precision(2) end)"
    )
    assert run(client, "FUNCTION", "LOAD", lib) == b"prec"
    run(client, "EVAL", "return cjson.encode_number_precision(3)", 0)
    assert encode(run(client, "FCALL", "enc", 0), False) == b"$9\r\n[3.14159]\r\n"  # type: ignore[arg-type]
    run(client, "FCALL", "setp", 0)
    assert encode(run(client, "EVAL", "return cjson.encode({3.14159})", 0), False) == (  # type: ignore[arg-type]
        b"$6\r\n[3.14]\r\n"
    )
    assert encode(run(client, "FCALL", "enc", 0), False) == b"$5\r\n[3.1]\r\n"  # type: ignore[arg-type]
    info = run(client, "INFO", "memory")
    assert isinstance(info, bytes | str)
    text = info if isinstance(info, str) else info.decode()
    vm_functions = int(re.search(r"used_memory_vm_functions:(\d+)", text).group(1))  # type: ignore[union-attr]
    assert vm_functions > 0
