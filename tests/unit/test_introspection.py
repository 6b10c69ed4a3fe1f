"""COMMAND and its subcommands, generated from the registry, against Redis 7.0.15's bytes;
the registry against Redis's own table (docs_data.json); docs/commands.md freshness."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Run

from respcache.commands import REGISTRY, Client
from respcache.commands.introspection import (
    OrderedSet,
    acl_categories,
    docs_data,
    help_reply,
    keys_with_specs,
    render_commands_doc,
)
from respcache.commands.registry import CommandSpec, all_specs
from respcache.errors import CommandError
from respcache.protocol.encoder import encode

DOC = Path(__file__).resolve().parents[2] / "docs" / "commands.md"
SYNTAX = CommandError("ERR syntax error")
HIDDEN_FLAGS = {"may_replicate", "sentinel", "only_sentinel"}
# Redis 7.2 additions respcache has (see docs/commands.md): not in 7.0.15's table.
NEWER_THAN_7_0 = {"client|setinfo", "client|no-touch"}
# Registered on purpose with no Redis 7.0 COMMAND entry (see tests/differential/test_command_table.py).
EXTENSIONS = {"sentinel", "debug|digest", "debug|digest-value", "debug|reload", "debug|loadaof", "debug|aof-flush-sleep"}

# Replies of redis-server 7.0.15, byte for byte.
INFO_GET_RESP2 = (
    b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n"
    b"+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n"
    b"+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n"
    b"*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n"
    b"$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n"
    b":0\r\n*0\r\n"
)
DOCS_GET_RESP2 = (
    b"*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\n"
    b"since\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\n"
    b"O(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n"
    b"$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"
)
INFO_SET_MSET_KILL_RESP3 = (
    b"*3\r\n*10\r\n$3\r\nset\r\n:-3\r\n~2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n~3\r\n"
    b"+@write\r\n+@string\r\n+@slow\r\n~0\r\n~1\r\n%4\r\n$5\r\nnotes\r\n$48\r\n"
    b"RW and ACCESS due to the optional `GET` argument\r\n$5\r\nflags\r\n~4\r\n+RW\r\n"
    b"+access\r\n+update\r\n+variable_flags\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n"
    b"$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n"
    b"$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\n"
    b"keystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n*10\r\n$4\r\nmset\r\n:-3\r\n~2\r\n"
    b"+write\r\n+denyoom\r\n:1\r\n:-1\r\n:2\r\n~3\r\n+@write\r\n+@string\r\n+@slow\r\n"
    b"~2\r\n$26\r\nrequest_policy:multi_shard\r\n$29\r\nresponse_policy:all_succeeded\r\n"
    b"~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n%2\r\n"
    b"$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\n"
    b"find_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n"
    b":-1\r\n$7\r\nkeystep\r\n:2\r\n$5\r\nlimit\r\n:0\r\n~0\r\n*10\r\n$11\r\n"
    b"client|kill\r\n:-3\r\n~4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n"
    b":0\r\n~4\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n+@connection\r\n~0\r\n~0\r\n~0\r\n"
)
DOCS_SET_RESP3 = (
    b"%1\r\n$3\r\nset\r\n%6\r\n$7\r\nsummary\r\n$29\r\nSet the string value of a key\r\n"
    b"$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n"
    b"$4\r\nO(1)\r\n$7\r\nhistory\r\n~4\r\n*2\r\n$6\r\n2.6.12\r\n$44\r\n"
    b"Added the `EX`, `PX`, `NX` and `XX` options.\r\n*2\r\n$5\r\n6.0.0\r\n$27\r\n"
    b"Added the `KEEPTTL` option.\r\n*2\r\n$5\r\n6.2.0\r\n$42\r\n"
    b"Added the `GET`, `EXAT` and `PXAT` option.\r\n*2\r\n$5\r\n7.0.0\r\n$55\r\n"
    b"Allowed the `NX` and `GET` options to be used together.\r\n$9\r\narguments\r\n*5\r\n"
    b"%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n"
    b":0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\n"
    b"name\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$6\r\n"
    b"2.6.12\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\n"
    b"name\r\n$2\r\nnx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n"
    b"%3\r\n$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n"
    b"$2\r\nXX\r\n%5\r\n$4\r\nname\r\n$3\r\nget\r\n$4\r\ntype\r\n$10\r\npure-token\r\n"
    b"$5\r\ntoken\r\n$3\r\nGET\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n"
    b"+optional\r\n%4\r\n$4\r\nname\r\n$10\r\nexpiration\r\n$4\r\ntype\r\n$5\r\noneof\r\n"
    b"$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*5\r\n%4\r\n$4\r\nname\r\n$7\r\n"
    b"seconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nEX\r\n$5\r\nsince\r\n"
    b"$6\r\n2.6.12\r\n%4\r\n$4\r\nname\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\n"
    b"integer\r\n$5\r\ntoken\r\n$2\r\nPX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n%4\r\n$4\r\n"
    b"name\r\n$17\r\nunix-time-seconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n"
    b"$4\r\nEXAT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n%4\r\n$4\r\nname\r\n$22\r\n"
    b"unix-time-milliseconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\n"
    b"PXAT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n%4\r\n$4\r\nname\r\n$7\r\nkeepttl\r\n$4\r\n"
    b"type\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nKEEPTTL\r\n$5\r\nsince\r\n$5\r\n"
    b"6.0.0\r\n"
)
DOCS_CLIENT_KILL_RESP3 = (
    b"%1\r\n$11\r\nclient|kill\r\n%6\r\n$7\r\nsummary\r\n$31\r\n"
    b"Kill the connection of a client\r\n$5\r\nsince\r\n$5\r\n2.4.0\r\n$5\r\ngroup\r\n"
    b"$10\r\nconnection\r\n$10\r\ncomplexity\r\n$48\r\n"
    b"O(N) where N is the number of client connections\r\n$7\r\nhistory\r\n~5\r\n*2\r\n"
    b"$6\r\n2.8.12\r\n$24\r\nAdded new filter format.\r\n*2\r\n$6\r\n2.8.12\r\n$12\r\n"
    b"`ID` option.\r\n*2\r\n$5\r\n3.2.0\r\n$41\r\n"
    b"Added `master` type in for `TYPE` option.\r\n*2\r\n$5\r\n5.0.0\r\n$91\r\n"
    b"Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility.\r\n"
    b"*2\r\n$5\r\n6.2.0\r\n$15\r\n`LADDR` option.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\n"
    b"name\r\n$6\r\nfilter\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n"
    b"$4\r\nname\r\n$7\r\nip:port\r\n$4\r\ntype\r\n$6\r\nstring\r\n$16\r\n"
    b"deprecated_since\r\n$6\r\n2.8.12\r\n%4\r\n$4\r\nname\r\n$10\r\nnew-format\r\n$4\r\n"
    b"type\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*6\r\n"
    b"%5\r\n$4\r\nname\r\n$9\r\nclient-id\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n"
    b"$2\r\nID\r\n$5\r\nsince\r\n$6\r\n2.8.12\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%6\r\n"
    b"$4\r\nname\r\n$26\r\nnormal_master_slave_pubsub\r\n$4\r\ntype\r\n$5\r\noneof\r\n"
    b"$5\r\ntoken\r\n$4\r\nTYPE\r\n$5\r\nsince\r\n$6\r\n2.8.12\r\n$5\r\nflags\r\n~1\r\n"
    b"+optional\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$6\r\nnormal\r\n$4\r\n"
    b"type\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nNORMAL\r\n%4\r\n$4\r\nname\r\n"
    b"$6\r\nmaster\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nMASTER\r\n"
    b"$5\r\nsince\r\n$5\r\n3.2.0\r\n%3\r\n$4\r\nname\r\n$5\r\nslave\r\n$4\r\ntype\r\n"
    b"$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nSLAVE\r\n%4\r\n$4\r\nname\r\n$7\r\n"
    b"replica\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nREPLICA\r\n$5\r\n"
    b"since\r\n$5\r\n5.0.0\r\n%3\r\n$4\r\nname\r\n$6\r\npubsub\r\n$4\r\ntype\r\n$10\r\n"
    b"pure-token\r\n$5\r\ntoken\r\n$6\r\nPUBSUB\r\n%4\r\n$4\r\nname\r\n$8\r\nusername\r\n"
    b"$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$4\r\nUSER\r\n$5\r\nflags\r\n~1\r\n"
    b"+optional\r\n%4\r\n$4\r\nname\r\n$7\r\nip:port\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
    b"$5\r\ntoken\r\n$4\r\nADDR\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n"
    b"$7\r\nip:port\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$5\r\nLADDR\r\n$5\r\n"
    b"since\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$6\r\n"
    b"yes/no\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$6\r\nSKIPME\r\n$5\r\n"
    b"flags\r\n~1\r\n+optional\r\n"
)


def err(text: str) -> CommandError:
    return CommandError(text)


def wire(client: Client, run: Run, *args: str) -> bytes:
    reply = run(client, *args)
    return encode(reply, client.resp == 3)  # type: ignore[arg-type]


def all_names() -> list[str]:
    names = []
    for spec in all_specs():
        names.append(spec.name)
        names.extend(spec.subcommands[sub].name for sub in sorted(spec.subcommands))
    return names


# --- exact replies ---------------------------------------------------------------------------


def test_command_info_and_docs_match_redis_resp2(client: Client, run: Run) -> None:
    assert wire(client, run, "COMMAND", "INFO", "get") == INFO_GET_RESP2
    assert wire(client, run, "COMMAND", "DOCS", "get") == DOCS_GET_RESP2


def test_command_info_and_docs_match_redis_resp3(client: Client, run: Run) -> None:
    run(client, "HELLO", "3")
    assert wire(client, run, "COMMAND", "INFO", "set", "mset", "client|kill") == (
        INFO_SET_MSET_KILL_RESP3
    )
    assert wire(client, run, "COMMAND", "DOCS", "set") == DOCS_SET_RESP3
    assert wire(client, run, "COMMAND", "DOCS", "CLIENT|KILL") == DOCS_CLIENT_KILL_RESP3


def test_command_info_unknown_names(client: Client, run: Run) -> None:
    reply = run(client, "COMMAND", "INFO", "nosuch", "get")
    assert isinstance(reply, list) and reply[0] is None and len(reply) == 2
    assert encode(reply).startswith(b"*2\r\n$-1\r\n*10\r\n$3\r\nget\r\n")
    assert run(client, "COMMAND", "DOCS", "nosuch") == {}
    assert run(client, "COMMAND", "INFO", "config|nosuch") == [None]


def test_command_help(client: Client, run: Run) -> None:
    assert wire(client, run, "COMMAND", "HELP") == (
        b"*21\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
        b"+(no subcommand)\r\n+    Return details about all Redis commands.\r\n+COUNT\r\n"
        b"+    Return the total number of commands in this Redis server.\r\n+LIST\r\n"
        b"+    Return a list of all commands in this Redis server.\r\n"
        b"+INFO [<command-name> ...]\r\n+    Return details about multiple Redis commands.\r\n"
        b"+    If no command names are given, documentation details for all\r\n"
        b"+    commands are returned.\r\n+DOCS [<command-name> ...]\r\n"
        b"+    Return documentation details about multiple Redis commands.\r\n"
        b"+    If no command names are given, documentation details for all\r\n"
        b"+    commands are returned.\r\n+GETKEYS <full-command>\r\n"
        b"+    Return the keys from a full Redis command.\r\n"
        b"+GETKEYSANDFLAGS <full-command>\r\n"
        b"+    Return the keys and the access flags from a full Redis command.\r\n"
        b"+HELP\r\n+    Prints this help.\r\n"
    )
    assert run(client, "COMMAND", "foo") == err("ERR unknown subcommand 'foo'. Try COMMAND HELP.")
    assert run(client, "COMMAND", "COUNT", "x") == err(
        "ERR wrong number of arguments for 'command|count' command"
    )


# --- shape -----------------------------------------------------------------------------------


def test_command_count_and_full_reply_shape(client: Client, run: Run) -> None:
    assert run(client, "COMMAND", "COUNT") == len(REGISTRY)
    everything = run(client, "COMMAND")
    assert isinstance(everything, list) and len(everything) == len(REGISTRY)
    assert run(client, "COMMAND", "INFO") == everything
    for entry in everything:
        assert isinstance(entry, list) and len(entry) == 10
        name, arity, flags, first, last, step, acl, tips, key_specs, subcommands = entry
        assert isinstance(name, bytes) and name.decode() in REGISTRY
        assert isinstance(arity, int) and arity != 0
        assert isinstance(flags, OrderedSet) and all(isinstance(f, str) for f in flags)
        assert all(isinstance(v, int) for v in (first, last, step))
        assert isinstance(acl, OrderedSet) and all(str(a).startswith("@") for a in acl)
        assert isinstance(tips, OrderedSet)
        assert isinstance(key_specs, OrderedSet)  # sets of maps in RESP3, as Redis 7.0
        assert all(isinstance(ks, dict) and b"begin_search" in ks for ks in key_specs)
        assert isinstance(subcommands, OrderedSet)
        for sub in subcommands:
            assert isinstance(sub, list) and len(sub) == 10
            assert str(sub[0], "ascii").startswith(name.decode() + "|")  # type: ignore[arg-type]
        encode(entry)
        encode(entry, True)
    names = [entry[0] for entry in everything]  # type: ignore[index]
    assert names == sorted(names)  # type: ignore[type-var]


def test_command_docs_for_everything(client: Client, run: Run) -> None:
    docs = run(client, "COMMAND", "DOCS")
    assert isinstance(docs, dict) and len(docs) == len(REGISTRY)
    for name, doc in docs.items():
        assert isinstance(doc, dict)
        assert isinstance(doc[b"group"], bytes), name
        assert b"summary" in doc and b"since" in doc, name
    client_docs = docs[b"client"]
    assert isinstance(client_docs, dict)
    assert client_docs[b"summary"] == b"A container for client connection commands"
    assert client_docs[b"since"] == b"2.4.0"
    subs = client_docs[b"subcommands"]
    assert isinstance(subs, dict) and b"client|list" in subs and b"client|setinfo" in subs


def test_docs_arguments_drive_redis_cli_hints(client: Client, run: Run) -> None:
    docs = run(client, "COMMAND", "DOCS", "config|set")
    assert isinstance(docs, dict)
    doc = docs[b"config|set"]
    assert isinstance(doc, dict)
    arguments = doc[b"arguments"]
    assert isinstance(arguments, list) and arguments[0][b"name"] == b"parameter_value"  # type: ignore[index]


def test_ordered_set_keeps_its_order_on_the_wire() -> None:
    flags = OrderedSet(["write", "denyoom", "fast", "write"])
    assert list(flags) == ["write", "denyoom", "fast"] and len(flags) == 3
    assert encode(flags) == b"*3\r\n+write\r\n+denyoom\r\n+fast\r\n"
    assert encode(flags, True) == b"~3\r\n+write\r\n+denyoom\r\n+fast\r\n"
    assert flags == frozenset({"fast", "write", "denyoom"})


def test_help_reply() -> None:
    assert help_reply("X", ["A", "    does a"]) == [
        "X <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "A",
        "    does a",
        "HELP",
        "    Prints this help.",
    ]


# --- LIST ------------------------------------------------------------------------------------


def test_command_list(client: Client, run: Run) -> None:
    listed = run(client, "COMMAND", "LIST")
    assert isinstance(listed, list)
    assert [name.decode() for name in listed] == all_names()  # type: ignore[union-attr]
    assert b"client|list" in listed and b"config|get" in listed
    pattern = run(client, "COMMAND", "LIST", "FILTERBY", "PATTERN", "cl*")
    assert isinstance(pattern, list) and pattern[0] == b"client"
    assert all(name.startswith(b"cl") for name in pattern)  # type: ignore[union-attr]
    assert run(client, "COMMAND", "LIST", "FILTERBY", "pattern", "CLIENT|ID") == [b"client|id"]
    connection = run(client, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection")
    assert isinstance(connection, list)
    assert {b"ping", b"hello", b"client|kill", b"command|info"} <= set(connection)  # type: ignore[arg-type]
    assert b"get" not in connection
    assert run(client, "COMMAND", "LIST", "FILTERBY", "aclcat", "foo") == []
    assert run(client, "COMMAND", "LIST", "FILTERBY", "MODULE", "x") == []
    assert run(client, "COMMAND", "LIST", "FILTERBY", "PATTERN") == SYNTAX
    assert run(client, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "read", "x") == SYNTAX
    assert run(client, "COMMAND", "LIST", "FILTERBY", "foo", "x") == SYNTAX
    assert run(client, "COMMAND", "LIST", "foo") == SYNTAX


# --- GETKEYS ---------------------------------------------------------------------------------


def test_command_getkeys(client: Client, run: Run) -> None:
    assert run(client, "COMMAND", "GETKEYS", "GET", "a") == [b"a"]
    assert run(client, "COMMAND", "GETKEYS", "mset", "a", "b", "c") == [b"a", b"c"]
    assert run(client, "COMMAND", "GETKEYS", "mset", "a", "b", "c", "d") == [b"a", b"c"]
    assert run(client, "COMMAND", "GETKEYS", "MEMORY", "USAGE", "k") == [b"k"]
    assert run(client, "COMMAND", "GETKEYS", "ping", "x") == err(
        "ERR The command has no key arguments"
    )
    assert run(client, "COMMAND", "GETKEYS", "config", "get", "x") == err(
        "ERR The command has no key arguments"
    )
    assert run(client, "COMMAND", "GETKEYS", "foo", "x") == err("ERR Invalid command specified")
    assert run(client, "COMMAND", "GETKEYS", "config", "foo", "x") == err(
        "ERR Invalid command specified"
    )
    assert run(client, "COMMAND", "GETKEYS", "get", "a", "b") == err(
        "ERR Invalid number of arguments specified for command"
    )
    assert run(client, "COMMAND", "GETKEYS", "get") == err(
        "ERR wrong number of arguments for 'command|getkeys' command"
    )


def test_command_getkeysandflags(client: Client, run: Run) -> None:
    assert wire(client, run, "COMMAND", "GETKEYSANDFLAGS", "get", "a") == (
        b"*1\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n"
    )
    assert run(client, "COMMAND", "GETKEYSANDFLAGS", "echo", "a") == err(
        "ERR The command has no key arguments"
    )


# --- the registry against Redis's table ---------------------------------------------------------


def test_registry_matches_redis_command_table() -> None:
    """Arity, flags, key positions and ACL categories agree with redis-server 7.0.15."""
    recorded = docs_data()
    assert recorded, "respcache/commands/docs_data.json is missing"
    problems = []
    for name in all_names():
        if name in NEWER_THAN_7_0 or name in EXTENSIONS or name.partition("|")[0] in EXTENSIONS:
            continue
        entry = recorded.get(name)
        if entry is None:
            problems.append(f"{name}: not a Redis 7.0 command")
            continue
        info = entry["info"]
        spec = REGISTRY[name.partition("|")[0]]
        if "|" in name:
            spec = spec.subcommands[name.partition("|")[2]]
        ours = {
            "arity": spec.arity,
            "flags": sorted(spec.flags - HIDDEN_FLAGS),
            "keys": [spec.first_key, spec.last_key, spec.step],
            "acl": ["@" + cat for cat in acl_categories(spec)],
        }
        theirs = {
            "arity": info["arity"],
            "flags": sorted(info["flags"]),
            "keys": [info["first_key"], info["last_key"], info["step"]],
            "acl": info["acl_categories"],
        }
        if ours != theirs:
            problems.append(f"{name}: ours {ours} != redis {theirs}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(NEWER_THAN_7_0))
def test_redis_7_2_additions_are_registered(name: str) -> None:
    parent, _, sub = name.partition("|")
    assert sub in REGISTRY[parent].subcommands


# --- docs/commands.md ------------------------------------------------------------------------


def test_commands_doc_is_current() -> None:
    current = DOC.read_text(encoding="utf-8")
    assert render_commands_doc(current) == current, (
        "docs/commands.md is stale: run bin/gen-commands-doc"
    )


def test_commands_doc_lists_every_command() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in all_names():
        assert f"| `{name.upper().replace('|', ' ')}` |" in text, name


def test_render_keeps_the_text_around_the_table() -> None:
    rendered = render_commands_doc("# Title\n\nnotes\n")
    assert rendered.startswith("# Title\n\nnotes\n\n<!-- BEGIN GENERATED")
    assert render_commands_doc(rendered) == rendered
    edited = rendered.replace("| `GET` |", "| `GOT` |") + "\nmore notes\n"
    assert render_commands_doc(edited) == rendered + "\nmore notes\n"


def _recorded_spec(name: str, flags: str = "") -> CommandSpec:
    """A spec with Redis's legacy key range for ``name``, so its recorded key specs apply."""
    info = docs_data()[name]["info"]
    return CommandSpec(
        name=name,
        handler=None,
        arity=info["arity"],
        flags=frozenset(flags.split()),
        first_key=info["first_key"],
        last_key=info["last_key"],
        step=info["step"],
    )


@pytest.mark.parametrize(
    ("name", "argv", "keys"),
    [
        ("zunionstore", "ZUNIONSTORE dst 2 a b WEIGHTS 1 2", [1, 3, 4]),
        ("xread", "XREAD COUNT 2 STREAMS s1 s2 0 0", [4, 5]),
        ("eval", "EVAL script 2 k1 k2 arg", [3, 4]),
        ("lmpop", "LMPOP 2 l1 l2 LEFT", [2, 3]),
        ("migrate", "MIGRATE h p key 0 5", [3]),
        ("georadius", "GEORADIUS g 0 0 1 km STORE dst", [1, 7]),
    ],
)
def test_key_specs_find_movable_keys(name: str, argv: str, keys: list[int]) -> None:
    args = [part.encode() for part in argv.split()]
    found = keys_with_specs(_recorded_spec(name), args)
    assert found is not None and [pos for pos, _ in found] == keys


def test_key_specs_reject_impossible_positions() -> None:
    assert keys_with_specs(_recorded_spec("eval"), [b"EVAL", b"s", b"5", b"k"]) is None
    assert keys_with_specs(_recorded_spec("eval"), [b"EVAL", b"s", b"x", b"k"]) is None
