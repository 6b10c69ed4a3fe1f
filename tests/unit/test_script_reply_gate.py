"""A script's reply waits for the followers like a write's (cluster node, no sockets).

EVAL, EVALSHA and FCALL are flagged neither ``write`` nor ``readonly`` (``may_replicate``),
yet their scripts' writes replicate as MULTI/EXEC. Their replies must be held by the
commit gate until every in-sync follower acknowledged those writes, or an acknowledged
script is lost when the leader dies before its followers applied it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from respcache.commands import Client, Engine
from respcache.config import Config
from respcache.protocol.encoder import encode_command
from respcache.server.app import Server
from respcache.server.connection import RespConnection


class _Transport:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def is_closing(self) -> bool:
        return False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None: ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class _Follower(Client):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.transport = _Transport()

    def connection_info(self) -> dict[str, str]:
        return {"addr": "127.0.0.1:50001", "laddr": "", "fd": "-1"}


def _run(client: Client, *args: str | int) -> Any:
    return client.engine.execute(client, [str(a).encode() for a in args])


async def _tick() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


SCRIPT = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])"
LIBRARY = (
    "#!lua name=gatelib\n"
    "redis.register_function('bump', function(keys, args) return redis.call('INCR', keys[1]) end)"
)


@pytest.mark.parametrize(
    "command",
    [
        ["EVAL", SCRIPT, "2", "k", "n", "v"],
        ["FCALL", "bump", "1", "n"],
        ["EVALSHA", "<sha>", "2", "k", "n", "v"],
    ],
)
def test_a_scripts_reply_waits_until_the_isr_acknowledged_its_writes(command: list[str]) -> None:
    async def main() -> None:
        server = Server(Config(save="", zookeeper="127.0.0.1:1"))
        engine = server.engine
        rep = server.replication
        rep.start(asyncio.get_running_loop())
        rep.node_id = "n1"
        rep.become_leader(1, ["n1", "n2"])
        follower = _Follower(engine)
        engine.add_client(follower)
        _run(follower, "REPLCONF", "listening-port", 7001)
        _run(follower, "REPLCONF", "node-id", "n2", "epoch", 1)
        _run(follower, "PSYNC", rep.history.replid, rep.status().offset + 1)
        _run(follower, "REPLCONF", "ACK", rep.status().offset)
        await _tick()
        conn = RespConnection(server)
        transport = _Transport()
        conn.connection_made(transport)  # type: ignore[arg-type]
        setup = engine.new_client()
        sha = _run(setup, "SCRIPT", "LOAD", SCRIPT)
        _run(setup, "FUNCTION", "LOAD", LIBRARY)
        await _tick()
        _run(follower, "REPLCONF", "ACK", rep.status().offset)
        assert server.gate.open
        argv = [a.replace("<sha>", sha.decode()).encode() for a in command]
        conn.data_received(encode_command(argv))
        await _tick()
        assert server.gate.barrier > server.gate.committed  # the script's writes, in flight
        assert bytes(transport.data) == b""  # held: no follower has them yet
        _run(follower, "REPLCONF", "ACK", server.gate.barrier)
        assert bytes(transport.data) == b":1\r\n"
        conn.connection_lost(None)
        server.cluster = None

    asyncio.run(main())


@pytest.mark.parametrize(
    "command", [["EVAL", SCRIPT, "2", "k", "n", "v"], ["FCALL", "bump", "1", "n"]]
)
def test_a_script_waits_during_a_handoff_like_a_write(command: list[str]) -> None:
    # Nothing may enter the stream while a FAILOVER hands leadership over: a script
    # (which may write) is held as SET is, and runs once writes resume.
    from respcache.commands.admission import Hold

    async def main() -> None:
        server = Server(Config(save="", zookeeper="127.0.0.1:1"))
        engine = server.engine
        assert server.cluster is not None
        rep = server.replication
        rep.start(asyncio.get_running_loop())
        rep.node_id = "n1"
        rep.become_leader(1, ["n1", "n2"])
        follower = _Follower(engine)
        engine.add_client(follower)
        _run(follower, "REPLCONF", "listening-port", 7001)
        _run(follower, "REPLCONF", "node-id", "n2", "epoch", 1)
        _run(follower, "PSYNC", rep.history.replid, rep.status().offset + 1)
        _run(follower, "REPLCONF", "ACK", rep.status().offset)
        await _tick()
        client = engine.new_client()
        _run(client, "FUNCTION", "LOAD", LIBRARY)
        server.cluster._pause_writes()
        assert isinstance(_run(client, "SET", "k", "v"), Hold)
        assert isinstance(_run(client, *command), Hold)
        server.cluster.writes_paused = False
        assert not isinstance(_run(client, *command), Hold)
        server.cluster = None

    asyncio.run(main())


def test_function_list_waits_for_the_load_it_shows() -> None:
    # FUNCTION LIST is flagged neither readonly nor write, yet it shows replicated state:
    # another client's FUNCTION LOAD must not be visible before the followers have it.
    async def main() -> None:
        server = Server(Config(save="", zookeeper="127.0.0.1:1"))
        engine = server.engine
        rep = server.replication
        rep.start(asyncio.get_running_loop())
        rep.node_id = "n1"
        rep.become_leader(1, ["n1", "n2"])
        follower = _Follower(engine)
        engine.add_client(follower)
        _run(follower, "REPLCONF", "listening-port", 7001)
        _run(follower, "REPLCONF", "node-id", "n2", "epoch", 1)
        _run(follower, "PSYNC", rep.history.replid, rep.status().offset + 1)
        _run(follower, "REPLCONF", "ACK", rep.status().offset)
        await _tick()
        conn = RespConnection(server)
        transport = _Transport()
        conn.connection_made(transport)  # type: ignore[arg-type]
        _run(engine.new_client(), "FUNCTION", "LOAD", LIBRARY)  # not acknowledged yet
        await _tick()
        assert server.gate.barrier > server.gate.committed
        conn.data_received(encode_command([b"FUNCTION", b"LIST"]))
        await _tick()
        assert bytes(transport.data) == b""
        _run(follower, "REPLCONF", "ACK", server.gate.barrier)
        assert b"gatelib" in bytes(transport.data)
        conn.connection_lost(None)
        server.cluster = None

    asyncio.run(main())
