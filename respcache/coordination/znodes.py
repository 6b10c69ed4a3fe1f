"""The election's znodes: this node's registration, the predecessor watch, the reads.

Each node registers an ephemeral sequential znode under the election path (a
UUID prefix finds it again after a lost answer, as kazoo's ``Lock`` recipe does)
and watches only its predecessor (no herd). The member list and the state
znode are read here; what they mean is decided by
:func:`~respcache.coordination.state.decide`, in the
:class:`~respcache.coordination.election_loop.ElectionLoop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

from kazoo.exceptions import NoNodeError, NoWatcherError, UnimplementedError

from respcache.coordination._kazoo import remove_data_watch_async
from respcache.coordination.config import CoordinationConfig
from respcache.coordination.session import ZkSession
from respcache.coordination.state import (
    Candidate,
    ClusterState,
    Recovery,
    Registration,
    StateFormatError,
)

__all__ = ["ElectionZnodes", "StateAppeared"]

log = logging.getLogger("respcache.coordination")


class StateAppeared(Exception):
    """The state znode was created between our get and our exists: read again."""


class ElectionZnodes:
    """This node's election znode and what it reads of the others and of the state.

    ``watch`` is the kazoo watch callback (it only wakes the decision loop);
    ``offset`` and ``data`` are registered with the znode.
    """

    def __init__(
        self,
        config: CoordinationConfig,
        session: ZkSession,
        watch: Callable[[object], None],
        offset: Callable[[], int],
        data: Callable[[], Recovery | None],
    ) -> None:
        self.config = config
        self._session = session
        self._watch = watch
        self._offset = offset
        self._data = data
        self.znode: str | None = None
        self.pending_prefix: str | None = None  # a create whose answer we may have missed
        self.stale_znode: str | None = None  # our znode of a lost session, deleted on sight
        self._cache: dict[str, Candidate] = {}
        self.watching: str | None = None  # the predecessor our exists watch is on
        self._can_remove_watches = True
        self.members: tuple[Candidate, ...] = ()

    def session_lost(self) -> None:
        """The session's ephemeral znodes are gone (or about to be): register anew."""
        if self.znode is not None:
            self.stale_znode = self.znode
        self.znode = None
        self.pending_prefix = None

    async def deregister(self) -> None:
        znode, self.znode = self.znode, None
        if znode is not None:
            with contextlib.suppress(NoNodeError):
                await self._session.call(
                    self._session.client.delete_async, f"{self.config.election_path}/{znode}"
                )

    async def watch_predecessor(self, znode: str | None) -> bool:
        """Watch ``znode`` (and nothing else in the election). True: it is gone already."""
        if self.watching is not None and self.watching != znode:
            await self.unwatch(self.watching)
        if znode is None:
            return False
        path = f"{self.config.election_path}/{znode}"
        stat = await self._session.call(self._session.client.exists_async, path, watch=self._watch)
        if stat is None:
            return True  # the predecessor went away meanwhile: look again
        self.watching = znode
        return False

    async def unwatch(self, znode: str) -> None:
        self.watching = None
        if not self._can_remove_watches:
            return
        path = f"{self.config.election_path}/{znode}"
        try:
            await self._session.call(
                remove_data_watch_async, self._session.client, path, self._watch
            )
        except (NoWatcherError, NoNodeError):
            pass  # it fired or its znode went meanwhile
        except UnimplementedError:
            log.info("ZooKeeper older than 3.5: stale predecessor watches stay until they fire")
            self._can_remove_watches = False

    async def register(self) -> None:
        cfg = self.config
        if self.pending_prefix is not None:
            # A create was sent but its answer lost: it may exist (kazoo's Lock does the same).
            children = await self._session.call(
                self._session.client.get_children_async, cfg.election_path
            )
            mine = sorted(c for c in children if c.startswith(self.pending_prefix))
            if mine:
                self.adopt(mine[-1])
                return
        prefix = f"{uuid.uuid4().hex}__{cfg.node_id}__"
        self.pending_prefix = prefix
        recovered = self._data()
        data = Registration(
            cfg.node_id, cfg.run_id, cfg.address, self._offset(), recovered
        ).encode()
        path = await self._session.call(
            self._session.client.create_async,
            f"{cfg.election_path}/{prefix}",
            data,
            ephemeral=True,
            sequence=True,
        )
        self.adopt(str(path).rsplit("/", 1)[-1])

    def adopt(self, znode: str) -> None:
        self.znode = znode
        self.pending_prefix = None
        log.info("%s: registered election znode %s", self.config.node_id, znode)
        stale, self.stale_znode = self.stale_znode, None
        if stale is not None and stale != znode:
            # Our znode from a lost session may outlive it a little: it would
            # stand in the line for a dead process. Best effort.
            self._session.client.delete_async(f"{self.config.election_path}/{stale}")

    async def read_state(self, *, watch: bool) -> tuple[ClusterState | None, int]:
        path = self.config.state_path
        w = self._watch if watch else None
        try:
            data, stat = await self._session.call(self._session.client.get_async, path, watch=w)
        except NoNodeError:
            if (
                watch
                and await self._session.call(self._session.client.exists_async, path, watch=w)
                is not None
            ):
                raise StateAppeared() from None
            return None, -1
        return ClusterState.decode(data), int(stat.version)

    async def read_members(self) -> list[Candidate]:
        path = self.config.election_path
        children: list[str] = await self._session.call(
            self._session.client.get_children_async, path
        )
        names = set(children)
        self._cache = {k: v for k, v in self._cache.items() if k in names}
        missing = [n for n in children if n not in self._cache]
        results = await asyncio.gather(
            *(self._session.call(self._session.client.get_async, f"{path}/{n}") for n in missing),
            return_exceptions=True,
        )
        for name, result in zip(missing, results, strict=True):
            if isinstance(result, NoNodeError):
                continue
            if isinstance(result, BaseException):
                raise result
            try:
                self._cache[name] = Candidate.from_znode(name, result[0])
            except StateFormatError as exc:
                log.warning("%s: ignoring election znode %s: %s", self.config.node_id, name, exc)
        self.members = tuple(
            sorted((self._cache[n] for n in names if n in self._cache), key=lambda c: c.seq)
        )
        return list(self.members)
