"""Geo commands (Redis 7.0's ``geo`` group), following ``src/geo.c`` of Redis 7.0.15.

Positions are sorted set members whose score is the 52-bit geohash
(:mod:`respcache.store.geohash`). GEOADD is ZADD with computed scores and replicates as
that ZADD, as Redis does. Searches examine the nine geohash boxes in Redis's order and
sort by distance with a stable sort (glibc's ``qsort`` is a merge sort), so equal
distances keep the order in which they were found. Distances are printed with four
decimals (``fixedpoint_d2string``), coordinates as ``%.17Lf`` without trailing zeros
(``addReplyHumanLongDouble``: a bulk string in RESP2, a double in RESP3).
"""

from __future__ import annotations

from typing import Final

from respcache.commands.args import parse_int
from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.commands.zsets import parse_score, read_zset, store_zset, zadd
from respcache.errors import SYNTAX, CommandError
from respcache.protocol.types import NULL_ARRAY, Raw, Reply
from respcache.store import geohash
from respcache.store.zset import ZSetValue

UNITS: Final = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
BAD_MEMBER: Final = "ERR could not decode requested zset member"


def _lonlat(lon_arg: bytes, lat_arg: bytes) -> tuple[float, float]:
    """``extractLongLatOrReply``."""
    lon = parse_score(lon_arg)
    lat = parse_score(lat_arg)
    if (
        lon < geohash.LONG_MIN
        or lon > geohash.LONG_MAX
        or lat < geohash.LAT_MIN
        or lat > geohash.LAT_MAX
    ):
        raise CommandError(f"ERR invalid longitude,latitude pair {_c_f(lon)},{_c_f(lat)}")
    return lon, lat


def _c_f(value: float) -> str:
    """C's ``%f``."""
    if value != value:
        return "-nan" if str(value).startswith("-") else "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return f"{value:f}"


def _unit(arg: bytes) -> float:
    factor = UNITS.get(arg.lower())
    if factor is None:
        raise CommandError("ERR unsupported unit provided. please use M, KM, FT, MI")
    return factor


def _distance_arg(value: bytes, unit: bytes) -> tuple[float, float]:
    """``extractDistanceOrReply``: (radius, conversion)."""
    radius = parse_score(value, "ERR need numeric radius")
    if radius < 0:
        raise CommandError("ERR radius cannot be negative")
    return radius, _unit(unit)


def _box_arg(width: bytes, height: bytes, unit: bytes) -> tuple[float, float, float]:
    w = parse_score(width, "ERR need numeric width")
    h = parse_score(height, "ERR need numeric height")
    if h < 0 or w < 0:
        raise CommandError("ERR height or width cannot be negative")
    return w, h, _unit(unit)


def format_distance(value: float) -> bytes:
    """``fixedpoint_d2string(d, 4)``."""
    if value == 0:
        return b"0.0000"
    scaled = round(value * 10000.0)
    sign = "-" if scaled < 0 else ""
    scaled = abs(scaled)
    return f"{sign}{scaled // 10000}.{scaled % 10000:04d}".encode()


def human_double(c: Client, value: float) -> Reply:
    """``addReplyHumanLongDouble``."""
    text = f"{value:.17f}".rstrip("0").rstrip(".").encode()
    if c.resp == 3:
        return Raw(b"," + text + b"\r\n")
    return text


def _member_lonlat(zset: ZSetValue, member: bytes) -> tuple[float, float]:
    score = zset.get(member)
    point = None if score is None else geohash.score_to_lonlat(score)
    if point is None:
        raise CommandError(BAD_MEMBER)
    return point


# --- GEOADD --------------------------------------------------------------------------


