"""The chaos checkers, checked: hand-made histories, simulated ones, and a brute-force oracle."""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respcache.chaos import (
    Event,
    F,
    History,
    HistoryError,
    Kind,
    check_all,
    check_convergence,
    check_counters,
    check_linearizable,
    check_sets,
    pair,
)
from respcache.chaos.report import (
    FaultWindow,
    plot_throughput,
    summarize,
    throughput,
    to_markdown,
    write_report,
)

# --------------------------------------------------------------------------- building histories


@dataclass(frozen=True)
class Op:
    """One operation for a hand-made history. ``ret=None`` with kind info: never completed."""

    f: str
    value: Any
    call: int
    ret: int | None
    kind: str = "ok"
    result: Any = None
    key: str = "x"
    process: int | None = None


def w(value: Any, call: int, ret: int | None, kind: str = "ok", key: str = "x") -> Op:
    return Op("write", value, call, ret, kind, key=key)


def r(result: Any, call: int, ret: int | None, kind: str = "ok", key: str = "x") -> Op:
    return Op("read", None, call, ret, kind, result=result, key=key)


def cas(expected: Any, new: Any, call: int, ret: int | None, kind: str = "ok") -> Op:
    return Op("cas", (expected, new), call, ret, kind)


def build(ops: Iterable[Op]) -> History:
    """Each operation gets its own process unless it names one; events go in time order."""
    timed: list[tuple[int, int, Event]] = []
    for n, op in enumerate(ops):
        process = n if op.process is None else op.process
        f = F(op.f)
        timed.append((op.call, 0, Event(process, Kind.INVOKE, f, op.key, op.value, op.call)))
        if op.ret is None:
            continue
        value = op.result if f in (F.READ, F.READ_SET, F.INCR) else op.value
        kind = Kind(op.kind)
        if kind is not Kind.OK:
            value = None
        timed.append((op.ret, 1, Event(process, kind, f, op.key, value, op.ret)))
    timed.sort(key=lambda item: (item[0], item[1]))
    return History(event for _, _, event in timed)


def linearizable(*ops: Op) -> bool:
    return check_linearizable(build(ops)).valid


# --------------------------------------------------------------------------- brute-force oracle


def oracle(ops: Sequence[Op]) -> bool:
    """Linearizability by definition: try every subset of indeterminate ops, every order."""
    useful = [op for op in ops if op.kind != "fail" and not (op.f == "read" and op.kind != "ok")]
    done = [op for op in useful if op.kind == "ok"]
    maybe = [op for op in useful if op.kind != "ok"]

    def ends(op: Op) -> float:
        return float("inf") if op.kind != "ok" or op.ret is None else op.ret

    def legal(order: Sequence[Op]) -> bool:
        for i, a in enumerate(order):
            if any(ends(b) < a.call for b in order[i + 1 :]):
                return False
        state: Any = None
        for op in order:
            if op.f == "read":
                if state != op.result:
                    return False
            elif op.f == "write":
                state = op.value
            else:
                if state != op.value[0]:
                    return False
                state = op.value[1]
        return True

    for k in range(len(maybe) + 1):
        for chosen in itertools.combinations(maybe, k):
            for order in itertools.permutations(done + list(chosen)):
                if legal(order):
                    return True
    return False


VALUES = [None, 1, 2, 3]


@st.composite
def small_histories(draw: st.DrawFn) -> list[Op]:
    n = draw(st.integers(1, 6))
    times = draw(st.lists(st.integers(0, 60), min_size=2 * n, max_size=2 * n, unique=True))
    ops = []
    for i in range(n):
        call, ret = sorted(times[2 * i : 2 * i + 2])
        f = draw(st.sampled_from(["read", "write", "write", "cas"]))
        kind = draw(st.sampled_from(["ok", "ok", "ok", "fail", "info"]))
        end: int | None = ret
        if kind == "info" and draw(st.booleans()):
            end = None  # never completed
        if f == "read":
            ops.append(r(draw(st.sampled_from(VALUES)), call, end, kind))
        elif f == "write":
            ops.append(w(draw(st.sampled_from(VALUES[1:])), call, end, kind))
        else:
            expected = draw(st.sampled_from(VALUES))
            ops.append(cas(expected, draw(st.sampled_from(VALUES[1:])), call, end, kind))
    return ops


