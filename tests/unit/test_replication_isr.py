"""ISR bookkeeping: joins, acknowledgements, the committed offset, timeouts, removals."""

from __future__ import annotations

from respcache.replication.isr import InSyncSet


def _online(isr: InSyncSet, *fids: str, ack: int = 0, now: float = 0.0) -> None:
    for fid in fids:
        isr.add(fid, now)
        isr.set_online(fid, ack, now)


def test_empty_isr_commits_what_is_produced() -> None:
    isr = InSyncSet()
    isr.sent(100, 0.0)
    assert isr.committed == 100
    assert isr.oldest_pending() is None


def test_a_caught_up_follower_joins_at_once() -> None:
    isr = InSyncSet()
    isr.add("f1", 0.0)
    assert isr.set_online("f1", 0, 0.0)
    assert isr.isr == {"f1"}


def test_commit_waits_for_every_member() -> None:
    isr = InSyncSet()
    _online(isr, "f1", "f2")
    isr.sent(100, 1.0)
    assert isr.committed == 0
    isr.ack("f1", 100, 1.1)
    assert isr.committed == 0
    isr.ack("f2", 60, 1.1)
    assert isr.committed == 60
    isr.ack("f2", 100, 1.2)
    assert isr.committed == 100


def test_acks_are_cumulative_and_never_go_back() -> None:
    isr = InSyncSet()
    _online(isr, "f1")
    isr.sent(100, 0.0)
    isr.ack("f1", 100, 0.0)
    isr.ack("f1", 40, 0.0)  # a stale ack arriving late
    assert isr.committed == 100
    assert isr.followers["f1"].ack == 100


def test_commit_never_passes_what_was_produced() -> None:
    isr = InSyncSet()
    _online(isr, "f1")
    isr.sent(50, 0.0)
    isr.ack("f1", 80, 0.0)
    assert isr.committed == 50


def test_a_lagging_follower_joins_once_it_reaches_the_committed_offset() -> None:
    isr = InSyncSet()
    _online(isr, "f1")
    isr.sent(100, 0.0)
    isr.ack("f1", 100, 0.0)
    isr.add("f2", 0.0)
    assert not isr.set_online("f2", 30, 0.0)  # behind the committed offset
    assert isr.isr == {"f1"}
    assert not isr.ack("f2", 99, 0.0)
    assert isr.ack("f2", 100, 0.0)  # caught up: joins
    assert isr.isr == {"f1", "f2"}
    isr.sent(150, 0.0)
    isr.ack("f1", 150, 0.0)
    assert isr.committed == 100  # f2 now counts


def test_joining_never_moves_the_committed_offset_back() -> None:
    isr = InSyncSet()
    _online(isr, "f1")
    isr.sent(100, 0.0)
    isr.ack("f1", 100, 0.0)
    isr.add("f2", 0.0)
    isr.set_online("f2", 100, 0.0)
    assert isr.committed == 100


def test_not_online_does_not_join() -> None:
    isr = InSyncSet()
    isr.add("f1", 0.0)  # connected, still in its full sync
    assert not isr.ack("f1", 0, 0.0)
    assert isr.isr == frozenset()


def test_laggards_after_the_timeout_only() -> None:
    isr = InSyncSet()
    _online(isr, "f1", "f2")
    isr.sent(100, 10.0)
    isr.ack("f1", 100, 10.1)
    assert isr.laggards(10.5, 1.0) == frozenset()
    assert isr.next_deadline(1.0) == 11.0
    assert isr.laggards(11.0, 1.0) == {"f2"}


def test_no_laggards_when_nothing_is_pending() -> None:
    isr = InSyncSet()
    _online(isr, "f1")
    isr.sent(100, 0.0)
    isr.ack("f1", 100, 0.0)
    assert isr.oldest_pending() is None
    assert isr.laggards(1000.0, 1.0) == frozenset()
    assert isr.next_deadline(1.0) is None


def test_the_oldest_unacknowledged_send_sets_the_clock() -> None:
    isr = InSyncSet()
    _online(isr, "f1")
    isr.sent(10, 0.0)
    isr.sent(20, 5.0)
    isr.ack("f1", 10, 5.0)  # the first send is done; the second started at 5.0
    assert isr.oldest_pending() == (20, 5.0)
    assert isr.laggards(5.9, 1.0) == frozenset()
    assert isr.laggards(6.0, 1.0) == {"f1"}


def test_a_proposed_removal_still_holds_commits_until_confirmed() -> None:
    isr = InSyncSet()
    _online(isr, "f1", "f2")
    isr.sent(100, 0.0)
    isr.ack("f1", 100, 0.1)
    assert isr.propose_removal({"f2"}) == {"f2"}
    assert isr.committed == 0  # f2 still counts
    assert isr.isr == {"f1", "f2"}
    assert isr.confirmed_isr == {"f1"}
    assert isr.laggards(5.0, 1.0) == frozenset()  # already leaving: not proposed twice
    assert isr.propose_removal({"f2"}) == frozenset()
    isr.remove({"f2"})
    assert isr.committed == 100
    assert isr.isr == {"f1"}


def test_cancelled_removal_keeps_the_member() -> None:
    isr = InSyncSet()
    _online(isr, "f1")
    isr.sent(100, 0.0)
    isr.propose_removal({"f1"})
    isr.cancel_removal({"f1"})
    assert isr.confirmed_isr == {"f1"}
    assert isr.laggards(5.0, 1.0) == {"f1"}


def test_removing_the_last_member_commits_everything() -> None:
    isr = InSyncSet()
    _online(isr, "f1")
    isr.sent(100, 0.0)
    isr.propose_removal({"f1"})
    isr.remove({"f1"})
    assert isr.committed == 100
    assert isr.oldest_pending() is None


def test_a_removed_follower_rejoins_once_caught_up() -> None:
    isr = InSyncSet()
    _online(isr, "f1", "f2")
    isr.sent(100, 0.0)
    isr.ack("f1", 100, 0.0)
    isr.propose_removal({"f2"})
    isr.remove({"f2"})
    isr.sent(200, 1.0)
    isr.ack("f1", 200, 1.0)
    assert not isr.ack("f2", 150, 1.0)
    assert isr.ack("f2", 200, 1.1)
    assert isr.isr == {"f1", "f2"}


def test_forget_only_non_members() -> None:
    isr = InSyncSet()
    _online(isr, "f1")
    isr.forget("f1")
    assert "f1" in isr.followers
    isr.propose_removal({"f1"})
    isr.remove({"f1"})
    isr.forget("f1")
    assert "f1" not in isr.followers


def test_acked_count_counts_online_followers() -> None:
    isr = InSyncSet()
    _online(isr, "f1", "f2")
    isr.add("f3", 0.0)  # still syncing
    isr.sent(100, 0.0)
    isr.ack("f1", 100, 0.0)
    isr.ack("f2", 50, 0.0)
    assert isr.acked_count(100) == 1
    assert isr.acked_count(50) == 2
    isr.disconnected("f1")
    assert isr.acked_count(100) == 0


def test_reset_for_a_new_history() -> None:
    isr = InSyncSet()
    _online(isr, "f1")
    isr.sent(100, 0.0)
    isr.reset(500)
    assert (isr.produced, isr.committed) == (500, 500)
    assert isr.oldest_pending() is None
