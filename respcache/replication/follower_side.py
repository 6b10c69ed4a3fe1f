"""The node's side of following: what the link to the leader reports, and applying the stream.

:mod:`.follower` speaks the protocol (:class:`~.follower.FollowerSession`, sans-IO)
and keeps the connection (:class:`~.follower.FollowerLink`); both report to a
:class:`~.follower.LinkOwner`. :class:`FollowerSide` is that owner. It turns the
link's events into changes of the node:

* a full sync (``+FULLRESYNC``): the keyspace is replaced by the leader's
  snapshot (:class:`~.snapshot.SnapshotLoader`), or by the RDB a Redis primary
  sends (spooled to a temp file in ``dir``, then loaded, as Redis's
  ``readSyncBulkPayload`` does); the role machine is ``FOLLOWER_LOADING``
  meanwhile, so the command gate answers ``LOADING``;
* a partial resync (``+CONTINUE``) and the end of a full sync: the data now
  belongs to the leader's history and epoch (the node's :meth:`FollowedNode.synced`);
* the stream: every command goes through the engine as the master link's
  client (:class:`MasterLinkClient`, ``flags=M``), which passes none of the
  client-facing gates;
* the link going down halfway through a full sync: the partial dataset claims
  no history until the next sync.

It gets the engine, the settings, the role machine, the history and the command
gate, which live as long as the node, and reads what changes with the role
(backlog, link, epoch, the ids announced to the leader) through the small
:class:`FollowedNode` protocol.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Protocol

from respcache.commands.client import Client
from respcache.errors import CommandError
from respcache.replication.backlog import Backlog, History
from respcache.replication.command_gate import CommandGate
from respcache.replication.follower import FollowerLink, FollowerSession, SessionError
from respcache.replication.role import RoleEvent, RoleMachine
from respcache.replication.snapshot import SnapshotError, SnapshotLoader

if TYPE_CHECKING:
    from respcache.commands.engine import Engine
    from respcache.config import Config

log = logging.getLogger("respcache.replication")

__all__ = ["DurableLog", "FollowedNode", "FollowerSide", "MasterLinkClient"]

_TRANSACTION = frozenset({"multi", "exec", "discard", "watch", "unwatch"})


class DurableLog(Protocol):
    """What replication needs of the AOF (``persistence/aof.py``)."""

    def before_ack(self) -> None:
        """``appendfsync always``: the applied stream on disk before an ACK leaves."""

    def dataset_replaced(self) -> None:
        """A full sync replaced the dataset: the log starts again from it (a rewrite)."""


class FollowedNode(Protocol):
    """What the follower side reads of the node, and the one thing it tells it."""

    @property
    def backlog(self) -> Backlog | None: ...

    @property
    def link(self) -> FollowerLink | None: ...

    @property
    def master(self) -> tuple[str, int] | None: ...

    @property
    def epoch(self) -> int: ...

    @property
    def node_id(self) -> str: ...

    @property
    def run_id(self) -> str: ...

    @property
    def announce_ip(self) -> str: ...

    def synced(self) -> None:
        """The data now continues the leader's history (a full or a partial resync)."""


class MasterLinkClient(Client):
    """The client applying the leader's stream on a follower (``flags=M`` in CLIENT LIST)."""

    __slots__ = ("node",)

    def __init__(self, engine: Engine, node: FollowedNode) -> None:
        super().__init__(engine)
        self.node = node
        self.is_master = True
        self.no_touch = True
        self.authenticated = True

    def kill(self) -> None:
        """CLIENT KILL TYPE master: drop the link (it reconnects and resyncs)."""
        link = self.node.link
        if link is not None:
            link.close_connection("killed by CLIENT KILL")

    def connection_info(self) -> dict[str, str]:
        host, port = self.node.master or ("", 0)
        return {"addr": f"{host}:{port}", "laddr": "", "fd": "-1"}


