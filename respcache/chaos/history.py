"""Operation histories, recorded the way Jepsen records them.

Every client operation is two :class:`Event` records: an ``invoke`` when the
client sends it, then one completion when it knows the outcome:

``ok``
    the operation happened (``value`` carries what a read saw).
``fail``
    the operation definitely did *not* happen (an error reply such as
    ``READONLY`` or a CAS whose precondition did not hold).
``info``
    indeterminate: a timeout or a lost connection. The operation may have
    happened, may not have, and may still happen at any later time.

An invocation that never gets a completion (the client crashed, the run was
cut short) counts as ``info``. Values per ``f``:

============  =================================  ===========================
``f``         invocation ``value``               ``ok`` completion ``value``
============  =================================  ===========================
``read``      ``None``                           the value read (``None`` =
                                                 key absent; a counter reads
                                                 an ``int``)
``write``     the value written                  (ignored)
``cas``       ``(expected, new)``                (ignored)
``incr``      the increment (``None`` = 1)       the new value (or ``None``)
``sadd``      the element added                  (ignored)
``read-set``  ``None``                           the elements (a frozenset)
============  =================================  ===========================

Timestamps are :func:`time.monotonic_ns` values. A :class:`History` is
appended to from many client threads at once; it stamps each event with its
position (``index``) and the time under one lock, so index order is time
order. It is saved as JSON lines, one event per line.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any


class HistoryError(ValueError):
    """The history is malformed (a completion without an invocation, a bad value...)."""


class Kind(StrEnum):
    """What an event says about its operation."""

    INVOKE = "invoke"
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


class F(StrEnum):
    """The function an operation applies."""

    READ = "read"
    WRITE = "write"
    CAS = "cas"
    INCR = "incr"
    SADD = "sadd"
    READ_SET = "read-set"


COMPLETIONS = frozenset({Kind.OK, Kind.FAIL, Kind.INFO})
MUTATIONS = frozenset({F.WRITE, F.CAS, F.INCR, F.SADD})
"""Functions that change data; an ``ok`` one is a successful write."""


def _normalize_value(f: F, kind: Kind, value: Any) -> Any:
    """Give values one in-memory shape, whether built in code or loaded from JSON."""
    if f is F.CAS and isinstance(value, list | tuple):
        if len(value) != 2:
            raise HistoryError(f"cas value must be (expected, new), got {value!r}")
        return (value[0], value[1])
    if f is F.READ_SET and kind is Kind.OK and value is not None:
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise HistoryError(f"read-set value must be a collection, got {value!r}")
        return frozenset(value)
    return value


@dataclass(frozen=True, slots=True)
class Event:
    """One record: an invocation or a completion of a client operation."""

    process: int
    kind: Kind
    f: F
    key: str
    value: Any = None
    time: int = 0
    """Monotonic nanoseconds (:func:`time.monotonic_ns`)."""
    error: str | None = None
    index: int = -1
    """Position in the history; set by :meth:`History.append`."""

    def __post_init__(self) -> None:
        kind, f = self.kind, self.f
        if type(kind) is not Kind:
            kind = Kind(kind)
            object.__setattr__(self, "kind", kind)
        if type(f) is not F:
            f = F(f)
            object.__setattr__(self, "f", f)
        if f is F.CAS or f is F.READ_SET:
            object.__setattr__(self, "value", _normalize_value(f, kind, self.value))

    def to_json(self) -> str:
        """One JSON line (without the newline)."""
        doc: dict[str, Any] = {
            "index": self.index,
            "process": self.process,
            "kind": self.kind.value,
            "f": self.f.value,
            "key": self.key,
            "value": _jsonable(self.value),
            "time": self.time,
        }
        if self.error is not None:
            doc["error"] = self.error
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Event:
        try:
            doc = json.loads(line)
            return cls(
                process=doc["process"],
                kind=Kind(doc["kind"]),
                f=F(doc["f"]),
                key=doc["key"],
                value=doc.get("value"),
                time=doc["time"],
                error=doc.get("error"),
                index=doc.get("index", -1),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise HistoryError(f"bad history line {line!r}: {exc}") from exc


def _jsonable(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value, key=lambda v: (type(v).__name__, v))
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True, slots=True)
class Operation:
    """An invocation paired with its completion (``None``: never completed, i.e. info)."""

    invoke: Event
    completion: Event | None

    @property
    def kind(self) -> Kind:
        """``ok``, ``fail`` or ``info``."""
        return Kind.INFO if self.completion is None else self.completion.kind

    @property
    def process(self) -> int:
        return self.invoke.process

    @property
    def f(self) -> F:
        return self.invoke.f

    @property
    def key(self) -> str:
        return self.invoke.key

    @property
    def index(self) -> int:
        """The invocation's index in the history; identifies the operation."""
        return self.invoke.index

    @property
    def value(self) -> Any:
        """The argument: what was written, ``(expected, new)``, the increment, the element."""
        return self.invoke.value

    @property
    def result(self) -> Any:
        """What an ``ok`` completion returned (the value read, INCR's new value); else ``None``."""
        if self.completion is None or self.completion.kind is not Kind.OK:
            return None
        return self.completion.value

    @property
    def call(self) -> int:
        return self.invoke.time

    @property
    def ret(self) -> int | None:
        """When the outcome became known: the ``ok``/``fail`` time; ``None`` for info."""
        if self.completion is None or self.completion.kind is Kind.INFO:
            return None
        return self.completion.time

    @property
    def end(self) -> int | None:
        """When the completion was recorded, info included; ``None`` if never completed."""
        return None if self.completion is None else self.completion.time

    @property
    def error(self) -> str | None:
        return None if self.completion is None else self.completion.error

    def describe(self, origin: int = 0) -> str:
        """A one-line readable form, times in seconds relative to ``origin``."""
        if self.f is F.CAS and isinstance(self.value, tuple):
            what = f"cas {self.key} {self.value[0]!r}->{self.value[1]!r}"
        elif self.f in (F.READ, F.READ_SET):
            what = f"{self.f.value} {self.key}"
            if self.kind is Kind.OK:
                shown = self.result
                if isinstance(shown, frozenset):
                    shown = sorted(shown, key=repr)
                what += f" -> {shown!r}"
        elif self.f is F.INCR:
            what = f"incr {self.key} by {1 if self.value is None else self.value!r}"
            if self.kind is Kind.OK and self.result is not None:
                what += f" -> {self.result!r}"
        else:
            what = f"{self.f.value} {self.key} {self.value!r}"
        start = (self.call - origin) / 1e9
        end = "..." if self.end is None else f"{(self.end - origin) / 1e9:.6f}"
        outcome = self.kind.value
        if self.completion is None:
            outcome += " (never completed)"
        elif self.error:
            outcome += f" ({self.error})"
        return f"#{self.index} p{self.process} {what}  [{start:.6f}s .. {end}s] {outcome}"


