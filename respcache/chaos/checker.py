"""Checkers that judge a recorded :class:`~respcache.chaos.history.History`.

Pure functions of the history: no sockets, no clocks (except the optional
search budget). Keys are classified by the operations on them:

* **register** keys (``read``/``write``/``cas``) are checked for
  linearizability (:func:`check_linearizable`);
* **set** keys (``sadd``/``read-set``) by :func:`check_sets`;
* **counter** keys (``incr``, plus ``read`` of the counter) by :func:`check_counters`.

:func:`check_convergence` compares the replicas' data digests after the run
and :func:`check_all` runs everything into one :class:`Verdict`.

Linearizability
---------------
The search is Wing & Gong's, with Lowe's just-in-time linearization and his
memoization of ``(linearized set, model state)`` pairs, arranged as in
Porcupine: the history becomes a time-ordered, doubly linked list of call and
return entries; the search walks it from the front, *lifts* a call (and its
return) out of the list when the model accepts it, and backtracks when it
reaches a return entry whose call it could not place. A configuration seen
before (same bitmask of linearized operations, same register value) is never
explored twice. Each key is an independent register, checked on its own
(P-compositionality).

``fail`` operations are dropped (they did not happen); ``info`` operations
return at +infinity, so they may be placed anywhere after their invocation or
left out entirely. ``info`` and ``fail`` reads constrain nothing and are
dropped too, as are ``info`` writes/CASes whose new value nobody ever
observed (leaving such a write out is always at least as good as placing it).

When a key is not linearizable the search also yields the shortest failing
prefix: the earliest return event that no linearization gets past (the
longest prefix any search path linearized ends right before it). The
operation returning there, the operations concurrent with it and those since
the last write that certainly completed before it form the reported window.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from respcache.chaos.history import (
    Event,
    F,
    History,
    HistoryError,
    Kind,
    Operation,
    operations_of,
    origin_of,
)

HistoryLike = History | Sequence[Event] | Sequence[Operation]

REGISTER_FS = frozenset({F.READ, F.WRITE, F.CAS})
SET_FS = frozenset({F.SADD, F.READ_SET})
COUNTER_FS = frozenset({F.INCR, F.READ})

_MAX_STATES_SHOWN = 16


def classify_keys(operations: Iterable[Operation]) -> dict[str, str]:
    """Map each key to ``"register"``, ``"set"`` or ``"counter"``.

    A key with any ``incr`` is a counter, with any ``sadd``/``read-set`` a set;
    mixing the families on one key is a :class:`HistoryError`.
    """
    fs: dict[str, set[F]] = {}
    for op in operations:
        fs.setdefault(op.key, set()).add(op.f)
    kinds: dict[str, str] = {}
    for key, used in fs.items():
        if F.INCR in used:
            kind, allowed = "counter", COUNTER_FS
        elif used & SET_FS:
            kind, allowed = "set", SET_FS
        else:
            kind, allowed = "register", REGISTER_FS
        if not used <= allowed:
            names = ", ".join(sorted(f.value for f in used))
            raise HistoryError(f"key {key!r} mixes operations of different types: {names}")
        kinds[key] = kind
    return kinds


def _by_key(operations: Iterable[Operation], kind: str) -> dict[str, list[Operation]]:
    ops = list(operations)
    kinds = classify_keys(ops)
    grouped: dict[str, list[Operation]] = {}
    for op in ops:
        if kinds[op.key] == kind:
            grouped.setdefault(op.key, []).append(op)
    return grouped


def _show(values: Iterable[Any], limit: int = 20) -> str:
    items = sorted(values, key=repr)
    text = ", ".join(repr(v) for v in items[:limit])
    if len(items) > limit:
        text += f", ... ({len(items) - limit} more)"
    return "{" + text + "}"


# --------------------------------------------------------------------------- linearizability


@dataclass(frozen=True)
class Violation:
    """Where a register key stops being linearizable."""

    key: str
    operation: Operation
    """The operation whose completion no linearization can get past."""
    window: tuple[Operation, ...]
    """The operations that explain it, in invocation order (``operation`` included)."""
    prefix_length: int
    """How many operations of the key were invoked within the shortest failing prefix."""
    possible_values: tuple[Any, ...]
    """Register values some linearization of everything before could have left."""
    origin: int = 0

    def describe(self) -> str:
        lines = [
            f"key {self.key!r}: not linearizable; no order of the first "
            f"{self.prefix_length} operations explains this one:",
            f"  {self.operation.describe(self.origin)}",
            f"  the register could only hold {_show(self.possible_values)} when it had to take effect",
            "window (invocation order):",
        ]
        for op in self.window:
            mark = "  <-- cannot be linearized" if op is self.operation else ""
            lines.append(f"  {op.describe(self.origin)}{mark}")
        return "\n".join(lines)


@dataclass(frozen=True)
class KeyResult:
    """Linearizability of one register key."""

    key: str
    valid: bool
    operations: int
    """Register operations on the key (every kind)."""
    indeterminate: int
    """``info`` writes/CASes the search had to consider."""
    pruned: int
    """``info`` writes/CASes left out because their value was never observed."""
    steps: int
    """Search steps taken (one per call entry examined)."""
    timed_out: bool = False
    violation: Violation | None = None


@dataclass(frozen=True)
class LinearizabilityResult:
    valid: bool
    keys: dict[str, KeyResult]
    violation: Violation | None
    """The first violation (earliest failing completion) over all keys."""
    origin: int = 0

    def describe(self) -> str:
        if self.valid:
            total = sum(r.operations for r in self.keys.values())
            return f"linearizable: {len(self.keys)} register keys, {total} operations"
        lines = ["NOT linearizable"]
        for result in self.keys.values():
            if result.timed_out:
                lines.append(f"key {result.key!r}: search budget exceeded (unknown)")
        if self.violation is not None:
            lines.append(self.violation.describe())
        return "\n".join(lines)


@dataclass
class _Outcome:
    valid: bool
    steps: int
    timed_out: bool = False
    failing: int = -1
    """Index (into the model operations) of the operation at the failing return."""
    states: set[Any] = field(default_factory=set)


_READ, _WRITE, _CAS = 0, 1, 2
_READS, _MAIN, _INFO = 0, 1, 2  # search phases
_FORCED = -1


def _search(ops: Sequence[Operation], deadline: float | None) -> _Outcome:
    """Porcupine's ``checkSingle`` for a register that starts absent (``None``).

    Completed operations form the main list of call and return entries, as in
    Porcupine. Indeterminate ones have no return entry and live in a second
    list; they are tried only once the main scan is stuck, so the search
    places them as late as it can and prefers leaving them out. A finished
    (failed) configuration ``(completed set, state, indeterminate set I)``
    also rules out any later one with the same completed set and state and a
    superset of ``I``: what the larger one can still do, the smaller could too.
    """
    codes: list[int] = []
    arg: list[Any] = []
    new: list[Any] = []
    bit: list[int] = []
    info: list[bool] = []
    entries: list[tuple[int, int, int]] = []
    remaining = indeterminate = 0
    for i, op in enumerate(ops):
        if op.f is F.READ:
            codes.append(_READ)
            arg.append(op.result)
            new.append(None)
        elif op.f is F.WRITE:
            codes.append(_WRITE)
            arg.append(None)
            new.append(op.value)
        else:
            codes.append(_CAS)
            expected, replacement = op.value
            arg.append(expected)
            new.append(replacement)
        entries.append((op.call, 0, i))
        if op.ret is None:
            info.append(True)
            bit.append(1 << indeterminate)
            indeterminate += 1
        else:
            info.append(False)
            bit.append(1 << remaining)
            remaining += 1
            entries.append((op.ret, 1, i))
    # Calls sort before returns at equal times: touching operations are concurrent.
    entries.sort()

    # Node k is entries[k - 1], so node numbers follow time. Node 0 heads the
    # main list and node ``info_head`` the list of indeterminate calls; -1 ends both.
    info_head = len(entries) + 1
    size = info_head + 1
    nxt = [-1] * size
    prv = [-1] * size
    node_op = [-1] * size
    is_return = [False] * size
    match = [-1] * size
    call_node = [0] * len(ops)
    tails = {0: 0, info_head: info_head}
    for node, (_, kind, i) in enumerate(entries, start=1):
        node_op[node] = i
        if kind:
            is_return[node] = True
            match[call_node[i]] = node
        else:
            call_node[i] = node
        head = info_head if info[i] else 0
        nxt[tails[head]] = node
        prv[node] = tails[head]
        tails[head] = node

    finished: dict[tuple[int, Any], list[int]] = {}
    # A frame is (call entry, state before it, how it was chosen): _FORCED for a
    # read, 0 for a completed operation, the scan limit for an indeterminate one.
    stack: list[tuple[int, Any, int]] = []
    done = pending = 0  # bitmasks of linearized completed / indeterminate operations
    state: Any = None
    steps = 0
    best = -1
    best_states: set[Any] = set()
    phase = _READS
    entry = nxt[0]
    limit = 0
    while remaining:
        steps += 1
        if deadline is not None and not steps & 0xFFF and time.monotonic() > deadline:
            return _Outcome(False, steps, timed_out=True)
        stuck = False
        if phase == _READS:
            # A read that is legal now can be linearized now: any linearization
            # placing it later stays valid with it moved here. So take it
            # without branching; if that fails, so does this configuration.
            if is_return[entry]:
                phase = _MAIN
                entry = nxt[0]
                continue
            i = node_op[entry]
            if codes[i] != _READ or state != arg[i]:
                entry = nxt[entry]
                continue
            grown = done | bit[i]
            seen = finished.get((grown, state))
            if seen is None or all(old & ~pending for old in seen):
                stack.append((entry, state, _FORCED))
                done = grown
                _lift(entry, match[entry], nxt, prv)
                remaining -= 1
                entry = nxt[0]
                continue
            stuck = True
        elif phase == _MAIN:
            if not is_return[entry]:
                i = node_op[entry]
                code = codes[i]
                if code == _READ:  # not legal here, or the read pass would have taken it
                    entry = nxt[entry]
                    continue
                if code == _WRITE or state == arg[i]:
                    after = new[i]
                    grown = done | bit[i]
                    seen = finished.get((grown, after))
                    if seen is None or all(old & ~pending for old in seen):
                        stack.append((entry, state, 0))
                        state = after
                        done = grown
                        _lift(entry, match[entry], nxt, prv)
                        remaining -= 1
                        phase = _READS
                        entry = nxt[0]
                        continue
                entry = nxt[entry]
                continue
            # The first return entry whose call is not linearized: try the
            # indeterminate operations invoked before it, then backtrack.
            if entry > best:
                best = entry
                best_states = {state}
            elif entry == best and len(best_states) < _MAX_STATES_SHOWN:
                best_states.add(state)
            phase = _INFO
            limit = entry
            entry = nxt[info_head]
        if not stuck and entry != -1 and entry < limit:
            i = node_op[entry]
            if codes[i] == _WRITE or state == arg[i]:
                after = new[i]
                grown = pending | bit[i]
                seen = finished.get((done, after))
                if seen is None or all(old & ~grown for old in seen):
                    stack.append((entry, state, limit))
                    state = after
                    pending = grown
                    _lift(entry, -1, nxt, prv)
                    phase = _READS
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
            continue
        # Nothing left to try here: this configuration fails; backtrack (past
        # forced reads too: their configuration failed with them).
        while True:
            if not stack:
                return _Outcome(False, steps, failing=node_op[best], states=best_states)
            finished.setdefault((done, state), []).append(pending)
            entry, state, limit = stack.pop()
            i = node_op[entry]
            if info[i]:
                pending &= ~bit[i]
                _unlift(entry, -1, nxt, prv)
                phase = _INFO
            else:
                done &= ~bit[i]
                _unlift(entry, match[entry], nxt, prv)
                remaining += 1
                phase = _MAIN
            if limit != _FORCED:
                break
        entry = nxt[entry]
    return _Outcome(True, steps)


def _lift(call: int, ret: int, nxt: list[int], prv: list[int]) -> None:
    """Unlink a call entry and its return entry (``-1``: none), dancing-links style."""
    p, q = prv[call], nxt[call]
    nxt[p] = q
    if q != -1:
        prv[q] = p
    if ret != -1:
        p, q = prv[ret], nxt[ret]
        nxt[p] = q
        if q != -1:
            prv[q] = p


def _unlift(call: int, ret: int, nxt: list[int], prv: list[int]) -> None:
    """Undo :func:`_lift`: relink the return entry first, then the call."""
    if ret != -1:
        nxt[prv[ret]] = ret
        if nxt[ret] != -1:
            prv[nxt[ret]] = ret
    nxt[prv[call]] = call
    if nxt[call] != -1:
        prv[nxt[call]] = call


def _new_value(op: Operation) -> Any:
    if op.f is F.CAS:
        return op.value[1]
    return op.value


def _validate_register_op(op: Operation) -> None:
    if op.f is F.CAS and not (isinstance(op.value, tuple) and len(op.value) == 2):
        raise HistoryError(f"cas value must be (expected, new): {op.describe()}")
    for value in (op.value, op.result):
        try:
            hash(value)
        except TypeError:
            raise HistoryError(f"register values must be hashable: {op.describe()}") from None


def _check_register(
    key: str, ops: Sequence[Operation], origin: int, deadline: float | None
) -> KeyResult:
    for op in ops:
        _validate_register_op(op)
    observed: set[Any] = set()
    for op in ops:
        if op.f is F.READ and op.kind is Kind.OK:
            observed.add(op.result)
        elif op.f is F.CAS and op.kind is not Kind.FAIL:
            observed.add(op.value[0])
    model: list[Operation] = []
    pruned = indeterminate = 0
    for op in ops:
        if op.kind is Kind.FAIL or (op.f is F.READ and op.kind is not Kind.OK):
            continue
        if op.kind is Kind.INFO:
            if _new_value(op) not in observed:
                pruned += 1
                continue
            indeterminate += 1
        model.append(op)
    outcome = _search(model, deadline)
    violation = None
    if not outcome.valid and not outcome.timed_out:
        violation = _violation(key, ops, model, outcome, observed, origin)
    return KeyResult(
        key=key,
        valid=outcome.valid,
        operations=len(ops),
        indeterminate=indeterminate,
        pruned=pruned,
        steps=outcome.steps,
        timed_out=outcome.timed_out,
        violation=violation,
    )


def _violation(
    key: str,
    ops: Sequence[Operation],
    model: Sequence[Operation],
    outcome: _Outcome,
    observed: set[Any],
    origin: int,
) -> Violation:
    culprit = model[outcome.failing]
    cut = culprit.ret
    assert cut is not None  # only completed operations block the search
    before = [
        op
        for op in model
        if op.kind is Kind.OK
        and op.f is not F.READ
        and op.ret is not None
        and op.ret < culprit.call
    ]
    start = max(before, key=lambda op: (op.ret, op.index)).call if before else -math.inf

    def relevant(op: Operation) -> bool:
        if op.call > cut:
            return False
        end = math.inf if op.ret is None else op.ret
        if end < start:
            return False
        if op.kind is Kind.OK:
            return True
        return op.f is not F.READ and _new_value(op) in observed

    window = tuple(op for op in ops if relevant(op))
    prefix = sum(1 for op in model if op.call <= cut)
    return Violation(
        key=key,
        operation=culprit,
        window=window,
        prefix_length=prefix,
        possible_values=tuple(sorted(outcome.states, key=repr)),
        origin=origin,
    )


def check_linearizable(
    history: HistoryLike, key: str | None = None, *, max_seconds: float | None = None
) -> LinearizabilityResult:
    """Check every register key (or only ``key``) for linearizability.

    ``max_seconds`` bounds the whole search; a key whose search runs out of
    time is reported invalid with ``timed_out`` set (the answer is unknown).
    """
    operations = operations_of(history)
    origin = origin_of(operations)
    grouped = _by_key(operations, "register")
    if key is not None:
        grouped = {key: grouped.get(key, [])}
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    results = {k: _check_register(k, ops, origin, deadline) for k, ops in sorted(grouped.items())}
    violations = [r.violation for r in results.values() if r.violation is not None]
    first = min(violations, key=lambda v: (v.operation.ret or 0, v.key), default=None)
    return LinearizabilityResult(
        valid=all(r.valid for r in results.values()),
        keys=results,
        violation=first,
        origin=origin,
    )


# --------------------------------------------------------------------------- sets


@dataclass(frozen=True)
class StaleRead:
    """A read missing elements it must contain."""

    operation: Operation
    missing: frozenset[Any]


@dataclass(frozen=True)
class SetKeyResult:
    key: str
    valid: bool
    final_read: Operation | None
    """The ``ok`` read-set that completed last."""
    attempted: int
    acknowledged: int
    indeterminate: int
    lost: frozenset[Any]
    """Acknowledged before the final read began, absent from it."""
    unexpected: frozenset[Any]
    """Present in the final read, never attempted."""
    resurrected: frozenset[Any]
    """Present in the final read although every attempt to add them failed."""
    recovered: frozenset[Any]
    """Indeterminate adds present in the final read."""
    stale_reads: tuple[StaleRead, ...] = ()
    """Earlier reads missing an element acknowledged or seen before they began."""
    errors: tuple[str, ...] = ()

    def describe(self, origin: int = 0) -> str:
        head = (
            f"set {self.key!r}: {'ok' if self.valid else 'INVALID'}; {self.attempted} attempted, "
            f"{self.acknowledged} acknowledged, {self.indeterminate} indeterminate "
            f"({len(self.recovered)} of them present)"
        )
        lines = [head, *(f"  {error}" for error in self.errors)]
        for name in ("lost", "unexpected", "resurrected"):
            values: frozenset[Any] = getattr(self, name)
            if values:
                lines.append(f"  {name}: {_show(values)}")
        for stale in self.stale_reads[:10]:
            lines.append(
                f"  stale read {stale.operation.describe(origin)} missing {_show(stale.missing)}"
            )
        if len(self.stale_reads) > 10:
            lines.append(f"  ... {len(self.stale_reads) - 10} more stale reads")
        return "\n".join(lines)


@dataclass(frozen=True)
class SetsResult:
    valid: bool
    keys: dict[str, SetKeyResult]
    origin: int = 0

    def describe(self) -> str:
        if not self.keys:
            return "sets: no set keys"
        return "\n".join(r.describe(self.origin) for r in self.keys.values())


def _elements(op: Operation) -> frozenset[Any]:
    result = op.result
    if result is None:
        return frozenset()
    if not isinstance(result, frozenset):
        raise HistoryError(f"read-set result must be a set: {op.describe()}")
    return result


def _check_set(key: str, ops: Sequence[Operation]) -> SetKeyResult:
    adds = [op for op in ops if op.f is F.SADD]
    reads = [op for op in ops if op.f is F.READ_SET and op.kind is Kind.OK]
    attempted = {op.value for op in adds}
    acked = {op.value for op in adds if op.kind is Kind.OK}
    indeterminate = {op.value for op in adds if op.kind is Kind.INFO} - acked
    failed = {op.value for op in adds if op.kind is Kind.FAIL} - acked - indeterminate

    # Every read must hold what was acknowledged, or seen by a completed read,
    # before it began. Sweep reads by start time over a time-ordered list of
    # "known present" facts.
    facts = sorted(
        [
            (op.ret, 0, frozenset([op.value]))
            for op in adds
            if op.kind is Kind.OK and op.ret is not None
        ]
        + [(op.ret, 1, _elements(op)) for op in reads if op.ret is not None],
        key=lambda fact: (fact[0], fact[1]),
    )
    stale: list[StaleRead] = []
    required: set[Any] = set()
    position = 0
    final = max(reads, key=lambda op: (op.ret or 0, op.index), default=None)
    for read in sorted(reads, key=lambda op: op.call):
        while position < len(facts) and facts[position][0] < read.call:
            required |= facts[position][2]
            position += 1
        missing = frozenset(required - _elements(read))
        if missing and read is not final:
            stale.append(StaleRead(read, missing))
    errors: list[str] = []
    if final is None:
        errors.append("the set was never read successfully; nothing can be verified")
        lost: frozenset[Any] = frozenset()
        present: frozenset[Any] = frozenset()
    else:
        present = _elements(final)
        must = {
            op.value
            for op in adds
            if op.kind is Kind.OK and op.ret is not None and op.ret < final.call
        }
        must |= {
            e for op in reads if op.ret is not None and op.ret < final.call for e in _elements(op)
        }
        lost = frozenset(must - present)
    unexpected = frozenset(present - attempted)
    resurrected = frozenset(present & failed)
    recovered = frozenset(present & indeterminate)
    valid = not (errors or lost or unexpected or resurrected or stale)
    return SetKeyResult(
        key=key,
        valid=valid,
        final_read=final,
        attempted=len(attempted),
        acknowledged=len(acked),
        indeterminate=len(indeterminate),
        lost=lost,
        unexpected=unexpected,
        resurrected=resurrected,
        recovered=recovered,
        stale_reads=tuple(stale),
        errors=tuple(errors),
    )


def check_sets(history: HistoryLike) -> SetsResult:
    """Check every set key: no acknowledged element may be missing from the final read.

    Also reported: elements never attempted (``unexpected``), elements whose
    every add failed (``resurrected``), indeterminate adds that made it
    (``recovered``, fine), and earlier reads that miss an element acknowledged
    or already read before they began (``stale_reads``).
    """
    operations = operations_of(history)
    grouped = _by_key(operations, "set")
    results = {k: _check_set(k, ops) for k, ops in sorted(grouped.items())}
    return SetsResult(all(r.valid for r in results.values()), results, origin_of(operations))


# --------------------------------------------------------------------------- counters


@dataclass(frozen=True)
class CounterViolation:
    operation: Operation
    value: int
    lower: int
    upper: int
    reason: str


@dataclass(frozen=True)
class CounterKeyResult:
    key: str
    valid: bool
    final: Operation | None
    """The last observation: the read (or, with no reads, the INCR) that completed last."""
    final_value: int | None
    acknowledged: int
    """Sum of acknowledged increments."""
    indeterminate: int
    """Sum of indeterminate increments."""
    violations: tuple[CounterViolation, ...] = ()
    errors: tuple[str, ...] = ()

    def describe(self, origin: int = 0) -> str:
        lines = [
            f"counter {self.key!r}: {'ok' if self.valid else 'INVALID'}; final {self.final_value}, "
            f"acknowledged {self.acknowledged}, indeterminate {self.indeterminate} "
            f"(allowed [{self.acknowledged}, {self.acknowledged + self.indeterminate}])",
            *(f"  {error}" for error in self.errors),
        ]
        for v in self.violations[:10]:
            lines.append(
                f"  {v.reason}: {v.operation.describe(origin)} (allowed [{v.lower}, {v.upper}])"
            )
        if len(self.violations) > 10:
            lines.append(f"  ... {len(self.violations) - 10} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class CountersResult:
    valid: bool
    keys: dict[str, CounterKeyResult]
    origin: int = 0

    def describe(self) -> str:
        if not self.keys:
            return "counters: no counter keys"
        return "\n".join(r.describe(self.origin) for r in self.keys.values())


def _as_int(op: Operation, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise HistoryError(f"counter value must be an integer: {op.describe()}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise HistoryError(f"counter value must be an integer: {op.describe()}") from None


def _check_counter(key: str, ops: Sequence[Operation]) -> CounterKeyResult:
    incrs = [op for op in ops if op.f is F.INCR and op.kind is not Kind.FAIL]
    amount = {op.index: 1 if op.value is None else _as_int(op, op.value) for op in incrs}
    if any(a < 0 for a in amount.values()):
        raise HistoryError(f"counter {key!r}: increments must not be negative")
    acked_ops = [op for op in incrs if op.kind is Kind.OK and op.ret is not None]
    acked = sum(amount[op.index] for op in acked_ops)
    unsure = sum(amount[op.index] for op in incrs if op.kind is not Kind.OK)

    # lower(o): increments acknowledged before o began (+ o's own, for an INCR)
    done = sorted((op.ret, amount[op.index]) for op in acked_ops if op.ret is not None)
    done_times = [t for t, _ in done]
    done_sums = [0]
    for _, a in done:
        done_sums.append(done_sums[-1] + a)
    # upper(o): every increment not known to have failed, invoked before o ended
    started = sorted((op.call, amount[op.index]) for op in incrs)
    start_times = [t for t, _ in started]
    start_sums = [0]
    for _, a in started:
        start_sums.append(start_sums[-1] + a)

    observations: list[tuple[Operation, int]] = []
    for op in ops:
        if op.kind is not Kind.OK or op.ret is None:
            continue
        if op.f is F.READ or op.result is not None:
            observations.append((op, _as_int(op, op.result)))

    violations: list[CounterViolation] = []
    for op, value in observations:
        assert op.ret is not None
        lower = done_sums[bisect.bisect_left(done_times, op.call)]
        if op.f is F.INCR:
            lower += amount[op.index]
        upper = start_sums[bisect.bisect_right(start_times, op.ret)]
        if not lower <= value <= upper:
            violations.append(CounterViolation(op, value, lower, upper, "out of bounds"))

    # Monotonic: nothing observed before an operation began may exceed what it sees.
    by_end = sorted(observations, key=lambda ov: ov[0].ret or 0)
    position = 0
    highest = -math.inf
    highest_op: Operation | None = None
    for op, value in sorted(observations, key=lambda ov: ov[0].call):
        while position < len(by_end) and (by_end[position][0].ret or 0) < op.call:
            if by_end[position][1] > highest:
                highest, highest_op = by_end[position][1], by_end[position][0]
            position += 1
        strict = op.f is F.INCR and amount[op.index] > 0
        if highest_op is not None and (value < highest or (strict and value == highest)):
            verb = "did not grow" if value == highest else "went backwards"
            reason = f"{verb} (#{highest_op.index} saw {int(highest)} before it began)"
            violations.append(CounterViolation(op, value, int(highest), int(highest), reason))

    seen: dict[int, Operation] = {}
    for op, value in observations:
        if op.f is F.INCR and amount[op.index] > 0:
            other = seen.setdefault(value, op)
            if other is not op:
                reason = f"same result as INCR #{other.index} (an increment was lost)"
                violations.append(CounterViolation(op, value, value, value, reason))

    errors: list[str] = []
    reads = [(op, v) for op, v in observations if op.f is F.READ]
    candidates = reads or observations
    final = max(candidates, key=lambda ov: (ov[0].ret or 0, ov[0].index), default=None)
    if final is None and incrs:
        errors.append("the counter was never observed; nothing can be verified")
    violations.sort(key=lambda v: (v.operation.ret or 0, v.operation.index))
    return CounterKeyResult(
        key=key,
        valid=not (violations or errors),
        final=None if final is None else final[0],
        final_value=None if final is None else final[1],
        acknowledged=acked,
        indeterminate=unsure,
        violations=tuple(violations),
        errors=tuple(errors),
    )


def check_counters(history: HistoryLike) -> CountersResult:
    """Check every counter key's observations against what the INCRs allow.

    Every ``ok`` read (and every ``ok`` INCR's returned value) must lie within
    [increments acknowledged before it began, increments not known to have
    failed that began before it ended]; for the final read after the run that
    is [acknowledged, acknowledged + indeterminate]. Observations must not go
    backwards in real time, and two INCRs cannot return the same value.
    """
    operations = operations_of(history)
    grouped = _by_key(operations, "counter")
    results = {k: _check_counter(k, ops) for k, ops in sorted(grouped.items())}
    return CountersResult(all(r.valid for r in results.values()), results, origin_of(operations))


# --------------------------------------------------------------------------- convergence


@dataclass(frozen=True)
class ConvergenceResult:
    valid: bool
    digests: dict[str, Any]
    groups: dict[Any, tuple[str, ...]]
    """Digest -> the nodes that reported it."""

    def describe(self) -> str:
        if not self.digests:
            return "convergence: no digests given"
        if self.valid:
            return f"convergence: all {len(self.digests)} nodes agree"
        parts = [f"{', '.join(nodes)} -> {digest!r}" for digest, nodes in self.groups.items()]
        return "convergence: replicas DIVERGE: " + "; ".join(parts)


def check_convergence(digests: Mapping[str, Any]) -> ConvergenceResult:
    """All nodes must report the same data digest (vacuously true for none)."""
    groups: dict[Any, list[str]] = {}
    for node, digest in sorted(digests.items()):
        groups.setdefault(digest, []).append(node)
    return ConvergenceResult(
        valid=len(groups) <= 1,
        digests=dict(digests),
        groups={digest: tuple(nodes) for digest, nodes in groups.items()},
    )


# --------------------------------------------------------------------------- all together


@dataclass(frozen=True)
class Verdict:
    linearizable: LinearizabilityResult
    sets: SetsResult
    counters: CountersResult
    convergence: ConvergenceResult

    @property
    def valid(self) -> bool:
        return all(self.checkers().values())

    def checkers(self) -> dict[str, bool]:
        """Checker name -> valid."""
        return {
            "linearizable": self.linearizable.valid,
            "sets": self.sets.valid,
            "counters": self.counters.valid,
            "convergence": self.convergence.valid,
        }

    def describe(self) -> str:
        return "\n".join(
            [
                f"verdict: {'VALID' if self.valid else 'INVALID'}",
                self.linearizable.describe(),
                self.sets.describe(),
                self.counters.describe(),
                self.convergence.describe(),
            ]
        )


def check_all(
    history: HistoryLike,
    digests: Mapping[str, Any] | None = None,
    *,
    max_seconds: float | None = None,
) -> Verdict:
    """Run every checker on ``history`` and compare the nodes' ``digests``."""
    operations = operations_of(history)
    return Verdict(
        linearizable=check_linearizable(operations, max_seconds=max_seconds),
        sets=check_sets(operations),
        counters=check_counters(operations),
        convergence=check_convergence(digests or {}),
    )
