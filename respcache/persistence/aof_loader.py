"""Loading the AOF at start-up (and on DEBUG LOADAOF): Redis 7.0.15 ``aof.c``'s
``loadAppendOnlyFiles`` and ``loadSingleAppendOnlyFile``.

:class:`AofLoader` replays the files the manifest names, base first (an RDB file, or
commands), then each incremental file, and decides what a short read means: a truncated
tail of the *last* file is cut off and loaded with ``aof-load-truncated yes``, anywhere
else it is fatal. Below it, the parser of a file's command part, the replication marks
(``#RC:`` annotations) it carries, and the replay loop as a generator that yields where
Redis processes events (``persistence/loading.py``). The write path
(:mod:`.aof`) never runs while this does; it only reads the outcome (:class:`AofLoad`).
"""

from __future__ import annotations

import enum
import logging
import os
import time
from collections.abc import Callable
from typing import Final, NamedTuple

from respcache.config import Config
from respcache.persistence.aof_manifest import TYPE_BASE, TYPE_INCR, AofFiles
from respcache.persistence.loading import (
    AOF_COMMANDS_PER_STEP,
    LoadProgress,
    Steps,
    drain,
    key_load_delay,
)
from respcache.persistence.rdb import RdbError, load_rdb_steps
from respcache.store.keyspace import Keyspace

__all__ = [
    "MARK_EPOCH_AUX",
    "MARK_PREFIX",
    "AofLoad",
    "AofLoader",
    "AofStatus",
    "format_mark",
    "load_commands",
    "load_commands_steps",
    "parse_mark",
]

log = logging.getLogger("respcache.persistence")


class AofStatus(enum.Enum):
    """``loadSingleAppendOnlyFile``/``loadAppendOnlyFiles`` results."""

    OK = "ok"
    NOT_EXIST = "not-exist"
    EMPTY = "empty"
    OPEN_ERR = "open-err"
    FAILED = "failed"
    TRUNCATED = "truncated"


class _Truncated(Exception):
    pass


class _BadFormat(Exception):
    pass


MARK_PREFIX: Final = b"#RC:"
MARK_EPOCH_AUX: Final = "respcache-epoch"
"""The RDB aux field of the epoch (the cluster layer's name for it too)."""


def format_mark(mark: tuple[str, int, int]) -> bytes:
    """``#RC:<replid> <offset> <epoch>``: a replication mark, as an AOF annotation."""
    return b"#RC:%s %d %d\r\n" % (mark[0].encode(), mark[1], mark[2])


def parse_mark(line: bytes) -> tuple[str, int, int] | None:
    """The mark of an ``#RC:`` annotation line (None when it is not one)."""
    words = line[len(MARK_PREFIX) :].split()
    if len(words) != 3 or len(words[0]) != 40:
        return None
    try:
        return words[0].decode("ascii"), int(words[1]), int(words[2])
    except (UnicodeDecodeError, ValueError):
        return None


def _parse_command(data: bytes, pos: int) -> tuple[list[bytes] | None, int]:
    """One command at ``pos`` (or an annotation line, returned as None); raises
    _Truncated at a short read and _BadFormat at anything but ``*``/``#``."""
    size = len(data)
    end = data.find(b"\n", pos)
    if end < 0:
        raise _Truncated
    first = data[pos]
    if first == 35:  # '#': annotation
        return None, end + 1
    if first != 42:  # '*'
        raise _BadFormat
    try:
        argc = int(data[pos + 1 : end])
    except ValueError:
        raise _BadFormat from None
    if argc < 1:
        raise _BadFormat
    pos = end + 1
    argv: list[bytes] = []
    for _ in range(argc):
        end = data.find(b"\n", pos)
        if end < 0:
            raise _Truncated
        if data[pos] != 36:  # '$'
            raise _BadFormat
        try:
            length = int(data[pos + 1 : end])
        except ValueError:
            raise _BadFormat from None
        start = end + 1
        stop = start + length
        if stop + 2 > size:
            raise _Truncated
        argv.append(data[start:stop])
        pos = stop + 2
    return argv, pos


def load_commands(
    data: bytes,
    start: int,
    execute: Callable[[list[bytes]], bool],
    name: str,
    on_mark: Callable[[tuple[str, int, int]], None] | None = None,
) -> tuple[AofStatus | None, int]:
    """:func:`load_commands_steps` run to its end."""
    return drain(load_commands_steps(data, start, execute, name, on_mark))


