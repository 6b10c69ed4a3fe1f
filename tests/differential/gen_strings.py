"""Differential generators: string commands (``@string``)."""

from __future__ import annotations

from generators import (
    Group,
    build,
    floats,
    integers,
    keys,
    milliseconds,
    optional,
    options,
    repeat,
    seconds,
    seq,
    token,
    unix_milliseconds,
    unix_seconds,
    values,
)
from hypothesis import strategies as st


def set_options() -> st.SearchStrategy[list[bytes]]:
    """SET's options in any order and combination, valid or not."""
    return options(
        [
            seq(token("nx")),
            seq(token("xx")),
            seq(token("get")),
            seq(token("keepttl")),
            seq(token("ex"), seconds()),
            seq(token("px"), milliseconds()),
            seq(token("exat"), unix_seconds()),
            seq(token("pxat"), unix_milliseconds()),
        ],
        max_count=3,
    )


def getex_options() -> st.SearchStrategy[list[bytes]]:
    return options(
        [
            seq(token("ex"), seconds()),
            seq(token("px"), milliseconds()),
            seq(token("exat"), unix_seconds()),
            seq(token("pxat"), unix_milliseconds()),
            seq(token("persist")),
        ],
        max_count=2,
    )


def offsets() -> st.SearchStrategy[bytes]:
    return integers(b"-9223372036854775808", b"4294967296")


def setrange_offsets() -> st.SearchStrategy[bytes]:
    # Never an offset that makes both servers allocate hundreds of megabytes.
    return st.one_of(
        st.integers(-1, 24).map(lambda n: str(n).encode()),
        st.sampled_from((b"536870912", b"4294967296", b"abc", b"")),
    )


def lcs_options() -> st.SearchStrategy[list[bytes]]:
    return options(
        [
            seq(token("len")),
            seq(token("idx")),
            seq(token("withmatchlen")),
            seq(token("minmatchlen"), integers()),
        ],
        max_count=3,
    )


GROUP = Group(
    "string",
    {
        "get": build("get", keys()),
        "set": build("set", keys(), values(), set_options()),
        "setnx": build("setnx", keys(), values()),
        "setex": build("setex", keys(), seconds(), values()),
        "psetex": build("psetex", keys(), milliseconds(), values()),
        "getset": build("getset", keys(), values()),
        "getdel": build("getdel", keys()),
        "getex": build("getex", keys(), getex_options()),
        "mget": build("mget", repeat(keys(), 1, 4)),
        "mset": build("mset", repeat(seq(keys(), values()), 1, 3), optional(keys())),
        "msetnx": build("msetnx", repeat(seq(keys(), values()), 1, 3), optional(keys())),
        "incr": build("incr", keys()),
        "decr": build("decr", keys()),
        "incrby": build("incrby", keys(), integers()),
        "decrby": build("decrby", keys(), integers()),
        "incrbyfloat": build("incrbyfloat", keys(), floats()),
        "append": build("append", keys(), values()),
        "strlen": build("strlen", keys()),
        "getrange": build("getrange", keys(), offsets(), offsets()),
        "substr": build("substr", keys(), offsets(), offsets()),
        "setrange": build("setrange", keys(), setrange_offsets(), values()),
        "lcs": build("lcs", keys(), keys(), lcs_options()),
    },
)
