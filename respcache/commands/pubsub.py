"""Pub/sub and keyspace notifications (Redis 7.0's ``pubsub`` group).

SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE and their UNSUBSCRIBEs, PUBLISH, SPUBLISH and
PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB/HELP, as a standalone
(non-cluster) Redis 7.0 answers them: shard channels are a separate namespace
with their own subscription count.

The subscription tables of an engine live in a :class:`PubSub` created on
first use (the first subscription or publication); it installs the engine's
``notify_hook`` (keyspace notifications are only observable by subscribers)
and a disconnect hook (a client that goes away, or RESETs, is unsubscribed
without messages). A client's channels and patterns are mirrored in
``client.subscriptions``/``client.patterns``, which the engine reads for the
RESP2 subscribed-mode command restriction and CLIENT LIST for its counts.

Messages are delivered with ``client.push``: a RESP3 push (``>``), a plain
array in RESP2. The confirmations of (P|S)(UN)SUBSCRIBE are one push per
channel, returned together as the command's reply (already encoded for the
client's protocol) so that they stay in order with pipelined replies.
Patterns use Redis's glob rules (:func:`respcache.config.stringmatch`).

PUBLISH and SPUBLISH are replicated as they are, even though they change no
data (Redis's forceCommandPropagation), so that subscribers of followers get
the messages; keyspace notifications are not: each node sends its own.

Keyspace notifications follow ``notify-keyspace-events``: for an event of a
class enabled there, ``K`` publishes ``<event>`` on ``__keyspace@<db>__:<key>``
and ``E`` publishes ``<key>`` on ``__keyevent@<db>__:<event>``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Final

from respcache.commands.client import Client
from respcache.commands.engine import Engine
from respcache.commands.registry import command
from respcache.config import stringmatch
from respcache.errors import CommandError
from respcache.protocol.encoder import encode
from respcache.protocol.types import Push, Raw, Reply

PUBSUB_HELP: Final = (
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
)


def _text(data: bytes) -> str:
    """Bytes as the str :func:`stringmatch` takes (round-trips any bytes)."""
    return data.decode("utf-8", "surrogateescape")


class PubSub:
    """One engine's subscriptions: channel → clients, in subscription order."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.channels: dict[bytes, dict[Client, None]] = {}
        self.patterns: dict[bytes, dict[Client, None]] = {}
        self.pattern_text: dict[bytes, str] = {}
        self.shard_channels: dict[bytes, dict[Client, None]] = {}
        # Per client, in subscription order (the client's sets have no order).
        self.client_channels: dict[Client, dict[bytes, None]] = {}
        self.client_patterns: dict[Client, dict[bytes, None]] = {}
        self.client_shards: dict[Client, dict[bytes, None]] = {}
        previous = engine.notify_hook
        if previous is None:
            engine.notify_hook = self.notify
        else:

            def both(kind: str, event: bytes, db: int, key: bytes) -> None:
                previous(kind, event, db, key)
                self.notify(kind, event, db, key)

            engine.notify_hook = both
        engine.disconnect_hooks.append(self.forget)

    # --- counts ---------------------------------------------------------------------------

    def count(self, client: Client) -> int:
        """Channels plus patterns (what SUBSCRIBE/PSUBSCRIBE and their UNSUBSCRIBEs report)."""
        return len(self.client_channels.get(client, ())) + len(self.client_patterns.get(client, ()))

    def shard_count(self, client: Client) -> int:
        return len(self.client_shards.get(client, ()))

    # --- subscribing ----------------------------------------------------------------------

    def subscribe(self, client: Client, channel: bytes) -> bool:
        mine = self.client_channels.setdefault(client, {})
        if channel in mine:
            return False
        mine[channel] = None
        self.channels.setdefault(channel, {})[client] = None
        client.subscriptions.add(channel)
        return True

    def unsubscribe(self, client: Client, channel: bytes) -> bool:
        mine = self.client_channels.get(client)
        if mine is None or channel not in mine:
            return False
        del mine[channel]
        if not mine:
            del self.client_channels[client]
        _remove(self.channels, channel, client)
        client.subscriptions.discard(channel)
        return True

    def psubscribe(self, client: Client, pattern: bytes) -> bool:
        mine = self.client_patterns.setdefault(client, {})
        if pattern in mine:
            return False
        mine[pattern] = None
        clients = self.patterns.get(pattern)
        if clients is None:
            clients = self.patterns[pattern] = {}
            self.pattern_text[pattern] = _text(pattern)
        clients[client] = None
        client.patterns.add(pattern)
        return True

    def punsubscribe(self, client: Client, pattern: bytes) -> bool:
        mine = self.client_patterns.get(client)
        if mine is None or pattern not in mine:
            return False
        del mine[pattern]
        if not mine:
            del self.client_patterns[client]
        if _remove(self.patterns, pattern, client):
            del self.pattern_text[pattern]
        client.patterns.discard(pattern)
        return True

    def ssubscribe(self, client: Client, channel: bytes) -> bool:
        mine = self.client_shards.setdefault(client, {})
        if channel in mine:
            return False
        mine[channel] = None
        self.shard_channels.setdefault(channel, {})[client] = None
        return True

    def sunsubscribe(self, client: Client, channel: bytes) -> bool:
        mine = self.client_shards.get(client)
        if mine is None or channel not in mine:
            return False
        del mine[channel]
        if not mine:
            del self.client_shards[client]
        _remove(self.shard_channels, channel, client)
        return True

    def forget(self, client: Client) -> None:
        """A client went away (or RESET): drop every subscription, no messages."""
        for channel in list(self.client_channels.get(client, ())):
            self.unsubscribe(client, channel)
        for pattern in list(self.client_patterns.get(client, ())):
            self.punsubscribe(client, pattern)
        for channel in list(self.client_shards.get(client, ())):
            self.sunsubscribe(client, channel)

    # --- publishing -----------------------------------------------------------------------

    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to the channel's subscribers, then to matching patterns; receivers."""
        receivers = 0
        clients = self.channels.get(channel)
        if clients:
            push = Push([b"message", channel, message])
            for client in list(clients):
                client.push(push)
                receivers += 1
        if self.patterns:
            text = _text(channel)
            for pattern, subscribers in list(self.patterns.items()):
                if not stringmatch(self.pattern_text[pattern], text):
                    continue
                push = Push([b"pmessage", pattern, channel, message])
                for client in list(subscribers):
                    client.push(push)
                    receivers += 1
        return receivers

    def spublish(self, channel: bytes, message: bytes) -> int:
        clients = self.shard_channels.get(channel)
        if not clients:
            return 0
        push = Push([b"smessage", channel, message])
        for client in list(clients):
            client.push(push)
        return len(clients)

    def notify(self, kind: str, event: bytes, db: int, key: bytes) -> None:
        """Engine.notify_hook: keyspace/keyevent messages per ``notify-keyspace-events``."""
        if not (self.channels or self.patterns):
            return
        flags = self.engine.config.notify_keyspace_events
        if kind not in flags:
            return
        if "K" in flags:
            self.publish(b"__keyspace@%d__:%b" % (db, key), event)
        if "E" in flags:
            self.publish(b"__keyevent@%d__:%b" % (db, event), key)


