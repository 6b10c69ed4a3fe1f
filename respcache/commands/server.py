"""Server commands: INFO, CONFIG, DBSIZE, FLUSHDB/FLUSHALL, TIME, MEMORY, SHUTDOWN,
DEBUG, SLOWLOG, LATENCY, ROLE.

SAVE, BGSAVE, LASTSAVE and DEBUG RELOAD live in :mod:`respcache.commands.persistence`;
SHUTDOWN saves through it as Redis's ``prepareForShutdown`` does. DEBUG has the
subcommands that mean something here (SLEEP, OBJECT, HELP); DEBUG DIGEST belongs to
replication.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Final

from respcache.commands import debugging
from respcache.commands.args import parse_int
from respcache.commands.client import Client
from respcache.commands.info import admin_state, bytes_to_human, info_text, rss_bytes
from respcache.commands.introspection import help_reply
from respcache.commands.keys import object_encoding
from respcache.commands.memory import hashtables, memory_overhead
from respcache.commands.persistence import after_flushall, shutdown_save
from respcache.commands.registry import command
from respcache.commands.scripting import scripting_state
from respcache.errors import NOT_INTEGER, SYNTAX, CommandError, ConfigError
from respcache.protocol.types import OK, Reply, Verbatim
from respcache.store.memory import breakdown
from respcache.store.values import EXPIRE_OVERHEAD, entry_size


def _text(c: Client, text: str) -> Reply:
    """A human-readable report: a verbatim string in RESP3, a bulk string in RESP2."""
    data = text.encode("utf-8", "surrogateescape")
    return Verbatim(data) if c.resp == 3 else data


def _decode(arg: bytes) -> str:
    return arg.decode("utf-8", "surrogateescape")


# --- INFO -----------------------------------------------------------------------------------


@command(
    "info",
    arity=-1,
    flags="loading stale",
    group="server",
    summary="Get information and statistics about the server",
    since="1.0.0",
    complexity="O(1)",
    acl="@slow @dangerous",
)
def info(c: Client, argv: list[bytes]) -> Reply:
    return _text(c, info_text(c.engine, [_decode(arg) for arg in argv[1:]]))


# --- CONFIG -----------------------------------------------------------------------------------

CONFIG_HELP: Final = (
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
)

_CONFIG_FLAGS = "admin noscript loading stale"
_ADMIN_ACL = "@admin @slow @dangerous"


@command(
    "config|get",
    arity=-3,
    flags=_CONFIG_FLAGS,
    group="server",
    summary="Get the values of configuration parameters",
    since="2.0.0",
    complexity="O(N) when N is the number of configuration parameters provided",
    acl=_ADMIN_ACL,
)
def config_get(c: Client, argv: list[bytes]) -> Reply:
    found = c.engine.config.matching([_decode(arg) for arg in argv[2:]])
    return {
        name.encode("utf-8", "surrogateescape"): value.encode("utf-8", "surrogateescape")
        for name, value in found.items()
    }


@command(
    "config|set",
    arity=-4,
    flags=_CONFIG_FLAGS,
    group="server",
    summary="Set configuration parameters to the given values",
    since="2.0.0",
    complexity="O(N) when N is the number of configuration parameters provided",
    acl=_ADMIN_ACL,
)
def config_set(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) % 2:
        raise CommandError(SYNTAX)
    pairs = [(_decode(argv[i]), _decode(argv[i + 1])) for i in range(2, len(argv), 2)]
    try:
        c.engine.config.set_many(pairs)
    except ConfigError as err:
        raise CommandError(str(err)) from None
    return OK


def reset_stats(c: Client) -> None:
    """CONFIG RESETSTAT: the counters of INFO stats, commandstats and errorstats."""
    engine = c.engine
    stats = engine.stats
    fresh = type(stats)()
    for f in dataclasses.fields(stats):
        setattr(stats, f.name, getattr(fresh, f.name))
    ks = engine.keyspace
    ks.hits = ks.misses = ks.expired_keys = ks.evicted_keys = 0
    ks.expire_cycle_stale_perc = 0.0
    ks.lazyfree.reset_stats()
    admin_state(engine).peak_memory = 0


@command(
    "config|resetstat",
    arity=2,
    flags=_CONFIG_FLAGS,
    group="server",
    summary="Reset the stats returned by INFO",
    since="2.0.0",
    complexity="O(1)",
    acl=_ADMIN_ACL,
)
def config_resetstat(c: Client, argv: list[bytes]) -> Reply:
    reset_stats(c)
    return OK


@command(
    "config|rewrite",
    arity=2,
    flags=_CONFIG_FLAGS,
    group="server",
    summary="Rewrite the configuration file with the in memory configuration",
    since="2.8.0",
    complexity="O(1)",
    acl=_ADMIN_ACL,
)
def config_rewrite(c: Client, argv: list[bytes]) -> Reply:
    try:
        c.engine.config.rewrite()
    except ConfigError as err:
        raise CommandError(str(err)) from None
    return OK


@command(
    "config|help",
    arity=2,
    flags="loading stale",
    group="server",
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
    acl="@slow",
)
def config_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("CONFIG", CONFIG_HELP)


# --- the dataset ------------------------------------------------------------------------------


@command(
    "dbsize",
    arity=1,
    flags="readonly fast",
    group="server",
    summary="Return the number of keys in the selected database",
    since="1.0.0",
    complexity="O(1)",
    acl="@keyspace @read @fast",
)
def dbsize(c: Client, argv: list[bytes]) -> Reply:
    return len(c.db)


def _flush_async(c: Client, argv: list[bytes]) -> bool:
    """FLUSHDB/FLUSHALL's ASYNC or SYNC; without either ``lazyfree-lazy-user-flush`` decides.

    ASYNC hands the old tables to the lazy-free thread (``emptyDbAsync``): the keys
    are gone at once, their memory is released in the background.
    """
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise CommandError(SYNTAX)
    if len(argv) == 2:
        return argv[1].lower() == b"async"
    return bool(c.engine.config.lazyfree_lazy_user_flush)


@command(
    "flushdb",
    arity=-1,
    flags="write",
    group="server",
    summary="Remove all keys from the current database",
    since="1.0.0",
    complexity="O(N) where N is the number of keys in the selected database",
    acl="@keyspace @write @slow @dangerous",
)
def flushdb(c: Client, argv: list[bytes]) -> Reply:
    lazy = _flush_async(c, argv)
    engine = c.engine
    engine.watches.touch_on_flush(c.db.id)  # before the data goes: only existing keys count
    old = [c.db.data, c.db.expires] if lazy and len(c.db) else None
    removed = c.db.clear()
    if old is not None:
        engine.keyspace.lazyfree.free(old, removed)
        del old
    engine.tracking.flushed()
    engine.blocked_clients.signal_flushed(c.db.id)
    engine.dirty += removed + 1  # replicated even when the db was already empty
    return OK


@command(
    "flushall",
    arity=-1,
    flags="write",
    group="server",
    summary="Remove all keys from all databases",
    since="1.0.0",
    complexity="O(N) where N is the total number of keys in all databases",
    acl="@keyspace @write @slow @dangerous",
)
def flushall(c: Client, argv: list[bytes]) -> Reply:
    lazy = _flush_async(c, argv)
    engine = c.engine
    engine.watches.touch_on_flush(None)
    ks = engine.keyspace
    old = [t for db in ks.dbs if len(db) for t in (db.data, db.expires)] if lazy else []
    removed = ks.flushall()
    if old:
        ks.lazyfree.free(old, removed)
        del old
    engine.tracking.flushed()
    engine.blocked_clients.signal_flushed(None)
    engine.dirty += removed
    after_flushall(engine.persistence)
    engine.dirty += 1
    return OK


@command(
    "time",
    arity=1,
    flags="loading stale fast",
    group="server",
    summary="Return the current server time",
    since="2.6.0",
    complexity="O(1)",
    acl="@fast",
)
def time_(c: Client, argv: list[bytes]) -> Reply:
    now_us = time.time_ns() // 1000
    return [b"%d" % (now_us // 1_000_000), b"%d" % (now_us % 1_000_000)]


@command(
    "shutdown",
    arity=-1,
    flags="admin noscript loading stale no_multi allow_busy",
    group="server",
    summary="Synchronously save the dataset to disk and then shut down the server",
    since="1.0.0",
    complexity="O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
    acl="@admin @slow @dangerous",
)
def shutdown(c: Client, argv: list[bytes]) -> Reply:
    nosave = save_flag = now = force = abort = False
    for arg in argv[1:]:
        option = arg.lower()
        if option == b"nosave":
            nosave = True
        elif option == b"save":
            save_flag = True
        elif option == b"now":
            now = True
        elif option == b"force":
            force = True
        elif option == b"abort":
            abort = True
        else:
            raise CommandError(SYNTAX)
    if (abort and (nosave or save_flag or now or force)) or (nosave and save_flag):
        raise CommandError(SYNTAX)
    if abort:
        raise CommandError("ERR No shutdown in progress.")
    if not nosave and c.engine.busy is not None:  # a busy script: only SHUTDOWN NOSAVE
        raise CommandError(c.engine.busy.message)
    hook = c.engine.shutdown_hook
    if hook is None:
        raise CommandError("ERR Errors trying to SHUTDOWN. Check logs.")
    if not shutdown_save(c.engine.persistence, save_flag, nosave, force):
        raise CommandError("ERR Errors trying to SHUTDOWN. Check logs.")
    hook(nosave)
    # Redis answers nothing: the connection closes as the server stops. The server
    # skips the reply of a command that leaves reply_mode at "skip".
    if c.reply_mode == "on":
        c.reply_mode = "skip"
    return None


# --- MEMORY -----------------------------------------------------------------------------------

MEMORY_HELP: Final = (
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
)


@command(
    "memory|usage",
    arity=-3,
    flags="readonly",
    keys=(2, 2, 1),
    group="server",
    summary="Estimate the memory usage of a key",
    since="4.0.0",
    complexity="O(N) where N is the number of samples.",
    acl="@read @slow",
)
def memory_usage(c: Client, argv: list[bytes]) -> Reply:
    """The key's share of ``used_memory`` (respcache's estimate, exact for its own model)."""
    i = 3
    while i < len(argv):
        if argv[i].lower() == b"samples" and i + 1 < len(argv):
            if parse_int(argv[i + 1], NOT_INTEGER) < 0:
                raise CommandError(SYNTAX)
            i += 2
        else:
            raise CommandError(SYNTAX)
    key = argv[2]
    value = c.db.peek(key)
    if value is None:
        return None
    size = entry_size(key, value)
    if c.db.get_expire(key) is not None:
        size += EXPIRE_OVERHEAD
    return size


@command(
    "memory|stats",
    arity=2,
    group="server",
    summary="Show memory usage details",
    since="4.0.0",
    complexity="O(1)",
    acl="@slow",
)
def memory_stats(c: Client, argv: list[bytes]) -> Reply:
    """Redis's MEMORY STATS from the same figures as INFO memory (commands/memory.py)."""
    engine = c.engine
    ks = engine.keyspace
    overhead = memory_overhead(engine)
    used = ks.used_memory + overhead.total
    state = admin_state(engine)
    state.peak_memory = peak = max(state.peak_memory, used)
    rss = rss_bytes()
    keys = ks.total_keys()
    reply: dict[Reply, Reply] = {
        b"peak.allocated": peak,
        b"total.allocated": used,
        b"startup.allocated": overhead.startup,
        b"replication.backlog": overhead.replication_backlog,
        b"clients.slaves": overhead.clients_slaves,
        b"clients.normal": overhead.clients_normal,
        b"cluster.links": overhead.cluster_links,
        b"aof.buffer": overhead.aof_buffer,
        b"lua.caches": overhead.lua_caches,
        b"functions.caches": overhead.functions_caches,
    }
    tables = hashtables(ks)
    for dbid, main, expires in tables:
        reply[b"db.%d" % dbid] = {
            b"overhead.hashtable.main": main,
            b"overhead.hashtable.expires": expires,
            b"overhead.hashtable.slot-to-keys": 0,
        }
    split = breakdown(used, sum(m + e for _, m, e in tables), overhead)
    reply.update(
        {
            b"overhead.total": split.overhead,
            b"keys.count": keys,
            b"keys.bytes-per-key": split.net // keys if keys else 0,
            b"dataset.bytes": split.dataset,
            b"dataset.percentage": split.dataset_perc,
            b"peak.percentage": used * 100 / peak if peak else 100.0,
            b"allocator.allocated": used,
            b"allocator.active": used,
            b"allocator.resident": rss,
            b"allocator-fragmentation.ratio": 1.0,
            b"allocator-fragmentation.bytes": 0,
            b"allocator-rss.ratio": rss / used if used else 1.0,
            b"allocator-rss.bytes": rss - used,
            b"rss-overhead.ratio": 1.0,
            b"rss-overhead.bytes": 0,
            b"fragmentation": rss / used if used else 1.0,
            b"fragmentation.bytes": rss - used,
        }
    )
    return reply