def _restamp(event: Event, index: int, time_ns: int) -> Event:
    """``event`` with another index and time (faster than :func:`dataclasses.replace`)."""
    return Event(
        event.process, event.kind, event.f, event.key, event.value, time_ns, event.error, index
    )


def pair(events: Iterable[Event]) -> list[Operation]:
    """Pair each invocation with the next completion of the same process.

    Events are taken in ``index`` order (append order), or in the order given
    (and numbered so) when some have no index. A process that invokes
    again before completing has its earlier invocation counted as never
    completed; so is any invocation still open at the end. A completion with
    no open invocation, or whose ``f``/``key`` differ from it, is a
    :class:`HistoryError`. Operations come out in invocation order.
    """
    ordered = list(events)
    if any(event.index < 0 for event in ordered):
        ordered = [_restamp(event, i, event.time) for i, event in enumerate(ordered)]
    else:
        ordered.sort(key=lambda event: event.index)
    open_: dict[int, Event] = {}
    done: list[Operation] = []
    for event in ordered:
        if event.kind is Kind.INVOKE:
            previous = open_.pop(event.process, None)
            if previous is not None:
                done.append(Operation(previous, None))
            open_[event.process] = event
            continue
        invocation = open_.pop(event.process, None)
        if invocation is None:
            raise HistoryError(f"completion without invocation: {event}")
        if invocation.f is not event.f or invocation.key != event.key:
            raise HistoryError(f"completion {event} does not match invocation {invocation}")
        if event.time < invocation.time:
            raise HistoryError(f"completion {event} is earlier than its invocation {invocation}")
        done.append(Operation(invocation, event))
    done.extend(Operation(invocation, None) for invocation in open_.values())
    done.sort(key=lambda op: op.index)
    return done


