"""used_memory = dataset + overhead (store/memory.py, commands/memory.py), and the
maxmemory decision that uses it (Keyspace.over_maxmemory / evict)."""

from __future__ import annotations

from conftest import Run

from respcache.commands import Client, Engine
from respcache.commands.connection import CLIENT_OVERHEAD
from respcache.commands.info import admin_state, info_text
from respcache.commands.memory import client_memory, memory_cron, memory_overhead, used_memory
from respcache.errors import OOM, CommandError
from respcache.store.keyspace import Keyspace
from respcache.store.memory import (
    CLIENTS_CRON_MIN_ITERATIONS,
    NORMAL,
    REPLICA,
    STARTUP_MEMORY,
    ClientsSampler,
    MemoryOverhead,
    breakdown,
)

# --- store/memory.py: pure -------------------------------------------------------------------


def test_overhead_total_counted_and_not_counted() -> None:
    o = MemoryOverhead(
        startup=1000,
        replication_backlog=200,
        clients_slaves=30,
        clients_normal=4000,
        aof_buffer=5,
        lua_caches=60,
        functions_caches=7,
    )
    assert o.total == 1000 + 200 + 30 + 4000 + 5 + 60 + 7
    # freeMemoryGetNotCountedMemory: replica buffers and the AOF buffer.
    assert o.not_counted == 35
    assert o.counted == o.total - 35
    assert o.scripts == 67
    assert MemoryOverhead().total == 0


def test_breakdown_as_redis_splits_used_memory() -> None:
    o = MemoryOverhead(startup=1000, clients_normal=500)
    split = breakdown(1000 + 500 + 300, 100, o)  # 300 bytes of dataset, 100 of them tables
    assert (split.overhead, split.dataset, split.net) == (1600, 200, 800)
    assert split.dataset_perc == 25.0
    empty = breakdown(1000, 0, MemoryOverhead(startup=1000))
    assert (empty.dataset, empty.net, empty.dataset_perc) == (0, 1, 0.0)


def test_clients_sampler_walks_a_slice_per_tick() -> None:
    clients: dict[int, object] = {i: None for i in range(100)}
    sizes = {i: (NORMAL, 10 + i) for i in range(100)}
    seen: list[int] = []

    def size(cid: int) -> tuple[int, int]:
        seen.append(cid)
        return sizes[cid]

    sampler = ClientsSampler()
    sampler.tick(clients, 10, size)  # numclients / hz
    assert len(seen) == 10
    for _ in range(9):
        sampler.tick(clients, 10, size)
    assert sorted(seen) == list(range(100))  # one full round in hz ticks
    assert sampler.totals == [sum(10 + i for i in range(100)), 0]
    seen.clear()
    sampler.tick(clients, 1000, size)  # at least CLIENTS_CRON_MIN_ITERATIONS
    assert len(seen) == CLIENTS_CRON_MIN_ITERATIONS


def test_clients_sampler_classes_and_departures() -> None:
    clients: dict[int, object] = {1: None, 2: None, 3: None}
    sizes = {1: (NORMAL, 100), 2: (REPLICA, 7), 3: (NORMAL, 50)}
    sampler = ClientsSampler()
    sampler.tick(clients, 10, sizes.__getitem__)  # fewer than 5: all of them
    assert sampler.totals == [150, 7]
    del clients[1]
    sampler.tick(clients, 10, sizes.__getitem__)
    assert sampler.totals == [50, 7]
    sizes[3] = (NORMAL, 80)  # grew
    sampler.tick(clients, 10, sizes.__getitem__)
    assert sampler.totals == [80, 7]
    clients.clear()
    sampler.tick(clients, 10, sizes.__getitem__)
    assert sampler.totals == [0, 0] and not sampler.samples


# --- Keyspace: one cached int ---------------------------------------------------------------


def test_keyspace_counts_the_overhead_against_maxmemory() -> None:
    ks = Keyspace(maxmemory=0)
    db = ks.dbs[0]
    db.set(b"k", b"v")
    ks.maxmemory = ks.used_memory + 100
    assert not ks.over_maxmemory()
    ks.set_overhead(MemoryOverhead(startup=101))
    assert ks.overhead_memory == 101
    assert ks.over_maxmemory()
    assert ks.evict() is False  # noeviction
    # Not counted (replica and AOF buffers): under again.
    ks.set_overhead(MemoryOverhead(startup=50, clients_slaves=1000, aof_buffer=1000))
    assert ks.overhead_memory == 50
    assert not ks.over_maxmemory()


