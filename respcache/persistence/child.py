"""A forked child that writes a file, and its end: one helper for BGSAVE and BGREWRITEAOF.

Redis forks with ``redisFork`` and reaps in ``checkChildrenDone``; the child reports on
a pipe (``sendChildInfo``: its copy-on-write size). Here :func:`fork_child` forks, runs
``work`` in the child (which returns the words its report carries after ``done``) and
exits; the parent keeps the status pipe's read end. :func:`reap` (``WNOHANG``) answers
None while it runs, then how it ended; :func:`kill` stops it (SIGUSR1, as Redis's
``killRDBChild``/``killAppendOnlyChild``: not counted as a failure).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ChildEnd", "ForkedChild", "child_setup", "fork_child", "kill", "private_dirty", "reap"]


@dataclass
class ForkedChild:
    pid: int
    started: float
    """``time.monotonic()`` at the fork."""
    status_fd: int


@dataclass(frozen=True)
class ChildEnd:
    """How a child ended: ``ok`` (exit 0 after ``done``) with the ``words`` it reported,
    else ``signal`` (killed by it) or ``error`` (its report)."""

    ok: bool
    words: list[bytes] = field(default_factory=list)
    signal: int | None = None
    error: str = ""


def fork_child(work: Callable[[], list[int]]) -> ForkedChild:
    """Fork; the child runs ``work`` and reports ``done <its numbers>`` or ``error <why>``.
    Raises OSError when the fork fails."""
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_fd)
        code = 1
        try:
            child_setup()
            numbers = work()
            os.write(write_fd, b" ".join([b"done", *(b"%d" % n for n in numbers)]) + b"\n")
            code = 0
        except BaseException as err:
            with contextlib.suppress(BaseException):
                os.write(write_fd, b"error %s\n" % str(err).encode()[:500])
        finally:
            os._exit(code)
    os.close(write_fd)
    os.set_blocking(read_fd, False)
    return ForkedChild(pid, started, read_fd)


def reap(child: ForkedChild) -> ChildEnd | None:
    """None while ``child`` runs; else how it ended (its pipe is closed)."""
    try:
        pid, status = os.waitpid(child.pid, os.WNOHANG)
    except ChildProcessError:
        pid, status = child.pid, 1 << 8
    if not pid:
        return None
    report = b""
    with contextlib.suppress(OSError):
        report = os.read(child.status_fd, 4096)
    os.close(child.status_fd)
    words = report.split()
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and words[:1] == [b"done"]:
        return ChildEnd(True, words[1:])
    if os.WIFSIGNALED(status):
        return ChildEnd(False, signal=os.WTERMSIG(status))
    return ChildEnd(False, error=report.decode(errors="replace").strip())


def kill(child: ForkedChild) -> None:
    """Stop ``child`` now and wait for it (its pipe is closed)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, signal.SIGUSR1)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(child.pid, 0)
    os.close(child.status_fd)


def child_setup() -> None:  # pragma: no cover - runs in the child
    """A forked save child: dies with its parent, no GC, default signal handlers."""
    _die_with_parent()
    gc.disable()  # a collection would touch (and copy) every container's page
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(sig, signal.SIG_DFL)


def private_dirty() -> int:  # pragma: no cover - runs in the child
    """Bytes of this process's memory that are no longer shared with its parent."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if not sys.platform.startswith("linux"):
        return
    libc: Any
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        libc = ctypes.CDLL(name) if name else None
    except (ImportError, OSError):
        return
    if libc is not None:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
