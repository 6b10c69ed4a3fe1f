"""Persistence commands: SAVE, BGSAVE [SCHEDULE], LASTSAVE, DEBUG RELOAD, and SHUTDOWN's save.

The work is :class:`respcache.persistence.saver.RdbSaver`'s (``engine.persistence``); the
handlers only give Redis 7.0.15's replies (``rdb.c`` ``saveCommand``/``bgsaveCommand``,
``debug.c`` ``DEBUG RELOAD``, ``server.c`` ``prepareForShutdown``).
"""

from __future__ import annotations

import logging

from respcache.commands.client import Client
from respcache.commands.registry import command
from respcache.errors import SYNTAX, CommandError
from respcache.persistence.rdb import RdbError, load_rdb
from respcache.persistence.saver import RdbSaver, SaveError
from respcache.protocol.types import OK, Reply

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
    if saver.child is not None:
        raise CommandError(IN_PROGRESS)
    if c.in_exec:  # Redis does not fork inside EXEC: it schedules
        saver.bgsave_scheduled = True
        return "Background saving scheduled"
    try:
        saver.bgsave()
    except SaveError:
        raise CommandError("ERR") from None
    del schedule  # only matters while another child runs, which cannot happen here
    return "Background saving started"


def shutdown_save(saver: RdbSaver, save_flag: bool, nosave: bool, force: bool) -> bool:
    """``prepareForShutdown``'s save: kill a background save, then save in the foreground
    when asked (SAVE) or when save points are set (unless NOSAVE). False: refuse to stop."""
    saver.kill_child()
    if nosave or not (save_flag or saver.config.save):
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
    if not noflush:
        ks.flushall()
        engine.touch_all_watched()
    try:
        load_rdb(data, ks, allow_dup=merge, verify_checksum=engine.config.rdbchecksum)
    except RdbError as err:
        log.warning("DEBUG RELOAD: %s", err)
        raise CommandError("ERR Error trying to load the RDB dump, check server logs.") from None
    log.info("DB reloaded by DEBUG RELOAD")
    return OK
