"""Persistence commands: SAVE, BGSAVE [SCHEDULE], LASTSAVE, DEBUG RELOAD, SHUTDOWN's save,
BGREWRITEAOF, DEBUG LOADAOF (and the AOF load every start uses), DUMP, RESTORE and MIGRATE.

The work is :class:`respcache.persistence.saver.RdbSaver`'s (``engine.persistence``); the
handlers only give Redis 7.0.15's replies (``rdb.c`` ``saveCommand``/``bgsaveCommand``,
``debug.c`` ``DEBUG RELOAD``, ``server.c`` ``prepareForShutdown``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from typing import TYPE_CHECKING

from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.commands.sets import notify_new
from respcache.errors import NOT_INTEGER, SYNTAX, CommandError
from respcache.persistence.aof import MARK_EPOCH_AUX, AofError, AofStatus
from respcache.persistence.dump import create_payload, load_payload, verify_payload
from respcache.persistence.encodings import canonical_int
from respcache.persistence.loading import Steps, drain
from respcache.persistence.rdb import LoadResult, RdbError, load_rdb
from respcache.persistence.saver import RdbSaver, SaveError
from respcache.protocol.types import OK, Reply

if TYPE_CHECKING:
    from respcache.commands.engine import Engine

log = logging.getLogger("respcache.persistence")

IN_PROGRESS = "ERR Background save already in progress"


@command(
    "lastsave",
    arity=1,
    flags="loading stale fast",
    group="server",
    summary="Get the UNIX time stamp of the last successful save to disk",
    since="1.0.0",
    complexity="O(1)",
    acl="@admin @fast @dangerous",
)
def lastsave(c: Client, argv: list[bytes]) -> Reply:
    return c.engine.persistence.lastsave


@command(
    "save",
    arity=1,
    flags="admin noscript no_async_loading no_multi",
    group="server",
    summary="Synchronously save the dataset to disk",
    since="1.0.0",
    complexity="O(N) where N is the total number of keys in all databases",
    acl="@admin @slow @dangerous",
)
def save(c: Client, argv: list[bytes]) -> Reply:
    saver = c.engine.persistence
    if saver.child is not None:
        raise CommandError(IN_PROGRESS)
    try:
        saver.save()
    except SaveError:
        raise CommandError("ERR") from None
    return OK


@command(
    "bgsave",
    arity=-1,
    flags="admin noscript no_async_loading",
    group="server",
    summary="Asynchronously save the dataset to disk",
    since="1.0.0",
    complexity="O(1)",
    acl="@admin @slow @dangerous",
)
def bgsave(c: Client, argv: list[bytes]) -> Reply:
    schedule = False
    if len(argv) > 1:
        if len(argv) == 2 and argv[1].lower() == b"schedule":
            schedule = True
        else:
            raise CommandError(SYNTAX)
    saver = c.engine.persistence
    saver.poll()
    c.engine.aof.poll()
    if saver.child is not None:
        raise CommandError(IN_PROGRESS)
    if c.engine.aof.child is not None or c.in_exec:
        # Redis does not fork inside EXEC, nor beside another child: it schedules
        if schedule or c.in_exec:
            saver.bgsave_scheduled = True
            return "Background saving scheduled"
        raise CommandError(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE "
            "SCHEDULE in order to schedule a BGSAVE whenever possible."
        )
    try:
        saver.bgsave()
    except SaveError:
        raise CommandError("ERR") from None
    return "Background saving started"


@command(
    "bgrewriteaof",
    arity=1,
    flags="admin noscript no_async_loading",
    group="server",
    summary="Asynchronously rewrite the append-only file",
    since="1.0.0",
    complexity="O(1)",
    acl="@admin @slow @dangerous",
)
def bgrewriteaof(c: Client, argv: list[bytes]) -> Reply:
    """``bgrewriteaofCommand``."""
    aof = c.engine.aof
    saver = c.engine.persistence
    aof.poll()
    saver.poll()
    if aof.child is not None:
        raise CommandError("ERR Background append only file rewriting already in progress")
    if saver.child is not None or c.in_exec:
        aof.rewrite_scheduled = True
        aof.consecutive_failures = 0
        return "Background append only file rewriting scheduled"
    try:
        aof.rewrite_background()
    except AofError:
        raise CommandError(
            "ERR Can't execute an AOF background rewriting. Please check the server logs for "
            "more information."
        ) from None
    return "Background append only file rewriting started"


def load_aof(engine: Engine) -> AofStatus:
    """:func:`load_aof_steps` run to its end (nothing else runs meanwhile)."""
    return drain(load_aof_steps(engine))


def load_aof_steps(engine: Engine) -> Steps[AofStatus]:
    """``loadAppendOnlyFiles`` into the engine: each command runs as on the master link
    (no gate), nothing is propagated, no key expires while loading (Redis's ``loading``).
    Yields where Redis processes events while it loads (``persistence/loading.py``)."""
    client = Client(engine)
    client.is_master = True
    client.no_touch = True
    client.authenticated = True
    ks = engine.keyspace
    propagator, engine.propagator = engine.propagator, None
    expire_keys, ks.expire_keys = ks.expire_keys, False
    ks.loading = True
    saver = engine.persistence

    def execute(argv: list[bytes]) -> bool:
        try:
            if engine.lookup(argv) is None:
                return False
        except CommandError:
            return False
        verdict = engine.execute(client, argv)
        if type(verdict) is CommandError:
            log.warning(
                "Error executing %s from the AOF: %s",
                argv[0].decode("utf-8", "replace"),
                verdict.message,
            )
        return True

    try:
        status = yield from engine.aof.load_steps(execute, progress=saver.progress)
    finally:
        ks.expire_keys = expire_keys
        ks.loading = False
        engine.propagator = propagator
        if client.multi is not None:
            engine.discard_transaction(client)
    saver.dirty_at_save = engine.dirty
    mark = engine.aof.loaded_mark
    if mark is not None and status not in (AofStatus.FAILED, AofStatus.OPEN_ERR):
        # The replication history the files hold, as an RDB's aux fields would say it.
        replid, offset, epoch = mark
        saver.last_load = LoadResult(
            aux={
                "repl-id": replid.encode(),
                "repl-offset": b"%d" % offset,
                MARK_EPOCH_AUX: b"%d" % epoch,
            }
        )
    return status


@command(
    "debug|aof-flush-sleep",
    arity=3,
    flags="admin noscript loading stale",
    group="server",
    summary="Sleep before each AOF write (testing the reply barrier)",
    since="7.0.0",
    complexity="O(1)",
    acl="@admin @slow @dangerous",
)
def debug_aof_flush_sleep(c: Client, argv: list[bytes]) -> Reply:
    """DEBUG AOF-FLUSH-SLEEP <microsec>: ``server.aof_flush_sleep`` (Redis's debug.c)."""
    try:
        c.engine.aof.flush_sleep_us = max(0, int(argv[2]))
    except ValueError:
        raise CommandError(NOT_INTEGER) from None
    return OK


@command(
    "debug|loadaof",
    arity=2,
    flags="admin noscript loading stale",
    group="server",
    summary="Flush the AOF buffers on disk and reload the AOF in memory",
    since="1.0.0",
    complexity="O(N)",
    acl="@admin @slow @dangerous",
)
def debug_loadaof(c: Client, argv: list[bytes]) -> Reply:
    """DEBUG LOADAOF: flush the AOF, empty the dataset, load the AOF files again."""
    engine = c.engine
    aof = engine.aof
    dirty = engine.dirty
    if aof.enabled:
        aof.flush(force=True)
    engine.keyspace.flushall()
    engine.watches.touch_all()
    try:
        aof.load_manifest()
    except AofError as err:
        log.warning("DEBUG LOADAOF: %s", err)
        os._exit(1)
    aof.del_history()
    status = load_aof(engine)
    if status not in (AofStatus.OK, AofStatus.EMPTY, AofStatus.TRUNCATED, AofStatus.NOT_EXIST):
        log.warning("DEBUG LOADAOF failed: %s. Exiting.", status.value)
        os._exit(1)
    # Redis's "server.dirty = 0; /* Prevent AOF / replication */": the load is no write
    # (propagated, DEBUG LOADAOF would land in the AOF and reload itself when replayed).
    engine.dirty = engine.persistence.dirty_at_save = dirty
    log.warning("Append Only File loaded by DEBUG LOADAOF")
    return OK


def shutdown_save(saver: RdbSaver, save_flag: bool, nosave: bool, force: bool) -> bool:
    """``prepareForShutdown``'s save: kill a background save, then save in the foreground
    when asked (SAVE) or when save points are set (unless NOSAVE). False: refuse to stop.
    Never while loading: the dataset is partial ("Don't save if we're loading")."""
    saver.kill_child()
    if nosave or saver.loading or not (save_flag or saver.config.save):
        return True
    log.info("Saving the final RDB snapshot before exiting.")
    try:
        saver.save()
    except SaveError:
        if force:
            log.warning("Error trying to save the DB, can't exit (FORCE given: exiting anyway).")
            return True
        log.warning("Error trying to save the DB, can't exit.")
        return False
    saver.shutdown_saved = True
    return True


def after_flushall(saver: RdbSaver) -> None:
    """``flushAllDataAndResetRDB``: a running BGSAVE is killed (its file would hold the old
    data) and, with save points set, the now empty dataset is saved."""
    saver.kill_child()
    if saver.config.save:
        with contextlib.suppress(SaveError):  # logged; Redis ignores the result too
            saver.save()


@command(
    "debug|reload",
    arity=-2,
    flags="admin noscript loading stale",
    group="server",
    summary="Save the RDB on disk and reload it back to memory",
    since="1.0.0",
    complexity="O(N)",
    acl="@admin @slow @dangerous",
)
def debug_reload(c: Client, argv: list[bytes]) -> Reply:
    """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the dataset, load the file."""
    merge = noflush = nosave = False
    for arg in argv[2:]:
        option = arg.lower()
        if option == b"merge":
            merge = True
        elif option == b"noflush":
            noflush = True
        elif option == b"nosave":
            nosave = True
        else:
            raise CommandError(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
            )
    engine = c.engine
    saver = engine.persistence
    if not nosave:
        try:
            saver.save()
        except SaveError:
            raise CommandError("ERR Error trying to save the DB") from None
    try:
        with open(saver.path, "rb") as f:
            data = f.read()
    except OSError:
        raise CommandError("ERR Error trying to load the RDB dump, check server logs.") from None
    ks = engine.keyspace
    if not noflush:  # emptyData(-1, EMPTYDB_NO_FLAGS): the libraries go too
        ks.flushall()
        ks.functions.clear()
        engine.watches.touch_all()
    try:
        load_rdb(data, ks, allow_dup=merge, verify_checksum=engine.config.rdbchecksum)
    except RdbError as err:
        log.warning("DEBUG RELOAD: %s", err)
        raise CommandError("ERR Error trying to load the RDB dump, check server logs.") from None
    log.info("DB reloaded by DEBUG RELOAD")
    return OK


# --- DUMP / RESTORE -----------------------------------------------------------------------------


@command(
    "dump",
    arity=2,
    flags="readonly",
    group="generic",
    summary="Return a serialized version of the value stored at the specified key.",
    since="2.6.0",
    complexity="O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
    acl="@keyspace @read @slow",
    keys=(1, 1, 1),
)
def dump(c: Client, argv: list[bytes]) -> Reply:
    value = c.db.lookup(argv[1])
    if value is None:
        return None
    try:
        return create_payload(value, c.engine.config.rdbcompression)
    except RdbError as err:
        raise CommandError(f"ERR {err}") from None


def _long(arg: bytes) -> int:
    number = canonical_int(arg)
    if number is None:
        raise CommandError(NOT_INTEGER)
    return number


@command(
    "restore",
    arity=-4,
    flags="write denyoom",
    group="generic",
    summary="Create a key using the provided serialized value, previously obtained using DUMP.",
    since="2.6.0",
    complexity="O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
    acl="@keyspace @write @slow @dangerous",
    keys=(1, 1, 1),
)
def restore(c: Client, argv: list[bytes]) -> Reply:
    """RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] (``restoreCommand``)."""
    replace = absttl = False
    freq = idle = -1
    j = 4
    n = len(argv)
    while j < n:
        option = argv[j].lower()
        more = n - j - 1
        if option == b"replace":
            replace = True
        elif option == b"absttl":
            absttl = True
        elif option == b"idletime" and more >= 1 and freq == -1:
            idle = _long(argv[j + 1])
            if idle < 0:
                raise CommandError("ERR Invalid IDLETIME value, must be >= 0")
            j += 1
        elif option == b"freq" and more >= 1 and idle == -1:
            freq = _long(argv[j + 1])
            if not 0 <= freq <= 255:
                raise CommandError("ERR Invalid FREQ value, must be >= 0 and <= 255")
            j += 1
        else:
            raise CommandError(SYNTAX)
        j += 1
    key = argv[1]
    db = c.db
    if not replace and db.lookup_write(key) is not None:
        raise CommandError("BUSYKEY Target key name already exists.")
    ttl = _long(argv[2])
    if ttl < 0:
        raise CommandError("ERR Invalid TTL value, must be >= 0")
    payload = argv[3]
    if not verify_payload(payload):
        raise CommandError("ERR DUMP payload version or checksum are wrong")
    try:
        value = load_payload(payload)
    except RdbError:
        raise CommandError("ERR Bad data format") from None
    deleted = replace and db.delete(key)
    ks = c.engine.keyspace
    if ttl and not absttl:
        ttl += ks.now_ms
    if ttl and ttl <= ks.now_ms and ks.expire_keys:  # checkAlreadyExpired
        if deleted:
            c.propagate_as = [[b"DEL", key]]
            c.modified(key, b"del", "g")
        return OK
    db.set(key, value)
    notify_new(c, key)
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:
            c.propagate_as = [[*argv[:2], b"%d" % ttl, *argv[3:], b"ABSTTL"]]
    if freq != -1 and ks.lfu_enabled:
        db.lfu[key] = (ks.lfu_new() & ~0xFF) | freq
    # IDLETIME: respcache keeps LRU order, not access times; an idle key goes first in line.
    if idle > 0 and not ks.lfu_enabled:
        db.data.move_to_end(key, last=False)
        if key in db.expires:
            db.expires.move_to_end(key, last=False)
    c.modified(key, b"restore", "g")
    return OK


# --- MIGRATE ---------------------------------------------------------------------------------------


def _bulk_command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


class _TargetLine:
    """Reads the target's status lines (``connSyncReadLine``) from a blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def read(self) -> bytes:
        while b"\r\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise OSError("connection closed")
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line


@command(
    "migrate",
    arity=-6,
    flags="write movablekeys",
    keys=(3, 3, 1),
    group="generic",
    summary="Atomically transfer a key from a Redis instance to another one.",
    since="2.6.0",
    complexity="This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.",
    acl="@keyspace @write @slow @dangerous",
)
def migrate(c: Client, argv: list[bytes]) -> Reply:
    """MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw]
    [KEYS key...] (``migrateCommand``). Blocking, with the timeout, as in Redis; the keys
    moved (not COPY) are deleted here and replicated as one DEL."""
    copy = replace = False
    username = password = None
    first, count = 3, 1
    j = 6
    n = len(argv)
    while j < n:
        option = argv[j].lower()
        more = n - j - 1
        if option == b"copy":
            copy = True
        elif option == b"replace":
            replace = True
        elif option == b"auth":
            if not more:
                raise CommandError(SYNTAX)
            j += 1
            password = argv[j]
        elif option == b"auth2":
            if more < 2:
                raise CommandError(SYNTAX)
            username, password = argv[j + 1], argv[j + 2]
            j += 2
        elif option == b"keys":
            if argv[3]:
                raise CommandError(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to "
                    "the empty string"
                )
            first, count = j + 1, n - j - 1
            break
        else:
            raise CommandError(SYNTAX)
        j += 1
    timeout_ms = _long(argv[5])
    dbid = _long(argv[4])
    if timeout_ms <= 0:
        timeout_ms = 1000
    db = c.db
    ks = c.engine.keyspace
    keys = [k for k in argv[first : first + count] if db.lookup(k) is not None]
    if not keys:
        return "NOKEY"
    compress = c.engine.config.rdbcompression
    parts: list[bytes] = []
    if password is not None:
        parts.append(
            _bulk_command(b"AUTH", username, password)
            if username is not None
            else _bulk_command(b"AUTH", password)
        )
    parts.append(_bulk_command(b"SELECT", b"%d" % dbid))
    moving: list[bytes] = []
    for key in keys:
        ttl = 0
        when = db.get_expire(key)
        if when is not None:
            ttl = when - ks.now_ms
            if ttl < 0:
                continue
            ttl = max(ttl, 1)
        value = db.peek(key)
        if value is None:
            continue
        try:
            payload = create_payload(value, compress)
        except RdbError as err:
            raise CommandError(f"ERR {err}") from None
        args = [b"RESTORE", key, b"%d" % ttl, payload] + ([b"REPLACE"] if replace else [])
        parts.append(_bulk_command(*args))
        moving.append(key)
    host = argv[1].decode("utf-8", "replace")
    timeout = timeout_ms / 1000
    try:
        sock = socket.create_connection((host, _long(argv[2])), timeout=timeout)
    except ConnectionRefusedError:
        # Redis's non-blocking connect "succeeds" and the refusal shows at the first write.
        raise CommandError("IOERR error or timeout writing to target instance") from None
    except (OSError, OverflowError):
        raise CommandError("IOERR error or timeout connecting to the client") from None
    moved: list[bytes] = []
    error: str | None = None
    stage = "writing"
    with sock:
        try:
            sock.sendall(b"".join(parts))
            stage = "reading"
            lines = _TargetLine(sock)
            auth_line = lines.read() if password is not None else b""
            select_line = lines.read()
            for key in moving:
                line = lines.read()
                failed = auth_line[:1] == b"-" or select_line[:1] == b"-" or line[:1] == b"-"
                if failed:
                    if error is None:
                        bad = next(x for x in (auth_line, select_line, line) if x[:1] == b"-")
                        error = bad[1:].decode("utf-8", "replace")
                elif not copy:
                    db.delete(key)
                    c.modified(key, b"del", "g")
                    moved.append(key)
        except OSError:
            if moved and not copy:
                c.propagate_as = [[b"DEL", *moved]]
            if error is not None:
                raise CommandError(f"ERR Target instance replied with error: {error}") from None
            raise CommandError(f"IOERR error or timeout {stage} to target instance") from None
    if moved:
        c.propagate_as = [[b"DEL", *moved]]
    if error is not None:
        raise CommandError(f"ERR Target instance replied with error: {error}")
    return OK
