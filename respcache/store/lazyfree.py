"""Lazy freeing: big values and flushed databases are released on a worker thread.

Redis's ``lazyfree.c``: UNLINK (and DEL under ``lazyfree-lazy-user-del``) hands a
value whose *free effort* is above :data:`LAZYFREE_THRESHOLD` allocations to a
background thread, and FLUSHDB/FLUSHALL ``ASYNC`` (or ``lazyfree-lazy-user-flush``)
hand it the whole old hash table; ``INFO memory`` counts them in
``lazyfree_pending_objects`` until the thread has freed them, then in
``lazyfreed_objects`` (INFO stats).

In CPython deallocating a container holds the GIL for the whole deallocation, so
dropping the last reference on a thread alone would only move the pause. The
worker therefore *drains* what it owns one element at a time (``popitem``/``pop``
are single bytecode-level operations, between which the interpreter may switch
threads), so the event loop keeps running while a million-element set goes away.
It only drains an object nobody else refers to (Redis frees a value asynchronously
only when its refcount is 1, for the same reason): an iterator of the main thread
over it (an active-expiry cursor, say) never sees it change.

The store and command layers only call :meth:`LazyFree.free`; the thread starts
on first use and is a daemon (a process exiting does not wait for it).
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import deque
from typing import Final

LAZYFREE_THRESHOLD: Final = 64
"""Redis's threshold: values of more allocations than this are freed in background."""
_QUICKLIST_NODE_BYTES: Final = 8192
"""A quicklist node's listpack size limit under the default ``list-max-listpack-size -2``."""


def free_effort(value: object, encoding: str) -> int:
    """Redis's ``lazyfreeGetFreeEffort``: about how many allocations freeing takes.

    Lists count quicklist nodes, hashtable-encoded sets, hashes and sorted sets
    their elements, streams their nodes plus the groups and their PELs (the first
    group's PEL size standing for all, as Redis estimates); compact encodings
    (listpack, intset) and strings are one allocation. ``encoding`` is what OBJECT
    ENCODING says of the value (the command layer knows the conversion rules).
    """
    from respcache.store.stream import StreamValue
    from respcache.store.values import ListValue

    if type(value) is bytes:
        return 1
    if isinstance(value, ListValue):
        return max(1, -(-value.nbytes // _QUICKLIST_NODE_BYTES))
    if encoding in ("hashtable", "skiplist"):
        return len(value)  # type: ignore[arg-type]
    if isinstance(value, StreamValue):
        effort = len(value.nodes)
        if value.groups:
            first = next(iter(value.groups.values()))
            effort += len(value.groups) * (1 + len(first.pel))
        return effort
    return 1


def _refcount_of_a_sole_owner() -> int:
    """What ``sys.getrefcount`` says in :func:`_drain` of an object only it holds."""
    stack: list[object] = [object()]
    item = stack.pop()
    return sys.getrefcount(item)


def _drain(stack: list[object]) -> None:
    """Empty the objects on ``stack`` one element at a time, then what they held.

    Only the containers this worker holds the only reference to are drained; an
    object someone else still sees is just dropped.
    """
    while stack:
        item = stack.pop()
        if sys.getrefcount(item) > _SOLE:
            del item
            continue
        if isinstance(item, dict):
            while item:
                _key, inner = item.popitem()
                if not isinstance(inner, bytes | int | float):
                    stack.append(inner)
                del inner
        elif isinstance(item, set):
            while item:
                item.pop()
        elif isinstance(item, deque | list):
            while item:
                inner = item.pop()
                if not isinstance(inner, bytes | int | float):
                    stack.append(inner)
                del inner
        for name in _slot_names(type(item)):
            inner = getattr(item, name, None)
            if isinstance(inner, dict | set | list | deque) and inner:
                stack.append(inner)
            del inner
        del item  # freeing it releases its slots: the stack holds them alone


def _slot_names(cls: type) -> list[str]:
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    return names


_SOLE: Final = _refcount_of_a_sole_owner()


class LazyFree:
    """The background freeing thread and its two counters (``lazyfree.c``)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[object, int]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.submitted = 0
        """Objects handed over (written by the event loop only)."""
        self.freed = 0
        """Objects freed (written by the worker only): INFO's ``lazyfreed_objects``."""
        self.freed_base = 0
        """``freed`` at the last CONFIG RESETSTAT."""

    @property
    def pending(self) -> int:
        """``lazyfree_pending_objects``: handed over, not freed yet."""
        return self.submitted - self.freed

    @property
    def lazyfreed_objects(self) -> int:
        return self.freed - self.freed_base

    def reset_stats(self) -> None:
        self.freed_base = self.freed

    def free_value(self, value: object, encoding: str) -> bool:
        """UNLINK's ``freeObjAsync``: in background when worth it; True if handed over."""
        if free_effort(value, encoding) <= LAZYFREE_THRESHOLD:
            return False
        self.free(value, 1)
        return True

    def free(self, obj: object, count: int) -> None:
        """Hand ``obj`` (``count`` objects for the counters) to the worker thread."""
        self.submitted += count
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="respcache-lazyfree", daemon=True
                )
                self._thread.start()
        self._queue.put((obj, count))

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until everything handed over is freed (for tests); True when it is."""
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.001)
        return not self.pending

    def _run(self) -> None:
        get = self._queue.get
        while True:
            stack: list[object] = []
            job = get()
            stack.append(job[0])
            count = job[1]
            del job
            _drain(stack)
            self.freed += count
