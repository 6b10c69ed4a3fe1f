"""Geo commands; expected replies read from a real redis-server 7.0.15."""

from __future__ import annotations

from conftest import run

from respcache.commands import Client
from respcache.commands.geo import format_distance
from respcache.errors import CommandError
from respcache.store import geohash


def sicily(client: Client) -> None:
    assert run(client, "GEOADD", "g", "13.361389", "38.115556", "Palermo",
               "15.087269", "37.502669", "Catania") == 2  # fmt: skip


def test_geoadd_replicates_as_zadd(client: Client, propagated: list) -> None:
    sicily(client)
    assert run(client, "ZSCORE", "g", "Palermo") == 3479099956230698.0
    assert propagated[-1][1] == [
        b"zadd",
        b"g",
        b"3479099956230698",
        b"Palermo",
        b"3479447370796909",
        b"Catania",
    ]
    assert run(client, "GEOADD", "g", "200", "10", "x") == CommandError(
        "ERR invalid longitude,latitude pair 200.000000,10.000000"
    )
    assert run(client, "GEOADD", "g", "nx", "xx", "1", "1", "x") == CommandError("ERR syntax error")


def test_pos_hash_dist(client: Client) -> None:
    sicily(client)
    assert run(client, "GEOHASH", "g", "Palermo", "nope") == [b"sqc8b49rny0", None]
    assert run(client, "GEOPOS", "g", "Palermo")[0] == [  # type: ignore[index]
        b"13.36138933897018433",
        b"38.11555639549629859",
    ]
    assert run(client, "GEODIST", "g", "Palermo", "Catania", "km") == b"166.2742"
    assert run(client, "GEODIST", "g", "Palermo", "Catania", "foo") == CommandError(
        "ERR unsupported unit provided. please use M, KM, FT, MI"
    )
    assert run(client, "GEODIST", "nokey", "a", "b") is None


def test_georadius(client: Client) -> None:
    sicily(client)
    assert run(client, "GEORADIUS", "g", 15, 37, 200, "km", "WITHDIST", "WITHCOORD",
               "WITHHASH") == [
        [b"Palermo", b"190.4424", 3479099956230698,
         [b"13.36138933897018433", b"38.11555639549629859"]],
        [b"Catania", b"56.4413", 3479447370796909,
         [b"15.08726745843887329", b"37.50266842333162032"]],
    ]  # fmt: skip
    assert run(client, "GEORADIUS", "g", 15, 37, 200, "km", "ASC") == [b"Catania", b"Palermo"]
    assert run(client, "GEORADIUS", "g", 15, 37, 200, "km", "STOREDIST", "d") == 2
    assert run(client, "ZRANGE", "d", 0, -1) == [b"Catania", b"Palermo"]
    assert run(client, "GEORADIUS", "g", 15, 37, 200, "km", "ANY") == CommandError(
        "ERR the ANY argument requires COUNT argument"
    )
    assert run(client, "GEORADIUS", "g", 15, 37, 200, "km", "STORE", "d", "WITHDIST") == (
        CommandError(
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and "
            "WITHCOORD options"
        )
    )
    assert run(client, "GEORADIUSBYMEMBER", "g", "nope", 1, "km") == CommandError(
        "ERR could not decode requested zset member"
    )


def test_geosearch(client: Client) -> None:
    sicily(client)
    assert run(client, "GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYBOX", 400, 400, "km",
               "DESC") == [b"Catania", b"Palermo"]  # fmt: skip
    assert run(client, "GEOSEARCH", "g", "BYBOX", 400, 400, "km", "ASC") == CommandError(
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH"
    )
    assert run(client, "GEOSEARCHSTORE", "d", "g", "FROMLONLAT", 15, 37, "BYRADIUS", 1, "m") == 0
    assert run(client, "EXISTS", "d") == 0


def test_maths() -> None:
    assert format_distance(0.0) == b"0.0000"
    assert format_distance(0.00004) == b"0.0000"
    assert format_distance(-1.23456) == b"-1.2346"
    assert geohash.estimate_steps(0, 0) == 26
    assert geohash.estimate_steps(100_000, 85) == 5
    score = geohash.lonlat_to_score(-180, -85.05112878)
    assert score == 0
    assert geohash.score_to_lonlat(score) is not None  # step 26: not the zero hash
