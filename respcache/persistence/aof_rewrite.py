"""The AOF rewrite: BGREWRITEAOF's forked child, the base it writes, and when to start
one (Redis 7.0.15 ``aof.c``: ``rewriteAppendOnlyFileBackground``,
``rewriteAppendOnlyFile``, ``backgroundRewriteDoneHandler``, ``aofRewriteLimited``, and
``serverCron``'s ``auto-aof-rewrite-percentage`` test).

:class:`AofRewrite` owns the child and the record INFO reports of it; the writer
(:mod:`.aof`) switches to a new incremental file before the fork and adopts the new base
afterwards, so this module never touches the file being appended. The base is an RDB
file (``aof-use-rdb-preamble yes``) or the dataset as commands
(``rewriteAppendOnlyFileRio``, :func:`rewrite_commands`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import time
from collections.abc import Callable, Iterable
from typing import BinaryIO, Final, NamedTuple

from respcache.config import Config
from respcache.persistence.aof_loader import MARK_EPOCH_AUX, format_mark
from respcache.persistence.aof_manifest import AofError, AofFiles
from respcache.persistence.child import ForkedChild, fork_child, kill, private_dirty, reap
from respcache.persistence.rdb import RdbError, write_keyspace
from respcache.persistence.saver import FsyncingFile
from respcache.store.keyspace import Keyspace
from respcache.store.stream import StreamValue, format_id
from respcache.store.values import HashValue, ListValue, SetValue
from respcache.store.zset import ZSetValue

__all__ = [
    "REWRITE_ITEMS_PER_CMD",
    "AofRewrite",
    "RewriteEnd",
    "encode_command",
    "growth",
    "growth_wants_rewrite",
    "rewrite_commands",
]

log = logging.getLogger("respcache.persistence")

REWRITE_ITEMS_PER_CMD: Final = 64
"""``AOF_REWRITE_ITEMS_PER_CMD``: elements per RPUSH/SADD/ZADD/HMSET of a rewritten base."""


# --- the child and its record ------------------------------------------------------------------


def growth(current_size: int, base_size: int) -> int:
    """How much the AOF grew since the last rewrite, in percent of the base."""
    return current_size * 100 // (base_size or 1) - 100


def growth_wants_rewrite(config: Config, current_size: int, base_size: int) -> bool:
    """``auto-aof-rewrite-percentage`` / ``auto-aof-rewrite-min-size`` (``serverCron``)."""
    return bool(
        config.auto_aof_rewrite_percentage
        and current_size > config.auto_aof_rewrite_min_size
        and growth(current_size, base_size) >= config.auto_aof_rewrite_percentage
    )


class RewriteEnd(NamedTuple):
    """How a rewrite's child ended: ``base``, the new base file adopted into the
    manifest; None when the child or the adoption failed."""

    base: str | None


class AofRewrite:
    """The rewrite's child and its record (the ``aof_*rewrite*`` lines of INFO).

    ``other_child``: True while another forked child (BGSAVE) runs (one child at a time,
    as Redis). ``repl_mark``: the replication mark of the data as of now, recorded in the
    base the child writes (as of the fork, like the data).
    """

    def __init__(
        self,
        config: Config,
        keyspace: Keyspace,
        files: AofFiles,
        other_child: Callable[[], bool],
        repl_mark: Callable[[], tuple[str, int, int] | None],
    ) -> None:
        self.config = config
        self.keyspace = keyspace
        self.files = files
        self.other_child = other_child
        self.repl_mark = repl_mark
        self.child: ForkedChild | None = None
        self.scheduled = False
        """``aof_rewrite_scheduled``: start one as soon as no child runs."""
        self.time_start = -1.0
        self.time_last = -1
        self.last_ok = True
        """``aof_last_bgrewrite_status``."""
        self.rewrites = 0
        self.consecutive_failures = 0
        self.last_cow_size = 0
        self.forks = 0
        self._limit_delay = 0
        self._limit_until = 0.0

    def busy(self) -> bool:
        """A child runs (this one or another): no fork now."""
        return self.child is not None or self.other_child()

    def write_base(self, path: str) -> None:
        """``rewriteAppendOnlyFile``: the dataset into ``path`` (RDB or commands), atomically."""
        cfg = self.config
        tmp = os.path.join(cfg.dir, f"temp-rewriteaof-{os.getpid()}.aof")
        try:
            with open(tmp, "wb") as f:
                out = FsyncingFile(f, cfg.aof_rewrite_incremental_fsync)
                # (In the rewrite's child: the mark as of the fork, like the data.)
                mark = self.repl_mark()
                if cfg.aof_use_rdb_preamble:
                    write_keyspace(
                        out,  # type: ignore[arg-type]
                        self.keyspace,
                        compress=cfg.rdbcompression,
                        checksum=cfg.rdbchecksum,
                        aof_base=True,
                        key_delay_us=cfg.rdb_key_save_delay,
                        repl_id=mark[0] if mark else None,
                        repl_offset=mark[1] if mark else None,
                        extra_aux={MARK_EPOCH_AUX: mark[2]} if mark else None,
                    )
                else:
                    if cfg.aof_timestamp_enabled:
                        out.write(b"#TS:%d\r\n" % int(time.time()))
                    if mark is not None:
                        out.write(format_mark(mark))
                    rewrite_commands(self.keyspace, out, cfg.rdb_key_save_delay)  # type: ignore[arg-type]
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def start(self, switch_incr: Callable[[], None]) -> None:
        """``rewriteAppendOnlyFileBackground``: ``switch_incr`` (the writer's flush and new
        incremental file; OSError when it cannot), then the fork. Raises AofError when the
        rewrite cannot start."""
        if self.busy():
            raise AofError("another child process is active")
        dirname = self.files.dirname
        try:
            os.makedirs(dirname, exist_ok=True)
            switch_incr()
        except OSError as err:
            self.last_ok = False
            log.warning("Can't open or create append-only dir %s: %s", dirname, err)
            raise AofError(str(err)) from err
        self.rewrites += 1
        try:
            child = fork_child(self._child_work)
        except OSError as err:
            self.last_ok = False
            log.warning("Can't rewrite append only file in background: fork: %s", err.strerror)
            raise AofError(f"fork: {err.strerror}") from err
        self.forks += 1
        self.child = child
        self.scheduled = False
        self.time_start = time.time()
        log.info("Background append only file rewriting started by pid %d", child.pid)

    def _child_work(self) -> list[int]:  # pragma: no cover - runs in the child
        tmp = os.path.join(self.config.dir, f"temp-rewriteaof-bg-{os.getpid()}.aof")
        self.write_base(tmp)
        log.info("Successfully created the temporary AOF base file %s", tmp)
        return [private_dirty()]

    def _temp_files(self, pid: int) -> list[str]:
        return [
            os.path.join(self.config.dir, f"temp-rewriteaof-bg-{pid}.aof"),
            os.path.join(self.config.dir, f"temp-rewriteaof-{pid}.aof"),
        ]

    def kill(self) -> None:
        """``killAppendOnlyChild``."""
        child = self.child
        if child is None:
            return
        log.info("Killing running AOF rewrite child: %d", child.pid)
        kill(child)
        for path in self._temp_files(child.pid):
            with contextlib.suppress(OSError):
                os.unlink(path)
        self.child = None
        self.time_start = -1

    def poll(self, *, wait_rewrite: bool, keep_last: bool) -> RewriteEnd | None:
        """``backgroundRewriteDoneHandler``: reap a finished child (None: none, or still
        running) and, when it succeeded, :meth:`install` its base."""
        child = self.child
        if child is None:
            return None
        end = reap(child)
        if end is None:
            return None
        self.child = None
        base: str | None = None
        if end.ok:
            self.last_cow_size = int(end.words[0]) if end.words else 0
            log.info("Background AOF rewrite terminated with success")
            base = self.install(child.pid, wait_rewrite=wait_rewrite, keep_last=keep_last)
        elif end.signal is not None:
            if end.signal != signal.SIGUSR1:
                self.last_ok = False
                self.consecutive_failures += 1
            log.warning("Background AOF rewrite terminated by signal %d", end.signal)
        else:
            self.last_ok = False
            self.consecutive_failures += 1
            log.warning("Background AOF rewrite terminated with error: %s", end.error)
        for path in self._temp_files(child.pid):
            with contextlib.suppress(OSError):
                os.unlink(path)
        self.time_last = int(time.monotonic() - child.started)
        self.time_start = -1
        return RewriteEnd(base)

    def install(self, pid: int, *, wait_rewrite: bool, keep_last: bool) -> str | None:
        """The new base into the manifest (``backgroundRewriteDoneHandler``): renamed into
        place, with ``wait_rewrite`` the temporary incremental file too, the replaced files
        made history (all but the last incremental file with ``keep_last``), the manifest
        persisted and the history deleted. Returns the base's name (None: it failed, and
        that is recorded)."""
        files = self.files
        tmp = os.path.join(self.config.dir, f"temp-rewriteaof-bg-{pid}.aof")
        temp_am = files.manifest.copy()
        base = temp_am.new_base(files.filename, self.config.aof_use_rdb_preamble)
        try:
            os.replace(tmp, files.path(base))
            log.info("Successfully renamed the temporary AOF base file %s into %s", tmp, base)
            if wait_rewrite:
                new_incr = temp_am.new_incr(files.filename)
                os.replace(files.path(files.temp_incr_name), files.path(new_incr))
            temp_am.rewritten_incr_to_history(keep_last=keep_last)
            files.persist_manifest(temp_am)
        except OSError as err:
            log.warning("Error finishing the AOF rewrite: %s", err)
            with contextlib.suppress(OSError):
                os.unlink(files.path(base))
            self.last_ok = False
            self.consecutive_failures += 1
            return None
        files.manifest = temp_am
        files.del_history()
        self.last_ok = True
        self.consecutive_failures = 0
        log.info("Background AOF rewrite finished successfully")
        return base

    def info_lines(self) -> list[str]:
        """The rewrite's lines of INFO persistence (``aof_rewrite_in_progress`` ...)."""
        child = self.child
        return [
            f"aof_rewrite_in_progress:{int(child is not None)}",
            f"aof_rewrite_scheduled:{int(self.scheduled)}",
            f"aof_last_rewrite_time_sec:{self.time_last}",
            f"aof_current_rewrite_time_sec:{int(time.monotonic() - child.started) if child else -1}",
            f"aof_last_bgrewrite_status:{'ok' if self.last_ok else 'err'}",
            f"aof_rewrites:{self.rewrites}",
            f"aof_rewrites_consecutive_failures:{self.consecutive_failures}",
        ]

    def due(self, growth_counts: bool, current_size: int, base_size: int) -> bool:
        """``serverCron``: start a rewrite now? One was scheduled, or (``growth_counts``:
        the AOF is on) the files grew enough since the last one; never beside a child, nor
        while failures limit it."""
        if self.busy():
            return False
        if self.scheduled and not self.limited():
            return True
        if (
            growth_counts
            and growth_wants_rewrite(self.config, current_size, base_size)
            and not self.limited()
        ):
            log.info(
                "Starting automatic rewriting of AOF on %d%% growth",
                growth(current_size, base_size),
            )
            return True
        return False

    def limited(self) -> bool:
        """``aofRewriteLimited``: after 3 failures in a row, wait 1, 2, 4 ... 60 minutes."""
        if self.consecutive_failures < 3:
            self._limit_delay = 0
            self._limit_until = 0.0
            return False
        now = time.time()
        if self._limit_until:
            if now < self._limit_until:
                return True
            self._limit_until = 0.0
            return False
        self._limit_delay = min(60, self._limit_delay * 2 or 1)
        self._limit_until = now + self._limit_delay * 60
        log.warning(
            "Background AOF rewrite has repeatedly failed and triggered the limit, will retry "
            "in %d minutes",
            self._limit_delay,
        )
        return True


