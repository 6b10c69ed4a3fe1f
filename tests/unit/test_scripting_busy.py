"""A script past busy-reply-threshold: the BUSY gate, SCRIPT KILL, FUNCTION KILL, yielding.

The engine gets a fake ``call_later`` (a list of callbacks the test runs by
hand, as the event loop's turns): a command that may run a script runs on a
greenlet, a script past the threshold leaves it for "the loop" after each
100000 Lua instructions, and other clients' commands meet the BUSY gate.
The threshold is 0, so a script is timed out at its first hook. Expected
texts are Redis 7.0.15's (src/server.c shared.slowevalerr/slowscripterr,
src/script.c scriptKill), checked against a real redis-server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import run

from respcache.commands import Blocked, Client, Engine
from respcache.commands.scripting import scripting_state
from respcache.errors import CommandError
from respcache.protocol.types import OK

BUSY_EVAL = CommandError(
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
)
BUSY_FUNCTION = CommandError(
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
)
UNKILLABLE = CommandError(
    "UNKILLABLE Sorry the script already executed write commands against the dataset. "
    "You can either wait the script termination or kill the server in a hard way using "
    "the SHUTDOWN NOSAVE command."
)
LOOP = "while true do end"


class Loop:
    """The event loop's timer queue, run by the test one turn at a time."""

    def __init__(self) -> None:
        self.ready: list[Callable[[], None]] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> Any:
        self.ready.append(callback)
        return None

    def turn(self) -> None:
        ready, self.ready = self.ready, []
        for callback in ready:
            callback()

    def until(self, client: Client, turns: int = 1000) -> None:
        """Turns until ``client``'s parked command has answered."""
        for _ in range(turns):
            if client.pushed:
                return
            self.turn()
        raise AssertionError("the script did not end")


@pytest.fixture
def loop(engine: Engine) -> Loop:
    engine.config.set("busy-reply-threshold", "0")
    fake = Loop()
    engine.call_later = fake.call_later
    return fake


@pytest.fixture
def other(engine: Engine) -> Client:
    return engine.new_client()


