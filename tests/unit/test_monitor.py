"""MONITOR lines as Redis 7.0.15's replicationFeedMonitors writes them."""

from __future__ import annotations

from conftest import run

from respcache.commands import Client, Engine
from respcache.commands.monitor import format_line, redacted, repr_arg
from respcache.errors import CommandError
from respcache.protocol.encoder import encode
from respcache.protocol.types import OK, Raw


def test_repr_is_sdscatrepr() -> None:
    assert repr_arg(b'a"b\\c\n\r\t\x07\x08\x01\xff ~') == b'"a\\"b\\\\c\\n\\r\\t\\a\\b\\x01\\xff ~"'


def test_line_format() -> None:
    line = format_line(1700000000.0123456, 3, "127.0.0.1:5000", [b"set", b"k", b"v"])
    assert line == b'+1700000000.012346 [3 127.0.0.1:5000] "set" "k" "v"\r\n'


def test_credentials_are_redacted() -> None:
    assert redacted([b"AUTH", b"pw"]) == [b"AUTH", b"(redacted)"]
    assert redacted([b"auth", b"u", b"pw"]) == [b"auth", b"(redacted)", b"(redacted)"]
    assert redacted([b"HELLO", b"3", b"AUTH", b"u", b"p", b"SETNAME", b"n"]) == [
        b"HELLO", b"3", b"AUTH", b"(redacted)", b"(redacted)", b"SETNAME", b"n"
    ]


def test_monitors_see_executed_commands_only(engine: Engine, client: Client) -> None:
    m1, m2 = engine.new_client(), engine.new_client()
    assert run(m1, "MONITOR") == OK
    assert run(m2, "MONITOR") == OK
    run(client, "SET", "k", "v")
    run(client, "CONFIG", "GET", "port")  # admin: never shown
    run(client, "NOSUCH")  # refused before it ran
    run(client, "GET")
    assert len(m1.pushed) == len(m2.pushed) == 1
    line = m1.pushed[0]
    assert isinstance(line, Raw) and line.endswith(b' [0 ] "SET" "k" "v"\r\n')
    engine.remove_client(m1)
    assert engine.monitors.clients == [m2]


def test_nobody_monitoring_feeds_nothing(engine: Engine, client: Client) -> None:
    run(client, "SET", "k", "v")
    assert engine.monitors.clients == []


def test_a_repeated_monitor_is_unanswered(engine: Engine, client: Client) -> None:
    assert run(client, "MONITOR") == OK
    again = run(client, "MONITOR")
    assert isinstance(again, Raw) and encode(again) == b""  # Redis sends nothing
    assert engine.monitors.clients == [client]


def test_monitor_inside_a_transaction_is_refused(engine: Engine, client: Client) -> None:
    run(client, "MULTI")
    run(client, "MONITOR")
    assert run(client, "EXEC") == [CommandError("ERR MONITOR isn't allowed for DENY BLOCKING client")]
    assert engine.monitors.clients == []


def test_reset_stops_monitoring_and_tracking(engine: Engine, client: Client) -> None:
    run(client, "MONITOR")
    run(client, "CLIENT", "TRACKING", "on")
    client.pushed.clear()
    assert run(client, "RESET") == "RESET"
    assert engine.monitors.clients == [] and client.tracking is None
    assert engine.tracking.clients == 0
    other = engine.new_client()
    run(other, "SET", "k", "v")
    assert client.pushed == []  # not even its own RESET line


def test_scripts_are_shown_before_their_commands(engine: Engine, client: Client) -> None:
    m = engine.new_client()
    run(m, "MONITOR")
    run(client, "EVAL", "redis.call('set', KEYS[1], ARGV[1])", "1", "foo", "bar")
    lines = [bytes(line) for line in m.pushed]  # type: ignore[arg-type]
    assert len(lines) == 2
    assert lines[0].endswith(b'"EVAL" "redis.call(\'set\', KEYS[1], ARGV[1])" "1" "foo" "bar"\r\n')
    assert lines[1].endswith(b' [0 lua] "set" "foo" "bar"\r\n')


def test_migrate_credentials_are_redacted() -> None:
    line = [b"MIGRATE", b"h", b"1", b"", b"9", b"5000", b"AUTH", b"pw", b"KEYS", b"a"]
    assert redacted(line)[7] == b"(redacted)"
    line = [b"MIGRATE", b"h", b"1", b"k", b"9", b"5000", b"COPY", b"AUTH2", b"u", b"p"]
    assert redacted(line)[8:] == [b"(redacted)", b"(redacted)"]
    assert redacted([b"MIGRATE", b"h", b"1", b"k", b"9", b"5000", b"AUTH"])[6] == b"AUTH"


def test_acl_setuser_and_sensitive_config_values_are_redacted() -> None:
    """acl.c redacts every ACL SETUSER argument from the user name on; config.c the
    value of a sensitive setting; AUTH with too many arguments only its first."""
    assert redacted([b"ACL", b"SETUSER", b"u", b">pw", b"on"]) == [
        b"ACL", b"SETUSER", b"(redacted)", b"(redacted)", b"(redacted)"
    ]
    assert redacted([b"acl", b"getuser", b"u"]) == [b"acl", b"getuser", b"u"]
    assert redacted([b"CONFIG", b"SET", b"masterauth", b"s", b"hz", b"5"]) == [
        b"CONFIG", b"SET", b"masterauth", b"(redacted)", b"hz", b"5"
    ]
    assert redacted([b"AUTH", b"a", b"b", b"c"]) == [b"AUTH", b"(redacted)", b"b", b"c"]
