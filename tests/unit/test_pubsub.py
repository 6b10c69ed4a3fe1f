"""Pub/sub and keyspace notifications through the engine, as Redis 7.0.15 answers them:
confirmation frames in RESP2 and RESP3, counts, delivery and glob patterns, shard
channels, PUBSUB introspection, the RESP2 subscribed context, and notify-keyspace-events."""

from __future__ import annotations

import pytest
from conftest import Clock, run

from respcache.commands import Client, Engine
from respcache.commands.pubsub import pubsub_of
from respcache.errors import CommandError
from respcache.protocol.encoder import encode
from respcache.protocol.types import OK, PONG, Push, Raw


def frames(*items: tuple[str, bytes | None, int], resp3: bool = False) -> Raw:
    """The expected confirmation bytes (one push per channel)."""
    out = b""
    for kind, name, count in items:
        out += b">3\r\n" if resp3 else b"*3\r\n"
        out += b"$%d\r\n%s\r\n" % (len(kind), kind.encode())
        if name is None:
            out += b"_\r\n" if resp3 else b"$-1\r\n"
        else:
            out += b"$%d\r\n%s\r\n" % (len(name), name)
        out += b":%d\r\n" % count
    return Raw(out)


def message(channel: str, data: str) -> Push:
    return Push([b"message", channel.encode(), data.encode()])


def pmessage(pattern: str, channel: str, data: str) -> Push:
    return Push([b"pmessage", pattern.encode(), channel.encode(), data.encode()])


# --- confirmations ------------------------------------------------------------------------------


def test_subscribe_confirmations_and_counts(client: Client) -> None:
    assert run(client, "SUBSCRIBE", "a", "b", "a") == frames(
        ("subscribe", b"a", 1), ("subscribe", b"b", 2), ("subscribe", b"a", 2)
    )
    assert run(client, "PSUBSCRIBE", "a*", "b?") == frames(
        ("psubscribe", b"a*", 3), ("psubscribe", b"b?", 4)
    )
    # Shard channels are counted on their own.
    assert run(client, "SSUBSCRIBE", "s1", "s2") == frames(
        ("ssubscribe", b"s1", 1), ("ssubscribe", b"s2", 2)
    )
    assert run(client, "UNSUBSCRIBE", "b", "x") == frames(
        ("unsubscribe", b"b", 3), ("unsubscribe", b"x", 3)
    )
    assert run(client, "SUNSUBSCRIBE") == frames(
        ("sunsubscribe", b"s1", 1), ("sunsubscribe", b"s2", 0)
    )
    assert run(client, "PUNSUBSCRIBE") == frames(
        ("punsubscribe", b"a*", 2), ("punsubscribe", b"b?", 1)
    )
    assert run(client, "UNSUBSCRIBE") == frames(("unsubscribe", b"a", 0))
    assert client.subscriptions == set() and client.patterns == set()


@pytest.mark.parametrize("kind", ["unsubscribe", "punsubscribe", "sunsubscribe"])
def test_unsubscribe_without_subscriptions(client: Client, kind: str) -> None:
    assert run(client, kind.upper()) == frames((kind, None, 0))


def test_unsubscribe_nothing_reports_the_pattern_count(client: Client) -> None:
    run(client, "PSUBSCRIBE", "p*")
    assert run(client, "UNSUBSCRIBE") == frames(("unsubscribe", None, 1))


def test_resp3_confirmations_are_pushes(client: Client) -> None:
    client.resp = 3
    assert run(client, "SUBSCRIBE", "a") == frames(("subscribe", b"a", 1), resp3=True)
    assert run(client, "UNSUBSCRIBE") == frames(("unsubscribe", b"a", 0), resp3=True)
    assert run(client, "UNSUBSCRIBE") == frames(("unsubscribe", None, 0), resp3=True)


# --- the subscribed context ------------------------------------------------------------------------


def test_resp2_subscribed_context(client: Client) -> None:
    run(client, "SUBSCRIBE", "a")
    assert run(client, "GET", "k") == CommandError(
        "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
        "are allowed in this context"
    )
    assert run(client, "PUBLISH", "a", "x") == CommandError(
        "ERR Can't execute 'publish': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
        "RESET are allowed in this context"
    )
    assert run(client, "PING") == [b"pong", b""]
    assert run(client, "PING", "x") == [b"pong", b"x"]
    run(client, "UNSUBSCRIBE")
    assert run(client, "PING") == PONG
    assert run(client, "GET", "k") is None


