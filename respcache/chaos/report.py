"""Summaries of a chaos run: counts, availability, write gaps, verdicts, a plot.

Everything takes the recorded history plus the nemesis's fault windows
(:class:`FaultWindow`, same monotonic clock as the history). An operation
belongs to a fault when it was *invoked* inside the window. The throughput
plot needs matplotlib (imported only inside :func:`plot_throughput`, Agg
backend, no pyplot state); the rest of the module does not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from respcache.chaos.checker import HistoryLike, Verdict
from respcache.chaos.history import MUTATIONS, Kind, Operation, operations_of, origin_of


@dataclass(frozen=True)
class FaultWindow:
    """A fault the nemesis held from ``start`` to ``end`` (monotonic nanoseconds)."""

    name: str
    start: int
    end: int

    def __contains__(self, instant: int) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class Availability:
    """How many operations invoked in some period succeeded."""

    ok: int
    total: int

    @property
    def share(self) -> float | None:
        """``ok / total``, or ``None`` when nothing was invoked."""
        return self.ok / self.total if self.total else None

    def __str__(self) -> str:
        if not self.total:
            return "n/a (no operations)"
        return f"{100 * self.ok / self.total:.1f}% ({self.ok}/{self.total})"


@dataclass(frozen=True)
class Summary:
    operations: int
    ok: int
    failed: int
    indeterminate: int
    by_f: dict[str, dict[str, int]]
    """Function -> outcome (``ok``/``fail``/``info``) -> count."""
    during_faults: Availability
    between_faults: Availability
    per_fault: tuple[tuple[FaultWindow, Availability], ...]
    longest_without_write: tuple[int, int]
    """``(start, end)`` of the longest stretch with no acknowledged write."""
    origin: int
    """The first invocation's time; the report counts seconds from it."""
    end: int
    verdicts: dict[str, bool] | None = None
    valid: bool | None = None

    @property
    def duration(self) -> float:
        """Seconds from the first invocation to the last event."""
        return (self.end - self.origin) / 1e9

    @property
    def longest_without_write_seconds(self) -> float:
        start, end = self.longest_without_write
        return (end - start) / 1e9


def _in_faults(instant: int, faults: Sequence[FaultWindow]) -> bool:
    return any(instant in fault for fault in faults)


def _availability(ops: Iterable[Operation]) -> Availability:
    kinds = [op.kind for op in ops]
    return Availability(sum(1 for kind in kinds if kind is Kind.OK), len(kinds))


def _longest_gap(ops: Sequence[Operation], origin: int, end: int) -> tuple[int, int]:
    acked = sorted(
        op.ret for op in ops if op.kind is Kind.OK and op.f in MUTATIONS and op.ret is not None
    )
    marks = [origin, *acked, end]
    gaps = pairwise(marks)
    return max(gaps, key=lambda gap: gap[1] - gap[0], default=(origin, end))


def summarize(
    history: HistoryLike,
    faults: Sequence[FaultWindow] = (),
    verdict: Verdict | None = None,
) -> Summary:
    """Count outcomes, availability in and out of faults, the longest write gap."""
    ops = operations_of(history)
    origin = origin_of(ops)
    end = max(
        (t for op in ops for t in (op.call, op.end) if t is not None),
        default=origin,
    )
    end = max([end, *(fault.end for fault in faults)]) if faults else end
    counts = Counter(op.kind for op in ops)
    by_f: dict[str, dict[str, int]] = {}
    for op in ops:
        row = by_f.setdefault(op.f.value, {"ok": 0, "fail": 0, "info": 0})
        row[op.kind.value] += 1
    inside = [op for op in ops if _in_faults(op.call, faults)]
    outside = [op for op in ops if not _in_faults(op.call, faults)]
    per_fault = tuple(
        (fault, _availability(op for op in ops if op.call in fault)) for fault in faults
    )
    return Summary(
        operations=len(ops),
        ok=counts[Kind.OK],
        failed=counts[Kind.FAIL],
        indeterminate=counts[Kind.INFO],
        by_f=by_f,
        during_faults=_availability(inside),
        between_faults=_availability(outside),
        per_fault=per_fault,
        longest_without_write=_longest_gap(ops, origin, end),
        origin=origin,
        end=end,
        verdicts=None if verdict is None else verdict.checkers(),
        valid=None if verdict is None else verdict.valid,
    )


def _share(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.1f}%)" if whole else str(part)


