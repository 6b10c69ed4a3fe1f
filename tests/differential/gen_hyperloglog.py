"""Differential generators: HyperLogLog commands (``@hyperloglog``).

Both servers get the same members: a drawn seed and size expand deterministically into a
list of members (up to a few thousand, so HLLs cross ``hll-sparse-max-bytes`` and turn
dense), and the snapshot compares the HLL's bytes with GET, so the sparse opcodes, the
dense registers and the cached cardinality must all be Redis's. SET and SETRANGE make
strings that only look like HLLs (a header, corrupt opcodes) for the INVALIDOBJ and
WRONGTYPE paths.
"""

from __future__ import annotations

import random

from generators import Group, build, keys, repeat, seq, token
from hypothesis import strategies as st


def _expand(seed_size: tuple[int, int]) -> list[bytes]:
    seed, size = seed_size
    rng = random.Random(seed)
    return [b"m%d" % rng.randrange(50_000) for _ in range(size)]


def members() -> st.SearchStrategy[list[bytes]]:
    """A list of members: a few from a small alphabet, or a seeded batch of up to 2500."""
    small = st.lists(st.sampled_from((b"a", b"b", b"c", b"", b"\x00", b"foo")), max_size=4)
    batch = st.tuples(st.integers(0, 2**32), st.sampled_from((1, 10, 100, 500, 1200, 2500))).map(
        _expand
    )
    return st.one_of(small, batch)


def fake_hll() -> st.SearchStrategy[bytes]:
    """Strings with an HLL header and broken bodies, or none."""
    header = b"HYLL\x01\x00\x00\x00" + bytes(8)
    return st.sampled_from(
        (
            header,
            header + b"\x7f\xff",
            header + b"\x7f\xff\x7f\xff\x7f",
            header + b"\x80" * 20,
            b"HYLL\x00\x00\x00\x00" + bytes(8) + b"\x00" * 10,
            b"HYLL\x02" + bytes(11),
            b"HYL",
            b"not an hll at all",
        )
    )


GROUP = Group(
    "hyperloglog",
    {
        "pfadd": build("pfadd", keys(), members()),
        "pfcount": build("pfcount", repeat(keys(), 1, 3)),
        "pfmerge": build("pfmerge", keys(), repeat(keys(), 0, 3)),
        "pfdebug": build(
            "pfdebug", token("encoding", "decode", "todense", "getreg", "foo"), keys()
        ),
        "set": build("set", keys(), fake_hll()),
        "setrange": build(
            "setrange",
            keys(),
            st.sampled_from((b"16", b"17", b"100")),
            seq(st.sampled_from((b"\x40", b"\xff", b"\x00\x01"))),
        ),
    },
    snapshot={b"string": [(b"GET",)]},
)
