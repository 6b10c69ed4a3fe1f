"""Differential generators: set commands (``@set``), and helpers the container groups share.

Members come from a small alphabet mixing integers (Redis keeps all-integer sets as
sorted intsets) and strings. Where Redis's order is unspecified (a hashtable set)
replies are compared as multisets; random commands (SRANDMEMBER) by shape only. SPOP
is only sent in forms whose result does not depend on chance (a count of 0, a count
larger than any set here, or an invalid count): a random pop would make the two
datasets diverge. The end-of-example snapshot reads a set as ``ZUNION 1 key``, members
sorted bytewise, so that it can be compared exactly.
"""

from __future__ import annotations

from generators import (
    COMPARATORS,
    Cmd,
    Group,
    any_args,
    build,
    exact,
    keys,
    name_case,
    options,
    patterns,
    repeat,
    seq,
    token,
    unordered,
)
from hypothesis import strategies as st
from support import Reply

MEMBERS: tuple[bytes, ...] = (b"1", b"2", b"10", b"-3", b"007", b"a", b"b", b"c")


def members() -> st.SearchStrategy[bytes]:
    return st.sampled_from(MEMBERS)


# --- helpers shared by gen_hash, gen_set and gen_zset ------------------------------------------


def fuzzed(name: str, strategy: st.SearchStrategy[Cmd]) -> st.SearchStrategy[Cmd]:
    """The command as generated, or with arbitrary arguments (arity and syntax errors).

    The container groups fuzz per command (``fuzz_arity=False`` on the group) so that
    random and blocking commands can be left out of it.
    """
    compare = COMPARATORS.get(name, exact)
    fuzz = st.tuples(name_case(name), any_args()).map(lambda t: Cmd((t[0], *t[1]), compare))
    return st.one_of(strategy, fuzz)


def _shape(reply: Reply) -> object:
    if reply.kind in ("*", "~", "%", ">") and reply.value is not None:
        return (reply.kind, [_shape(item) for item in reply.value])
    return (reply.kind, reply.value is None)


def same_shape(redis: Reply, ours: Reply) -> bool:
    """Random replies: errors exactly; otherwise the same kinds and lengths, nil or not."""
    if redis.is_error or ours.is_error:
        return redis == ours
    return _shape(redis) == _shape(ours)


def _pairs(items: list[Reply]) -> list[tuple[Reply, ...]]:
    return sorted((tuple(items[i : i + 2]) for i in range(0, len(items), 2)), key=repr)


def scan_reply(pairs: bool) -> object:
    """SSCAN over a hashtable: the same elements in any order once both cursors are 0
    (Redis's cursor and order come from its hash table), else only the reply's shape."""

    def compare(redis: Reply, ours: Reply) -> bool:
        if redis.is_error or ours.is_error or redis.kind != "*" or ours.kind != "*":
            return redis == ours
        if len(redis.value) != 2 or len(ours.value) != 2:
            return redis == ours
        if redis.value[0] == ours.value[0] == Reply("$", b"0"):
            a, b = redis.value[1].value, ours.value[1].value
            if pairs:
                return _pairs(a) == _pairs(b)
            return unordered(redis.value[1], ours.value[1])
        return ours.value[1].kind == "*"

    compare.__name__ = "scan_reply"
    return compare


# --- the set group -----------------------------------------------------------------------------


def counts() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.integers(-10, 10).map(lambda n: str(n).encode()),
        st.sampled_from((b"abc", b"9223372036854775807", b"-9223372036854775808", b"1.5")),
    )


def spop_counts() -> st.SearchStrategy[bytes]:
    """Counts whose result is not random: 0, at least the alphabet's size, or invalid."""
    return st.sampled_from((b"0", b"8", b"9", b"100", b"-1", b"abc", b"", b"9223372036854775808"))


def numkeys() -> st.SearchStrategy[bytes]:
    return st.sampled_from((b"1", b"2", b"3", b"0", b"-1", b"abc", b"5"))


def sintercard_options() -> st.SearchStrategy[list[bytes]]:
    return options(
        [seq(token("limit"), st.sampled_from((b"0", b"1", b"2", b"-1", b"abc")))], max_count=2
    )


def scan_options() -> st.SearchStrategy[list[bytes]]:
    return options(
        [
            seq(token("match"), patterns()),
            seq(token("match"), st.sampled_from((b"1*", b"?", b"[ab]", b"*0*"))),
            seq(token("count"), st.sampled_from((b"1", b"2", b"10", b"0", b"abc"))),
        ],
        max_count=2,
    )


_scan_compare = scan_reply(pairs=False)

GROUP = Group(
    "set",
    {
        "sadd": fuzzed("sadd", build("sadd", keys(), repeat(members(), 1, 4))),
        "srem": fuzzed("srem", build("srem", keys(), repeat(members(), 1, 3))),
        "smembers": fuzzed("smembers", build("smembers", keys(), compare=unordered)),
        "sismember": fuzzed("sismember", build("sismember", keys(), members())),
        "smismember": fuzzed("smismember", build("smismember", keys(), repeat(members(), 1, 4))),
        "scard": fuzzed("scard", build("scard", keys())),
        "spop": build("spop", keys(), spop_counts(), compare=unordered),
        "srandmember": fuzzed(
            "srandmember",
            build(
                "srandmember",
                keys(),
                st.one_of(st.just([]), counts().map(lambda c: [c])),
                compare=same_shape,
            ),
        ),
        "smove": fuzzed("smove", build("smove", keys(), keys(), members())),
        "sinter": fuzzed("sinter", build("sinter", repeat(keys(), 1, 3), compare=unordered)),
        "sunion": fuzzed("sunion", build("sunion", repeat(keys(), 1, 3), compare=unordered)),
        "sdiff": fuzzed("sdiff", build("sdiff", repeat(keys(), 1, 3), compare=unordered)),
        "sintercard": fuzzed(
            "sintercard", build("sintercard", numkeys(), repeat(keys(), 1, 3), sintercard_options())
        ),
        "sinterstore": fuzzed("sinterstore", build("sinterstore", keys(), repeat(keys(), 1, 3))),
        "sunionstore": fuzzed("sunionstore", build("sunionstore", keys(), repeat(keys(), 1, 3))),
        "sdiffstore": fuzzed("sdiffstore", build("sdiffstore", keys(), repeat(keys(), 1, 3))),
        "sscan": build(
            "sscan",
            keys(),
            # Only cursor 0 (or invalid ones): a made-up cursor into a hashtable set
            # resumes at a bucket in Redis and starts over in respcache.
            st.sampled_from((b"0", b"", b"abc", b"1.5", b"+")),
            scan_options(),
            compare=_scan_compare,  # type: ignore[arg-type]
        ),
    },
    fuzz_arity=False,
)
GROUP.snapshot = {b"set": [(b"SCARD",), (b"ZUNION", b"1")]}  # type: ignore[attr-defined]
