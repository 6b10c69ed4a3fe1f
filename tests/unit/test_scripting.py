"""EVAL / EVALSHA / SCRIPT through the engine: conversions, errors, sandbox, effects.

Expected replies are Redis 7.0.15's, taken from a real redis-server side by side.
"""

from __future__ import annotations

import hashlib

import pytest
from conftest import run

from respcache.commands import Client, Engine
from respcache.errors import CommandError
from respcache.protocol.encoder import encode
from respcache.protocol.types import NULL_ARRAY, Raw


def sha(body: str) -> str:
    return hashlib.sha1(body.encode()).hexdigest()


def wire(reply: object, resp3: bool = False) -> bytes:
    return encode(reply, resp3)  # type: ignore[arg-type]


def ev(client: Client, body: str, *args: str | int) -> object:
    return run(client, "EVAL", body, *args) if args else run(client, "EVAL", body, 0)


# --- Lua -> Redis ------------------------------------------------------------------------

LUA_TO_RESP2 = [
    ("return 1", b":1\r\n"),
    ("return 3.99", b":3\r\n"),
    ("return -3.99", b":-3\r\n"),
    ("return 'x'", b"$1\r\nx\r\n"),
    ("return true", b":1\r\n"),
    ("return false", b"$-1\r\n"),
    ("return nil", b"$-1\r\n"),
    ("return {1, 2, 3.5, 'x', nil, 5}", b"*4\r\n:1\r\n:2\r\n:3\r\n$1\r\nx\r\n"),
    ("return {}", b"*0\r\n"),
    ("return {ok='FINE'}", b"+FINE\r\n"),
    ("return redis.status_reply('A\\r\\nB')", b"+A  B\r\n"),
    ("return {double=3.5}", b"$3\r\n3.5\r\n"),
    ("return {double=1/0}", b"$3\r\ninf\r\n"),
    ("return {big_number='123'}", b"$3\r\n123\r\n"),
    ("return {verbatim_string={format='txt', string='hi'}}", b"$2\r\nhi\r\n"),
    ("return {map={a=1}}", b"*2\r\n$1\r\na\r\n:1\r\n"),
    ("return {set={a=true}}", b"*1\r\n$1\r\na\r\n"),
    ("return {true, false}", b"*2\r\n:1\r\n$-1\r\n"),
    ("return {1, {err='E x'}}", b"*2\r\n:1\r\n-E x\r\n"),
]

LUA_TO_RESP3 = [
    ("return false", b"_\r\n"),
    ("return {true, false}", b"*2\r\n:1\r\n_\r\n"),
    ("redis.setresp(3) return {true, false}", b"*2\r\n#t\r\n#f\r\n"),
    ("return {double=3.5}", b",3.5\r\n"),
    ("return {double=-1/0}", b",-inf\r\n"),
    ("return {big_number='123'}", b"(123\r\n"),
    ("return {verbatim_string={format='txt', string='hi'}}", b"=6\r\ntxt:hi\r\n"),
    ("return {map={a=1}}", b"%1\r\n$1\r\na\r\n:1\r\n"),
    ("return {set={a=true}}", b"~1\r\n$1\r\na\r\n"),
]


@pytest.mark.parametrize(("body", "expected"), LUA_TO_RESP2)
def test_lua_to_resp2(client: Client, body: str, expected: bytes) -> None:
    assert wire(ev(client, body)) == expected


@pytest.mark.parametrize(("body", "expected"), LUA_TO_RESP3)
def test_lua_to_resp3(client: Client, body: str, expected: bytes) -> None:
    client.resp = 3
    assert wire(ev(client, body), resp3=True) == expected


# --- Redis -> Lua ------------------------------------------------------------------------

