"""The incremental AOF file being appended: its descriptor, how much was written and how
much of that is fsynced, and the background thread that fsyncs and closes it.

Followed: Redis 7.0.15 ``aof.c`` (``server.aof_fd``, ``aof_last_incr_size``,
``aof_last_incr_fsync_offset``, ``aofWrite`` and the short-write branch of
``flushAppendOnlyFile``) and ``bio.c`` (the ``BIO_AOF_FSYNC`` and ``BIO_CLOSE_AOF`` jobs,
``aof_bio_fsync_status``). :class:`IncrFile` is the mechanics only: *when* to write and
to fsync (``appendfsync``), and what a failed write means for the server, is the
writer's decision (:class:`.aof.AppendOnlyFile`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final

__all__ = ["WRITE_ERROR_LOG_RATE", "IncrFile"]

log = logging.getLogger("respcache.persistence")

WRITE_ERROR_LOG_RATE: Final = 30
"""``AOF_WRITE_LOG_ERROR_RATE``: at most one write-error line this many seconds."""


class IncrFile:
    """The open incremental file (``fd`` -1: none) and its bio thread.

    ``size``: the bytes written to it (``aof_last_incr_size``); ``fsynced``: up to where
    an fsync covers them (``aof_last_incr_fsync_offset``). ``bio_ok``/``bio_errno``: how
    the last background fsync went (``aof_bio_fsync_status``), set from the bio thread.
    """

    def __init__(self) -> None:
        self.fd = -1
        self.size = 0
        self.fsynced = 0
        self.bio_ok = True
        self.bio_errno = 0
        self._bio = ThreadPoolExecutor(1, thread_name_prefix="aof-fsync")
        self._bio_job: Future[None] | None = None
        self._last_error_log = 0.0

    @property
    def all_fsynced(self) -> bool:
        return self.fsynced == self.size

    # --- opening and closing ----------------------------------------------------------------

    def open_append(self, path: str) -> None:
        """Open ``path`` to append to it (``aofOpenIfNeededOnServerStart``)."""
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.size = self.fsynced = os.fstat(self.fd).st_size

    def switch_to(self, fd: int) -> bool:
        """Append to ``fd`` (a new, empty file) from now on; the previous file is fsynced
        and closed in the background (``openNewIncrAofForAppend``). True when there was one."""
        previous = self.fd
        if previous >= 0:
            self._submit(previous, close=True)
        self.fd = fd
        self.size = self.fsynced = 0
        return previous >= 0

    def close(self) -> None:
        """fsync (errors ignored) and close it (``stopAppendOnly``)."""
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.fsync(self.fd)
            os.close(self.fd)
        self.fd = -1
        self.size = self.fsynced = 0

    def shutdown(self) -> None:
        """Wait for the bio thread's last job."""
        self._bio.shutdown(wait=True)

    # --- writing --------------------------------------------------------------------------------

    def write(self, data: bytes) -> tuple[int, int]:
        """``aofWrite`` and its error branch: ``(written, errno)``, ``written`` as counted
        in :attr:`size` (-1: nothing, a short write was cut off again so the whole buffer
        is retried); ``errno`` 0 unless the write failed or was short."""
        code = 0
        try:
            written = _write_all(self.fd, data)
        except OSError as err:
            written = -1
            code = err.errno or errno.EIO
            if self._can_log_error():
                log.warning("Error writing to the AOF file: %s", os.strerror(err.errno or 0))
        if 0 <= written < len(data):
            if self._can_log_error():
                log.warning(
                    "Short write while writing to the AOF file: (nwritten=%d, expected=%d)",
                    written,
                    len(data),
                )
            try:
                os.ftruncate(self.fd, self.size)
            except OSError as err:
                if self._can_log_error():
                    log.warning(
                        "Could not remove short write from the append-only file.  Redis "
                        "may refuse to load the AOF the next time it starts.  "
                        "ftruncate: %s",
                        os.strerror(err.errno or 0),
                    )
            else:
                written = -1  # the file is as before: the whole buffer is retried
                with contextlib.suppress(OSError):
                    os.lseek(self.fd, self.size, os.SEEK_SET)
            code = errno.ENOSPC
        if written > 0:
            self.size += written
        return written, code

    def _can_log_error(self) -> bool:
        """At most one write-error line every :data:`WRITE_ERROR_LOG_RATE` seconds."""
        now = time.time()
        if now - self._last_error_log > WRITE_ERROR_LOG_RATE:
            self._last_error_log = now
            return True
        return False

    # --- fsync --------------------------------------------------------------------------------

    def fsync(self) -> None:
        """fsync now (``appendfsync always``); raises OSError."""
        os.fsync(self.fd)
        self.fsynced = self.size

    def fsync_in_background(self) -> None:
        """``everysec``: an fsync job for the bio thread, unless one is still running."""
        if not self.fsync_in_progress():
            self._submit(self.fd)
            self.fsynced = self.size

    def fsync_in_progress(self) -> bool:
        job = self._bio_job
        return job is not None and not job.done()

    def _submit(self, fd: int, close: bool = False) -> None:
        def work() -> None:
            try:
                os.fsync(fd)
            except OSError as err:
                if close or err.errno in (errno.EBADF, errno.EINVAL):
                    return  # (bio.c ignores a closed or reused fd)
                self.bio_errno = err.errno or errno.EIO
                if self.bio_ok:
                    log.warning("Fail to fsync the AOF file: %s", os.strerror(err.errno or 0))
                self.bio_ok = False
            else:
                if not close:
                    self.bio_ok = True
            finally:
                if close:
                    with contextlib.suppress(OSError):
                        os.close(fd)

        job = self._bio.submit(work)
        if not close:
            self._bio_job = job


def _write_all(fd: int, data: bytes) -> int:
    """``aofWrite``: retry short writes; the bytes written (raises only with none written)."""
    view = memoryview(data)
    total = 0
    while total < len(data):
        try:
            n = os.write(fd, view[total:])
        except InterruptedError:
            continue
        except OSError:
            if total:
                return total
            raise
        total += n
    return total
