"""Differential generators: SORT and SORT_RO on lists, sets and sorted sets.

Elements are numbers, words and a few strings C ``strtod`` refuses; weights and GET
targets live in ``w_*`` strings and ``h_*`` hashes. Sets hold integers only (an intset
in Redis, iterated in ascending order), so even ``BY nosort`` replies are comparable;
ALPHA ``BY`` ties are avoided for sorted sets, whose input order is Redis's dict order.
No weight overflows a double: Redis reads ``errno`` after ``strtod`` without clearing it,
so an ERANGE would leak into the next SORT there (a Redis quirk, not emulated).
"""

from __future__ import annotations

from generators import Group, build, integers, keys, optional, options, repeat, seq, token
from hypothesis import strategies as st

ELEMENTS = (b"1", b"2", b"3", b"10", b"-1", b"1.5", b"a", b"b", b"B", b"", b" 2", b"0x10")


def elements() -> st.SearchStrategy[bytes]:
    return st.sampled_from(ELEMENTS)


def numbers() -> st.SearchStrategy[bytes]:
    return st.sampled_from((b"1", b"2", b"3", b"10", b"-1", b"7", b"42"))


def weights() -> st.SearchStrategy[bytes]:
    return st.sampled_from((b"1", b"2", b"-3", b"0.5", b"9", b"x", b"", b"5"))


def patterns() -> st.SearchStrategy[bytes]:
    return st.sampled_from(
        (b"w_*", b"h_*->f", b"h_*->g", b"nosort", b"#", b"w_*->", b"*", b"nokey_*")
    )


def sort_options(readonly: bool) -> st.SearchStrategy[list[bytes]]:
    choices = [
        seq(token("asc", "desc")),
        seq(token("alpha")),
        seq(token("limit"), integers(), integers()),
        seq(token("by"), patterns()),
        seq(token("get"), patterns()),
    ]
    if not readonly:
        choices.append(seq(token("store"), keys()))
    return options(choices, max_count=4)


def sort_keys() -> st.SearchStrategy[bytes]:
    return st.sampled_from((b"sl", b"ss", b"sz", b"k1", b"nokey"))


GROUP = Group(
    "sort",
    {
        "sort": build("sort", sort_keys(), sort_options(False)),
        "sort_ro": build("sort_ro", sort_keys(), sort_options(True)),
        "rpush": build("rpush", st.just(b"sl"), repeat(elements(), 1, 6)),
        "sadd": build("sadd", st.just(b"ss"), repeat(numbers(), 1, 5)),
        "zadd": build(
            "zadd",
            st.just(b"sz"),
            repeat(seq(st.sampled_from((b"1", b"2", b"3", b"-1")), elements()), 1, 4),
        ),
        "set": build("set", st.sampled_from([b"w_" + e for e in ELEMENTS]), weights()),
        "hset": build(
            "hset",
            st.sampled_from([b"h_" + e for e in ELEMENTS]),
            token("f", "g"),
            weights(),
            optional(seq(token("f", "g"), weights())),
        ),
        "lpush": build("lpush", keys(), repeat(elements(), 1, 3)),
    },
)
