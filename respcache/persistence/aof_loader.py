"""Replaying AOF commands: the parser of an AOF file's command part, the replication
marks it carries, and the loop of ``loadSingleAppendOnlyFile`` (Redis 7.0.15
``aof.c``) as a generator that yields where Redis processes events
(``persistence/loading.py``)."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Final

from respcache.persistence.loading import (
    AOF_COMMANDS_PER_STEP,
    LoadProgress,
    Steps,
    drain,
    key_load_delay,
)

__all__ = [
    "MARK_EPOCH_AUX",
    "MARK_PREFIX",
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