def test_overhead_past_maxmemory_evicts_everything_and_still_fails() -> None:
    ks = Keyspace(policy="allkeys-lru")
    for i in range(10):
        ks.dbs[0].set(b"k%d" % i, b"v" * 50)
    ks.maxmemory = ks.used_memory + 10
    ks.set_overhead(MemoryOverhead(startup=ks.used_memory // 2))
    assert ks.evict()  # some keys go, the rest fit
    assert 0 < len(ks.dbs[0]) < 10
    ks.set_overhead(MemoryOverhead(startup=ks.maxmemory + 1))
    assert ks.evict() is False  # EVICT_FAIL: every key gone, still over
    assert len(ks.dbs[0]) == 0


# --- commands/memory.py: the engine's figures -----------------------------------------------


class NetClient(Client):
    __slots__ = ("omem", "qbuf")

    def __init__(self, engine: Engine, qbuf: int = 0, omem: int = 0) -> None:
        super().__init__(engine)
        self.qbuf = qbuf
        self.omem = omem

    def connection_info(self) -> dict[str, str]:
        return {"addr": "127.0.0.1:5000", "qbuf": str(self.qbuf), "omem": str(self.omem)}


def test_overhead_of_an_engine(engine: Engine, client: Client, run: Run) -> None:
    assert memory_overhead(engine) == MemoryOverhead(startup=STARTUP_MEMORY)
    run(client, "SCRIPT", "LOAD", "return 1")
    run(client, "FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() end)")
    o = memory_overhead(engine)
    assert o.lua_caches > 0 and o.functions_caches > 0
    info = dict(
        line.split(":", 1) for line in info_text(engine, ["memory"]).splitlines() if ":" in line
    )
    assert int(info["used_memory_scripts"]) == o.scripts
    assert int(info["used_memory"]) == engine.keyspace.used_memory + o.total
    assert int(info["used_memory"]) == used_memory(engine)
    assert int(info["used_memory_startup"]) == STARTUP_MEMORY
    assert int(info["mem_clients_normal"]) == 0  # no cron tick yet


def test_memory_cron_samples_clients_and_sets_the_keyspace(engine: Engine) -> None:
    net = NetClient(engine, qbuf=1000, omem=500)
    engine.add_client(net)
    replica = NetClient(engine, omem=70)
    replica.is_replica = True
    engine.add_client(replica)
    assert client_memory(net) == CLIENT_OVERHEAD + 1500
    memory_cron(engine, 10)
    o = engine.keyspace.overhead
    assert o.clients_normal == CLIENT_OVERHEAD + 1500
    assert o.clients_slaves == 70
    assert engine.keyspace.overhead_memory == o.counted == o.total - 70
    assert admin_state(engine).peak_memory == used_memory(engine)  # the cron notes the peak
    engine.remove_client(net)
    memory_cron(engine, 10)
    assert engine.keyspace.overhead.clients_normal == 0


def test_oom_from_the_startup_overhead(engine: Engine, client: Client, run: Run) -> None:
    """An empty server is over ``maxmemory 1`` (Redis's TCL units rely on it)."""
    memory_cron(engine, 10)
    run(client, "SET", "x", "1")
    engine.keyspace.maxmemory = 1  # (CONFIG SET's hook is the server's)
    assert run(client, "SET", "x", "2") == CommandError(OOM)
    assert run(client, "GET", "x") == b"1"
    refused = run(client, "EVAL", "return redis.call('set','x','3')", "0")
    assert isinstance(refused, CommandError) and str(refused).startswith("OOM ")
    assert run(client, "EVAL", "#!lua flags=allow-oom\nreturn redis.call('set','x','4')", "0")
    no_writes = "#!lua flags=no-writes\nreturn redis.call('get','x')"
    assert run(client, "EVAL", no_writes, "0") == b"$1\r\n4\r\n"  # (a script's reply: RESP)
    engine.keyspace.maxmemory = 0
    assert run(client, "SET", "x", "5") is not None and run(client, "GET", "x") == b"5"


def test_memory_doctor_checks(engine: Engine, client: Client, run: Run) -> None:
    def doctor() -> bytes:
        report = run(client, "MEMORY", "DOCTOR")
        assert isinstance(report, bytes)
        return report

    assert doctor().startswith(b"Hi Sam, this instance is empty")
    run(client, "SET", "big", "x" * (6 << 20))
    assert doctor().startswith(b"Hi Sam, I can't find any memory issue")
    admin_state(engine).peak_memory = 3 * used_memory(engine)
    for i in range(1001):
        run(client, "SCRIPT", "LOAD", f"return {i}")
    report = doctor()
    assert report.startswith(b"Sam, I detected a few issues")
    assert b" * Peak memory:" in report and b" * Many scripts:" in report
    assert b"Big client buffers" not in report
    assert report.endswith(b"I'm here to keep you safe, Sam. I want to help you.\n")
