"""Client-side caching: CLIENT TRACKING, the invalidation table, and the messages.

Follows Redis 7.0's ``tracking.c`` and the CLIENT TRACKING/CACHING/GETREDIR/
TRACKINGINFO parts of ``networking.c:clientCommand``:

- **Default mode.** After a read-only command of a tracking client, the keys it read
  are remembered in one table shared by every database (key name -> client ids).
  When such a key changes, expires or is evicted, each client that read it gets one
  invalidation for it and the entry is forgotten (a client hears of a key once per
  read). ``OPTIN`` remembers only after ``CLIENT CACHING YES``, ``OPTOUT`` skips the
  command after ``CLIENT CACHING NO``; the flag lasts for the next command (or the
  next transaction). ``NOLOOP`` drops invalidations caused by the client itself.
- **BCAST mode.** Nothing is remembered; every key changed under one of the
  client's prefixes (all keys without ``PREFIX``) is collected and sent, per prefix,
  once the event loop is idle again (Redis's ``beforeSleep``), as one array.
- **Delivery.** A RESP3 client gets the push ``>2 invalidate [keys]``; with
  ``REDIRECT <id>`` the messages go to that client instead: as a push if it speaks
  RESP3, else as a ``__redis__:invalidate`` pub/sub message if it is in pub/sub mode.
  FLUSHDB and FLUSHALL send a null instead of the keys to every tracking client. A
  gone redirect target flags the client ``broken_redirect`` and a RESP3 client gets
  ``>2 tracking-redir-broken <id>``.
- **Position.** An invalidation for the client whose command caused it is held until
  that command's reply was produced (``tracking_pending_keys``): the connection calls
  :meth:`Tracking.after_reply` after each reply. Other clients get theirs at once.
- **tracking-table-max-keys.** Beyond it, the oldest remembered keys are invalidated
  and forgotten, as if they had changed (Redis picks them by a random walk of its
  radix tree; respcache takes the oldest, so the result is deterministic).

Nothing here does I/O: messages leave through :meth:`Client.push`. As in Redis, the
ids of clients that stopped tracking are dropped lazily, when the key is invalidated.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from respcache.commands.args import parse_int
from respcache.commands.introspection import OrderedSet
from respcache.commands.keyspecs import command_keys
from respcache.commands.registry import CommandSpec, command
from respcache.errors import SYNTAX, CommandError
from respcache.protocol.types import OK, Push, Raw, Reply

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.config import Config

__all__ = ["Tracking", "TrackingState"]

INVALIDATE_CHANNEL: Final = b"__redis__:invalidate"
_FLUSH: Final = object()
"""Marks a pending "everything" invalidation (FLUSHDB/FLUSHALL) for the current client."""


SCRIPT_COMMANDS: Final = frozenset({"eval_ro", "evalsha_ro", "fcall_ro"})
"""Read-only script commands: tracked only when the script reads (see script_read)."""


class TrackingState:
    """One client's CLIENT TRACKING options (``Client.tracking``; None when off)."""

    __slots__ = (
        "bcast",
        "broken_redirect",
        "caching",
        "noloop",
        "optin",
        "optout",
        "prefixes",
        "redirect",
        "script_read",
    )

    def __init__(self) -> None:
        self.redirect = 0
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching = False
        """CLIENT CACHING YES (optin) or NO (optout) given for the next command."""
        self.broken_redirect = False
        self.prefixes: set[bytes] = set()
        self.script_read = False
        """A script this client runs called a read-only command (see script_read)."""


class _Prefix:
    """Redis's ``bcastState``: keys changed since the last broadcast, and who listens."""

    __slots__ = ("clients", "keys")

    def __init__(self) -> None:
        self.keys: dict[bytes, Client | None] = {}
        """Key -> the client that changed it last (None: expiry, eviction)."""
        self.clients: dict[int, Client] = {}


