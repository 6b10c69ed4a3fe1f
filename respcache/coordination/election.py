"""The coordinator: ZooKeeper election, ISR bookkeeping and epochs, as events.

kazoo runs its own threads. Its watches and connection-state listeners only
schedule work on the asyncio loop (``loop.call_soon_threadsafe``); every
ZooKeeper round trip is an ``*_async`` kazoo call whose completion is handed
back to the loop as a future. All decisions are taken on the loop, one at a
time (``_mutex``), by the pure :func:`~respcache.coordination.state.decide`.

Events go to the ``on_event`` callback given to :class:`Coordinator`, called on
the event loop; without one they are put on :attr:`Coordinator.events`.

Leading through a ZooKeeper outage
----------------------------------
kazoo reports ``SUSPENDED`` when the connection to ZooKeeper broke and ``LOST``
once it knows the session expired (its ephemeral znodes, our election znode
among them, are gone). While the session is only suspended the leader keeps
leading, as Kafka's partition leaders do, because nothing it acknowledges can
be lost:

* a write is acknowledged only after *every* member of the leader's ISR applied
  it (synchronous replication), and the leader cannot shrink its ISR without
  ZooKeeper (``remove_from_isr`` fails while disconnected, so a follower lost
  meanwhile blocks writes instead of being dropped);
* any successor must be elected through ZooKeeper, from the ISR recorded there,
  which is a subset of the leader's own ISR (members leave ZooKeeper's ISR
  before the leader acknowledges anything without them); a successor stops
  acknowledging us the moment it leads, and a follower that learns of a newer
  epoch (from ZooKeeper, or from the epoch marker of the new leader's stream)
  switches to it before acknowledging anything more from us. So from the
  moment a successor can accept writes, no write of ours gets the acks it needs,
  and every write we acknowledged before is in the successor's data;
* a recovery from disk (see :func:`~respcache.coordination.state.recovery_plan`)
  needs every ISR member registered again, us included, which we are not while
  cut off.

Linearizable reads keep working for the same reason: a read's reply waits for
every ISR member to acknowledge a ``GETACK`` sent after it (``read_fence``).

Two cases break the argument, and there the leader steps down at once: with
``unclean-election`` on and no follower in its ISR (a node outside the ISR could
be elected once our session expires), and when the session is known expired
(``LOST``). ZooKeeper being down, kazoo cannot learn of an expiry; the leader
then assumes its session expired once it has been suspended for a whole session
timeout, and steps down (that timer is liveness, not safety: the argument above
does not depend on clocks).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from kazoo.exceptions import (
    BadVersionError,
    ConnectionLoss,
    KazooException,
    NodeExistsError,
    NoNodeError,
    SessionExpiredError,
)
from kazoo.protocol.states import KazooState

from respcache.coordination.config import CoordinationConfig
from respcache.coordination.events import (
    BecameLeader,
    CoordinationError,
    Event,
    Follow,
    NotEligibleError,
    NotLeaderError,
    NotRegisteredError,
    StepDown,
)
from respcache.coordination.session import ZkSession
from respcache.coordination.state import (
    Candidate,
    ClusterState,
    Decision,
    DecisionKind,
    Recovery,
    StateFormatError,
    decide,
    is_eligible,
    successor_state,
)
from respcache.coordination.znodes import ElectionZnodes, StateAppeared

__all__ = ["Coordinator", "Role", "Status"]

log = logging.getLogger("respcache.coordination")

_CAS_ATTEMPTS = 8


class Role(enum.Enum):
    NONE = "none"
    """Not leading and not following anyone (starting, waiting, or just stepped down)."""
    FOLLOWER = "follower"
    LEADER = "leader"


@dataclass(frozen=True)
class Status:
    """A snapshot for ``INFO`` and tests."""

    role: Role
    epoch: int
    """The epoch led (leader) or followed (follower); 0 otherwise."""
    leader: str | None
    """The node id followed or led."""
    znode: str | None
    """This node's election znode."""
    connected: bool
    reason: str
    """Why the last evaluation decided what it did."""
    leaderless: bool = False
    """The last evaluation found no leader to follow or become (it waits: a recovery, a
    dead leader's session); clients are told ``reason`` (server/cluster.py)."""