def prefix(ops: Sequence[Op], cut: int, inclusive: bool) -> list[Op]:
    """The history up to time ``cut``: later completions become pending (never completed).

    Failed operations are left out, as the checker leaves them out of the whole history.
    """
    kept = []
    for op in ops:
        if op.call > cut or op.kind == "fail":
            continue
        finished = op.ret is not None and (op.ret < cut or (inclusive and op.ret == cut))
        kept.append(op if finished else Op(op.f, op.value, op.call, None, "info", key=op.key))
    return kept


@settings(max_examples=400, deadline=None)
@given(small_histories())
def test_agrees_with_brute_force(ops: list[Op]) -> None:
    result = check_linearizable(build(ops))
    assert result.valid == oracle(ops)


@settings(max_examples=300, deadline=None)
@given(small_histories())
def test_failing_operation_ends_the_shortest_failing_prefix(ops: list[Op]) -> None:
    result = check_linearizable(build(ops))
    if result.valid:
        return
    violation = result.violation
    assert violation is not None
    cut = violation.operation.ret
    assert cut is not None
    assert not oracle(prefix(ops, cut, inclusive=True))
    assert oracle(prefix(ops, cut, inclusive=False))
    assert violation.operation in violation.window


# --------------------------------------------------------------------------- hand-made registers


def test_sequential_history_is_linearizable() -> None:
    assert linearizable(r(None, 0, 1), w(1, 2, 3), r(1, 4, 5), w(2, 6, 7), r(2, 8, 9))


def test_empty_history_is_linearizable() -> None:
    result = check_linearizable(History())
    assert result.valid and result.keys == {} and result.violation is None


@pytest.mark.parametrize("seen", [1, 2])
def test_concurrent_writes_may_be_read_in_either_order(seen: int) -> None:
    assert linearizable(w(1, 0, 10), w(2, 1, 11), r(seen, 12, 13), r(seen, 14, 15))


def test_reads_during_concurrent_writes_see_either() -> None:
    assert linearizable(w(1, 0, 10), w(2, 1, 11), r(2, 2, 3), r(1, 4, 5), r(1, 12, 13))


def test_value_may_not_flip_back_after_both_writes_complete() -> None:
    assert not linearizable(w(1, 0, 10), w(2, 1, 11), r(1, 12, 13), r(2, 14, 15))


def test_stale_read_after_acknowledged_write_is_invalid() -> None:
    history = build([w(1, 0, 1), w(2, 2, 3), r(1, 4, 5)])
    result = check_linearizable(history)
    assert not result.valid
    violation = result.violation
    assert violation is not None
    assert violation.operation.f is F.READ and violation.operation.result == 1
    assert [op.value for op in violation.window if op.f is F.WRITE] == [2]
    assert violation.possible_values == (2,)
    text = violation.describe()
    assert "cannot be linearized" in text and "read x -> 1" in text


def test_lost_write_is_invalid() -> None:
    assert not linearizable(w(1, 0, 1), r(None, 2, 3))


def test_read_of_failed_write_is_invalid() -> None:
    assert not linearizable(w(1, 0, 1), w(2, 2, 3, kind="fail"), r(2, 4, 5))
    # even while the failed write is in flight
    assert not linearizable(w(1, 0, 1), w(2, 2, 10, kind="fail"), r(2, 4, 5))


def test_failed_write_is_reported_in_the_window() -> None:
    result = check_linearizable(build([w(1, 0, 1), w(2, 2, 3, kind="fail"), r(2, 4, 5)]))
    assert result.violation is not None
    assert any(op.kind is Kind.FAIL for op in result.violation.window)


@pytest.mark.parametrize("end", [3, None], ids=["info", "never-completed"])
def test_read_of_indeterminate_write_is_valid(end: int | None) -> None:
    assert linearizable(w(1, 0, 1), w(2, 2, end, kind="info"), r(2, 40, 41))


def test_indeterminate_write_may_take_effect_much_later() -> None:
    ops = [w(1, 0, 1), w(2, 2, 3, kind="info"), r(1, 4, 5), w(3, 6, 7), r(2, 8, 9)]
    assert linearizable(*ops)
    # ... but only once
    assert not linearizable(*ops, r(3, 10, 11))


def test_indeterminate_write_never_visible_is_valid() -> None:
    history = build([w(1, 0, 1), w(2, 2, 3, kind="info"), r(1, 4, 5), r(1, 6, 7)])
    result = check_linearizable(history)
    assert result.valid
    assert result.keys["x"].pruned == 1


