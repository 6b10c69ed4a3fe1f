"""A corpus of scripts and functions run against redis-server and respcache, replies byte for byte.

Each case is a list of commands sent on one connection (RESP2 and RESP3) after
FLUSHALL, SCRIPT FLUSH and FUNCTION FLUSH on both servers; every reply must be
identical, error texts and ``script: <sha>, on @user_script:N.`` positions
included. The corpus covers the conversions in both directions, the redis.*
API and its errors, the sandbox's read-only globals, shebang flags, cjson and
bit, math.random's sequence, EVALSHA/SCRIPT and FUNCTION/FCALL.
"""

from __future__ import annotations

from typing import Any

import pytest
from pair import Pair

pytestmark = pytest.mark.integration

LIB = (
    "#!lua name=lib\n"
    "redis.register_function('get', function(keys, args) return redis.call('get', keys[1]) end)\n"
    "redis.register_function{function_name='ro', callback=function(keys, args) return args end,"
    " flags={'no-writes'}, description='read only'}\n"
    "redis.register_function('boom', function() return redis.call('nosuch') end)"
)

SCRIPTS = [
    "return 1",
    "return -7.9",
    "return 'hello'",
    "return true",
    "return false",
    "return nil",
    "return {1, 2, 3.7, 'x', nil, 'after nil'}",
    "return {{1, {2, {3}}}, {}}",
    "return {ok='STATUS'}",
    "return {err='CUSTOM error text'}",
    "return {1, {err='nested error'}, {ok='nested ok'}}",
    "return {double=3.25}",
    "return {double=0/0}",
    "return {big_number='12345678901234567890'}",
    "return {verbatim_string={format='txt', string='some text'}}",
    "return {map={k='v'}}",
    "return {set={m=true}}",
    "return redis.status_reply('PONG')",
    "return redis.error_reply('MYERR custom')",
    "return redis.error_reply('no code')",
    "return redis.call('set', KEYS[1], ARGV[1])",
    "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])",
    "return redis.call('incr', 'counter')",
    "redis.call('hset', 'h', 'a', 1, 'b', 2) return redis.call('hgetall', 'h')",
    "redis.setresp(3) redis.call('hset', 'h', 'a', 1) return redis.call('hgetall', 'h')",
    "redis.setresp(3) return redis.call('hgetall', 'h').map",
    "redis.call('zadd', 'z', 1.5, 'm') redis.setresp(3) return redis.call('zscore', 'z', 'm')",
    "redis.setresp(3) return redis.call('get', 'nokey') == nil",
    "return redis.call('get', 'nokey') == false",
    "redis.call('sadd', 's', 'a') redis.setresp(3) return redis.call('smembers', 's')",
    "return redis.call('ping')",
    "return redis.pcall('incr', 'h')",
    "return redis.call('incr', 'h')",
    "return redis.call('nosuch')",
    "return redis.call()",
    "return redis.call('get')",
    "return redis.call('set', 'a', {})",
    "return redis.call('multi')",
    "return redis.call('eval', 'return 1', 0)",
    "return redis.call('blpop', 'nolist', 0)",
    "return foo",
    "foo = 1",
    "local t = string t.x = 1",
    "return rawset(_G, 'x', 1)",
    "error('plain error')",
    "error({err='TABLE error'})",
    "local ok, e = pcall(error, {err='caught'}) return e",
    "local ok, e = pcall(redis.call, 'nosuch') return e",
    "return 1 +",
    "return loadstring('return 1')()",
    "return type(os)",
    "return cjson.encode({1, 'two', {three=3}, 0.5, true})",
    "return cjson.encode({[1]=1, [100]=2})",
    "return cjson.encode({a={b={c={}}}})",
    'return cjson.decode(\'{"a":[1,2,{"b":null}]}\').a[2]',
    "return cjson.decode('[1,2')",
    "return cjson.encode(1/0)",
    "return {bit.band(0xff, 0x0f), bit.bor(1, 4), bit.bxor(3, 1), bit.bnot(0), bit.tohex(-1)}",
    "return {bit.lshift(1, 40), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(1, 33)}",
    "return {math.random(), math.random(10), math.random(5, 8)}",
    "math.randomseed(42) return {math.random(1000), math.random(1000)}",
    "return redis.sha1hex('abc')",
    "return redis.sha1hex()",
    "return redis.setresp(9)",
    "return {redis.REPL_ALL, redis.REPL_NONE, redis.LOG_WARNING}",
    "return redis.set_repl(redis.REPL_ALL)",
    "return string.format('%d %s %.3f', 7, 'x', 1.5)",
    "return table.concat({'a', 'b', 'c'}, '-')",
    "return tostring(1e100)",
    "return #KEYS + #ARGV",
    "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])",
    "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')",
    "#!lua flags=allow-oom,allow-stale\nreturn 1",
    "#!lua flags=unknown\nreturn 1",
    "#!lua foo=bar\nreturn 1",
    "#!notlua\nreturn 1",
    "#!lua\nreturn redis.call('set', KEYS[1], ARGV[1])",
    "local a = 1\nlocal b = 2\n\nerror('third line')",
]