class Tracking:
    """The invalidation table, the BCAST prefixes and the delivery of invalidations."""

    def __init__(
        self,
        config: Config,
        clients: Mapping[int, Client],
        keys_of: Callable[[CommandSpec, list[bytes]], list[int]],
    ) -> None:
        self._clients = clients
        """Every connected client by id (the engine's table)."""
        self._lookup_client = clients.get
        self._keys_of = keys_of
        self.table: dict[bytes, set[int]] = {}
        """Key name -> ids of the clients that may cache it (every database shares it)."""
        self.items = 0
        """Ids stored across the table (INFO tracking_total_items)."""
        self.prefixes: dict[bytes, _Prefix] = {}
        self.clients = 0
        """Clients with tracking on (INFO tracking_clients)."""
        self.current: Client | None = None
        """The tracking client whose command runs (Redis's ``server.current_client``;
        None while a non-tracking client's command runs: only trackers are compared)."""
        self.pending: list[tuple[Client, object]] = []
        """Invalidations for the client running a command, sent after its reply:
        (client, key or ``_FLUSH``)."""
        self.call_soon: Callable[[Callable[[], None]], Any] | None = None
        """Schedules the BCAST round after the current event-loop step (set by the
        server); None: :meth:`broadcast` is called by hand (tests)."""
        self._broadcast_scheduled = False
        self._limit_scheduled = False
        self.max_keys: int = config.get("tracking-table-max-keys")  # type: ignore[assignment]
        config.on_change("tracking-table-max-keys", self._max_keys_changed)

    # --- CLIENT TRACKING ------------------------------------------------------------

    def enable(self, c: Client, argv: list[bytes]) -> Reply:
        """CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN] [OPTOUT] [NOLOOP]."""
        redirect = 0
        bcast = optin = optout = noloop = False
        prefixes: list[bytes] = []
        j = 3
        while j < len(argv):
            opt = argv[j].lower()
            more = len(argv) - 1 - j
            if opt == b"redirect" and more:
                j += 1
                if redirect:
                    raise CommandError("ERR A client can only redirect to a single other client")
                redirect = parse_int(argv[j])
                if self._lookup_client(redirect) is None:
                    raise CommandError("ERR The client ID you want redirect to does not exist")
            elif opt == b"bcast":
                bcast = True
            elif opt == b"optin":
                optin = True
            elif opt == b"optout":
                optout = True
            elif opt == b"noloop":
                noloop = True
            elif opt == b"prefix" and more:
                j += 1
                prefixes.append(argv[j])
            else:
                raise CommandError(SYNTAX)
            j += 1
        mode = argv[2].lower()
        if mode == b"off":
            self.disable(c)
            return OK
        if mode != b"on":
            raise CommandError(SYNTAX)
        state = c.tracking
        if not bcast and prefixes:
            raise CommandError("ERR PREFIX option requires BCAST mode to be enabled")
        if state is not None and state.bcast != bcast:
            raise CommandError(
                "ERR You can't switch BCAST mode on/off before disabling tracking for this "
                "client, and then re-enabling it with a different mode."
            )
        if bcast and (optin or optout):
            raise CommandError("ERR OPTIN and OPTOUT are not compatible with BCAST")
        if optin and optout:
            raise CommandError("ERR You can't specify both OPTIN mode and OPTOUT mode")
        if state is not None and ((optin and state.optout) or (optout and state.optin)):
            raise CommandError(
                "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this "
                "client, and then re-enabling it with a different mode."
            )
        if bcast:
            _check_prefix_collisions(state.prefixes if state else set(), prefixes)
        if state is None:
            state = c.tracking = TrackingState()
            self.clients += 1
        state.redirect = redirect
        state.broken_redirect = False
        state.bcast = bcast
        state.optin, state.optout, state.noloop = optin, optout, noloop
        if bcast:
            for prefix in prefixes or [b""]:
                entry = self.prefixes.get(prefix)
                if entry is None:
                    entry = self.prefixes[prefix] = _Prefix()
                entry.clients[c.id] = c
                state.prefixes.add(prefix)
        return OK

    def disable(self, c: Client) -> None:
        """CLIENT TRACKING OFF, or the client went away (its table ids go lazily)."""
        state = c.tracking
        if state is None:
            return
        for prefix in state.prefixes:
            entry = self.prefixes.get(prefix)
            if entry is not None:
                entry.clients.pop(c.id, None)
                if not entry.clients:
                    del self.prefixes[prefix]
        c.tracking = None
        self.clients -= 1

    def caching(self, c: Client, argv: list[bytes]) -> Reply:
        """CLIENT CACHING YES|NO."""
        state = c.tracking
        if state is None:
            raise CommandError(
                "ERR CLIENT CACHING can be called only when the client is in tracking mode "
                "with OPTIN or OPTOUT mode enabled"
            )
        opt = argv[2].lower()
        if opt == b"yes":
            if not state.optin:
                raise CommandError(
                    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
                )
        elif opt == b"no":
            if not state.optout:
                raise CommandError(
                    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
                )
        else:
            raise CommandError(SYNTAX)
        state.caching = True
        return OK

    @staticmethod
    def info(c: Client) -> Reply:
        """CLIENT TRACKINGINFO: flags, redirect, prefixes."""
        state = c.tracking
        if state is None:
            return {b"flags": OrderedSet([b"off"]), b"redirect": -1, b"prefixes": []}
        flags: list[Reply] = [b"on"]
        if state.bcast:
            flags.append(b"bcast")
        if state.optin:
            flags.append(b"optin")
            if state.caching:
                flags.append(b"caching-yes")
        if state.optout:
            flags.append(b"optout")
            if state.caching:
                flags.append(b"caching-no")
        if state.noloop:
            flags.append(b"noloop")
        if state.broken_redirect:
            flags.append(b"broken_redirect")
        return {
            b"flags": OrderedSet(flags),
            b"redirect": state.redirect,
            b"prefixes": list[Reply](sorted(state.prefixes)),
        }

    # --- remembering keys (after a read-only command) ---------------------------------

    def after_command(self, c: Client, spec: CommandSpec, argv: list[bytes]) -> None:
        """Called after every command of a tracking client (Redis's call/resetClient)."""
        state = c.tracking
        assert state is not None
        if state.script_read:
            # Redis remembers a script's declared keys once it read anything (and the
            # read-only script commands only then).
            state.script_read = False
            read = True
        else:
            read = "readonly" in spec.flags and spec.name not in SCRIPT_COMMANDS
        if read and not state.bcast and "pubsub" not in spec.flags:
            optin, caching = state.optin, state.caching
            if not ((optin and not caching) or (state.optout and caching)):
                self._remember(c.id, [argv[i] for i in self._keys_of(spec, argv)])
        if not c.in_exec and c.multi is None and not spec.name.startswith("client"):
            state.caching = False  # CLIENT CACHING lasts one command (or one transaction)

    @staticmethod
    def script_read(caller: Client) -> None:
        """A script run by ``caller`` called a read-only command: once its command ends,
        its declared keys are tracked (Redis's call: ``trackingRememberKeys(caller)``)."""
        state = caller.tracking
        if state is not None and not state.bcast:
            state.script_read = True

    def _remember(self, client_id: int, keys: list[bytes]) -> None:
        table = self.table
        for key in keys:
            ids = table.get(key)
            if ids is None:
                ids = table[key] = set()
            if client_id not in ids:
                ids.add(client_id)
                self.items += 1
        if self.max_keys and len(table) > self.max_keys:
            self._schedule_limit()

    def _max_keys_changed(self, value: object) -> None:
        assert isinstance(value, int)
        self.max_keys = value
        if value and len(self.table) > value:
            self._schedule_limit()

    def _schedule_limit(self) -> None:
        """Redis enforces the limit between commands (processCommand, serverCron): the
        evicted keys' invalidations are nobody's own writes, NOLOOP clients get them too."""
        if self.call_soon is None:
            self._limit()
        elif not self._limit_scheduled:
            self._limit_scheduled = True
            self.call_soon(self._limit)

    @contextlib.contextmanager
    def outside_command(self) -> Iterator[None]:
        """Invalidations made meanwhile (evictions before a command runs) go out at once,
        to the calling client too: Redis queues them behind the reply only while the
        client is executing its command (``CLIENT_EXECUTING_COMMAND``)."""
        saved, self.current = self.current, None
        try:
            yield
        finally:
            self.current = saved

    def _limit(self) -> None:
        """Invalidate and forget the oldest keys until the table fits (trackingLimitUsedSlots)."""
        self._limit_scheduled = False
        table = self.table
        saved, self.current = self.current, None
        try:
            while self.max_keys and len(table) > self.max_keys:
                self._invalidate_key(next(iter(table)), None, bcast=False)
        finally:
            self.current = saved

    # --- invalidation -------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether a changed key may concern anyone (cheap check for the engine)."""
        return bool(self.table or self.prefixes)

    def key_changed(self, key: bytes, by_client: bool = True) -> None:
        """A key was modified (``by_client``), or expired or was evicted (Redis's
        trackingInvalidateKey from signalModifiedKey)."""
        self._invalidate_key(key, self.current if by_client else None, bcast=True)

    def _invalidate_key(self, key: bytes, modifier: Client | None, bcast: bool) -> None:
        if bcast and self.prefixes:
            for prefix, entry in self.prefixes.items():
                if key.startswith(prefix):
                    entry.keys.pop(key, None)  # re-inserted: rax keeps the last writer
                    entry.keys[key] = modifier
            self._schedule_broadcast()
        ids = self.table.pop(key, None)
        if ids is None:
            return
        self.items -= len(ids)
        current = self.current
        for client_id in sorted(ids):
            target = self._lookup_client(client_id)
            if target is None:
                continue
            state = target.tracking
            if state is None or state.bcast:
                continue
            if state.noloop and target is current:
                continue
            if target is current:
                self.pending.append((target, key))
            else:
                self._send(target, [key])

    def flushed(self) -> None:
        """FLUSHDB/FLUSHALL: every tracking client is told "everything" (a null)."""
        if self.clients:
            for target in list(self._tracking_clients()):
                if target is self.current:
                    self.pending.append((target, _FLUSH))
                else:
                    self._send(target, None)
        self.table.clear()
        self.items = 0

    def after_reply(self, client: Client | None = None) -> None:
        """A reply was produced: send the invalidations its command caused for its own
        client (Redis's afterCommand). Without ``client``: the current command's, which
        ends; with it: a blocked client's, served during another client's command."""
        target = client
        if target is None:
            target = self.current
            self.current = None
        if not self.pending:
            return
        keep = []
        for owner, key in self.pending:
            if owner is not target:
                keep.append((owner, key))
            elif owner.tracking is not None:
                self._send(owner, None if key is _FLUSH else [key])  # type: ignore[list-item]
        self.pending = keep

    def _tracking_clients(self) -> list[Client]:
        return [c for c in self._clients.values() if c.tracking is not None]

    # --- BCAST ----------------------------------------------------------------------------

    def _schedule_broadcast(self) -> None:
        if self._broadcast_scheduled or self.call_soon is None:
            return
        self._broadcast_scheduled = True
        self.call_soon(self.broadcast)

    def broadcast(self) -> None:
        """Send each prefix's changed keys to its clients (trackingBroadcastInvalidationMessages)."""
        self._broadcast_scheduled = False
        for _prefix, entry in sorted(self.prefixes.items()):
            if not entry.keys:
                continue
            changed = sorted(entry.keys.items())
            entry.keys = {}
            everything = [key for key, _ in changed]
            for client in list(entry.clients.values()):
                state = client.tracking
                if state is not None and state.noloop:
                    keys = [key for key, writer in changed if writer is not client]
                    if keys:
                        self._send(client, keys)
                else:
                    self._send(client, everything)

    # --- delivery ---------------------------------------------------------------------------

    def _send(self, c: Client, keys: list[bytes] | None) -> None:
        """sendTrackingMessage: to ``c`` or its redirect target, push or pub/sub message."""
        state = c.tracking
        if state is not None and state.redirect:
            target = self._lookup_client(state.redirect)
            if target is None:
                state.broken_redirect = True
                if c.resp == 3:
                    c.push(Push([b"tracking-redir-broken", state.redirect]))
                return
            if target.resp == 3:
                target.push(Push([b"invalidate", keys]))
            elif target.in_pubsub:
                target.push(Push([b"message", INVALIDATE_CHANNEL, _resp2_keys(keys)]))
            return
        if c.resp == 3:
            c.push(Push([b"invalidate", keys]))
        # A RESP2 connection without a redirect cannot receive pushes: nothing is sent.