REDIS_TO_LUA = [
    # (setup, script, RESP2 reply of the script)
    ([], "return type(redis.call('get', 'nokey'))", b"$7\r\nboolean\r\n"),
    ([], "redis.setresp(3) return type(redis.call('get', 'nokey'))", b"$3\r\nnil\r\n"),
    ([], "return redis.call('set', 'k', 'v')['ok']", b"$2\r\nOK\r\n"),
    ([], "return redis.call('incr', 'n')", b":1\r\n"),
    (
        [["HSET", "h", "a", "1"]],
        "return redis.call('hgetall', 'h')",
        b"*2\r\n$1\r\na\r\n$1\r\n1\r\n",
    ),
    (
        [["HSET", "h", "a", "1"]],
        "redis.setresp(3) return redis.call('hgetall', 'h').map.a",
        b"$1\r\n1\r\n",
    ),
    (
        [["ZADD", "z", "1.5", "a"]],
        "redis.setresp(3) return tostring(redis.call('zscore', 'z', 'a').double)",
        b"$3\r\n1.5\r\n",
    ),
    ([["SADD", "s", "a"]], "redis.setresp(3) return redis.call('smembers', 's').set.a", b":1\r\n"),
    (
        [],
        "return redis.pcall('nosuch')['err']",
        b"$44\r\nERR Unknown Redis command called from script\r\n",
    ),
    ([], "return redis.call('set', 'f', 1.5) and redis.call('get', 'f')", b"$3\r\n1.5\r\n"),
]


@pytest.mark.parametrize(("setup", "body", "expected"), REDIS_TO_LUA)
def test_redis_to_lua(client: Client, setup: list[list[str]], body: str, expected: bytes) -> None:
    for cmd in setup:
        run(client, *cmd)
    assert wire(ev(client, body)) == expected


# --- errors ------------------------------------------------------------------------------

ERRORS = [
    (
        "return foo",
        "ERR user_script:1: Script attempted to access nonexistent global variable 'foo'",
    ),
    ("x = 1", "ERR user_script:1: Attempt to modify a readonly table"),
    ("error('boom')", "ERR user_script:1: boom"),
    ("error({err='MY boom'})", "MY boom"),
    ("return redis.call('nosuch')", "ERR Unknown Redis command called from script"),
    ("return redis.call()", "ERR Please specify at least one argument for this redis lib call"),
    ("return redis.call('get')", "ERR Wrong number of args calling Redis command from script"),
    ("return redis.call('multi')", "ERR This Redis command is not allowed from script"),
    (
        "return redis.call('set', 'k', {})",
        "ERR Lua redis lib command arguments must be strings or integers",
    ),
    ("return redis.setresp(4)", "ERR RESP version must be 2 or 3."),
    (
        "return cjson.encode({f=function() end})",
        "ERR user_script:1: Cannot serialise function: type not supported",
    ),
    (
        "return bit.band()",
        "ERR user_script:1: bad argument #1 to 'band' (number expected, got no value)",
    ),
    ("rawset(_G, 'x', 1)", "ERR Attempt to modify a readonly table"),
    ("string.x = 1", "ERR user_script:1: Attempt to modify a readonly table"),
]


@pytest.mark.parametrize(("body", "message"), ERRORS)
def test_runtime_errors(client: Client, body: str, message: str) -> None:
    assert ev(client, body) == CommandError(f"{message} script: {sha(body)}, on @user_script:1.")


def test_error_replies_without_position(client: Client) -> None:
    assert ev(client, "return redis.error_reply('x')") == CommandError("ERR x")
    assert ev(client, "return redis.error_reply('-MY x')") == CommandError("MY x")
    assert ev(client, "return {err='x'}") == CommandError("x")
    run(client, "SET", "s", "abc")
    assert ev(client, "return redis.pcall('incr', 's')") == CommandError(
        "ERR value is not an integer or out of range"
    )


def test_error_line_numbers(client: Client) -> None:
    body = "local a = 1\nlocal b = 2\nreturn redis.call('nosuch')"
    assert ev(client, body) == CommandError(
        f"ERR Unknown Redis command called from script script: {sha(body)}, on @user_script:3."
    )


def test_compile_error(client: Client) -> None:
    assert ev(client, "return 1 +") == CommandError(
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
    )


def test_inner_error_counted_once(client: Client, engine: Engine) -> None:
    run(client, "SET", "s", "abc")
    ev(client, "return redis.call('incr', 's')")
    assert engine.stats.errors == {"ERR": 1}
    assert engine.stats.commands["incr"].failed_calls == 1
    assert engine.stats.commands["eval"].failed_calls == 1


