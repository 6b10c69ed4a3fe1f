"""Differential generators: bitmap commands (``@bitmap``).

Bit offsets stay small (a few hundred bits) apart from a few far and invalid ones that
both servers must refuse, so no example allocates much. BITFIELD mixes every type width
with ``#`` offsets, both signs and the three OVERFLOW modes, where the wrap and
saturation arithmetic of ``bitops.c`` is easiest to get wrong.
"""

from __future__ import annotations

from generators import Group, build, integers, keys, repeat, seq, token
from hypothesis import strategies as st


def bit_offsets() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.integers(0, 200).map(lambda n: str(n).encode()),
        st.sampled_from((b"-1", b"4294967296000", b"abc", b"", b"1.5", b"34359738368")),
    )


def bits() -> st.SearchStrategy[bytes]:
    return st.sampled_from((b"0", b"1", b"2", b"-1", b"abc"))


def ranges() -> st.SearchStrategy[list[bytes]]:
    """BITCOUNT / BITPOS start and end (and the unit), in any combination."""
    index = st.one_of(st.integers(-40, 40).map(lambda n: str(n).encode()), integers())
    unit = token("bit", "byte", "bits")
    return st.one_of(
        st.just([]),
        seq(index),
        seq(index, index),
        seq(index, index, unit),
    )


def field_types() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.integers(1, 64).map(lambda n: b"i%d" % n),
        st.integers(1, 63).map(lambda n: b"u%d" % n),
        st.sampled_from((b"u64", b"i65", b"u0", b"x8", b"I8", b"i")),
    )


def field_offsets() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.integers(0, 100).map(lambda n: str(n).encode()),
        st.integers(0, 6).map(lambda n: b"#%d" % n),
        st.sampled_from((b"-1", b"#-1", b"abc", b"#")),
    )


def field_values() -> st.SearchStrategy[bytes]:
    return st.one_of(
        integers(),
        st.integers(-(2**64), 2**64).map(lambda n: str(n).encode()),
        st.sampled_from((b"127", b"128", b"255", b"256", b"-128", b"-129", b"4611686018427387904")),
    )


def bitfield_ops(readonly: bool = False) -> st.SearchStrategy[list[bytes]]:
    get = seq(token("get"), field_types(), field_offsets())
    if readonly:
        return repeat(get, 1, 3)
    return repeat(
        st.one_of(
            get,
            seq(token("set"), field_types(), field_offsets(), field_values()),
            seq(token("incrby"), field_types(), field_offsets(), field_values()),
            seq(token("overflow"), token("wrap", "sat", "fail", "saturate")),
        ),
        1,
        5,
    )


GROUP = Group(
    "bitmap",
    {
        "setbit": build("setbit", keys(), bit_offsets(), bits()),
        "getbit": build("getbit", keys(), bit_offsets()),
        "bitcount": build("bitcount", keys(), ranges()),
        "bitpos": build("bitpos", keys(), bits(), ranges()),
        "bitop": build(
            "bitop",
            token("and", "or", "xor", "not", "nand"),
            keys(),
            repeat(keys(), 1, 3),
        ),
        "bitfield": build("bitfield", keys(), bitfield_ops()),
        "bitfield_ro": build("bitfield_ro", keys(), bitfield_ops(readonly=True)),
        "set": build("set", keys(), st.binary(max_size=8)),
    },
)
