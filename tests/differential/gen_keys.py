"""Differential generators: generic key commands (``@keyspace``)."""

from __future__ import annotations

from generators import (
    Group,
    both_nil_or_not,
    build,
    keys,
    milliseconds,
    optional,
    options,
    patterns,
    repeat,
    scan_unordered,
    seconds,
    seq,
    token,
    ttl_close,
    unix_milliseconds,
    unix_seconds,
    unordered,
)
from hypothesis import strategies as st


def relative_expire_options() -> st.SearchStrategy[list[bytes]]:
    # GT/LT against a relative expiry races with the clock (both servers run
    # the command a few ms apart), so they go with absolute times only.
    return options([seq(token("nx")), seq(token("xx"))], max_count=2)


def absolute_expire_options() -> st.SearchStrategy[list[bytes]]:
    return options(
        [seq(token("nx")), seq(token("xx")), seq(token("gt")), seq(token("lt"))], max_count=2
    )


def db_index() -> st.SearchStrategy[bytes]:
    return st.sampled_from(
        (b"1", b"0", b"16", b"-1", b"abc", b"2147483648", b"9223372036854775807")
    )


GROUP = Group(
    "keyspace",
    {
        "del": build("del", repeat(keys(), 1, 3)),
        "unlink": build("unlink", repeat(keys(), 1, 3)),
        "exists": build("exists", repeat(keys(), 1, 3)),
        "touch": build("touch", repeat(keys(), 1, 3)),
        "type": build("type", keys()),
        "expire": build("expire", keys(), seconds(), relative_expire_options()),
        "pexpire": build("pexpire", keys(), milliseconds(), relative_expire_options()),
        "expireat": build("expireat", keys(), unix_seconds(), absolute_expire_options()),
        "pexpireat": build("pexpireat", keys(), unix_milliseconds(), absolute_expire_options()),
        "ttl": build("ttl", keys(), compare=ttl_close(1)),
        "pttl": build("pttl", keys(), compare=ttl_close(1000)),
        "expiretime": build("expiretime", keys(), compare=ttl_close(1)),
        "pexpiretime": build("pexpiretime", keys(), compare=ttl_close(1000)),
        "persist": build("persist", keys()),
        "rename": build("rename", keys(), keys()),
        "renamenx": build("renamenx", keys(), keys()),
        "copy": build(
            "copy",
            keys(),
            keys(),
            options([seq(token("replace")), seq(token("db"), db_index())], max_count=2),
        ),
        "move": build("move", keys(), db_index()),
        "dbsize": build("dbsize"),
        "keys": build("keys", patterns(), compare=unordered),
        "randomkey": build("randomkey", compare=both_nil_or_not),
        # OBJECT IDLETIME is time-dependent; REFCOUNT an implementation detail. ENCODING
        # is client-visible and respcache mimics Redis's (int, embstr, raw, ...).
        "object": build("object", token("freq", "help", "encoding"), optional(keys())),
        # Cursor 0 with a COUNT above the key alphabet: one call returns every key.
        "scan": build(
            "scan",
            b"0",
            options(
                [
                    seq(token("match"), patterns()),
                    seq(token("count"), st.sampled_from((b"10", b"1000", b"0", b"-1", b"abc"))),
                    seq(
                        token("type"), st.sampled_from((b"string", b"hash", b"list", b"zset", b"x"))
                    ),
                ],
                max_count=3,
            ),
            compare=scan_unordered,
        ),
        "select": build("select", db_index()),
        "swapdb": build("swapdb", db_index(), db_index()),
        "flushdb": build("flushdb", optional(token("async", "sync"))),
    },
)