DOCTOR_BIG_PEAK: Final = (
    " * Peak memory: In the past this instance used more than 150% the memory that is "
    "currently using. The allocator is normally not able to release memory after a peak, "
    "so you can expect to see a big fragmentation ratio, however this is actually harmless "
    "and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) "
    "is currently bigger than expected, the memory will be used as soon as you fill the "
    "Redis instance with more data. If the memory peak was only occasional and you want to "
    "try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other "
    "option is to shutdown and restart the instance.\n\n"
)
DOCTOR_BIG_SLAVE_BUF: Final = (
    " * Big replica buffers: The replica output buffers in this instance are greater than "
    "10MB for each replica (on average). This likely means that there is some replica "
    "instance that is struggling receiving data, either because it is too slow or because "
    "of networking issues. As a result, data piles on the master output buffers. Please "
    "try to identify what replica is not receiving data correctly and why. You can use the "
    "INFO output in order to check the replicas delays and the CLIENT LIST command to check "
    "the output buffers of each replica.\n\n"
)
DOCTOR_BIG_CLIENT_BUF: Final = (
    " * Big client buffers: The clients output buffers in this instance are greater than "
    "200K per client (on average). This may result from different causes, like Pub/Sub "
    "clients subscribed to channels bot not receiving data fast enough, so that data piles "
    "on the Redis instance output buffer, or clients sending commands with large replies "
    "or very large sequences of commands in the same pipeline. Please use the CLIENT LIST "
    "command in order to investigate the issue if it causes problems in your instance, or "
    "to understand better why certain clients are using a big amount of memory.\n\n"
)
DOCTOR_MANY_SCRIPTS: Final = (
    " * Many scripts: There seem to be many cached scripts in this instance (more than "
    "1000). This may be because scripts are generated and `EVAL`ed, instead of being "
    "parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT "
    "FLUSH` is called periodically, the scripts' caches may end up consuming most of your "
    "memory.\n\n"
)


