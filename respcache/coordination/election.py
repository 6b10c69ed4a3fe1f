"""The coordinator: ZooKeeper election, ISR bookkeeping and epochs, as events.

kazoo runs its own threads. Its watches and connection-state listeners only
schedule work on the asyncio loop (``loop.call_soon_threadsafe``); every
ZooKeeper round trip is an ``*_async`` kazoo call whose completion is handed
back to the loop as a future. All decisions are taken on the loop, one at a
time (``_mutex``), by the pure :func:`~respcache.coordination.state.decide`.

:class:`Coordinator` is the API the server uses; the work is done by small
collaborators of this package, each in a module named for what it holds:

* :mod:`.session` -- the kazoo client and its thread → loop bridge;
* :mod:`.znodes` -- this node's election znode, the predecessor watch, the reads;
* :mod:`.connection` -- kazoo's connection states, leading while suspended;
* :mod:`.election_loop` -- the loop that re-evaluates on every watch;
* :mod:`.state_writes` -- the compare-and-set writes of the state znode (epochs, ISR, handoff);
* :mod:`.role` -- this node's role as last concluded, and the events it emits.

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
from collections.abc import Callable
from typing import Any

from respcache.coordination.config import CoordinationConfig
from respcache.coordination.connection import ConnectionState
from respcache.coordination.election_loop import ElectionLoop
from respcache.coordination.events import CoordinationError, Event
from respcache.coordination.role import LocalRole, Role, Status
from respcache.coordination.session import ZkSession, translated
from respcache.coordination.state import Candidate, ClusterState, Recovery
from respcache.coordination.state_writes import StateWrites
from respcache.coordination.znodes import ElectionZnodes

__all__ = ["Coordinator", "Role", "Status"]


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
        data = data or (lambda: None)
        self.unclean_election = config.unclean_election
        """May change at run time (``CONFIG SET unclean-election``): call :meth:`wake`."""
        self._session = ZkSession(config)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._mutex = asyncio.Lock()
        self._znodes = ElectionZnodes(
            config, self._session, self._kazoo_watch, offset or (lambda: 0), data
        )
        self._role = LocalRole(config.node_id, on_event or self.events.put_nowait)
        self._connection = ConnectionState(
            config,
            self._role,
            self._znodes,
            wake=self._wake.set,
            isr_followers=isr_followers or (lambda: 0),
            unclean=lambda: self.unclean_election,
            stopping=lambda: self._session.stopping,
            loop=lambda: self._session.loop,
        )
        self._writes = StateWrites(
            config,
            self._session,
            self._znodes,
            self._role,
            self._connection,
            mutex=self._mutex,
            wake=self._wake.set,
        )
        self._election = ElectionLoop(
            config,
            self._session,
            self._znodes,
            self._role,
            self._connection,
            self._writes,
            wake=self._wake,
            mutex=self._mutex,
            watch=self._kazoo_watch,
            data=data,
            unclean=lambda: self.unclean_election,
        )

    @property
    def _conn_gen(self) -> int:
        """The connection generation (tests wait for a reconnection with it)."""
        return self._connection.generation

    # -- public API ------------------------------------------------------------------------------

    @property
    def node_id(self) -> str:
        return self.config.node_id

    @property
    def is_leader(self) -> bool:
        return self._role.is_leader

    @property
    def epoch(self) -> int:
        """The epoch this node leads at, or 0."""
        return self._role.epoch if self._role.is_leader else 0

    @property
    def status(self) -> Status:
        return self._role.status(self._znodes.znode, self._connection.connected)

    def wake(self) -> None:
        """Evaluate the election again (a setting it depends on changed)."""
        self._wake.set()

    @property
    def zk_client(self) -> Any:
        """The underlying ``KazooClient`` (diagnostics and tests only)."""
        return self._session.client

    def current_state(self) -> ClusterState | None:
        """The state znode as last read (it is watched, so at most one change behind)."""
        return self._role.state

    def members(self) -> tuple[Candidate, ...]:
        """The election znodes as last read, by sequence number."""
        return self._znodes.members

    async def fetch_members(self) -> tuple[Candidate, ...]:
        """Read the election znodes now (node id, run id, address of every registered node)."""
        async with self._mutex, translated("reading the election znodes"):
            return tuple(await self._znodes.read_members())

    async def start(self) -> None:
        """Connect to ZooKeeper in the background and take part in the election.

        Returns at once: if ZooKeeper is unreachable the coordinator keeps
        trying and the node stays in :attr:`Role.NONE` until events say otherwise.
        """
        if self._task is not None:
            raise RuntimeError("coordinator already started")
        self._session.open(self._connection.on_state)
        self._session.stopping = False
        self._task = asyncio.create_task(self._election.run(), name=f"coordinator-{self.node_id}")
        self._session.connect()

    async def stop(self) -> None:
        """Leave the election: close the session (the election znode goes with it)."""
        self._session.stopping = True  # from here on, no request leaves (see ZkSession.call)
        self._connection.cancel_suspension_timer()
        self._role.step_down("coordinator stopped")  # (nothing happens unless leading)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, CoordinationError):
                await task
        await self._session.close()
        self._connection.connected = False
        self._role.reason = "stopped"

    async def fetch_state(self) -> ClusterState | None:
        """Read the state znode now."""
        return await self._writes.fetch_state()

    async def add_to_isr(self, node_id: str, run_id: str | None = None) -> ClusterState:
        """Leader only: ``node_id`` (caught up) joins the ISR. Returns once ZooKeeper confirmed.

        The node must be registered (have an election znode); ``run_id``, when
        given, must be the run id it registered with (guards against adding a
        process that restarted since it caught up). Idempotent.
        """
        return await self._writes.add_to_isr(node_id, run_id)

    async def remove_from_isr(self, node_id: str) -> ClusterState:
        """Leader only: ``node_id`` leaves the ISR. Returns once ZooKeeper confirmed.

        Call it before acknowledging any write that ``node_id`` did not apply.
        Idempotent.
        """
        return await self._writes.remove_from_isr(node_id)

    async def handoff(self, target_node_id: str) -> ClusterState:
        """Leader only: give leadership to ``target_node_id``, an in-sync follower.

        One ZooKeeper transaction writes the state ``{leader=target,
        epoch+1}`` and deletes this node's election znode; this node then emits
        :class:`StepDown` and registers again at the back of the line, and the
        target emits :class:`BecameLeader` when it sees the state. Stop
        accepting writes and let the target catch up before calling this.
        """
        return await self._writes.handoff(target_node_id)

    # -- kazoo threads -> event loop -------------------------------------------------------------

    def _kazoo_watch(self, event: object) -> None:
        # kazoo's event thread. Watches only say "look again".
        self._session.threadsafe(self._wake.set)