def test_indeterminate_write_cannot_take_effect_before_its_invocation() -> None:
    assert not linearizable(r(2, 0, 1), w(2, 2, 3, kind="info"))


def test_failed_and_indeterminate_reads_constrain_nothing() -> None:
    assert linearizable(w(1, 0, 1), r(7, 2, 3, kind="fail"), r(None, 4, None, kind="info"))


def test_cas_succeeds_only_on_the_expected_value() -> None:
    assert linearizable(cas(None, 1, 0, 1), r(1, 2, 3))
    assert linearizable(w(1, 0, 1), cas(1, 2, 2, 3), r(2, 4, 5))
    assert not linearizable(w(1, 0, 1), cas(5, 6, 2, 3))
    assert not linearizable(w(1, 0, 1), cas(1, 2, 2, 3), r(1, 4, 5))


def test_failed_cas_does_not_apply() -> None:
    assert linearizable(w(1, 0, 1), cas(1, 2, 2, 3, kind="fail"), r(1, 4, 5))
    assert not linearizable(w(1, 0, 1), cas(1, 2, 2, 3, kind="fail"), r(2, 4, 5))


def test_two_concurrent_cas_from_the_same_value_cannot_both_succeed() -> None:
    assert not linearizable(w(1, 0, 1), cas(1, 2, 2, 10), cas(1, 3, 3, 11))
    assert linearizable(w(1, 0, 1), cas(1, 2, 2, 10), cas(2, 3, 3, 11), r(3, 12, 13))


def test_indeterminate_cas_may_or_may_not_apply() -> None:
    assert linearizable(w(1, 0, 1), cas(1, 2, 2, 3, kind="info"), r(2, 4, 5))
    assert linearizable(w(1, 0, 1), cas(1, 2, 2, 3, kind="info"), r(1, 4, 5))


def test_read_of_a_value_before_its_write_was_invoked_is_invalid() -> None:
    result = check_linearizable(build([r(1, 0, 1), w(1, 2, 3)]))
    assert not result.valid
    assert result.violation is not None
    assert result.violation.operation.f is F.READ
    assert result.violation.prefix_length == 1


def test_keys_are_independent_registers() -> None:
    history = build([w(1, 0, 1, key="a"), r(1, 2, 3, key="b"), r(1, 4, 5, key="a")])
    result = check_linearizable(history)
    assert not result.valid
    assert result.keys["a"].valid and not result.keys["b"].valid
    assert result.violation is not None and result.violation.key == "b"
    assert check_linearizable(history, key="a").valid
    assert list(check_linearizable(history, key="a").keys) == ["a"]


def test_first_violation_is_the_earliest_over_keys() -> None:
    history = build([r(5, 10, 11, key="a"), r(5, 0, 1, key="b")])
    result = check_linearizable(history)
    assert result.violation is not None and result.violation.key == "b"


# --------------------------------------------------------------------------- simulated histories


def simulate(
    seed: int,
    n_ops: int,
    *,
    keys: int = 4,
    processes: int = 8,
    info_rate: float = 0.03,
) -> list[Event]:
    """A history of a real atomic register under random concurrency.

    Each operation takes effect at a random instant inside its interval (an
    indeterminate one possibly much later, or never); results come from
    applying them in that order. Written values are unique.
    """
    rng = random.Random(seed)
    cursor = [rng.randint(0, 50) for _ in range(processes)]
    planned: list[dict[str, Any]] = []
    written: dict[str, list[int]] = {}
    for n in range(n_ops):
        p = min(range(processes), key=lambda q: cursor[q])
        call = cursor[p]
        ret = call + rng.randint(1, 100)
        key = f"k{rng.randrange(keys)}"
        roll = rng.random()
        value: Any
        if roll < 0.5:
            f, value = F.READ, None
        elif roll < 0.8:
            f, value = F.WRITE, n + 1
        else:
            recent = [*written.get(key, [])[-3:], None]
            f, value = F.CAS, (rng.choice(recent), n + 1)
        if f is not F.READ:
            written.setdefault(key, []).append(n + 1)
        info = rng.random() < info_rate
        effect: float | None = call + rng.random() * (ret - call)
        if info:
            effect = call + rng.random() * (ret - call) * 5 if rng.random() < 0.5 else None
        planned.append(
            {
                "p": p,
                "call": call,
                "ret": ret,
                "key": key,
                "f": f,
                "value": value,
                "info": info,
                "effect": effect,
                "kind": Kind.INFO,
                "out": None,
            }
        )
        cursor[p] = ret + rng.randint(1, 20)
    state: dict[str, Any] = {}
    for op in sorted((o for o in planned if o["effect"] is not None), key=lambda o: o["effect"]):
        current = state.get(op["key"])
        if op["f"] is F.READ:
            op["kind"], op["out"] = Kind.OK, current
        elif op["f"] is F.WRITE:
            state[op["key"]] = op["value"]
            op["kind"] = Kind.OK
        elif current == op["value"][0]:
            state[op["key"]] = op["value"][1]
            op["kind"] = Kind.OK
        else:
            op["kind"] = Kind.FAIL
    timed = []
    for op in planned:
        kind = Kind.INFO if op["info"] else op["kind"]
        invoke = Event(op["p"], Kind.INVOKE, op["f"], op["key"], op["value"], op["call"] * 1000)
        out = op["out"] if op["f"] is F.READ else op["value"]
        done = Event(
            op["p"], kind, op["f"], op["key"], out if kind is Kind.OK else None, op["ret"] * 1000
        )
        timed += [(invoke.time, 0, invoke), (done.time, 1, done)]
    timed.sort(key=lambda item: (item[0], item[1]))
    return list(History(event for _, _, event in timed))


