"""Differential generators: sorted set commands (``@sortedset``).

Members come from a small alphabet and stay short, so every sorted set here is a
listpack in Redis: ZSCAN returns it whole, with listpack score texts, and lexicographic
ranges over mixed scores follow the listpack walk, all compared exactly. Scores mix
integers, fractions, infinities, ``-0`` and strings Redis refuses. Blocking pops use
timeouts of a few milliseconds (or invalid ones), never 0. Random commands compare by
shape only. The end-of-example snapshot reads ``ZCARD`` and ``ZUNION 1 key`` (members
in score order).
"""

from __future__ import annotations

from gen_set import fuzzed, same_shape
from generators import (
    Cmd,
    Comparator,
    Group,
    Part,
    build,
    exact,
    floats,
    integers,
    keys,
    optional,
    options,
    patterns,
    repeat,
    seq,
    token,
)
from hypothesis import strategies as st

MEMBERS: tuple[bytes, ...] = (b"a", b"b", b"c", b"d", b"ab", b"", b"1")


def members() -> st.SearchStrategy[bytes]:
    return st.sampled_from(MEMBERS)


def scores() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.integers(-5, 5).map(lambda n: str(n).encode()),
        st.sampled_from((b"-0", b"0.5", b"1e17", b"1e19", b"4611686018427387904", b"0x10")),
        floats(),
    )


def score_bounds() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.integers(-5, 5).map(lambda n: str(n).encode()),
        st.integers(-5, 5).map(lambda n: b"(%d" % n),
        st.sampled_from(
            (b"-inf", b"+inf", b"(-inf", b"(+inf", b"inf", b"(0.5", b"0.5", b"abc", b"(", b"")
        ),
        st.sampled_from((b" 1", b"1e400", b"nan", b"(abc", b"0x2", b"1 ", b"-0")),
    )


def lex_bounds() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from((b"-", b"+", b"[a", b"(a", b"[b", b"(b", b"[ab", b"(c", b"[d", b"[", b"(")),
        st.sampled_from((b"a", b"", b"+a", b"-x", b"[\xff", b"[z")),
    )


def ranks() -> st.SearchStrategy[bytes]:
    return integers(b"-100", b"100")


def limit() -> st.SearchStrategy[list[bytes]]:
    return seq(token("limit"), integers(), integers())


def zadd_options() -> st.SearchStrategy[list[bytes]]:
    return options(
        [seq(token(o)) for o in ("nx", "xx", "gt", "lt", "ch", "incr")],
        max_count=3,
    )


def score_pairs() -> st.SearchStrategy[list[bytes]]:
    return repeat(seq(scores(), members()), 1, 3)


def zrange_options() -> st.SearchStrategy[list[bytes]]:
    return options(
        [
            seq(token("byscore")),
            seq(token("bylex")),
            seq(token("rev")),
            limit(),
            seq(token("withscores")),
        ],
        max_count=3,
    )


def bounds() -> st.SearchStrategy[bytes]:
    """Any kind of range boundary: ranks, scores, lex items."""
    return st.one_of(ranks(), score_bounds(), lex_bounds())


def numkeys() -> st.SearchStrategy[bytes]:
    return st.sampled_from((b"1", b"2", b"3", b"0", b"-1", b"abc", b"4"))


def setop_options(store: bool) -> st.SearchStrategy[list[bytes]]:
    choices = [
        seq(token("weights"), repeat(scores(), 1, 3)),
        seq(token("aggregate"), st.sampled_from((b"sum", b"MIN", b"max", b"avg"))),
    ]
    if not store:
        choices.append(seq(token("withscores")))
    return options(choices, max_count=3)


def timeouts() -> st.SearchStrategy[bytes]:
    """A few milliseconds, or invalid (never 0: that would block forever)."""
    return st.sampled_from((b"0.01", b"0.005", b"-1", b"abc", b"inf", b"1e30", b""))


def pop_counts() -> st.SearchStrategy[list[bytes]]:
    return optional(seq(token("count"), integers()))


def scan_options() -> st.SearchStrategy[list[bytes]]:
    return options(
        [
            seq(token("match"), patterns()),
            seq(token("match"), st.sampled_from((b"a*", b"?", b"[ab]*"))),
            seq(token("count"), st.sampled_from((b"1", b"2", b"10", b"0", b"abc"))),
        ],
        max_count=2,
    )