@command(
    "memory|doctor",
    arity=2,
    group="server",
    summary="Outputs memory problems report",
    since="4.0.0",
    complexity="O(1)",
    acl="@slow",
)
def memory_doctor(c: Client, argv: list[bytes]) -> Reply:
    """getMemoryDoctorReport's checks that respcache's figures answer: an empty instance,
    a peak over 150% of now, big client or replica buffers, many cached scripts (the
    allocator and RSS checks have no allocator figures to look at)."""
    engine = c.engine
    overhead = memory_overhead(engine)
    used = engine.keyspace.used_memory + overhead.total
    issues: list[str] = []
    if used >= 1024 * 1024 * 5:
        if admin_state(engine).peak_memory / used > 1.5:
            issues.append(DOCTOR_BIG_PEAK)
        replicas = sum(1 for client in engine.clients.values() if client.is_replica)
        normal = len(engine.clients) - replicas
        if normal and overhead.clients_normal // normal > 1024 * 200:
            issues.append(DOCTOR_BIG_CLIENT_BUF)
        if replicas and overhead.clients_slaves > 1024 * 1024 * 10:
            issues.append(DOCTOR_BIG_SLAVE_BUF)
        if len(scripting_state(engine).scripts) > 1000:
            issues.append(DOCTOR_MANY_SCRIPTS)
    if used < 1024 * 1024 * 5:
        report = (
            "Hi Sam, this instance is empty or is using very little memory, my issues "
            "detector can't be used in these conditions. Please, leave for your mission on "
            "Earth and fill it with some data. The new Sam and I will be back to our "
            "programming as soon as I finished rebooting.\n"
        )
    elif not issues:
        report = (
            "Hi Sam, I can't find any memory issue in your instance. I can only account for "
            "what occurs on this base.\n"
        )
    else:
        report = (
            "Sam, I detected a few issues in this Redis instance memory implants:\n\n"
            + "".join(issues)
            + "I'm here to keep you safe, Sam. I want to help you.\n"
        )
    return _text(c, report)


