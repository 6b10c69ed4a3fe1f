"""Client-side caching through the engine (Redis 7.0.15's tracking.c): what is remembered,
who is told, and where the invalidation of a client's own write lands (after its reply)."""

from __future__ import annotations

from conftest import Clock, run

from respcache.commands import Client, Engine
from respcache.commands.introspection import OrderedSet
from respcache.errors import CommandError
from respcache.protocol.types import OK, Push, Raw


def invalidate(*keys: str) -> Push:
    return Push([b"invalidate", [k.encode() for k in keys]])


def resp3(engine: Engine) -> Client:
    c = engine.new_client()
    assert run(c, "HELLO", "3") is not None
    return c


def test_default_mode_invalidates_once_per_read(engine: Engine, client: Client) -> None:
    reader = resp3(engine)
    assert run(reader, "CLIENT", "TRACKING", "on") == OK
    run(reader, "GET", "k")
    run(client, "SET", "k", "1")
    assert reader.pushed == [invalidate("k")]
    run(client, "SET", "k", "2")  # not read again: not told again
    assert reader.pushed == [invalidate("k")]
    assert engine.tracking.table == {}


def test_own_write_is_pending_until_after_the_reply(engine: Engine) -> None:
    c = resp3(engine)
    run(c, "CLIENT", "TRACKING", "on")
    run(c, "MGET", "a", "b")
    assert run(c, "SET", "a", "1") == OK
    assert c.pushed == []  # held: the connection sends it after SET's reply
    assert engine.tracking.pending == [(c, b"a")]
    engine.tracking.after_reply()
    assert c.pushed == [invalidate("a")]


def test_noloop_skips_own_writes(engine: Engine, client: Client) -> None:
    c = resp3(engine)
    run(c, "CLIENT", "TRACKING", "on", "NOLOOP")
    run(c, "GET", "a")
    run(c, "SET", "a", "1")
    assert engine.tracking.pending == []
    run(c, "GET", "a")
    run(client, "SET", "a", "2")
    assert c.pushed == [invalidate("a")]


def test_optin_and_optout(engine: Engine, client: Client) -> None:
    c = resp3(engine)
    run(c, "CLIENT", "TRACKING", "on", "OPTIN")
    run(c, "GET", "x1")
    assert run(c, "CLIENT", "CACHING", "yes") == OK
    info = run(c, "CLIENT", "TRACKINGINFO")
    assert info == {b"flags": OrderedSet([b"on", b"optin", b"caching-yes"]), b"redirect": 0, b"prefixes": []}
    run(c, "GET", "x2")
    run(c, "GET", "x3")  # CACHING lasted one command
    assert set(engine.tracking.table) == {b"x2"}
    assert run(c, "CLIENT", "CACHING", "no") == CommandError(
        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
    )
    o = resp3(engine)
    run(o, "CLIENT", "TRACKING", "on", "OPTOUT")
    run(o, "CLIENT", "CACHING", "no")
    run(o, "GET", "y1")
    run(o, "GET", "y2")
    assert b"y1" not in engine.tracking.table and b"y2" in engine.tracking.table


def test_caching_lasts_for_a_whole_transaction(engine: Engine) -> None:
    c = resp3(engine)
    run(c, "CLIENT", "TRACKING", "on", "OPTIN")
    run(c, "CLIENT", "CACHING", "yes")
    run(c, "MULTI")
    run(c, "GET", "a")
    run(c, "GET", "b")
    run(c, "EXEC")
    run(c, "GET", "c")
    assert set(engine.tracking.table) == {b"a", b"b"}


def test_resp2_redirect_uses_the_invalidate_channel(engine: Engine, client: Client) -> None:
    target = engine.new_client()
    run(target, "SUBSCRIBE", "__redis__:invalidate")
    target.pushed.clear()
    c = engine.new_client()
    assert run(c, "CLIENT", "TRACKING", "on", "REDIRECT", target.id) == OK
    assert run(c, "CLIENT", "GETREDIR") == target.id
    run(c, "GET", "k")
    run(client, "SET", "k", "v")
    assert target.pushed == [Push([b"message", b"__redis__:invalidate", [b"k"]])]
    run(client, "FLUSHALL")
    assert target.pushed[-1] == Push([b"message", b"__redis__:invalidate", Raw(b"$-1\r\n")])


def test_broken_redirect(engine: Engine, client: Client) -> None:
    target = engine.new_client()
    c = resp3(engine)
    run(c, "CLIENT", "TRACKING", "on", "REDIRECT", target.id)
    run(c, "GET", "k")
    engine.remove_client(target)
    run(client, "SET", "k", "v")
    assert c.pushed == [Push([b"tracking-redir-broken", target.id])]
    flags = run(c, "CLIENT", "TRACKINGINFO")
    assert isinstance(flags, dict) and list(flags[b"flags"]) == [b"on", b"broken_redirect"]


def test_flush_sends_null_to_every_tracking_client(engine: Engine, client: Client) -> None:
    a, b = resp3(engine), resp3(engine)
    run(a, "CLIENT", "TRACKING", "on")
    run(b, "CLIENT", "TRACKING", "on", "BCAST")
    run(a, "GET", "k")
    run(client, "FLUSHDB")
    assert a.pushed == b.pushed == [Push([b"invalidate", None])]
    assert engine.tracking.table == {}


