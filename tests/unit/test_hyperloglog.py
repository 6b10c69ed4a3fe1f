"""HyperLogLog commands and representation; bytes and counts read from a real redis-server
7.0.15 (``tests/differential/gen_hyperloglog.py`` compares them at random as well)."""

from __future__ import annotations

from conftest import run

from respcache.commands import Client
from respcache.errors import CommandError
from respcache.store import hll

ABC = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ"
NOT_HLL = CommandError("WRONGTYPE Key is not a valid HyperLogLog string value.")
INVALID = CommandError("INVALIDOBJ Corrupted HLL object detected")


def test_pfadd_makes_redis_sparse_bytes(client: Client) -> None:
    assert run(client, "PFADD", "h", "a", "b", "c") == 1
    assert run(client, "GET", "h") == ABC
    assert run(client, "PFADD", "h", "a") == 0
    assert run(client, "PFDEBUG", "DECODE", "h") == b"Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
    assert run(client, "PFDEBUG", "ENCODING", "h") == "sparse"
    assert run(client, "OBJECT", "ENCODING", "h") == b"raw"


def test_pfcount_caches_the_cardinality_in_the_header(client: Client, propagated: list) -> None:
    run(client, "PFADD", "h", "a", "b", "c")
    assert run(client, "PFCOUNT", "h") == 3
    assert run(client, "GET", "h") == ABC[:8] + b"\x03" + bytes(7) + ABC[16:]
    assert run(client, "PFCOUNT", "h") == 3
    # The first PFCOUNT changed the value: replicated; the second one did not.
    assert [argv[0] for _db, argv in propagated] == [b"PFADD", b"PFCOUNT"]


def test_large_sets_turn_dense_and_count_as_redis(client: Client) -> None:
    run(client, "PFADD", "big", *range(20000))
    assert run(client, "PFDEBUG", "ENCODING", "big") == "dense"
    assert len(run(client, "GET", "big")) == hll.DENSE_SIZE  # type: ignore[arg-type]
    assert run(client, "PFCOUNT", "big") == 19891
    assert run(client, "PFCOUNT", "big", "nokey") == 19891


def test_sparse_max_bytes_setting(client: Client) -> None:
    run(client, "CONFIG", "SET", "hll-sparse-max-bytes", "30")
    run(client, "PFADD", "h", "a", "b", "c", "d", "e", "f")
    assert run(client, "PFDEBUG", "ENCODING", "h") == "dense"


def test_pfmerge(client: Client) -> None:
    run(client, "PFADD", "a", "x", "y")
    run(client, "PFADD", "b", "y", "z")
    assert run(client, "PFMERGE", "m", "a", "b", "nokey") == run(client, "SET", "ok", "1")
    assert run(client, "PFCOUNT", "m") == 3
    assert run(client, "PFCOUNT", "a", "b") == 3
    run(client, "PFDEBUG", "TODENSE", "a")
    run(client, "PFMERGE", "m2", "a", "b")
    assert run(client, "PFDEBUG", "ENCODING", "m2") == "dense"
    assert run(client, "PFCOUNT", "m2") == 3


def test_errors(client: Client) -> None:
    run(client, "SET", "s", "foo")
    assert run(client, "PFADD", "s", "x") == NOT_HLL
    assert run(client, "PFCOUNT", "s") == NOT_HLL
    assert run(client, "PFMERGE", "d", "s") == NOT_HLL
    run(client, "LPUSH", "l", "x")
    assert run(client, "PFADD", "l", "x") == CommandError(
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    )
    run(client, "SET", "bad", b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80\x7f\xff\x7f\xff")
    assert run(client, "PFCOUNT", "bad") == INVALID
    assert run(client, "PFCOUNT", "bad", "s") == INVALID
    assert run(client, "PFDEBUG", "foo", "nokey") == CommandError(
        "ERR The specified key does not exist"
    )
    run(client, "PFADD", "h", "a")
    assert run(client, "PFDEBUG", "foo", "h") == CommandError(
        "ERR Unknown PFDEBUG subcommand 'foo'"
    )
    run(client, "PFDEBUG", "TODENSE", "h")
    assert run(client, "PFDEBUG", "DECODE", "h") == CommandError("ERR HLL encoding is not sparse")


def test_getreg_and_murmur() -> None:
    assert hll.murmurhash64a(b"hello") == 0x0F656F01EECFE400
    assert hll.pattern(b"a") == (12711, 2)
    sparse = hll.new_sparse()
    _changed, sparse = hll.add(sparse, b"a", 3000)
    regs = hll.registers(sparse)
    assert regs[12711] == 2 and sum(regs) == 2
    dense = hll.to_dense(sparse)
    assert hll.dense_registers(dense) == regs
    assert hll.estimate(hll.histogram(dense)) == hll.estimate(hll.histogram(sparse)) == 1


def test_pfselftest(client: Client) -> None:
    assert run(client, "PFSELFTEST") == run(client, "SET", "ok", "1")