def _f(name: str, *parts: Part, compare: Comparator = exact) -> st.SearchStrategy[Cmd]:
    """``build`` plus fuzzed arguments."""
    return fuzzed(name, build(name, *parts, compare=compare))


GROUP = Group(
    "sorted-set",
    {
        "zadd": _f("zadd", keys(), zadd_options(), score_pairs()),
        "zincrby": _f("zincrby", keys(), scores(), members()),
        "zrem": _f("zrem", keys(), repeat(members(), 1, 3)),
        "zscore": _f("zscore", keys(), members()),
        "zmscore": _f("zmscore", keys(), repeat(members(), 1, 3)),
        "zcard": _f("zcard", keys()),
        "zcount": _f("zcount", keys(), score_bounds(), score_bounds()),
        "zlexcount": _f("zlexcount", keys(), lex_bounds(), lex_bounds()),
        "zrange": _f("zrange", keys(), bounds(), bounds(), zrange_options()),
        "zrangestore": _f("zrangestore", keys(), keys(), bounds(), bounds(), zrange_options()),
        "zrangebyscore": _f(
            "zrangebyscore",
            keys(),
            score_bounds(),
            score_bounds(),
            options([seq(token("withscores")), limit()], max_count=2),
        ),
        "zrevrangebyscore": _f(
            "zrevrangebyscore",
            keys(),
            score_bounds(),
            score_bounds(),
            options([seq(token("withscores")), limit()], max_count=2),
        ),
        "zrangebylex": _f("zrangebylex", keys(), lex_bounds(), lex_bounds(), optional(limit())),
        "zrevrangebylex": _f(
            "zrevrangebylex", keys(), lex_bounds(), lex_bounds(), optional(limit())
        ),
        "zrevrange": _f("zrevrange", keys(), ranks(), ranks(), optional(token("withscores"))),
        "zrank": _f("zrank", keys(), members()),
        "zrevrank": _f("zrevrank", keys(), members()),
        "zremrangebyrank": _f("zremrangebyrank", keys(), ranks(), ranks()),
        "zremrangebyscore": _f("zremrangebyscore", keys(), score_bounds(), score_bounds()),
        "zremrangebylex": _f("zremrangebylex", keys(), lex_bounds(), lex_bounds()),
        "zpopmin": _f("zpopmin", keys(), optional(integers())),
        "zpopmax": _f("zpopmax", keys(), optional(integers())),
        "bzpopmin": build("bzpopmin", repeat(keys(), 1, 2), timeouts()),
        "bzpopmax": build("bzpopmax", repeat(keys(), 1, 2), timeouts()),
        "zmpop": _f(
            "zmpop", numkeys(), repeat(keys(), 1, 3), token("min", "max", "mid"), pop_counts()
        ),
        "bzmpop": build(
            "bzmpop", timeouts(), numkeys(), repeat(keys(), 1, 3), token("min", "max"), pop_counts()
        ),
        "zunion": _f("zunion", numkeys(), repeat(keys(), 1, 3), setop_options(False)),
        "zinter": _f("zinter", numkeys(), repeat(keys(), 1, 3), setop_options(False)),
        "zdiff": _f("zdiff", numkeys(), repeat(keys(), 1, 3), setop_options(False)),
        "zunionstore": _f(
            "zunionstore", keys(), numkeys(), repeat(keys(), 1, 3), setop_options(True)
        ),
        "zinterstore": _f(
            "zinterstore", keys(), numkeys(), repeat(keys(), 1, 3), setop_options(True)
        ),
        "zdiffstore": _f(
            "zdiffstore", keys(), numkeys(), repeat(keys(), 1, 3), setop_options(True)
        ),
        "zintercard": _f(
            "zintercard",
            numkeys(),
            repeat(keys(), 1, 3),
            options([seq(token("limit"), integers())], max_count=2),
        ),
        "zrandmember": _f(
            "zrandmember",
            keys(),
            optional(
                seq(
                    st.integers(-6, 6).map(lambda n: str(n).encode()), optional(token("withscores"))
                )
            ),
            compare=same_shape,
        ),
        "zscan": _f("zscan", keys(), st.sampled_from((b"0", b"1", b"abc", b"-1")), scan_options()),
    },
    fuzz_arity=False,
)
GROUP.snapshot = {b"zset": [(b"ZCARD",), (b"ZUNION", b"1")]}  # type: ignore[attr-defined]
