"""The leader side's collaborators alone: the stream, group commit, ISR shrink confirmations, WAIT.

tests/unit/test_replication_leader.py drives them together through the engine;
here each runs on its own with fakes (a gate that records, links whose
transport records), on a real event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from respcache.config import Config
from respcache.replication.backlog import Backlog
from respcache.replication.isr import InSyncSet
from respcache.replication.leader_commit import NOT_COMMITTED, GroupCommit
from respcache.replication.leader_link import ReplicaLink
from respcache.replication.leader_shrink import ConfirmShrink, IsrShrink, ShrinkConfirmations
from respcache.replication.leader_stream import GETACK, LeaderStream
from respcache.replication.leader_wait import Waiters, WaitRequest


class FakeGate:
    def __init__(self) -> None:
        self.barrier = 0
        self.committed = 0
        self.failed: list[bytes] = []

    def advance(self, offset: int) -> None:
        self.barrier = max(self.barrier, offset)

    def commit(self, offset: int) -> None:
        self.committed = offset

    def reset(self, offset: int) -> None:
        self.barrier = self.committed = offset

    def fail(self, message: bytes) -> None:
        self.failed.append(message)


class FakeTransport:
    def __init__(self, buffered: int = 0) -> None:
        self.data = bytearray()
        self.closed = False
        self.buffered = buffered

    def write(self, data: bytes) -> None:
        self.data += data

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


class FakeClient:
    def __init__(self, cid: int) -> None:
        self.id = cid


def make_link(cid: int, port: int, state: str = "online", buffered: int = 0) -> ReplicaLink:
    link = ReplicaLink(FakeClient(cid), FakeTransport(buffered), "127.0.0.1", port)  # type: ignore[arg-type]
    link.state = state
    return link


def arun(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


async def tick() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


class StreamHarness:
    def __init__(self, loop: asyncio.AbstractEventLoop, config: Config | None = None) -> None:
        self.gate = FakeGate()
        self.backlog = Backlog(1 << 16, 100)
        self.links: dict[int, ReplicaLink] = {}
        self.sent: list[int] = []
        self.dropped: list[tuple[ReplicaLink, str]] = []
        self.stream = LeaderStream(
            gate=self.gate,
            config=config or Config(),
            backlog=self.backlog,
            loop=loop,
            links=self.links,
            sent=self.sent.append,
            drop=lambda link, reason: self.dropped.append((link, reason)),
        )


# --- LeaderStream -----------------------------------------------------------------------


def test_writes_of_one_iteration_are_flushed_together_and_select_their_db_once() -> None:
    async def main() -> None:
        h = StreamHarness(asyncio.get_running_loop())
        online, syncing = make_link(1, 7001), make_link(2, 7002, "wait_bgsave")
        h.links.update({1: online, 2: syncing})
        h.stream.propagate(3, [[b"SET", b"k", b"v"]])
        h.stream.propagate(3, [[b"DEL", b"k"]])
        assert h.stream.offset > 100 and h.gate.barrier == h.stream.offset
        assert h.backlog.offset == 100  # nothing flushed yet
        await tick()
        expected = (
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
            b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
        )
        assert bytes(online.transport.data) == expected  # type: ignore[attr-defined]
        assert syncing.pending == [expected] and syncing.pending_size == len(expected)
        assert h.backlog.offset == 100 + len(expected) == h.stream.offset
        assert h.sent == [h.backlog.offset]

    arun(main)


def test_with_an_empty_isr_writes_commit_as_they_are_produced() -> None:
    async def main() -> None:
        h = StreamHarness(asyncio.get_running_loop())
        h.stream.propagate(0, [[b"INCR", b"n"]])
        assert h.gate.committed == h.stream.offset
        h.stream.isr_empty = False
        h.stream.propagate(0, [[b"INCR", b"n"]])
        assert h.gate.committed < h.stream.offset == h.gate.barrier

    arun(main)


def test_forget_db_selects_the_db_again() -> None:
    async def main() -> None:
        h = StreamHarness(asyncio.get_running_loop())
        h.stream.propagate(0, [[b"X"]])
        before = h.stream.offset
        h.stream.propagate(0, [[b"X"]])
        plain = h.stream.offset - before
        h.stream.forget_db()
        before = h.stream.offset
        h.stream.propagate(0, [[b"X"]])
        assert h.stream.offset - before > plain

    arun(main)


def test_one_read_fence_per_iteration_and_none_without_isr_or_once_closed() -> None:
    async def main() -> None:
        h = StreamHarness(asyncio.get_running_loop())
        h.stream.read_fence()
        assert h.stream.offset == 100  # nobody else could be elected: nothing to prove
        h.stream.isr_empty = False
        h.stream.read_fence()
        h.stream.read_fence()
        assert h.stream.offset == 100 + len(GETACK) == h.gate.barrier
        await tick()
        h.stream.read_fence()  # a new iteration: a new GETACK
        assert h.stream.offset == 100 + 2 * len(GETACK)
        await tick()
        h.stream.closed = True
        h.stream.read_fence()
        assert h.stream.offset == 100 + 2 * len(GETACK)

    arun(main)


def test_raw_bytes_do_not_move_the_barrier_and_a_closed_stream_sends_nothing() -> None:
    async def main() -> None:
        h = StreamHarness(asyncio.get_running_loop())
        link = make_link(1, 7001)
        h.links[1] = link
        h.stream.feed_raw(b"*1\r\n$4\r\nPING\r\n")
        assert h.gate.barrier == 0
        await tick()
        assert link.transport.data == b"*1\r\n$4\r\nPING\r\n"  # type: ignore[attr-defined]
        h.stream.closed = True
        h.stream.feed_raw(b"*1\r\n$4\r\nPING\r\n")
        await tick()
        assert len(link.transport.data) == 14  # type: ignore[attr-defined]

    arun(main)


def test_a_link_over_its_hard_output_buffer_limit_is_dropped() -> None:
    async def main() -> None:
        config = Config()
        config.set("client-output-buffer-limit", "replica 10 0 0")
        h = StreamHarness(asyncio.get_running_loop(), config)
        slow = make_link(1, 7001, buffered=11)
        syncing = make_link(2, 7002, "wait_bgsave")
        h.links.update({1: slow, 2: syncing})
        h.stream.propagate(0, [[b"SET", b"key", b"value"]])
        h.stream.flush()
        assert [(link.fid, reason) for link, reason in h.dropped] == [
            ("127.0.0.1:7001", "output buffer limit"),
            ("127.0.0.1:7002", "output buffer limit"),
        ]

    arun(main)


# --- ShrinkConfirmations ----------------------------------------------------------------


def isr_with(*fids: str) -> InSyncSet:
    isr = InSyncSet(0)
    for fid in fids:
        state = isr.add(fid, 0.0)
        state.in_isr = True
        state.online = True
    return isr


def test_a_removal_takes_effect_only_once_confirmed_and_proposals_batch() -> None:
    async def main() -> None:
        isr = isr_with("a", "b", "c")
        release = asyncio.Event()
        seen: list[IsrShrink] = []
        applied: list[frozenset[str]] = []

        async def confirm(change: IsrShrink) -> None:
            seen.append(change)
            await release.wait()

        shrinks = ShrinkConfirmations(
            isr,
            asyncio.get_running_loop(),
            confirm=lambda: confirm,
            epoch=lambda: 4,
            ended=lambda: False,
            apply=applied.append,
        )
        shrinks.propose({"a"}, "slow")
        await tick()
        assert shrinks.confirming and seen == [
            IsrShrink(frozenset("a"), frozenset("bc"), 4, "slow")
        ]
        assert isr.isr == frozenset("abc")  # still counted until confirmed
        shrinks.propose({"b"}, "link closed")
        shrinks.propose({"b"}, "link closed")  # already leaving: not proposed twice
        release.set()
        await tick()
        await tick()
        assert applied == [frozenset("a"), frozenset("b")]
        assert seen[1].removed == frozenset("b") and seen[1].reason == "link closed"
        assert not shrinks.confirming

    arun(main)


def test_a_failed_confirmation_is_retried_unless_leadership_ended() -> None:
    async def main() -> None:
        isr = isr_with("a", "b")
        attempts: list[IsrShrink] = []
        applied: list[frozenset[str]] = []
        ended = False

        async def confirm(change: IsrShrink) -> None:
            attempts.append(change)
            if len(attempts) == 1:
                raise RuntimeError("ZooKeeper unreachable")

        shrinks = ShrinkConfirmations(
            isr,
            asyncio.get_running_loop(),
            confirm=lambda: confirm,
            epoch=lambda: 1,
            ended=lambda: ended,
            apply=applied.append,
        )
        shrinks.RETRY_DELAY = 0.01
        shrinks.propose({"a"}, "slow")
        await asyncio.sleep(0.05)
        assert len(attempts) == 2 and applied == [frozenset("a")]

        attempts.clear()  # the next confirmation fails again
        ended = True
        shrinks.propose({"b"}, "slow")
        await asyncio.sleep(0.05)
        assert len(attempts) == 1 and applied == [frozenset("a")]  # failed, not retried
        assert not isr.followers["b"].leaving  # the proposal was withdrawn

    arun(main)


# --- GroupCommit ------------------------------------------------------------------------


class FakeEvents:
    def __init__(self) -> None:
        self.armed = 0
        self.isrs: list[frozenset[str]] = []
        self.followers = 0
        self.down = False
        self.changes: list[IsrShrink] = []

    def followers_changed(self) -> None:
        self.followers += 1

    def isr_changed(self, isr: frozenset[str]) -> None:
        self.isrs.append(isr)

    def arm(self) -> None:
        self.armed += 1

    def stepped_down(self) -> bool:
        return self.down

    @property
    def confirm_isr_shrink(self) -> ConfirmShrink:
        async def confirm(change: IsrShrink) -> None:
            self.changes.append(change)

        return confirm


class CommitHarness:
    def __init__(self, loop: asyncio.AbstractEventLoop, config: Config | None = None) -> None:
        self.stream_h = StreamHarness(loop, config)
        self.isr = InSyncSet(100)
        self.events = FakeEvents()
        self.connected: set[str] = set()
        self.commit = GroupCommit(
            isr=self.isr,
            gate=self.stream_h.gate,
            stream=self.stream_h.stream,
            config=config or Config(),
            loop=loop,
            events=self.events,
            connected=lambda: self.connected,
            epoch=lambda: 2,
            closed=lambda: False,
        )


def test_the_first_follower_in_sync_arms_and_commits_move_the_gate() -> None:
    async def main() -> None:
        h = CommitHarness(asyncio.get_running_loop())
        h.isr.add("f", 0.0)
        h.commit.online("f", 100)
        assert h.events.armed == 1 and h.events.isrs == [frozenset("f")]
        assert not h.stream_h.stream.isr_empty
        h.commit.sent(150)
        assert h.stream_h.gate.committed == 0  # f has not acknowledged 150
        h.commit.ack("f", 150)
        assert h.stream_h.gate.committed == 150
        h.commit.close()

    arun(main)


def test_begin_term_after_a_promotion_commits_nothing_until_the_seeds_ack() -> None:
    async def main() -> None:
        h = CommitHarness(asyncio.get_running_loop())
        h.commit.armed = True
        h.commit.begin_term(frozenset({"f"}), promoted=True, offset=120)
        assert h.isr.isr == frozenset("f") and h.stream_h.gate.barrier == 120
        assert h.isr.committed == 0 and h.events.armed == 0  # already armed
        h.isr.add("f", 0.0)
        h.commit.online("f", 120)
        assert h.stream_h.gate.committed == 120
        h.commit.close()

    arun(main)


def test_a_laggard_is_removed_after_confirmation_and_held_replies_fail_below_min_isr() -> None:
    async def main() -> None:
        config = Config()
        config.set("repl-ack-timeout", "20")
        config.set("min-insync-replicas", "1")
        h = CommitHarness(asyncio.get_running_loop(), config)
        h.isr.add("f", 0.0)
        h.commit.online("f", 100)
        h.commit.armed = True  # (what the node's arm() does when told)
        h.stream_h.gate.barrier = 150
        h.commit.sent(150)  # f never acknowledges it
        await asyncio.sleep(0.08)
        assert [c.removed for c in h.events.changes] == [frozenset("f")]
        assert h.isr.isr == frozenset() and "f" not in h.isr.followers  # no link: forgotten
        assert h.stream_h.gate.failed == [NOT_COMMITTED]
        assert h.stream_h.stream.isr_empty
        h.commit.close()

    arun(main)


# --- Waiters ----------------------------------------------------------------------------


class Acks:
    def __init__(self, isr: InSyncSet) -> None:
        self.isr = isr


def test_wait_answers_at_once_when_satisfied_else_parks_until_served() -> None:
    isr = isr_with("a", "b")
    isr.ack("a", 50, 0.0)
    waiters = Waiters(Acks(isr))
    answers: list[int] = []
    assert waiters.wait(WaitRequest(50, 1, answers.append)) == 1
    assert not waiters
    assert waiters.wait(WaitRequest(50, 2, answers.append)) is None
    assert waiters
    waiters.serve()
    assert answers == []
    isr.ack("b", 60, 0.0)
    waiters.serve()
    assert answers == [2] and not waiters


def test_finish_all_answers_the_count_reached_and_finish_is_once_only() -> None:
    isr = isr_with("a")
    waiters = Waiters(Acks(isr))
    answers: list[int] = []
    request = WaitRequest(10, 3, answers.append)
    waiters.wait(request)
    isr.ack("a", 10, 0.0)
    waiters.finish_all()
    request.finish(None)
    assert answers == [1] and not waiters