def _remove(table: dict[bytes, dict[Client, None]], name: bytes, client: Client) -> bool:
    """Remove a client from one channel's subscribers; True when nobody is left."""
    clients = table.get(name)
    if clients is None:
        return False
    clients.pop(client, None)
    if clients:
        return False
    del table[name]
    return True


_STATES: weakref.WeakKeyDictionary[Engine, PubSub] = weakref.WeakKeyDictionary()


def pubsub_of(engine: Engine, create: bool = True) -> PubSub | None:
    """The engine's pub/sub tables (created, with its hooks, on first use)."""
    state = _STATES.get(engine)
    if state is None and create:
        state = _STATES[engine] = PubSub(engine)
    return state


def _state(c: Client) -> PubSub:
    state = pubsub_of(c.engine)
    assert state is not None
    return state


def _confirmations(c: Client, kind: bytes, items: Iterable[tuple[bytes | None, int]]) -> Reply:
    """One push per channel, encoded for the client's protocol, as one reply."""
    resp3 = c.resp == 3
    data = Raw(b"".join(encode(Push([kind, name, count]), resp3) for name, count in items))
    if c.reply_mode != "on":
        # Confirmations are pushes (in RESP2 too): CLIENT REPLY OFF|SKIP does not hold
        # them back (Redis's CLIENT_PUSHING). The reply itself is dropped as usual.
        c.push(data)
    return data


# --- SUBSCRIBE family --------------------------------------------------------------------------