def test_resp3_subscribed_client_runs_anything(client: Client) -> None:
    client.resp = 3
    run(client, "SUBSCRIBE", "a")
    assert run(client, "SET", "k", "v") == OK
    assert run(client, "PING") == PONG
    assert run(client, "PUBLISH", "a", "self") == 1
    assert client.pushed == [message("a", "self")]


def test_subscribe_inside_multi(client: Client) -> None:
    run(client, "MULTI")
    run(client, "SUBSCRIBE", "ch")
    assert run(client, "EXEC") == [frames(("subscribe", b"ch", 1))]
    assert encode(run(client, "UNSUBSCRIBE", "ch")) == (  # type: ignore[arg-type]
        b"*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n"
    )


def test_disconnect_and_reset_unsubscribe(engine: Engine) -> None:
    a, b, publisher = engine.new_client(), engine.new_client(), engine.new_client()
    run(a, "SUBSCRIBE", "ch")
    run(a, "PSUBSCRIBE", "c*")
    run(a, "SSUBSCRIBE", "s")
    run(b, "SUBSCRIBE", "ch")
    engine.remove_client(b)
    assert run(publisher, "PUBLISH", "ch", "x") == 2  # a: channel and pattern
    assert run(a, "RESET") == "RESET"
    assert a.subscriptions == set() and a.patterns == set()
    assert run(publisher, "PUBLISH", "ch", "y") == 0
    assert run(publisher, "SPUBLISH", "s", "y") == 0
    state = pubsub_of(engine)
    assert state is not None
    assert not (state.channels or state.patterns or state.shard_channels)
    assert not (state.client_channels or state.client_patterns or state.client_shards)


# --- delivery -----------------------------------------------------------------------------------------


def test_publish_delivers_channel_then_patterns(engine: Engine) -> None:
    sub, other, publisher = engine.new_client(), engine.new_client(), engine.new_client()
    run(sub, "SUBSCRIBE", "news")
    run(sub, "PSUBSCRIBE", "n*", "x*")
    run(other, "PSUBSCRIBE", "n*")
    assert run(publisher, "PUBLISH", "news", "hi") == 3
    assert sub.pushed == [message("news", "hi"), pmessage("n*", "news", "hi")]
    assert other.pushed == [pmessage("n*", "news", "hi")]
    assert run(publisher, "PUBLISH", "nobody-here", "x") == 2
    assert run(publisher, "PUBLISH", "zzz", "x") == 0


def test_publish_without_any_subscriber(client: Client) -> None:
    assert run(client, "PUBLISH", "ch", "x") == 0
    assert run(client, "SPUBLISH", "ch", "x") == 0


@pytest.mark.parametrize(
    ("pattern", "channel", "matches"),
    [
        ("h?llo", "hello", True),
        ("h?llo", "hllo", False),
        ("h*llo", "heeeello", True),
        ("h[ae]llo", "hallo", True),
        ("h[ae]llo", "hillo", False),
        ("h[^e]llo", "hallo", True),
        ("h[^e]llo", "hello", False),
        ("h[a-b]llo", "hbllo", True),
        ("h\\*llo", "h*llo", True),
        ("h\\*llo", "hello", False),
        ("*", "", False),  # Redis: a non-empty pattern never matches ""
        ("__keyspace@*", "__keyspace@0__:k", True),
    ],
)
def test_pattern_glob_rules(engine: Engine, pattern: str, channel: str, matches: bool) -> None:
    sub, publisher = engine.new_client(), engine.new_client()
    run(sub, "PSUBSCRIBE", pattern)
    assert run(publisher, "PUBLISH", channel, "m") == int(matches)
    assert sub.pushed == ([pmessage(pattern, channel, "m")] if matches else [])


def test_binary_channels_and_patterns(engine: Engine) -> None:
    sub, publisher = engine.new_client(), engine.new_client()
    run(sub, "PSUBSCRIBE", b"\xff*")
    run(sub, "SUBSCRIBE", b"\xff\x00")
    assert run(publisher, "PUBLISH", b"\xff\x00", b"\x01") == 2
    assert sub.pushed == [
        Push([b"message", b"\xff\x00", b"\x01"]),
        Push([b"pmessage", b"\xff*", b"\xff\x00", b"\x01"]),
    ]


