"""The full sync's forked child: it writes the snapshot straight into the follower's socket.

The child's memory is the keyspace exactly as it was at the fork, which is the
stream offset the follower is told in ``+FULLRESYNC``, so the snapshot is
consistent at that one offset whatever clients do meanwhile, and the leader
keeps serving them (Redis's diskless ``rdbSaveToSlavesSockets``). The parent
only watches a status pipe, and on TLS links forwards a data pipe through the
transport (the child cannot write into a TLS session: Redis's rdbPipe). See
docs/replication.md for why this technique.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import select
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, Protocol

from respcache.replication.snapshot import SnapshotWriter

if TYPE_CHECKING:
    from respcache.replication.leader import ReplicaLink
    from respcache.store.keyspace import Keyspace

log = logging.getLogger("respcache.replication")

__all__ = ["SnapshotJob", "SnapshotOwner"]


class SnapshotOwner(Protocol):
    """What a snapshot job reports to (the :class:`~.leader.LeaderSide`)."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    def snapshot_done(self, link: ReplicaLink, job: SnapshotJob) -> None: ...

    def drop(self, link: ReplicaLink, reason: str) -> None: ...


class SnapshotJob:
    """A forked child writing the snapshot into a follower's socket; progress comes on a pipe.

    The child writes ``+FULLRESYNC <replid> <offset>`` and the records, reports
    ``progress <keys> <bytes> <total>`` lines and finally ``done <keys> <bytes>``
    (or ``error <text>``) on the pipe, and exits. The parent logs progress and,
    when the pipe closes, reaps the child and tells the leader side.
    """

    PROGRESS_EVERY = 100_000

    def __init__(
        self, leader: SnapshotOwner, link: ReplicaLink, header: bytes, offset: int
    ) -> None:
        self.leader = leader
        self.link = link
        self.header = header
        self.offset = offset
        self.pid = 0
        self.keys = 0
        self.bytes = 0
        self.result = ""
        self.started = time.monotonic()
        self._status_fd = -1
        self._buf = b""
        self._cancelled = False
        self._data_fd = -1
        """TLS links: the pipe the child writes the snapshot into (see :meth:`start`)."""
        self._status_closed = False

    PIPE_HIGH_WATER = 4 * 1024 * 1024
    """TLS links: stop reading the child's pipe while this much waits in the transport."""

    def start(self, keyspace: Keyspace, timeout: float) -> None:
        transport = self.link.transport
        sock = transport.get_extra_info("socket")
        if sock is None:
            raise OSError("the follower's connection has no socket")
        fd = sock.fileno()
        data_fd = -1
        if transport.get_extra_info("ssl_object") is not None:
            # The child cannot write into a TLS session: it writes into a pipe and the
            # parent forwards it through the transport (Redis's rdbPipe, for TLS links).
            data_fd, fd = os.pipe()
        read_fd, write_fd = os.pipe()
        total = keyspace.total_keys()
        log.info(
            "Starting full sync of %d keys to replica %s at offset %d (forked child)",
            total,
            self.link.fid,
            self.offset,
        )
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            _child_main(
                fd, write_fd, self.header, keyspace, timeout, self.PROGRESS_EVERY, self.link.rdb
            )
        os.close(write_fd)
        self.pid = pid
        self._status_fd = read_fd
        os.set_blocking(read_fd, False)
        self.leader.loop.add_reader(read_fd, self._on_status)
        if data_fd >= 0:
            os.close(fd)
            self._data_fd = data_fd
            os.set_blocking(data_fd, False)
            self.leader.loop.add_reader(data_fd, self._on_data)

    def _on_data(self) -> None:
        """TLS links: forward what the child wrote; pause while the transport is full."""
        loop = self.leader.loop
        transport = self.link.transport
        try:
            data = os.read(self._data_fd, 256 * 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_data()
            if self._status_closed:
                self._finished()
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self.PIPE_HIGH_WATER:
            loop.remove_reader(self._data_fd)
            loop.call_later(0.005, self._resume_data)

    def _resume_data(self) -> None:
        if self._data_fd < 0 or self._cancelled:
            return
        if self.link.transport.get_write_buffer_size() > self.PIPE_HIGH_WATER:
            self.leader.loop.call_later(0.005, self._resume_data)
        else:
            self.leader.loop.add_reader(self._data_fd, self._on_data)

    def _close_data(self) -> None:
        if self._data_fd >= 0:
            self.leader.loop.remove_reader(self._data_fd)
            os.close(self._data_fd)
            self._data_fd = -1

    def _on_status(self) -> None:
        try:
            data = os.read(self._status_fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._buf += data
            *lines, self._buf = self._buf.split(b"\n")
            for line in lines:
                self._line(line.decode("utf-8", "replace"))
            return
        self._finished()

    def _line(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        if word == "progress":
            keys, size, total = (int(x) for x in rest.split())
            self.keys, self.bytes = keys, size
            log.info(
                "Full sync to %s: %d/%d keys, %.1f MB sent",
                self.link.fid,
                keys,
                total,
                size / 1e6,
            )
        elif word == "done":
            keys, size = (int(x) for x in rest.split())
            self.keys, self.bytes = keys, size
            self.result = "done"
        elif word == "error":
            self.result = "error: " + rest

    def _finished(self) -> None:
        loop = self.leader.loop
        if self._status_fd >= 0:
            loop.remove_reader(self._status_fd)
            os.close(self._status_fd)
            self._status_fd = -1
            self._reap()
        self._status_closed = True
        if self._data_fd >= 0 and self.result == "done" and not self._cancelled:
            return  # the last snapshot bytes are still in the pipe: finish at its end
        self._close_data()
        if self._cancelled:
            return
        if self.result == "done":
            self.leader.snapshot_done(self.link, self)
        else:
            self.link.job = None
            self.leader.drop(self.link, f"full sync failed ({self.result or 'child died'})")

    def _reap(self, attempt: int = 0) -> None:
        if not self.pid:
            return
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid = self.pid
        if pid:
            self.pid = 0
        elif attempt < 500:
            self.leader.loop.call_later(0.01, self._reap, attempt + 1)

    def cancel(self) -> None:
        """The follower went away: kill the child (it is reaped when its pipe closes)."""
        if self._cancelled:
            return
        self._cancelled = True
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self._status_fd >= 0:
            self.leader.loop.remove_reader(self._status_fd)
            os.close(self._status_fd)
            self._status_fd = -1
            self._reap()
        self._close_data()


def _load_libc() -> Any:
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        return ctypes.CDLL(name) if name else None
    except (ImportError, OSError):  # pragma: no cover
        return None


_LIBC = _load_libc() if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def _child_main(
    fd: int,
    status_fd: int,
    header: bytes,
    keyspace: Keyspace,
    timeout: float,
    every: int,
    rdb: bool = False,
) -> None:  # pragma: no cover - runs in the forked child
    """The snapshot child: write the snapshot into ``fd``, report on ``status_fd``, exit."""
    code = 1
    try:
        if _LIBC is not None:  # die with the leader
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        gc.disable()  # a collection would touch (and copy) every container's page
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        keep = sorted((fd, status_fd))
        os.closerange(3, keep[0])
        os.closerange(keep[0] + 1, keep[1])
        os.closerange(keep[1] + 1, 1 << 16)
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if rdb:  # a Redis replica: an RDB in Redis's disk-based framing ($<length>)
            from respcache.persistence.rdb import save_keyspace_bytes
            from respcache.replication.rdbsync import rdb_bulk_header

            data = save_keyspace_bytes(keyspace)
            _write_all(fd, header + rdb_bulk_header(len(data)), poller, timeout)
            _write_all(fd, data, poller, timeout)
            os.write(status_fd, b"done %d %d\n" % (keyspace.total_keys(), len(data)))
            code = 0
            return
        writer = SnapshotWriter(keyspace)
        total = writer.total_keys
        _write_all(fd, header, poller, timeout)
        next_report = every
        for chunk in writer.chunks():
            _write_all(fd, chunk, poller, timeout)
            if writer.keys >= next_report:
                next_report = writer.keys + every
                os.write(status_fd, b"progress %d %d %d\n" % (writer.keys, writer.bytes, total))
        os.write(status_fd, b"done %d %d\n" % (writer.keys, writer.bytes))
        code = 0
    except BaseException as err:
        with contextlib.suppress(BaseException):
            os.write(status_fd, b"error %s\n" % repr(err).encode()[:500])
    finally:
        os._exit(code)


def _write_all(fd: int, data: bytes, poller: select.poll, timeout: float) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            if not poller.poll(timeout * 1000):
                raise TimeoutError("the follower did not read the snapshot") from None
            continue
        view = view[n:]