@command(
    "subscribe",
    arity=-2,
    flags="pubsub noscript loading stale",
    group="pubsub",
    summary="Listen for messages published to the given channels",
    since="2.0.0",
    complexity="O(N) where N is the number of channels to subscribe to.",
    acl="@pubsub @slow",
)
def subscribe(c: Client, argv: list[bytes]) -> Reply:
    state = _state(c)
    out: list[tuple[bytes | None, int]] = []
    for channel in argv[1:]:
        state.subscribe(c, channel)
        out.append((channel, state.count(c)))
    return _confirmations(c, b"subscribe", out)


@command(
    "unsubscribe",
    arity=-1,
    flags="pubsub noscript loading stale",
    group="pubsub",
    summary="Stop listening for messages posted to the given channels",
    since="2.0.0",
    complexity="O(N) where N is the number of clients already subscribed to a channel.",
    acl="@pubsub @slow",
)
def unsubscribe(c: Client, argv: list[bytes]) -> Reply:
    state = _state(c)
    channels = argv[1:] or list(state.client_channels.get(c, ()))
    out: list[tuple[bytes | None, int]] = []
    for channel in channels:
        state.unsubscribe(c, channel)
        out.append((channel, state.count(c)))
    if not out:
        out.append((None, state.count(c)))
    return _confirmations(c, b"unsubscribe", out)


@command(
    "psubscribe",
    arity=-2,
    flags="pubsub noscript loading stale",
    group="pubsub",
    summary="Listen for messages published to channels matching the given patterns",
    since="2.0.0",
    complexity="O(N) where N is the number of patterns the client is already subscribed to.",
    acl="@pubsub @slow",
)
def psubscribe(c: Client, argv: list[bytes]) -> Reply:
    state = _state(c)
    out: list[tuple[bytes | None, int]] = []
    for pattern in argv[1:]:
        state.psubscribe(c, pattern)
        out.append((pattern, state.count(c)))
    return _confirmations(c, b"psubscribe", out)


@command(
    "punsubscribe",
    arity=-1,
    flags="pubsub noscript loading stale",
    group="pubsub",
    summary="Stop listening for messages posted to channels matching the given patterns",
    since="2.0.0",
    complexity="O(N+M) where N is the number of patterns the client is already subscribed and "
    "M is the number of total patterns subscribed in the system (by any client).",
    acl="@pubsub @slow",
)
def punsubscribe(c: Client, argv: list[bytes]) -> Reply:
    state = _state(c)
    patterns = argv[1:] or list(state.client_patterns.get(c, ()))
    out: list[tuple[bytes | None, int]] = []
    for pattern in patterns:
        state.punsubscribe(c, pattern)
        out.append((pattern, state.count(c)))
    if not out:
        out.append((None, state.count(c)))
    return _confirmations(c, b"punsubscribe", out)


@command(
    "ssubscribe",
    arity=-2,
    flags="pubsub noscript loading stale",
    keys=(1, -1, 1),
    group="pubsub",
    summary="Listen for messages published to the given shard channels",
    since="7.0.0",
    complexity="O(N) where N is the number of shard channels to subscribe to.",
    acl="@pubsub @slow",
)
def ssubscribe(c: Client, argv: list[bytes]) -> Reply:
    state = _state(c)
    out: list[tuple[bytes | None, int]] = []
    for channel in argv[1:]:
        state.ssubscribe(c, channel)
        out.append((channel, state.shard_count(c)))
    return _confirmations(c, b"ssubscribe", out)


@command(
    "sunsubscribe",
    arity=-1,
    flags="pubsub noscript loading stale",
    keys=(1, -1, 1),
    group="pubsub",
    summary="Stop listening for messages posted to the given shard channels",
    since="7.0.0",
    complexity="O(N) where N is the number of clients already subscribed to a shard channel.",
    acl="@pubsub @slow",
)
def sunsubscribe(c: Client, argv: list[bytes]) -> Reply:
    state = _state(c)
    channels = argv[1:] or list(state.client_shards.get(c, ()))
    out: list[tuple[bytes | None, int]] = []
    for channel in channels:
        state.sunsubscribe(c, channel)
        out.append((channel, state.shard_count(c)))
    if not out:
        out.append((None, state.shard_count(c)))
    return _confirmations(c, b"sunsubscribe", out)


# --- PUBLISH -----------------------------------------------------------------------------------