@command(
    "geoadd",
    arity=-5,
    flags="write denyoom",
    keys=(1, 1, 1),
    group="geo",
    summary="Add one or more geospatial items in the geospatial index represented using a "
    "sorted set",
    since="3.2.0",
    complexity="O(log(N)) for each item added, where N is the number of elements in the "
    "sorted set.",
    acl="@write @geo @slow",
)
def geoadd(c: Client, argv: list[bytes]) -> Reply:
    nx = xx = False
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt != b"ch":
            break
        i += 1
    if (len(argv) - i) % 3 or (xx and nx):
        raise CommandError(SYNTAX)
    zadd_argv = [b"zadd", *argv[1:i]]
    for j in range(i, len(argv), 3):
        lon, lat = _lonlat(argv[j], argv[j + 1])
        zadd_argv += [b"%d" % geohash.lonlat_to_score(lon, lat), argv[j + 2]]
    reply = zadd(c, zadd_argv)
    c.propagate_as = [zadd_argv]
    return reply


# --- GEOPOS / GEOHASH / GEODIST ------------------------------------------------------


@command(
    "geopos",
    arity=-2,
    flags="readonly",
    keys=(1, 1, 1),
    group="geo",
    summary="Returns longitude and latitude of members of a geospatial index",
    since="3.2.0",
    complexity="O(N) where N is the number of members requested.",
    acl="@read @geo @slow",
)
def geopos(c: Client, argv: list[bytes]) -> Reply:
    zset = read_zset(c, argv[1])
    out: list[Reply] = []
    for member in argv[2:]:
        score = None if zset is None else zset.get(member)
        point = None if score is None else geohash.score_to_lonlat(score)
        if point is None:
            out.append(NULL_ARRAY)
        else:
            out.append([human_double(c, point[0]), human_double(c, point[1])])
    return out


@command(
    "geohash",
    arity=-2,
    flags="readonly",
    keys=(1, 1, 1),
    group="geo",
    summary="Returns members of a geospatial index as standard geohash strings",
    since="3.2.0",
    complexity="O(log(N)) for each member requested, where N is the number of elements in "
    "the sorted set.",
    acl="@read @geo @slow",
)
def geohash_(c: Client, argv: list[bytes]) -> Reply:
    zset = read_zset(c, argv[1])
    out: list[Reply] = []
    for member in argv[2:]:
        score = None if zset is None else zset.get(member)
        point = None if score is None else geohash.score_to_lonlat(score)
        out.append(None if point is None else geohash.standard_geohash(*point))
    return out


@command(
    "geodist",
    arity=-4,
    flags="readonly",
    keys=(1, 1, 1),
    group="geo",
    summary="Returns the distance between two members of a geospatial index",
    since="3.2.0",
    complexity="O(log(N))",
    acl="@read @geo @slow",
)
def geodist(c: Client, argv: list[bytes]) -> Reply:
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = _unit(argv[4])
    elif len(argv) > 5:
        raise CommandError(SYNTAX)
    zset = read_zset(c, argv[1])
    if zset is None:
        return None
    s1 = zset.get(argv[2])
    s2 = zset.get(argv[3])
    if s1 is None or s2 is None:
        return None
    p1 = geohash.score_to_lonlat(s1)
    p2 = geohash.score_to_lonlat(s2)
    if p1 is None or p2 is None:
        return None
    return format_distance(geohash.distance(p1[0], p1[1], p2[0], p2[1]) / to_meter)


# --- searches ------------------------------------------------------------------------

_COORDS, _MEMBER, _NOSTORE, _SEARCH, _SEARCHSTORE = (1 << i for i in range(5))


def _points(
    zset: ZSetValue, shape: geohash.Shape, limit: int
) -> list[tuple[float, int, bytes, float, float]]:
    """``membersOfAllNeighbors``: (distance, score, member, lon, lat) in the order found."""
    found: list[tuple[float, int, bytes, float, float]] = []
    boxes = geohash.search_boxes(shape)
    last = 0
    for i, box in enumerate(boxes):
        if box.zero:
            continue
        if last and box == boxes[last]:
            continue
        if found and limit and len(found) >= limit:
            break
        low, high = geohash.box_scores(box)
        start = zset.index_ge(float(low))
        stop = zset.index_ge(float(high))
        for score, member in zset.iter_span(start, stop):
            point = geohash.score_to_lonlat(score)
            if point is not None:
                dist = shape.contains(point[0], point[1])
                if dist is not None:
                    found.append((dist, int(score), member, point[0], point[1]))
            if found and limit and len(found) >= limit:
                break
        last = i
    return found