def test_shard_channels(engine: Engine) -> None:
    sub, publisher = engine.new_client(), engine.new_client()
    run(sub, "SSUBSCRIBE", "s1")
    run(sub, "PSUBSCRIBE", "*")
    assert run(publisher, "SPUBLISH", "s1", "hi") == 1  # patterns do not see shard messages
    assert sub.pushed == [Push([b"smessage", b"s1", b"hi"])]
    assert run(publisher, "PUBLISH", "s1", "x") == 1  # only the pattern: another namespace


def test_message_shapes_in_resp2_and_resp3() -> None:
    assert encode(message("a", "x"), False) == b"*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nx\r\n"
    assert encode(message("a", "x"), True) == b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nx\r\n"
    assert encode(pmessage("a*", "ab", "x"), True).startswith(b">4\r\n$8\r\npmessage\r\n")


def test_publish_is_replicated_even_without_receivers(
    client: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    run(client, "PUBLISH", "ch", "x")
    run(client, "SPUBLISH", "s", "y")
    assert propagated == [(0, [b"PUBLISH", b"ch", b"x"]), (0, [b"SPUBLISH", b"s", b"y"])]


# --- PUBSUB --------------------------------------------------------------------------------------------


def test_pubsub_introspection(engine: Engine) -> None:
    a, b, asker = engine.new_client(), engine.new_client(), engine.new_client()
    assert run(asker, "PUBSUB", "CHANNELS") == []
    assert run(asker, "PUBSUB", "NUMPAT") == 0
    assert run(asker, "PUBSUB", "NUMSUB") == []
    run(a, "SUBSCRIBE", "news", "sport")
    run(b, "SUBSCRIBE", "news")
    run(a, "PSUBSCRIBE", "n*")
    run(b, "PSUBSCRIBE", "n*", "s*")
    run(a, "SSUBSCRIBE", "s1", "s2")
    assert run(asker, "PUBSUB", "CHANNELS") == [b"news", b"sport"]
    assert run(asker, "pubsub", "channels", "s*") == [b"sport"]
    assert run(asker, "PUBSUB", "NUMSUB", "news", "sport", "none") == [
        b"news",
        2,
        b"sport",
        1,
        b"none",
        0,
    ]
    assert run(asker, "PUBSUB", "NUMPAT") == 2  # unique patterns
    assert run(asker, "PUBSUB", "SHARDCHANNELS") == [b"s1", b"s2"]
    assert run(asker, "PUBSUB", "SHARDCHANNELS", "*2") == [b"s2"]
    assert run(asker, "PUBSUB", "SHARDNUMSUB", "s1", "x") == [b"s1", 1, b"x", 0]


def test_pubsub_errors_and_help(client: Client) -> None:
    assert run(client, "PUBSUB", "channels", "a", "b") == CommandError(
        "ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP."
    )
    assert run(client, "PUBSUB", "NUMPAT", "x") == CommandError(
        "ERR wrong number of arguments for 'pubsub|numpat' command"
    )
    assert run(client, "PUBSUB", "foo") == CommandError(
        "ERR unknown subcommand 'foo'. Try PUBSUB HELP."
    )
    assert run(client, "PUBSUB") == CommandError(
        "ERR wrong number of arguments for 'pubsub' command"
    )
    help_lines = run(client, "PUBSUB", "HELP")
    assert isinstance(help_lines, list) and len(help_lines) == 14
    assert help_lines[0] == "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert help_lines[-1] == "    Prints this help."


# --- keyspace notifications ------------------------------------------------------------------------------


@pytest.fixture
def listener(engine: Engine) -> Client:
    sub = engine.new_client()
    run(sub, "PSUBSCRIBE", "__key*__:*")
    return sub


def notifications(sub: Client) -> list[tuple[bytes, bytes]]:
    out = []
    for push in sub.pushed:
        assert isinstance(push, Push) and push[0] == b"pmessage"
        out.append((push[2], push[3]))
    sub.pushed.clear()
    return out


def test_keyspace_and_keyevent(engine: Engine, listener: Client) -> None:
    c = engine.new_client()
    run(c, "CONFIG", "SET", "notify-keyspace-events", "KEA")
    run(c, "SET", "foo", "bar")
    run(c, "RPOP", "nokey")
    run(c, "LPUSH", "l", "1")
    run(c, "RPOP", "l")
    assert notifications(listener) == [
        (b"__keyspace@0__:foo", b"set"),
        (b"__keyevent@0__:set", b"foo"),
        (b"__keyspace@0__:l", b"lpush"),
        (b"__keyevent@0__:lpush", b"l"),
        (b"__keyspace@0__:l", b"rpop"),
        (b"__keyevent@0__:rpop", b"l"),
        (b"__keyspace@0__:l", b"del"),
        (b"__keyevent@0__:del", b"l"),
    ]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("", []),
        ("KEA", [b"__keyspace@3__:l", b"__keyevent@3__:lpush"]),
        ("Kl", [b"__keyspace@3__:l"]),
        ("El", [b"__keyevent@3__:lpush"]),
        ("K$", []),  # the class of LPUSH is l
        ("A", []),  # a class without K or E sends nothing
        ("KE", []),
    ],
)
def test_flags_select_events(
    engine: Engine, listener: Client, flags: str, expected: list[bytes]
) -> None:
    c = engine.new_client()
    run(c, "CONFIG", "SET", "notify-keyspace-events", flags)
    run(c, "SELECT", 3)
    run(c, "LPUSH", "l", "1")
    assert [channel for channel, _ in notifications(listener)] == expected