def _resp2_keys(keys: list[bytes] | None) -> Reply:
    """The keys part of a RESP2 invalidation message: an array, or Redis's ``$-1`` null."""
    return Raw(b"$-1\r\n") if keys is None else list[Reply](keys)


def _check_prefix_collisions(existing: set[bytes], prefixes: list[bytes]) -> None:
    """checkPrefixCollisionsOrReply: no prefix may be a prefix of another one."""
    for i, prefix in enumerate(prefixes):
        for old in sorted(existing):
            if old.startswith(prefix) or prefix.startswith(old):
                raise CommandError(
                    f"ERR Prefix '{_text(prefix)}' overlaps with an existing prefix "
                    f"'{_text(old)}'. Prefixes for a single client must not overlap."
                )
        for other in prefixes[i + 1 :]:
            if other.startswith(prefix) or prefix.startswith(other):
                raise CommandError(
                    f"ERR Prefix '{_text(prefix)}' overlaps with another provided prefix "
                    f"'{_text(other)}'. Prefixes for a single client must not overlap."
                )


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")



# --- the CLIENT subcommands -------------------------------------------------------------------


@command(
    "client|tracking",
    arity=-3,
    flags="noscript loading stale",
    group="connection",
    summary="Enable or disable server assisted client side caching support",
    since="6.0.0",
    complexity="O(1). Some options may introduce additional complexity.",
    acl="@slow @connection",
)
def client_tracking(c: Client, argv: list[bytes]) -> Reply:
    return c.engine.tracking.enable(c, argv)


@command(
    "client|caching",
    arity=3,
    flags="noscript loading stale",
    group="connection",
    summary="Instruct the server about tracking or not keys in the next request",
    since="6.0.0",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_caching(c: Client, argv: list[bytes]) -> Reply:
    return c.engine.tracking.caching(c, argv)


@command(
    "client|getredir",
    arity=2,
    flags="noscript loading stale",
    group="connection",
    summary="Get tracking notifications redirection client ID if any",
    since="6.0.0",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_getredir(c: Client, argv: list[bytes]) -> Reply:
    return c.tracking.redirect if c.tracking is not None else -1


@command(
    "client|trackinginfo",
    arity=2,
    flags="noscript loading stale",
    group="connection",
    summary="Return information about server assisted client side caching for the current connection",
    since="6.2.0",
    complexity="O(1)",
    acl="@slow @connection",
)
def client_trackinginfo(c: Client, argv: list[bytes]) -> Reply:
    return Tracking.info(c)


def tracked_key_positions(spec: CommandSpec, argv: list[bytes]) -> list[int]:
    """The key arguments of a read-only command, as getKeysFromCommand finds them."""

    return [pos for pos, _ in command_keys(spec, argv)]
