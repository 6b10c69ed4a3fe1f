"""The election loop: wake on a watch, read ZooKeeper, let ``decide()`` rule, act on it.

kazoo's watches only set an :class:`asyncio.Event` (from kazoo's thread, through
``loop.call_soon_threadsafe``); this loop, a task on the event loop, waits for
it and then takes one look at ZooKeeper (:meth:`ElectionLoop.evaluate`): this
node's election znode, the state znode and the members, handed to the pure
:func:`~respcache.coordination.state.decide`. What the decision asks for
(register, bootstrap the state, lead, take over, recover, follow, watch the
predecessor) is done here, with compare-and-set writes
(:class:`~.state_writes.StateWrites`). A step interrupted by ZooKeeper is
retried with a backoff; evaluations and the leader's writes take one mutex.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from kazoo.exceptions import ConnectionLoss, KazooException, NodeExistsError, SessionExpiredError

from respcache.coordination.config import CoordinationConfig
from respcache.coordination.connection import ConnectionState
from respcache.coordination.role import LocalRole
from respcache.coordination.session import ZkSession
from respcache.coordination.state import (
    ClusterState,
    Decision,
    DecisionKind,
    Recovery,
    StateFormatError,
    decide,
    successor_state,
)
from respcache.coordination.state_writes import StateWrites
from respcache.coordination.znodes import ElectionZnodes, StateAppeared

__all__ = ["ElectionLoop"]

log = logging.getLogger("respcache.coordination")


class ElectionLoop:
    """The task that re-evaluates the election whenever ``wake`` is set.

    ``watch`` is the kazoo watch callback (it sets ``wake`` from kazoo's
    thread); ``data`` says what this node's data is now; ``unclean`` reads the
    ``unclean-election`` setting, which may change at run time.
    """

    def __init__(
        self,
        config: CoordinationConfig,
        session: ZkSession,
        znodes: ElectionZnodes,
        role: LocalRole,
        connection: ConnectionState,
        writes: StateWrites,
        *,
        wake: asyncio.Event,
        mutex: asyncio.Lock,
        watch: Callable[[object], None],
        data: Callable[[], Recovery | None],
        unclean: Callable[[], bool],
    ) -> None:
        self.config = config
        self._session = session
        self._znodes = znodes
        self._role = role
        self._connection = connection
        self._writes = writes
        self._wake = wake
        self._mutex = mutex
        self._watch = watch
        self._data = data
        self._unclean = unclean
        self._logged_wait = ""

    @property
    def node_id(self) -> str:
        return self.config.node_id

    async def run(self) -> None:
        delay = 0.05
        session = self._session
        while not session.stopping:
            await self._wake.wait()
            self._wake.clear()
            if not self._connection.connected:
                continue
            try:
                async with self._mutex:
                    again = await self.evaluate()
                delay = 0.05
            except (ConnectionLoss, SessionExpiredError, TimeoutError) as exc:
                log.info("%s: election step interrupted (%r); retrying", self.node_id, exc)
                again = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_delay)
            except KazooException as exc:
                log.warning("%s: election step failed (%r); retrying", self.node_id, exc)
                again = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_delay)
            except Exception:
                if session.stopping:
                    return
                log.exception("%s: election step failed", self.node_id)
                again = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_delay)
            if again:
                self._wake.set()

    def _become_leader(self, state: ClusterState, gen: int) -> None:
        if not self._connection.is_current(gen) or self._session.stopping:
            # The connection dropped while we won: do not claim it now. The next
            # evaluation finds the state naming us and adopts the epoch.
            return
        self._role.become_leader(state)

    async def evaluate(self) -> bool:
        """One look at ZooKeeper and what follows from it. True: look again at once."""
        cfg = self.config
        zk = self._session.call
        client = self._session.client
        role = self._role
        znodes = self._znodes
        connection = self._connection
        gen = connection.generation
        if not connection.paths_ready:
            await zk(client.ensure_path_async, cfg.election_path)
            connection.paths_ready = True
        if znodes.znode is None:
            await znodes.register()
        assert znodes.znode is not None

        try:
            state, version = await znodes.read_state(watch=True)
        except StateAppeared:
            return True
        except StateFormatError as exc:
            log.error("%s: %s", self.node_id, exc)
            role.reason = f"unreadable state znode: {exc}"
            if role.is_leader:
                role.step_down("state znode unreadable")
            return False
        candidates = await znodes.read_members()
        if gen != connection.generation:
            return True
        me = next((c for c in candidates if c.znode == znodes.znode), None)
        if me is None:
            log.warning(
                "%s: election znode %s vanished; registering again",
                self.node_id,
                znodes.znode,
            )
            znodes.znode = None
            return True
        role.observe(state)

        if role.is_leader and not (
            state is not None and state.leader_znode == znodes.znode and state.epoch == role.epoch
        ):
            if state is None:
                role.step_down("state znode deleted")
            elif state.epoch > role.epoch:
                role.step_down(f"newer epoch {state.epoch} led by {state.leader}")
            else:
                role.step_down(f"state names {state.leader} leader")

        unclean = self._unclean()
        decision = decide(state, candidates, znodes.znode, unclean=unclean)
        role.reason = decision.reason
        role.leaderless = decision.kind is DecisionKind.WAIT
        self._log_wait(decision)
        kind = decision.kind
        cas = self._writes.cas
        if kind is DecisionKind.REGISTER:
            znodes.znode = None
            return True
        if kind is DecisionKind.BOOTSTRAP:
            new = successor_state(None, candidates, me, min_epoch=role.max_epoch_seen)
            try:
                await zk(client.create_async, cfg.state_path, new.encode())
            except NodeExistsError:
                return True
            role.observe(new)
            self._become_leader(new, gen)
            return True  # look again: sets the watches
        if kind is DecisionKind.LEAD:
            assert state is not None
            if role.is_leader and role.epoch == state.epoch:
                return False
            if state.epoch > role.resigned_epoch:
                # Handed to us, or won by a CAS whose answer came too late: the epoch is ours.
                self._become_leader(state, gen)
                return False
            new = successor_state(state, candidates, me, min_epoch=role.max_epoch_seen)
            if await cas(new, version):
                self._become_leader(new, gen)
            return True
        if kind in (DecisionKind.TAKEOVER, DecisionKind.UNCLEAN):
            assert state is not None
            unclean = kind is DecisionKind.UNCLEAN
            new = successor_state(
                state, candidates, me, unclean=unclean, min_epoch=role.max_epoch_seen
            )
            if unclean:
                log.warning(
                    "%s: unclean election: no in-sync replica registered, taking over "
                    "with an empty ISR; acknowledged writes may be lost",
                    self.node_id,
                )
            if await cas(new, version):
                self._become_leader(new, gen)
            return True
        if kind is DecisionKind.RECOVER:
            assert state is not None
            data = self._data()
            if data != me.recovered:
                # Our data changed since we registered (a sync began): register what it is now.
                log.info("%s: data changed since registration; registering again", self.node_id)
                await znodes.deregister()
                return True
            new = successor_state(
                state, candidates, me, recovered=True, min_epoch=role.max_epoch_seen
            )
            if await cas(new, version):
                log.warning(
                    "%s: recovery: no process of the ISR of epoch %d was left; %s. "
                    "Leading epoch %d from %s; the others rejoin the ISR once caught up",
                    self.node_id,
                    state.epoch,
                    decision.reason,
                    new.epoch,
                    data.describe() if data is not None else "no data",
                )
                self._become_leader(new, gen)
            return True
        if kind is DecisionKind.FOLLOW:
            assert state is not None and decision.leader is not None
            role.follow(decision.leader.node_id, state.leader_address, state.epoch)
        if decision.watch_members:
            # A recovery waits for nodes to register: any new election znode wakes us.
            await zk(client.get_children_async, cfg.election_path, watch=self._watch)
        return await znodes.watch_predecessor(decision.watch)

    def _log_wait(self, decision: Decision) -> None:
        """Say once, as a warning, why a recovery waits and what the operator can do."""
        text = decision.reason if decision.advice else ""
        if text == self._logged_wait:
            return
        self._logged_wait = text
        if text:
            log.warning("%s: no leader: %s. To go on: %s", self.node_id, text, decision.advice)
