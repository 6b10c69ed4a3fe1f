"""The append-only file, in Redis 7.0's multi-part layout.

Followed: Redis 7.0.15 ``src/aof.c``. The files live in ``dir/appenddirname``: a *base*
(``appendonly.aof.<seq>.base.rdb``, an RDB file, or ``.base.aof``, commands, when
``aof-use-rdb-preamble no``), *incremental* files (``appendonly.aof.<seq>.incr.aof``,
the commands written since the base) and the *manifest* ``appendonly.aof.manifest``
that names them, one line each (``file <name> seq <n> type b|h|i``; ``h`` for history
files, deleted once a rewrite replaced them). The manifest is only ever replaced whole
(written to ``temp-<name>.manifest``, fsynced, renamed, the directory fsynced), so at
every moment the files it names hold the whole dataset.

What goes into the incremental file is what replication propagates
(``feedAppendOnlyFile`` takes exactly the commands ``propagate`` sends to replicas:
relative expiries already made absolute, scripts as their effects, transactions wrapped
in ``MULTI``/``EXEC``), with a ``SELECT`` whenever the database changes. Writes are
buffered and written once per event-loop iteration (:meth:`AppendOnlyFile.flush`, Redis's
``beforeSleep`` call of ``flushAppendOnlyFile``), and the server holds every reply until
that write is done (``server/gate.py``'s disk barrier), as Redis writes the AOF before
it writes any reply. With ``appendfsync always`` that same call fsyncs before the
replies are released, so one ``fsync`` covers the writes of all clients served in that
iteration. ``everysec`` fsyncs from a background thread about once a second (Redis's
bio job); ``no`` leaves it to the kernel.

``BGREWRITEAOF`` (and ``auto-aof-rewrite-percentage``) first opens a new incremental
file (persisting the manifest that names it), then forks: the child writes the new base
from its copy-on-write image of the keyspace; when it succeeds the parent renames it
into place, turns the old base and incremental files into history, persists the new
manifest and deletes the history files. ``CONFIG SET appendonly yes`` starts in the
``wait-rewrite`` state: writes accumulate in ``temp-appendonly.aof.incr`` until the
first rewrite's base exists, as Redis does.

Where each part lives: :class:`AppendOnlyFile` here is the state (off, on,
wait-rewrite), the write path (buffer, ``appendfsync``, the commit gate's disk barrier)
and the files' life (start, stop, the switch to a new incremental file before a
rewrite); ``aof_manifest.py`` the directory and its manifest; ``aof_incr.py`` the open
incremental file and its background fsync; ``aof_loader.py`` the replay at start-up;
``aof_rewrite.py`` the rewrite's child and the base it writes. This module re-exports
their names other modules import from it.

No asyncio here (STYLE.md): the server passes ``schedule_flush`` (``loop.call_soon``) and
calls :meth:`AppendOnlyFile.cron` on each tick.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import time
from collections.abc import Callable
from typing import Final, Generic, TypeVar, overload

from respcache.config import Config
from respcache.persistence.aof_incr import IncrFile
from respcache.persistence.aof_loader import (
    MARK_EPOCH_AUX,
    MARK_PREFIX,
    AofLoader,
    AofStatus,
    format_mark,
    load_commands,
    load_commands_steps,
    parse_mark,
)
from respcache.persistence.aof_manifest import (
    AofError,
    AofFiles,
    AofInfo,
    Manifest,
    fsync_dir,
)
from respcache.persistence.aof_rewrite import (
    AofRewrite,
    encode_command,
    rewrite_commands,
)
from respcache.persistence.child import ForkedChild
from respcache.persistence.loading import LoadProgress, Steps
from respcache.store.keyspace import Keyspace

__all__ = [
    "MARK_EPOCH_AUX",
    "MARK_PREFIX",
    "AofError",
    "AofFiles",
    "AofInfo",
    "AofLoader",
    "AofStatus",
    "AppendOnlyFile",
    "Manifest",
    "encode_command",
    "format_mark",
    "fsync_dir",
    "load_commands",
    "load_commands_steps",
    "parse_mark",
    "rewrite_commands",
]

log = logging.getLogger("respcache.persistence")

_REPL_ONLY: Final = frozenset({b"PUBLISH", b"SPUBLISH"})
"""Propagated to replicas only (``forceCommandPropagation(c, PROPAGATE_REPL)``)."""


class State(enum.Enum):
    OFF = "off"
    ON = "on"
    WAIT_REWRITE = "wait-rewrite"


T = TypeVar("T")


class _Forward(Generic[T]):
    """An attribute of one of the AOF's collaborators, read and set through the AOF."""

    def __init__(self, part: str, name: str) -> None:
        self.part = part
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> _Forward[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object, owner: type | None = None) -> T | _Forward[T]:
        if obj is None:
            return self
        return getattr(getattr(obj, self.part), self.name)  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: T) -> None:
        setattr(getattr(obj, self.part), self.name, value)


