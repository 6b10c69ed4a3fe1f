"""FAILOVER and the SIGTERM handoff: writes paused, a follower synced, ZooKeeper told.

From FAILOVER's OK on, writes are held before they run (and, while the handoff
is recorded in ZooKeeper, reads too: a read fenced then could not be confirmed
once this node steps down). Once a caught-up in-sync follower leads, the held
commands are forwarded to it (:mod:`.forward`), and for a few seconds so is
the first data command of every other client. After an abort they run here.
See docs/coordination.md ("Planned handoff") and Redis 7.0's ``failoverCommand``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Final, Protocol

from respcache.commands import failover as failover_cmd
from respcache.commands.admission import Forward, Hold, HoldQueue, Relayable
from respcache.coordination import CoordinationError
from respcache.errors import CommandError

if TYPE_CHECKING:
    from respcache.commands.client import Client
    from respcache.replication import Replication
    from respcache.server.node.ports import HandoffRecord, Provider, Roles

__all__ = ["Handoff", "split_address"]

log = logging.getLogger("respcache.cluster")

_SYNC_POLL: Final = 0.005
_SHUTDOWN_HANDOFF: Final = 3.0
"""Seconds a SIGTERM'd leader spends handing off (the server gives it 5)."""
_SHUTDOWN_GRACE: Final = 1.0
"""After handing off on SIGTERM: seconds still listening (and forwarding) before closing."""
_REDIRECT_WINDOW: Final = 5.0
"""For this long after a handoff, the first data command of each client connection
is forwarded to the new leader (then the connection closes)."""
_GETACK: Final = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) as a pair; port 0 when it has none."""
    host, _, port = address.rpartition(":")
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        return address, 0


class CommitBarrier(Protocol):
    """The commit gate's two offsets (every held reply is committed when they meet)."""

    @property
    def committed(self) -> int: ...

    @property
    def barrier(self) -> int: ...


class ExpirySwitch(Protocol):
    """The keyspace's active expiry (off during a handoff: no DEL enters the stream)."""

    expire_keys: bool