class History:
    """An append-only, thread-safe list of :class:`Event`.

    ``clock`` gives the timestamps (monotonic nanoseconds); tests pass their own.
    """

    def __init__(
        self, events: Iterable[Event] = (), *, clock: Callable[[], int] = time.monotonic_ns
    ) -> None:
        self.clock = clock
        self._events: list[Event] = []
        self._lock = threading.Lock()
        for event in events:
            self.append(event, stamp=False)

    def append(self, event: Event, *, stamp: bool = True) -> Event:
        """Store ``event``; give it the next index and, when ``stamp``, the current time."""
        with self._lock:
            if stamp:
                event = _restamp(event, len(self._events), self.clock())
            elif event.index < 0:
                event = _restamp(event, len(self._events), event.time)
            self._events.append(event)
        return event

    def invoke(self, process: int, f: F, key: str, value: Any = None) -> Event:
        """Record and return an invocation, stamped now."""
        return self.append(Event(process, Kind.INVOKE, f, key, value))

    def complete(
        self, invocation: Event, kind: Kind, value: Any = None, error: str | None = None
    ) -> Event:
        """Record the completion of ``invocation``. For writes ``value`` defaults to its value."""
        if kind not in COMPLETIONS:
            raise HistoryError(f"not a completion kind: {kind}")
        if value is None and invocation.f not in (F.READ, F.READ_SET, F.INCR):
            value = invocation.value
        return self.append(
            Event(invocation.process, kind, invocation.f, invocation.key, value, error=error)
        )

    def ok(self, invocation: Event, value: Any = None) -> Event:
        return self.complete(invocation, Kind.OK, value)

    def fail(self, invocation: Event, error: str | None = None) -> Event:
        return self.complete(invocation, Kind.FAIL, error=error)

    def info(self, invocation: Event, error: str | None = None) -> Event:
        return self.complete(invocation, Kind.INFO, error=error)

    @property
    def events(self) -> list[Event]:
        """A snapshot copy of the events, in index order."""
        with self._lock:
            return list(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def operations(self) -> list[Operation]:
        """Invocations paired with completions; see :func:`pair`."""
        return pair(self.events)

    def write(self, fp: IO[str]) -> None:
        for event in self.events:
            fp.write(event.to_json())
            fp.write("\n")

    def save(self, path: str | Path) -> None:
        """Write the history as JSON lines."""
        with open(path, "w", encoding="utf-8") as fp:
            self.write(fp)

    @classmethod
    def read(cls, fp: IO[str]) -> History:
        return cls(Event.from_json(line) for line in fp if line.strip())

    @classmethod
    def load(cls, path: str | Path) -> History:
        """Read a history saved by :meth:`save`."""
        with open(path, encoding="utf-8") as fp:
            return cls.read(fp)


def operations_of(history: History | Sequence[Event] | Sequence[Operation]) -> list[Operation]:
    """Accept a :class:`History`, a list of events, or already paired operations."""
    if isinstance(history, History):
        return history.operations()
    items = list(history)
    if all(isinstance(item, Operation) for item in items):
        return [item for item in items if isinstance(item, Operation)]
    events = [item for item in items if isinstance(item, Event)]
    if len(events) != len(items):
        raise HistoryError("expected events or operations, not a mix")
    return pair(events)


def origin_of(operations: Iterable[Operation]) -> int:
    """The earliest invocation time (0 for an empty history); reports count from here."""
    return min((op.call for op in operations), default=0)
