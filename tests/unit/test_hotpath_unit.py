"""The hot path's shortcuts give the same results as the long way (issue 15).

Gate plans (steps left out only where they could never refuse), the batch clock,
string memory accounting inlined in ``Database.set``, and the replies the
connection encodes itself (bulk strings, small integers, pre-encoded ``Raw``).
"""

from __future__ import annotations

from typing import Any

from respcache.commands import Client, Engine
from respcache.commands.gates import refuses_only
from respcache.commands.registry import CommandSpec
from respcache.config import Config
from respcache.errors import CommandError
from respcache.protocol.encoder import encode, encode_command
from respcache.protocol.types import OK, PONG, Reply
from respcache.server.app import Server
from respcache.server.connection import RespConnection
from respcache.store.keyspace import Keyspace
from respcache.store.values import HashValue, entry_size


def _run(engine: Engine, client: Client, *args: str) -> Any:
    return engine.execute(client, [a.encode() for a in args])


def test_a_marked_gate_step_runs_only_for_the_commands_it_may_refuse() -> None:
    engine = Engine(Config())
    client = engine.new_client()
    seen: list[str] = []

    @refuses_only(lambda spec: spec.name == "get")
    def only_get(
        c: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> CommandError | None:
        seen.append(spec.name)
        return CommandError("ERR refused by the test")

    engine.gates.append(only_get)  # added after the plans of the default steps exist
    assert _run(engine, client, "SET", "k", "v") == OK
    refused = _run(engine, client, "GET", "k")
    assert isinstance(refused, CommandError) and refused.message == "ERR refused by the test"
    assert seen == ["get"]


def test_an_unmarked_gate_step_added_later_runs_for_every_command() -> None:
    engine = Engine(Config())
    client = engine.new_client()
    assert _run(engine, client, "PING") == PONG  # plans computed for PING already
    seen: list[str] = []

    def every(
        c: Client, spec: CommandSpec, argv: list[bytes], writes: bool, reads: bool
    ) -> CommandError | None:
        seen.append(spec.name)
        return None

    engine.gates.append(every)
    _run(engine, client, "PING")
    _run(engine, client, "SET", "k", "v")
    _run(engine, client, "MULTI")
    _run(engine, client, "GET", "k")
    _run(engine, client, "EXEC")
    assert seen == ["ping", "set", "multi", "get", "exec"]


def test_the_default_marks_keep_refusals_where_redis_refuses() -> None:
    engine = Engine(Config(requirepass="secret"))
    client = engine.new_client()
    assert isinstance(_run(engine, client, "GET", "k"), CommandError)  # NOAUTH
    assert _run(engine, client, "AUTH", "secret") == OK
    debug = _run(engine, client, "DEBUG", "SLEEP", "0")
    assert isinstance(debug, CommandError) and "enable-debug-command" in debug.message
    _run(engine, client, "MULTI")
    watch = _run(engine, client, "WATCH", "k")
    assert isinstance(watch, CommandError)
    assert watch.message == "ERR WATCH inside MULTI is not allowed"


def test_string_memory_accounting_matches_entry_size() -> None:
    ks = Keyspace(1)
    db = ks.dbs[0]
    db.set(b"a", b"x" * 100)
    db.set(b"b" * 40, b"")
    db.set(b"a", b"y" * 7)  # overwrite a string with a shorter one
    db.set(b"b" * 40, b"z" * 300)
    db.set_expire(b"a", 10**15)
    db.set(b"a", b"w" * 33)  # drops the TTL
    hash_value = HashValue()
    db.set(b"c", hash_value)
    db.set(b"c", b"now a string")
    db.set(b"d", b"string first")
    db.set(b"d", HashValue())
    expected = sum(entry_size(k, v) for k, v in db.data.items())
    assert ks.used_memory == expected
    assert db.get_expire(b"a") is None
    assert list(db.data) == [b"b" * 40, b"a", b"c", b"d"]  # LRU order: last written last


def test_a_held_clock_stands_for_a_batch_and_moves_after_it() -> None:
    now = [1000.0]
    engine = Engine(Config(), keyspace=Keyspace(16, clock=lambda: now[0]))
    client = engine.new_client()
    ks = engine.keyspace
    ks.hold_clock(2**62)
    assert ks.now_ms == 1_000_000
    now[0] = 2000.0
    _run(engine, client, "SET", "k", "v")
    assert ks.now_ms == 1_000_000  # the batch's reading
    ks.release_clock()
    _run(engine, client, "SET", "k", "v")
    assert ks.now_ms == 2_000_000  # per command again
    ks.hold_clock(0)  # a hold that has run out: the next command reads the clock
    now[0] = 3000.0
    _run(engine, client, "GET", "k")
    assert ks.now_ms == 3_000_000


class _Transport:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name in ("peername", "sockname") else default

    def close(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False


def _exchange(conn: RespConnection, transport: _Transport, *commands: list[bytes]) -> bytes:
    transport.data.clear()
    conn.data_received(b"".join(encode_command(c) for c in commands))
    return bytes(transport.data)


def test_replies_the_connection_encodes_itself_are_the_encoders_bytes() -> None:
    server = Server(Config(save=""))
    conn = RespConnection(server)
    transport = _Transport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    big = b"v" * 20000
    commands: list[list[bytes]] = [
        [b"SET", b"k", b"x" * 100],
        [b"GET", b"k"],
        [b"SET", b"big", big],
        [b"GET", b"big"],
        [b"SET", b"n", b"1022"],
        [b"INCR", b"n"],
        [b"INCR", b"n"],  # 1024: past the pre-encoded ones
        [b"SET", b"neg", b"-5"],
        [b"INCR", b"neg"],
        [b"EXISTS", b"k"],
        [b"GET", b"missing"],
    ]
    expected: list[Reply] = [OK, b"x" * 100, OK, big, OK, 1023, 1024, OK, -4, 1, None]
    for resp3 in (False, True):
        if resp3:
            _exchange(conn, transport, [b"HELLO", b"3"])
        got = _exchange(conn, transport, *commands)
        assert got == b"".join(encode(r, resp3) for r in expected)
    conn.connection_lost(None)