class Coordinator:
    """One node's view of the election. Create it on the event loop, then ``await start()``.

    ``offset`` returns this node's replication offset; it is written into the
    election znode at each registration (informational: operators and handoff
    tooling read it). ``data`` returns what this node's data is (None: nothing
    yet, or a full sync half done); it is registered too, and decides who
    leads a recovery after every in-sync process died (see
    :func:`~respcache.coordination.state.recovery_plan`). ``isr_followers``
    counts the followers in this leader's ISR (whether it may lead on while
    ZooKeeper is unreachable with unclean election on; see the module docstring).
    """

    def __init__(
        self,
        config: CoordinationConfig,
        on_event: Callable[[Event], None] | None = None,
        *,
        offset: Callable[[], int] | None = None,
        data: Callable[[], Recovery | None] | None = None,
        isr_followers: Callable[[], int] | None = None,
    ) -> None:
        self.config = config
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._on_event = on_event or self.events.put_nowait
        self._offset = offset or (lambda: 0)
        self._data = data or (lambda: None)
        self._isr_followers = isr_followers or (lambda: 0)
        self.unclean_election = config.unclean_election
        """May change at run time (``CONFIG SET unclean-election``): call :meth:`wake`."""
        self._suspended_timer: asyncio.TimerHandle | None = None
        self._logged_wait = ""
        self._session = ZkSession(config)
        self._zk = self._session.call
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._mutex = asyncio.Lock()

        self._connected = False
        self._conn_gen = 0  # bumped on every SUSPENDED/LOST: results from before are stale
        self._paths_ready = False
        self._znodes = ElectionZnodes(
            config, self._session, self._kazoo_watch, self._offset, self._data
        )

        self._state: ClusterState | None = None
        self._max_epoch_seen = 0
        self._role = Role.NONE
        self._epoch = 0
        self._resigned_epoch = 0  # the newest epoch this node led and gave up
        self._following: tuple[str, str, int] | None = None
        self._reason = "not started"
        self._leaderless = False

    @property
    def _client(self) -> Any:
        return self._session.client

    @property
    def _stopping(self) -> bool:
        return self._session.stopping

    @_stopping.setter
    def _stopping(self, value: bool) -> None:
        self._session.stopping = value

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        return self._session.loop

    # -- public API ------------------------------------------------------------------------------

    @property
    def node_id(self) -> str:
        return self.config.node_id

    @property
    def is_leader(self) -> bool:
        return self._role is Role.LEADER

    @property
    def epoch(self) -> int:
        """The epoch this node leads at, or 0."""
        return self._epoch if self._role is Role.LEADER else 0

    @property
    def status(self) -> Status:
        if self._role is Role.LEADER:
            leader, epoch = self.node_id, self._epoch
        elif self._following is not None:
            leader, epoch = self._following[0], self._following[2]
        else:
            leader, epoch = None, 0
        return Status(
            self._role,
            epoch,
            leader,
            self._znodes.znode,
            self._connected,
            self._reason,
            self._leaderless and self._role is not Role.LEADER,
        )

    def wake(self) -> None:
        """Evaluate the election again (a setting it depends on changed)."""
        self._wake.set()

    @property
    def zk_client(self) -> Any:
        """The underlying ``KazooClient`` (diagnostics and tests only)."""
        return self._client

    def current_state(self) -> ClusterState | None:
        """The state znode as last read (it is watched, so at most one change behind)."""
        return self._state

    def members(self) -> tuple[Candidate, ...]:
        """The election znodes as last read, by sequence number."""
        return self._znodes.members

    async def fetch_members(self) -> tuple[Candidate, ...]:
        """Read the election znodes now (node id, run id, address of every registered node)."""
        async with self._mutex, _translated("reading the election znodes"):
            return tuple(await self._znodes.read_members())

    async def start(self) -> None:
        """Connect to ZooKeeper in the background and take part in the election.

        Returns at once: if ZooKeeper is unreachable the coordinator keeps
        trying and the node stays in :attr:`Role.NONE` until events say otherwise.
        """
        if self._task is not None:
            raise RuntimeError("coordinator already started")
        self._session.open(self._on_connection_state)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"coordinator-{self.node_id}")
        self._session.connect()

    async def stop(self) -> None:
        """Leave the election: close the session (the election znode goes with it)."""
        self._stopping = True  # from here on, no request leaves (see _zk)
        self._cancel_suspension_timer()
        if self._role is Role.LEADER:
            self._step_down("coordinator stopped")
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, CoordinationError):
                await task
        await self._session.close()
        self._connected = False
        self._reason = "stopped"

    async def fetch_state(self) -> ClusterState | None:
        """Read the state znode now."""
        async with _translated("reading the state znode"):
            try:
                data, _ = await self._zk(self._client.get_async, self.config.state_path)
            except NoNodeError:
                return None
        try:
            return ClusterState.decode(data)
        except StateFormatError as exc:
            raise CoordinationError(str(exc)) from None

    async def add_to_isr(self, node_id: str, run_id: str | None = None) -> ClusterState:
        """Leader only: ``node_id`` (caught up) joins the ISR. Returns once ZooKeeper confirmed.

        The node must be registered (have an election znode); ``run_id``, when
        given, must be the run id it registered with (guards against adding a
        process that restarted since it caught up). Idempotent.
        """
        async with self._mutex, _translated(f"adding {node_id} to the ISR"):
            for _ in range(_CAS_ATTEMPTS):
                state, version = await self._leader_state()
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
                if await self._cas(new, version):
                    log.info("%s: %s joined the ISR (epoch %d)", self.node_id, node_id, new.epoch)
                    return new
            raise CoordinationError("state znode changed too often; ISR not updated")

    async def remove_from_isr(self, node_id: str) -> ClusterState:
        """Leader only: ``node_id`` leaves the ISR. Returns once ZooKeeper confirmed.

        Call it before acknowledging any write that ``node_id`` did not apply.
        Idempotent.
        """
        if node_id == self.node_id:
            raise ValueError("the leader cannot remove itself from the ISR")
        async with self._mutex, _translated(f"removing {node_id} from the ISR"):
            for _ in range(_CAS_ATTEMPTS):
                state, version = await self._leader_state()
                if node_id not in state.isr:
                    return state
                new = state.without_member(node_id)
                if await self._cas(new, version):
                    log.info("%s: %s left the ISR (epoch %d)", self.node_id, node_id, new.epoch)
                    return new
            raise CoordinationError("state znode changed too often; ISR not updated")

    async def handoff(self, target_node_id: str) -> ClusterState:
        """Leader only: give leadership to ``target_node_id``, an in-sync follower.

        One ZooKeeper transaction writes the state ``{leader=target,
        epoch+1}`` and deletes this node's election znode; this node then emits
        :class:`StepDown` and registers again at the back of the line, and the
        target emits :class:`BecameLeader` when it sees the state. Stop
        accepting writes and let the target catch up before calling this.
        """
        if target_node_id == self.node_id:
            raise ValueError("cannot hand leadership to oneself")
        async with self._mutex, _translated(f"handing leadership to {target_node_id}"):
            state, version = await self._leader_state()
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
            txn = self._client.transaction()
            txn.set_data(self.config.state_path, new.encode(), version)
            txn.delete(f"{self.config.election_path}/{self._znodes.znode}")
            results = await self._zk(txn.commit_async)
            failed = [r for r in results if isinstance(r, Exception)]
            if failed:
                self._wake.set()
                if any(isinstance(r, BadVersionError) for r in failed):
                    raise NotLeaderError("state znode changed during handoff")
                raise CoordinationError(f"handoff transaction failed: {failed!r}")
            self._observe(new)
            if self._role is Role.LEADER:  # (a suspension may have stepped us down already)
                self._step_down(f"handed off to {target_node_id} at epoch {new.epoch}")
            self._znodes.znode = None  # register again, at the back of the line
            self._wake.set()
            log.info(
                "%s: handed leadership to %s (epoch %d)", self.node_id, target_node_id, new.epoch
            )
            return new

    # -- kazoo threads -> event loop -------------------------------------------------------------

    def _kazoo_watch(self, event: object) -> None:
        # kazoo's event thread. Watches only say "look again".
        self._session.threadsafe(self._wake.set)

    def _on_connection_state(self, state: str) -> None:
        if self._stopping:
            return
        if state == KazooState.CONNECTED:
            log.info("%s: connected to ZooKeeper", self.node_id)
            self._connected = True
            self._cancel_suspension_timer()
            self._wake.set()
            return
        self._connected = False
        self._conn_gen += 1
        self._znodes.watching = None  # the server drops a connection's watches with it
        if state == KazooState.SUSPENDED:
            log.warning("%s: ZooKeeper connection suspended", self.node_id)
            self._reason = "ZooKeeper connection suspended"
            if self._role is Role.LEADER:
                self._lead_while_suspended()
        elif state == KazooState.LOST:
            self._cancel_suspension_timer()
            log.warning("%s: ZooKeeper session lost", self.node_id)
            self._reason = "ZooKeeper session lost"
            if self._role is Role.LEADER:
                self._step_down("ZooKeeper session lost")
            # The session's ephemeral znodes are gone (or about to be): register anew.
            self._znodes.session_lost()
            self._paths_ready = False

    def _lead_while_suspended(self) -> None:
        """SUSPENDED on the leader: go on leading if that is safe (module docstring)."""
        if self.unclean_election and self._isr_followers() == 0:
            self._step_down(
                "ZooKeeper connection suspended, no follower in the ISR and unclean "
                "election on: another node could be elected behind our back"
            )
            return
        timeout = self.config.session_timeout
        log.warning(
            "%s: ZooKeeper connection suspended; still leading epoch %d (no other node can "
            "be elected without ZooKeeper, and writes still need every in-sync replica); "
            "stepping down if the session is lost or not back within %.1fs",
            self.node_id,
            self._epoch,
            timeout,
        )
        self._reason = f"leading epoch {self._epoch} while ZooKeeper is unreachable"
        self._cancel_suspension_timer()
        if self._loop is not None:
            self._suspended_timer = self._loop.call_later(timeout, self._suspension_expired)

    def _suspension_expired(self) -> None:
        self._suspended_timer = None
        if self._connected or self._role is not Role.LEADER:
            return
        self._reason = "ZooKeeper unreachable for a whole session timeout"
        self._step_down(
            f"ZooKeeper unreachable for a whole session timeout "
            f"({self.config.session_timeout:.1f}s): the session is presumed expired"
        )

    def _cancel_suspension_timer(self) -> None:
        timer, self._suspended_timer = self._suspended_timer, None
        if timer is not None:
            timer.cancel()

    # -- the election loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        delay = 0.05
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            if not self._connected:
                continue
            try:
                async with self._mutex:
                    again = await self._evaluate()
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
                if self._stopping:
                    return
                log.exception("%s: election step failed", self.node_id)
                again = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_delay)
            if again:
                self._wake.set()

    async def _evaluate(self) -> bool:
        """One look at ZooKeeper and what follows from it. True: look again at once."""
        cfg = self.config
        gen = self._conn_gen
        if not self._paths_ready:
            await self._zk(self._client.ensure_path_async, cfg.election_path)
            self._paths_ready = True
        if self._znodes.znode is None:
            await self._znodes.register()
        assert self._znodes.znode is not None

        try:
            state, version = await self._znodes.read_state(watch=True)
        except StateAppeared:
            return True
        except StateFormatError as exc:
            log.error("%s: %s", self.node_id, exc)
            self._reason = f"unreadable state znode: {exc}"
            if self._role is Role.LEADER:
                self._step_down("state znode unreadable")
            return False
        candidates = await self._znodes.read_members()
        if gen != self._conn_gen:
            return True
        me = next((c for c in candidates if c.znode == self._znodes.znode), None)
        if me is None:
            log.warning(
                "%s: election znode %s vanished; registering again",
                self.node_id,
                self._znodes.znode,
            )
            self._znodes.znode = None
            return True
        self._observe(state)

        if self._role is Role.LEADER and not (
            state is not None
            and state.leader_znode == self._znodes.znode
            and state.epoch == self._epoch
        ):
            if state is None:
                self._step_down("state znode deleted")
            elif state.epoch > self._epoch:
                self._step_down(f"newer epoch {state.epoch} led by {state.leader}")
            else:
                self._step_down(f"state names {state.leader} leader")

        unclean = self.unclean_election
        decision = decide(state, candidates, self._znodes.znode, unclean=unclean)
        self._reason = decision.reason
        self._leaderless = decision.kind is DecisionKind.WAIT
        self._log_wait(decision)
        kind = decision.kind
        if kind is DecisionKind.REGISTER:
            self._znodes.znode = None
            return True
        if kind is DecisionKind.BOOTSTRAP:
            new = successor_state(None, candidates, me, min_epoch=self._max_epoch_seen)
            try:
                await self._zk(self._client.create_async, cfg.state_path, new.encode())
            except NodeExistsError:
                return True
            self._observe(new)
            self._become_leader(new, gen)
            return True  # look again: sets the watches
        if kind is DecisionKind.LEAD:
            assert state is not None
            if self._role is Role.LEADER and self._epoch == state.epoch:
                return False
            if state.epoch > self._resigned_epoch:
                # Handed to us, or won by a CAS whose answer came too late: the epoch is ours.
                self._become_leader(state, gen)
                return False
            new = successor_state(state, candidates, me, min_epoch=self._max_epoch_seen)
            if await self._cas(new, version):
                self._become_leader(new, gen)
            return True
        if kind in (DecisionKind.TAKEOVER, DecisionKind.UNCLEAN):
            assert state is not None
            unclean = kind is DecisionKind.UNCLEAN
            new = successor_state(
                state, candidates, me, unclean=unclean, min_epoch=self._max_epoch_seen
            )
            if unclean:
                log.warning(
                    "%s: unclean election: no in-sync replica registered, taking over "
                    "with an empty ISR; acknowledged writes may be lost",
                    self.node_id,
                )
            if await self._cas(new, version):
                self._become_leader(new, gen)
            return True
        if kind is DecisionKind.RECOVER:
            assert state is not None
            data = self._data()
            if data != me.recovered:
                # Our data changed since we registered (a sync began): register what it is now.
                log.info("%s: data changed since registration; registering again", self.node_id)
                await self._znodes.deregister()
                return True
            new = successor_state(
                state, candidates, me, recovered=True, min_epoch=self._max_epoch_seen
            )
            if await self._cas(new, version):
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
            self._follow(decision.leader.node_id, state.leader_address, state.epoch)
        if decision.watch_members:
            # A recovery waits for nodes to register: any new election znode wakes us.
            await self._zk(
                self._client.get_children_async, cfg.election_path, watch=self._kazoo_watch
            )
        return await self._znodes.watch_predecessor(decision.watch)

    def _log_wait(self, decision: Decision) -> None:
        """Say once, as a warning, why a recovery waits and what the operator can do."""
        text = decision.reason if decision.advice else ""
        if text == self._logged_wait:
            return
        self._logged_wait = text
        if text:
            log.warning("%s: no leader: %s. To go on: %s", self.node_id, text, decision.advice)

    async def _leader_state(self) -> tuple[ClusterState, int]:
        if self._role is not Role.LEADER or not self._connected:
            raise NotLeaderError(f"{self.node_id} is not the leader")
        try:
            state, version = await self._znodes.read_state(watch=False)
        except StateFormatError as exc:
            raise CoordinationError(str(exc)) from None
        self._observe(state)
        if state is None or state.leader_znode != self._znodes.znode or state.epoch != self._epoch:
            self._wake.set()
            raise NotLeaderError(f"{self.node_id} is no longer the leader")
        if self._role is not Role.LEADER:
            raise NotLeaderError(f"{self.node_id} stepped down")
        return state, version

    async def _cas(self, new: ClusterState, version: int) -> bool:
        """Compare-and-set the state znode; False if someone else changed it first."""
        try:
            await self._zk(self._client.set_async, self.config.state_path, new.encode(), version)
        except BadVersionError:
            return False
        self._observe(new)
        return True

    # -- local role bookkeeping and events -------------------------------------------------------

    def _observe(self, state: ClusterState | None) -> None:
        if state is not None:
            self._state = state
            self._max_epoch_seen = max(self._max_epoch_seen, state.epoch)

    def _become_leader(self, state: ClusterState, gen: int) -> None:
        if gen != self._conn_gen or not self._connected or self._stopping:
            # The connection dropped while we won: do not claim it now. The next
            # evaluation finds the state naming us and adopts the epoch.
            return
        self._role = Role.LEADER
        self._epoch = state.epoch
        self._following = None
        self._reason = f"leader at epoch {state.epoch}"
        log.info("%s: leader at epoch %d, ISR %s", self.node_id, state.epoch, list(state.isr))
        self._emit(BecameLeader(state.epoch, state.isr))

    def _step_down(self, reason: str) -> None:
        if self._role is not Role.LEADER:
            return
        epoch = self._epoch
        self._role = Role.NONE
        self._resigned_epoch = max(self._resigned_epoch, epoch)
        self._epoch = 0
        self._following = None
        log.warning("%s: stepping down from epoch %d: %s", self.node_id, epoch, reason)
        self._emit(StepDown(reason, epoch))

    def _follow(self, leader: str, address: str, epoch: int) -> None:
        self._role = Role.FOLLOWER
        if self._following == (leader, address, epoch):
            return
        self._following = (leader, address, epoch)
        log.info("%s: following %s at %s (epoch %d)", self.node_id, leader, address, epoch)
        self._emit(Follow(leader, address, epoch))

    def _emit(self, event: Event) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("%s: event handler failed on %r", self.node_id, event)


@contextlib.asynccontextmanager
async def _translated(what: str) -> AsyncIterator[None]:
    """kazoo's exceptions stay inside this package: callers see CoordinationError."""
    try:
        yield
    except CoordinationError:
        raise
    except (KazooException, TimeoutError) as exc:
        raise CoordinationError(f"{what}: {exc!r}") from exc
