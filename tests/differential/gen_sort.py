"""Differential generators: SORT and SORT_RO on lists, sets and sorted sets.

Elements are numbers, words and a few strings C ``strtod`` refuses; weights and GET
targets live in ``w_*`` strings and ``h_*`` hashes. Sets hold integers only (an intset
in Redis, iterated in ascending order), so even ``BY nosort`` replies are comparable.
Where Redis's order is its hash table's (random: the hash seed is drawn at start-up),
no reply can be compared and :func:`redis_order_is_defined` leaves the command out:
ALPHA with a ``BY`` pattern (equal or missing weights keep the input order) on a sorted
set (``sz``, read from its dict) or on ``k1`` (any type: other groups make it a set of
strings or a sorted set in the mixed test), and a constant ``BY`` (no sorting) on ``k1``.
Lists are always comparable: ties keep the list's order, or, with ``BY`` and a ``LIMIT``,
the order Redis's partial quicksort leaves them in (respcache ports it).
No weight overflows a double: Redis reads ``errno`` after ``strtod`` without clearing it,
so an ERANGE would leak into the next SORT there (a Redis quirk, not emulated).
"""

from __future__ import annotations

from generators import Cmd, Group, build, integers, keys, optional, options, repeat, seq, token
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


def redis_order_is_defined(cmd: Cmd) -> bool:
    """False when Redis's reply order would be its hash table's (see the module doc).

    The options are read as Redis reads them: a command Redis refuses (a syntax error,
    a LIMIT that is not a number) is always comparable.
    """
    if cmd.name not in ("sort", "sort_ro") or len(cmd.argv) < 2:
        return True
    key = cmd.argv[1]
    if key not in (b"sz", b"k1"):
        return True
    alpha = store = dontsort = False
    by: bytes | None = None
    args = cmd.argv[2:]
    j = 0
    while j < len(args):
        word, left = args[j].lower(), len(args) - j - 1
        if word in (b"asc", b"desc"):
            pass
        elif word == b"alpha":
            alpha = True
        elif word == b"limit" and left >= 2:
            if not all(_is_long(a) for a in args[j + 1 : j + 3]):
                return True
            j += 2
        elif word in (b"by", b"get", b"store") and left >= 1:
            if word == b"by":
                by = args[j + 1]
                dontsort = dontsort or b"*" not in by  # Redis never resets it
            store = store or (word == b"store" and cmd.name == "sort")
            if word == b"store" and cmd.name == "sort_ro":
                return True  # a syntax error
            j += 1
        else:
            return True  # a syntax error
        j += 1
    if dontsort:
        return key != b"k1" or store  # a set with STORE is sorted (ALPHA) as Redis forces
    return by is None or not alpha


def _is_long(arg: bytes) -> bool:
    try:
        return str(int(arg)).encode() == arg and -(2**63) <= int(arg) < 2**63
    except ValueError:
        return False


GROUP = Group(
    "sort",
    {
        "sort": build("sort", sort_keys(), sort_options(False)).filter(redis_order_is_defined),
        "sort_ro": build("sort_ro", sort_keys(), sort_options(True)).filter(redis_order_is_defined),
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
    keep=redis_order_is_defined,
)
