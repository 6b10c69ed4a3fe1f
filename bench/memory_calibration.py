#!/usr/bin/env python3
"""What one key really costs in CPython: calibrate ``respcache/store/values.py``.

    /tmp/venv/bin/python bench/memory_calibration.py            # 1,000,000 items each
    /tmp/venv/bin/python bench/memory_calibration.py -n 200000  # quicker

Each measurement runs in a fresh interpreter: import the store, record the RSS,
build N items the way the server holds them (distinct ``bytes`` objects, as read
from a socket), collect garbage, record the RSS again. The difference divided by
N is the real cost of one item, allocator rounding and hash-table slack
included (averaged over N, 3N/4 and N/2 items, as a hash table's cost per entry
depends on how full it is). Then it prints, for each constant of ``values.py``, the current value
and the value the measurements call for, and compares ``Keyspace.used_memory``
(the estimate ``maxmemory`` uses) with the RSS growth.

Model (as ``values.py``): a ``bytes`` of length L costs ``BYTES_OVERHEAD + (L & ~15)``;
a string key costs ``ENTRY_OVERHEAD + bytes(key) + bytes(value)``, plus
``EXPIRE_OVERHEAD`` with a TTL; a container element costs its ``*_OVERHEAD``
(which includes the element's ``BYTES_OVERHEAD``s) plus the ``& ~15`` lengths;
a container costs ``CONTAINER_OVERHEAD`` besides its key entry. The sorted set
is measured as a ``dict`` member → score plus a ``SortedList`` of
``(score, member)`` (the structure a Python zset is usually built from).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY_LEN = 16  # b"key:%012d"
FIELD_LEN = 16
SMALL_VALUE = 10
VALUE_LEN = 100
FAR_FUTURE_MS = 4_102_444_800_000


def rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _keyspace() -> Any:
    from respcache.store.keyspace import Keyspace

    return Keyspace()


# Each builder makes ``n`` items and returns (what to keep alive, estimated bytes or None).
def build_bytes(length: int) -> Callable[[int], tuple[Any, int | None]]:
    def build(n: int) -> tuple[Any, int | None]:
        fmt = b"%0" + str(length).encode() + b"d"
        items = [fmt % i for i in range(n)]
        return items, None

    return build


def build_strings(value_len: int, ttl: bool = False) -> Callable[[int], tuple[Any, int | None]]:
    def build(n: int) -> tuple[Any, int | None]:
        ks = _keyspace()
        db = ks.dbs[0]
        fmt = b"%0" + str(value_len).encode() + b"d"
        for i in range(n):
            key = b"key:%012d" % i
            db.set(key, fmt % i)
            if ttl:
                db.set_expire(key, FAR_FUTURE_MS)
        return ks, ks.used_memory

    return build


def build_container(kind: str) -> Callable[[int], tuple[Any, int | None]]:
    def build(n: int) -> tuple[Any, int | None]:
        from respcache.store.values import HashValue, ListValue, SetValue

        if kind == "hash":
            h = HashValue()
            for i in range(n):
                h[b"field:%010d" % i] = b"value:%010d" % i
            return h, None
        if kind == "list":
            lst = ListValue()
            for i in range(n):
                lst.append(b"item:%011d" % i)
            return lst, None
        if kind == "set":
            s = SetValue()
            for i in range(n):
                s.add(b"member:%09d" % i)
            return s, None
        if kind == "zset":
            from sortedcontainers import SortedList

            scores: dict[bytes, float] = {}
            order: SortedList = SortedList()
            for i in range(n):
                member = b"member:%09d" % i
                score = float(i % 1000) + 0.5
                scores[member] = score
                order.add((score, member))
            return (scores, order), None
        raise ValueError(kind)

    return build


def build_small_hashes(n: int) -> tuple[Any, int | None]:
    """N keys, each a hash with one 16-byte field and one 16-byte value."""
    from respcache.store.values import HASH_FIELD_OVERHEAD, HashValue, bytes_size

    ks = _keyspace()
    db = ks.dbs[0]
    for i in range(n):
        h = HashValue()
        field, value = b"field:%010d" % i, b"value:%010d" % i
        h[field] = value
        h.nbytes += (
            HASH_FIELD_OVERHEAD + bytes_size(field) + bytes_size(value) - 2 * bytes_size(b"")
        )
        db.set(b"key:%012d" % i, h)
    return ks, ks.used_memory


MEASUREMENTS: dict[str, Callable[[int], tuple[Any, int | None]]] = {
    "bytes16": build_bytes(KEY_LEN),
    "bytes100": build_bytes(VALUE_LEN),
    "strings100": build_strings(VALUE_LEN),
    "strings10": build_strings(SMALL_VALUE),
    "strings100_ttl": build_strings(VALUE_LEN, ttl=True),
    "hash_field": build_container("hash"),
    "list_item": build_container("list"),
    "set_member": build_container("set"),
    "zset_member": build_container("zset"),
    "small_hashes": build_small_hashes,
}


def child(name: str, n: int) -> None:
    # Imports happen before the first RSS reading.
    import sortedcontainers  # noqa: F401

    import respcache.store.keyspace
    import respcache.store.values  # noqa: F401

    gc.collect()
    before = rss()
    keep, estimate = MEASUREMENTS[name](n)
    gc.collect()
    after = rss()
    print(json.dumps({"per_item": (after - before) / n, "estimate": (estimate or 0) / n}))
    del keep


def measure_once(name: str, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "-n", str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def measure(name: str, n: int) -> dict[str, float]:
    """Averaged over three sizes: a hash table's cost per entry depends on how full it is."""
    if name.startswith("bytes"):
        return measure_once(name, n)
    runs = [measure_once(name, size) for size in (n, n * 3 // 4, n // 2)]
    return {k: sum(r[k] for r in runs) / len(runs) for k in runs[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="items per measurement")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.n)
        return 0

    from respcache.store import values as v

    m = {name: measure(name, args.n) for name in MEASUREMENTS}
    per = {name: r["per_item"] for name, r in m.items()}

    def rounded(x: float) -> int:
        return round(x)

    # A list slot is 8 bytes (the list's array is over-allocated by ~1/8: ignored).
    b16 = per["bytes16"] - 8 - (KEY_LEN & ~15)
    b100 = per["bytes100"] - 8 - (VALUE_LEN & ~15)
    bytes_overhead = (b16 + b100) / 2

    def bsize(length: int) -> float:
        return bytes_overhead + (length & ~15)

    entry = per["strings100"] - bsize(KEY_LEN) - bsize(VALUE_LEN)
    entry_small = per["strings10"] - bsize(KEY_LEN) - bsize(SMALL_VALUE)
    expire = per["strings100_ttl"] - per["strings100"]
    hash_extra = per["hash_field"] - 2 * bsize(FIELD_LEN)
    list_extra = per["list_item"] - bsize(FIELD_LEN)
    set_extra = per["set_member"] - bsize(FIELD_LEN)
    zset_extra = per["zset_member"] - bsize(FIELD_LEN)
    container = per["small_hashes"] - entry - bsize(KEY_LEN) - (hash_extra + 2 * bsize(FIELD_LEN))

    rows = [
        (
            "BYTES_OVERHEAD",
            v.BYTES_OVERHEAD,
            rounded(bytes_overhead),
            f"16 B: {b16:.1f}, 100 B: {b100:.1f}",
        ),
        (
            "ENTRY_OVERHEAD",
            v.ENTRY_OVERHEAD,
            rounded((entry + entry_small) / 2),
            f"100 B values: {entry:.1f}, 10 B values: {entry_small:.1f}",
        ),
        ("EXPIRE_OVERHEAD", v.EXPIRE_OVERHEAD, rounded(expire), f"{expire:.1f}"),
        (
            "HASH_FIELD_OVERHEAD",
            v.HASH_FIELD_OVERHEAD,
            rounded(hash_extra) + 2 * v.BYTES_OVERHEAD,
            f"{rounded(hash_extra)} + 2 * BYTES_OVERHEAD",
        ),
        (
            "LIST_ITEM_OVERHEAD",
            v.LIST_ITEM_OVERHEAD,
            rounded(list_extra) + v.BYTES_OVERHEAD,
            f"{rounded(list_extra)} + BYTES_OVERHEAD",
        ),
        (
            "SET_MEMBER_OVERHEAD",
            v.SET_MEMBER_OVERHEAD,
            rounded(set_extra) + v.BYTES_OVERHEAD,
            f"{rounded(set_extra)} + BYTES_OVERHEAD",
        ),
        (
            "ZSET_MEMBER_OVERHEAD",
            v.ZSET_MEMBER_OVERHEAD,
            rounded(zset_extra) + v.BYTES_OVERHEAD,
            f"{rounded(zset_extra)} + BYTES_OVERHEAD (dict + SortedList model)",
        ),
        ("CONTAINER_OVERHEAD", v.CONTAINER_OVERHEAD, rounded(container), f"{container:.1f}"),
    ]
    if args.json:
        print(
            json.dumps(
                {"n": args.n, "measurements": m, "suggested": {r[0]: r[2] for r in rows}}, indent=2
            )
        )
        return 0
    print(f"Measured with {args.n:,} items per measurement, Python {sys.version.split()[0]}\n")
    print("| constant | current | measured | detail |")
    print("|---|---|---|---|")
    for name, current, suggested, detail in rows:
        print(f"| {name} | {current} | {suggested} | {detail} |")
    print("\nEstimate (Keyspace.used_memory) against RSS growth, per key:\n")
    print("| keys | RSS bytes/key | estimate bytes/key | estimate / RSS |")
    print("|---|---|---|---|")
    for name in ("strings100", "strings10", "strings100_ttl", "small_hashes"):
        r = m[name]
        print(
            f"| {name} | {r['per_item']:.1f} | {r['estimate']:.1f} | {r['estimate'] / r['per_item']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