# --- commands ----------------------------------------------------------------------------------


def encode_command(argv: Iterable[bytes]) -> bytes:
    """``catAppendOnlyGenericCommand``: one command in RESP multibulk form."""
    args = list(argv)
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(parts)


def _score(score: float) -> bytes:
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    if score == int(score) and abs(score) < 2**53:
        return b"%d" % int(score)
    return repr(score).encode()


def rewrite_commands(keyspace: Keyspace, out: BinaryIO, key_delay_us: int = 0) -> int:
    """``rewriteAppendOnlyFileRio``: the dataset as commands (``aof-use-rdb-preamble no``).

    Strings as SET, lists RPUSH, sets SADD, sorted sets ZADD, hashes HMSET (at most 64
    elements a command), then PEXPIREAT for keys with an expiry. Returns keys written.
    """
    keys = 0
    for code in keyspace.functions.values():  # rewriteFunctions
        out.write(encode_command([b"FUNCTION", b"LOAD", code]))
    for db in keyspace.dbs:
        if not db.data:
            continue
        out.write(encode_command([b"SELECT", b"%d" % db.id]))
        expires = db.expires
        for key, value in db.data.items():
            if type(value) is bytes:
                out.write(encode_command([b"SET", key, value]))
            elif isinstance(value, ListValue):
                _batched(out, b"RPUSH", key, list(value))
            elif isinstance(value, SetValue):
                _batched(out, b"SADD", key, list(value))
            elif isinstance(value, ZSetValue):
                flat = [
                    x for score, member in value.items_in_order() for x in (_score(score), member)
                ]
                _batched(out, b"ZADD", key, flat, 2)
            elif isinstance(value, HashValue):
                flat = [x for pair in value.items() for x in pair]
                _batched(out, b"HMSET", key, flat, 2)
            elif isinstance(value, StreamValue):
                _rewrite_stream(out, key, value)
            else:
                raise RdbError(
                    f"values of type {type(value).__name__} cannot be rewritten as AOF commands "
                    "yet (use aof-use-rdb-preamble yes)"
                )
            when = expires.get(key) if expires else None
            if when is not None:
                out.write(encode_command([b"PEXPIREAT", key, b"%d" % when]))
            keys += 1
            if key_delay_us > 0:
                time.sleep(key_delay_us / 1e6)
    return keys