# --- the file and its life -----------------------------------------------------------------------


class AppendOnlyFile:
    """A node's AOF: the state (off, on, wait-rewrite), the write path, the life of the
    files, INFO; the rest is its collaborators': the directory and its manifest
    (:class:`AofFiles`), the file being appended and its background fsync
    (:class:`IncrFile`), the loader (:class:`AofLoader`) and the rewrite
    (:class:`AofRewrite`).

    ``other_child``: True while another forked child (BGSAVE) runs (one child at a time,
    as Redis). ``on_synced(n)``: called with the count of bytes fed so far once they are
    on disk as the policy promises (fsynced with ``always``; written otherwise) — the
    server's commit gate.
    """

    def __init__(
        self,
        config: Config,
        keyspace: Keyspace,
        other_child: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.keyspace = keyspace
        self.on_state: Callable[[bool], None] | None = None
        """Told whether the AOF takes writes (not OFF) whenever its state changes: the
        server hands the engine its feed only then, so a write with no AOF and no
        follower propagates nothing."""
        self._state = State.ON if config.appendonly else State.OFF
        self.files = AofFiles(config)
        """The directory and its manifest (shared with the loader and the rewrite)."""
        self.loader = AofLoader(config, keyspace, self.files)
        """Replays the files at start-up and on DEBUG LOADAOF."""
        self.rewriter = AofRewrite(config, keyspace, self.files, other_child, self._repl_mark)
        """BGREWRITEAOF's child, the base it writes, and its record."""
        self.incr = IncrFile()
        """The incremental file being appended, and its background fsync thread."""
        self.buf = bytearray()
        self.selected_db = -1
        self.current_size = 0
        self.rewrite_base_size = 0
        self.last_fsync = 0.0
        self.last_write_ok = True
        """``aof_last_write_status``: False after a failed write, until one succeeds."""
        self.last_write_errno = 0
        self.delayed_fsync = 0
        self.fed = 0
        """Bytes handed to the AOF since start (the disk barrier's unit)."""
        self.synced = 0
        self.on_synced: Callable[[int], None] | None = None
        self.repl_mark: Callable[[], tuple[str, int, int] | None] | None = None
        """``(replid, offset, epoch)`` of the data written so far (None: no history yet).
        Each flush ends with it as a ``#RC:`` annotation (and a rewrite's base records it),
        so a node restarted from its AOF knows which replication history, up to which
        offset, its data holds: a recovery after every node died compares exactly that.
        Redis skips annotations when it loads the files."""
        self.schedule_flush: Callable[[Callable[[], None]], object] | None = None
        self._flush_scheduled = False
        self._cur_ts = 0
        self.flush_sleep_us = 0
        """DEBUG AOF-FLUSH-SLEEP: microseconds to sleep before each write (tests)."""

    # (Attributes of the collaborators, as callers and tests knew them before the split.)
    child = _Forward[ForkedChild | None]("rewriter", "child")
    rewrite_scheduled = _Forward[bool]("rewriter", "scheduled")
    consecutive_failures = _Forward[int]("rewriter", "consecutive_failures")
    forks = _Forward[int]("rewriter", "forks")
    loaded_mark = _Forward[tuple[str, int, int] | None]("loader", "loaded_mark")
    last_incr_size = _Forward[int]("incr", "size")
    last_incr_fsync_offset = _Forward[int]("incr", "fsynced")
    bio_fsync_ok = _Forward[bool]("incr", "bio_ok")
    bio_fsync_errno = _Forward[int]("incr", "bio_errno")

    # --- the directory (persistence/aof_manifest.py) ---------------------------------------

    def load_manifest(self) -> None:
        """``aofLoadManifestFromDisk`` (AofError on a bad manifest)."""
        self.files.load_manifest()

    def del_history(self) -> None:
        """``aofDelHistoryFiles``."""
        self.files.del_history()

    @property
    def enabled(self) -> bool:
        return self.state is not State.OFF

    @property
    def gating(self) -> bool:
        """True when replies must wait for the AOF: for the write (as Redis writes the AOF
        in ``beforeSleep``, before any reply), and with ``always`` for the fsync too."""
        return self.state is not State.OFF

    # --- feeding ------------------------------------------------------------------------------------

    def feed(self, db: int, commands: list[list[bytes]]) -> None:
        """``feedAppendOnlyFile``: the propagated commands, buffered until :meth:`flush`."""
        state = self.state
        if state is State.OFF or (state is State.WAIT_REWRITE and self.child is None):
            return
        if any(len(argv) == 3 and argv[0].upper() in _REPL_ONLY for argv in commands):
            commands = [a for a in commands if not (len(a) == 3 and a[0].upper() in _REPL_ONLY)]
            if len(commands) == 2 and commands[0][0] == b"MULTI":
                return  # a transaction of PUBLISHes only
            if not commands:
                return
        buf = self.buf
        before = len(buf)
        if self.config.aof_timestamp_enabled:
            now = int(time.time())
            if now > self._cur_ts:
                self._cur_ts = now
                buf += b"#TS:%d\r\n" % now
        if db != self.selected_db:
            sel = b"%d" % db
            buf += b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%b\r\n" % (len(sel), sel)
            self.selected_db = db
        for argv in commands:
            buf += b"*%d\r\n" % len(argv)
            for arg in argv:
                buf += b"$%d\r\n%b\r\n" % (len(arg), arg)
        self.fed += len(buf) - before
        if not self._flush_scheduled and self.schedule_flush is not None:
            self._flush_scheduled = True
            self.schedule_flush(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def flush(self, force: bool = False) -> None:
        """``flushAppendOnlyFile``: write the buffer; fsync as ``appendfsync`` says."""
        incr = self.incr
        if incr.fd < 0:
            self._synced_up_to(self.fed)
            return
        policy = self.config.appendfsync
        buf = self.buf
        if buf:
            mark = self._repl_mark()
            if mark is not None:
                buf += format_mark(mark)
            if self.flush_sleep_us:
                time.sleep(self.flush_sleep_us / 1e6)
            data = bytes(buf)
            written, code = incr.write(data)
            if code:
                self.last_write_errno = code
            if written != len(data):
                if policy == "always":
                    log.warning(
                        "Can't recover from AOF write error when the AOF fsync policy is "
                        "'always'. Exiting..."
                    )
                    _exit_now()
                self.last_write_ok = False
                if written > 0:
                    self.current_size += written
                    del buf[:written]
                self._synced_up_to(self.fed)  # retried next time; replies are not held
                return
            if not self.last_write_ok:
                log.warning("AOF write error looks solved, Redis can write again.")
                self.last_write_ok = True
            self.current_size += written
            buf.clear()
        elif incr.all_fsynced:
            self._synced_up_to(self.fed)
            return
        if self.config.no_appendfsync_on_rewrite and self.rewriter.child is not None:
            self._synced_up_to(self.fed)
            return
        now = time.time()
        if policy == "always":
            try:
                incr.fsync()
            except OSError as err:
                log.warning(
                    "Can't persist AOF for fsync error when the AOF fsync policy is "
                    "'always': %s. Exiting...",
                    err.strerror,
                )
                _exit_now()
            self.last_fsync = now
        elif policy == "everysec" and int(now) > int(self.last_fsync):
            incr.fsync_in_background()
            self.last_fsync = now
        self._synced_up_to(self.fed)

    def write_refusal(self) -> str | None:
        """MISCONF while the last AOF write (or background fsync) failed
        (``writeCommandsDeniedByDiskError``, ``DISK_ERROR_TYPE_AOF``)."""
        # (The two flags first: plain attributes, the common case on every write.)
        if (self.last_write_ok and self.incr.bio_ok) or self.state is State.OFF:
            return None
        code = self.last_write_errno if not self.last_write_ok else self.incr.bio_errno
        if self.last_write_ok:
            self.last_write_errno = code  # (Redis copies the fsync errno the same way)
        return f"MISCONF Errors writing to the AOF file: {os.strerror(code)}"

    def _synced_up_to(self, fed: int) -> None:
        if fed > self.synced:
            self.synced = fed
            if self.on_synced is not None:
                self.on_synced(fed)

    def before_ack(self) -> None:
        """A follower about to acknowledge: with ``always``, what it applied is fsynced first."""
        if self.gating and (self.buf or not self.incr.all_fsynced):
            self.flush(force=True)

    @property
    def state(self) -> State:
        """OFF, ON or WAIT_REWRITE (Redis's ``aof_state``)."""
        return self._state

    @state.setter
    def state(self, value: State) -> None:
        self._state = value
        if self.on_state is not None:
            self.on_state(value is not State.OFF)

    def dataset_replaced(self) -> None:
        """``restartAOFAfterSYNC``: after a full sync the log restarts from a rewrite."""
        if self.state is State.OFF:
            return
        self.stop()
        try:
            self.start()
        except AofError:
            self.rewrite_scheduled = True
            self.state = State.WAIT_REWRITE

    # --- start, stop ------------------------------------------------------------------------------

    def open_on_start(self) -> None:
        """``aofOpenIfNeededOnServerStart`` (raises OSError/AofError: the server exits)."""
        if self.state is not State.ON:
            return
        os.makedirs(self.files.dirname, exist_ok=True)
        am = self.files.manifest
        if am.base is None and not am.incr:
            name = am.new_base(self.files.filename, self.config.aof_use_rdb_preamble)
            self.rewriter.write_base(self.files.path(name))
            log.info("Creating AOF base file %s on server start", name)
        created = not am.incr
        name = am.last_incr(self.files.filename)
        self.incr.open_append(self.files.path(name))
        self.files.persist_manifest(am)
        if not self.current_size:
            self.current_size = self.files.size_of(am)
            self.rewrite_base_size = self.files.base_size()
        self.last_fsync = time.time()
        log.info("%s AOF incr file %s on server start", "Creating" if created else "Opening", name)
        self.del_history()

    def start(self) -> None:
        """``startAppendOnly`` (CONFIG SET appendonly yes): wait for a first rewrite."""
        self.state = State.WAIT_REWRITE
        if not self.rewriter.busy():
            try:
                self.rewrite_background()
            except AofError as err:
                self.state = State.OFF
                log.warning(
                    "Redis needs to enable the AOF but can't trigger a background AOF rewrite "
                    "operation. Check the above logs for more info about the error. (%s)",
                    err,
                )
                raise
        else:
            self.rewrite_scheduled = True
            log.warning(
                "AOF was enabled but there is already another background operation. An AOF "
                "background was scheduled to start when possible."
            )
        self.last_fsync = time.time()
        self.last_write_ok = True

    def stop(self) -> None:
        """``stopAppendOnly`` (CONFIG SET appendonly no)."""
        self.flush(force=True)
        self.incr.close()
        self.selected_db = -1
        self.state = State.OFF
        self.rewriter.scheduled = False
        self.rewriter.kill()
        self.buf.clear()
        self._synced_up_to(self.fed)

    def shutdown(self) -> None:
        """On SHUTDOWN: kill a rewrite, flush and fsync (``prepareForShutdown``)."""
        self.rewriter.kill()
        if self.state is not State.OFF and self.incr.fd >= 0:
            self.flush(force=True)
            with contextlib.suppress(OSError):
                os.fsync(self.incr.fd)
        self.incr.shutdown()

    # --- rewriting (persistence/aof_rewrite.py) ------------------------------------------------

    def _repl_mark(self) -> tuple[str, int, int] | None:
        return self.repl_mark() if self.repl_mark is not None else None

    def _open_new_incr(self) -> None:
        """``openNewIncrAofForAppend``: atomically switch to a new incremental file."""
        if self.state is State.OFF:
            return
        fd = self.files.create_incr(temporary=self.state is State.WAIT_REWRITE)
        if self.incr.switch_to(fd):
            self.last_fsync = time.time()

    def rewrite_background(self) -> None:
        """``rewriteAppendOnlyFileBackground``; raises AofError when it cannot start."""
        self.rewriter.start(self._switch_incr)

    def _switch_incr(self) -> None:
        """Before the fork: what is buffered written, then a new incremental file."""
        self.selected_db = -1
        self.flush(force=True)
        self._open_new_incr()

    def poll(self) -> bool:
        """Reap a finished rewrite child and adopt its base (``backgroundRewriteDoneHandler``)."""
        state = self.state
        end = self.rewriter.poll(
            wait_rewrite=state is State.WAIT_REWRITE, keep_last=state is not State.OFF
        )
        if end is None:
            return False
        if end.base is not None and state is not State.OFF:
            self.current_size = self.files.file_size(end.base) + self.incr.size
            self.rewrite_base_size = self.current_size
            self.state = State.ON  # (wait-rewrite is over)
        elif state is State.WAIT_REWRITE:
            self.buf.clear()
            with contextlib.suppress(OSError):
                os.unlink(self.files.path(self.files.temp_incr_name))
            self.rewriter.scheduled = True
        return True

    def cron(self) -> None:
        """Reap the child; start a scheduled or an automatic rewrite; everysec flushes."""
        self.poll()
        if self.rewriter.due(self.state is State.ON, self.current_size, self.rewrite_base_size):
            with contextlib.suppress(AofError):
                self.rewrite_background()
        if self.state is not State.OFF and (
            self.config.appendfsync == "everysec" or not self.last_write_ok
        ):
            self.flush()  # (after a write error: retried every second, as serverCron does)

    # --- loading (persistence/aof_loader.py) ------------------------------------------------

    def load_steps(
        self,
        execute: Callable[[list[bytes]], bool],
        *,
        expire_on_load: bool = True,
        progress: LoadProgress | None = None,
    ) -> Steps[AofStatus]:
        """:meth:`AofLoader.load_steps`; a load that read every file sets the sizes."""
        done = yield from self.loader.load_steps(
            execute, expire_on_load=expire_on_load, progress=progress
        )
        if done.current_size is not None and done.base_size is not None:
            self.current_size = done.current_size
            self.rewrite_base_size = done.base_size
        return done.status

    # --- INFO -----------------------------------------------------------------------------------

    def info_lines(self) -> list[str]:
        """The AOF part of INFO persistence, as Redis 7.0 prints it."""
        lines = [
            f"aof_enabled:{int(self.enabled)}",
            *self.rewriter.info_lines(),
            f"aof_last_write_status:{'ok' if self.last_write_ok and self.incr.bio_ok else 'err'}",
            f"aof_last_cow_size:{self.rewriter.last_cow_size}",
        ]
        return lines

    def enabled_info_lines(self) -> list[str]:
        """The lines Redis adds when ``appendonly yes`` (after module_fork_*)."""
        if not self.config.appendonly:
            return []
        return [
            f"aof_current_size:{self.current_size}",
            f"aof_base_size:{self.rewrite_base_size}",
            f"aof_pending_rewrite:{int(self.rewrite_scheduled)}",
            f"aof_buffer_length:{len(self.buf)}",
            f"aof_pending_bio_fsync:{int(self.incr.fsync_in_progress())}",
            f"aof_delayed_fsync:{self.delayed_fsync}",
        ]


def _exit_now() -> None:
    """``exit(1)`` from the middle of a write: the log's last lines are flushed first."""
    logging.shutdown()
    os._exit(1)
