"""The key-spec engine (respcache.commands.keyspecs) and COMMAND GETKEYS/GETKEYSANDFLAGS,
against replies recorded from redis-server 7.0.15."""

from __future__ import annotations

import shlex

import pytest
from conftest import Run

from respcache.commands import REGISTRY, Client
from respcache.commands.keyspecs import command_keys, has_keys, keys_with_specs
from respcache.errors import CommandError

NO_KEYS = CommandError("ERR The command has no key arguments")
INVALID = CommandError("ERR Invalid arguments specified for command")

# COMMAND GETKEYSANDFLAGS <line>: redis-server 7.0.15's answer (key, flags...).
RECORDED: list[tuple[str, list[tuple[str, str]] | CommandError]] = [
    ("SET k v", [("k", "OW update")]),
    ("SET k v EX 10", [("k", "OW update")]),
    ("SET k v get", [("k", "RW access update")]),
    ("BITFIELD k GET u8 0", [("k", "RO access")]),
    ("BITFIELD k GET u8 0 OVERFLOW SAT", [("k", "RO access")]),
    ("BITFIELD k SET u8 0 1", [("k", "RW access update")]),
    ("BITFIELD k INCRBY u8 0 1", [("k", "RW access update")]),
    ("BITFIELD k BAD", [("k", "RW access update")]),
    ("MIGRATE h 1 k 0 5", [("k", "RW access delete")]),
    ('MIGRATE h 1 "" 0 5 KEYS a b', [("a", "RW access delete"), ("b", "RW access delete")]),
    ('MIGRATE h 1 "" 0 5 COPY REPLACE AUTH2 u p KEYS a', [("a", "RW access delete")]),
    ("MIGRATE h 1 k 0 5 KEYS a b", INVALID),
    ("SORT_RO k BY x GET y", [("k", "RO access")]),
    ("SORT k BY x GET y STORE d", [("k", "RO access"), ("d", "OW update")]),
    ("EVAL s 2 k1 k2 a1", [("k1", "RW access update"), ("k2", "RW access update")]),
    ("EVAL s 5 k", []),  # EVAL has no mandatory keys
    ("EVAL s x k", []),
    ("EVAL s 0", []),
    ("FCALL_RO f 1 k1", [("k1", "RO access")]),
    ("XREAD COUNT 2 STREAMS s1 s2 0 0", [("s1", "RO access"), ("s2", "RO access")]),
    (
        "XREADGROUP GROUP g c STREAMS s1 s2 > >",
        [("s1", "RO access"), ("s2", "RO access")],
    ),
    (
        "ZUNIONSTORE d 2 a b WEIGHTS 1 2",
        [("d", "OW update"), ("a", "RO access"), ("b", "RO access")],
    ),
    ("ZUNIONSTORE d 5 a", INVALID),
    ("GEORADIUS k 0 0 1 km STOREDIST d", [("k", "RO access"), ("d", "OW update")]),
    ("LMPOP 2 a b LEFT", [("a", "RW access delete"), ("b", "RW access delete")]),
    ("SPUBLISH c m", NO_KEYS),
    ("PING x", NO_KEYS),
    ("GET a b", CommandError("ERR Invalid number of arguments specified for command")),
]


def _flat(reply: object) -> object:
    if isinstance(reply, list | frozenset):
        return [_flat(x) for x in reply]
    return reply


@pytest.mark.parametrize(("line", "expected"), RECORDED)
def test_getkeysandflags_matches_redis(
    client: Client, run: Run, line: str, expected: list[tuple[str, str]] | CommandError
) -> None:
    args = shlex.split(line)
    reply = run(client, "COMMAND", "GETKEYSANDFLAGS", *args)
    if isinstance(expected, CommandError):
        assert reply == expected
        assert run(client, "COMMAND", "GETKEYS", *args) == expected
        return
    assert _flat(reply) == [[k.encode(), flags.split()] for k, flags in expected]
    assert run(client, "COMMAND", "GETKEYS", *args) == [k.encode() for k, _ in expected]


def test_specs_alone_refuse_incomplete_and_unknown_specs() -> None:
    # MIGRATE's KEYS spec is incomplete, SORT's BY/GET unknown: the specs alone do not
    # answer (Redis's getKeysUsingKeySpecs returns -1), the commands' procs do.
    migrate = [b"MIGRATE", b"h", b"1", b"", b"0", b"5", b"KEYS", b"a"]
    assert keys_with_specs(REGISTRY["migrate"], migrate) is None
    assert [pos for pos, _ in command_keys(REGISTRY["migrate"], migrate)] == [7]
    assert keys_with_specs(REGISTRY["sort"], [b"SORT", b"k"]) is None
    assert [pos for pos, _ in command_keys(REGISTRY["sort"], [b"SORT", b"k"])] == [1]


def test_has_keys_ignores_not_key_specs() -> None:
    assert not has_keys(REGISTRY["spublish"])
    assert not has_keys(REGISTRY["ping"])
    assert has_keys(REGISTRY["eval"])
    assert has_keys(REGISTRY["get"])