def load_commands_steps(
    data: bytes,
    start: int,
    execute: Callable[[list[bytes]], bool],
    name: str,
    on_mark: Callable[[tuple[str, int, int]], None] | None = None,
    progress: LoadProgress | None = None,
    base: int = 0,
    key_delay: Callable[[], int] | None = None,
) -> Steps[tuple[AofStatus | None, int]]:
    """Run the commands of ``data[start:]`` through ``execute`` (which answers False for
    an unknown command). Returns (None when the file ended cleanly, else FAILED or
    "truncated"; the offset up to which it is valid). ``execute`` sees MULTI/EXEC as any
    command; a transaction left open at the end counts as a truncation before its MULTI.
    Yields every :data:`AOF_COMMANDS_PER_STEP` commands, after recording ``base + pos``
    in ``progress``."""
    pos = start
    loops = 0
    key_delay_us = key_delay() if key_delay is not None else 0
    valid = start
    before_multi = start
    in_multi = False
    size = len(data)
    while pos < size:
        line_start = pos
        try:
            argv, pos = _parse_command(data, pos)
        except _Truncated:
            return AofStatus.TRUNCATED, (before_multi if in_multi else valid)
        except _BadFormat:
            log.warning(
                "Bad file format reading the append only file %s: make a backup of your AOF "
                "file, then use ./redis-check-aof --fix <filename.manifest>",
                name,
            )
            return AofStatus.FAILED, valid
        if argv is None:
            if on_mark is not None and not in_multi and data.startswith(MARK_PREFIX, line_start):
                mark = parse_mark(data[line_start:pos])
                if mark is not None:
                    on_mark(mark)
            continue
        loops += 1
        if loops == AOF_COMMANDS_PER_STEP:
            loops = 0
            if progress is not None:
                progress.advance(base + pos)
            yield
            key_delay_us = key_delay() if key_delay is not None else 0
        verb = argv[0].lower()
        if verb == b"multi":
            before_multi = valid
            in_multi = True
        elif verb in (b"exec", b"discard"):
            in_multi = False
        if not execute(argv):
            log.warning(
                "Unknown command '%s' reading the append only file %s",
                argv[0].decode("utf-8", "replace"),
                name,
            )
            return AofStatus.FAILED, valid
        valid = pos
        if key_delay_us:
            key_load_delay(key_delay_us)
    if in_multi:
        log.warning("Revert incomplete MULTI/EXEC transaction in AOF file %s", name)
        return AofStatus.TRUNCATED, before_multi
    return None, valid


# --- the files -------------------------------------------------------------------------------


class AofLoad(NamedTuple):
    """What :meth:`AofLoader.load_steps` did: its status, and when every file was read,
    the sizes INFO reports (``aof_current_size``, ``aof_base_size``; None otherwise)."""

    status: AofStatus
    current_size: int | None = None
    base_size: int | None = None


