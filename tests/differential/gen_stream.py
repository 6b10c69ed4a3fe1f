"""Differential generators: stream commands and consumer groups (``@stream``).

IDs are always explicit (small milliseconds and sequences, ``<ms>-*``, the ``-``/``+``
and ``(`` forms, a few invalid ones): ``*`` would make replies depend on each
server's clock. For the same reason the replies that carry times are left out (the
extended XPENDING, XINFO CONSUMERS, XINFO STREAM FULL); the PELs are still compared
through XPENDING's summary, XINFO GROUPS, XACK/XCLAIM/XAUTOCLAIM results and
XREADGROUP's history reads. No command blocks (no BLOCK option). Small node limits
are not set (CONFIG is not drawn), so approximate trimming meets Redis's default
nodes of 100 entries only in long examples; ``tests/unit/test_streams.py`` covers
small nodes. The end-of-example snapshot reads ``XINFO STREAM`` and ``XINFO GROUPS``.
"""

from __future__ import annotations

from generators import Group, build, keys, optional, options, repeat, seq, token
from hypothesis import strategies as st

FIELDS: tuple[bytes, ...] = (b"f", b"g", b"1", b"", b"long-field-name")
GROUPS: tuple[bytes, ...] = (b"g1", b"g2")
CONSUMERS: tuple[bytes, ...] = (b"alice", b"bob", b"")


def ids() -> st.SearchStrategy[bytes]:
    """Stream IDs as clients write them: mostly valid and small."""
    return st.one_of(
        st.tuples(st.integers(0, 12), st.integers(0, 3)).map(lambda t: b"%d-%d" % t),
        st.integers(0, 12).map(lambda n: b"%d" % n),
        st.sampled_from(
            (
                b"18446744073709551615-18446744073709551615",
                b"18446744073709551615",
                b"0-0",
                b"abc",
                b"1-x",
                b"-1",
                b"",
            )
        ),
    )


def add_ids() -> st.SearchStrategy[bytes]:
    return st.one_of(ids(), ids(), st.integers(0, 12).map(lambda n: b"%d-*" % n))


def range_ids() -> st.SearchStrategy[bytes]:
    return st.one_of(
        ids(), st.sampled_from((b"-", b"+", b"(-", b"(+")), ids().map(lambda i: b"(" + i)
    )


def read_ids() -> st.SearchStrategy[bytes]:
    return st.one_of(ids(), st.sampled_from((b"$", b">", b"0")))


def counts() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.integers(-1, 6).map(lambda n: b"%d" % n), st.sampled_from((b"abc", b"100000"))
    )


def pairs() -> st.SearchStrategy[list[bytes]]:
    pair = st.tuples(st.sampled_from(FIELDS), st.sampled_from((b"v", b"1", b"x" * 70, b"")))
    return st.lists(pair, min_size=1, max_size=3).map(lambda ps: [x for p in ps for x in p])


def trim() -> st.SearchStrategy[list[bytes]]:
    strategy = st.one_of(
        seq(token("maxlen"), optional(st.sampled_from((b"~", b"="))), counts()),
        seq(token("minid"), optional(st.sampled_from((b"~", b"="))), ids()),
    )
    return seq(strategy, optional(seq(token("limit"), counts())))


def groups() -> st.SearchStrategy[bytes]:
    return st.sampled_from(GROUPS)


def consumers() -> st.SearchStrategy[bytes]:
    return st.sampled_from(CONSUMERS)


def streams_args() -> st.SearchStrategy[list[bytes]]:
    return st.lists(st.tuples(keys(), read_ids()), min_size=1, max_size=2).map(
        lambda kv: [b"STREAMS", *(k for k, _ in kv), *(i for _, i in kv)]
    )


GROUP = Group(
    "stream",
    {
        "xadd": build(
            "xadd",
            keys(),
            optional(token("nomkstream")),
            optional(trim()),
            add_ids(),
            pairs(),
        ),
        "xrange": build(
            "xrange", keys(), range_ids(), range_ids(), optional(seq(token("count"), counts()))
        ),
        "xrevrange": build(
            "xrevrange", keys(), range_ids(), range_ids(), optional(seq(token("count"), counts()))
        ),
        "xlen": build("xlen", keys()),
        "xdel": build("xdel", keys(), repeat(ids(), 1, 3)),
        "xtrim": build("xtrim", keys(), trim()),
        "xread": build("xread", optional(seq(token("count"), counts())), streams_args()),
        "xgroup": st.one_of(
            build(
                "xgroup",
                token("create"),
                keys(),
                groups(),
                st.one_of(ids(), st.just(b"$")),
                options([seq(token("mkstream")), seq(token("entriesread"), counts())]),
            ),
            build("xgroup", token("setid"), keys(), groups(), st.one_of(ids(), st.just(b"$"))),
            build("xgroup", token("destroy"), keys(), groups()),
            build("xgroup", token("createconsumer"), keys(), groups(), consumers()),
            build("xgroup", token("delconsumer"), keys(), groups(), consumers()),
        ),
        "xreadgroup": build(
            "xreadgroup",
            token("group"),
            groups(),
            consumers(),
            options([seq(token("count"), counts()), seq(token("noack"))]),
            streams_args(),
        ),
        "xack": build("xack", keys(), groups(), repeat(ids(), 1, 3)),
        "xpending": build("xpending", keys(), groups()),
        "xclaim": build(
            "xclaim",
            keys(),
            groups(),
            consumers(),
            st.sampled_from((b"0", b"-5", b"abc", b"100000000")),
            repeat(ids(), 1, 3),
            options(
                [
                    seq(token("justid")),
                    seq(token("force")),
                    seq(token("retrycount"), counts()),
                    seq(token("lastid"), ids()),
                ],
                max_count=3,
            ),
        ),
        "xautoclaim": build(
            "xautoclaim",
            keys(),
            groups(),
            consumers(),
            st.sampled_from((b"0", b"-5", b"abc", b"100000000")),
            range_ids(),
            options([seq(token("count"), counts()), seq(token("justid"))]),
        ),
        "xsetid": build(
            "xsetid",
            keys(),
            ids(),
            options([seq(token("entriesadded"), counts()), seq(token("maxdeletedid"), ids())]),
        ),
        "xinfo": st.one_of(
            build("xinfo", token("stream"), keys()),
            build("xinfo", token("groups"), keys()),
            build("xinfo", token("help")),
        ),
    },
    snapshot={b"stream": [(b"XINFO", b"STREAM"), (b"XINFO", b"GROUPS")]},
)
