"""Redis's geohash maths (``src/geohash.c`` and ``src/geohash_helper.c`` of Redis 7.0.15).

A position is stored as the score of a sorted set member: the 52-bit interleaved geohash
(26 steps of latitude and longitude bits, latitude limited to +-85.05112878 as in
EPSG:3785). The search area of a radius or box query is the geohash box of the centre
plus its eight neighbours at a step estimated from the radius, exactly as Redis computes
it, so the same candidates are examined in the same order and the results match,
including near the poles and across the antimeridian. Distances use Redis's haversine
with its Earth radius. Pure functions only; the commands are in
:mod:`respcache.commands.geo`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

STEP_MAX: Final = 26
LAT_MIN: Final = -85.05112878
LAT_MAX: Final = 85.05112878
LONG_MIN: Final = -180.0
LONG_MAX: Final = 180.0
EARTH_RADIUS_IN_METERS: Final = 6372797.560856
MERCATOR_MAX: Final = 20037726.37
D_R: Final = math.pi / 180.0

_M64: Final = (1 << 64) - 1


def _interleave64(xlo: int, ylo: int) -> int:
    b = (0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF,
         0x0000FFFF0000FFFF)  # fmt: skip
    x, y = xlo, ylo
    for shift, mask in ((16, b[4]), (8, b[3]), (4, b[2]), (2, b[1]), (1, b[0])):
        x = (x | (x << shift)) & mask
        y = (y | (y << shift)) & mask
    return x | (y << 1)


def _deinterleave64(bits: int) -> tuple[int, int]:
    """(latitude part, longitude part)."""
    b = (0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF,
         0x0000FFFF0000FFFF, 0x00000000FFFFFFFF)  # fmt: skip
    x = bits
    y = bits >> 1
    for shift, mask in ((0, b[0]), (1, b[1]), (2, b[2]), (4, b[3]), (8, b[4]), (16, b[5])):
        x = (x | (x >> shift)) & mask
        y = (y | (y >> shift)) & mask
    return x, y


@dataclass(frozen=True, slots=True)
class Bits:
    bits: int
    step: int

    @property
    def zero(self) -> bool:
        return not self.bits and not self.step


ZERO: Final = Bits(0, 0)


@dataclass(frozen=True, slots=True)
class Area:
    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float


def encode(
    longitude: float,
    latitude: float,
    step: int = STEP_MAX,
    lon_range: tuple[float, float] = (LONG_MIN, LONG_MAX),
    lat_range: tuple[float, float] = (LAT_MIN, LAT_MAX),
) -> Bits | None:
    """``geohashEncode``: None outside the supported ranges."""
    if (
        longitude > LONG_MAX
        or longitude < LONG_MIN
        or latitude > LAT_MAX
        or latitude < LAT_MIN
        or not lat_range[0] <= latitude <= lat_range[1]
        or not lon_range[0] <= longitude <= lon_range[1]
    ):
        return None
    lat_offset = (latitude - lat_range[0]) / (lat_range[1] - lat_range[0])
    long_offset = (longitude - lon_range[0]) / (lon_range[1] - lon_range[0])
    lat_offset *= 1 << step
    long_offset *= 1 << step
    return Bits(_interleave64(int(lat_offset) & 0xFFFFFFFF, int(long_offset) & 0xFFFFFFFF), step)


def decode(hash_: Bits) -> Area | None:
    if hash_.zero:
        return None
    ilato, ilono = _deinterleave64(hash_.bits)
    scale = 1 << hash_.step
    lat_scale = LAT_MAX - LAT_MIN
    long_scale = LONG_MAX - LONG_MIN
    return Area(
        LONG_MIN + (ilono * 1.0 / scale) * long_scale,
        LONG_MIN + ((ilono + 1) * 1.0 / scale) * long_scale,
        LAT_MIN + (ilato * 1.0 / scale) * lat_scale,
        LAT_MIN + ((ilato + 1) * 1.0 / scale) * lat_scale,
    )


def score_to_lonlat(score: float) -> tuple[float, float] | None:
    """``decodeGeohash``: the centre of the 52-bit box a score names."""
    area = decode(Bits(int(score) & _M64, STEP_MAX))
    if area is None:
        return None
    lon = (area.lon_min + area.lon_max) / 2
    lon = min(max(lon, LONG_MIN), LONG_MAX)
    lat = (area.lat_min + area.lat_max) / 2
    lat = min(max(lat, LAT_MIN), LAT_MAX)
    return lon, lat


def align52(hash_: Bits) -> int:
    return (hash_.bits << (52 - hash_.step * 2)) & _M64


def lonlat_to_score(longitude: float, latitude: float) -> int:
    hash_ = encode(longitude, latitude)
    assert hash_ is not None
    return align52(hash_)


def _move_x(hash_: Bits, d: int) -> Bits:
    if d == 0:
        return hash_
    x = hash_.bits & 0xAAAAAAAAAAAAAAAA
    y = hash_.bits & 0x5555555555555555
    zz = 0x5555555555555555 >> (64 - hash_.step * 2)
    if d > 0:
        x = x + (zz + 1)
    else:
        x = x | zz
        x = x - (zz + 1)
    x &= 0xAAAAAAAAAAAAAAAA >> (64 - hash_.step * 2)
    return Bits((x | y) & _M64, hash_.step)


def _move_y(hash_: Bits, d: int) -> Bits:
    if d == 0:
        return hash_
    x = hash_.bits & 0xAAAAAAAAAAAAAAAA
    y = hash_.bits & 0x5555555555555555
    zz = 0xAAAAAAAAAAAAAAAA >> (64 - hash_.step * 2)
    if d > 0:
        y = y + (zz + 1)
    else:
        y = y | zz
        y = (y - (zz + 1)) & _M64
    y &= 0x5555555555555555 >> (64 - hash_.step * 2)
    return Bits((x | y) & _M64, hash_.step)


def _neighbour(hash_: Bits, dx: int, dy: int) -> Bits:
    return _move_y(_move_x(hash_, dx), dy)


def estimate_steps(range_meters: float, lat: float) -> int:
    """``geohashEstimateStepsByRadius``."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


