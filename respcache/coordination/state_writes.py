"""Writes of the state znode: the compare-and-set of a new epoch, ISR changes, handoff.

The state znode (:class:`~respcache.coordination.state.ClusterState`: leader,
epoch, ISR) changes only by compare-and-set on its ZooKeeper version, so two
writers never both succeed: that is what makes an epoch belong to exactly one
leadership term, and what makes an ISR change the leader's alone. Each
leader-only write first re-reads the state and checks that it still names this
node's election znode at this node's epoch (:meth:`StateWrites.leader_state`);
the ISR writes retry a few times when someone else's write came first.

Writes take the coordinator's mutex, as the election loop's evaluations do:
one decision or write at a time, on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from kazoo.exceptions import BadVersionError, NoNodeError

from respcache.coordination.config import CoordinationConfig
from respcache.coordination.connection import ConnectionState
from respcache.coordination.events import (
    CoordinationError,
    NotEligibleError,
    NotLeaderError,
    NotRegisteredError,
)
from respcache.coordination.role import LocalRole
from respcache.coordination.session import ZkSession, translated
from respcache.coordination.state import ClusterState, StateFormatError, is_eligible
from respcache.coordination.znodes import ElectionZnodes

__all__ = ["CAS_ATTEMPTS", "StateWrites"]

log = logging.getLogger("respcache.coordination")

CAS_ATTEMPTS = 8


class StateWrites:
    """The compare-and-set writes of the state znode, for the election and the leader."""

    def __init__(
        self,
        config: CoordinationConfig,
        session: ZkSession,
        znodes: ElectionZnodes,
        role: LocalRole,
        connection: ConnectionState,
        *,
        mutex: asyncio.Lock,
        wake: Callable[[], None],
    ) -> None:
        self.config = config
        self._session = session
        self._znodes = znodes
        self._role = role
        self._connection = connection
        self._mutex = mutex
        self._wake = wake

    @property
    def node_id(self) -> str:
        return self.config.node_id

    async def fetch_state(self) -> ClusterState | None:
        """Read the state znode now."""
        async with translated("reading the state znode"):
            try:
                data, _ = await self._session.call(
                    self._session.client.get_async, self.config.state_path
                )
            except NoNodeError:
                return None
        try:
            return ClusterState.decode(data)
        except StateFormatError as exc:
            raise CoordinationError(str(exc)) from None

    async def cas(self, new: ClusterState, version: int) -> bool:
        """Compare-and-set the state znode; False if someone else changed it first."""
        try:
            await self._session.call(
                self._session.client.set_async, self.config.state_path, new.encode(), version
            )
        except BadVersionError:
            return False
        self._role.observe(new)
        return True

    async def leader_state(self) -> tuple[ClusterState, int]:
        """The state and its version, checked to name this node leader at its epoch."""
        role = self._role
        if not role.is_leader or not self._connection.connected:
            raise NotLeaderError(f"{self.node_id} is not the leader")
        try:
            state, version = await self._znodes.read_state(watch=False)
        except StateFormatError as exc:
            raise CoordinationError(str(exc)) from None
        role.observe(state)
        if state is None or state.leader_znode != self._znodes.znode or state.epoch != role.epoch:
            self._wake()
            raise NotLeaderError(f"{self.node_id} is no longer the leader")
        if not role.is_leader:
            raise NotLeaderError(f"{self.node_id} stepped down")
        return state, version

    async def add_to_isr(self, node_id: str, run_id: str | None = None) -> ClusterState:
        """See :meth:`~respcache.coordination.election.Coordinator.add_to_isr`."""
        async with self._mutex, translated(f"adding {node_id} to the ISR"):
            for _ in range(CAS_ATTEMPTS):
                state, version = await self.leader_state()
                candidates = await self._znodes.read_members()
                matches = [
                    c
                    for c in candidates
                    if c.node_id == node_id and (run_id is None or c.run_id == run_id)
                ]
                if not matches:
                    raise NotRegisteredError(
                        f"{node_id}{'' if run_id is None else ' run ' + run_id} "
                        "has no election znode"
                    )
                candidate = max(matches, key=lambda c: c.seq)
                if is_eligible(state, candidate) and node_id in state.isr_runs:
                    return state
                new = state.with_member(candidate)
                if await self.cas(new, version):
                    log.info("%s: %s joined the ISR (epoch %d)", self.node_id, node_id, new.epoch)
                    return new
            raise CoordinationError("state znode changed too often; ISR not updated")

    async def remove_from_isr(self, node_id: str) -> ClusterState:
        """See :meth:`~respcache.coordination.election.Coordinator.remove_from_isr`."""
        if node_id == self.node_id:
            raise ValueError("the leader cannot remove itself from the ISR")
        async with self._mutex, translated(f"removing {node_id} from the ISR"):
            for _ in range(CAS_ATTEMPTS):
                state, version = await self.leader_state()
                if node_id not in state.isr:
                    return state
                new = state.without_member(node_id)
                if await self.cas(new, version):
                    log.info("%s: %s left the ISR (epoch %d)", self.node_id, node_id, new.epoch)
                    return new
            raise CoordinationError("state znode changed too often; ISR not updated")

    async def handoff(self, target_node_id: str) -> ClusterState:
        """See :meth:`~respcache.coordination.election.Coordinator.handoff`."""
        if target_node_id == self.node_id:
            raise ValueError("cannot hand leadership to oneself")
        async with self._mutex, translated(f"handing leadership to {target_node_id}"):
            state, version = await self.leader_state()
            candidates = await self._znodes.read_members()
            targets = sorted(
                (c for c in candidates if c.node_id == target_node_id and is_eligible(state, c)),
                key=lambda c: c.seq,
            )
            if not targets:
                raise NotEligibleError(
                    f"{target_node_id} is not an in-sync replica with a live election znode"
                )
            new = state.handed_to(targets[-1])
            assert self._znodes.znode is not None
            txn = self._session.client.transaction()
            txn.set_data(self.config.state_path, new.encode(), version)
            txn.delete(f"{self.config.election_path}/{self._znodes.znode}")
            results = await self._session.call(txn.commit_async)
            failed = [r for r in results if isinstance(r, Exception)]
            if failed:
                self._wake()
                if any(isinstance(r, BadVersionError) for r in failed):
                    raise NotLeaderError("state znode changed during handoff")
                raise CoordinationError(f"handoff transaction failed: {failed!r}")
            self._role.observe(new)
            # (a suspension may have stepped us down already: step_down is then a no-op)
            self._role.step_down(f"handed off to {target_node_id} at epoch {new.epoch}")
            self._znodes.znode = None  # register again, at the back of the line
            self._wake()
            log.info(
                "%s: handed leadership to %s (epoch %d)", self.node_id, target_node_id, new.epoch
            )
            return new