@command(
    "publish",
    arity=3,
    flags="pubsub loading stale fast may_replicate",
    group="pubsub",
    summary="Post a message to a channel",
    since="2.0.0",
    complexity="O(N+M) where N is the number of clients subscribed to the receiving channel and "
    "M is the total number of subscribed patterns (by any client).",
    acl="@pubsub @fast",
)
def publish(c: Client, argv: list[bytes]) -> Reply:
    state = pubsub_of(c.engine, create=False)
    receivers = 0 if state is None else state.publish(argv[1], argv[2])
    c.engine.propagate(c.db.id, [argv])  # followers' subscribers get it too
    return receivers


@command(
    "spublish",
    arity=3,
    flags="pubsub loading stale fast may_replicate",
    keys=(1, 1, 1),
    group="pubsub",
    summary="Post a message to a shard channel",
    since="7.0.0",
    complexity="O(N) where N is the number of clients subscribed to the receiving shard channel.",
    acl="@pubsub @fast",
)
def spublish(c: Client, argv: list[bytes]) -> Reply:
    state = pubsub_of(c.engine, create=False)
    receivers = 0 if state is None else state.spublish(argv[1], argv[2])
    c.engine.propagate(c.db.id, [argv])
    return receivers


# --- PUBSUB ------------------------------------------------------------------------------------


def _active(c: Client, argv: list[bytes], table_name: str) -> Reply:
    if len(argv) > 3:
        raise CommandError(
            "ERR unknown subcommand or wrong number of arguments for "
            f"'{_text(argv[1])}'. Try PUBSUB HELP."
        )
    state = pubsub_of(c.engine, create=False)
    if state is None:
        return []
    table: dict[bytes, dict[Client, None]] = getattr(state, table_name)
    if len(argv) == 2:
        return list(table)
    pattern = _text(argv[2])
    return [name for name in table if stringmatch(pattern, _text(name))]


def _numsub(c: Client, argv: list[bytes], table_name: str) -> Reply:
    state = pubsub_of(c.engine, create=False)
    out: list[Reply] = []
    for channel in argv[2:]:
        clients = None if state is None else getattr(state, table_name).get(channel)
        out += [channel, len(clients) if clients else 0]
    return out


@command(
    "pubsub|channels",
    arity=-2,
    flags="pubsub loading stale",
    group="pubsub",
    summary="List active channels",
    since="2.8.0",
    complexity="O(N) where N is the number of active channels, and assuming constant time "
    "pattern matching (relatively short channels and patterns)",
    acl="@pubsub @slow",
)
def pubsub_channels(c: Client, argv: list[bytes]) -> Reply:
    return _active(c, argv, "channels")


@command(
    "pubsub|numsub",
    arity=-2,
    flags="pubsub loading stale",
    group="pubsub",
    summary="Get the count of subscribers for channels",
    since="2.8.0",
    complexity="O(N) for the NUMSUB subcommand, where N is the number of requested channels",
    acl="@pubsub @slow",
)
def pubsub_numsub(c: Client, argv: list[bytes]) -> Reply:
    return _numsub(c, argv, "channels")


@command(
    "pubsub|numpat",
    arity=2,
    flags="pubsub loading stale",
    group="pubsub",
    summary="Get the count of unique patterns pattern subscriptions",
    since="2.8.0",
    complexity="O(1)",
    acl="@pubsub @slow",
)
def pubsub_numpat(c: Client, argv: list[bytes]) -> Reply:
    state = pubsub_of(c.engine, create=False)
    return 0 if state is None else len(state.patterns)


@command(
    "pubsub|shardchannels",
    arity=-2,
    flags="pubsub loading stale",
    group="pubsub",
    summary="List active shard channels",
    since="7.0.0",
    complexity="O(N) where N is the number of active shard channels, and assuming constant time "
    "pattern matching (relatively short shard channels).",
    acl="@pubsub @slow",
)
def pubsub_shardchannels(c: Client, argv: list[bytes]) -> Reply:
    return _active(c, argv, "shard_channels")


@command(
    "pubsub|shardnumsub",
    arity=-2,
    flags="pubsub loading stale",
    group="pubsub",
    summary="Get the count of subscribers for shard channels",
    since="7.0.0",
    complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard "
    "channels",
    acl="@pubsub @slow",
)
def pubsub_shardnumsub(c: Client, argv: list[bytes]) -> Reply:
    return _numsub(c, argv, "shard_channels")


@command(
    "pubsub|help",
    arity=2,
    flags="loading stale",
    group="pubsub",
    summary="Show helpful text about the different subcommands",
    since="6.2.0",
    complexity="O(1)",
    acl="@slow",
)
def pubsub_help(c: Client, argv: list[bytes]) -> Reply:
    return list(PUBSUB_HELP)
