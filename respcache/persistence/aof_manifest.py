"""The AOF manifest: which files hold the dataset (Redis 7.0.15 ``aof.c``, the
``aofInfo``/``aofManifest`` part), and the durable replacement of it.

The manifest names a *base* file, the *incremental* files written since, and *history*
files a rewrite replaced; :class:`Manifest` parses and formats it exactly as Redis
(``aofLoadManifestFromFile``, ``getAofManifestAsString``). :class:`AofFiles` is the
directory it describes (``dir/appenddirname``): reading the manifest, replacing it whole
(``writeAofManifestFile``), the files' sizes, the removal of history files and the
migration of a pre-7.0 single file. The writer, the loader and the rewrite
(:mod:`.aof`, :mod:`.aof_loader`, :mod:`.aof_rewrite`) share one instance, so they all
see the same current manifest. See :mod:`.aof`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field, replace
from typing import Final

from respcache.config import Config, quote, split_args

__all__ = ["AofError", "AofFiles", "AofInfo", "Manifest", "fsync_dir"]

log = logging.getLogger("respcache.persistence")

BASE_SUFFIX: Final = ".base"
INCR_SUFFIX: Final = ".incr"
RDB_SUFFIX: Final = ".rdb"
AOF_SUFFIX: Final = ".aof"
MANIFEST_SUFFIX: Final = ".manifest"
TEMP_PREFIX: Final = "temp-"
TYPE_BASE: Final = "b"
TYPE_HIST: Final = "h"
TYPE_INCR: Final = "i"
MANIFEST_MAX_LINE: Final = 1024


class AofError(Exception):
    """A fatal AOF problem (bad manifest, unreadable file): Redis exits on it."""


# --- the manifest ----------------------------------------------------------------------------


@dataclass
class AofInfo:
    name: str
    seq: int
    type: str

    def line(self) -> str:
        """``aofInfoFormat``: the name quoted only when ``sdsneedsrepr`` says so."""
        name = self.name
        if any(c in name for c in " \t\r\n\"'\\") or not name.isprintable():
            name = quote(name)
        return f"file {name} seq {self.seq} type {self.type}\n"


@dataclass
class Manifest:
    base: AofInfo | None = None
    history: list[AofInfo] = field(default_factory=list)
    incr: list[AofInfo] = field(default_factory=list)
    base_seq: int = 0
    incr_seq: int = 0

    def copy(self) -> Manifest:
        return Manifest(
            replace(self.base) if self.base else None,
            [replace(i) for i in self.history],
            [replace(i) for i in self.incr],
            self.base_seq,
            self.incr_seq,
        )

    def format(self) -> str:
        """``getAofManifestAsString``: base, then history, then incremental files."""
        infos = ([self.base] if self.base else []) + self.history + self.incr
        return "".join(info.line() for info in infos)

    @classmethod
    def parse(cls, text: str) -> Manifest:
        """``aofLoadManifestFromFile``; raises AofError with Redis's message."""
        am = cls()
        maxseq = 0
        lines = text.splitlines(keepends=True)
        if not lines:
            raise AofError("Found an empty AOF manifest")
        for number, raw in enumerate(lines, 1):
            if raw.startswith("#"):
                continue
            if len(raw) > MANIFEST_MAX_LINE:
                raise AofError("The AOF manifest file contains too long line")
            line = raw.strip(" \t\r\n")
            where = f"Reading the manifest file, at line {number}: '{line}': "
            if not line:
                raise AofError(where + "Invalid AOF manifest file format")
            argv = split_args(line)
            if argv is None or len(argv) < 6 or len(argv) % 2:
                raise AofError(where + "Invalid AOF manifest file format")
            name: str | None = None
            seq = 0
            kind = ""
            for i in range(0, len(argv), 2):
                key = argv[i].lower()
                if key == "file":
                    name = argv[i + 1]
                    if os.path.basename(name) != name:
                        raise AofError(where + "File can't be a path, just a filename")
                elif key == "seq":
                    seq = _atoll(argv[i + 1])
                elif key == "type":
                    kind = argv[i + 1][:1]
            if not name or not seq or not kind:
                raise AofError(where + "Invalid AOF manifest file format")
            info = AofInfo(name, seq, kind)
            if kind == TYPE_BASE:
                if am.base is not None:
                    raise AofError(where + "Found duplicate base file information")
                am.base = info
                am.base_seq = seq
            elif kind == TYPE_HIST:
                am.history.append(info)
            elif kind == TYPE_INCR:
                if seq <= maxseq:
                    raise AofError(where + "Found a non-monotonic sequence number")
                am.incr.append(info)
                am.incr_seq = maxseq = seq
            else:
                raise AofError(where + "Unknown AOF file type")
        return am

    def new_base(self, filename: str, rdb: bool) -> str:
        """``getNewBaseFileNameAndMarkPreAsHistory``."""
        if self.base is not None:
            self.base.type = TYPE_HIST
            self.history.insert(0, self.base)
        self.base_seq += 1
        suffix = RDB_SUFFIX if rdb else AOF_SUFFIX
        self.base = AofInfo(
            f"{filename}.{self.base_seq}{BASE_SUFFIX}{suffix}", self.base_seq, TYPE_BASE
        )
        return self.base.name

    def new_incr(self, filename: str) -> str:
        """``getNewIncrAofName``."""
        self.incr_seq += 1
        info = AofInfo(
            f"{filename}.{self.incr_seq}{INCR_SUFFIX}{AOF_SUFFIX}", self.incr_seq, TYPE_INCR
        )
        self.incr.append(info)
        return info.name

    def last_incr(self, filename: str) -> str:
        """``getLastIncrAofName``: the last incremental file, or a new one."""
        return self.incr[-1].name if self.incr else self.new_incr(filename)

    def rewritten_incr_to_history(self, keep_last: bool) -> None:
        """``markRewrittenIncrAofAsHistory``: all but the file being written become history."""
        moved = self.incr[:-1] if keep_last else self.incr
        kept = self.incr[-1:] if keep_last else []
        for info in reversed(moved):
            self.history.insert(0, AofInfo(info.name, info.seq, TYPE_HIST))
        self.incr = kept


