"""Replication with real processes: a leader and two followers on loopback.

Every server is a ``respcache-server`` process (``python -m respcache``) on a free
port, started by the ``server_factory`` fixture and always stopped. Followers
are started with ``--replicaof``; the tests then drive them with REPLICAOF,
signals (SIGKILL, SIGSTOP/SIGCONT) and CLIENT KILL, and compare datasets with
DEBUG DIGEST.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from support import ServerProcess, respcache_is_redis

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(respcache_is_redis(), reason="respcache's synchronous replication"),
]

FAST = {
    "loglevel": "notice",
    "enable_debug_command": "yes",  # DEBUG DIGEST compares leader and followers
    "repl_ping_replica_period": 1,
    "repl_timeout": 5,
    "repl_ack_timeout": 300,
}


def until(predicate: Callable[[], bool], timeout: float = 10.0, message: Any = "") -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {message() if callable(message) else message}")
        time.sleep(0.05)


def info(server: ServerProcess) -> dict[str, str]:
    with server.raw() as conn:
        text = conn.call("INFO", "replication").value.decode()
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key] = value
    return out


def digest(server: ServerProcess) -> str:
    with server.client() as c:
        value: bytes = c.execute_command("DEBUG", "DIGEST")
    return value.decode()


def isr(server: ServerProcess) -> set[str]:
    value = info(server).get("isr", "")
    return set(value.split(",")) if value else set()


def fid(server: ServerProcess) -> str:
    return f"{server.host}:{server.port}"


def caught_up(leader: ServerProcess, *followers: ServerProcess) -> bool:
    lead = info(leader)
    members = isr(leader)
    for follower in followers:
        f = info(follower)
        if f.get("master_link_status") != "up" or fid(follower) not in members:
            return False
        if f.get("slave_repl_offset") != lead.get("master_repl_offset"):
            return False
    return True


def wait_synced(leader: ServerProcess, *followers: ServerProcess, timeout: float = 60) -> None:
    until(
        lambda: caught_up(leader, *followers),
        timeout=timeout,
        message=lambda: f"not in sync: {[info(f) for f in followers]} / {info(leader)}",
    )


class Cluster:
    def __init__(self, factory: Any, **options: Any) -> None:
        self.factory = factory
        self.options = {**FAST, **options}
        self.leader: ServerProcess = factory.respcache(self.options)
        self.followers: list[ServerProcess] = []

    def follower(self, leader: ServerProcess | None = None, **options: Any) -> ServerProcess:
        target = leader or self.leader
        server: ServerProcess = self.factory.respcache(
            {**self.options, **options, "replicaof": (target.host, target.port)}
        )
        self.followers.append(server)
        return server


@pytest.fixture
def cluster(server_factory: Any) -> Iterator[Callable[..., Cluster]]:
    yield lambda **options: Cluster(server_factory, **options)


@contextlib.contextmanager
def stopped(server: ServerProcess) -> Iterator[None]:
    """SIGSTOP the process for the block (SIGCONT afterwards, whatever happens)."""
    server.signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.signal(signal.SIGCONT)


# --- basics -----------------------------------------------------------------------------


def test_followers_apply_writes_and_digests_match(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    with c.leader.client() as lead:
        lead.set("before", "1")
        lead.rpush("list", "a", "b")
        lead.hset("hash", mapping={"f": "v"})
        lead.set("ttl", "x", ex=1000)
    f1, f2 = c.follower(), c.follower()
    wait_synced(c.leader, f1, f2)
    with c.leader.client() as lead:
        lead.set("after", "2")
        lead.execute_command("SELECT", "3")
        lead.incr("counter")
        lead.delete("list")
        pipe = lead.pipeline(transaction=True)  # MULTI ... EXEC travels as one unit
        pipe.incr("counter")
        pipe.lpush("tx", "a", "b")
        pipe.expire("tx", 1000)
        assert pipe.execute() == [2, 2, True]
    wait_synced(c.leader, f1, f2)
    assert digest(c.leader) == digest(f1) == digest(f2) != "0" * 40
    with f1.client() as follower:
        assert follower.get("after") == b"2"
        assert follower.pttl("ttl") > 0


def test_units_that_change_database_replicate_as_redis(cluster: Callable[..., Cluster]) -> None:
    """MULTI and scripts that SELECT: the stream selects inside the unit, followers agree."""
    c = cluster()
    f1 = c.follower()
    wait_synced(c.leader, f1)
    with c.leader.client() as lead:
        pipe = lead.pipeline(transaction=True)
        pipe.set("tx0", "a")
        pipe.execute_command("SELECT", "5")
        pipe.set("tx5", "b")
        pipe.execute_command("SELECT", "0")
        pipe.set("tx0b", "c")
        assert pipe.execute() == [True, True, True, True, True]
        script = "redis.call('set', 's0', '1') redis.call('select', 6) redis.call('set', 's6', '2')"
        lead.eval(script, 0)
        lead.set("after", "x")  # the stream left the unit in db 6: it selects db 0 again
    wait_synced(c.leader, f1)
    assert digest(c.leader) == digest(f1)
    with f1.client(db=5) as five, f1.client(db=6) as six, f1.client() as zero:
        assert five.get("tx5") == b"b"
        assert six.get("s6") == b"2"
        assert zero.mget("tx0", "tx0b", "s0", "after") == [b"a", b"c", b"1", b"x"]


def test_replica_refuses_writes_and_serves_reads(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    f1 = c.follower()
    wait_synced(c.leader, f1)
    with c.leader.client() as lead:
        lead.set("k", "v")
    wait_synced(c.leader, f1)
    with f1.client() as follower:
        assert follower.get("k") == b"v"
        with pytest.raises(redis.ReadOnlyError):
            follower.set("k", "w")
        assert follower.execute_command("ROLE")[0] == b"slave"
        with pytest.raises(redis.ResponseError, match="WAIT cannot be used with replica"):
            follower.execute_command("WAIT", "1", "0")
    role = c.leader.client().execute_command("ROLE")
    assert role[0] == b"master"
    assert [r[1] for r in role[2]] == [str(f1.port).encode()]


def test_info_replication_fields(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    f1 = c.follower()
    wait_synced(c.leader, f1)
    lead = info(c.leader)
    assert lead["role"] == "master"
    assert lead["connected_slaves"] == "1"
    assert lead["slave0"].startswith(f"ip=127.0.0.1,port={f1.port},state=online,offset=")
    for field in (
        "master_failover_state",
        "master_replid",
        "master_replid2",
        "master_repl_offset",
        "second_repl_offset",
        "repl_backlog_active",
        "repl_backlog_size",
        "repl_backlog_first_byte_offset",
        "repl_backlog_histlen",
        "min_insync_replicas",
    ):
        assert field in lead, field
    assert lead["isr"] == fid(f1)
    fol = info(f1)
    assert fol["role"] == "slave"
    assert (fol["master_host"], fol["master_port"]) == (c.leader.host, str(c.leader.port))
    assert fol["master_link_status"] == "up"
    assert fol["master_replid"] == lead["master_replid"]
    for field in (
        "master_last_io_seconds_ago",
        "master_sync_in_progress",
        "slave_read_repl_offset",
        "slave_repl_offset",
        "slave_priority",
        "slave_read_only",
        "replica_announced",
    ):
        assert field in fol, field


# --- full sync ----------------------------------------------------------------------------


def _populate(server: ServerProcess, keys: int, size: int = 100) -> None:
    value = b"v" * size
    with server.client() as c:
        for start in range(0, keys, 5000):
            pipe = c.pipeline(transaction=False)
            flat: list[bytes] = []
            for i in range(start, min(keys, start + 5000)):
                flat += [b"key:%d" % i, value]
            pipe.execute_command("MSET", *flat)
            pipe.execute()


class Writers:
    """Threads doing INCR, APPEND and LPUSH on the leader; counts what was acknowledged."""

    def __init__(self, server: ServerProcess, threads: int = 3) -> None:
        self.server = server
        self.stop = threading.Event()
        self.acked = [0] * threads
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)
        ]

    def __enter__(self) -> Writers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _run(self, n: int) -> None:
        with self.server.client() as c:
            while not self.stop.is_set():
                i = self.acked[n]
                try:
                    pipe = c.pipeline(transaction=False)
                    pipe.incr(f"counter:{n}")
                    pipe.append(f"log:{n}", f"{i},")
                    pipe.lpush(f"list:{n}", i)
                    pipe.execute()
                except redis.RedisError as err:
                    self.errors.append(repr(err))
                    return
                self.acked[n] += 1


def test_full_sync_of_a_large_dataset_under_concurrent_writes(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    _populate(c.leader, 200_000)
    with Writers(c.leader) as writers:
        time.sleep(0.2)
        f1 = c.follower()
        until(lambda: info(f1).get("master_link_status") == "up", timeout=60)
        time.sleep(0.5)  # more writes once streaming
        # A second full sync while the leader already streams to f1: writes still
        # pending when its PSYNC arrives are in its snapshot and must not be sent
        # again after it. Several attempts make that timing likely.
        f2 = c.follower()
        for _ in range(3):
            until(lambda: info(f2).get("master_link_status") == "up", timeout=60)
            with f2.client() as follower:  # a new history: the next sync is a full one
                follower.execute_command("REPLICAOF", "NO", "ONE")
                follower.execute_command("REPLICAOF", c.leader.host, str(c.leader.port))
        until(lambda: info(f2).get("master_link_status") == "up", timeout=60)
        time.sleep(0.5)
    assert not writers.errors
    assert min(writers.acked) > 0
    wait_synced(c.leader, f1, f2)
    assert digest(c.leader) == digest(f1) == digest(f2)
    for follower_process in (f1, f2):
        with follower_process.client() as follower:
            for n, count in enumerate(writers.acked):
                # Nothing applied twice, nothing lost: the follower's counters are the
                # number of acknowledged increments, its logs hold each step once.
                assert int(follower.get(f"counter:{n}")) == count
                assert follower.get(f"log:{n}") == "".join(f"{i}," for i in range(count)).encode()
                assert follower.llen(f"list:{n}") == count
            assert follower.dbsize() == 200_000 + 3 * len(writers.acked)
    log = c.leader.log_text()
    assert "Starting full sync of" in log and "succeeded" in log
    assert "Full sync to " in log  # progress lines from the snapshot child


# --- partial and full resync --------------------------------------------------------------


def _disconnected_while_writing(c: Cluster, f1: ServerProcess, writes: int, size: int) -> None:
    """Stop f1 until the leader drops its link (repl-timeout), writing meanwhile."""
    with stopped(f1):
        with c.leader.client(socket_timeout=10) as lead:
            for i in range(writes):  # the first waits for f1 until it leaves the ISR
                lead.set(f"k{i}", "x" * size)
        until(lambda: info(c.leader)["connected_slaves"] == "1", timeout=20)


def test_partial_resync_after_the_link_restarts(cluster: Callable[..., Cluster]) -> None:
    c = cluster(repl_timeout=2)
    f1, f2 = c.follower(), c.follower()
    wait_synced(c.leader, f1, f2)
    _disconnected_while_writing(c, f1, writes=100, size=10)  # ~4 KB: within the backlog
    wait_synced(c.leader, f1, f2)
    assert digest(c.leader) == digest(f1) == digest(f2)
    assert "Partial resynchronization request from" in c.leader.log_text()
    assert "Successful partial resynchronization" in f1.log_text()
    assert f1.log_text().count("Full resync from master") == 1  # only the first sync
    stats = c.leader.client().info("stats")
    assert (stats["sync_full"], stats["sync_partial_ok"]) == (2, 1)


def test_full_resync_when_the_backlog_no_longer_covers(cluster: Callable[..., Cluster]) -> None:
    c = cluster(repl_timeout=2, repl_backlog_size="16kb")
    f1, f2 = c.follower(), c.follower()
    wait_synced(c.leader, f1, f2)
    _disconnected_while_writing(c, f1, writes=500, size=80)  # ~55 KB: more than the backlog
    wait_synced(c.leader, f1, f2)
    assert digest(c.leader) == digest(f1) == digest(f2)
    assert f1.log_text().count("Full resync from master") == 2
    assert "outside the backlog" in c.leader.log_text()
    assert c.leader.client().info("stats")["sync_full"] == 3


# --- synchronous acknowledgement and the ISR ------------------------------------------------


def test_sigkilled_follower_leaves_the_isr_and_writes_continue(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    f1, f2 = c.follower(), c.follower()
    wait_synced(c.leader, f1, f2)
    assert isr(c.leader) == {fid(f1), fid(f2)}
    f2.kill()
    with c.leader.client(socket_timeout=10) as lead:
        for i in range(20):
            assert lead.set(f"k{i}", i)
    until(lambda: isr(c.leader) == {fid(f1)}, timeout=10)
    wait_synced(c.leader, f1)
    assert digest(c.leader) == digest(f1)


def test_sigstopped_follower_does_not_block_writes_beyond_the_timeout(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    f1, f2 = c.follower(), c.follower()
    wait_synced(c.leader, f1, f2)
    with stopped(f2):
        with c.leader.client(socket_timeout=10) as lead:
            assert lead.set("a", "1")  # waits for f2 until repl-ack-timeout, then goes on
            assert lead.set("b", "2")
        assert isr(c.leader) == {fid(f1)}
    # Once running again it catches up and rejoins.
    wait_synced(c.leader, f1, f2)
    assert digest(c.leader) == digest(f2)


def test_min_insync_replicas_refuses_writes_without_enough_followers(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster(min_insync_replicas=2)
    f1, f2 = c.follower(), c.follower()
    wait_synced(c.leader, f1, f2)
    with c.leader.client(socket_timeout=10) as lead:
        assert lead.set("k", "1")
        f2.kill()
        with contextlib.suppress(redis.ConnectionError, redis.ResponseError):
            lead.set("k", "2")  # in flight when f2 died: refused or indeterminate
        until(lambda: isr(c.leader) == {fid(f1)}, timeout=10)
    with c.leader.client(socket_timeout=10) as lead:
        with pytest.raises(redis.ResponseError, match=r"^NOREPLICAS"):
            lead.set("k", "3")
        assert lead.get("k") in (b"1", b"2")  # reads are still served


def test_no_dirty_read(cluster: Callable[..., Cluster]) -> None:
    """A reader never sees a value before the writer's SET is acknowledged."""
    c = cluster(repl_ack_timeout=30_000)
    f1 = c.follower()
    wait_synced(c.leader, f1)
    with c.leader.client() as lead:
        lead.set("k", "old")
    results: dict[str, Any] = {}

    def write() -> None:
        with c.leader.client(socket_timeout=20) as w:
            results["write"] = w.set("k", "new")
            results["write_at"] = time.monotonic()

    def read() -> None:
        with c.leader.client(socket_timeout=20) as r:
            results["read"] = r.get("k")
            results["read_at"] = time.monotonic()

    with stopped(f1):
        writer = threading.Thread(target=write)
        writer.start()
        until(lambda: info(c.leader)["master_repl_offset"] != "0", timeout=5)
        time.sleep(0.2)  # the SET has executed on the leader
        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(0.5)
        # Neither has an answer while the follower cannot acknowledge.
        assert "write" not in results and "read" not in results
    writer.join(20)
    reader.join(20)
    assert results["write"] is True
    assert results["read"] == b"new"


