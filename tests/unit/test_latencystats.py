"""Per-command latency distributions (LATENCY HISTOGRAM, INFO latencystats): the HDR
bucket arithmetic against numbers redis-server 7.0.15 printed, and the commands."""

from __future__ import annotations

import re

from conftest import Run

from respcache.commands import Client, Engine
from respcache.commands.latencystats import (
    bucket_high,
    bucket_low,
    cumulative_distribution,
    percentiles_line,
    sample_key,
    trim_double,
    value_at_percentile,
)
from respcache.protocol.types import Verbatim


def test_buckets_of_two_significant_digits() -> None:
    assert (bucket_low(255), bucket_high(255)) == (255, 255)
    assert (bucket_low(9000), bucket_high(9000)) == (8960, 9023)  # Redis: p0=8.960, p50=9.023
    assert (bucket_low(1024), bucket_high(1024)) == (1024, 1031)


def test_percentiles_as_redis_prints_them() -> None:
    # redis-server: one SET of 9 µs -> "p50=9.023,p99=9.023,p99.9=9.023"
    assert percentiles_line("set", {9: 1}, (50.0, 99.0, 99.9)) == (
        "latency_percentiles_usec_set:p50=9.023,p99=9.023,p99.9=9.023"
    )
    assert percentiles_line("set", {9: 1}, (0.0, 12.5, 100.0)) == (
        "latency_percentiles_usec_set:p0=8.960,p12.5=9.023,p100=9.023"
    )
    samples = {1: 98, 50: 1, 3000: 1}
    assert value_at_percentile(samples, 50) == 1003
    assert value_at_percentile(samples, 99) == 50175
    assert value_at_percentile(samples, 100) == bucket_high(3_000_000)
    assert value_at_percentile({0: 1}, 50) == 1  # 0 µs is recorded as 1 ns
    assert trim_double(99.9) == "99.9" and trim_double(50.0) == "50"


def test_cumulative_distribution_follows_hdr_log_iteration() -> None:
    # redis-server: three DEBUG SLEEP 0.003 -> {4227: 3}; one 9 µs SET -> {16: 1}
    assert cumulative_distribution({3096: 2, 3129: 1}) == [(4227, 3)]
    assert cumulative_distribution({9: 1}) == [(16, 1)]
    assert cumulative_distribution({0: 2, 1: 1, 2: 1, 30: 1, 40: 1}) == [
        (1, 3),
        (2, 4),
        (33, 5),
        (66, 6),
    ]
    # Beyond 2^29 ns the last step is the histogram's end (1 s and more are 1 s).
    assert cumulative_distribution({5_000_000: 1}) == [(1073741, 1)]
    assert cumulative_distribution({}) == []


def test_long_durations_share_one_key_per_bucket() -> None:
    keys = {sample_key(us) for us in range(1024, 200_000, 3)}
    assert len(keys) < 1100
    for us in (1024, 5000, 131_071, 999_999, 5_000_000):
        key = sample_key(us)
        assert bucket_low(min(key * 1000, 10**9)) == bucket_low(min(us * 1000, 10**9))


def test_latency_histogram_and_info(client: Client, run: Run) -> None:
    run(client, "SET", "k", "v")
    run(client, "SET", "k", "v")
    run(client, "CONFIG", "GET", "maxmemory")
    reply = run(client, "LATENCY", "HISTOGRAM", "set", "config", "nosuch")
    assert isinstance(reply, dict)
    assert list(reply) == [b"config|get", b"set"] or list(reply) == [b"set", b"config|get"]
    assert reply[b"set"][b"calls"] == 2
    cdf = reply[b"set"][b"histogram_usec"]
    assert list(cdf.values())[-1] == 2
    assert set(run(client, "LATENCY", "HISTOGRAM")) >= {b"set", b"config|get", b"latency|histogram"}
    text = _info(client, run, "latencystats")
    assert text.startswith("# Latencystats\r\n")
    line = r"\r\nlatency_percentiles_usec_set:p50=\d+\.\d{3},p99=[\d.]+,p99\.9=[\d.]+\r\n"
    assert re.search(line, text)
    assert "Latencystats" not in _info(client, run)
    run(client, "CONFIG", "SET", "latency-tracking-info-percentiles", "")
    assert "latency_percentiles_usec_set:\r\n" in _info(client, run, "latencystats")
    run(client, "CONFIG", "SET", "latency-tracking", "no")
    assert _info(client, run, "latencystats") == "# Latencystats\r\n"
    run(client, "SET", "k", "v")
    reply = run(client, "LATENCY", "HISTOGRAM", "set")
    assert isinstance(reply, dict) and reply[b"set"][b"calls"] == 2
    run(client, "CONFIG", "RESETSTAT")
    assert run(client, "LATENCY", "HISTOGRAM", "set") == {}


def _info(client: Client, run: Run, *sections: str) -> str:
    reply = run(client, "INFO", *sections)
    if isinstance(reply, Verbatim):
        reply = reply.text
    assert isinstance(reply, bytes)
    return reply.decode()


def test_expire_cycle_latency_needs_the_threshold(engine: Engine, client: Client, run: Run) -> None:
    monitoring = engine.monitoring
    monitoring.add_latency_sample_if_needed("expire-cycle", 50)  # monitor off (threshold 0)
    assert monitoring.events == {}
    run(client, "CONFIG", "SET", "latency-monitor-threshold", "20")
    monitoring.add_latency_sample_if_needed("expire-cycle", 19)
    monitoring.add_latency_sample_if_needed("expire-cycle", 25)
    latest = run(client, "LATENCY", "LATEST")
    assert isinstance(latest, list) and [entry[0] for entry in latest] == [b"expire-cycle"]  # type: ignore[index]
    assert latest[0][2:] == [25, 25]  # type: ignore[index]