# --- EVAL / EVALSHA / SCRIPT -------------------------------------------------------------


def test_keys_and_argv(client: Client) -> None:
    assert ev(client, "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", 1, "k", "a") == Raw(
        b"*4\r\n$1\r\nk\r\n$1\r\na\r\n:1\r\n:1\r\n"
    )


def test_numkeys_checks(client: Client) -> None:
    assert run(client, "EVAL", "return 1", 2, "a") == CommandError(
        "ERR Number of keys can't be greater than number of args"
    )
    assert run(client, "EVAL", "return 1", -1) == CommandError(
        "ERR Number of keys can't be negative"
    )
    assert run(client, "EVAL", "return 1", "x") == CommandError(
        "ERR value is not an integer or out of range"
    )


def test_evalsha_and_script_cache(client: Client) -> None:
    digest = run(client, "SCRIPT", "LOAD", "return 'hi'")
    assert digest == sha("return 'hi'").encode()
    assert run(client, "EVALSHA", digest.upper(), 0) == Raw(b"$2\r\nhi\r\n")  # type: ignore[union-attr]
    assert run(client, "SCRIPT", "EXISTS", digest, "f" * 40) == [1, 0]
    assert run(client, "EVALSHA", "123", 0) == CommandError(
        "NOSCRIPT No matching script. Please use EVAL."
    )
    assert run(client, "SCRIPT", "FLUSH", "bogus") == CommandError(
        "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
    )
    run(client, "SCRIPT", "FLUSH")
    assert run(client, "SCRIPT", "EXISTS", digest) == [0]
    assert run(client, "SCRIPT", "KILL") == CommandError(
        "NOTBUSY No scripts in execution right now."
    )


def test_shebang_flags(client: Client) -> None:
    assert ev(client, "#!lua flags=bad\nreturn 1") == CommandError(
        "ERR Unexpected flag in script shebang: bad"
    )
    assert ev(client, "#!python\nreturn 1") == CommandError(
        "ERR Unexpected engine in script shebang: #!python"
    )
    assert ev(client, "#!lua foo=bar\nreturn 1") == CommandError(
        "ERR Unknown lua shebang option: foo=bar"
    )
    body = "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')"
    assert ev(client, body) == CommandError(
        "ERR Write commands are not allowed from read-only scripts. "
        f"script: {sha(body)}, on @user_script:2."
    )
    assert run(client, "EVAL_RO", "#!lua\nreturn 1", 0) == CommandError(
        "ERR Can not execute a script with write flag using *_ro command."
    )
    assert ev(client, "#!lua\nreturn redis.call('set', 'a', 'b')") == Raw(b"+OK\r\n")


def test_write_on_read_only_follower(client: Client, engine: Engine) -> None:
    engine.read_only = True
    body = "return redis.call('set', 'a', 'b')"
    assert ev(client, body) == CommandError(
        "READONLY You can't write against a read only replica. "
        f"script: {sha(body)}, on @user_script:1."
    )
    assert ev(client, "#!lua\nreturn 1") == CommandError(
        "READONLY You can't write against a read only replica."
    )
    assert ev(client, "#!lua flags=no-writes\nreturn redis.call('get', 'a')") == Raw(b"$-1\r\n")
    assert run(client, "EVAL_RO", "return redis.call('get', 'a')", 0) == Raw(b"$-1\r\n")


def test_redis_call_is_checked_by_acl(client: Client, engine: Engine) -> None:
    run(client, "ACL", "SETUSER", "u", "on", "nopass", "+@all", "-get", "~*")
    run(client, "AUTH", "u", "x")
    body = "return redis.call('get', 'k')"
    assert ev(client, body) == CommandError(
        "ERR The user executing the script can't run this command or subcommand "
        f"script: {sha(body)}, on @user_script:1."
    )
    assert ev(client, "return redis.pcall('get', 'k')") == CommandError(
        "ERR The user executing the script can't run this command or subcommand"
    )
    entry = run(client, "ACL", "LOG", "1")
    assert isinstance(entry, list)
    fields = entry[0]
    assert (fields[b"reason"], fields[b"context"], fields[b"object"]) == (
        b"command",
        b"lua",
        b"get",
    )