def test_bcast_collects_keys_per_prefix(engine: Engine, client: Client) -> None:
    c = resp3(engine)
    assert run(c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "b", "NOLOOP") == OK
    run(client, "MSET", "b1", "1", "a1", "2", "c1", "3")
    run(c, "SET", "a2", "x")  # NOLOOP: not reported back
    engine.tracking.broadcast()
    assert c.pushed == [invalidate("a1"), invalidate("b1")]
    assert run(c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab") == CommandError(
        "ERR Prefix 'ab' overlaps with an existing prefix 'a'. "
        "Prefixes for a single client must not overlap."
    )
    assert run(c, "CLIENT", "TRACKING", "on") == CommandError(
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
        "and then re-enabling it with a different mode."
    )
    run(c, "CLIENT", "TRACKING", "off")
    assert engine.tracking.prefixes == {}


def test_option_errors(engine: Engine, client: Client) -> None:
    def err(*args: str) -> object:
        return run(client, "CLIENT", "TRACKING", *args)

    assert err("on", "PREFIX", "a") == CommandError("ERR PREFIX option requires BCAST mode to be enabled")
    assert err("on", "BCAST", "OPTIN") == CommandError("ERR OPTIN and OPTOUT are not compatible with BCAST")
    assert err("on", "OPTIN", "OPTOUT") == CommandError("ERR You can't specify both OPTIN mode and OPTOUT mode")
    assert err("on", "REDIRECT", "999") == CommandError("ERR The client ID you want redirect to does not exist")
    assert err("on", "REDIRECT", "x") == CommandError("ERR value is not an integer or out of range")
    assert err("maybe") == CommandError("ERR syntax error")
    assert err("on", "nosuch") == CommandError("ERR syntax error")
    assert run(client, "CLIENT", "CACHING", "yes") == CommandError(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with "
        "OPTIN or OPTOUT mode enabled"
    )
    assert run(client, "CLIENT", "GETREDIR") == -1


def test_expired_key_invalidates(engine: Engine, client: Client, clock: Clock) -> None:
    c = resp3(engine)
    run(c, "CLIENT", "TRACKING", "on")
    run(client, "SET", "k", "v", "PX", "100")
    run(c, "GET", "k")
    clock.advance(1)
    run(client, "GET", "k")  # lazily expired by another client
    assert c.pushed == [invalidate("k")]


def test_table_limit_invalidates_the_oldest(engine: Engine, client: Client) -> None:
    c = resp3(engine)
    run(c, "CLIENT", "TRACKING", "on")
    run(c, "MGET", "k1", "k2", "k3")
    run(client, "CONFIG", "SET", "tracking-table-max-keys", "1")
    assert c.pushed == [invalidate("k1"), invalidate("k2")]
    assert list(engine.tracking.table) == [b"k3"]


def test_unblocked_client_gets_its_invalidation_after_its_reply(engine: Engine, client: Client) -> None:
    c = resp3(engine)
    run(client, "RPUSH", "dst", "a")
    run(c, "CLIENT", "TRACKING", "on")
    run(c, "LRANGE", "dst", "0", "-1")
    blocked = run(c, "BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
    engine.blocked_clients.park(c, blocked)  # type: ignore[arg-type]
    engine.tracking.after_reply()
    run(client, "RPUSH", "src", "foo")
    assert c.pushed == [b"foo", invalidate("dst")]
    assert engine.tracking.pending == []


def test_table_limit_spares_nobody_under_noloop(engine: Engine, client: Client) -> None:
    c = resp3(engine)
    run(c, "CLIENT", "TRACKING", "on", "NOLOOP")
    run(c, "MGET", "k1", "k2")
    run(c, "CONFIG", "SET", "tracking-table-max-keys", "1")
    engine.tracking.after_reply()
    assert c.pushed == [invalidate("k1")]


def test_scripts_track_their_declared_keys_once_they_read(engine: Engine, client: Client) -> None:
    # Redis's tracking.tcl "Tracking only occurs for scripts when a command calls a
    # read-only command": a script that reads tracks every declared key; one that only
    # writes, or a read-only script that reads nothing, tracks none.
    reader = resp3(engine)
    run(reader, "CLIENT", "TRACKING", "on")
    run(reader, "EVAL", "redis.call('set', 'k3', 'bar')", "2", "k1", "k2")
    run(reader, "EVAL_RO", "redis.call('ping')", "2", "k1", "k2")
    run(client, "MSET", "k2", "1", "k1", "1")
    assert reader.pushed == []
    run(reader, "EVAL", "redis.call('get', 'k3')", "2", "k1", "k2")
    run(client, "MSET", "k2", "2", "k1", "2")
    assert reader.pushed == [invalidate("k2"), invalidate("k1")]
    reader.pushed.clear()
    run(reader, "EVAL_RO", "redis.call('get', 'k1')", "2", "k1", "k2")
    run(client, "MSET", "k2", "3", "k1", "3")
    assert reader.pushed == [invalidate("k2"), invalidate("k1")]


def test_eviction_before_a_command_is_sent_before_its_reply(engine: Engine) -> None:
    # Redis's tracking.tcl "Tracking invalidation message of eviction keys should be
    # before response": performEvictions runs before call(), so not behind the reply.
    c = resp3(engine)
    run(c, "CLIENT", "TRACKING", "on")
    run(c, "SETEX", "volatile-key", "10000", "x")
    run(c, "GET", "volatile-key")
    run(c, "SET", "big-key", "x" * 200_000)
    engine.tracking.after_reply()
    c.pushed.clear()
    engine.keyspace.set_policy("volatile-random")  # (the server wires CONFIG SET to this)
    engine.keyspace.maxmemory = engine.keyspace.used_memory - 1000  # over, as after a big write
    assert run(c, "STRLEN", "big-key") == 200_000
    assert c.pushed == [invalidate("volatile-key")]  # already out when the reply is made
    assert engine.tracking.pending == []