def test_new_key_events_need_their_own_flag(engine: Engine, listener: Client) -> None:
    c = engine.new_client()
    run(c, "CONFIG", "SET", "notify-keyspace-events", "En")
    run(c, "RPUSH", "l", "1")
    run(c, "RPUSH", "l", "2")
    assert notifications(listener) == [(b"__keyevent@0__:new", b"l")]


def test_expired_and_evicted_events(engine: Engine, listener: Client, clock: Clock) -> None:
    c = engine.new_client()
    run(c, "CONFIG", "SET", "notify-keyspace-events", "Exe")
    run(c, "SET", "t", "1", "PX", 10)
    clock.advance(1)
    assert run(c, "GET", "t") is None
    assert notifications(listener) == [(b"__keyevent@0__:expired", b"t")]
    engine.keyspace.set_policy("allkeys-lru")
    run(c, "SET", "old", "x" * 100)
    run(c, "SET", "new", "x" * 100)
    engine.keyspace.maxmemory = engine.keyspace.used_memory - 1
    run(c, "GET", "new")
    assert notifications(listener) == [(b"__keyevent@0__:evicted", b"old")]


def test_notifications_are_not_replicated(
    engine: Engine, listener: Client, propagated: list[tuple[int, list[bytes]]]
) -> None:
    c = engine.new_client()
    run(c, "CONFIG", "SET", "notify-keyspace-events", "KEA")
    propagated.clear()
    run(c, "SET", "k", "v")
    assert propagated == [(0, [b"SET", b"k", b"v"])]
    assert len(notifications(listener)) == 2


def test_hook_installed_once_and_chained(engine: Engine) -> None:
    seen: list[bytes] = []
    engine.notify_hook = lambda kind, event, db, key: seen.append(event)
    sub = engine.new_client()
    run(sub, "SUBSCRIBE", "__keyevent@0__:set")
    run(sub, "SUBSCRIBE", "other")
    c = engine.new_client()
    run(c, "CONFIG", "SET", "notify-keyspace-events", "E$")
    run(c, "SET", "k", "v")
    assert seen == [b"new", b"set"]  # the hook sees every class; the config filters
    assert sub.pushed == [Push([b"message", b"__keyevent@0__:set", b"k"])]
    assert engine.disconnect_hooks.count(pubsub_of(engine).forget) == 1  # type: ignore[union-attr]


def test_confirmations_ignore_client_reply_off(engine: Engine) -> None:
    # Redis's pubsub.tcl "PubSub messages with CLIENT REPLY OFF": pushes are no replies.
    c = engine.new_client()
    run(c, "HELLO", "3")
    run(c, "CLIENT", "REPLY", "OFF")
    c.reply_mode = "off"  # (the connection applies CLIENT REPLY; here by hand)
    run(c, "SUBSCRIBE", "channel")
    assert [bytes(p) for p in c.pushed] == [  # type: ignore[arg-type]
        b">3\r\n$9\r\nsubscribe\r\n$7\r\nchannel\r\n:1\r\n"
    ]
    resp2 = engine.new_client()
    resp2.reply_mode = "skip"
    run(resp2, "PSUBSCRIBE", "*")
    assert [bytes(p) for p in resp2.pushed] == [  # type: ignore[arg-type]
        b"*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n"
    ]
