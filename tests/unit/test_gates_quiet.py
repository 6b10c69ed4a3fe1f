"""``Gates.quiet``, the admission shortcut, never admits what a step would refuse (issue 15).

``Engine._admit`` skips the steps when ``Gates.quiet`` says none of them could refuse
the command in the node's state. Each state below is one that some step refuses in (or
may refuse in); for every command the shortcut may cover, either ``quiet`` is False or
every default step answers None, and the refusal still reaches the client.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from respcache.commands import Client, Engine
from respcache.commands.admission import Standalone
from respcache.commands.registry import CommandSpec
from respcache.config import Config
from respcache.errors import CommandError

State = Callable[[Engine, Client], None]


def _normal(engine: Engine, client: Client) -> None:
    return None


def _unauthenticated(engine: Engine, client: Client) -> None:
    engine.acl.set_requirepass("secret")
    client.authenticated = False


def _in_multi(engine: Engine, client: Client) -> None:
    engine.execute(client, [b"MULTI"])


class _Clustered(Standalone):
    """A node with admission rules of its own (here: Standalone's answers, another type)."""


def _clustered(engine: Engine, client: Client) -> None:
    engine.node = _Clustered()


def _maxmemory(engine: Engine, client: Client) -> None:
    engine.keyspace.maxmemory = 1


def _command_gate(engine: Engine, client: Client) -> None:
    engine.command_gate = lambda c, spec, writes: CommandError("NOREPLICAS test")


def _read_only(engine: Engine, client: Client) -> None:
    engine.read_only = True


def _busy(engine: Engine, client: Client) -> None:
    engine.busy = CommandError("BUSY test")


def _paused(engine: Engine, client: Client) -> None:
    engine.execute(engine.new_client(), [b"CLIENT", b"PAUSE", b"100000", b"WRITE"])


def _bgsave_failed(engine: Engine, client: Client) -> None:
    engine.persistence.last_bgsave_ok = False
    engine.config.set("save", "3600 1")


def _aof_write_failed(engine: Engine, client: Client) -> None:
    engine.aof.last_write_ok = False


def _aof_fsync_failed(engine: Engine, client: Client) -> None:
    engine.aof.incr.bio_ok = False


def _loading(engine: Engine, client: Client) -> None:
    engine.persistence.progress.active = True


def _subscribed(engine: Engine, client: Client) -> None:
    client.subscriptions.add(b"channel")


def _restricted_user(engine: Engine, client: Client) -> None:
    engine.execute(client, [b"ACL", b"SETUSER", b"limited", b"on", b"nopass", b"+get", b"~a*"])
    client.user = engine.acl.users["limited"]


STATES: dict[str, State] = {
    "normal": _normal,
    "unauthenticated": _unauthenticated,
    "in MULTI": _in_multi,
    "clustered node": _clustered,
    "maxmemory": _maxmemory,
    "command gate": _command_gate,
    "read-only": _read_only,
    "busy script": _busy,
    "paused": _paused,
    "bgsave failed": _bgsave_failed,
    "AOF write failed": _aof_write_failed,
    "AOF fsync failed": _aof_fsync_failed,
    "loading": _loading,
    "RESP2 subscribed": _subscribed,
    "restricted user": _restricted_user,
}

COMMANDS = [
    [b"SET", b"k", b"v"],
    [b"GET", b"k"],
    [b"INCR", b"n"],
    [b"PING"],
    [b"SUBSCRIBE", b"c"],
    [b"CONFIG", b"GET", b"maxmemory"],
    [b"CLIENT", b"ID"],
    [b"AUTH", b"secret"],
    [b"DEBUG", b"SLEEP", b"0"],
    [b"EXEC"],
    [b"EVAL", b"return 1", b"0"],
]


@pytest.mark.parametrize("state", list(STATES))
def test_quiet_admits_only_what_every_step_passes(state: str) -> None:
    engine = Engine(Config())
    client = engine.new_client()
    STATES[state](engine, client)
    gates = engine.gate_steps
    for argv in COMMANDS:
        spec = engine.lookup(argv)
        assert isinstance(spec, CommandSpec)
        gates.plan(spec)
        if id(spec) not in gates.may_skip or not gates.quiet(client, spec):
            continue
        for step in gates.steps:
            assert step(client, spec, argv, spec.is_write, "readonly" in spec.flags) is None, (
                state,
                argv,
                step,
            )


@pytest.mark.parametrize("state", [name for name in STATES if name != "normal"])
def test_quiet_is_false_in_every_state_a_step_may_refuse_in(state: str) -> None:
    engine = Engine(Config())
    client = engine.new_client()
    STATES[state](engine, client)
    spec = engine.lookup([b"SET", b"k", b"v"])
    assert isinstance(spec, CommandSpec)
    engine.gate_steps.plan(spec)
    assert not engine.gate_steps.quiet(client, spec)


def test_the_normal_state_takes_the_shortcut_for_plain_commands_only() -> None:
    engine = Engine(Config())
    client = engine.new_client()
    gates = engine.gate_steps
    for argv in ([b"SET", b"k", b"v"], [b"GET", b"k"], [b"EXEC"], [b"DEBUG", b"SLEEP", b"0"]):
        spec = engine.lookup(argv)
        assert isinstance(spec, CommandSpec)
        gates.plan(spec)
    set_spec, get_spec = engine.lookup([b"SET"]), engine.lookup([b"GET"])
    exec_spec, debug_spec = engine.lookup([b"EXEC"]), engine.lookup([b"DEBUG", b"SLEEP"])
    assert set_spec is not None and get_spec is not None
    assert gates.quiet(client, set_spec) and gates.quiet(client, get_spec)
    assert id(set_spec) in gates.may_skip and id(get_spec) in gates.may_skip
    assert id(exec_spec) not in gates.may_skip  # its flags are its queue's
    assert id(debug_spec) not in gates.may_skip  # enable-debug-command decides


def test_an_added_step_turns_the_shortcut_off() -> None:
    engine = Engine(Config())
    client = engine.new_client()
    assert engine.execute(client, [b"SET", b"k", b"v"]) is not None
    engine.gates.append(lambda c, spec, argv, writes, reads: CommandError("ERR extra step"))
    refused = engine.execute(client, [b"SET", b"k", b"v"])
    assert isinstance(refused, CommandError) and refused.message == "ERR extra step"
    assert not engine.gate_steps.defaults_only and not engine.gate_steps.may_skip


@pytest.mark.parametrize(
    ("state", "argv", "prefix"),
    [
        ("read-only", [b"SET", b"k", b"v"], "READONLY"),
        ("busy script", [b"GET", b"k"], "BUSY"),
        ("bgsave failed", [b"SET", b"k", b"v"], "MISCONF"),
        ("loading", [b"GET", b"k"], "LOADING"),
        ("RESP2 subscribed", [b"GET", b"k"], "ERR Can't execute 'get'"),
        ("restricted user", [b"SET", b"k", b"v"], "NOPERM"),
        ("unauthenticated", [b"GET", b"k"], "NOAUTH"),
        ("command gate", [b"SET", b"k", b"v"], "NOREPLICAS"),
    ],
)
def test_the_refusals_still_reach_the_client(state: str, argv: list[bytes], prefix: str) -> None:
    engine = Engine(Config())
    client = engine.new_client()
    assert engine.execute(client, [b"GET", b"k"]) is None  # plans made in the normal state
    STATES[state](engine, client)
    refused = engine.execute(client, argv)
    assert isinstance(refused, CommandError) and refused.message.startswith(prefix), refused


def test_the_remembered_plan_follows_the_command_admitted() -> None:
    engine = Engine(Config())
    client = engine.new_client()
    gates = engine.gate_steps
    assert engine.execute(client, [b"SET", b"k", b"v"]) is not None
    assert gates.last_spec is engine.lookup([b"SET"]) and gates.last_may_skip
    engine.execute(client, [b"DEBUG", b"SLEEP", b"0"])  # refused by its own step
    debug = engine.lookup([b"DEBUG", b"SLEEP"])
    assert gates.last_spec is debug and not gates.last_may_skip
    refused = engine.execute(client, [b"DEBUG", b"SLEEP", b"0"])  # the remembered plan
    assert isinstance(refused, CommandError) and "enable-debug-command" in refused.message
    assert engine.execute(client, [b"GET", b"k"]) == b"v"