def test_other_clients_get_busy_until_script_kill(
    engine: Engine, loop: Loop, client: Client, other: Client
) -> None:
    assert isinstance(run(client, "EVAL", LOOP, 0), Blocked)  # parked: the loop goes on
    assert engine.busy is not None
    assert run(other, "PING") == BUSY_EVAL
    assert run(other, "GET", "k") == BUSY_EVAL
    assert run(other, "FUNCTION", "STATS") == BUSY_EVAL  # (only for functions)
    assert run(other, "FUNCTION", "KILL") == BUSY_EVAL
    assert run(other, "SHUTDOWN") == BUSY_EVAL  # only SHUTDOWN NOSAVE
    # Transactions commands are allowed; what they would queue is refused.
    assert run(other, "MULTI") == OK
    assert run(other, "SET", "k", "v") == BUSY_EVAL
    assert run(other, "EXEC") == CommandError(
        "EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. "
        "You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    )
    loop.turn()  # the script goes on running
    assert not client.pushed
    assert run(other, "SCRIPT", "KILL") == OK
    loop.until(client)
    sha = "694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7"
    assert client.pushed == [
        CommandError(
            f"ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1."
        )
    ]
    assert engine.busy is None
    assert run(other, "PING") != BUSY_EVAL
    assert run(other, "SCRIPT", "KILL") == CommandError(
        "NOTBUSY No scripts in execution right now."
    )
    assert run(other, "GET", "k") is None  # the refused transaction wrote nothing


def test_kill_is_not_caught_by_pcall(
    engine: Engine, loop: Loop, client: Client, other: Client
) -> None:
    body = "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end"
    assert isinstance(run(client, "EVAL", body, 0), Blocked)
    assert run(other, "SCRIPT", "KILL") == OK
    loop.until(client)
    reply = client.pushed[0]
    assert isinstance(reply, CommandError) and "killed by user" in reply.message


def test_a_script_that_wrote_is_unkillable(
    engine: Engine, loop: Loop, client: Client, other: Client, propagated: list[Any]
) -> None:
    body = "redis.call('set', KEYS[1], 'y') while true do end"
    assert isinstance(run(client, "EVAL", body, 1, "x"), Blocked)
    assert run(other, "SCRIPT", "KILL") == UNKILLABLE
    assert run(other, "PING") == BUSY_EVAL
    loop.turn()
    assert run(other, "SCRIPT", "KILL") == UNKILLABLE
    # (SHUTDOWN NOSAVE would stop the server here; the test ends the script itself.)
    running = scripting_state(engine).running
    assert running is not None
    running.killed = True
    loop.until(client)
    # The write before the kill stays, and is replicated as the script's effect.
    assert run(other, "GET", "x") == b"y"
    assert [argv for _, argv in propagated] == [[b"set", b"x", b"y"]]


def test_a_slow_script_that_ends_answers_its_caller(
    engine: Engine, loop: Loop, client: Client, other: Client, propagated: list[Any]
) -> None:
    body = "redis.call('incr', KEYS[1]) for i = 1, 300000 do end redis.call('incr', KEYS[1]) return 'done'"
    assert isinstance(run(client, "EVAL", body, 1, "n"), Blocked)
    assert run(other, "INCR", "n") == BUSY_EVAL
    loop.until(client)
    assert [bytes(r) for r in client.pushed] == [b"$4\r\ndone\r\n"]  # type: ignore[arg-type]
    assert client.blocked is None
    assert run(other, "GET", "n") == b"2"
    assert [argv for _, argv in propagated] == [
        [b"MULTI"],
        [b"incr", b"n"],
        [b"incr", b"n"],
        [b"EXEC"],
    ]
    assert engine.stats.commands["eval"].calls == 1


def test_function_kill(engine: Engine, loop: Loop, client: Client, other: Client) -> None:
    library = "#!lua name=lib\nredis.register_function('spin', function() while true do end end)"
    assert run(client, "FUNCTION", "LOAD", library) == b"lib"
    assert isinstance(run(client, "FCALL", "spin", 0), Blocked)
    assert run(other, "PING") == BUSY_FUNCTION
    assert run(other, "SCRIPT", "KILL") == BUSY_FUNCTION  # a function: FUNCTION KILL only
    stats = run(other, "FUNCTION", "STATS")
    assert isinstance(stats, dict)
    running = stats[b"running_script"]
    assert running[b"name"] == b"spin" and running[b"command"] == [b"FCALL", b"spin", b"0"]
    assert run(other, "FUNCTION", "KILL") == OK
    loop.until(client)
    assert client.pushed == [
        CommandError(
            "ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
        )
    ]
    assert run(other, "FUNCTION", "KILL") == CommandError(
        "NOTBUSY No scripts in execution right now."
    )


def test_a_script_in_exec_yields_too(
    engine: Engine, loop: Loop, client: Client, other: Client
) -> None:
    assert run(client, "MULTI") == OK
    run(client, "SET", "a", "1")
    run(client, "EVAL", LOOP, 0)
    assert isinstance(run(client, "EXEC"), Blocked)
    assert run(other, "GET", "a") == BUSY_EVAL
    # The SET ran before the script, not in it: the script itself wrote nothing.
    assert run(other, "SCRIPT", "KILL") == OK
    loop.until(client)
    [reply] = client.pushed
    assert isinstance(reply, list) and reply[0] == OK
    assert isinstance(reply[1], CommandError) and "killed by user" in reply[1].message
    assert run(other, "GET", "a") == b"1"


def test_below_the_threshold_nothing_yields(engine: Engine, client: Client) -> None:
    engine.call_later = lambda delay, callback: pytest.fail("a fast script never yields")
    assert run(client, "EVAL", "for i = 1, 300000 do end return 1", 0) == b":1\r\n"
    assert engine.busy is None
