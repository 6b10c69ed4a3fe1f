"""When and how the keyspace goes to disk: SAVE, BGSAVE in a forked child, the ``save``
schedule, the startup load, and the facts INFO persistence reports.

Followed: Redis 7.0.15 ``rdb.c`` (``rdbSave``: write ``temp-<pid>.rdb``, fsync, rename
over ``dbfilename``; ``rdbSaveBackground`` and ``backgroundSaveDoneHandler``; the
``saveCommand``/``bgsaveCommand`` replies) and ``server.c`` (the ``save <seconds>
<changes>`` points checked in ``serverCron``, with a 5 s retry delay after a failed
background save; ``writeCommandsDeniedByDiskError`` for MISCONF).

No asyncio here: :class:`RdbSaver` forks and reaps with ``os.waitpid(pid, WNOHANG)``
from :meth:`RdbSaver.cron`, which the server calls on each tick. The child writes the
file from its copy-on-write image of the keyspace (as the full-sync snapshot does, see
``replication/leader.py``), reports its keys and its private dirty memory (the
copy-on-write cost, ``rdb_last_cow_size``) on a pipe, and exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO, Final

from respcache.config import Config
from respcache.persistence.child import (
    ForkedChild,
    child_setup,
    fork_child,
    kill,
    private_dirty,
    reap,
)
from respcache.persistence.loading import LoadProgress, Steps, drain
from respcache.persistence.rdb import LoadResult, RdbError, load_rdb_steps, write_keyspace
from respcache.store.keyspace import Keyspace

__all__ = ["MISCONF", "RdbSaver", "SaveError", "child_setup", "private_dirty"]

log = logging.getLogger("respcache.persistence")

MISCONF: Final = (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
    "persist to disk. Commands that may modify the data set are disabled, because this "
    "instance is configured to report errors during writes if RDB snapshotting fails "
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about "
    "the RDB error."
)
BGSAVE_RETRY_DELAY: Final = 5
"""Seconds before the schedule retries after a failed background save (Redis's value)."""
INCREMENTAL_FSYNC_BYTES: Final = 4 * 1024 * 1024


class SaveError(Exception):
    """A save that did not happen; the text is what the log (or the client) gets."""


@dataclass
class ChildInfo(ForkedChild):
    dirty_before: int
    path: str


class FsyncingFile:
    """A file that fsyncs every 4 MB written (``rioSetAutoSync``: the RDB's
    ``rdb-save-incremental-fsync`` and the AOF rewrite's ``aof-rewrite-incremental-fsync``)."""

    def __init__(self, f: BinaryIO, incremental: bool) -> None:
        self.f = f
        self.incremental = incremental
        self.pending = 0

    def write(self, data: bytes) -> int:
        n = self.f.write(data)
        if self.incremental:
            self.pending += len(data)
            if self.pending >= INCREMENTAL_FSYNC_BYTES:
                self.f.flush()
                os.fsync(self.f.fileno())
                self.pending = 0
        return n


class RdbSaver:
    """The RDB side of a node: its saves, its schedule and its INFO figures.

    ``dirty`` returns the engine's change counter (Redis's ``server.dirty``);
    ``repl_info`` the replication id and offset to record in the file (or None).
    """

    def __init__(
        self,
        config: Config,
        keyspace: Keyspace,
        dirty: Callable[[], int],
        repl_info: Callable[[], tuple[str, int] | None] | None = None,
        started: float | None = None,
    ) -> None:
        self.config = config
        self.keyspace = keyspace
        self.dirty = dirty
        self.repl_info = repl_info
        self.extra_aux: Callable[[], Mapping[str, str | int]] | None = None
        """More aux fields for the file (the cluster's ``respcache-epoch``)."""
        self.lastsave = int(time.time() if started is None else started)
        self.dirty_at_save = 0
        self.saves = 0
        self.last_bgsave_ok = True
        self.last_bgsave_try = 0.0
        self.last_bgsave_seconds = -1
        self.last_cow_size = 0
        self.bgsave_scheduled = False
        self.child: ChildInfo | None = None
        self.last_load: LoadResult | None = None
        self.progress = LoadProgress()
        """``server.loading`` and its INFO counters (RDB and AOF loads share it)."""
        self.shutdown_saved = False
        self.on_saved: list[Callable[[], None]] = []
        self.forks = 0
        """Background saves forked (INFO stats ``total_forks``, with the AOF's)."""
        self.other_child: Callable[[], bool] = lambda: False
        """True while another forked child (an AOF rewrite) runs: one child at a time."""

    # --- paths -------------------------------------------------------------------------

    @property
    def path(self) -> str:
        return os.path.join(self.config.dir, self.config.dbfilename)

    # --- writing ---------------------------------------------------------------------------

    def _write_file(self, path: str) -> int:
        """``rdbSave``: write ``temp-<pid>.rdb`` beside ``path``, fsync, rename. Returns keys."""
        directory = os.path.dirname(path) or "."
        tmp = os.path.join(directory, f"temp-{os.getpid()}.rdb")
        cfg = self.config
        repl = self.repl_info() if self.repl_info is not None else None
        try:
            with open(tmp, "wb") as f:
                writer = write_keyspace(
                    FsyncingFile(f, cfg.rdb_save_incremental_fsync),  # type: ignore[arg-type]
                    self.keyspace,
                    compress=cfg.rdbcompression,
                    checksum=cfg.rdbchecksum,
                    repl_id=repl[0] if repl else None,
                    repl_offset=repl[1] if repl else None,
                    key_delay_us=cfg.rdb_key_save_delay,
                    extra_aux=self.extra_aux() if self.extra_aux is not None else None,
                )
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            with contextlib.suppress(OSError):
                dir_fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        except (OSError, RdbError) as err:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise SaveError(
                f"Failed opening the temp RDB file {tmp} (in server root dir {directory}) for saving: {err}"
            ) from err
        return writer.keys

    def save(self) -> None:
        """SAVE (also SHUTDOWN and DEBUG RELOAD): in the foreground; raises SaveError."""
        if self.child is not None:
            raise SaveError("ERR Background save already in progress")
        started = time.monotonic()
        dirty = self.dirty()
        try:
            keys = self._write_file(self.path)
        except SaveError as err:
            log.warning("%s", err)
            raise
        self._saved(dirty)
        log.info("DB saved on disk (%d keys, %.3f s)", keys, time.monotonic() - started)

    def _saved(self, dirty_before: int) -> None:
        self.lastsave = int(time.time())
        self.dirty_at_save = dirty_before
        self.saves += 1
        self.last_bgsave_ok = True
        for hook in self.on_saved:
            hook()

    def bgsave(self) -> None:
        """Fork a child that writes the file; raises SaveError if one is running or fork fails."""
        if self.child is not None:
            raise SaveError("ERR Background save already in progress")
        self.last_bgsave_try = time.time()
        dirty = self.dirty()
        try:
            proc = fork_child(self._child_work)
        except OSError as err:
            self.last_bgsave_ok = False
            raise SaveError(f"ERR Can't BGSAVE: fork: {err.strerror}") from err
        self.forks += 1
        self.child = ChildInfo(proc.pid, proc.started, proc.status_fd, dirty, self.path)
        self.bgsave_scheduled = False
        log.info("Background saving started by pid %d", proc.pid)

    def _child_work(self) -> list[int]:  # pragma: no cover - runs in the child
        keys = self._write_file(self.path)
        return [keys, private_dirty()]

    def poll(self) -> bool:
        """Reap a finished child; True when one finished (successfully or not)."""
        child = self.child
        if child is None:
            return False
        end = reap(child)
        if end is None:
            return False
        self.child = None
        self.last_bgsave_seconds = int(time.monotonic() - child.started + 0.5)
        if end.ok:
            self.last_cow_size = int(end.words[1]) if len(end.words) > 1 else 0
            log.info("Background saving terminated with success")
            self._saved(child.dirty_before)
        else:
            self.last_bgsave_ok = False
            if end.signal is not None:
                log.warning("Background saving terminated by signal %d", end.signal)
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(os.path.dirname(child.path), f"temp-{child.pid}.rdb"))
            else:
                log.warning("Background saving error: %s", end.error)
        return True

    def kill_child(self) -> None:
        """Stop a running background save (SHUTDOWN, FLUSHALL) and remove its temp file."""
        child = self.child
        if child is None:
            return
        kill(child)
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(os.path.dirname(child.path), f"temp-{child.pid}.rdb"))
        self.child = None
        log.warning("Background saving child %d killed", child.pid)

    # --- the schedule ------------------------------------------------------------------------

    def cron(self) -> None:
        """Reap a finished child; start a scheduled BGSAVE or one a save point asks for."""
        self.poll()
        if self.child is not None or self.other_child():
            return
        if self.bgsave_scheduled:
            self._try_bgsave("scheduled")
            return
        now = time.time()
        changes = self.dirty() - self.dirty_at_save
        for seconds, wanted in self.config.save:
            if (
                changes >= wanted
                and now - self.lastsave > seconds
                and (self.last_bgsave_ok or now - self.last_bgsave_try > BGSAVE_RETRY_DELAY)
            ):
                log.info("%d changes in %d seconds. Saving...", wanted, seconds)
                self._try_bgsave("save point")
                break

    def _try_bgsave(self, why: str) -> None:
        try:
            self.bgsave()
        except SaveError as err:
            log.warning("BGSAVE (%s) failed: %s", why, err)

    # --- refusals ---------------------------------------------------------------------------------

    def write_refusal(self) -> str | None:
        """MISCONF while the last background save failed (``stop-writes-on-bgsave-error``)."""
        if self.last_bgsave_ok:  # first: a plain attribute, the common case (every write)
            return None
        cfg = self.config
        if cfg.stop_writes_on_bgsave_error and cfg.save:
            return MISCONF
        return None

    # --- loading --------------------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        """``server.loading``: the node is loading its data (INFO ``loading:1``)."""
        return self.progress.active

    def load(self, *, expire_on_load: bool = True) -> LoadResult | None:
        """Load ``dir/dbfilename`` into the (empty) keyspace; None when there is no file."""
        return drain(self.load_steps(expire_on_load=expire_on_load))

    def load_steps(self, *, expire_on_load: bool = True) -> Steps[LoadResult | None]:
        """:meth:`load`, yielding every ``loading-process-events-interval-bytes``."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        progress = self.progress
        progress.begin(len(data))
        started = time.monotonic()
        try:
            result = yield from load_rdb_steps(
                data,
                self.keyspace,
                expire_on_load=expire_on_load,
                verify_checksum=self.config.rdbchecksum,
                progress=progress,
                interval=self.config.loading_process_events_interval_bytes,
                key_delay=lambda: self.config.key_load_delay,
            )
        finally:
            progress.end()
        self.last_load = result
        log.info(
            "Done loading RDB, keys loaded: %d, keys expired: %d (%.3f s)",
            result.keys_loaded,
            result.keys_expired,
            time.monotonic() - started,
        )
        return result

    # --- INFO -----------------------------------------------------------------------------------------

    def info_lines(self) -> list[str]:
        """The RDB part of INFO persistence, as Redis 7.0 prints it."""
        child = self.child
        load = self.last_load
        now_m = time.monotonic()
        return [
            f"loading:{int(self.loading)}",
            "async_loading:0",
            "current_cow_peak:0",
            "current_cow_size:0",
            "current_cow_size_age:0",
            "current_fork_perc:0.00",
            "current_save_keys_processed:0",
            f"current_save_keys_total:{self.keyspace.total_keys() if child else 0}",
            f"rdb_changes_since_last_save:{self.dirty() - self.dirty_at_save}",
            f"rdb_bgsave_in_progress:{int(child is not None)}",
            f"rdb_last_save_time:{self.lastsave}",
            f"rdb_last_bgsave_status:{'ok' if self.last_bgsave_ok else 'err'}",
            f"rdb_last_bgsave_time_sec:{self.last_bgsave_seconds}",
            f"rdb_current_bgsave_time_sec:{int(now_m - child.started) if child else -1}",
            f"rdb_saves:{self.saves}",
            f"rdb_last_cow_size:{self.last_cow_size}",
            f"rdb_last_load_keys_expired:{load.keys_expired if load else 0}",
            f"rdb_last_load_keys_loaded:{load.keys_loaded if load else 0}",
        ]
