"""Unit-test fixtures: an engine on a controllable clock, a client, and ``run``.

::

    def test_incr(client: Client, run: Run) -> None:
        assert run(client, "INCR", "n") == 1
        assert run(client, "GET", "n") == b"1"

``run(client, *args)`` executes one command line through ``Engine.execute``, the
whole pipeline (arity, MULTI, gates, replication, store events), with ``str`` and
``int`` arguments encoded to bytes; it returns the reply as the handler made it:
``bytes``, ``int``, ``list``, ``None``, ``OK`` (``Raw(b"+OK\\r\\n")``), or a
``CommandError`` (compare it with ``CommandError("ERR ...")``).

``clock`` is the keyspace's wall clock (starts at 1_700_000_000 s, never moves by
itself): ``clock.advance(1.5)``. ``propagated`` lists what the engine replicated:
``(db, argv)`` pairs, one per command sent to the replicas.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from respcache.commands import Blocked, Client, Engine
from respcache.config import Config
from respcache.protocol.types import Reply


class Clock:
    """A wall clock in seconds that moves only when told to."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def run(client: Client, *args: bytes | str | int) -> Reply | Blocked:
    """Execute one command for ``client`` and return its reply."""
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return client.engine.execute(client, argv)


Run = Callable[..., "Reply | Blocked"]


@pytest.fixture(name="run")
def run_fixture() -> Run:
    """:func:`run`, for tests that prefer a fixture to an import."""
    return run


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(clock: Clock, tmp_path: Path) -> Engine:
    # SAVE writes in tmp_path, not in the work tree; handlers of DEBUG are tested too.
    engine = Engine(Config(dir=str(tmp_path), enable_debug_command="yes"))
    engine.keyspace.clock = clock
    engine.keyspace.update_clock()
    return engine


@pytest.fixture
def client(engine: Engine) -> Client:
    return engine.new_client()


@pytest.fixture
def propagated(engine: Engine) -> list[tuple[int, list[bytes]]]:
    """Every command the engine hands to replication, as (db, argv)."""
    out: list[tuple[int, list[bytes]]] = []
    engine.propagator = lambda db, commands: out.extend((db, argv) for argv in commands)
    return out