def test_math_random_is_redis_sequence(client: Client) -> None:
    assert ev(client, "return {math.random(), math.random(100)}") == Raw(b"*2\r\n:0\r\n:85\r\n")
    assert ev(client, "return tostring(math.random())") == Raw(b"$16\r\n0.35333609737146\r\n")


def test_cjson(client: Client) -> None:
    assert ev(client, "return cjson.encode({1, 2.5, 3e20, {a=1}})") == Raw(
        b'$21\r\n[1,2.5,3e+20,{"a":1}]\r\n'
    )
    assert ev(client, "return cjson.encode('a/b\"\\1')") == Raw(b'$14\r\n"a\\/b\\"\\u0001"\r\n')
    assert ev(client, "return cjson.decode('[1,2,{\"a\":null}]')[3].a == cjson.null") == Raw(
        b":1\r\n"
    )
    assert ev(client, "return cjson.encode({[1]=1, [20]=2})") == CommandError(
        "ERR user_script:1: Cannot serialise table: excessively sparse array "
        f"script: {sha('return cjson.encode({[1]=1, [20]=2})')}, on @user_script:1."
    )


def test_bit(client: Client) -> None:
    assert ev(
        client, "return {bit.band(7, 3), bit.bor(1, 2), bit.lshift(1, 31), bit.tohex(255)}"
    ) == Raw(b"*4\r\n:3\r\n:3\r\n:-2147483648\r\n$8\r\n000000ff\r\n")


# --- sandbox -----------------------------------------------------------------------------

ESCAPES = [
    "return os.execute('true')",
    "return io.open('/etc/passwd')",
    "return python.eval('1')",
    "return require('os')",
    "return dofile('/etc/passwd')",
    "return loadfile('/etc/passwd')",
    "return package.loaded.os",
    "return debug.getinfo(1)",
    "return getfenv(string.format).os.execute('true')",
    "return getfenv(redis.error_reply).os",
    "return loadstring('return os')()",
    "return cjson.encode.__globals__",
    "return getmetatable('').__index.dump(print)",
]


@pytest.mark.parametrize("body", ESCAPES)
def test_sandbox_escapes_fail(client: Client, body: str) -> None:
    reply = ev(client, body)
    # Refused, or nothing there: never the library.
    assert isinstance(reply, CommandError) or reply == Raw(b"$-1\r\n"), reply


def test_binary_chunks_are_not_loaded(client: Client) -> None:
    assert ev(client, "return loadstring(string.dump(function() return 1 end))") == Raw(b"$-1\r\n")


def test_globals_do_not_leak_between_scripts(client: Client) -> None:
    ev(client, "pcall(rawset, _G, 'leak', 1) pcall(function() string.leak = 1 end)")
    assert ev(client, "return rawget(_G, 'leak')") == Raw(b"$-1\r\n")
    assert ev(client, "return string.leak") == Raw(b"$-1\r\n")
    assert ev(client, "local ok, e = pcall(setmetatable, _G, nil) return e") == Raw(
        b"$34\r\nAttempt to modify a readonly table\r\n"
    )


def test_memory_bomb_is_bounded(engine: Engine) -> None:
    from respcache.commands.scripting import scripting_state
    from respcache.scripting.runtime import LuaRuntime

    state = scripting_state(engine)
    state._runtime = LuaRuntime(max_memory=32 * 1024 * 1024)
    client = engine.new_client()
    reply = ev(client, "local s = string.rep('x', 1024) while true do s = s .. s end")
    assert isinstance(reply, CommandError)
    assert "not enough memory" in reply.message
    assert ev(client, "return 1") == Raw(b":1\r\n")


# --- effects replication ----------------------------------------------------------------


