"""The backlog ring buffer, replication ids, and PSYNC decisions (PSYNC2 included)."""

from __future__ import annotations

import random

import pytest

from respcache.replication.backlog import NO_REPLID, Backlog, History, psync_decision


def test_empty_backlog() -> None:
    backlog = Backlog(16)
    assert (backlog.offset, backlog.histlen, backlog.first_byte_offset) == (0, 0, 1)
    assert backlog.covers(1)
    assert backlog.read(1) == b""
    assert not backlog.covers(2)


def test_append_and_read_before_wrapping() -> None:
    backlog = Backlog(16)
    backlog.append(b"hello")
    backlog.append(b" world")
    assert backlog.offset == 11
    assert backlog.histlen == 11
    assert backlog.first_byte_offset == 1
    assert backlog.read(1) == b"hello world"
    assert backlog.read(7) == b"world"
    assert backlog.read(12) == b""


def test_wrap_around_keeps_the_last_size_bytes() -> None:
    backlog = Backlog(8)
    backlog.append(b"abcdef")
    backlog.append(b"ghij")  # wraps: holds cdefghij
    assert backlog.offset == 10
    assert backlog.histlen == 8
    assert backlog.first_byte_offset == 3
    assert backlog.read(3) == b"cdefghij"
    assert backlog.read(9) == b"ij"
    assert not backlog.covers(2)
    with pytest.raises(ValueError):
        backlog.read(2)


def test_append_larger_than_the_buffer() -> None:
    backlog = Backlog(4)
    backlog.append(b"0123456789")
    assert backlog.read(backlog.first_byte_offset) == b"6789"
    assert backlog.first_byte_offset == 7


def test_random_appends_match_a_reference() -> None:
    rng = random.Random(7)
    size = 37
    backlog = Backlog(size, offset=1000)
    stream = b""
    for _ in range(500):
        chunk = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))
        backlog.append(chunk)
        stream += chunk
        held = stream[-size:]
        assert backlog.offset == 1000 + len(stream)
        assert backlog.histlen == len(held)
        start = backlog.first_byte_offset
        assert backlog.read(start) == held
        k = rng.randrange(0, len(held) + 1)
        assert backlog.read(backlog.offset + 1 - k) == (held[-k:] if k else b"")


def test_resize_keeps_the_newest_bytes() -> None:
    backlog = Backlog(8)
    backlog.append(b"abcdefghij")
    backlog.resize(4)
    assert backlog.offset == 10
    assert backlog.read(backlog.first_byte_offset) == b"ghij"
    backlog.resize(16)
    backlog.append(b"kl")
    assert backlog.read(7) == b"ghijkl"


def test_reset_starts_an_empty_history_at_an_offset() -> None:
    backlog = Backlog(8)
    backlog.append(b"abc")
    backlog.reset(500)
    assert (backlog.offset, backlog.histlen, backlog.first_byte_offset) == (500, 0, 501)
    backlog.append(b"xy")
    assert backlog.read(501) == b"xy"


# --- PSYNC decisions -------------------------------------------------------------------


def _leader(history_bytes: int = 100, size: int = 64) -> tuple[History, Backlog]:
    history = History("a" * 40)
    backlog = Backlog(size)
    backlog.append(b"x" * history_bytes)
    return history, backlog


def test_psync_question_mark_is_full() -> None:
    history, backlog = _leader()
    assert psync_decision(history, backlog, "?", -1).full


def test_psync_same_id_within_backlog_continues() -> None:
    history, backlog = _leader(100, 64)  # holds offsets 37..100
    decision = psync_decision(history, backlog, history.replid, 50)
    assert not decision.full and decision.start == 50
    # Exactly up to date: nothing to send, still partial.
    assert not psync_decision(history, backlog, history.replid, 101).full
    assert not psync_decision(history, backlog, history.replid, 37).full


def test_psync_beyond_the_backlog_is_full() -> None:
    history, backlog = _leader(100, 64)
    assert psync_decision(history, backlog, history.replid, 36).full  # fell out
    assert psync_decision(history, backlog, history.replid, 102).full  # from the future


def test_psync_unknown_id_is_full() -> None:
    history, backlog = _leader()
    assert psync_decision(history, backlog, "b" * 40, 50).full


def test_psync_without_backlog_is_full() -> None:
    history, _ = _leader()
    assert psync_decision(history, None, history.replid, 1).full


def test_psync2_previous_id_continues_up_to_the_switch() -> None:
    """A promoted follower accepts its old leader's id up to where it took over."""
    old_id = "a" * 40
    history = History(old_id)
    backlog = Backlog(1000)
    backlog.append(b"x" * 300)  # applied 300 bytes from the old leader
    history.shift(300)  # promoted: new id, old one valid up to offset 300
    assert history.replid != old_id
    assert (history.replid2, history.second_replid_offset) == (old_id, 301)
    backlog.append(b"y" * 50)  # its own writes as leader
    # A follower of the old leader at offset 250 (asks for 251): continues.
    decision = psync_decision(history, backlog, old_id, 251)
    assert not decision.full and decision.start == 251
    # One exactly at the switch point continues too.
    assert not psync_decision(history, backlog, old_id, 301).full
    # One whose history went past the switch (it had bytes we never had): full.
    assert psync_decision(history, backlog, old_id, 302).full


def test_psync2_needs_the_bytes_still_in_the_backlog() -> None:
    old_id = "a" * 40
    history = History(old_id)
    backlog = Backlog(100)
    backlog.append(b"x" * 300)
    history.shift(300)
    backlog.append(b"y" * 50)  # backlog now holds 251..350
    assert psync_decision(history, backlog, old_id, 200).full
    assert not psync_decision(history, backlog, old_id, 260).full


def test_psync2_no_previous_id_does_not_match_zeros() -> None:
    history, backlog = _leader()
    assert history.replid2 == NO_REPLID
    assert psync_decision(history, backlog, NO_REPLID, 50).full


def test_history_adopt_on_continue_with_a_new_id() -> None:
    history = History("a" * 40)
    history.adopt("b" * 40, 300)
    assert (history.replid, history.replid2, history.second_replid_offset) == (
        "b" * 40,
        "a" * 40,
        301,
    )
    history.adopt("b" * 40, 400)  # same id: nothing changes
    assert history.second_replid_offset == 301


def test_chained_failovers() -> None:
    """Two promotions in a row: the latest previous id is what counts."""
    history = History("a" * 40)
    backlog = Backlog(10_000)
    backlog.append(b"x" * 100)
    history.shift(100)
    second = history.replid
    backlog.append(b"x" * 100)
    history.shift(200)
    assert history.replid2 == second
    assert not psync_decision(history, backlog, second, 150).full
    assert psync_decision(history, backlog, "a" * 40, 50).full