def to_markdown(summary: Summary, title: str = "Chaos run") -> str:
    """The summary as markdown tables."""
    s = summary
    start, end = s.longest_without_write
    rel = s.origin
    lines = [
        f"## {title}",
        "",
        "| metric | value |",
        "|---|---|",
        f"| duration | {s.duration:.1f} s |",
        f"| operations | {s.operations} |",
        f"| acknowledged (ok) | {_share(s.ok, s.operations)} |",
        f"| failed (not applied) | {_share(s.failed, s.operations)} |",
        f"| indeterminate (info) | {_share(s.indeterminate, s.operations)} |",
        f"| availability during faults | {s.during_faults} |",
        f"| availability between faults | {s.between_faults} |",
        f"| longest window without an acknowledged write | "
        f"{s.longest_without_write_seconds:.3f} s "
        f"(+{(start - rel) / 1e9:.3f} s .. +{(end - rel) / 1e9:.3f} s) |",
    ]
    if s.valid is not None:
        lines.append(f"| verdict | {'**valid**' if s.valid else '**INVALID**'} |")
    lines += ["", "| operation | ok | fail | info |", "|---|---:|---:|---:|"]
    for f, row in sorted(s.by_f.items()):
        lines.append(f"| {f} | {row['ok']} | {row['fail']} | {row['info']} |")
    if s.per_fault:
        lines += ["", "| fault | from | to | availability |", "|---|---:|---:|---|"]
        for fault, availability in s.per_fault:
            lines.append(
                f"| {fault.name} | +{(fault.start - rel) / 1e9:.3f} s "
                f"| +{(fault.end - rel) / 1e9:.3f} s | {availability} |"
            )
    if s.verdicts is not None:
        lines += ["", "| checker | verdict |", "|---|---|"]
        for name, ok in s.verdicts.items():
            lines.append(f"| {name} | {'ok' if ok else '**FAILED**'} |")
    return "\n".join(lines) + "\n"


def throughput(
    history: HistoryLike, bucket_seconds: float = 1.0
) -> tuple[int, dict[str, list[int]]]:
    """Completions per bucket, by outcome: ``(origin, {"ok": [...], "fail": [...], "info": [...]})``.

    Buckets count from the first invocation; operations never completed are not counted.
    """
    ops = operations_of(history)
    origin = origin_of(ops)
    width = int(bucket_seconds * 1e9)
    ends = [(op.end, op.kind.value) for op in ops if op.end is not None]
    size = max(((end - origin) // width + 1 for end, _ in ends), default=0)
    series = {kind: [0] * size for kind in ("ok", "fail", "info")}
    for end, kind in ends:
        series[kind][(end - origin) // width] += 1
    return origin, series


def plot_throughput(
    history: HistoryLike,
    faults: Sequence[FaultWindow],
    path: str | Path,
    *,
    bucket_seconds: float = 1.0,
    title: str = "throughput",
) -> Path:
    """Write a PNG of ok/fail/info completions per bucket with the faults shaded.

    Needs matplotlib (``pip install matplotlib``); raises :class:`RuntimeError` without it.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("plotting needs matplotlib: pip install matplotlib") from exc

    origin, series = throughput(history, bucket_seconds)
    xs = [i * bucket_seconds for i in range(len(series["ok"]))]
    figure = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colours = {"ok": "tab:green", "fail": "tab:red", "info": "tab:orange"}
    per_second = 1 / bucket_seconds
    for kind, counts in series.items():
        axes.step(
            xs,
            [c * per_second for c in counts],
            where="post",
            label=kind,
            color=colours[kind],
        )
    top = max((c * per_second for counts in series.values() for c in counts), default=1.0)
    for fault in faults:
        start = (fault.start - origin) / 1e9
        end = (fault.end - origin) / 1e9
        axes.axvspan(start, end, color="tab:gray", alpha=0.25)
        axes.text(start, top, fault.name, fontsize=8, va="bottom", rotation=0)
    axes.set_xlabel("seconds since start")
    axes.set_ylabel("operations / s")
    axes.set_title(title)
    axes.set_ylim(bottom=0, top=max(top * 1.15, 1.0))
    axes.legend(loc="upper right")
    axes.grid(alpha=0.3)
    out = Path(path)
    figure.savefig(out, format="png")
    return out


def write_report(
    directory: str | Path,
    history: HistoryLike,
    faults: Sequence[FaultWindow] = (),
    verdict: Verdict | None = None,
    *,
    plot: bool = True,
) -> dict[str, Path]:
    """Write ``report.md`` (and ``throughput.png``) into ``directory``; return the paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    ops = operations_of(history)
    text = to_markdown(summarize(ops, faults, verdict))
    if verdict is not None and not verdict.valid:
        text += "\n```\n" + verdict.describe() + "\n```\n"
    paths = {"markdown": folder / "report.md"}
    paths["markdown"].write_text(text, encoding="utf-8")
    if plot:
        paths["plot"] = plot_throughput(ops, faults, folder / "throughput.png")
    return paths