def test_simulated_register_history_is_linearizable() -> None:
    events = simulate(1, 3000)
    result = check_linearizable(events)
    assert result.valid, result.describe()
    assert sum(r.operations for r in result.keys.values()) == 3000


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(1, 12))
def test_random_simulated_histories_are_linearizable(seed: int, keys: int, procs: int) -> None:
    assert check_linearizable(simulate(seed, 400, keys=keys, processes=procs)).valid


def test_corrupted_read_is_found_and_shown() -> None:
    events = simulate(2, 3000)
    reads = [e for e in events if e.kind is Kind.OK and e.f is F.READ and e.value is not None]
    target = reads[len(reads) // 2]
    corrupted = [
        Event(e.process, e.kind, e.f, e.key, "garbage", e.time, None, e.index) if e is target else e
        for e in events
    ]
    result = check_linearizable(corrupted)
    assert not result.valid
    violation = result.violation
    assert violation is not None
    assert violation.key == target.key
    assert violation.operation.completion is not None
    assert violation.operation.completion.index == target.index
    assert any(
        op.completion is not None and op.completion.index == target.index for op in violation.window
    )
    assert "'garbage'" in violation.describe()
    # every other key is still fine
    assert all(r.valid for k, r in result.keys.items() if k != target.key)


def test_read_corrupted_to_an_overwritten_value_is_found() -> None:
    events = simulate(3, 3000, info_rate=0.0)
    ops = pair(events)
    reads = [op for op in ops if op.f is F.READ and op.kind is Kind.OK]
    target = reads[len(reads) // 2]
    writes = [op for op in ops if op.key == target.key and op.f is F.WRITE and op.kind is Kind.OK]
    # a write overwritten by another write that completed before the read began
    old = next(
        a
        for a in writes
        if any(
            a.ret is not None and b.ret is not None and a.ret < b.call and b.ret < target.call
            for b in writes
        )
    )
    assert target.completion is not None
    bad_index = target.completion.index
    corrupted = [
        Event(e.process, e.kind, e.f, e.key, old.value, e.time, None, e.index)
        if e.index == bad_index
        else e
        for e in events
    ]
    result = check_linearizable(corrupted)
    assert not result.valid
    assert result.violation is not None
    assert result.violation.operation.index == target.index
    assert target.index in [op.index for op in result.violation.window]


def test_search_budget_gives_up_as_unknown() -> None:
    events = simulate(4, 6000, keys=1)
    result = check_linearizable(events, max_seconds=0)
    assert not result.valid
    assert result.keys["k0"].timed_out
    assert "budget" in result.describe()


# --------------------------------------------------------------------------- history


def test_pairing_marks_unfinished_invocations_indeterminate() -> None:
    history = History()
    a = history.invoke(1, F.WRITE, "x", 1)
    history.ok(a)
    history.invoke(2, F.WRITE, "x", 2)  # never completed
    history.invoke(3, F.READ, "x")
    history.invoke(3, F.READ, "x")  # process 3 invoked again: the first read is lost
    ops = history.operations()
    assert [op.kind for op in ops] == [Kind.OK, Kind.INFO, Kind.INFO, Kind.INFO]
    assert [op.process for op in ops] == [1, 2, 3, 3]
    assert ops[1].ret is None and ops[1].end is None


def test_pairing_rejects_malformed_histories() -> None:
    history = History()
    history.append(Event(1, Kind.OK, F.WRITE, "x", 1))
    with pytest.raises(HistoryError, match="without invocation"):
        history.operations()
    history = History()
    history.invoke(1, F.WRITE, "x", 1)
    history.append(Event(1, Kind.OK, F.READ, "x", 1))
    with pytest.raises(HistoryError, match="does not match"):
        history.operations()


def test_completion_helpers_and_clock() -> None:
    ticks = iter(range(100, 200))
    history = History(clock=lambda: next(ticks))
    a = history.invoke(1, F.WRITE, "x", 5)
    b = history.invoke(2, F.READ, "x")
    c = history.invoke(3, F.CAS, "x", (5, 6))
    history.ok(a)
    history.ok(b, 5)
    history.fail(c, "mismatch")
    ops = history.operations()
    assert [(op.call, op.ret) for op in ops] == [(100, 103), (101, 104), (102, 105)]
    assert ops[0].value == 5 and ops[1].result == 5
    assert ops[2].kind is Kind.FAIL and ops[2].error == "mismatch"
    assert [e.index for e in history] == list(range(6))


def test_json_lines_round_trip(tmp_path: Path) -> None:
    history = History()
    a = history.invoke(1, F.CAS, "x", (None, 1))
    b = history.invoke(2, F.READ_SET, "s")
    c = history.invoke(3, F.SADD, "s", "e1")
    history.ok(a)
    history.ok(b, {"e1", "e2"})
    history.info(c, "timeout")
    path = tmp_path / "history.jsonl"
    history.save(path)
    lines = path.read_text().splitlines()
    assert len(lines) == 6
    assert json.loads(lines[4])["value"] == ["e1", "e2"]
    loaded = History.load(path)
    assert loaded.events == history.events
    ops = loaded.operations()
    assert ops[0].value == (None, 1)
    assert ops[1].result == frozenset({"e1", "e2"})
    assert ops[2].kind is Kind.INFO and ops[2].error == "timeout"


def test_bad_json_line_is_a_history_error() -> None:
    with pytest.raises(HistoryError):
        Event.from_json('{"process": 1, "kind": "bogus", "f": "read", "key": "x", "time": 0}')


def test_append_is_thread_safe() -> None:
    history = History()

    def client(process: int) -> None:
        for i in range(200):
            invocation = history.invoke(process, F.WRITE, "x", (process, i))
            history.ok(invocation)

    threads = [threading.Thread(target=client, args=(p,)) for p in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = history.events
    assert [e.index for e in events] == list(range(8 * 200 * 2))
    assert [e.time for e in events] == sorted(e.time for e in events)
    ops = history.operations()
    assert len(ops) == 1600 and all(op.kind is Kind.OK for op in ops)
    assert all(op.completion is not None and op.completion.value == op.value for op in ops)


def test_operation_describe_is_readable() -> None:
    ops = build([cas(1, 2, 1_000_000_000, 1_500_000_000), r(None, 0, None, kind="info")])
    read, swap = (op.describe() for op in ops.operations())
    assert "cas x 1->2" in swap and "[1.000000s .. 1.500000s] ok" in swap
    assert "read x" in read and "never completed" in read


# --------------------------------------------------------------------------- sets


def sadd(element: Any, call: int, ret: int | None, kind: str = "ok", key: str = "s") -> Op:
    return Op("sadd", element, call, ret, kind, key=key)


def read_set(elements: Iterable[Any], call: int, ret: int, key: str = "s") -> Op:
    return Op("read-set", None, call, ret, "ok", result=frozenset(elements), key=key)


def test_set_with_everything_present_is_valid() -> None:
    history = build(
        [sadd(1, 0, 1), sadd(2, 2, 3), sadd(3, 2, 4, kind="info"), read_set({1, 2, 3}, 10, 11)]
    )
    result = check_sets(history)
    assert result.valid
    key = result.keys["s"]
    assert key.recovered == {3} and key.acknowledged == 2 and key.indeterminate == 1


def test_indeterminate_add_may_be_missing() -> None:
    history = build([sadd(1, 0, 1), sadd(2, 2, None, kind="info"), read_set({1}, 10, 11)])
    assert check_sets(history).valid


def test_lost_acknowledged_element_is_invalid() -> None:
    history = build([sadd(1, 0, 1), sadd(2, 2, 3), read_set({1}, 10, 11)])
    result = check_sets(history)
    assert not result.valid
    assert result.keys["s"].lost == {2}
    assert "lost: {2}" in result.describe()


def test_acknowledgement_after_final_read_began_is_not_lost() -> None:
    assert check_sets(build([sadd(1, 0, 12), read_set(set(), 10, 11)])).valid


def test_unexpected_and_resurrected_elements_are_invalid() -> None:
    result = check_sets(
        build([sadd(1, 0, 1), sadd(2, 2, 3, kind="fail"), read_set({1, 2, 9}, 10, 11)])
    )
    key = result.keys["s"]
    assert not result.valid
    assert key.unexpected == {9} and key.resurrected == {2} and key.lost == frozenset()


def test_set_never_read_cannot_be_verified() -> None:
    result = check_sets(build([sadd(1, 0, 1)]))
    assert not result.valid
    assert "never read" in result.keys["s"].errors[0]


def test_stale_intermediate_read_is_invalid() -> None:
    history = build([sadd(1, 0, 1), read_set(set(), 2, 3), read_set({1}, 10, 11)])
    result = check_sets(history)
    assert not result.valid
    (stale,) = result.keys["s"].stale_reads
    assert stale.missing == {1} and stale.operation.call == 2


def test_element_seen_then_gone_is_invalid() -> None:
    history = build([sadd(1, 0, None, kind="info"), read_set({1}, 2, 3), read_set(set(), 10, 11)])
    result = check_sets(history)
    assert result.keys["s"].lost == {1}


# --------------------------------------------------------------------------- counters


def incr(
    call: int, ret: int | None, kind: str = "ok", result: int | None = None, by: int | None = None
) -> Op:
    return Op("incr", by, call, ret, kind, result=result, key="c")


def read_counter(value: int | None, call: int, ret: int) -> Op:
    return Op("read", None, call, ret, "ok", result=value, key="c")


def _counter_history(final: int) -> History:
    return build(
        [
            incr(0, 1),
            incr(0, 2),
            incr(3, 4, by=2),
            incr(5, 6, kind="info"),
            incr(5, None, kind="info", by=3),
            incr(7, 8, kind="fail"),
            read_counter(final, 20, 21),
        ]
    )


@pytest.mark.parametrize("final", [4, 5, 7, 8])
def test_final_counter_within_acknowledged_plus_indeterminate(final: int) -> None:
    result = check_counters(_counter_history(final))
    assert result.valid, result.describe()
    key = result.keys["c"]
    assert (key.acknowledged, key.indeterminate, key.final_value) == (4, 4, final)


@pytest.mark.parametrize("final", [3, 9])
def test_final_counter_out_of_bounds_is_invalid(final: int) -> None:
    result = check_counters(_counter_history(final))
    assert not result.valid
    (violation,) = result.keys["c"].violations
    assert (violation.lower, violation.upper) == (4, 8)


def test_counter_reads_must_be_bounded_at_their_time() -> None:
    # a read before any increment began must be 0; one after the first ack at least 1
    assert not check_counters(
        build([read_counter(1, 0, 1), incr(2, 3), read_counter(1, 9, 10)])
    ).valid
    assert not check_counters(
        build([incr(0, 1), read_counter(0, 2, 3), read_counter(1, 9, 10)])
    ).valid
    assert check_counters(
        build([read_counter(None, 0, 1), incr(2, 3), read_counter(1, 9, 10)])
    ).valid


def test_counter_reads_must_not_go_backwards() -> None:
    history = build(
        [
            incr(0, 10),
            incr(0, 10),
            read_counter(2, 1, 2),
            read_counter(1, 3, 4),
            read_counter(2, 11, 12),
        ]
    )
    result = check_counters(history)
    assert not result.valid
    assert any("went backwards" in v.reason for v in result.keys["c"].violations)


def test_incr_results_are_observations() -> None:
    assert check_counters(build([incr(0, 1, result=1), incr(2, 3, result=2)])).valid
    duplicate = check_counters(
        build([incr(0, 5, result=1), incr(1, 6, result=1), read_counter(2, 9, 10)])
    )
    assert not duplicate.valid
    assert any("same result" in v.reason for v in duplicate.keys["c"].violations)


def test_counter_never_observed_cannot_be_verified() -> None:
    result = check_counters(build([incr(0, 1)]))
    assert not result.valid and result.keys["c"].errors


def test_keys_may_not_mix_types() -> None:
    with pytest.raises(HistoryError, match="mixes"):
        check_counters(build([incr(0, 1), Op("write", 1, 2, 3, key="c")]))


# --------------------------------------------------------------------------- convergence and verdict


def test_convergence() -> None:
    assert check_convergence({"n1": "abc", "n2": "abc", "n3": "abc"}).valid
    assert check_convergence({}).valid
    diverged = check_convergence({"n1": "abc", "n2": "abd", "n3": "abc"})
    assert not diverged.valid
    assert diverged.groups == {"abc": ("n1", "n3"), "abd": ("n2",)}
    assert "DIVERGE" in diverged.describe()


def _mixed_history() -> History:
    return build(
        [
            w(1, 0, 1),
            r(1, 2, 3),
            sadd("a", 0, 1),
            read_set({"a"}, 5, 6),
            incr(0, 1),
            read_counter(1, 5, 6),
        ]
    )


def test_check_all_combines_the_checkers() -> None:
    verdict = check_all(_mixed_history(), {"n1": "d", "n2": "d"})
    assert verdict.valid, verdict.describe()
    assert verdict.checkers() == dict.fromkeys(
        ["linearizable", "sets", "counters", "convergence"], True
    )
    broken = check_all(_mixed_history(), {"n1": "d", "n2": "e"})
    assert not broken.valid and broken.checkers()["convergence"] is False
    assert "INVALID" in broken.describe()


# --------------------------------------------------------------------------- report

SECOND = 1_000_000_000


def _run_history() -> tuple[History, list[FaultWindow]]:
    ops = []
    for i in range(30):
        start = i * SECOND // 3
        kind = "ok"
        if 4 * SECOND <= start < 6 * SECOND:
            kind = "fail" if i % 2 else "info"
        ops.append(w(i, start, start + SECOND // 10, kind=kind))
        ops.append(
            r(
                i if kind == "ok" else None,
                start + SECOND // 5,
                start + SECOND // 4,
                "ok" if kind == "ok" else "fail",
            )
        )
    faults = [FaultWindow("partition leader", 4 * SECOND, 6 * SECOND)]
    return build(ops), faults


def test_summary_counts_availability_and_write_gap() -> None:
    history, faults = _run_history()
    summary = summarize(history, faults)
    assert summary.operations == 60
    assert (summary.ok, summary.failed, summary.indeterminate) == (48, 9, 3)
    assert summary.during_faults.ok == 0 and summary.during_faults.total == 12
    assert summary.between_faults.share == 1.0
    # last ack before the fault at 11/3 s + 0.1 s, next at 18/3 s + 0.1 s
    start, end = summary.longest_without_write
    assert (start, end) == (11 * SECOND // 3 + SECOND // 10, 6 * SECOND + SECOND // 10)
    assert summary.by_f["write"] == {"ok": 24, "fail": 3, "info": 3}


def test_markdown_table() -> None:
    history, faults = _run_history()
    verdict = check_all(history)
    text = to_markdown(summarize(history, faults, verdict))
    assert "| availability during faults | 0.0% (0/12) |" in text
    assert "| partition leader | +4.000 s | +6.000 s | 0.0% (0/12) |" in text
    assert "| linearizable | ok |" in text


def test_throughput_buckets() -> None:
    history, _ = _run_history()
    origin, series = throughput(history)
    assert origin == 0
    assert sum(series["ok"]) == 48 and sum(series["fail"]) == 9 and sum(series["info"]) == 3
    assert series["ok"][5] == 0 and series["ok"][0] == 6


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    history, faults = _run_history()
    path = plot_throughput(history, faults, tmp_path / "throughput.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_write_report(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    history, faults = _run_history()
    broken = build([w(1, 0, 1), r(2, 2, 3)])
    paths = write_report(tmp_path / "run", history, faults, check_all(broken))
    assert paths["plot"].read_bytes()[:4] == b"\x89PNG"
    text = paths["markdown"].read_text()
    assert "**INVALID**" in text and "cannot be linearized" in text
