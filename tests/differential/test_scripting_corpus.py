"""A corpus of scripts and functions run against redis-server and respcache, replies byte for byte.

Each case is a list of commands sent on one connection (RESP2 and RESP3) after
FLUSHALL, SCRIPT FLUSH and FUNCTION FLUSH on both servers; every reply must be
identical, error texts and ``script: <sha>, on @user_script:N.`` positions
included. The corpus covers the conversions in both directions, the redis.*
API and its errors, the sandbox's read-only globals, shebang flags, cjson,
bit, cmsgpack and struct, math.random's sequence, EVALSHA/SCRIPT and FUNCTION/FCALL.
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

# cmsgpack, struct and cjson's settings (lua_cmsgpack.c, lua_struct.c, lua_cjson.c):
# packing, unpacking, their errors. (A case that changes a cjson setting restores it.)
LIBRARY_SCRIPTS = [
    'local g = getmetatable(_G) g.__index = {}',
    'setmetatable(_G, {})',
    'return type(getmetatable(_G))',
    'return getmetatable(redis)',
    "return redis.pcall('xread','BLOCK',0,'STREAMS','s','$')",
    "return redis.pcall('XREADGROUP','GROUP','g','c','BLOCK',0,'STREAMS','s','>')",
    "return redis.pcall('xread','STREAMS','s','0')",
    "return {cjson.encode_keep_buffer(), cjson.encode_keep_buffer(false), cjson.encode_keep_buffer('on'), cjson.encode_keep_buffer(true)}",
    'return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision(), cjson.encode_invalid_numbers(), cjson.decode_invalid_numbers()}',
    'return {cjson.encode_sparse_array()}',
    'cjson.encode_max_depth(1) local ok, e = pcall(cjson.encode, {a={1}}) cjson.encode_max_depth(1000) return e',
    'cjson.decode_max_depth(1) local ok, e = pcall(cjson.decode, \'{"obj": {"array": [1,2,3,4]}}\') cjson.decode_max_depth(1000) return e',
    "cjson.encode_invalid_numbers(true) local a = cjson.encode({0/0, 1/0, -1/0}) cjson.encode_invalid_numbers('null') local b = cjson.encode({0/0, 1/0}) cjson.encode_invalid_numbers(false) return {a, b}",
    "return cjson.encode_invalid_numbers('null')",
    'return cjson.encode_invalid_numbers(false)',
    'return cjson.encode_number_precision(15)',
    'return cjson.encode_number_precision(0)',
    'cjson.encode_number_precision(3) local a = cjson.encode({3.14159, 12345}) cjson.encode_number_precision(14) return a',
    "return cjson.encode_max_depth('x')",
    'return cjson.encode_max_depth(1, 2)',
    "return cjson.encode_keep_buffer('maybe')",
    'return {cjson.encode_sparse_array(true, 3, 5)}',
    'cjson.encode_sparse_array(true) local a = cjson.encode({[1]=1, [100]=2}) cjson.encode_sparse_array(false, 2, 10) return a',
    'return {cjson.encode_sparse_array(false, 2, 10)}',
    'return cjson.encode(cjson.null)',
    'return {cjson.decode_invalid_numbers(false), cjson.decode_invalid_numbers(true)}',
    'return tostring(cjson.null)',
    'return type(cjson.null)',
    'return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649)',
    'return cmsgpack.pack(0.5, 1.1, 1/0, -1/0, 1e300, 2^63, -2^63, 2^64, 3.4e38, 3.5e38)',
    "return cmsgpack.pack('', 'abc', string.rep('x', 31), string.rep('x', 32), string.rep('x', 255), string.rep('x', 256), string.rep('y', 65536))",
    'return cmsgpack.pack({1,2,3}, {}, {a=1}, {1,2,nil,4}, {[1]=1,[3]=3}, {x={y={z={}}}}, true, false, nil)',
    "return cmsgpack.pack({a=1, b=2, c=3, d={1,2}, [1]='one', [2.5]='x'})",
    'local t = {} t.self = t return cmsgpack.pack(t)',
    "local t = {} for i=1,20 do t[i]=i end local m = {} for i=1,20 do m['k'..i]=i end return cmsgpack.pack(t, m)",
    'return cmsgpack.pack()',
    'return cmsgpack.pack(print)',
    'return cmsgpack.pack(cjson.null, function() end)',
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2,{3}}, {a='b'}, true, 1.5))}",
    'local a, b, c = cmsgpack.unpack(cmsgpack.pack(1.5, -7, 2^40)) return {tostring(a), tostring(b), tostring(c)}',
    "return cmsgpack.unpack('\\145')",
    "return cmsgpack.unpack('\\193')",
    "return cmsgpack.unpack('')",
    'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}',
    'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}',
    'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}',
    'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)}',
    'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 4)}',
    'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), -1)}',
    'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}',
    'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}',
    'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}',
    'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1)}',
    'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3))}',
    'return {cmsgpack.unpack()}',
    'return {cmsgpack.unpack({})}',
    'return {cmsgpack.unpack(12)}',
    'return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}',
    'local t = cmsgpack.unpack(cmsgpack.pack({a=1,b={c=2}})) return {t.a, t.b.c}',
    "return cmsgpack.unpack('\\222\\0\\1\\161a\\1')",
    "return {cmsgpack.unpack('\\203\\64\\9\\33\\251\\84\\68\\45\\24')}",
    "return tostring(cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255'))",
    "return tostring(cmsgpack.unpack('\\211\\128\\0\\0\\0\\0\\0\\0\\0'))",
    "return {cmsgpack.unpack('\\196\\1a')}",
    "return cmsgpack.unpack('\\129\\192\\1')",
    "return {struct.pack('>I2', 258), struct.pack('<i', -2), struct.pack('b', -1), struct.pack('B', 255), struct.pack('h', 1), struct.pack('l', 1), struct.pack('T', 5)}",
    "return {struct.pack('!4 b i', 1, 2), struct.pack('! b d', 1, 2), struct.pack('!2 b i4', 1, 2), struct.pack('c3', 'abcdef'), struct.pack('c0', 'abc'), struct.pack('s', 'hi'), struct.pack('x')}",
    "return {struct.pack('f', 1.5), struct.pack('>d', 1.5), struct.pack('<f', 1e39), struct.pack('i16', -1), struct.pack('I9', 2^40)}",
    "return struct.pack('q', 1)",
    "return struct.pack('!3 i', 1)",
    "return struct.pack('i33', 1)",
    "return struct.pack('c5', 'ab')",
    "return struct.pack('i')",
    "return struct.pack('i', 'x')",
    "return struct.pack('i', '12')",
    'return struct.pack()',
    'return struct.pack(12)',
    "return {struct.unpack('>I2', '\\1\\2')}",
    "return {struct.unpack('<i', struct.pack('<i', -2))}",
    "local a, b, c = struct.unpack('!4 b i d', struct.pack('!4 b i d', -3, 70000, 1.25)) return {a, b, tostring(c), }",
    "return {struct.unpack('b c0', '\\3abcd')}",
    "return {struct.unpack('s s', 'ab\\0cd\\0')}",
    "return {struct.unpack('s', 'ab')}",
    "return {struct.unpack('i', 'ab')}",
    "return {struct.unpack('c0', 'ab')}",
    "return {struct.unpack('B', 'abc', 2)}",
    "return {struct.unpack('B', 'abc', 0)}",
    "return {struct.unpack('B', 'abc', 4)}",
    "return {struct.unpack('x B', 'abc')}",
    "return {struct.unpack('z', 'abc')}",
    "return {tostring(struct.unpack('f', struct.pack('f', 0.1)))}",
    "return {tostring(struct.unpack('l', '\\255\\255\\255\\255\\255\\255\\255\\255')), tostring(struct.unpack('L', '\\255\\255\\255\\255\\255\\255\\255\\255'))}",
    "return {struct.size('i'), struct.size('!8 b d'), struct.size('c10 h'), struct.size('z b'), struct.size('>l')}",
    "return struct.size('s')",
    "return struct.size('c0')",
    "return struct.size('!')",
    "return struct.size('!3')",
    "return struct.size('?')",
    'return struct.size()',
    "return {struct.pack('>i3', -1), struct.unpack('>i3', '\\255\\255\\254')}",
]


def _cases() -> list[tuple[str, list[tuple[str, ...]]]]:
    cases = []
    for i, body in enumerate(SCRIPTS):
        cases.append((f"eval-{i}", [("EVAL", body, "1", "key", "argument")]))
    for i, body in enumerate(LIBRARY_SCRIPTS):
        cases.append((f"lib-{i}", [("EVAL", body, "0")]))
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