class FollowerSide:
    """The :class:`~.follower.LinkOwner` of the node's link to its leader."""

    def __init__(
        self,
        engine: Engine,
        config: Config,
        roles: RoleMachine,
        history: History,
        command_gate: CommandGate,
        node: FollowedNode,
        *,
        listening_port: Callable[[], int],
        disk: DurableLog | None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.roles = roles
        self.history = history
        self.command_gate = command_gate
        self.node = node
        self.listening_port = listening_port
        self.disk = disk
        """This node's append-only file, when it has one: acknowledgements wait for it
        (appendfsync always) and a full sync rewrites it."""
        self.client: Client | None = None
        """The master link's client, from the first :meth:`attach_client` until :meth:`stop`."""
        self.apply_errors = 0
        self._loader: SnapshotLoader | None = None
        self._rdb_file: BinaryIO | None = None
        """The RDB of a Redis primary's full sync, as it arrives (a temp file in ``dir``)."""
        self._sync_keys_logged = 0

    # --- driven by the node --------------------------------------------------------------------

    def attach_client(self) -> None:
        """Following: the stream's client exists (kept across leaders, see :meth:`stop`)."""
        if self.client is None:
            client = self.client = MasterLinkClient(self.engine, self.node)
            self.engine.add_client(client)

    def stop(self, keep_client: bool) -> None:
        """The link is closed: forget a full sync in progress and an unfinished MULTI.

        ``keep_client``: switching leaders, the stream continues. The client keeps
        the database the stream last selected: after a partial resync with another
        leader (PSYNC2) the bytes that follow assume it, as Redis keeps its cached
        master's db.
        """
        self._loader = None  # (the caller's LEAD/FOLLOW ends a full sync in progress)
        self._drop_rdb_file()
        self.discard_partial_transaction()
        client = self.client
        if client is not None and not keep_client:
            self.client = None
            self.engine.remove_client(client)

    def discard_partial_transaction(self) -> None:
        """A link ended inside MULTI: its commands were never applied nor counted."""
        client = self.client
        if client is not None and client.multi is not None:
            log.warning("Discarding a transaction the master never finished")
            self.engine.discard_transaction(client)

    # --- LinkOwner -------------------------------------------------------------------------------

    def new_session(self, link: FollowerLink) -> FollowerSession:
        node = self.node
        assert node.backlog is not None
        self.discard_partial_transaction()
        return FollowerSession(
            history=self.history,
            backlog=node.backlog,
            handler=self,
            listening_port=self.listening_port(),
            masterauth=self.config.masterauth,
            masteruser=self.config.masteruser,
            announce_ip=node.announce_ip,
            node_id=node.node_id,
            run_id=node.run_id,
            epoch=node.epoch,
            epoch_floor=lambda: node.epoch,
        )

    def hold_stream(self, resume: Callable[[], None]) -> bool:
        engine = self.engine
        if engine.busy is None:
            return False
        engine.after_busy.append(resume)
        return True

    def before_ack(self) -> None:
        if self.disk is not None:
            self.disk.before_ack()

    def link_state_changed(self, link: FollowerLink) -> None:
        if link is not self.node.link:
            return
        if not link.up and self.roles.loading and link.transport is None:
            # The sync broke halfway: the dataset is partial until the next sync.
            self.roles.apply(RoleEvent.SYNC_ABORT)
            self._loader = None
            self._drop_rdb_file()
        self.command_gate.update()

    # --- SessionHandler: full and partial resyncs ----------------------------------------------

    def full_sync_begin(self, replid: str, offset: int) -> None:
        log.info("Full resync from master: %s:%d", replid, offset)
        loader = self._loader = SnapshotLoader(self.engine.keyspace)
        loader.begin()
        self.engine.touch_all_watched()
        self._sync_keys_logged = 0
        self.roles.apply(RoleEvent.SYNC_BEGIN)
        if self.client is not None:
            self.client.db = self.engine.keyspace.dbs[0]
        self.command_gate.update()
        log.info("MASTER <-> REPLICA sync: Flushing old data, loading the snapshot")

    def snapshot_record(self, record: list[bytes]) -> bool:
        loader = self._loader
        if loader is None:
            raise SessionError("snapshot record outside a full sync")
        try:
            done = loader.apply(record)
        except SnapshotError as err:
            raise SessionError(f"bad snapshot: {err}") from None
        if loader.keys - self._sync_keys_logged >= 100_000:
            self._sync_keys_logged = loader.keys
            log.info("MASTER <-> REPLICA sync: %d keys loaded", loader.keys)
        return done

    def rdb_chunk(self, data: bytes) -> None:
        f = self._rdb_file
        if f is None:
            path = os.path.join(self.config.dir, f"temp-{int(time.time())}.{os.getpid()}.rdb")
            f = self._rdb_file = open(path, "w+b")  # noqa: SIM115 (closed by _drop_rdb_file)
            log.info("MASTER <-> REPLICA sync: receiving the RDB into %s", path)
        f.write(data)

    def rdb_end(self) -> None:
        """Load the RDB a Redis primary sent (in ``_rdb_file``), replacing the dataset."""
        from respcache.persistence.rdb import RdbError, load_rdb

        f = self._rdb_file
        data = b""
        if f is not None:
            f.flush()
            f.seek(0)
            data = f.read()
            self._drop_rdb_file()
        log.info("MASTER <-> REPLICA sync: Loading DB in memory (%d bytes of RDB)", len(data))
        keyspace = self.engine.keyspace
        keyspace.flushall()  # (full_sync_begin emptied it already; a retry may not have)
        keyspace.functions.clear()
        try:
            result = load_rdb(
                data, keyspace, expire_on_load=False, verify_checksum=self.config.rdbchecksum
            )
        except RdbError as err:
            keyspace.flushall()
            raise SessionError(f"failed to load the RDB from the master: {err}") from None
        if self._loader is not None:
            self._loader.keys = result.keys_loaded

    def _drop_rdb_file(self) -> None:
        f, self._rdb_file = self._rdb_file, None
        if f is None:
            return
        f.close()
        try:
            os.unlink(f.name)
        except OSError as err:
            log.warning("Unable to remove the temporary RDB %s: %s", f.name, err)

    def full_sync_end(self) -> None:
        loader = self._loader
        keys = loader.keys if loader is not None else 0
        self._loader = None
        if self.roles.loading:
            self.roles.apply(RoleEvent.SYNC_END)
        link = self.node.link
        took = time.monotonic() - link.sync_started if link is not None and link.sync_started else 0
        log.info("MASTER <-> REPLICA sync: Finished with success (%d keys in %.2fs)", keys, took)
        self.node.synced()
        if self.disk is not None:
            self.disk.dataset_replaced()
        self.command_gate.update()

    def continued(self, replid: str | None) -> None:
        log.info(
            "Successful partial resynchronization with master%s.",
            f" (new replication id {replid})" if replid else "",
        )
        self.node.synced()
        self.command_gate.update()

    # --- SessionHandler: the stream --------------------------------------------------------------

    def apply(self, argv: list[bytes]) -> bool:
        client = self.client
        if client is None:
            return False
        engine = self.engine
        # The leader sent a valid command: skip the client-facing gates of
        # ``execute`` (auth, MULTI, pub/sub, read-only, OOM are not for the master
        # link) unless a transaction is involved, which ``execute`` handles.
        try:
            spec = engine.lookup(argv) if client.multi is None else None
        except CommandError:
            spec = None
        if spec is not None and spec.name not in _TRANSACTION and spec.handler is not None:
            arity = spec.arity
            n = len(argv)
            if (arity > 0 and n == arity) or (arity < 0 and n >= -arity):
                reply = engine.call(client, spec, argv)
                if engine.ready:
                    engine.serve_ready()
                if type(reply) is CommandError:
                    self._apply_error(argv, reply)
                return False
        verdict = engine.execute(client, argv)  # (the master link passes no gate)
        if type(verdict) is CommandError:
            self._apply_error(argv, verdict)
        return client.multi is not None

    def _apply_error(self, argv: list[bytes], reply: CommandError) -> None:
        self.apply_errors += 1
        if self.apply_errors <= 10 or self.apply_errors % 1000 == 0:
            log.warning(
                "Error applying %s from the master: %s",
                argv[0].decode("utf-8", "replace"),
                reply.message,
            )