@command(
    "memory|malloc-stats",
    arity=2,
    group="server",
    summary="Show allocator internal stats",
    since="4.0.0",
    complexity="Depends on how much memory is allocated, could be slow",
    acl="@slow",
)
def memory_malloc_stats(c: Client, argv: list[bytes]) -> Reply:
    return _text(c, "Stats not supported for the current allocator")


@command(
    "memory|purge",
    arity=2,
    group="server",
    summary="Ask the allocator to release memory",
    since="4.0.0",
    complexity="Depends on how much memory is allocated, could be slow",
    acl="@slow",
)
def memory_purge(c: Client, argv: list[bytes]) -> Reply:
    return OK


@command(
    "memory|help",
    arity=2,
    flags="loading stale",
    group="server",
    summary="Show helpful text about the different subcommands",
    since="4.0.0",
    complexity="O(1)",
    acl="@slow",
)
def memory_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("MEMORY", MEMORY_HELP)


# --- DEBUG ------------------------------------------------------------------------------------

DEBUG_HELP: Final = (
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
)


def _sleep_seconds(arg: bytes) -> float:
    """C's ``atof``: the longest leading number, 0 if none."""
    text = _decode(arg).strip()
    for end in range(len(text), 0, -1):
        try:
            return max(0.0, float(text[:end]))
        except ValueError:
            continue
    return 0.0


