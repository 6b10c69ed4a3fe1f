"""Fault-injection analysis: record client histories, then judge them.

:mod:`.history` records operations the way Jepsen does, :mod:`.checker`
decides whether a history is linearizable (registers), loses nothing (sets),
counts right (counters) and whether the replicas converged, and
:mod:`.report` summarises a run (matplotlib is needed only for the plot).
No sockets here; the nemesis and workloads live elsewhere.
"""

from __future__ import annotations

from respcache.chaos.checker import (
    ConvergenceResult,
    CounterKeyResult,
    CountersResult,
    KeyResult,
    LinearizabilityResult,
    SetKeyResult,
    SetsResult,
    Verdict,
    Violation,
    check_all,
    check_convergence,
    check_counters,
    check_linearizable,
    check_sets,
)
from respcache.chaos.history import Event, F, History, HistoryError, Kind, Operation, pair

__all__ = [
    "ConvergenceResult",
    "CounterKeyResult",
    "CountersResult",
    "Event",
    "F",
    "History",
    "HistoryError",
    "KeyResult",
    "Kind",
    "LinearizabilityResult",
    "Operation",
    "SetKeyResult",
    "SetsResult",
    "Verdict",
    "Violation",
    "check_all",
    "check_convergence",
    "check_counters",
    "check_linearizable",
    "check_sets",
    "pair",
]
