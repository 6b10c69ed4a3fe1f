"""A node's replication history recovered from disk: what it claims, and leading from it."""

from __future__ import annotations

import asyncio
import io

from respcache.commands import Engine
from respcache.config import Config
from respcache.persistence.rdb import LoadResult, load_rdb, write_keyspace
from respcache.replication import Replication
from respcache.replication.backlog import psync_decision
from respcache.server.gate import CommitGate

REPLID = "ab" * 20


def test_the_rdb_file_carries_the_epoch_beside_repl_id_and_offset() -> None:
    engine = Engine(Config())
    engine.keyspace.dbs[0].data[b"k"] = b"v"
    out = io.BytesIO()
    write_keyspace(
        out,
        engine.keyspace,
        repl_id=REPLID,
        repl_offset=1234,
        extra_aux={"respcache-epoch": 7},
    )
    loaded = Engine(Config())
    result: LoadResult = load_rdb(out.getvalue(), loaded.keyspace)
    assert (result.repl_id, result.repl_offset) == (REPLID, 1234)
    assert result.aux["respcache-epoch"] == b"7"
    assert loaded.keyspace.dbs[0].data[b"k"] == b"v"


def test_recovered_history_is_claimed_then_shifted_when_leading() -> None:
    async def main() -> None:
        engine = Engine(Config())
        gate = CommitGate()
        rep = Replication(engine, gate, engine.config)
        rep.start(asyncio.get_running_loop())
        rep.managed = True
        assert rep.data_claim() is None  # nothing from any history yet
        rep.step_down("waiting for ZooKeeper to decide the roles")
        rep.recover(REPLID, 1234, 7)
        assert rep.data_claim() == (REPLID, 1234, 7)
        assert rep.status().offset == 1234 and rep.epoch == 7
        assert gate.committed == gate.barrier == 1234
        rep.become_leader(8, ["n1"])
        # A new history from the recovered offset: a node holding more of the old one
        # (a tail nobody acknowledged) cannot continue with us, one at our offset can.
        assert rep.history.replid != REPLID
        assert (rep.history.replid2, rep.history.second_replid_offset) == (REPLID, 1235)
        assert psync_decision(rep.history, rep.backlog, REPLID, 1300).full
        assert not psync_decision(rep.history, rep.backlog, REPLID, 1235).full
        assert rep.data_claim() == (rep.history.replid, 1234, 8)

    asyncio.run(main())
