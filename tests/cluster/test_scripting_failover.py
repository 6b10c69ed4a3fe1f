"""Scripts and functions across a leader's SIGKILL, on real nodes and a real ZooKeeper.

A script's writes replicate as one unit (its commands in MULTI/EXEC) and the caller's
reply waits for every in-sync follower, so after the leader dies mid-load the new
leader holds each script's writes entirely or not at all, and every acknowledged one.
FUNCTION LOAD replicates too: the new leader has the library without anyone loading it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis
from failover_cluster import cluster_of, until_acknowledged

from respcache.coordination.zkserver import ZooKeeperServer

pytestmark = pytest.mark.cluster

PARTS = 5
# One script call writes PARTS keys and bumps a counter: all of it, or none of it.
SCRIPT = """
for j = 1, tonumber(ARGV[2]) do
  redis.call('SET', KEYS[1] .. ':' .. j, ARGV[1])
end
return redis.call('INCR', KEYS[2])
"""
LIBRARY = """#!lua name=units
redis.register_function('unit_len', function(keys, args)
  return redis.call('STRLEN', keys[1])
end)
"""


def test_script_writes_are_all_or_nothing_and_functions_survive_a_leader_sigkill(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    with cluster_of(zookeeper, tmp_path) as cluster:
        old = cluster.leader()
        cluster.wait_in_sync(old)
        setup = old.client()
        assert setup.function_load(LIBRARY) == b"units"
        setup.close()

        acked: list[int] = []
        attempted: list[int] = []
        stop = threading.Event()

        def writer() -> None:
            client = cluster.master_client(retries=0)
            run = client.register_script(SCRIPT)
            i = 0
            while not stop.is_set():
                i += 1
                attempted.append(i)
                try:
                    run(keys=[f"unit:{i}", "units:count"], args=[f"v{i}", PARTS])
                except redis.RedisError:
                    time.sleep(0.02)  # NOTCOMMITTED, connection lost, no leader yet
                    continue
                acked.append(i)
            client.close()

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        until = time.monotonic() + 10
        while len(acked) < 30 and time.monotonic() < until:
            time.sleep(0.01)
        assert len(acked) >= 30, "the scripts were not acknowledged before the kill"
        cluster.kill(old)
        new = cluster.leader(exclude=old)
        client = new.client()
        until_acknowledged(lambda: client.set("after-kill", "1"))
        count_at = len(acked)
        until = time.monotonic() + 10
        while len(acked) < count_at + 10 and time.monotonic() < until:
            time.sleep(0.01)
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()

        torn = []
        for i in attempted:
            values = client.mget([f"unit:{i}:{j}" for j in range(1, PARTS + 1)])
            present = [v for v in values if v is not None]
            if present and len(present) != PARTS:
                torn.append((i, values))
            if i in acked:
                assert present == [f"v{i}".encode()] * PARTS, (
                    f"acknowledged script {i} lost ({count_at} acknowledged before the kill)"
                )
        assert not torn, f"scripts applied in part on the new leader: {torn[:3]}"
        # The counter moved once per applied script: applied ones are exactly those whose
        # keys are there (acknowledged, plus any whose reply was lost with the leader).
        applied = sum(1 for i in attempted if client.exists(f"unit:{i}:1"))
        assert int(client.get("units:count") or 0) == applied
        # The library was replicated: the new leader runs it.
        client.set("probe", "12345")
        assert client.fcall("unit_len", 1, "probe") == 5
        (library,) = client.function_list()  # RESP2: a flat list of field, value
        assert library[library.index(b"library_name") + 1] == b"units"
        client.close()