def _cases() -> list[tuple[str, list[tuple[str, ...]]]]:
    cases = []
    for i, body in enumerate(SCRIPTS):
        cases.append((f"eval-{i}", [("EVAL", body, "1", "key", "argument")]))
    cases += [
        ("eval_ro-write", [("EVAL_RO", "return redis.call('set', 'a', 1)", "0")]),
        ("eval_ro-shebang", [("EVAL_RO", "#!lua\nreturn 1", "0")]),
        (
            "numkeys",
            [("EVAL", "return 1", "3", "a"), ("EVAL", "return 1", "-1"), ("EVAL", "return 1", "x")],
        ),
        (
            "evalsha",
            [
                ("SCRIPT", "LOAD", "return 'cached'"),
                ("EVALSHA", "2b7f0ea9ba88b9e4c9d1a4ad2c4e9a6ceb8bb3b5", "0"),
                ("EVALSHA", "short", "0"),
                ("SCRIPT", "EXISTS", "d4f5c8e95fd1aa5a3b6e4d8d19dd29f8dc0f5a59", "x"),
                ("SCRIPT", "FLUSH", "ASYNC"),
                ("SCRIPT", "FLUSH", "BAD"),
                ("SCRIPT", "KILL"),
                ("SCRIPT", "HELP"),
                ("SCRIPT", "NOSUCH"),
            ],
        ),
        (
            "functions",
            [
                ("FUNCTION", "LOAD", LIB),
                ("FUNCTION", "LOAD", LIB),
                ("SET", "k", "v"),
                ("FCALL", "get", "1", "k"),
                ("FCALL", "ro", "0", "a", "b"),
                ("FCALL_RO", "ro", "0", "a"),
                ("FCALL_RO", "get", "1", "k"),
                ("FCALL", "boom", "0"),
                ("FCALL", "nosuch", "0"),
                ("FCALL", "get", "x"),
                ("FUNCTION", "LIST"),
                ("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "l*"),
                ("FUNCTION", "LIST", "LIBRARYNAME"),
                ("FUNCTION", "STATS"),
                ("FUNCTION", "KILL"),
                ("FUNCTION", "DELETE", "nosuch"),
                ("FUNCTION", "LOAD", "REPLACE", LIB.replace("read only", "changed")),
                ("FUNCTION", "LIST"),
                ("FUNCTION", "LOAD", "#!lua name=x\nreturn 1"),
                ("FUNCTION", "LOAD", "#!lua name=x\nredis.call('ping')"),
                (
                    "FUNCTION",
                    "LOAD",
                    "#!lua name=x\nredis.register_function('get', function() end)",
                ),
                ("FUNCTION", "LOAD", "no metadata"),
                ("FUNCTION", "RESTORE", "garbage"),
                ("FUNCTION", "HELP"),
                ("FUNCTION", "DELETE", "lib"),
                ("FUNCTION", "FLUSH", "SYNC"),
            ],
        ),
    ]
    return cases


CASES = _cases()


def _reset(pair: Pair) -> None:
    pair.reset()
    assert pair.theirs is not None and pair.ours is not None
    for conn in (pair.theirs, pair.ours):
        conn.call("SCRIPT", "FLUSH")
        conn.call("FUNCTION", "FLUSH")


@pytest.fixture(scope="module", params=[2, 3], ids=["resp2", "resp3"])
def pair(request: Any, redis_server: Any, respcache_server: Any) -> Any:
    p = Pair(respcache_server, redis_server, protocol=request.param)
    yield p
    p.close()


@pytest.mark.parametrize(("name", "commands"), CASES, ids=[c[0] for c in CASES])
def test_script_corpus(pair: Pair, name: str, commands: list[tuple[str, ...]]) -> None:
    _reset(pair)
    for cmd in commands:
        theirs, ours = pair.run(tuple(a.encode() for a in cmd))
        if cmd[:2] == ("FUNCTION", "LIST"):
            # Functions of a library come in Redis's dict order (nondeterministic_output_order):
            # the same entries, compared regardless of their order.
            assert sorted(repr(ours)) == sorted(repr(theirs)), f"{cmd!r}: {theirs!r} / {ours!r}"
            continue
        assert ours == theirs, f"{cmd!r}: redis {theirs!r} / respcache {ours!r}"