def _georadius(c: Client, argv: list[bytes], src_index: int, flags: int) -> Reply:
    name = argv[0].decode("utf-8", "surrogateescape")
    zset = read_zset(c, argv[src_index])
    center: tuple[float, float] | None = None
    radius = width = height = 0.0
    conversion = 1.0
    box = False
    store: bytes | None = None
    storedist = False
    if flags & _COORDS:
        base = 6
        center = _lonlat(argv[2], argv[3])
        radius, conversion = _distance_arg(argv[4], argv[5])
    elif flags & _MEMBER:
        base = 5
        if zset is not None:
            center = _member_lonlat(zset, argv[2])
            radius, conversion = _distance_arg(argv[3], argv[4])
    else:
        base = 2
        if flags & _SEARCHSTORE:
            base = 3
            store = argv[1]
    withdist = withhash = withcoord = any_ = False
    frommember = fromloc = byradius = bybox = False
    sort = 0  # 1 asc, 2 desc
    count = 0
    remaining = len(argv) - base
    i = 0
    while i < remaining:
        arg = argv[base + i].lower()
        nxt = base + i + 1
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoord = True
        elif arg == b"any":
            any_ = True
        elif arg == b"asc":
            sort = 1
        elif arg == b"desc":
            sort = 2
        elif arg == b"count" and i + 1 < remaining:
            count = parse_int(argv[nxt])
            if count <= 0:
                raise CommandError("ERR COUNT must be > 0")
            i += 1
        elif (
            arg in (b"store", b"storedist")
            and i + 1 < remaining
            and not flags & (_NOSTORE | _SEARCH)
        ):
            store = argv[nxt]
            storedist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and flags & _SEARCH and flags & _SEARCHSTORE:
            storedist = True
        elif arg == b"frommember" and i + 1 < remaining and flags & _SEARCH and not fromloc:
            if zset is not None:
                center = _member_lonlat(zset, argv[nxt])
            frommember = True
            i += 1
        elif arg == b"fromlonlat" and i + 2 < remaining and flags & _SEARCH and not frommember:
            center = _lonlat(argv[nxt], argv[nxt + 1])
            fromloc = True
            i += 2
        elif arg == b"byradius" and i + 2 < remaining and flags & _SEARCH and not bybox:
            radius, conversion = _distance_arg(argv[nxt], argv[nxt + 1])
            box = False
            byradius = True
            i += 2
        elif arg == b"bybox" and i + 3 < remaining and flags & _SEARCH and not byradius:
            width, height, conversion = _box_arg(argv[nxt], argv[nxt + 1], argv[nxt + 2])
            box = True
            bybox = True
            i += 3
        else:
            raise CommandError(SYNTAX)
        i += 1
    if store is not None and (withdist or withhash or withcoord):
        what = "GEOSEARCHSTORE" if flags & _SEARCHSTORE else "STORE option in GEORADIUS"
        raise CommandError(
            f"ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )
    if flags & _SEARCH and not (frommember or fromloc):
        raise CommandError(
            f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )
    if flags & _SEARCH and not (byradius or bybox):
        raise CommandError(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")
    if any_ and not count:
        raise CommandError("ERR the ANY argument requires COUNT argument")
    db = c.db
    if zset is None:
        if store is not None:
            if db.delete(store):
                c.modified(store, b"del", "g")
            return 0
        return []
    assert center is not None
    if count and not sort and not any_:
        sort = 1
    shape = geohash.Shape(center[0], center[1], conversion, radius, width, height, box)
    found = _points(zset, shape, count if any_ else 0)
    if not found and store is None:
        return []
    if sort:
        found.sort(key=lambda p: p[0], reverse=sort == 2)
    if count:
        found = found[:count]
    if store is None:
        out: list[Reply] = []
        for dist, score, member, lon, lat in found:
            if not (withdist or withhash or withcoord):
                out.append(member)
                continue
            item: list[Reply] = [member]
            if withdist:
                item.append(format_distance(dist / conversion))
            if withhash:
                item.append(score)
            if withcoord:
                item.append([human_double(c, lon), human_double(c, lat)])
            out.append(item)
        return out
    scores = {
        member: (dist / conversion if storedist else float(score))
        for dist, score, member, _x, _y in found
    }
    result = ZSetValue.from_scores(scores)
    event = b"geosearchstore" if flags & _SEARCH else b"georadiusstore"
    return store_zset(c, store, result, event)


_RADIUS_COMPLEXITY: Final = (
    "O(N+log(M)) where N is the number of elements inside the bounding box of the circular "
    "area delimited by center and radius and M is the number of items inside the index."
)


@command(
    "georadius",
    arity=-6,
    flags="write denyoom movablekeys",
    keys=(1, 1, 1),
    group="geo",
    summary="Query a sorted set representing a geospatial index to fetch members matching a "
    "given maximum distance from a point",
    since="3.2.0",
    complexity=_RADIUS_COMPLEXITY,
    acl="@write @geo @slow",
)
def georadius(c: Client, argv: list[bytes]) -> Reply:
    return _georadius(c, argv, 1, _COORDS)


@command(
    "georadiusbymember",
    arity=-5,
    flags="write denyoom movablekeys",
    keys=(1, 1, 1),
    group="geo",
    summary="Query a sorted set representing a geospatial index to fetch members matching a "
    "given maximum distance from a member",
    since="3.2.0",
    complexity=_RADIUS_COMPLEXITY,
    acl="@write @geo @slow",
)
def georadiusbymember(c: Client, argv: list[bytes]) -> Reply:
    return _georadius(c, argv, 1, _MEMBER)


@command(
    "georadius_ro",
    arity=-6,
    flags="readonly",
    keys=(1, 1, 1),
    group="geo",
    summary="A read-only variant for GEORADIUS",
    since="3.2.10",
    complexity=_RADIUS_COMPLEXITY,
    acl="@read @geo @slow",
)
def georadius_ro(c: Client, argv: list[bytes]) -> Reply:
    return _georadius(c, argv, 1, _COORDS | _NOSTORE)


@command(
    "georadiusbymember_ro",
    arity=-5,
    flags="readonly",
    keys=(1, 1, 1),
    group="geo",
    summary="A read-only variant for GEORADIUSBYMEMBER",
    since="3.2.10",
    complexity=_RADIUS_COMPLEXITY,
    acl="@read @geo @slow",
)
def georadiusbymember_ro(c: Client, argv: list[bytes]) -> Reply:
    return _georadius(c, argv, 1, _MEMBER | _NOSTORE)


@command(
    "geosearch",
    arity=-7,
    flags="readonly",
    keys=(1, 1, 1),
    group="geo",
    summary="Query a sorted set representing a geospatial index to fetch members inside an "
    "area of a box or a circle.",
    since="6.2.0",
    complexity="O(N+log(M)) where N is the number of elements in the grid-aligned bounding "
    "box area around the shape provided as the filter and M is the number of items inside "
    "the shape",
    acl="@read @geo @slow",
)
def geosearch(c: Client, argv: list[bytes]) -> Reply:
    return _georadius(c, argv, 1, _SEARCH)


@command(
    "geosearchstore",
    arity=-8,
    flags="write denyoom",
    keys=(1, 2, 1),
    group="geo",
    summary="Query a sorted set representing a geospatial index to fetch members inside an "
    "area of a box or a circle, and store the result in another key.",
    since="6.2.0",
    complexity="O(N+log(M)) where N is the number of elements in the grid-aligned bounding "
    "box area around the shape provided as the filter and M is the number of items inside "
    "the shape",
    acl="@write @geo @slow",
)
def geosearchstore(c: Client, argv: list[bytes]) -> Reply:
    return _georadius(c, argv, 2, _SEARCH | _SEARCHSTORE)
