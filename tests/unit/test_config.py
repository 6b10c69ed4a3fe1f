"""Config: parsing of every kind, files, precedence, CONFIG GET/SET/REWRITE.

Expected error texts and renderings were taken from a real redis-server 7.0.15.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from respcache import REDIS_VERSION
from respcache.config import (
    SETTINGS,
    BufferLimit,
    Config,
    ConfigFileError,
    Setting,
    argv_to_options,
    format_memory,
    lookup,
    parse_memory,
    quote,
    split_args,
    stringmatch,
)
from respcache.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def set_error(config: Config, *pairs: tuple[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        config.set_many(list(pairs))
    return str(info.value)


def failed(name: str, reason: str) -> str:
    return f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"


# --- the table -------------------------------------------------------------------------


def test_every_setting_has_a_typed_attribute_equal_to_get() -> None:
    config = Config()
    for name, setting in SETTINGS.items():
        value = getattr(config, setting.attribute)
        expected = config.get(name)
        if name == "bind":
            assert value == list(expected)  # type: ignore[call-overload]
        else:
            assert value == expected, name


def test_defaults_render_like_redis() -> None:
    config = Config()
    expected = {
        "port": "6379",
        "bind": "127.0.0.1 -::1",
        "protected-mode": "yes",
        "maxmemory": "0",
        "maxmemory-policy": "noeviction",
        "proto-max-bulk-len": "536870912",
        "client-query-buffer-limit": "1073741824",
        "client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        "repl-backlog-size": "1048576",
        "save": "",
        "appendonly": "no",
        "unixsocketperm": "0",
        "slowlog-log-slower-than": "10000",
        "replicaof": "",
        "slaveof": "",
        "dir": os.getcwd(),
        "read-consistency": "linearizable",
        "cluster-name": "respcache",
    }
    for name, text in expected.items():
        assert config.render(name) == text, name


def test_aliases_resolve_to_their_setting() -> None:
    assert lookup("slaveof") is SETTINGS["replicaof"]
    assert lookup("SLAVE-READ-ONLY") is SETTINGS["replica-read-only"]
    assert lookup("min-slaves-to-write") is SETTINGS["min-replicas-to-write"]
    assert lookup("nosuch") is None


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        SETTINGS["port"].default = "1"  # type: ignore[misc]


def test_attributes_cannot_be_assigned() -> None:
    config = Config()
    with pytest.raises(AttributeError, match=r"Config\.set"):
        config.port = 1


# --- memory units ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("5", 5),
        ("5b", 5),
        ("5B", 5),
        ("1k", 1000),
        ("1K", 1000),
        ("1kb", 1024),
        ("1KB", 1024),
        ("5kB", 5120),
        ("1m", 1_000_000),
        ("1mb", 1024**2),
        ("1g", 1_000_000_000),
        ("1gb", 1024**3),
        ("1GB", 1024**3),
        ("05", 5),
        ("", 0),
        ("kb", 0),
        ("99999999999999999999999", 2**64 - 1),
    ],
)
def test_parse_memory(text: str, value: int) -> None:
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["-5", "+5", " 5", "5 ", "1.5mb", "5t", "0x10", "1 kb", "abc"])
def test_parse_memory_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_memory(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (1024, "1kb"), (3 * 1024**2, "3mb"), (1024**3, "1gb"), (3000000, "3000000")],
)
def test_format_memory(value: int, text: str) -> None:
    assert format_memory(value) == text


def test_memory_setting() -> None:
    config = Config()
    config.set("maxmemory", "100mb")
    assert config.maxmemory == 100 * 1024**2
    assert config.render("maxmemory") == "104857600"
    assert set_error(config, ("maxmemory", "abc")) == failed(
        "maxmemory", "argument must be a memory value"
    )
    assert set_error(config, ("maxmemory", "-1")) == failed(
        "maxmemory", "argument must be a memory value"
    )
    assert set_error(config, ("proto-max-bulk-len", "10")) == failed(
        "proto-max-bulk-len", "argument must be between 1048576 and 9223372036854775807 inclusive"
    )
    assert set_error(config, ("repl-backlog-size", "0")) == failed(
        "repl-backlog-size", "argument must be between 1 and 9223372036854775807 inclusive"
    )


# --- integers, booleans, enums -----------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", " 5", "+5", "05", "-0", "1e3", "abc", "9999999999999999999999"]
)
def test_int_parse_errors(text: str) -> None:
    assert set_error(Config(), ("hz", text)) == failed(
        "hz", "argument couldn't be parsed into an integer"
    )


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("timeout", "-1", "argument must be between 0 and 2147483647 inclusive"),
        ("timeout", "9999999999", "argument must be between 0 and 2147483647 inclusive"),
        ("maxmemory-samples", "0", "argument must be between 1 and 2147483647 inclusive"),
        ("active-expire-effort", "11", "argument must be between 1 and 10 inclusive"),
        ("maxclients", "0", "argument must be between 1 and 4294967295 inclusive"),
        ("maxclients", "-1", "argument must be between 1 and 4294967295 inclusive"),
        (
            "slowlog-log-slower-than",
            "-5",
            "argument must be between -1 and 9223372036854775807 inclusive",
        ),
        ("slowlog-max-len", "-1", "argument must be between 0 and 9223372036854775807 inclusive"),
        ("repl-timeout", "0", "argument must be between 1 and 2147483647 inclusive"),
        ("protected-mode", "1", "argument must be 'yes' or 'no'"),
        ("protected-mode", "maybe", "argument must be 'yes' or 'no'"),
        (
            "loglevel",
            "foo",
            "argument(s) must be one of the following: debug, verbose, notice, warning",
        ),
        (
            "maxmemory-policy",
            "",
            "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, "
            "volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
        ),
        (
            "read-consistency",
            "eventual",
            "argument(s) must be one of the following: linearizable, local",
        ),
    ],
)
def test_value_errors(name: str, value: str, reason: str) -> None:
    assert set_error(Config(), (name, value)) == failed(name, reason)


def test_int_bool_enum_values() -> None:
    config = Config()
    config.set_many(
        [("timeout", "-0"[1:]), ("slowlog-log-slower-than", "-1"), ("protected-mode", "NO")]
    )
    assert (config.timeout, config.slowlog_log_slower_than, config.protected_mode) == (0, -1, False)
    config.set("maxmemory-policy", "ALLKEYS-LRU")
    assert config.maxmemory_policy == "allkeys-lru"
    assert config.render("protected-mode") == "no"


def test_hz_is_capped_not_refused() -> None:
    config = Config()
    config.set("hz", "0")
    assert config.render("hz") == "1"
    config.set("hz", "1000")
    assert config.hz == 500


def test_repl_backlog_size_is_at_least_16kb() -> None:
    config = Config()
    config.set("repl-backlog-size", "1")
    assert config.render("repl-backlog-size") == "16384"
    config.set("repl-backlog-size", "20000")
    assert config.repl_backlog_size == 20000


def test_unixsocketperm_is_octal() -> None:
    config = Config(unixsocketperm="700")
    assert config.unixsocketperm == 0o700
    assert config.render("unixsocketperm") == "700"
    with pytest.raises(ConfigError, match="argument must be between 0 and 777 inclusive"):
        Config(unixsocketperm="1000")
    with pytest.raises(ConfigError, match="couldn't be parsed as an octal number"):
        Config(unixsocketperm="800")


# --- special kinds --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("Kmn", "nKm"),
        ("Ag$", "A"),
        ("gx$E", "g$xE"),
        ("AnmK", "AKm"),
        ("KEA", "AKE"),
        ("KA", "AK"),
        ("m", "m"),
        ("Ez", "zE"),
        ("KEAx", "AKE"),
        ("KEg$lshzxetd", "AKE"),
        ("Kd", "dK"),
        ("", ""),
    ],
)
def test_notify_keyspace_events_renders_like_redis(given: str, shown: str) -> None:
    config = Config()
    config.set("notify-keyspace-events", given)
    assert config.render("notify-keyspace-events") == shown


def test_notify_keyspace_events_typed_and_invalid() -> None:
    config = Config(notify_keyspace_events="KEA")
    assert config.notify_keyspace_events == frozenset("KEg$lshzxetd")
    assert set_error(config, ("notify-keyspace-events", "Q")) == failed(
        "notify-keyspace-events", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    )


def test_save() -> None:
    config = Config()
    config.set("save", "3600 1 60 5")
    assert config.save == ((3600, 1), (60, 5))
    assert config.render("save") == "3600 1 60 5"
    config.set("save", "")
    assert len(config.save) == 0
    for bad in ["abc", "1 2 3", "0 0", "-1 1", "10 -1", "  10    2  "]:
        assert set_error(config, ("save", bad)) == failed("save", "Invalid save parameters")


def test_client_output_buffer_limit_merges_classes() -> None:
    config = Config()
    config.set("client-output-buffer-limit", "replica 1 1 1")
    assert config.render("client-output-buffer-limit") == (
        "normal 0 0 0 slave 1 1 1 pubsub 33554432 8388608 60"
    )
    config.set("client-output-buffer-limit", "normal 1mb 2 3 pubsub 0 0 0")
    assert config.output_buffer_limit("normal") == BufferLimit(1024**2, 2, 3)
    assert config.output_buffer_limit("slave") == BufferLimit(1, 1, 1)
    assert config.output_buffer_limit("pubsub") == (0, 0, 0)
    config.set("client-output-buffer-limit", "")  # no classes: nothing changes
    assert config.output_buffer_limit("normal") == BufferLimit(1024**2, 2, 3)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("normal 1 2", "Wrong number of arguments in buffer limit configuration."),
        ("foo 1 2 3", "Invalid client class specified in buffer limit configuration."),
        ("master 1 2 3", "Invalid client class specified in buffer limit configuration."),
        (
            "normal a 1 1",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
        (
            "normal 1 1 a",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
        (
            "normal -1 1 1",
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
    ],
)
def test_client_output_buffer_limit_errors(value: str, reason: str) -> None:
    assert set_error(Config(), ("client-output-buffer-limit", value)) == failed(
        "client-output-buffer-limit", reason
    )


def test_bind() -> None:
    config = Config(bind="127.0.0.1 127.0.0.2 -::1")
    assert config.bind == ["127.0.0.1", "127.0.0.2", "-::1"]
    assert Config(bind="").bind == []
    assert Config(bind=["10.0.0.1"]).render("bind") == "10.0.0.1"
    with pytest.raises(ConfigError, match="Too many bind addresses"):
        Config(bind=" ".join(str(i) for i in range(17)))


def test_replicaof() -> None:
    assert Config(replicaof="127.0.0.1 6380").replicaof == ("127.0.0.1", 6380)
    assert Config(slaveof=("h", 1)).render("replicaof") == "h 1"
    assert Config(replicaof="no one").replicaof is None
    with pytest.raises(ConfigError, match="Invalid master port"):
        Config(replicaof="h 70000")
    with pytest.raises(ConfigError, match="wrong number of arguments"):
        Config(replicaof="h")


def test_dir(tmp_path: Path) -> None:
    assert Config(dir=str(tmp_path)).dir == str(tmp_path)
    with pytest.raises(ConfigError, match="No such file or directory"):
        Config(dir=str(tmp_path / "missing"))


@pytest.mark.parametrize("name", ["a/b", "", "-x", "x" * 65, "a b"])
def test_cluster_name_must_be_a_node_name(name: str) -> None:
    with pytest.raises(ConfigError, match="cluster-name must be 1 to 64 letters"):
        Config(cluster_name=name)


def test_zookeeper_connect_string() -> None:
    assert Config(zookeeper="127.0.0.1:2181,127.0.0.2:2181/a/b").zookeeper == (
        "127.0.0.1:2181,127.0.0.2:2181/a/b"
    )
    for bad in ["/chroot", "h:1/a/", "h:1/a//b"]:
        with pytest.raises(ConfigError, match="zookeeper must be"):
            Config(zookeeper=bad)


def test_float_kind() -> None:
    from respcache.config import _parse

    s = Setting("x", "float", "0.5", "a float", "general", minimum=0.0, maximum=1.0)
    assert _parse(s, "0.25", None) == 0.25
    for bad in ["abc", "2"]:
        with pytest.raises(Exception, match="argument"):
            _parse(s, bad, None)


# --- keyword construction ---------------------------------------------------------------


def test_keywords_take_typed_values_or_strings() -> None:
    config = Config(
        port=0,
        maxmemory="100mb",
        maxmemory_policy="allkeys-lru",
        appendonly=False,
        protected_mode=False,
        save=[(3600, 1), (60, 5)],
        client_output_buffer_limit={"pubsub": (1, 2, 3)},
    )
    assert config.port == 0
    assert config.maxmemory == 100 * 1024**2
    assert config.maxmemory_policy == "allkeys-lru"
    assert config.protected_mode is False
    assert config.save == ((3600, 1), (60, 5))
    assert config.output_buffer_limit("pubsub") == (1, 2, 3)


def test_keywords_may_set_immutable_settings_but_not_unknown_or_bad_ones() -> None:
    assert Config(databases=4).databases == 4
    with pytest.raises(ConfigError) as info:
        Config(no_such_thing=1)
    assert str(info.value) == "ERR Unknown option 'no_such_thing'"
    with pytest.raises(ConfigError) as info:
        Config(port="abc")
    assert str(info.value).startswith("ERR ")
    assert "argument couldn't be parsed into an integer" in str(info.value)


# --- CONFIG SET ---------------------------------------------------------------------------


def test_set_errors_name_stage() -> None:
    config = Config()
    unknown = "ERR Unknown option or number of arguments for CONFIG SET - '{}'"
    assert set_error(config, ("nosuch", "1")) == unknown.format("nosuch")
    assert set_error(config, ("NOSUCH", "1")) == unknown.format("NOSUCH")
    assert set_error(config, ("maxmemory", "abc"), ("nosuch", "1")) == unknown.format("nosuch")
    immutable = "can't set immutable config"
    assert set_error(config, ("databases", "5")) == failed("databases", immutable)
    assert set_error(config, ("DATABASES", "5")) == failed("DATABASES", immutable)
    assert set_error(config, ("slaveof", "1 2")) == failed("slaveof", immutable)
    # The first problem wins, whatever its kind.
    assert set_error(config, ("databases", "5"), ("nosuch", "1")) == failed("databases", immutable)
    assert set_error(config, ("maxmemory", "1"), ("maxmemory", "2"), ("databases", "5")) == failed(
        "maxmemory", "duplicate parameter"
    )
    assert set_error(config, ("hz", "1"), ("HZ", "2")) == failed("HZ", "duplicate parameter")


def test_set_errors_value_stage_use_the_setting_name() -> None:
    config = Config()
    assert set_error(config, ("MaxMemory", "abc")) == failed(
        "maxmemory", "argument must be a memory value"
    )
    assert set_error(config, ("slave-read-only", "abc")) == failed(
        "slave-read-only", "argument must be 'yes' or 'no'"
    )
    assert set_error(config, ("Slave-Read-Only", "yes"), ("maxmemory", "x")) == failed(
        "maxmemory", "argument must be a memory value"
    )


def test_alias_and_name_are_not_duplicates() -> None:
    config = Config()
    config.set_many([("slave-read-only", "no"), ("replica-read-only", "yes")])
    assert config.replica_read_only is True


def test_set_many_is_all_or_nothing() -> None:
    config = Config()
    calls: list[object] = []
    config.on_change("maxmemory", calls.append)
    error = set_error(config, ("maxmemory", "100mb"), ("maxmemory-samples", "0"))
    assert error == failed(
        "maxmemory-samples", "argument must be between 1 and 2147483647 inclusive"
    )
    assert config.maxmemory == 0
    assert calls == []


def test_on_change_runs_after_all_values_are_set() -> None:
    config = Config()
    seen: list[tuple[str, object, str]] = []
    config.on_change("maxmemory", lambda v: seen.append(("maxmemory", v, config.maxmemory_policy)))
    config.on_change("slave-read-only", lambda v: seen.append(("ro", v, "")))
    config.set_many(
        [("maxmemory", "1mb"), ("maxmemory-policy", "allkeys-lru"), ("slave-read-only", "no")]
    )
    assert seen == [("maxmemory", 1024**2, "allkeys-lru"), ("ro", False, "")]
    config.set("maxmemory", "1048576")  # unchanged: no call
    assert len(seen) == 2


def test_on_change_may_refuse_and_everything_is_undone() -> None:
    config = Config()
    seen: list[object] = []

    def refuse(value: object) -> None:
        if value == 7:
            raise ConfigError("ERR Unable to do that")

    config.on_change("maxmemory", seen.append)
    config.on_change("maxmemory-samples", refuse)
    error = set_error(config, ("maxmemory", "5"), ("maxmemory-samples", "7"))
    assert error == failed("maxmemory-samples", "Unable to do that")
    assert (config.maxmemory, config.maxmemory_samples) == (0, 5)
    assert seen == [5, 0]  # applied, then restored


# --- CONFIG GET -----------------------------------------------------------------------------


def test_matching_star_lists_names_and_aliases() -> None:
    everything = Config().matching(["*"])
    for setting in SETTINGS.values():
        if setting.hidden:  # Redis's HIDDEN_CONFIG: exact names only
            assert setting.name not in everything
            assert Config().matching([setting.name]) == {setting.name: setting.default}
            continue
        assert setting.name in everything
        for alias in setting.aliases:
            assert everything[alias] == everything[setting.name]


@pytest.mark.parametrize(
    ("patterns", "keys"),
    [
        (["maxmemory"], ["maxmemory"]),
        (["MAXMEMORY"], ["MAXMEMORY"]),
        (["MAXMEMORY", "maxmemory"], ["MAXMEMORY"]),
        (["maxmemory", "hz", "maxmemory"], ["maxmemory", "hz"]),
        (["maxmemory", "maxmem*"], ["maxmemory", "maxmemory-policy", "maxmemory-samples", "maxmemory-eviction-tenacity", "maxmemory-clients"]),
        (["MAXMEM*"], ["maxmemory", "maxmemory-policy", "maxmemory-samples", "maxmemory-eviction-tenacity", "maxmemory-clients"]),
        (["[a-c]ind"], ["bind"]),
        (["[^b]ind"], []),
        (["[!b]ind"], ["bind"]),
        (["rep?-timeout"], ["repl-timeout"]),
        (["maxmemory\\-policy"], []),  # no glob character: an exact lookup
        (["*["], []),
        ([""], []),
        (["nosuch"], []),
        (
            ["*slave*"],
            [
                "slaveof",
                "slave-read-only",
                "slave-serve-stale-data",
                "repl-ping-slave-period",
                "min-slaves-to-write",
                "min-slaves-max-lag",
                "slave-announce-port",
                "slave-lazy-flush",
                "slave-priority",
                "cluster-slave-validity-factor",
                "slave-ignore-maxmemory",
                "slave-announce-ip",
                "cluster-slave-no-failover",
            ],
        ),
    ],
)
def test_matching(patterns: list[str], keys: list[str]) -> None:
    assert sorted(Config().matching(patterns)) == sorted(keys)


@pytest.mark.parametrize(
    ("pattern", "string", "nocase", "expected"),
    [
        ("*", "", False, False),  # as in Redis (KEYS * special-cases it)
        ("a*", "abc", False, True),
        ("*c", "abc", False, True),
        ("a*c", "abbbc", False, True),
        ("a*d", "abc", False, False),
        ("a?c", "abc", False, True),
        ("a?c", "ac", False, False),
        ("h[ae]llo", "hello", False, True),
        ("h[^e]llo", "hello", False, False),
        ("h[^e]llo", "hallo", False, True),
        ("h[a-b]llo", "hbllo", False, True),
        ("h[b-a]llo", "hbllo", False, True),
        ("h\\*llo", "h*llo", False, True),
        ("h\\*llo", "hello", False, False),
        ("h[\\]]llo", "h]llo", False, True),
        ("HELLO", "hello", False, False),
        ("HELLO", "hello", True, True),
        ("H[A-Z]LLO", "hello", True, True),
        ("a[", "a", False, False),
        ("**a", "bba", False, True),
    ],
)
def test_stringmatch(pattern: str, string: str, nocase: bool, expected: bool) -> None:
    assert stringmatch(pattern, string, nocase) is expected


# --- redis.conf syntax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("port 7000", ["port", "7000"]),
        ("  port\t7000  ", ["port", "7000"]),
        ('requirepass ""', ["requirepass", ""]),
        ('requirepass "a b"', ["requirepass", "a b"]),
        ("requirepass 'a b'", ["requirepass", "a b"]),
        (r'x "a\"b\\c\n\t\x41"', ["x", 'a"b\\c\n\tA']),
        (r"x 'it\'s'", ["x", "it's"]),
        (r"x 'no\nescape'", ["x", "no\\nescape"]),
        ('x a"b c"', ["x", "ab c"]),
        ("", []),
    ],
)
def test_split_args(line: str, words: list[str]) -> None:
    assert split_args(line) == words


@pytest.mark.parametrize("line", ['bind "127.0.0.1', "x 'a", 'x "a"b', "x 'a'b"])
def test_split_args_unbalanced(line: str) -> None:
    assert split_args(line) is None


@given(st.text())
def test_quote_round_trips(text: str) -> None:
    assert split_args(quote(text)) == [text]


def test_quote_is_sdscatrepr() -> None:
    assert quote('a b"c') == '"a b\\"c"'
    assert quote("x\ty\n") == '"x\\ty\\n"'
    assert quote("é") == '"\\xc3\\xa9"'


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_load_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.conf",
        "# a comment\n"
        "\n"
        "   # indented comment\n"
        "PORT 7000\r\n"
        'requirepass "secret with spaces"\n'
        "masterauth ''\n"
        'logfile ""\n'
        "maxmemory 100MB\n"
        "hz 11\n"
        "hz 12\n"
        "slaveof 127.0.0.1 6380\n"
        "bind 127.0.0.1 ::1\n"
        "client-output-buffer-limit pubsub 1mb 2mb 3\n",
    )
    config = Config.load(path)
    assert config.config_file == path
    assert config.port == 7000
    assert config.requirepass == "secret with spaces"
    assert config.masterauth == ""
    assert config.maxmemory == 100 * 1024**2
    assert config.hz == 12
    assert config.replicaof == ("127.0.0.1", 6380)
    assert config.bind == ["127.0.0.1", "::1"]
    assert config.output_buffer_limit("pubsub") == (1024**2, 2 * 1024**2, 3)
    assert config.output_buffer_limit("replica") == (256 * 1024**2, 64 * 1024**2, 60)


def test_save_lines_accumulate(tmp_path: Path) -> None:
    config = Config.load(write(tmp_path / "a.conf", "save 3600 1\nsave 60 5\n"), ["--save", "10 2"])
    assert config.save == ((3600, 1), (60, 5), (10, 2))
    config = Config.load(write(tmp_path / "b.conf", "save 3600 1\n"), ["--save", ""])
    assert config.save == ()
    config = Config.load(write(tmp_path / "c.conf", 'save "3600 1"\n'))
    assert config.save == ((3600, 1),)


def test_include(tmp_path: Path) -> None:
    write(tmp_path / "inc.conf", "port 7001\nmaxmemory 1mb\n")
    path = write(
        tmp_path / "main.conf", f"port 7000\ninclude {tmp_path / 'inc.conf'}\nmaxmemory 2mb\n"
    )
    config = Config.load(path)
    assert (config.port, config.maxmemory) == (7001, 2 * 1024**2)


def fatal(lineno: int, line: str, reason: str) -> str:
    return (
        f"*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n"
        f"Reading the configuration file, at line {lineno}\n>>> '{line}'\n{reason}"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "port 7000\nnosuch 1\n",
            fatal(2, "nosuch 1", "Bad directive or wrong number of arguments"),
        ),
        (
            "# c\nport 7000\nmaxmemory abc\n",
            fatal(3, "maxmemory abc", "argument must be a memory value"),
        ),
        (
            "maxmemory-policy foo\n",
            fatal(
                1,
                "maxmemory-policy foo",
                "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
                "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
            ),
        ),
        ("port\n", fatal(1, "port", "wrong number of arguments")),
        ("port 1 2\n", fatal(1, "port 1 2", "wrong number of arguments")),
        (
            'bind "127.0.0.1\n',
            fatal(1, 'bind "127.0.0.1', "Unbalanced quotes in configuration line"),
        ),
        ("  port abc  \n", fatal(1, "port abc", "argument couldn't be parsed into an integer")),
    ],
)
def test_file_errors_match_redis_server(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigFileError) as info:
        Config.load(write(tmp_path / "bad.conf", text))
    assert str(info.value) == expected


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.conf")
    with pytest.raises(ConfigFileError) as info:
        Config.load(path)
    assert (
        str(info.value)
        == f"Fatal error, can't open config file '{path}': No such file or directory"
    )


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (["--port", "7000"], 'port "7000" '),
        (["--port", "7000", "--maxmemory", "1mb"], 'port "7000" \nmaxmemory "1mb" '),
        (["--save"], 'save ""'),
        (["--save", "--port", "1"], 'save ""\nport "1" '),
        (["--save", "60", "5"], 'save "60" "5" '),
        (["--requirepass", "--x"], 'requirepass "--x" '),
        (["--port 7000"], "port 7000 "),
        (["--requirepass", "a b"], 'requirepass "a b" '),
    ],
)
def test_argv_to_options(args: list[str], options: str) -> None:
    assert argv_to_options(args) == options


def test_command_line_errors_count_lines_like_redis(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as info:
        Config.load(None, ["--port", "7000", "--nosuch", "1"])
    assert str(info.value) == fatal(3, 'nosuch "1"', "Bad directive or wrong number of arguments")
    with pytest.raises(ConfigFileError) as info:
        Config.load(None, ["--port"])
    assert str(info.value) == fatal(2, "port", "wrong number of arguments")
    path = write(tmp_path / "ok.conf", "port 7001\nhz 10\n")
    with pytest.raises(ConfigFileError) as info:
        Config.load(path, ["--nosuch", "1"])
    assert str(info.value) == fatal(4, 'nosuch "1"', "Bad directive or wrong number of arguments")
    with pytest.raises(ConfigFileError) as info:
        Config.load(None, ["--maxmemory-policy", "allkeys-lru", "extra"])
    assert str(info.value) == fatal(
        2, 'maxmemory-policy "allkeys-lru" "extra"', "wrong number of arguments"
    )


def test_precedence_file_env_args(tmp_path: Path) -> None:
    path = write(tmp_path / "a.conf", "port 7000\nmaxmemory 1mb\nhz 20\ntimeout 5\n")
    env = {
        "RESPCACHE_PORT": "7001",
        "RESPCACHE_MAXMEMORY": "2mb",
        "RESPCACHE_HZ": "30",
        "HOME": "/x",
    }
    config = Config.load(path, ["--port", "7002"], env)
    assert config.port == 7002  # args beat env and file
    assert config.maxmemory == 2 * 1024**2  # env beats file
    assert config.hz == 30
    assert config.timeout == 5  # file beats defaults
    assert config.tcp_keepalive == 300


def test_env_names(tmp_path: Path) -> None:
    env = {
        "RESPCACHE_MAXMEMORY_POLICY": "allkeys-lru",
        "respcache_slaveof": "127.0.0.1 6380",
        "RESPCACHE_SAVE": "3600 1 60 5",
        "RESPCACHE_NO_SUCH": "1",
    }
    config = Config.load(None, (), env)
    assert config.maxmemory_policy == "allkeys-lru"
    assert config.replicaof == ("127.0.0.1", 6380)
    assert config.save == ((3600, 1), (60, 5))
    assert config.ignored_env == ["RESPCACHE_NO_SUCH"]


def test_env_errors() -> None:
    with pytest.raises(ConfigFileError) as info:
        Config.load(None, (), {"RESPCACHE_PORT": "abc"})
    assert str(info.value) == (
        f"*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n"
        "Reading the environment variable RESPCACHE_PORT\n"
        ">>> 'port \"abc\"'\n"
        "argument couldn't be parsed into an integer"
    )


def test_stdin_text_comes_after_the_file(tmp_path: Path) -> None:
    config = Config.load(write(tmp_path / "a.conf", "port 7000\n"), stdin="port 7001\nhz 20\n")
    assert (config.port, config.hz) == (7001, 20)


# --- CONFIG REWRITE ------------------------------------------------------------------------


def test_rewrite_without_file() -> None:
    with pytest.raises(ConfigError) as info:
        Config().rewrite()
    assert str(info.value) == "ERR The server is running without a config file"


def test_rewrite_like_redis(tmp_path: Path) -> None:
    # The same scenario run against redis-server 7.0.15 gave this file (its extra
    # settings aside; appended lines follow each server's own table order).
    path = write(
        tmp_path / "rw.conf",
        "# top comment\n"
        "port 16397\n"
        f"dir {tmp_path}\n"
        "\n"
        "# memory\n"
        "maxmemory 10mb\n"
        "slaveof 127.0.0.1 1\n"
        "slave-read-only yes\n"
        "hz 10\n"
        "hz 11\n"
        "save 3600 1\n"
        "save 60 5\n"
        "client-output-buffer-limit normal 0 0 0\n",
    )
    config = Config.load(path)
    config.set_many(
        [
            ("maxmemory", "3000000"),
            ("maxmemory-policy", "allkeys-lru"),
            ("requirepass", 'a b"c'),
            ("hz", "10"),
            ("notify-keyspace-events", "KEA"),
            ("client-output-buffer-limit", "pubsub 1mb 0 0"),
            ("slowlog-max-len", "1000"),
            ("masterauth", "x\ty\n"),
            ("maxmemory-samples", "7"),
        ]
    )
    config.rewrite()
    assert Path(path).read_text() == (
        "# top comment\n"
        "port 16397\n"
        f'dir "{tmp_path}"\n'
        "\n"
        "# memory\n"
        "maxmemory 3000000\n"
        "replicaof 127.0.0.1 1\n"
        "replica-read-only yes\n"
        "hz 10\n"
        "\n"
        "save 3600 1\n"
        "save 60 5\n"
        "client-output-buffer-limit normal 0 0 0\n"
        "\n"
        "# Generated by CONFIG REWRITE\n"
        'notify-keyspace-events "AKE"\n'
        'requirepass "a b\\"c"\n'
        "client-output-buffer-limit pubsub 1mb 0 0\n"
        "slowlog-max-len 1000\n"
        "maxmemory-policy allkeys-lru\n"
        "maxmemory-samples 7\n"
        'masterauth "x\\ty\\n"\n'
    )
    # Loading the rewritten file gives the same configuration. As in Redis, later
    # rewrites may still move lines (an unforced client-output-buffer-limit class reuses
    # a line left by a forced one; the file's final newline becomes a blank line) but
    # keep the values, and settle.
    texts = []
    for _ in range(3):
        again = Config.load(path)
        assert again.matching(["*"]) == config.matching(["*"])
        again.rewrite()
        texts.append(Path(path).read_text())
    assert texts[-1] == texts[-2]


def test_rewrite_keeps_unknown_order_and_blanks_defaults(tmp_path: Path) -> None:
    include = write(tmp_path / "inc.conf", "hz 20\n")
    path = write(
        tmp_path / "a.conf",
        f'requirepass foo\n# keep me\ninclude {include}\ndir {tmp_path}\nsave ""\nmaxclients 10\n',
    )
    config = Config.load(path)
    config.set_many([("requirepass", ""), ("maxclients", "10000")])
    with open(path, "a") as f:
        f.write("nosuch directive\n")  # edited behind the server's back
    config.rewrite()
    assert Path(path).read_text() == (
        "\n"  # requirepass "" is not written: its line is blanked
        "# keep me\n"
        f"include {include}\n"
        f'dir "{tmp_path}"\n'
        'save ""\n'
        "maxclients 10000\n"  # back to the default, but the line was there: rewritten
        "# ??? nosuch directive\n"
        "\n"
        "# Generated by CONFIG REWRITE\n"
        "hz 20\n"  # set by the included file, differs from the default
    )


def test_rewrite_of_an_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.conf", "")
    config = Config.load(path)
    config.set("maxmemory", "64mb")
    config.rewrite()
    assert Path(path).read_text() == (
        f'# Generated by CONFIG REWRITE\ndir "{os.getcwd()}"\nsave ""\nmaxmemory 64mb\n'
    )


def test_rewrite_failure_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "a.conf", "port 7000\n")
    config = Config.load(path)
    config.config_file = str(tmp_path / "gone" / "a.conf")  # its directory was removed
    with pytest.raises(ConfigError) as info:
        config.rewrite()
    assert str(info.value) == "ERR Rewriting config file: No such file or directory"


# --- conf/respcache.conf --------------------------------------------------------------------


def test_shipped_config_file_lists_every_setting_with_its_default() -> None:
    path = REPO / "conf" / "respcache.conf"
    config = Config.load(str(path))
    defaults = Config()
    assert config.matching(["*"]) == defaults.matching(["*"])
    directives = [
        words[0]
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
        for words in [split_args(line)]
        if words
    ]
    assert sorted(directives) == sorted(SETTINGS)


# --- Redis 7.0 names: aliases, settings accepted without effect -----------------------------


def test_ziplist_aliases_set_the_listpack_settings() -> None:
    config = Config()
    config.set_many([("zset-max-ziplist-entries", "16"), ("hash-max-ziplist-value", "1kb")])
    assert config.zset_max_listpack_entries == 16
    assert config.hash_max_listpack_value == 1024
    assert config.matching(["*sh-max-ziplist-*", "zset-max-ziplist-*"]) == {
        "hash-max-ziplist-entries": "512",
        "hash-max-ziplist-value": "1024",
        "zset-max-ziplist-entries": "16",
        "zset-max-ziplist-value": "64",
    }
    assert config.matching(["slave-priority", "list-max-ziplist-size"]) == {
        "slave-priority": "100",
        "list-max-ziplist-size": "-2",
    }


def test_entries_settings_take_no_memory_units_but_values_do() -> None:
    config = Config()
    with pytest.raises(ConfigError, match="argument couldn't be parsed into an integer"):
        config.set("zset-max-listpack-entries", "1k")
    config.set("zset-max-listpack-value", "1k")
    assert config.zset_max_listpack_value == 1000


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("latency-tracking-info-percentiles", "50 99.90 100", "50 99.9 100"),
        ("latency-tracking-info-percentiles", "", ""),
        ("maxmemory-clients", "10%", "10%"),
        ("maxmemory-clients", "1mb", "1048576"),
        ("shutdown-on-sigterm", "now NOSAVE", "nosave now"),
        ("shutdown-on-sigterm", "default", "default"),
        ("oom-score-adj", "relative", "yes"),
        ("oom-score-adj-values", "0 -200 2000", "0 -200 2000"),
    ],
)
def test_special_redis_settings_render_as_redis(name: str, value: str, shown: str) -> None:
    config = Config()
    config.set(name, value)
    assert config.render(name) == shown


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("latency-tracking-info-percentiles", "50 abc", "Invalid latency-tracking-info-percentiles parameters"),
        ("latency-tracking-info-percentiles", "101", "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"),
        ("maxmemory-clients", "101%", "percentage argument must be less or equal to 100"),
        ("shutdown-on-sigint", "save nosave", "shutdown options SAVE and NOSAVE can't be used simultaneously"),
        ("oom-score-adj-values", "0 1", "wrong number of arguments"),
        ("oom-score-adj-values", "0 1 3000", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
    ],
)
def test_special_redis_settings_refuse_as_redis(name: str, value: str, error: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config().set(name, value)
    assert str(info.value) == (
        f"ERR CONFIG SET failed (possibly related to argument '{name}') - {error}"
    )


def test_settings_respcache_cannot_honour_refuse_yes() -> None:
    with pytest.raises(ConfigError, match="respcache does not daemonize"):
        Config(daemonize="yes")
    assert Config(daemonize="no").daemonize is False


def test_every_setting_has_exactly_one_typed_attribute() -> None:
    # The settings table is the one declaration; the typed attributes mirror it name for
    # name (underscores for dashes), with nothing missing and nothing extra.
    from respcache.config.attributes import ConfigAttributes, _Field

    fields = {k: v.name for k, v in vars(ConfigAttributes).items() if isinstance(v, _Field)}
    assert sorted(fields.values()) == sorted(SETTINGS)
    assert all(attr == name.replace("-", "_") for attr, name in fields.items())
    config = Config()
    for attr, name in fields.items():
        value = config.get(name)
        # bind is stored as a tuple and handed out as a fresh list (callers may mutate it)
        assert getattr(config, attr) == (list(value) if attr == "bind" else value)  # type: ignore[call-overload]