def _atoll(text: str) -> int:
    digits = ""
    for i, ch in enumerate(text.strip()):
        if ch.isdigit() or (i == 0 and ch in "+-"):
            digits += ch
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


def fsync_dir(path: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- the directory ---------------------------------------------------------------------------


class AofFiles:
    """The AOF directory ``dir/appenddirname`` and its current :class:`Manifest`.

    Paths are read from ``config`` on each use (``CONFIG SET dir`` moves them, as in
    Redis). ``manifest`` is the one in force: replaced by :meth:`load_manifest`, or by
    whoever persisted a new one (a new incremental file, a finished rewrite).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.manifest = Manifest()

    @property
    def dirname(self) -> str:
        return os.path.join(self.config.dir, self.config.appenddirname)

    def path(self, name: str) -> str:
        return os.path.join(self.dirname, name)

    @property
    def filename(self) -> str:
        return self.config.appendfilename

    @property
    def manifest_name(self) -> str:
        return self.filename + MANIFEST_SUFFIX

    @property
    def temp_incr_name(self) -> str:
        """The incremental file of the ``wait-rewrite`` state (``temp-appendonly.aof.incr``)."""
        return TEMP_PREFIX + self.filename + INCR_SUFFIX

    def load_manifest(self) -> None:
        """``aofLoadManifestFromDisk`` (AofError on a bad manifest)."""
        self.manifest = Manifest()
        path = self.path(self.manifest_name)
        if not os.path.isdir(self.dirname) or not os.path.exists(path):
            return
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as err:
            raise AofError(
                f"Fatal error: can't open the AOF manifest file {path} for reading: {err.strerror}"
            ) from err
        self.manifest = Manifest.parse(text)

    def persist_manifest(self, am: Manifest) -> None:
        """``writeAofManifestFile``: temp file, fsync, rename, fsync the directory."""
        tmp = self.path(TEMP_PREFIX + self.manifest_name)
        final = self.path(self.manifest_name)
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(am.format())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        fsync_dir(self.dirname)

    def create_incr(self, *, temporary: bool) -> int:
        """The file of ``openNewIncrAofForAppend``, opened (truncated) for appending: the
        next incremental file, in force once a manifest naming it is persisted; with
        ``temporary`` (``wait-rewrite``: no base yet) ``temp-<name>.incr``, which no
        manifest names. Raises OSError, the manifest unchanged."""
        temp_am: Manifest | None = None
        if temporary:
            name = self.temp_incr_name
        else:
            temp_am = self.manifest.copy()
            name = temp_am.new_incr(self.filename)
        fd = os.open(self.path(name), os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
        if temp_am is not None:
            try:
                self.persist_manifest(temp_am)
            except OSError:
                os.close(fd)
                raise
            self.manifest = temp_am
        log.info("Creating AOF incr file %s on background rewrite", name)
        return fd

    def file_size(self, name: str) -> int:
        """The size of ``name`` in the directory (0 when it cannot be read)."""
        try:
            return os.stat(self.path(name)).st_size
        except OSError:
            return 0

    def size_of(self, am: Manifest) -> int:
        """The bytes of the base and incremental files ``am`` names (``aof_current_size``)."""
        infos = ([am.base] if am.base else []) + am.incr
        return sum(self.file_size(i.name) for i in infos)

    def base_size(self) -> int:
        """The size of the current base file (``aof_base_size`` after a load or an open)."""
        base = self.manifest.base
        return self.file_size(base.name) if base else 0

    def del_history(self) -> None:
        """``aofDelHistoryFiles``."""
        am = self.manifest
        if not am.history or self.config.aof_disable_auto_gc:
            return
        for info in am.history:
            log.info("Removing the history file %s in the background", info.name)
            with contextlib.suppress(OSError):
                os.unlink(self.path(info.name))
        am.history = []
        with contextlib.suppress(OSError):
            self.persist_manifest(am)

    def upgrade_old_style(self) -> None:
        """``aofUpgradePrepare``: move a pre-7.0 ``dir/appendonly.aof`` into the directory."""
        old = os.path.join(self.config.dir, self.filename)
        am = self.manifest
        if not os.path.exists(old):
            return
        if not (
            not os.path.isdir(self.dirname)
            or (am.base is None and not am.incr)
            or (
                am.base is not None
                and not am.incr
                and am.base.name == self.filename
                and not os.path.exists(self.path(self.filename))
            )
        ):
            return
        os.makedirs(self.dirname, exist_ok=True)
        am.base = AofInfo(self.filename, 1, TYPE_BASE)
        am.base_seq = 1
        self.persist_manifest(am)
        os.replace(old, self.path(self.filename))
        log.info(
            "Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).",
            self.filename,
            self.config.appenddirname,
        )