# --- failover by hand ---------------------------------------------------------------------------


def test_replicaof_no_one_promotes_and_the_other_follower_continues(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    f1, f2 = c.follower(), c.follower()
    wait_synced(c.leader, f1, f2)
    with c.leader.client() as lead:
        for i in range(50):
            lead.set(f"k{i}", i)
    wait_synced(c.leader, f1, f2)
    old_id = info(c.leader)["master_replid"]
    c.leader.stop()
    with f1.client() as new_leader:
        assert new_leader.execute_command("REPLICAOF", "NO", "ONE") in (b"OK", "OK", True)
    promoted = info(f1)
    assert promoted["role"] == "master"
    assert promoted["master_replid2"] == old_id
    with f2.client() as other:
        other.execute_command("REPLICAOF", f1.host, str(f1.port))
    wait_synced(f1, f2)
    with f1.client() as new_leader:
        assert new_leader.set("after", "failover")
    wait_synced(f1, f2)
    assert digest(f1) == digest(f2)
    assert "Partial resynchronization request from" in f1.log_text()
    assert f2.log_text().count("Full resync from master") == 1  # only the initial sync
    assert info(f2)["master_replid"] == promoted["master_replid"]


def test_psync2_catch_up_keeps_the_selected_database(cluster: Callable[..., Cluster]) -> None:
    """A lagging follower continues from the promoted one in the db the stream selected."""
    c = cluster(repl_timeout=2)
    f1, f2 = c.follower(), c.follower()
    wait_synced(c.leader, f1, f2)
    with c.leader.client(db=3) as lead:
        lead.set("a", "1")
    wait_synced(c.leader, f1, f2)
    with stopped(f2):
        # Wait until the leader dropped f2's link: what follows never reaches f2.
        until(lambda: info(c.leader)["connected_slaves"] == "1", timeout=20)
        with c.leader.client(db=3, socket_timeout=10) as lead:
            lead.set("b", "2")  # the stream is still in db 3: no SELECT before it
        wait_synced(c.leader, f1)
        c.leader.stop()
        with f1.client() as new_leader:
            new_leader.execute_command("REPLICAOF", "NO", "ONE")
    with f2.client() as other:
        other.execute_command("REPLICAOF", f1.host, str(f1.port))
    wait_synced(f1, f2)
    with f2.client(db=3) as other:
        assert other.get("b") == b"2"
    assert digest(f1) == digest(f2)
    assert f2.log_text().count("Full resync from master") == 1


def test_client_kill_type_master_resyncs_partially(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    f1 = c.follower()
    wait_synced(c.leader, f1)
    with c.leader.client() as lead:
        lead.set("k", "v")
    wait_synced(c.leader, f1)
    with f1.client() as follower:
        assert follower.execute_command("CLIENT", "KILL", "TYPE", "master") == 1
    until(lambda: "Successful partial resynchronization" in f1.log_text(), timeout=10)
    wait_synced(c.leader, f1)
    with c.leader.client() as lead:
        lead.set("k", "w")
    wait_synced(c.leader, f1)
    assert digest(c.leader) == digest(f1)