def _rewrite_stream(out: BinaryIO, key: bytes, s: StreamValue) -> None:
    """``rewriteStreamObject``: XADDs, XSETID, XGROUP CREATE, XCLAIMs, CREATECONSUMER."""
    w = out.write
    if s.length:
        for node in s.nodes:
            for sid, item in zip(node.ids, node.items, strict=True):
                if item is not None:
                    w(encode_command([b"XADD", key, format_id(sid), *item]))
    else:  # the XADD MAXLEN 0 trick: an empty stream
        w(encode_command([b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]))
    w(
        encode_command(
            [
                b"XSETID",
                key,
                format_id(s.last_id),
                b"ENTRIESADDED",
                b"%d" % s.entries_added,
                b"MAXDELETEDID",
                format_id(s.max_deleted_id),
            ]
        )
    )
    for group in s.sorted_groups():
        w(
            encode_command(
                [
                    b"XGROUP",
                    b"CREATE",
                    key,
                    group.name,
                    format_id(group.last_id),
                    b"ENTRIESREAD",
                    b"%d" % group.entries_read,
                ]
            )
        )
        for consumer in group.sorted_consumers():
            if not len(consumer.pel):
                w(encode_command([b"XGROUP", b"CREATECONSUMER", key, group.name, consumer.name]))
                continue
            for sid in consumer.pel.order:
                nack = consumer.pel.by_id[sid]
                w(
                    encode_command(
                        [
                            b"XCLAIM",
                            key,
                            group.name,
                            consumer.name,
                            b"0",
                            format_id(sid),
                            b"TIME",
                            b"%d" % nack.delivery_time,
                            b"RETRYCOUNT",
                            b"%d" % nack.delivery_count,
                            b"JUSTID",
                            b"FORCE",
                        ]
                    )
                )


def _batched(out: BinaryIO, name: bytes, key: bytes, flat: list[bytes], step: int = 1) -> None:
    chunk = REWRITE_ITEMS_PER_CMD * step
    for i in range(0, len(flat), chunk):
        out.write(encode_command([name, key, *flat[i : i + chunk]]))