@command(
    "debug",
    arity=-2,
    flags="admin noscript loading stale",
    group="server",
    summary="A container for debugging commands",
    since="1.0.0",
    complexity="Depends on subcommand.",
    acl="@admin @slow @dangerous",
)
def debug(c: Client, argv: list[bytes]) -> Reply:
    sub = argv[1].lower()
    n = len(argv)
    if sub == b"help" and n == 2:
        return help_reply("DEBUG", DEBUG_HELP)
    if sub == b"sleep" and n == 3:
        time.sleep(_sleep_seconds(argv[2]))  # blocks the server on purpose, as in Redis
        return OK
    if sub == b"object" and n == 3:
        value = c.db.data.get(argv[2])  # dictFind: an expired key not yet deleted is still there
        if value is None:
            raise CommandError("ERR no such key")
        length = len(value) if type(value) is bytes else entry_size(argv[2], value)
        lru = int(time.time()) & ((1 << 24) - 1)
        return (
            f"Value at:0x{id(value):x} refcount:1 encoding:{object_encoding(c, argv[2], value)} "
            f"serializedlength:{length} lru:{lru} lru_seconds_idle:0"
        )
    reply = debugging.dispatch(c, argv)  # SET-ACTIVE-EXPIRE, PROTOCOL, POPULATE...
    if reply is not None or sub in debugging.SUBCOMMANDS:
        return reply
    raise CommandError(
        f"ERR unknown subcommand or wrong number of arguments for '{_decode(argv[1])}'. "
        "Try DEBUG HELP."
    )


# --- SLOWLOG ----------------------------------------------------------------------------------

SLOWLOG_HELP: Final = (
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
)