class AofLoader:
    """Replays the files of ``files.manifest`` into ``keyspace`` (RDB base) and through
    the caller's ``execute`` (commands).

    ``loaded_mark``: the last replication mark a load read (from the base's aux fields
    or an ``#RC:`` annotation); kept from one load to the next when a load finds no file.
    """

    def __init__(self, config: Config, keyspace: Keyspace, files: AofFiles) -> None:
        self.config = config
        self.keyspace = keyspace
        self.files = files
        self.loading = False
        self.loaded_mark: tuple[str, int, int] | None = None

    def load(
        self, execute: Callable[[list[bytes]], bool], *, expire_on_load: bool = True
    ) -> AofLoad:
        """:meth:`load_steps` run to its end."""
        return drain(self.load_steps(execute, expire_on_load=expire_on_load))

    def load_steps(
        self,
        execute: Callable[[list[bytes]], bool],
        *,
        expire_on_load: bool = True,
        progress: LoadProgress | None = None,
    ) -> Steps[AofLoad]:
        """``loadAppendOnlyFiles``: the base, then each incremental file, in order.

        ``execute`` runs one command (False: unknown command). FAILED and OPEN_ERR are
        fatal to the caller (Redis exits); a truncated tail of the *last* file is cut off
        and loaded when ``aof-load-truncated yes``. The sizes of the outcome are measured
        only when every file was read.
        """
        files = self.files
        files.upgrade_old_style()
        am = files.manifest
        if am.base is None and not am.incr:
            return AofLoad(AofStatus.NOT_EXIST)
        infos = ([am.base] if am.base else []) + am.incr
        total = 0
        for info in infos:
            try:
                total += os.stat(files.path(info.name)).st_size
            except OSError as err:
                log.warning(
                    "Unable to obtain the AOF file %s length. stat: %s", info.name, err.strerror
                )
                return AofLoad(
                    AofStatus.FAILED if isinstance(err, FileNotFoundError) else AofStatus.OPEN_ERR
                )
        if total == 0:
            return AofLoad(AofStatus.EMPTY)
        self.loading = True
        self.loaded_mark = None
        status = AofStatus.OK
        if progress is None:
            progress = LoadProgress()
        progress.begin(total)
        base = 0
        try:
            for number, info in enumerate(infos, 1):
                last = number == len(infos)
                started = time.monotonic()
                status = yield from self._load_file(
                    info.name, execute, expire_on_load, progress, base
                )
                base += files.file_size(info.name)
                progress.advance(base)
                if status is AofStatus.EMPTY and info.type == TYPE_INCR:
                    status = AofStatus.OK
                if status is AofStatus.TRUNCATED and not last:
                    log.warning("Fatal error: the truncated file is not the last file")
                    return AofLoad(AofStatus.FAILED)
                if status in (AofStatus.OPEN_ERR, AofStatus.FAILED):
                    return AofLoad(status)
                log.info(
                    "DB loaded from %s file %s: %.3f seconds",
                    "base" if info.type == TYPE_BASE else "incr",
                    info.name,
                    time.monotonic() - started,
                )
        finally:
            self.loading = False
            progress.end()
        return AofLoad(status, files.size_of(am), files.base_size())

    def _key_load_delay(self) -> int:
        return self.config.key_load_delay

    def _load_file(
        self,
        name: str,
        execute: Callable[[list[bytes]], bool],
        expire_on_load: bool,
        progress: LoadProgress,
        base: int,
    ) -> Steps[AofStatus]:
        """``loadSingleAppendOnlyFile``."""
        path = self.files.path(name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            log.warning("The append log file %s doesn't exist", name)
            return AofStatus.NOT_EXIST
        except OSError as err:
            log.warning(
                "Fatal error: can't open the append log file %s for reading: %s", name, err.strerror
            )
            return AofStatus.OPEN_ERR
        if not data:
            return AofStatus.EMPTY
        start = 0
        if data[:5] == b"REDIS":
            log.info(
                "Reading RDB preamble from AOF file..."
                if name == self.files.filename
                else "Reading RDB base file on AOF loading..."
            )
            try:
                result = yield from load_rdb_steps(
                    data,
                    self.keyspace,
                    expire_on_load=expire_on_load,
                    verify_checksum=self.config.rdbchecksum,
                    progress=progress,
                    base=base,
                    interval=self.config.loading_process_events_interval_bytes,
                    key_delay=self._key_load_delay,
                )
            except RdbError as err:
                log.warning(
                    "Error reading the RDB base file %s, AOF loading aborted: %s", name, err
                )
                return AofStatus.FAILED
            start = result.end
            replid, offset = result.repl_id, result.repl_offset
            if replid is not None and offset is not None:
                try:
                    epoch = int(result.aux.get(MARK_EPOCH_AUX, b"0"))
                except ValueError:
                    epoch = 0
                self.loaded_mark = (replid, offset, epoch)

        def on_mark(mark: tuple[str, int, int]) -> None:
            self.loaded_mark = mark

        status, valid = yield from load_commands_steps(
            data, start, execute, name, on_mark, progress, base, self._key_load_delay
        )
        if status is None:
            return AofStatus.OK
        if status is AofStatus.FAILED:
            return status
        if self.config.aof_load_truncated:
            log.warning("!!! Warning: short read while loading the AOF file %s!!!", name)
            log.warning("!!! Truncating the AOF %s at offset %d !!!", name, valid)
            try:
                os.truncate(path, valid)
            except OSError as err:
                log.warning("Error truncating the AOF file %s: %s", name, err.strerror)
            else:
                log.warning("AOF %s loaded anyway because aof-load-truncated is enabled", name)
                return AofStatus.TRUNCATED
        log.warning(
            "Unexpected end of file reading the append only file %s. You can: 1) Make a backup "
            "of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) "
            "Alternatively you can set the 'aof-load-truncated' configuration option to yes "
            "and restart the server.",
            name,
        )
        return AofStatus.FAILED