def test_effects_replicated_as_multi_exec(
    client: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    ev(client, "redis.call('set', 'a', '1') redis.call('incr', 'a') return redis.call('get', 'a')")
    assert propagated == [
        (0, [b"MULTI"]),
        (0, [b"set", b"a", b"1"]),
        (0, [b"incr", b"a"]),
        (0, [b"EXEC"]),
    ]


def test_single_write_replicated_alone(
    client: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    ev(client, "return redis.call('set', 'a', '1')")
    assert propagated == [(0, [b"set", b"a", b"1"])]


def test_read_only_script_replicates_nothing(
    client: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    ev(client, "return redis.call('get', 'a')")
    ev(
        client,
        "redis.call('set', 'a', '1') redis.set_repl(redis.REPL_NONE) redis.call('set', 'b', 1)",
    )
    assert propagated == [(0, [b"set", b"a", b"1"])]


def test_writes_before_an_error_stay_and_replicate(
    client: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    reply = ev(client, "redis.call('set', 'a', '1') error('boom')")
    assert isinstance(reply, CommandError)
    assert run(client, "GET", "a") == b"1"
    assert propagated == [(0, [b"set", b"a", b"1"])]


def test_select_inside_script(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    ev(client, "redis.call('select', 1) redis.call('set', 'x', '1')")
    assert client.db.id == 0
    assert propagated == [(1, [b"set", b"x", b"1"])]  # one command: alone, in its db


def test_select_between_writes_inside_script(
    client: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    ev(client, "redis.call('set', 'x', '0') redis.call('select', 1) redis.call('set', 'x', '1')")
    assert propagated == [
        (0, [b"MULTI"]),
        (0, [b"set", b"x", b"0"]),
        (1, [b"set", b"x", b"1"]),
        (1, [b"EXEC"]),
    ]


def test_watch_invalidated_by_script(engine: Engine, client: Client) -> None:
    other = engine.new_client()
    run(other, "WATCH", "a")
    run(other, "MULTI")
    run(other, "GET", "a")
    ev(client, "return redis.call('set', 'a', '1')")
    assert run(other, "EXEC") is NULL_ARRAY
    assert engine.stats.commands["set"].calls == 1


# --- FUNCTION / FCALL --------------------------------------------------------------------

LIB = "#!lua name=mylib\nredis.register_function('myget', function(keys, args) return redis.call('get', keys[1]) end)\nredis.register_function{function_name='ro', callback=function() return 1 end, flags={'no-writes'}, description='d'}"


def test_function_load_and_fcall(client: Client, propagated: list[tuple[int, list[bytes]]]) -> None:
    assert run(client, "FUNCTION", "LOAD", LIB) == b"mylib"
    assert propagated == [(0, [b"FUNCTION", b"LOAD", LIB.encode()])]
    run(client, "SET", "k", "v")
    assert run(client, "FCALL", "myget", 1, "k") == Raw(b"$1\r\nv\r\n")
    assert run(client, "FCALL_RO", "ro", 0) == Raw(b":1\r\n")
    assert run(client, "FCALL_RO", "myget", 1, "k") == CommandError(
        "ERR Can not execute a script with write flag using *_ro command."
    )
    assert run(client, "FCALL", "nope", 0) == CommandError("ERR Function not found")
    assert run(client, "FCALL", "myget", "x") == CommandError("ERR Bad number of keys provided")
    assert run(client, "FUNCTION", "LOAD", LIB) == CommandError(
        "ERR Library 'mylib' already exists"
    )
    listing = run(client, "FUNCTION", "LIST")
    assert listing == [
        {
            b"library_name": b"mylib",
            b"engine": b"LUA",
            b"functions": [
                {b"name": b"myget", b"description": None, b"flags": set()},
                {b"name": b"ro", b"description": b"d", b"flags": {"no-writes"}},
            ],
        }
    ]
    assert run(client, "FUNCTION", "DELETE", "mylib") == Raw(b"+OK\r\n")
    assert run(client, "FUNCTION", "DELETE", "mylib") == CommandError("ERR Library not found")


LOAD_ERRORS = [
    ("x", "ERR Missing library metadata"),
    ("#!lua", "ERR Invalid library metadata"),
    ("#!lua\n", "ERR Library name was not given"),
    ("#!foo name=a\n", "ERR Engine 'foo' not found"),
    ("#!lua name=a b=c\n", "ERR Invalid metadata value given: b=c"),
    ("#!lua name=a\n", "ERR No functions registered"),
    (
        "#!lua name=a-b\nx",
        BAD
        := "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
    ),
    (
        "#!lua name=a\nstring.format('x')",
        "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'",
    ),
    (
        "#!lua name=a\nlocal x = 1 +",
        "ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'",
    ),
    (
        "#!lua name=a\nredis.register_function('f', 1)",
        "ERR Error registering functions: ERR second argument to redis.register_function must be a function",
    ),
    (
        "#!lua name=a\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}",
        "ERR Error registering functions: ERR unknown flag given",
    ),
    (
        "#!lua name=a\nredis.call('ping')",
        "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'",
    ),
]


@pytest.mark.parametrize(("code", "message"), LOAD_ERRORS)
def test_function_load_errors(client: Client, code: str, message: str) -> None:
    assert run(client, "FUNCTION", "LOAD", code) == CommandError(message)


def test_function_dump_restore_roundtrip(client: Client) -> None:
    from respcache.scripting import rdbfunc

    run(client, "FUNCTION", "LOAD", LIB)
    payload = run(client, "FUNCTION", "DUMP")
    assert isinstance(payload, bytes)
    assert payload[0] == rdbfunc.RDB_OPCODE_FUNCTION2
    assert payload[-10:-8] == b"\x0a\x00"
    assert rdbfunc.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert run(client, "FUNCTION", "RESTORE", payload) == CommandError(
        "ERR Library mylib already exists"
    )
    run(client, "FUNCTION", "FLUSH")
    assert run(client, "FUNCTION", "RESTORE", payload) == Raw(b"+OK\r\n")
    assert run(client, "FCALL", "ro", 0) == Raw(b":1\r\n")
    assert run(client, "FUNCTION", "RESTORE", payload[:-1] + b"x") == CommandError(
        "ERR DUMP payload version or checksum are wrong"
    )
    assert run(client, "FUNCTION", "RESTORE", payload, "REPLACE") == Raw(b"+OK\r\n")


def test_function_restore_reads_redis_lzf_payload(client: Client) -> None:
    # FUNCTION DUMP of redis-server 7.0.15 (LZF-compressed code) for the library below.
    from respcache.scripting import rdbfunc

    code = (
        b"#!lua name=lzf\n"
        + b"redis.register_function('lzf_f', function() return 'aaaaaaaaaaaaaaaaaaaaaaaa' end)"
    )
    assert rdbfunc.load_functions(rdbfunc.dump_functions([code])) == [code]


def test_functions_survive_a_snapshot(engine: Engine, client: Client) -> None:
    import hiredis

    from respcache.replication.snapshot import SnapshotLoader, SnapshotWriter
    from respcache.store.keyspace import Keyspace

    run(client, "FUNCTION", "LOAD", LIB)
    target = Keyspace(16)
    loader = SnapshotLoader(target)
    loader.begin()
    reader = hiredis.Reader()
    for chunk in SnapshotWriter(engine.keyspace).chunks():
        reader.feed(chunk)
        while (record := reader.gets()) is not False:
            loader.apply(record)
    assert target.functions == {"mylib": LIB.encode()}


@pytest.mark.parametrize("total", [0, 1, 2, 63, 64, 65, 500])
@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_keys_and_argv_whatever_their_number(client: Client, total: int, share: float) -> None:
    """Up to 64 are tabled in Lua from the call's arguments, more from Python: the same."""
    nkeys = int(total * share)
    names = [f"k{i}" for i in range(nkeys)] + [f"a{i}" for i in range(total - nkeys)]
    body = "return {#KEYS, #ARGV, KEYS[1] or false, ARGV[#ARGV] or false}"
    reply = run(client, "EVAL", body, nkeys, *names)
    first_key = b"$2\r\nk0\r\n" if nkeys else b"$-1\r\n"
    last = f"a{total - nkeys - 1}".encode()
    last_arg = b"$%d\r\n%b\r\n" % (len(last), last) if total > nkeys else b"$-1\r\n"
    assert reply == b"*4\r\n:%d\r\n:%d\r\n%b%b" % (nkeys, total - nkeys, first_key, last_arg)