class Handoff:
    """The planned handoff of leadership (FAILOVER's :class:`FailoverControl`)."""

    def __init__(
        self,
        replication: Replication,
        gate: CommitBarrier,
        keyspace: ExpirySwitch,
        roles: Roles,
        coordinator: Provider[HandoffRecord],
        run_ids: Mapping[str, str],
        relay: Callable[[Relayable, tuple[str, int]], None],
        drain: Callable[[], Awaitable[None]],
    ) -> None:
        self._replication = replication
        self._gate = gate
        self._keyspace = keyspace
        self._roles = roles
        self._coordinator = coordinator
        self._run_ids = run_ids
        self._relay = relay
        self._drain = drain
        self.writes_paused = False
        self.reads_paused = False
        """While the handoff is being recorded in ZooKeeper, reads wait too."""
        self.held = HoldQueue()
        """Transports holding a write until the handoff ends, in arrival order."""
        self.hold = Hold(self.held, "handoff")
        self._task: asyncio.Task[None] | None = None
        self._committing = False
        self._expiry_was: bool | None = None
        self._redirect_to: tuple[str, int] | None = None
        """After a handoff: the new leader, where data commands are forwarded."""
        self._redirect_until = 0.0
        self.stopped = False

    # --- the pause ------------------------------------------------------------------------

    def pause_writes(self) -> None:
        if self.writes_paused:
            return
        self.writes_paused = True
        # Nothing may enter the stream during the handoff: no expiry DELs either.
        self._expiry_was = self._keyspace.expire_keys
        self._keyspace.expire_keys = False

    def resume_writes(self, new_leader: tuple[str, int] | None = None) -> None:
        """End the pause: held commands run here, or go to ``new_leader`` after a handoff."""
        if not self.writes_paused:
            return
        self.writes_paused = self.reads_paused = False
        if self._expiry_was is not None and self._roles.leading:
            self._keyspace.expire_keys = self._expiry_was
        self._expiry_was = None
        if new_leader is None or self._roles.leading:
            self.held.release()
            return
        # Handed off: the held commands never ran here; the new leader runs them and
        # their replies come back through us. For a few seconds the other clients'
        # data commands are forwarded the same way (see redirect).
        self._redirect_to = new_leader
        self._redirect_until = time.monotonic() + _REDIRECT_WINDOW
        count = self.held.release(Forward(new_leader, self._relay))
        log.info("Handed off: %d held client(s) forwarded to %s:%d", count, *new_leader)

    def redirect(self, client: Client) -> Forward | None:
        """Just after a handoff: where this client's data command is forwarded."""
        target = self._redirect_to
        if target is None or client.is_replica:
            return None
        if time.monotonic() < self._redirect_until and not self._roles.leading:
            return Forward(target, self._relay)
        self._redirect_to = None
        return None

    # --- FAILOVER -------------------------------------------------------------------------

    def start_failover(self, request: failover_cmd.FailoverRequest) -> None:
        """FAILOVER [TO host port] [TIMEOUT ms] [FORCE]: Redis's checks, then the handoff."""
        if self._task is not None:
            raise CommandError("ERR FAILOVER already in progress.")
        rep = self._replication
        leader = rep.leader
        if not self._roles.leading or leader is None:
            raise CommandError("ERR FAILOVER is not valid when server is a replica.")
        if not leader.links:
            raise CommandError("ERR FAILOVER requires connected replicas.")
        if request.force and (not request.timeout_ms or request.target is None):
            raise CommandError(
                "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
            )
        target: str | None = None
        if request.target is not None:
            host, port = request.target
            link = next(
                (lk for lk in leader.links.values() if (lk.ip, lk.port) == (host, port)), None
            )
            if link is None:
                raise CommandError("ERR FAILOVER target HOST and PORT is not a replica.")
            if link.state != "online":
                raise CommandError("ERR FAILOVER target replica is not online.")
            target = link.fid
            log.info("FAILOVER requested to %s:%d (%s).", host, port, target)
        else:
            log.info("FAILOVER requested to any replica.")
        deadline = time.monotonic() + request.timeout_ms / 1000 if request.timeout_ms else None
        # From the OK on, writes wait (they are held before they run).
        rep.failover_state = "waiting-for-sync"
        self.pause_writes()
        self._task = asyncio.create_task(self._run(target, deadline, request.force))

    def abort_failover(self) -> None:
        task = self._task
        if task is None:
            raise CommandError(failover_cmd.NO_FAILOVER)
        if self._committing:
            raise CommandError(
                "ERR FAILOVER can no longer be aborted: the handoff is being recorded in ZooKeeper"
            )
        log.info("FAILOVER aborted: Failover manually aborted")
        task.cancel()

    async def shutdown_handoff(self) -> None:
        """SIGTERM / SHUTDOWN on the leader: hand leadership to a caught-up follower first."""
        if self.stopped or not self._roles.leading:
            return
        task = self._task
        if task is None:
            if not self.candidates():
                log.warning("Shutting down the leader with no in-sync follower to hand off to")
                return
            log.info("Shutting down: handing leadership off first")
            deadline = time.monotonic() + _SHUTDOWN_HANDOFF
            task = self._task = asyncio.create_task(self._run(None, deadline, False))
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(task)
        if self._redirect_to is not None:
            # Clients whose library retries on this address get forwarded a moment longer.
            await asyncio.sleep(_SHUTDOWN_GRACE)

    async def stop(self) -> None:
        """No new handoff; the one under way is cancelled (held writes: ``resume_writes``)."""
        self.stopped = True
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def candidates(self, target: str | None = None) -> list[str]:
        """In-sync followers ZooKeeper would accept as the next leader, most caught up first."""
        leader = self._replication.leader
        coordinator = self._coordinator()
        if leader is None or coordinator is None:
            return []
        recorded = coordinator.current_state()
        if recorded is None:
            return []
        online = {link.fid for link in leader.links.values() if link.state == "online"}
        found = []
        for node_id in leader.isr.confirmed_isr:
            if target is not None and node_id != target:
                continue
            run = self._run_ids.get(node_id)
            if node_id not in online or node_id not in recorded.isr:
                continue
            if run and recorded.isr_runs.get(node_id) not in (None, run):
                continue
            found.append(node_id)
        acks = {fid: state.ack for fid, state in leader.isr.followers.items()}
        return sorted(found, key=lambda fid: -acks.get(fid, 0))

    async def _wait_for_sync(self, target: str | None, deadline: float | None, force: bool) -> str:
        """Until a candidate applied everything and every held reply is committed."""
        leader = self._replication.leader
        if leader is not None:
            leader.feed_raw(_GETACK)
        while True:
            leader = self._replication.leader
            if leader is None or not self._roles.leading:
                raise CoordinationError("stepped down while waiting for the target to sync")
            leader.flush()
            candidates = self.candidates(target)
            offset = leader.offset
            synced = self._gate.committed >= self._gate.barrier
            for fid in candidates:
                state = leader.isr.followers.get(fid)
                if synced and state is not None and state.ack >= offset:
                    return fid
            if deadline is not None and time.monotonic() >= deadline:
                if force and target is not None and candidates:
                    log.warning("FAILOVER timeout: forcing the handoff to %s", target)
                    return target
                raise TimeoutError("FAILOVER timed out before a replica was in sync")
            if not candidates and target is not None:
                raise CoordinationError(f"{target} is no longer an in-sync replica")
            await asyncio.sleep(_SYNC_POLL)

    async def _run(self, target: str | None, deadline: float | None, force: bool) -> None:
        rep = self._replication
        coordinator = self._coordinator()
        assert coordinator is not None
        new_leader: tuple[str, int] | None = None
        rep.failover_state = "waiting-for-sync"
        self.pause_writes()
        try:
            await self._wait_for_sync(target, deadline, force)
            # From here until ZooKeeper answers, reads wait too: a read fenced now
            # could not be confirmed once we step down (its reply would fail).
            self.reads_paused = True
            self._committing = True
            rep.failover_state = "failover-in-progress"
            chosen = await self._wait_for_sync(target, deadline, force)
            log.info("FAILOVER: %s is in sync, handing leadership over", chosen)
            state = await coordinator.handoff(chosen)
            log.info("FAILOVER: %s leads epoch %d", chosen, state.epoch)
            new_leader = split_address(state.leader_address)
        except asyncio.CancelledError:
            log.warning("FAILOVER aborted")
        except (CoordinationError, TimeoutError) as err:
            log.warning("FAILOVER aborted: %s", err)
        finally:
            self._committing = False
            rep.failover_state = "no-failover"
            self._task = None
            # After an abort the held commands run here as usual; after the handoff
            # they run on the new leader (they never ran here).
            self.resume_writes(new_leader)
        await self._drain()
