"""Differential generators: the non-blocking list commands (``@list``).

Elements come from a small alphabet so that LREM, LPOS, LINSERT and LMOVE meet the
same elements; indexes are small (the lists stay short) with the 64-bit edges mixed
in. Every reply of a list command is deterministic, so all are compared exactly.
The blocking commands are left out: an empty list would block both servers. The
end-of-example snapshot reads ``LLEN`` (the whole list is read by ``LRANGE key 0 -1``,
drawn often, since the snapshot appends the key after the prefix).
"""

from __future__ import annotations

from generators import (
    Group,
    build,
    keys,
    optional,
    options,
    repeat,
    seq,
    token,
)
from hypothesis import strategies as st

ELEMENTS: tuple[bytes, ...] = (b"a", b"b", b"c", b"1", b"-1", b"", b"hello world", b"\x00\xff")


def elements() -> st.SearchStrategy[bytes]:
    return st.sampled_from(ELEMENTS)


def indexes() -> st.SearchStrategy[bytes]:
    """List indexes and counts: mostly small, with the 64-bit edges and non-integers."""
    return st.one_of(
        st.integers(-8, 8).map(lambda n: str(n).encode()),
        st.sampled_from(
            (
                b"9223372036854775807",
                b"-9223372036854775808",
                b"9223372036854775808",
                b"abc",
                b"",
                b"1.0",
                b" 1",
                b"+1",
                b"007",
            )
        ),
    )


def where() -> st.SearchStrategy[bytes]:
    return st.one_of(token("left", "right"), st.sampled_from((b"up", b"")))


def lpos_options() -> st.SearchStrategy[list[bytes]]:
    return options(
        [
            seq(token("rank"), indexes()),
            seq(token("count"), indexes()),
            seq(token("maxlen"), indexes()),
            seq(token("rank")),
        ],
        max_count=3,
    )


def numkeys_and_keys() -> st.SearchStrategy[list[bytes]]:
    """LMPOP's numkeys and keys: consistent most of the time, sometimes not."""
    consistent = st.lists(keys(), min_size=1, max_size=3).map(
        lambda ks: [str(len(ks)).encode(), *ks]
    )
    inconsistent = st.tuples(indexes(), st.lists(keys(), max_size=3)).map(lambda t: [t[0], *t[1]])
    return st.one_of(consistent, consistent, inconsistent)


GROUP = Group(
    "list",
    {
        "lpush": build("lpush", keys(), repeat(elements(), 1, 4)),
        "rpush": build("rpush", keys(), repeat(elements(), 1, 4)),
        "lpushx": build("lpushx", keys(), repeat(elements(), 1, 3)),
        "rpushx": build("rpushx", keys(), repeat(elements(), 1, 3)),
        "lpop": build("lpop", keys(), optional(indexes())),
        "rpop": build("rpop", keys(), optional(indexes())),
        "llen": build("llen", keys()),
        "lrange": st.one_of(
            build("lrange", keys(), b"0", b"-1"),
            build("lrange", keys(), indexes(), indexes()),
        ),
        "lindex": build("lindex", keys(), indexes()),
        "lset": build("lset", keys(), indexes(), elements()),
        "linsert": build(
            "linsert",
            keys(),
            st.one_of(token("before", "after"), st.just(b"middle")),
            elements(),
            elements(),
        ),
        "lrem": build("lrem", keys(), indexes(), elements()),
        "ltrim": build("ltrim", keys(), indexes(), indexes()),
        "lpos": build("lpos", keys(), elements(), lpos_options()),
        "lmove": build("lmove", keys(), keys(), where(), where()),
        "rpoplpush": build("rpoplpush", keys(), keys()),
        "lmpop": build(
            "lmpop",
            numkeys_and_keys(),
            where(),
            optional(seq(token("count"), indexes())),
        ),
    },
    snapshot={b"list": [(b"LLEN",)]},
)
