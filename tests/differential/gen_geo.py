"""Differential generators: geo commands (``@geo``).

Coordinates cluster where Redis's search-area logic has its edge cases: near the poles
(up to the +-85.05112878 limit and beyond it), on both sides of the antimeridian, at the
origin, plus a few out of range or not numbers. Radii and boxes go from zero to
continental, in every unit, so the step estimation and the neighbour exclusion are
exercised; replies are compared exactly (distances, hashes, coordinates, order).
"""

from __future__ import annotations

from generators import Group, build, keys, optional, options, repeat, seq, token
from hypothesis import strategies as st

MEMBERS = (b"a", b"b", b"c", b"d", b"e", b"f")


def members() -> st.SearchStrategy[bytes]:
    return st.sampled_from(MEMBERS)


def _num(value: float) -> bytes:
    return repr(value).encode()


def longitudes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.floats(-180, 180).map(_num),
        st.floats(175, 180).map(_num),
        st.floats(-180, -175).map(_num),
        st.sampled_from((b"180", b"-180", b"0", b"180.0001", b"abc", b"inf", b"179.9999")),
    )


def latitudes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.floats(-85.05112878, 85.05112878).map(_num),
        st.floats(80, 85.05112878).map(_num),
        st.floats(-85.05112878, -80).map(_num),
        st.sampled_from((b"85.05112878", b"-85.05112878", b"85.06", b"0", b"-0", b"nan")),
    )


def radii() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from((b"0", b"1", b"100", b"500", b"2000", b"5000", b"20000", b"-1", b"x")),
        st.floats(0, 3000, allow_nan=False).map(_num),
    )


def units() -> st.SearchStrategy[bytes]:
    return token("m", "km", "mi", "ft", "parsec")


def counts() -> st.SearchStrategy[list[bytes]]:
    return seq(token("count"), st.sampled_from((b"1", b"2", b"3", b"0", b"-1", b"x")))


def radius_options(store: bool) -> st.SearchStrategy[list[bytes]]:
    choices = [
        seq(token("withdist")),
        seq(token("withhash")),
        seq(token("withcoord")),
        seq(token("asc", "desc")),
        counts(),
        seq(token("any")),
    ]
    if store:
        choices.append(seq(token("store", "storedist"), keys()))
    return options(choices, max_count=4)


def search_options(store: bool) -> st.SearchStrategy[list[bytes]]:
    choices = [
        seq(token("frommember"), members()),
        seq(token("fromlonlat"), longitudes(), latitudes()),
        seq(token("byradius"), radii(), units()),
        seq(token("bybox"), radii(), radii(), units()),
        seq(token("asc", "desc")),
        counts(),
        seq(token("any")),
    ]
    if store:
        choices.append(seq(token("storedist")))
    else:
        choices += [seq(token("withdist")), seq(token("withhash")), seq(token("withcoord"))]
    return st.one_of(
        options(choices, max_count=3),
        st.tuples(
            st.one_of(
                seq(token("frommember"), members()),
                seq(token("fromlonlat"), longitudes(), latitudes()),
            ),
            st.one_of(
                seq(token("byradius"), radii(), units()),
                seq(token("bybox"), radii(), radii(), units()),
            ),
            options(choices, max_count=3),
        ).map(lambda t: [*t[0], *t[1], *t[2]]),
    )


GROUP = Group(
    "geo",
    {
        "geoadd": build(
            "geoadd",
            keys(),
            options([seq(token("nx")), seq(token("xx")), seq(token("ch"))], max_count=2),
            repeat(seq(longitudes(), latitudes(), members()), 1, 4),
        ),
        "geodist": build("geodist", keys(), members(), members(), optional(units())),
        "geohash": build("geohash", keys(), repeat(members(), 0, 3)),
        "geopos": build("geopos", keys(), repeat(members(), 0, 3)),
        "georadius": build(
            "georadius", keys(), longitudes(), latitudes(), radii(), units(), radius_options(True)
        ),
        "georadius_ro": build(
            "georadius_ro",
            keys(),
            longitudes(),
            latitudes(),
            radii(),
            units(),
            radius_options(False),
        ),
        "georadiusbymember": build(
            "georadiusbymember", keys(), members(), radii(), units(), radius_options(True)
        ),
        "georadiusbymember_ro": build(
            "georadiusbymember_ro", keys(), members(), radii(), units(), radius_options(False)
        ),
        "geosearch": build("geosearch", keys(), search_options(False)),
        "geosearchstore": build("geosearchstore", keys(), keys(), search_options(True)),
    },
)
