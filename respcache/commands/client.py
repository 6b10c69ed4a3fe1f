"""Per-connection state seen by command handlers. No sockets here.

The server subclasses :class:`Client` and overrides the few methods that
reach the network (:meth:`push`, :meth:`resume`, :meth:`kill`,
:meth:`connection_info`); unit tests use this class as it is, and read what
was pushed from :attr:`pushed`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from mypy_extensions import mypyc_attr

from respcache.protocol.types import Reply
from respcache.store.values import WeakReferable

if TYPE_CHECKING:
    from respcache.commands.blocking import Blocked
    from respcache.commands.engine import Engine
    from respcache.commands.tracking import TrackingState
    from respcache.store.keyspace import Database


@mypyc_attr(allow_interpreted_subclasses=True)
class Client(WeakReferable):
    """One client connection's state (db, protocol, auth, transaction, subscriptions...).

    Compiled with mypyc (``respcache._compiled``): the engine, the gates and the
    connection read a dozen of its attributes per command, which a native class keeps
    at fixed offsets. So no ``__slots__`` (a native class has a fixed layout; in the
    pure build instances have a ``__dict__``), weak references through
    :class:`WeakReferable`, and subclasses in interpreted modules allowed
    (``ServerClient``, ``ScriptClient``, ``MasterLinkClient``).
    """

    is_script: ClassVar[bool] = False
    """The client scripts' redis.call runs on (Redis's CLIENT_SCRIPT): a class attribute."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.id = engine.client_registry.next_id()
        self.db: Database = engine.keyspace.dbs[0]
        self.resp = 2
        default = engine.acl.default
        self.authenticated = default.nopass and default.enabled  # (clientSetDefaultAuth)
        self.user = default
        """The ACL user this connection is authenticated as (``default`` until AUTH)."""
        self.name = b""
        self.lib_name = ""
        self.lib_ver = ""
        self.created = self.last_interaction = time.time()
        self.last_command = "NULL"
        self.multi: list[tuple[object, list[bytes]]] | None = None
        """Queued (spec, argv) pairs between MULTI and EXEC; None outside a transaction."""
        self.multi_error = False
        self.in_exec = False
        self.watched: set[tuple[int, bytes]] = set()
        self.dirty_cas = False
        self.subscriptions: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.reply_mode = "on"
        self.close_after_reply = False
        self.blocked: Blocked | None = None
        self.no_evict = False
        self.no_touch = False
        self.is_master = False
        """True for the replication link applying the leader's stream on a follower."""
        self.is_replica = False
        """True on a leader for a follower's connection after PSYNC (CLIENT LIST flag S)."""
        self.propagate_as: list[list[bytes]] | None = None
        """Set by a handler that replicates something other than its own argv (e.g. SET EX → PXAT)."""
        self.pushed: list[Reply] = []
        self.tracking: TrackingState | None = None
        """CLIENT TRACKING options while tracking is on (``commands/tracking.py``)."""

    # --- reaching the network (overridden by the server) ---------------------------

    def push(self, reply: Reply) -> None:
        """Send an out-of-band reply (pub/sub message) now."""
        self.pushed.append(reply)

    def resume(self, reply: Reply) -> None:
        """A blocked command finished: send its reply and go on with queued commands."""
        self.pushed.append(reply)

    def kill(self) -> None:
        """Close the connection (CLIENT KILL, QUIT after the reply)."""
        self.close_after_reply = True

    def connection_info(self) -> dict[str, str]:
        """Transport facts for CLIENT LIST/INFO: addr, laddr, fd, qbuf, obl, omem..."""
        return {"addr": "", "laddr": "", "fd": "-1"}

    def is_local(self) -> bool:
        """Redis's ``islocalClient``: a Unix socket, 127.0.0.1 or ::1 (in-process: yes)."""
        addr = self.connection_info().get("addr", "")
        if not addr or addr.startswith("/"):
            return True
        host = addr.rsplit(":", 1)[0].strip("[]")
        return host in ("127.0.0.1", "::1")

    # --- helpers for handlers --------------------------------------------------------

    def modified(self, key: bytes, event: bytes | None = None, kind: str = "") -> None:
        """Record that ``key`` in the current db changed (Redis's signalModifiedKey + dirty++).

        ``event``/``kind`` name the keyspace notification (``b"set"``, ``"$"``);
        the command is replicated because the dataset is now dirty.
        """
        self.engine.key_modified(self.db.id, key, event, kind)

    @property
    def in_pubsub(self) -> bool:
        return bool(self.subscriptions or self.patterns)

    def __repr__(self) -> str:
        return f"<Client id={self.id} db={self.db.id} resp={self.resp}>"


def key_modified(c: Client, key: bytes, event: bytes | None = None, kind: str = "") -> None:
    """:meth:`Client.modified` as a function, for compiled handlers.

    Compiled code calls a method of a class with interpreted subclasses through a
    lookup on the instance's type (``ServerClient`` is one): a function is a direct call.
    """
    c.engine.key_modified(c.db.id, key, event, kind)