@command(
    "slowlog|get",
    arity=-2,
    flags="admin loading stale",
    group="server",
    summary="Get the slow log's entries",
    since="2.2.12",
    complexity="O(N) where N is the number of entries returned",
    acl=_ADMIN_ACL,
)
def slowlog_get(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        raise CommandError(
            "ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP."
        )
    count = 10
    if len(argv) == 3:
        error = "ERR count should be greater than or equal to -1"
        count = parse_int(argv[2], error)
        if count < -1:
            raise CommandError(error)
    entries = list(c.engine.monitoring.slowlog)
    if count != -1:
        entries = entries[:count]
    return [[e.id, e.time, e.duration, list(e.argv), e.addr, e.name] for e in entries]


@command(
    "slowlog|len",
    arity=2,
    flags="admin loading stale",
    group="server",
    summary="Get the slow log's length",
    since="2.2.12",
    complexity="O(1)",
    acl=_ADMIN_ACL,
)
def slowlog_len(c: Client, argv: list[bytes]) -> Reply:
    return len(c.engine.monitoring.slowlog)


@command(
    "slowlog|reset",
    arity=2,
    flags="admin loading stale",
    group="server",
    summary="Clear all entries from the slow log",
    since="2.2.12",
    complexity="O(N) where N is the number of entries in the slowlog",
    acl=_ADMIN_ACL,
)
def slowlog_reset(c: Client, argv: list[bytes]) -> Reply:
    c.engine.monitoring.reset_slowlog()
    return OK


@command(
    "slowlog|help",
    arity=2,
    flags="loading stale",
    group="server",
    summary="Show helpful text about the different subcommands",
    since="6.2.0",
    complexity="O(1)",
    acl="@slow",
)
def slowlog_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("SLOWLOG", SLOWLOG_HELP)


# --- LATENCY ----------------------------------------------------------------------------------

LATENCY_HELP: Final = (
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the"
    " specified command names.",
    "    If no commands are specified then all histograms are replied.",
)


@command(
    "latency|latest",
    arity=2,
    flags="admin noscript loading stale",
    group="server",
    summary="Return the latest latency samples for all events.",
    since="2.8.13",
    complexity="O(1)",
    acl=_ADMIN_ACL,
)
def latency_latest(c: Client, argv: list[bytes]) -> Reply:
    out: list[Reply] = []
    for name, event in c.engine.monitoring.events.items():
        if not event.samples:
            continue
        when, ms = event.samples[-1]
        out.append([name.encode(), when, ms, event.max])
    return out


@command(
    "latency|history",
    arity=3,
    flags="admin noscript loading stale",
    group="server",
    summary="Return timestamp-latency samples for the event.",
    since="2.8.13",
    complexity="O(1)",
    acl=_ADMIN_ACL,
)
def latency_history(c: Client, argv: list[bytes]) -> Reply:
    event = c.engine.monitoring.events.get(_decode(argv[2]))
    if event is None:
        return []
    return [[when, ms] for when, ms in event.samples]


@command(
    "latency|reset",
    arity=-2,
    flags="admin noscript loading stale",
    group="server",
    summary="Reset latency data for one or more events.",
    since="2.8.13",
    complexity="O(1)",
    acl=_ADMIN_ACL,
)
def latency_reset(c: Client, argv: list[bytes]) -> Reply:
    names = [_decode(arg) for arg in argv[2:]] or None
    return c.engine.monitoring.reset_latency(names)


@command(
    "latency|doctor",
    arity=2,
    flags="admin noscript loading stale",
    group="server",
    summary="Return a human readable latency analysis report.",
    since="2.8.13",
    complexity="O(1)",
    acl=_ADMIN_ACL,
)
def latency_doctor(c: Client, argv: list[bytes]) -> Reply:
    """Redis's opening lines and per-event statistics (not its advice paragraphs)."""
    engine = c.engine
    if engine.config.latency_monitor_threshold == 0:
        return _text(
            c,
            "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
            'instance. You may use "CONFIG SET latency-monitor-threshold <milliseconds>." '
            "in order to enable it. If we weren't in a deep space mission I'd suggest to take "
            "a look at https://redis.io/topics/latency-monitor.\n",
        )
    events = [(name, ev) for name, ev in engine.monitoring.events.items() if ev.samples]
    if not events:
        return _text(
            c,
            "Dave, no latency spike was observed during the lifetime of this Redis instance, "
            "not in the slightest bit. I honestly think you ought to sit down calmly, take a "
            "stress pill, and think things over.\n",
        )
    lines = [
        "Dave, I have observed latency spikes in this Redis instance. "
        "You don't mind talking about it, do you Dave?\n"
    ]
    for i, (name, ev) in enumerate(events, 1):
        values = [ms for _, ms in ev.samples]
        avg = sum(values) / len(values)
        mad = sum(abs(v - avg) for v in values) / len(values)
        first, last = ev.samples[0][0], ev.samples[-1][0]
        period = (last - first) / len(values) if len(values) > 1 else 0.0
        lines.append(
            f"{i}. {name}: {len(values)} latency spikes (average {int(avg)}ms, mean deviation "
            f"{int(mad)}ms, period {period:.2f} sec). Worst all time event {ev.max}ms."
        )
    return _text(c, "\n".join(lines) + "\n")


@command(
    "latency|help",
    arity=2,
    flags="loading stale",
    group="server",
    summary="Show helpful text about the different subcommands.",
    since="2.8.13",
    complexity="O(1)",
    acl="@slow",
)
def latency_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("LATENCY", LATENCY_HELP)


# --- ROLE -------------------------------------------------------------------------------------


@command(
    "role",
    arity=1,
    flags="noscript loading stale fast",
    group="server",
    summary="Return the role of the instance in the context of replication",
    since="2.8.12",
    complexity="O(1)",
    acl="@admin @fast @dangerous",
)
def role(c: Client, argv: list[bytes]) -> Reply:
    """A standalone master; the replication layer answers through ``engine.role_provider``."""
    provider = c.engine.role_provider
    if provider is not None:
        return provider()
    return [b"master", 0, []]


__all__ = ["bytes_to_human", "reset_stats"]
