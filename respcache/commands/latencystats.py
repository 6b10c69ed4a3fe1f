"""Per-command latency distributions: LATENCY HISTOGRAM and INFO latencystats.

Redis 7.0 (``server.c`` ``updateCommandLatencyHistogram``, ``latency.c``
``fillCommandCDF``) keeps one HdrHistogram per command (1 ns to 1 s, 2 significant
digits) and records every call's duration — measured in microseconds, times 1000 — where
it counts the call in commandstats, while ``latency-tracking`` is on.

Recording into a real HdrHistogram costs about 2 µs a call in Python (HdrHistogram_py's
``record_value``), a large share of a fast command, and that library's log iterator
reports other buckets than the C one Redis uses. So the engine only counts calls per
duration, ``samples[µs] += 1`` in the command's
:class:`~respcache.commands.stats.CommandStats`, and this module computes what Redis's
histogram would answer from those counts when asked. Both answers depend only on which
HDR bucket each duration falls in, so the results are Redis's
exactly; durations of 1024 µs or more are stored under one representative per bucket
(:func:`sample_key`), which keeps a command's counts to a few thousand entries at most.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from respcache.commands.client import Client
from respcache.commands.introspection import find_spec
from respcache.commands.registry import command
from respcache.protocol.types import Reply

HDR_MIN: Final = 1
HDR_MAX: Final = 1_000_000_000
"""The histogram's range in nanoseconds (``LATENCY_HISTOGRAM_MIN/MAX_VALUE``)."""
HDR_LAST: Final = (1 << 30) - 1
"""The highest value the last bucket of a 2-significant-digit histogram up to 1 s holds."""
_SUB_BUCKET_BITS: Final = 8
"""2 significant digits: 256 sub-buckets (values below 256 ns are exact)."""


def bucket_low(ns: int) -> int:
    """The lowest value HdrHistogram counts together with ``ns``."""
    if ns < 1 << _SUB_BUCKET_BITS:
        return ns
    shift = ns.bit_length() - _SUB_BUCKET_BITS
    return (ns >> shift) << shift


def bucket_high(ns: int) -> int:
    """The highest value HdrHistogram counts together with ``ns``."""
    if ns < 1 << _SUB_BUCKET_BITS:
        return ns
    shift = ns.bit_length() - _SUB_BUCKET_BITS
    return ((ns >> shift) << shift) + (1 << shift) - 1


def sample_key(usec: int) -> int:
    """The key a call of ``usec`` µs is counted under (for ``usec`` ≥ 1024; below, itself).

    The smallest whole microsecond in the same HDR bucket: buckets are at least 1000 ns
    wide there, so it always exists, and every duration of the bucket shares it.
    """
    return -(-bucket_low(min(usec * 1000, HDR_MAX)) // 1000)


def _ns(usec: int) -> int:
    return min(max(usec * 1000, HDR_MIN), HDR_MAX)


def _sorted(samples: Mapping[int, int]) -> list[tuple[int, int]]:
    return sorted((_ns(us), count) for us, count in samples.items() if count)


def value_at_percentile(samples: Mapping[int, int], percentile: float) -> int:
    """``hdr_value_at_percentile`` in nanoseconds (0 for no samples)."""
    items = _sorted(samples)
    total = sum(count for _, count in items)
    wanted = max(1, int(min(percentile, 100.0) / 100 * total + 0.5))
    seen = 0
    for ns, count in items:
        seen += count
        if seen >= wanted:
            return bucket_low(ns) if percentile == 0.0 else bucket_high(ns)
    return 0


def cumulative_distribution(samples: Mapping[int, int]) -> list[tuple[int, int]]:
    """(µs, calls up to it) as LATENCY HISTOGRAM lists them: HdrHistogram's logarithmic
    iteration from 1024 ns doubling, each step named by the highest value of the bucket it
    stopped at, steps that add no calls left out."""
    items = _sorted(samples)
    total = sum(count for _, count in items)
    out: list[tuple[int, int]] = []
    cumulative = previous = index = 0
    level = 1024
    while total:
        high = level + (level >> (_SUB_BUCKET_BITS - 1)) - 1 if level <= 1 << 29 else HDR_LAST
        while index < len(items) and items[index][0] <= high:
            cumulative += items[index][1]
            index += 1
        if cumulative > previous:
            out.append((high // 1000, cumulative))
            previous = cumulative
        if cumulative == total or high == HDR_LAST:
            break
        level <<= 1
    return out


def trim_double(value: float) -> str:
    """``%f`` with trailing zeros (and a trailing dot) removed, as Redis's trimDoubleString."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def percentiles_line(name: str, samples: Mapping[int, int], percentiles: Iterable[float]) -> str:
    """One INFO latencystats line: ``latency_percentiles_usec_<cmd>:p50=1.003,...``."""
    parts = [
        f"p{trim_double(p)}={value_at_percentile(samples, p) / 1000.0:.3f}" for p in percentiles
    ]
    return f"latency_percentiles_usec_{name}:" + ",".join(parts)


# --- LATENCY HISTOGRAM ---------------------------------------------------------------------


def _histogram(samples: Mapping[int, int]) -> dict[Reply, Reply]:
    return {
        b"calls": sum(samples.values()),
        b"histogram_usec": {us: calls for us, calls in cumulative_distribution(samples)},
    }


@command(
    "latency|histogram",
    arity=-2,
    flags="admin noscript loading stale",
    group="server",
    summary="Return the cumulative distribution of latencies of a subset of commands or all.",
    since="7.0.0",
    complexity="O(N) where N is the number of commands with latency information being retrieved.",
    acl="@admin @slow @dangerous",
)
def latency_histogram(c: Client, argv: list[bytes]) -> Reply:
    """Every command with samples, or the named ones (a container names its subcommands)."""
    commands = c.engine.stats.commands
    if len(argv) == 2:
        names = sorted(commands)
    else:
        names = []
        for arg in argv[2:]:
            spec = find_spec(arg)
            if spec is None:
                continue
            names.append(spec.name)
            names.extend(spec.name + "|" + sub for sub in sorted(spec.subcommands))
    out: dict[Reply, Reply] = {}
    for name in names:
        stats = commands.get(name)
        if stats is not None and stats.samples:
            out[name.encode()] = _histogram(stats.samples)
    return out