@dataclass(frozen=True, slots=True)
class Shape:
    """A search: centre, circle (radius) or box (width, height), in ``conversion`` units."""

    lon: float
    lat: float
    conversion: float
    radius: float = 0.0
    width: float = 0.0
    height: float = 0.0
    box: bool = False

    def bounds(self) -> tuple[float, float, float, float]:
        """``geohashBoundingBox``: min lon, min lat, max lon, max lat."""
        height = self.conversion * (self.height / 2 if self.box else self.radius)
        width = self.conversion * (self.width / 2 if self.box else self.radius)
        lat_delta = (height / EARTH_RADIUS_IN_METERS) / D_R
        top = (width / EARTH_RADIUS_IN_METERS / math.cos((self.lat + lat_delta) * D_R)) / D_R
        bottom = (width / EARTH_RADIUS_IN_METERS / math.cos((self.lat - lat_delta) * D_R)) / D_R
        delta = bottom if self.lat < 0 else top
        return self.lon - delta, self.lat - lat_delta, self.lon + delta, self.lat + lat_delta

    def contains(self, lon: float, lat: float) -> float | None:
        """``geoWithinShape`` for a decoded point: its distance (meters) or None."""
        if not self.box:
            dist = distance(self.lon, self.lat, lon, lat)
            return None if dist > self.radius * self.conversion else dist
        if lat_distance(lat, self.lat) > self.height * self.conversion / 2:
            return None
        if distance(lon, lat, self.lon, lat) > self.width * self.conversion / 2:
            return None
        return distance(self.lon, self.lat, lon, lat)


def search_boxes(shape: Shape) -> list[Bits]:
    """``geohashCalculateAreasByShapeWGS84`` + the order of ``membersOfAllNeighbors``:
    centre, N, S, E, W, NE, NW, SE, SW (ZERO for an excluded box)."""
    min_lon, min_lat, max_lon, max_lat = shape.bounds()
    if shape.box:
        half_w, half_h = shape.width / 2, shape.height / 2
        radius = math.sqrt(half_w * half_w + half_h * half_h)
    else:
        radius = shape.radius
    radius *= shape.conversion
    steps = estimate_steps(radius, shape.lat)

    def around(step: int) -> tuple[Bits, list[Bits]]:
        centre = encode(shape.lon, shape.lat, step)
        assert centre is not None
        moves = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))
        return centre, [_neighbour(centre, dx, dy) for dx, dy in moves]

    centre, around_boxes = around(steps)
    north, south, east, west = (decode(b) for b in around_boxes[:4])
    assert north is not None and south is not None and east is not None and west is not None
    if (
        north.lat_max < max_lat
        or south.lat_min > min_lat
        or east.lon_max < max_lon
        or west.lon_min > min_lon
    ) and steps > 1:
        steps -= 1
        centre, around_boxes = around(steps)
    n, s, e, w, ne, nw, se, sw = around_boxes
    area = decode(centre)
    assert area is not None
    if steps >= 2:
        if area.lat_min < min_lat:
            s = sw = se = ZERO
        if area.lat_max > max_lat:
            n = ne = nw = ZERO
        if area.lon_min < min_lon:
            w = sw = nw = ZERO
        if area.lon_max > max_lon:
            e = se = ne = ZERO
    return [centre, n, s, e, w, ne, nw, se, sw]


def box_scores(hash_: Bits) -> tuple[int, int]:
    """``scoresOfGeoHashBox``: min (inclusive), max (exclusive) score of a box."""
    return align52(hash_), align52(Bits(hash_.bits + 1, hash_.step))


def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS_IN_METERS * abs(lat2 * D_R - lat1 * D_R)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """``geohashGetDistance``: haversine, in meters."""
    lon1r = lon1 * D_R
    lon2r = lon2 * D_R
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = lat1 * D_R
    lat2r = lat2 * D_R
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_IN_METERS * math.asin(math.sqrt(a))


GEOALPHABET: Final = b"0123456789bcdefghjkmnpqrstuvwxyz"


def standard_geohash(lon: float, lat: float) -> bytes:
    """The 11-character standard geohash (latitude range +-90) GEOHASH prints."""
    hash_ = encode(lon, lat, 26, (-180.0, 180.0), (-90.0, 90.0))
    bits = hash_.bits if hash_ is not None else 0
    out = bytearray()
    for i in range(11):
        idx = 0 if i == 10 else (bits >> (52 - (i + 1) * 5)) & 0x1F
        out.append(GEOALPHABET[idx])
    return bytes(out)
