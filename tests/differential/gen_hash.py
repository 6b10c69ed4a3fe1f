"""Differential generators: hash commands (``@hash``).

Fields come from a small alphabet so that commands meet on the same fields. Values stay
short (at most 64 bytes) so that Redis keeps every hash a listpack, whose order
(insertion order) respcache's dict reproduces: HGETALL, HKEYS, HVALS and HSCAN are
compared exactly. HINCRBYFLOAT increments are bounded for the same reason (a 1e300
result has 301 digits and would turn the hash into a hashtable with a random order).
HSCAN is exact too (a listpack is returned whole, in order). HRANDFIELD is random: only
the shape of its reply is compared.
"""

from __future__ import annotations

from gen_set import fuzzed, same_shape
from generators import (
    Group,
    build,
    integers,
    keys,
    optional,
    options,
    patterns,
    repeat,
    seq,
    token,
    values,
)
from hypothesis import strategies as st

FIELDS: tuple[bytes, ...] = (b"f1", b"f2", b"f3", b"fx", b"")


def fields() -> st.SearchStrategy[bytes]:
    return st.sampled_from(FIELDS)


def increments() -> st.SearchStrategy[bytes]:
    """HINCRBYFLOAT increments whose results stay well under 64 characters."""
    return st.one_of(
        st.sampled_from((b"0.1", b"-0.2", b"1e10", b"3.0e3", b"0x10", b"inf", b"-inf", b"nan")),
        st.sampled_from((b"abc", b"", b" 1", b"1e-5", b"1e5000", b"1.5e-300", b"1e-5000")),
        st.floats(-1e15, 1e15, allow_nan=False).map(lambda f: repr(f).encode()),
        st.integers(-100, 100).map(lambda n: str(n).encode()),
    )


def pairs() -> st.SearchStrategy[list[bytes]]:
    return repeat(seq(fields(), values()), 1, 3)


def counts() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.integers(-6, 6).map(lambda n: str(n).encode()),
        st.sampled_from(
            (b"abc", b"9223372036854775807", b"-9223372036854775808", b"4611686018427387904")
        ),
    )


def scan_options() -> st.SearchStrategy[list[bytes]]:
    return options(
        [
            seq(token("match"), patterns()),
            seq(token("match"), st.sampled_from((b"f*", b"f?", b"*x", b"[f]1"))),
            seq(token("count"), st.sampled_from((b"1", b"2", b"10", b"0", b"-1", b"abc"))),
            seq(token("type"), st.just(b"hash")),
        ],
        max_count=2,
    )


GROUP = Group(
    "hash",
    {
        "hset": fuzzed("hset", build("hset", keys(), pairs(), optional(fields()))),
        "hmset": fuzzed("hmset", build("hmset", keys(), pairs(), optional(fields()))),
        "hsetnx": fuzzed("hsetnx", build("hsetnx", keys(), fields(), values())),
        "hget": fuzzed("hget", build("hget", keys(), fields())),
        "hmget": fuzzed("hmget", build("hmget", keys(), repeat(fields(), 1, 4))),
        "hdel": fuzzed("hdel", build("hdel", keys(), repeat(fields(), 1, 3))),
        "hexists": fuzzed("hexists", build("hexists", keys(), fields())),
        "hgetall": fuzzed("hgetall", build("hgetall", keys())),
        "hkeys": fuzzed("hkeys", build("hkeys", keys())),
        "hvals": fuzzed("hvals", build("hvals", keys())),
        "hlen": fuzzed("hlen", build("hlen", keys())),
        "hstrlen": fuzzed("hstrlen", build("hstrlen", keys(), fields())),
        "hincrby": fuzzed("hincrby", build("hincrby", keys(), fields(), integers())),
        "hincrbyfloat": build("hincrbyfloat", keys(), fields(), increments()),
        "hrandfield": build(
            "hrandfield",
            keys(),
            optional(seq(counts(), optional(token("withvalues", "withscores")))),
            compare=same_shape,
        ),
        "hscan": build(
            "hscan",
            keys(),
            st.sampled_from((b"0", b"1", b"abc", b"-1", b"18446744073709551616")),
            scan_options(),
        ),
    },
    fuzz_arity=False,
)
GROUP.snapshot = {b"hash": [(b"HLEN",), (b"HGETALL",)]}  # type: ignore[attr-defined]
