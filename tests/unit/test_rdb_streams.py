"""Streams and function libraries in RDB files and DUMP payloads, without sockets
(interchange with redis-server: tests/integration/test_aof_processes.py)."""

from __future__ import annotations

from pathlib import Path

from respcache.commands import Client, Engine
from respcache.config import Config
from respcache.errors import CommandError
from respcache.persistence.dump import create_payload, load_payload
from respcache.persistence.rdb import load_rdb, save_keyspace_bytes
from respcache.protocol.types import OK
from respcache.store.stream import StreamValue

LIBRARY = b"#!lua name=lib1\nredis.register_function('f1', function() return 1 end)"


def run(client: Client, *args: str | int | bytes) -> object:
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return client.engine.execute(client, argv)


def _engine(tmp_path: Path) -> Engine:
    tmp_path.mkdir(exist_ok=True)
    return Engine(Config(dir=str(tmp_path)))


def _fill(c: Client) -> None:
    for i in range(150):
        fields = ("f", i, "g", "x" * (i % 4)) if i % 3 else ("other", i)
        run(c, "XADD", "st", f"{1000 + i // 2}-{i % 2}", *fields)
    run(c, "XGROUP", "CREATE", "st", "g1", "0")
    run(c, "XGROUP", "CREATE", "st", "g2", "$")
    run(c, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", 7, "STREAMS", "st", ">")
    run(c, "XREADGROUP", "GROUP", "g1", "bob", "COUNT", 3, "STREAMS", "st", ">")
    run(c, "XACK", "st", "g1", "1000-0", "1001-0")
    run(c, "XDEL", "st", "1010-1", "1020-0")
    run(c, "XGROUP", "CREATECONSUMER", "st", "g2", "idle")
    run(c, "FUNCTION", "LOAD", LIBRARY)


def _state(c: Client) -> object:
    return (
        run(c, "XINFO", "STREAM", "st", "FULL"),
        run(c, "XRANGE", "st", "-", "+"),
        run(c, "FUNCTION", "LIST", "WITHCODE"),
        run(c, "FCALL", "f1", 0),
    )


def test_stream_and_functions_round_trip_through_an_rdb_file(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    c = engine.new_client()
    _fill(c)
    data = save_keyspace_bytes(engine.keyspace)
    assert data.count(bytes([245])) >= 1  # RDB_OPCODE_FUNCTION2
    again = _engine(tmp_path / "b")
    result = load_rdb(data, again.keyspace)
    assert result.functions == [LIBRARY]
    assert _state(again.new_client()) == _state(c)


def test_stream_payload_round_trips_and_is_type_19(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    c = engine.new_client()
    _fill(c)
    value = engine.keyspace.dbs[0].data[b"st"]
    payload = create_payload(value)
    assert payload[0] == 19  # RDB_TYPE_STREAM_LISTPACKS_2
    loaded = load_payload(payload)
    assert isinstance(loaded, StreamValue)
    assert create_payload(loaded) == payload
    assert loaded.estimate() == loaded.nbytes


def test_debug_reload_noflush_refuses_a_library_already_loaded_unless_merge(
    tmp_path: Path,
) -> None:
    """rdbFunctionLoad without RDBFLAGS_ALLOW_DUP: 'Library ... already exists' fails the load."""
    engine = Engine(Config(dir=str(tmp_path), enable_debug_command="yes"))
    c = engine.new_client()
    run(c, "FUNCTION", "LOAD", LIBRARY)
    reload_error = "ERR Error trying to load the RDB dump, check server logs."
    reply = run(c, "DEBUG", "RELOAD", "NOFLUSH")
    assert isinstance(reply, CommandError) and reply.message == reload_error
    assert run(c, "DEBUG", "RELOAD", "NOFLUSH", "MERGE") is OK
    assert run(c, "DEBUG", "RELOAD") is OK  # flushes the libraries first, then loads them
    assert run(c, "FCALL", "f1", 0) == b":1\r\n"
    stats = run(c, "FUNCTION", "STATS")
    assert stats == {
        b"running_script": None,
        b"engines": {b"LUA": {b"libraries_count": 1, b"functions_count": 1}},
    }
