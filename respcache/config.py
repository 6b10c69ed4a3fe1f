"""Configuration: the table of settings, the :class:`Config` object and redis.conf files.

Every setting is data: a frozen :class:`Setting` in one registry, :data:`SETTINGS`, keyed
by its Redis name. The same table drives everything that touches configuration: parsing
a redis.conf-syntax file, ``--name value`` command-line pairs and ``RESPCACHE_*``
environment variables, ``CONFIG GET`` (glob patterns, aliases), ``CONFIG SET`` (all or
nothing, Redis's error texts), ``CONFIG REWRITE`` (comments and unknown lines kept) and the
commented ``conf/respcache.conf``.

A :class:`Config` is a plain object in the uvicorn style::

    config = Config(port=0, maxmemory="100mb", maxmemory_policy="allkeys-lru")
    config.maxmemory            # 100000000 (typed attribute, keyword names use underscores)
    config.get("maxmemory")     # the same value by Redis name
    config.render("maxmemory")  # '100000000', as CONFIG GET shows it
    config.set("maxmemory", "1gb")            # CONFIG SET: parse, validate, run callbacks
    config = Config.load("respcache.conf", ["--port", "7000"], os.environ)

Precedence when loading: defaults < file < environment (``RESPCACHE_MAXMEMORY_POLICY``) <
command line. Errors are :class:`~respcache.errors.ConfigError` whose message is the whole
reply text (``ERR CONFIG SET failed ...``); a bad file or command line raises
:class:`ConfigFileError`, whose text is redis-server's fatal report.
"""

from __future__ import annotations

import contextlib
import errno as errno_mod
import glob as glob_mod
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, NamedTuple, NoReturn, TypeVar, cast, overload

from respcache import REDIS_VERSION
from respcache.errors import ConfigError

__all__ = [
    "SETTINGS",
    "BufferLimit",
    "Config",
    "ConfigFileError",
    "Kind",
    "Setting",
    "lookup",
    "parse_memory",
    "split_args",
    "stringmatch",
]

Kind = Literal["int", "memory", "bool", "enum", "string", "float", "list", "special"]

INT_MAX = 2**31 - 1
UINT_MAX = 2**32 - 1
LLONG_MAX = 2**63 - 1
ULLONG_MAX = 2**64 - 1


# --------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setting:
    """One configuration setting, described as data.

    ``default`` is written as it would be in a config file (``"512mb"``, ``"yes"``) and
    parsed by the same code as user input, so defaults cannot drift from the parser.
    ``minimum``/``maximum`` bound int and memory settings (Redis's C type ranges, so the
    error texts match); ``choices`` lists an enum's values in Redis's order.
    """

    name: str
    kind: Kind
    default: str
    doc: str
    group: str
    mutable: bool = True
    minimum: int | float | None = None
    maximum: int | float | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    sensitive: bool = False
    """Redacted from SLOWLOG and MONITOR (passwords)."""
    multi_arg: bool = False
    """Takes several words (``bind a b``, ``save 3600 1 60 5``); CONFIG SET splits on spaces."""
    unsigned: bool = False
    """Range errors print like Redis's unsigned types (no effect on the bounds themselves)."""
    hidden: bool = False
    """Redis's HIDDEN_CONFIG: CONFIG GET answers it by exact name only, never for a glob."""

    @property
    def attribute(self) -> str:
        """The :class:`Config` attribute and keyword name: ``maxmemory_policy``."""
        return self.name.replace("-", "_")


def _int(
    name: str, default: int, doc: str, group: str, lo: int = 0, hi: int = INT_MAX, **kw: Any
) -> Setting:
    return Setting(name, "int", str(default), doc, group, minimum=lo, maximum=hi, **kw)


def _mem(
    name: str, default: str, doc: str, group: str, lo: int = 0, hi: int = LLONG_MAX, **kw: Any
) -> Setting:
    return Setting(name, "memory", default, doc, group, minimum=lo, maximum=hi, **kw)


def _bool(name: str, default: bool, doc: str, group: str, **kw: Any) -> Setting:
    return Setting(name, "bool", "yes" if default else "no", doc, group, **kw)


def _str(name: str, default: str, doc: str, group: str, **kw: Any) -> Setting:
    return Setting(name, "string", default, doc, group, **kw)


def _enum(
    name: str, default: str, choices: tuple[str, ...], doc: str, group: str, **kw: Any
) -> Setting:
    return Setting(name, "enum", default, doc, group, choices=choices, **kw)


_PROTECTED_ACTION = ("no", "yes", "local")  # config.c protected_action_enum

_MAXMEMORY_POLICIES = (
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
)

# Registry order is the order of CONFIG GET * replies, CONFIG REWRITE appends and
# conf/respcache.conf.
# fmt: off
_TABLE: tuple[Setting, ...] = (
    # --- network
    Setting("bind", "list", "127.0.0.1 -::1", "Addresses to listen on, space separated; a leading '-' makes one optional (skipped if unavailable). CONFIG SET listens anew (not on a ZooKeeper cluster node).", "network", multi_arg=True),
    _int("port", 6379, "TCP port for RESP clients; 0 disables TCP. CONFIG SET listens anew (not on a ZooKeeper cluster node).", "network", 0, 65535),
    _int("tcp-backlog", 511, "listen() backlog of the listening sockets.", "network", mutable=False),
    _str("unixsocket", "", "Path of a Unix socket to listen on as well; empty for none.", "network", mutable=False),
    Setting("unixsocketperm", "special", "0", "Permissions of the Unix socket, in octal (e.g. 700); 0 keeps the umask's.", "network", mutable=False, minimum=0, maximum=0o777, unsigned=True),
    _bool("protected-mode", True, "Refuse non-loopback clients while bound to the default addresses without a password.", "network"),
    _int("timeout", 0, "Close a client after this many idle seconds; 0 never.", "network"),
    _int("tcp-keepalive", 300, "SO_KEEPALIVE interval in seconds for client sockets; 0 disables it.", "network"),
    # --- general
    _enum("loglevel", "notice", ("debug", "verbose", "notice", "warning"), "Log verbosity: debug, verbose, notice or warning.", "general"),
    _str("logfile", "", "Log file path; empty logs to standard error.", "general", mutable=False),
    _str("pidfile", "", "Write the process id to this file while running; empty for none.", "general", mutable=False),
    Setting("dir", "special", ".", "Directory of the RDB file (and of the process's relative paths); CONFIG GET shows it as an absolute path.", "general"),
    _int("databases", 16, "Number of logical databases (SELECT 0..N-1).", "general", 1, INT_MAX, mutable=False),
    _int("hz", 10, "Frequency of background tasks (active expiry, client timeouts), clamped to 1..500.", "general"),
    _int("active-expire-effort", 1, "Effort spent expiring keys in the background, 1 (least) to 10.", "general", 1, 10),
    Setting("notify-keyspace-events", "special", "", "Keyspace notification classes, Redis letters (e.g. \"KEA\"); empty disables them.", "general"),
    _int("shutdown-timeout", 10, "Seconds to let replicas catch up and in-flight requests finish on shutdown.", "general"),
    # --- persistence (respcache/persistence, docs/persistence.md)
    Setting("save", "special", "", "RDB snapshot schedule: <seconds> <changes> pairs (BGSAVE when both are reached); empty: no automatic snapshots (respcache's default, unlike Redis).", "general", multi_arg=True),
    _str("dbfilename", "dump.rdb", "Name of the RDB file in dir (a file name, not a path).", "general"),
    _bool("rdbcompression", True, "LZF-compress strings longer than 20 bytes in RDB files and DUMP payloads.", "general"),
    _bool("rdbchecksum", True, "End RDB files with a CRC64 (and verify it on load); no writes a zero checksum.", "general"),
    _bool("stop-writes-on-bgsave-error", True, "Refuse writes (MISCONF) while the last background save failed and save points are set.", "general"),
    _bool("rdb-del-sync-files", False, "Accepted for compatibility: respcache's full syncs never write RDB files.", "general"),
    _int("rdb-key-save-delay", 0, "Microseconds to sleep per key written by SAVE/BGSAVE (testing only); 0 none.", "general", -INT_MAX - 1, INT_MAX),
    _bool("rdb-save-incremental-fsync", True, "fsync an RDB file being written every 4 MB, not only at the end.", "general"),
    _bool("appendonly", False, "Append-only file in Redis 7.0's multi-part layout (dir/appenddirname); at start it is loaded instead of the RDB file; CONFIG SET yes starts with a rewrite.", "general"),
    _str("appendfilename", "appendonly.aof", "Base name of the AOF files (appendonly.aof.1.base.rdb, .1.incr.aof, .manifest).", "general", mutable=False),
    _str("appenddirname", "appendonlydir", "Directory of the AOF files, inside dir.", "general", mutable=False),
    _enum("appendfsync", "everysec", ("always", "everysec", "no"), "When the AOF is fsynced: always (no reply before its write is fsynced; one fsync per event-loop iteration), everysec (a background fsync each second), no.", "general"),
    _int("auto-aof-rewrite-percentage", 100, "AOF growth over the size after the last rewrite, in percent, that starts BGREWRITEAOF; 0 never.", "general"),
    _mem("auto-aof-rewrite-min-size", "64mb", "Smallest AOF that is rewritten automatically.", "general"),
    _bool("aof-load-truncated", True, "Load an AOF whose last file has a truncated tail (cut off at the last whole command); no refuses to start.", "general"),
    _bool("aof-use-rdb-preamble", True, "Write the AOF base file in RDB format (.base.rdb); no writes commands (.base.aof).", "general"),
    _bool("aof-timestamp-enabled", False, "Write #TS:<unix time> annotations into the AOF (skipped when loading).", "general"),
    _bool("no-appendfsync-on-rewrite", False, "Skip AOF fsyncs while a BGSAVE or BGREWRITEAOF child runs (appendfsync always then replies without it).", "general"),
    _bool("aof-rewrite-incremental-fsync", True, "fsync a rewritten AOF base every 4 MB, not only at the end.", "general"),
    _bool("aof-disable-auto-gc", False, "Keep the history files a rewrite replaced (testing only, as Redis's hidden setting).", "general", hidden=True),
    # --- limits
    _str("requirepass", "", "Password clients must send with AUTH; empty disables authentication.", "limits", sensitive=True),
    _int("maxclients", 10000, "Maximum number of connected clients.", "limits", 1, UINT_MAX, unsigned=True),
    _mem("proto-max-bulk-len", "512mb", "Largest bulk string a client may send.", "limits", 1024 * 1024),
    _mem("client-query-buffer-limit", "1gb", "Largest query buffer of one client; beyond it the client is closed.", "limits", 1024 * 1024, unsigned=True),
    Setting("client-output-buffer-limit", "special", "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60", "Per client class (normal, replica, pubsub): <hard> <soft> <soft-seconds>; 0 disables a limit.", "limits", multi_arg=True),
    _int("slowlog-log-slower-than", 10000, "Log commands slower than this many microseconds to SLOWLOG; -1 disables it, 0 logs all.", "limits", -1, LLONG_MAX),
    _int("slowlog-max-len", 128, "Entries kept in SLOWLOG.", "limits", 0, LLONG_MAX, unsigned=True),
    _int("latency-monitor-threshold", 0, "Record events slower than this many milliseconds for LATENCY; 0 disables it.", "limits", 0, LLONG_MAX),
    # --- memory
    _mem("maxmemory", "0", "Memory limit for data (Redis units: 1k=1000, 1kb=1024, mb, gb); 0 for none.", "memory", 0, ULLONG_MAX, unsigned=True),
    _enum("maxmemory-policy", "noeviction", _MAXMEMORY_POLICIES, "What to do when maxmemory is reached: evict (lru, lfu, random, ttl) or refuse writes.", "memory"),
    _int("maxmemory-samples", 5, "Keys sampled per eviction; more is more precise and slower.", "memory", 1, INT_MAX),
    _int("lfu-log-factor", 10, "LFU counter logarithm factor.", "memory"),
    _int("lfu-decay-time", 1, "Minutes after which an LFU counter is halved; 0 never.", "memory"),
    # --- data types
    _mem("stream-node-max-bytes", "4kb", "Bytes of a stream node (Redis's listpack) before a new node starts; 0 for no limit.", "data types", 0, LLONG_MAX),
    _int("stream-node-max-entries", 100, "Entries (live and deleted) of a stream node before a new node starts; 0 for no limit.", "data types", 0, LLONG_MAX),
    _mem("hll-sparse-max-bytes", "3000", "Largest sparse HyperLogLog (header included) before it converts to dense.", "memory", 0, LLONG_MAX),
    # --- replication
    Setting("replicaof", "special", "", "<host> <port> of a leader to follow when ZooKeeper is not used; empty (or 'no one') for none.", "replication", mutable=False, multi_arg=True, aliases=("slaveof",)),
    _str("masteruser", "", "ACL user a replica authenticates as to its leader (with masterauth); empty: AUTH with the password only.", "replication"),
    _str("masterauth", "", "Password a replica sends to its leader.", "replication", sensitive=True),
    _bool("replica-read-only", True, "Replicas refuse writes from clients (READONLY).", "replication", aliases=("slave-read-only",)),
    _bool("replica-serve-stale-data", True, "A replica that lost its leader still answers reads.", "replication", aliases=("slave-serve-stale-data",)),
    _mem("repl-backlog-size", "1mb", "Size of the leader's backlog of recent writes for replicas catching up.", "replication", 1, LLONG_MAX),
    _int("repl-ping-replica-period", 10, "Seconds between the leader's pings to replicas.", "replication", 1, INT_MAX, aliases=("repl-ping-slave-period",)),
    _int("repl-timeout", 60, "Seconds without traffic after which a replication link is dropped.", "replication", 1, INT_MAX),
    _int("min-replicas-to-write", 0, "Refuse writes (NOREPLICAS) with fewer connected replicas than this; 0 disables it.", "replication", aliases=("min-slaves-to-write",)),
    _int("min-replicas-max-lag", 10, "Replicas whose last ack is older than this many seconds do not count for min-replicas-to-write.", "replication", aliases=("min-slaves-max-lag",)),
    _int("repl-ack-timeout", 1000, "Milliseconds a write waits for in-sync replicas to acknowledge it.", "replication", 1, INT_MAX),
    _int("min-insync-replicas", 1, "In-sync followers (the leader not counted) a leader needs to accept writes; fewer: NOREPLICAS.", "replication", 1, INT_MAX),
    # --- scripting (respcache/commands/scripting.py)
    _int("busy-reply-threshold", 5000, "Milliseconds a script may run before other clients get BUSY (SCRIPT KILL / FUNCTION KILL then work); 0: BUSY from the script's first hook on, as Redis.", "scripting", 0, INT_MAX, aliases=("lua-time-limit",)),
    # --- cluster / ZooKeeper
    _str("zookeeper", "", "ZooKeeper connect string, host:port[,host:port...][/chroot]; empty runs without ZooKeeper.", "cluster", mutable=False),
    _str("cluster-name", "respcache", "Name of this cluster: its znodes live under <chroot>/respcache/<cluster-name>.", "cluster", mutable=False),
    _int("zk-session-timeout", 2000, "ZooKeeper session timeout in milliseconds.", "cluster", 1, INT_MAX, mutable=False),
    _str("announce-host", "", "Host other nodes and clients use to reach this node; empty uses the first bind address.", "cluster", mutable=False),
    _int("announce-port", 0, "Port announced to other nodes; 0 uses port.", "cluster", 0, 65535, mutable=False),
    _str("node-id", "", "This node's id in ZooKeeper (letters, digits, '.', '_', ':', '-'); empty uses announce-host:announce-port.", "cluster", mutable=False),
    _str("zk-auth", "", "user:password for ZooKeeper digest authentication; the znodes are then created with a digest ACL for it. Empty: no authentication, open ACLs.", "cluster", mutable=False, sensitive=True),
    _bool("unclean-election", False, "Let a node outside the in-sync set lead when no in-sync node is left (availability over durability: acknowledged writes may be lost). CONFIG SET at run time is the operator's way to start a cluster whose in-sync nodes all lost their data.", "cluster"),
    _enum("read-consistency", "linearizable", ("linearizable", "local"), "linearizable: reads go through the leader; local: any node answers from its own copy.", "cluster"),
    # --- http
    _int("http-port", 0, "Port of the HTTP /data, /metrics and /health endpoint, on the bind addresses (HTTPS when tls-port is set, see tls-http); 0 disables it.", "http", 0, 65535, mutable=False),
    # --- encodings and client-side caching (honoured)
    _int("hash-max-listpack-entries", 512, "A hash with more fields than this is reported (OBJECT ENCODING) and iterated as a hashtable, for good.", "advanced", 0, LLONG_MAX, aliases=("hash-max-ziplist-entries",)),
    _mem("hash-max-listpack-value", "64", "A hash with a field or value longer than this many bytes is a hashtable, for good.", "advanced", 0, LLONG_MAX, aliases=("hash-max-ziplist-value",)),
    _int("zset-max-listpack-entries", 128, "A sorted set with more members than this is reported and iterated as a skiplist, for good.", "advanced", 0, LLONG_MAX, aliases=("zset-max-ziplist-entries",)),
    _mem("zset-max-listpack-value", "64", "A sorted set with a member longer than this many bytes is a skiplist, for good.", "advanced", 0, LLONG_MAX, aliases=("zset-max-ziplist-value",)),
    _int("set-max-intset-entries", 512, "A set of integers with more members than this is a hashtable, for good.", "advanced", 0, LLONG_MAX),
    _int("list-max-listpack-size", -2, "Accepted, no effect: respcache's lists are not split into listpack nodes (OBJECT ENCODING is quicklist, as in Redis 7.0).", "advanced", -(2**31), INT_MAX, aliases=("list-max-ziplist-size",)),
    _int("list-compress-depth", 0, "Accepted, no effect: respcache never compresses list nodes.", "advanced"),
    _int("tracking-table-max-keys", 1000000, "Keys remembered for client-side caching (CLIENT TRACKING); beyond it the oldest are invalidated and forgotten; 0 for no limit.", "advanced", 0, LLONG_MAX),
    _bool("latency-tracking", True, "Keep a latency distribution per command, shown by LATENCY HISTOGRAM and INFO latencystats.", "advanced"),
    Setting("latency-tracking-info-percentiles", "special", "50 99 99.9", "Percentiles INFO latencystats shows for each command, space separated, each 0 to 100 (\"\" for none).", "advanced", multi_arg=True),
    # --- Redis settings respcache accepts without an effect (documented, never pretended)
    _bool("daemonize", False, "Only 'no': respcache stays in the foreground (run it under a service manager).", "compat", mutable=False),
    _enum("supervised", "no", ("upstart", "systemd", "auto", "no"), "Accepted, no effect: respcache does not notify upstart or systemd.", "compat", mutable=False),
    _bool("always-show-logo", False, "Accepted, no effect: respcache prints no ASCII logo.", "compat", mutable=False),
    _bool("set-proc-title", True, "Accepted, no effect: respcache keeps the interpreter's process title.", "compat", mutable=False),
    _str("proc-title-template", "{title} {listen-addr} {server-mode}", "Accepted, no effect (see set-proc-title).", "compat"),
    _bool("syslog-enabled", False, "Only 'no': respcache logs to logfile or standard error, not syslog.", "compat", mutable=False),
    _str("syslog-ident", "redis", "Accepted, no effect (no syslog).", "compat", mutable=False),
    _enum("syslog-facility", "local0", ("user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"), "Accepted, no effect (no syslog).", "compat", mutable=False),
    _bool("crash-log-enabled", True, "Accepted, no effect: a crash prints Python's traceback.", "compat"),
    _bool("crash-memcheck-enabled", True, "Accepted, no effect (no memory test on crash).", "compat"),
    _bool("use-exit-on-panic", False, "Accepted, no effect.", "compat", hidden=True),
    _int("watchdog-period", 0, "Accepted, no effect: respcache has no software watchdog.", "compat", hidden=True),
    _bool("disable-thp", True, "Accepted, no effect: respcache does not change transparent huge pages.", "compat", mutable=False),
    _str("ignore-warnings", "", "Accepted, no effect: respcache prints no kernel warnings to silence.", "compat"),
    _bool("cluster-enabled", False, "Only 'no': Redis Cluster is not implemented; respcache clusters through ZooKeeper (see zookeeper).", "compat", mutable=False),
    _str("cluster-config-file", "nodes.conf", "Accepted, no effect (no Redis Cluster).", "compat", mutable=False),
    _int("cluster-node-timeout", 15000, "Accepted, no effect (no Redis Cluster; see zk-session-timeout).", "compat", 0, LLONG_MAX),
    _int("cluster-port", 0, "Accepted, no effect (no Redis Cluster).", "compat", 0, 65535, mutable=False),
    _int("cluster-replica-validity-factor", 10, "Accepted, no effect (no Redis Cluster).", "compat", aliases=("cluster-slave-validity-factor",)),
    _int("cluster-migration-barrier", 1, "Accepted, no effect (no Redis Cluster).", "compat"),
    _bool("cluster-require-full-coverage", True, "Accepted, no effect (no Redis Cluster).", "compat"),
    _bool("cluster-replica-no-failover", False, "Accepted, no effect (no Redis Cluster).", "compat", aliases=("cluster-slave-no-failover",)),
    _bool("cluster-allow-reads-when-down", False, "Accepted, no effect (no Redis Cluster).", "compat"),
    _bool("cluster-allow-pubsubshard-when-down", True, "Accepted, no effect (no Redis Cluster).", "compat"),
    _bool("cluster-allow-replica-migration", True, "Accepted, no effect (no Redis Cluster).", "compat"),
    _str("cluster-announce-ip", "", "Accepted, no effect (no Redis Cluster; see announce-host).", "compat"),
    _str("cluster-announce-hostname", "", "Accepted, no effect (no Redis Cluster).", "compat"),
    _int("cluster-announce-port", 0, "Accepted, no effect (no Redis Cluster; see announce-port).", "compat", 0, 65535),
    _int("cluster-announce-bus-port", 0, "Accepted, no effect (no Redis Cluster).", "compat", 0, 65535),
    _int("cluster-announce-tls-port", 0, "Accepted, no effect (no Redis Cluster).", "compat", 0, 65535),
    _enum("cluster-preferred-endpoint-type", "ip", ("ip", "hostname", "unknown-endpoint"), "Accepted, no effect (no Redis Cluster).", "compat"),
    _mem("cluster-link-sendbuf-limit", "0", "Accepted, no effect (no Redis Cluster).", "compat", 0, ULLONG_MAX, unsigned=True),
    _int("io-threads", 1, "Accepted, no effect: respcache does its I/O on one event loop.", "compat", 1, 128, mutable=False),
    _bool("io-threads-do-reads", False, "Accepted, no effect (see io-threads).", "compat", mutable=False),
    _str("server_cpulist", "", "Accepted, no effect: respcache sets no CPU affinity.", "compat", mutable=False),
    _str("bio_cpulist", "", "Accepted, no effect (no background I/O threads).", "compat", mutable=False),
    _str("aof_rewrite_cpulist", "", "Accepted, no effect (no persistence).", "compat", mutable=False),
    _str("bgsave_cpulist", "", "Accepted, no effect (no persistence).", "compat", mutable=False),
    Setting("socket-mark-id", "int", "0", "Accepted, no effect: respcache sets no SO_MARK.", "compat", mutable=False, minimum=0, maximum=UINT_MAX, unsigned=True),
    _str("bind-source-addr", "", "Accepted, no effect: replication connects from the kernel's chosen address.", "compat"),
    _enum("oom-score-adj", "no", ("no", "yes", "relative", "absolute"), "Accepted, no effect: respcache does not write oom_score_adj.", "compat"),
    Setting("oom-score-adj-values", "special", "0 200 800", "Accepted, no effect (see oom-score-adj).", "compat", multi_arg=True),
    Setting("shutdown-on-sigint", "special", "default", "Accepted, no effect: SIGINT shuts down as 'default' (nothing is saved).", "compat", multi_arg=True),
    Setting("shutdown-on-sigterm", "special", "default", "Accepted, no effect: SIGTERM shuts down as 'default' (nothing is saved).", "compat", multi_arg=True),
    _bool("dynamic-hz", True, "Accepted, no effect: the cron runs at hz whatever the number of clients.", "compat"),
    _bool("activerehashing", True, "Accepted, no effect: Python's dicts resize themselves.", "compat"),
    _bool("jemalloc-bg-thread", True, "Accepted, no effect (no jemalloc).", "compat"),
    _bool("activedefrag", False, "Accepted, no effect: respcache does not defragment memory.", "compat"),
    _mem("active-defrag-ignore-bytes", "100mb", "Accepted, no effect (see activedefrag).", "compat", 1, LLONG_MAX),
    _int("active-defrag-threshold-lower", 10, "Accepted, no effect (see activedefrag).", "compat", 0, 1000),
    _int("active-defrag-threshold-upper", 100, "Accepted, no effect (see activedefrag).", "compat", 0, 1000),
    _int("active-defrag-cycle-min", 1, "Accepted, no effect (see activedefrag).", "compat", 1, 99),
    _int("active-defrag-cycle-max", 25, "Accepted, no effect (see activedefrag).", "compat", 1, 99),
    _int("active-defrag-max-scan-fields", 1000, "Accepted, no effect (see activedefrag).", "compat", 1, LLONG_MAX, unsigned=True),
    _bool("lazyfree-lazy-eviction", False, "Accepted, no effect: respcache frees memory at once.", "compat"),
    _bool("lazyfree-lazy-expire", False, "Accepted, no effect: respcache frees memory at once.", "compat"),
    _bool("lazyfree-lazy-server-del", False, "Accepted, no effect: respcache frees memory at once.", "compat"),
    _bool("lazyfree-lazy-user-del", False, "Accepted, no effect: DEL and UNLINK both free at once.", "compat"),
    _bool("lazyfree-lazy-user-flush", False, "Accepted, no effect: FLUSHALL/FLUSHDB free at once (ASYNC too).", "compat"),
    _int("maxmemory-eviction-tenacity", 10, "Accepted, no effect: eviction runs until memory is under maxmemory.", "compat", 0, 100),
    Setting("maxmemory-clients", "special", "0", "Accepted, no effect: client buffers are not evicted as a whole (client-output-buffer-limit still applies).", "compat"),
    _enum("sanitize-dump-payload", "no", ("no", "yes", "clients"), "Accepted, no effect (RESTORE payloads are always checked).", "compat"),
    _int("key-load-delay", 0, "Microseconds to sleep per key loaded (RDB) or command replayed (AOF); tests use it to slow a load.", "compat", -(2**31), INT_MAX, hidden=True),
    Setting("loading-process-events-interval-bytes", "int", "2097152", "While loading an RDB, serve clients (PING, INFO; LOADING for the rest) every this many bytes.", "compat", minimum=1024, maximum=INT_MAX, hidden=True),
    _int("replica-priority", 100, "Accepted, no effect: ZooKeeper elects the leader among the in-sync replicas.", "compat", aliases=("slave-priority",)),
    _str("replica-announce-ip", "", "Accepted, no effect: see announce-host.", "compat", aliases=("slave-announce-ip",)),
    _int("replica-announce-port", 0, "Accepted, no effect: see announce-port.", "compat", 0, 65535, aliases=("slave-announce-port",)),
    _bool("replica-announced", True, "Accepted, no effect: every replica is listed.", "compat"),
    _bool("replica-lazy-flush", False, "Accepted, no effect: a full resync frees the old data at once.", "compat", aliases=("slave-lazy-flush",)),
    _bool("replica-ignore-maxmemory", True, "Accepted, no effect: a follower never evicts (the leader's DELs do), as with the default yes.", "compat", aliases=("slave-ignore-maxmemory",)),
    _bool("replica-ignore-disk-write-errors", False, "Accepted, no effect (no disk writes).", "compat"),
    _bool("repl-diskless-sync", True, "Accepted, no effect: a full resync always streams the snapshot over the socket.", "compat"),
    _int("repl-diskless-sync-delay", 5, "Accepted, no effect: a full resync starts at once.", "compat"),
    _int("repl-diskless-sync-max-replicas", 0, "Accepted, no effect (see repl-diskless-sync-delay).", "compat"),
    _enum("repl-diskless-load", "disabled", ("disabled", "on-empty-db", "swapdb"), "Accepted, no effect: a follower loads the snapshot from the socket into memory.", "compat"),
    _bool("repl-disable-tcp-nodelay", False, "Accepted, no effect: replication sockets keep TCP_NODELAY.", "compat"),
    _int("repl-backlog-ttl", 3600, "Accepted, no effect: the leader keeps its backlog while it leads.", "compat", 0, LLONG_MAX),
    _enum("propagation-error-behavior", "ignore", ("ignore", "panic", "panic-on-replicas"), "Accepted, no effect: a follower that cannot apply the stream resyncs.", "compat"),
    # --- security (issue 14: Redis 7.0's safe defaults, config.c; the ACL settings come with ACL)
    _enum("enable-protected-configs", "no", _PROTECTED_ACTION, "Allow CONFIG SET of protected settings (dir): no, yes, or local (loopback and Unix socket clients only).", "security", mutable=False),
    _enum("enable-debug-command", "no", _PROTECTED_ACTION, "Allow the DEBUG command: no, yes, or local (loopback and Unix socket clients only).", "security", mutable=False),
    _int("acllog-max-len", 128, "Entries kept in ACL LOG.", "security", 0, LLONG_MAX),
    _str("aclfile", "", "ACL file of users (ACL LOAD reads it, ACL SAVE writes it); not together with user lines in the config file.", "security", mutable=False),
    _enum("acl-pubsub-default", "resetchannels", ("allchannels", "resetchannels"), "Channel permissions of users ACL SETUSER creates: resetchannels (none) or allchannels.", "security"),
    _enum("enable-module-command", "no", _PROTECTED_ACTION, "Allow the MODULE command: no, yes, or local. respcache loads no modules either way.", "security", mutable=False),
    # --- TLS (issue 14: Redis 7.0's tls-* settings, config.c and tls.c; respcache/server/tls.py)
    _int("tls-port", 0, "TCP port for RESP clients over TLS, beside or instead of port; 0 disables it.", "tls", 0, 65535),
    _str("tls-cert-file", "", "PEM certificate (chain) of this server, for TLS clients, followers and the HTTPS endpoint.", "tls"),
    _str("tls-key-file", "", "PEM private key of tls-cert-file.", "tls"),
    _str("tls-key-file-pass", "", "Passphrase of tls-key-file, if it is encrypted.", "tls", sensitive=True),
    _str("tls-client-cert-file", "", "PEM certificate for outgoing TLS links (follower to leader, forwarding); empty uses tls-cert-file.", "tls"),
    _str("tls-client-key-file", "", "PEM private key of tls-client-cert-file.", "tls"),
    _str("tls-client-key-file-pass", "", "Passphrase of tls-client-key-file, if it is encrypted.", "tls", sensitive=True),
    _str("tls-dh-params-file", "", "PEM Diffie-Hellman parameters for DHE ciphers; empty uses OpenSSL's automatic ones.", "tls"),
    _str("tls-ca-cert-file", "", "PEM bundle of CA certificates that verify clients and leaders.", "tls"),
    _str("tls-ca-cert-dir", "", "Directory of hashed CA certificates (c_rehash) that verify clients and leaders.", "tls"),
    _enum("tls-auth-clients", "yes", ("no", "yes", "optional"), "Client certificates: yes (required), optional (verified when sent) or no (not asked for).", "tls"),
    _bool("tls-replication", False, "Followers connect to their leader over TLS (to its tls-port), as does command forwarding to the leader.", "tls"),
    _bool("tls-cluster", False, "Accepted, no effect (no Redis Cluster bus); see tls-replication.", "tls"),
    _str("tls-protocols", "", "Protocol versions allowed, space separated among TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; empty is TLSv1.2 TLSv1.3.", "tls"),
    _str("tls-ciphers", "", "OpenSSL cipher list for TLSv1.2 and below; empty uses OpenSSL's default.", "tls"),
    _str("tls-ciphersuites", "", "OpenSSL TLSv1.3 ciphersuites, colon separated; empty uses OpenSSL's default.", "tls"),
    _bool("tls-prefer-server-ciphers", False, "Choose the cipher by the server's preference, not the client's.", "tls"),
    _bool("tls-session-caching", True, "Let TLS clients resume sessions (faster reconnects).", "tls"),
    _int("tls-session-cache-size", 20480, "TLS sessions cached for resumption.", "tls", 0, INT_MAX),
    _int("tls-session-cache-timeout", 300, "Seconds a cached TLS session stays resumable.", "tls", 0, INT_MAX),
    _bool("tls-http", True, "Serve the HTTP endpoint (http-port) over TLS with tls-cert-file whenever tls-port is set; no keeps plain HTTP.", "tls", mutable=False),
    _bool("zk-tls", False, "Connect to ZooKeeper over TLS (the ensemble's secureClientPort, given in zookeeper).", "tls", mutable=False),
    _str("zk-tls-ca-file", "", "PEM CA bundle that verifies the ZooKeeper servers; empty uses tls-ca-cert-file.", "tls", mutable=False),
    _str("zk-tls-cert-file", "", "PEM client certificate for ZooKeeper (client authentication); empty uses tls-client-cert-file, then tls-cert-file.", "tls", mutable=False),
    _str("zk-tls-key-file", "", "PEM private key of zk-tls-cert-file (same fallbacks).", "tls", mutable=False),
    _str("zk-tls-key-file-pass", "", "Passphrase of zk-tls-key-file.", "tls", mutable=False, sensitive=True),
    _bool("zk-tls-verify", True, "Verify the ZooKeeper servers' certificates against the CA; no accepts any.", "tls", mutable=False),
)
# fmt: on

SETTINGS: dict[str, Setting] = {s.name: s for s in _TABLE}
"""Every setting by its Redis name, in registry order."""

_BY_NAME: dict[str, Setting] = {}
_ALL_NAMES: list[str] = []  # canonical names and aliases, in registry order
for _s in _TABLE:
    for _n in (_s.name, *_s.aliases):
        _BY_NAME[_n] = _s
        _ALL_NAMES.append(_n)
_BY_ATTRIBUTE: dict[str, Setting] = {n.replace("-", "_"): s for n, s in _BY_NAME.items()}
_GROUPS = ("network", "general", "limits", "memory", "data types", "replication", "cluster", "http", "tls", "security", "scripting", "advanced", "compat")


def lookup(name: str) -> Setting | None:
    """The setting called ``name`` (any case, canonical name or alias), or ``None``."""
    return _BY_NAME.get(name.lower())


# --------------------------------------------------------------------------------------
# Value parsing: each kind is a small function picked from a table
# --------------------------------------------------------------------------------------


class _Invalid(Exception):
    """A value was refused; ``str()`` is Redis's reason (``argument must be a memory value``)."""


class BufferLimit(NamedTuple):
    """One client class's output buffer limit (bytes, bytes, seconds); 0 disables."""

    hard: int
    soft: int
    soft_seconds: int


_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}
_MEMORY_RE = re.compile(r"([0-9]*)(.*)", re.DOTALL)
_LL_RE = re.compile(r"-?[1-9][0-9]*|0")


def parse_memory(text: str) -> int:
    """Redis's ``memtoull``: digits and an optional unit (b k kb m mb g gb, any case).

    ``1k`` is 1000 and ``1kb`` 1024. As in Redis, an empty number counts as 0 and huge
    values saturate at 2**64-1. Raises ``ValueError`` on anything else.
    """
    m = _MEMORY_RE.fullmatch(text)
    assert m is not None
    digits, unit = m.groups()
    mul = _MEMORY_UNITS.get(unit.lower())
    if mul is None or len(digits) >= 128:
        raise ValueError(text)
    value = min(int(digits or "0"), ULLONG_MAX)
    return (value * mul) & ULLONG_MAX


def _parse_ll(text: str) -> int:
    """Redis's ``string2ll``: no sign but '-', no spaces, no leading zeros, in long long range."""
    if not _LL_RE.fullmatch(text) or len(text) > 20:
        raise _Invalid("argument couldn't be parsed into an integer")
    value = int(text)
    if not -(2**63) <= value <= LLONG_MAX:
        raise _Invalid("argument couldn't be parsed into an integer")
    return value


def _check_range(s: Setting, value: int) -> int:
    lo, hi = s.minimum, s.maximum
    if lo is not None and hi is not None and not lo <= value <= hi:
        if s.name == "unixsocketperm":
            raise _Invalid(f"argument must be between {int(lo):o} and {int(hi):o} inclusive")
        raise _Invalid(f"argument must be between {lo} and {hi} inclusive")
    return value


def _parse_int(s: Setting, text: str, current: object) -> object:
    value = _parse_ll(text)
    if s.unsigned and value < 0:  # C would see a huge unsigned number: out of range
        value = value & ULLONG_MAX
    return _check_range(s, value)


def _parse_memory_setting(s: Setting, text: str, current: object) -> object:
    try:
        value = parse_memory(text)
    except ValueError:
        raise _Invalid("argument must be a memory value") from None
    return _check_range(s, value)


def _parse_bool(s: Setting, text: str, current: object) -> object:
    lowered = text.lower()
    if lowered == "yes":
        if s.name in _ONLY_NO:
            raise _Invalid(_ONLY_NO[s.name])
        return True
    if lowered == "no":
        return False
    raise _Invalid("argument must be 'yes' or 'no'")


def _parse_enum(s: Setting, text: str, current: object) -> object:
    lowered = text.lower()
    if lowered in s.choices:
        return lowered
    raise _Invalid("argument(s) must be one of the following: " + ", ".join(s.choices))


def _parse_string(s: Setting, text: str, current: object) -> object:
    check = _STRING_CHECKS.get(s.name)
    if check is not None:
        check(text)
    return text


def _parse_float(s: Setting, text: str, current: object) -> object:
    try:
        value = float(text)
    except ValueError:
        raise _Invalid("argument couldn't be parsed into a float") from None
    if s.minimum is not None and s.maximum is not None and not s.minimum <= value <= s.maximum:
        raise _Invalid(f"argument must be between {s.minimum} and {s.maximum} inclusive")
    return value


def _parse_bind(s: Setting, text: str, current: object) -> object:
    words = _words(text)
    if len(words) > 16:
        raise _Invalid("Too many bind addresses specified.")
    return tuple(words)


def _words(text: str) -> list[str]:
    """Redis splits a multi-word CONFIG SET value on single spaces; one empty word means none."""
    words = text.split(" ")
    return [] if words == [""] else words


def _parse_unixsocketperm(s: Setting, text: str, current: object) -> object:
    # strtoll(value, 8): optional blanks and sign, then octal digits (none at all is 0).
    m = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?)([0-7]*)", text)
    if m is None:
        raise _Invalid("argument couldn't be parsed as an octal number")
    value = int(m.group(2) or "0", 8) * (-1 if m.group(1) == "-" else 1)
    return _check_range(s, value & ULLONG_MAX if value < 0 else value)


def _parse_dir(s: Setting, text: str, current: object) -> object:
    if not text:
        raise _Invalid(os.strerror(errno_mod.ENOENT))
    path = os.path.abspath(text)
    if not os.path.isdir(path):
        code = errno_mod.ENOTDIR if os.path.exists(path) else errno_mod.ENOENT
        raise _Invalid(os.strerror(code))
    return path


def _parse_save(s: Setting, text: str, current: object) -> object:
    words = _words(text)
    if len(words) % 2:
        raise _Invalid("Invalid save parameters")
    pairs: list[tuple[int, int]] = []
    for i in range(0, len(words), 2):
        seconds, changes = _strtoll(words[i]), _strtoll(words[i + 1])
        if seconds is None or changes is None or seconds < 1 or changes < 0:
            raise _Invalid("Invalid save parameters")
        pairs.append((seconds, changes))
    return tuple(pairs)


def _strtoll(text: str) -> int | None:
    """C ``strtoll(text, &end, 10)`` requiring ``*end == '\\0'``; ``None`` if refused.

    As in C, leading blanks and a sign are allowed, the empty string is 0 and huge values
    saturate.
    """
    m = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?[0-9]+)", text)
    if m is None:
        return 0 if text == "" else None
    return max(-(2**63), min(LLONG_MAX, int(m.group(1))))


_CLIENT_CLASSES = {"normal": "normal", "slave": "replica", "replica": "replica", "pubsub": "pubsub"}
_CLASS_ORDER = ("normal", "replica", "pubsub")


def _parse_obuf(s: Setting, text: str, current: object) -> object:
    words = _words(text)
    if len(words) % 4:
        raise _Invalid("Wrong number of arguments in buffer limit configuration.")
    limits: dict[str, BufferLimit] = dict(current) if isinstance(current, Mapping) else {}
    updates: dict[str, BufferLimit] = {}
    for i in range(0, len(words), 4):
        klass = _CLIENT_CLASSES.get(words[i].lower())
        if klass is None:
            raise _Invalid("Invalid client class specified in buffer limit configuration.")
        try:
            hard, soft = parse_memory(words[i + 1]), parse_memory(words[i + 2])
        except ValueError:
            hard = soft = -1
        seconds = _strtoll(words[i + 3])
        if hard < 0 or seconds is None or seconds < 0:
            raise _Invalid(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
            )
        updates[klass] = BufferLimit(hard, soft, seconds)
    limits.update(updates)
    return {k: limits[k] for k in _CLASS_ORDER if k in limits}


def _parse_replicaof(s: Setting, text: str, current: object) -> object:
    words = _words(text)
    if not words:
        return None
    if len(words) != 2:
        raise _Invalid("wrong number of arguments")
    host, port_text = words
    if host.lower() == "no" and port_text.lower() == "one":
        return None
    port = _strtoll(port_text)
    if port is None or not 0 <= port <= 65535:
        raise _Invalid("Invalid master port")
    return (host, port)


# Keyspace notification classes (notify.c). 'A' is an alias for g$lshzxetd.
_NOTIFY_ALL = frozenset("g$lshzxetd")
_NOTIFY_CHARS = frozenset("g$lshzxeKEtmdn")


def _parse_notify(s: Setting, text: str, current: object) -> object:
    flags: set[str] = set()
    for ch in text:
        if ch == "A":
            flags |= _NOTIFY_ALL
        elif ch in _NOTIFY_CHARS:
            flags.add(ch)
        else:
            raise _Invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    return frozenset(flags)


# The same rule as respcache.coordination.state.NODE_ID_RE (config imports no layer above it).
_CLUSTER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _check_cluster_name(text: str) -> None:
    if not _CLUSTER_NAME_RE.fullmatch(text):
        raise _Invalid(
            "cluster-name must be 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def _check_zookeeper(text: str) -> None:
    hosts, slash, chroot = text.partition("/")
    if text and (not hosts or (slash and (chroot.endswith("/") or "//" in "/" + chroot))):
        raise _Invalid("zookeeper must be host:port[,host:port...][/chroot]")


# The same rule as respcache.coordination.state.NODE_ID_RE.
_NODE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def _check_node_id(text: str) -> None:
    if text and not _NODE_ID_RE.fullmatch(text):
        raise _Invalid(
            "node-id must be 1 to 64 letters, digits, '.', '_', ':' or '-', "
            "starting with a letter or digit"
        )


def _check_zk_auth(text: str) -> None:
    if text and ":" not in text:
        raise _Invalid("zk-auth must be user:password")


def _parse_percentiles(s: Setting, text: str, current: object) -> object:
    words = text.split(" ")
    if words == [""]:
        return ()
    out: list[float] = []
    for word in words:
        value = _string2d(word)
        if value is None:
            raise _Invalid("Invalid latency-tracking-info-percentiles parameters")
        if not 0.0 <= value <= 100.0:
            raise _Invalid(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
            )
        out.append(value)
    return tuple(out)


def _string2d(text: str) -> float | None:
    """Redis's ``string2d``: strtod of the whole string, no leading space, no NaN."""
    if not text or text[0].isspace():
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return None if value != value else value


def _parse_oom_values(s: Setting, text: str, current: object) -> object:
    words = text.split(" ")
    if len(words) != 3:
        raise _Invalid("wrong number of arguments")
    values = []
    for word in words:
        value = _strtoll(word)
        if value is None or not -2000 <= value <= 2000:
            raise _Invalid("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
        values.append(value)
    return tuple(values)


_SHUTDOWN_FLAGS = ("default", "save", "nosave", "now", "force")


def _parse_shutdown_flags(s: Setting, text: str, current: object) -> object:
    flags: set[str] = set()
    for word in text.split(" "):
        lowered = word.lower()
        if lowered not in _SHUTDOWN_FLAGS:
            raise _Invalid(
                "argument(s) must be one of the following: " + ", ".join(_SHUTDOWN_FLAGS)
            )
        if lowered != "default":
            flags.add(lowered)
    if {"save", "nosave"} <= flags:
        raise _Invalid("shutdown options SAVE and NOSAVE can't be used simultaneously")
    return frozenset(flags)


def _parse_maxmemory_clients(s: Setting, text: str, current: object) -> object:
    """A memory value, or a percentage of maxmemory (``10%``, stored negated as in Redis)."""
    try:
        return parse_memory(text)
    except ValueError:
        pass
    if len(text) > 1 and text.endswith("%") and _LL_RE.fullmatch(text[:-1]):
        value = int(text[:-1])
        if value > 100:
            raise _Invalid("percentage argument must be less or equal to 100")
        return -value
    raise _Invalid("argument must be a memory or percent value")


# Booleans whose "yes" respcache cannot honour: refused rather than silently ignored.
_ONLY_NO = {
    "daemonize": "respcache does not daemonize; run it under a service manager",
    "syslog-enabled": "respcache does not log to syslog; use logfile",
    "cluster-enabled": "Redis Cluster is not supported; respcache clusters through ZooKeeper",
}
def _check_dbfilename(text: str) -> None:
    if os.path.basename(text) != text or text in ("", ".", ".."):
        raise _Invalid("dbfilename can't be a path, just a filename")


_STRING_CHECKS: dict[str, Callable[[str], None]] = {
    "dbfilename": _check_dbfilename,
    "cluster-name": _check_cluster_name,
    "zookeeper": _check_zookeeper,
    "node-id": _check_node_id,
    "zk-auth": _check_zk_auth,
}

_Parser = Callable[[Setting, str, object], object]
_PARSERS: dict[str, _Parser] = {
    "int": _parse_int,
    "memory": _parse_memory_setting,
    "bool": _parse_bool,
    "enum": _parse_enum,
    "string": _parse_string,
    "float": _parse_float,
    "list": _parse_bind,
}
_SPECIAL_PARSERS: dict[str, _Parser] = {
    "unixsocketperm": _parse_unixsocketperm,
    "dir": _parse_dir,
    "save": _parse_save,
    "client-output-buffer-limit": _parse_obuf,
    "replicaof": _parse_replicaof,
    "notify-keyspace-events": _parse_notify,
    "latency-tracking-info-percentiles": _parse_percentiles,
    "oom-score-adj-values": _parse_oom_values,
    "shutdown-on-sigint": _parse_shutdown_flags,
    "shutdown-on-sigterm": _parse_shutdown_flags,
    "maxmemory-clients": _parse_maxmemory_clients,
}

# Applied after a value is accepted, as Redis's apply functions do: out of range is capped,
# not refused (hz to 1..500, repl-backlog-size to at least 16kb).
_NORMALIZE: dict[str, Callable[[object], object]] = {
    "hz": lambda v: max(1, min(500, v)) if isinstance(v, int) else v,
    "repl-backlog-size": lambda v: max(16 * 1024, v) if isinstance(v, int) else v,
}


def _parse(s: Setting, text: str, current: object) -> object:
    parser = _SPECIAL_PARSERS[s.name] if s.kind == "special" else _PARSERS[s.kind]
    value = parser(s, text, current)
    normalize = _NORMALIZE.get(s.name)
    return normalize(value) if normalize else value


# --------------------------------------------------------------------------------------
# Rendering: CONFIG GET text and CONFIG REWRITE lines
# --------------------------------------------------------------------------------------


def _notify_to_string(flags: frozenset[str]) -> str:
    """``keyspaceEventsFlagsToString``: 'A' when all of g$lshzxetd, then K, E, m."""
    out = "A" if flags >= _NOTIFY_ALL else "".join(c for c in "g$lshzxetdn" if c in flags)
    return out + "".join(c for c in "KEm" if c in flags)


def _render(s: Setting, value: object) -> str:
    """The CONFIG GET text of ``value`` (memory in bytes, yes/no, space-separated lists)."""
    if s.kind == "bool":
        return "yes" if value else "no"
    if s.name == "unixsocketperm":
        assert isinstance(value, int)
        return f"{value:o}"
    if s.name == "save":
        assert isinstance(value, tuple)
        return " ".join(f"{sec} {chg}" for sec, chg in value)
    if s.name == "client-output-buffer-limit":
        assert isinstance(value, Mapping)
        return " ".join(
            f"{'slave' if k == 'replica' else k} {v.hard} {v.soft} {v.soft_seconds}"
            for k, v in value.items()
        )
    if s.name == "replicaof":
        if value is None:
            return ""
        assert isinstance(value, tuple)
        return f"{value[0]} {value[1]}"
    if s.name == "notify-keyspace-events":
        assert isinstance(value, frozenset)
        return _notify_to_string(value)
    if s.name == "latency-tracking-info-percentiles":
        assert isinstance(value, tuple)
        return " ".join(_trim_double(v) for v in value)
    if s.name == "oom-score-adj-values":
        assert isinstance(value, tuple)
        return " ".join(map(str, value))
    if s.name in ("shutdown-on-sigint", "shutdown-on-sigterm"):
        assert isinstance(value, frozenset)
        return " ".join(f for f in _SHUTDOWN_FLAGS if f in value) or "default"
    if s.name == "maxmemory-clients":
        assert isinstance(value, int)
        return f"{-value}%" if value < 0 else str(value)
    if s.name == "oom-score-adj" and value == "relative":
        return "yes"  # configEnumGetName: the first name with that value
    if s.kind == "list":
        assert isinstance(value, tuple)
        return " ".join(value)
    if s.kind == "float":
        assert isinstance(value, float)
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    return str(value)


def _trim_double(value: float) -> str:
    """``%f`` then ``trimDoubleString``: trailing zeros and a trailing dot dropped."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_memory(value: int) -> str:
    """``rewriteConfigFormatMemory``: 1gb, 512mb, 64kb when exact, else plain bytes."""
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def quote(text: str) -> str:
    """``sdscatrepr``: a double-quoted string that :func:`split_args` reads back."""
    out = ['"']
    for byte in text.encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        if ch in _REPR_ESCAPES:
            out.append(_REPR_ESCAPES[ch])
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    out.append('"')
    return "".join(out)


_REPR_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\a": "\\a",
    "\b": "\\b",
}


def _rewrite_lines(s: Setting, value: object) -> tuple[list[str], bool]:
    """Lines CONFIG REWRITE writes for ``s`` and whether they are forced (non-default).

    An empty list with ``force`` False means "mark as processed": lines for the option
    in the old file are blanked (Redis does this for unset strings, default bind and
    replicaof none).
    """
    default = _default_value(s)
    name = s.name
    if s.kind == "memory":
        assert isinstance(value, int)
        return [f"{name} {format_memory(value)}"], value != default
    if s.kind == "string":
        assert isinstance(value, str)
        if value == "" and default == "":
            return [], False
        return [f"{name} {quote(value)}"], value != default
    if s.kind == "list":  # bind
        if value == default:
            return [], False
        return [f"{name} {_render(s, value) or quote('')}"], True
    if name == "dir":
        return [f"{name} {quote(str(value))}"], True
    if name == "save":
        assert isinstance(value, tuple)
        if not value:
            return [f'{name} ""'], True
        return [f"{name} {sec} {chg}" for sec, chg in value], True
    if name == "client-output-buffer-limit":
        assert isinstance(value, Mapping) and isinstance(default, Mapping)
        lines = []
        for klass in _CLASS_ORDER:
            lim = value[klass]
            lines.append(
                f"{name} {klass} {format_memory(lim.hard)} {format_memory(lim.soft)} {lim.soft_seconds}"
            )
        # Forced per class (a class differing from its default): decided by the caller.
        return lines, False
    if name == "replicaof":
        if value is None:
            return [], False
        return [f"{name} {_render(s, value)}"], True
    if name == "notify-keyspace-events":
        assert isinstance(value, frozenset)
        return [f"{name} {quote(_notify_to_string(value))}"], bool(value)
    return [f"{name} {_render(s, value)}"], value != default


_DEFAULTS: dict[str, object] = {}


def _default_value(s: Setting) -> object:
    if s.name == "dir":
        return os.path.abspath(".")
    if s.name not in _DEFAULTS:
        _DEFAULTS[s.name] = _parse(s, s.default, None)
    return _DEFAULTS[s.name]


# --------------------------------------------------------------------------------------
# redis.conf syntax
# --------------------------------------------------------------------------------------

_SPACE = b" \n\r\t\f\v"
_HEX = b"0123456789abcdefABCDEF"
_C_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def split_args(line: str) -> list[str] | None:
    """Redis's ``sdssplitargs``: words, "double quoted" (C escapes, \\xHH) or 'single quoted'.

    Returns ``None`` on unbalanced quotes or a closing quote followed by a non-space.
    """
    data = line.encode("utf-8", "surrogateescape") + b"\0"
    words: list[str] = []
    i = 0
    while True:
        while data[i] in _SPACE and data[i] != 0:
            i += 1
        if data[i] == 0:
            return words
        current = bytearray()
        inq = insq = done = False
        while not done:
            c = data[i]
            if inq:
                if (
                    c == 92
                    and data[i + 1] == ord("x")
                    and data[i + 2] in _HEX
                    and data[i + 2] != 0
                    and data[i + 3] in _HEX
                    and data[i + 3] != 0
                ):
                    current.append(int(data[i + 2 : i + 4], 16))
                    i += 3
                elif c == 92 and data[i + 1] != 0:
                    i += 1
                    current.append(_C_ESCAPES.get(data[i], data[i]))
                elif c == ord('"'):
                    if data[i + 1] != 0 and data[i + 1] not in _SPACE:
                        return None
                    done = True
                elif c == 0:
                    return None
                else:
                    current.append(c)
            elif insq:
                if c == 92 and data[i + 1] == ord("'"):
                    i += 1
                    current.append(ord("'"))
                elif c == ord("'"):
                    if data[i + 1] != 0 and data[i + 1] not in _SPACE:
                        return None
                    done = True
                elif c == 0:
                    return None
                else:
                    current.append(c)
            elif c in b" \n\r\t" or c == 0:
                done = True
            elif c == ord('"'):
                inq = True
            elif c == ord("'"):
                insq = True
            else:
                current.append(c)
            if data[i] != 0:
                i += 1
        words.append(current.decode("utf-8", "surrogateescape"))


class ConfigFileError(ConfigError):
    """A bad line in a config file, the command line or the environment.

    ``str(exc)`` is what redis-server prints to stderr before exiting with status 1::

        *** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
        Reading the configuration file, at line 2
        >>> 'nosuch 1'
        Bad directive or wrong number of arguments

    (redis-server also prints an empty line first.) ``reason``, ``lineno`` and ``line``
    hold the parts; ``where`` replaces the "Reading..." line for environment variables.
    A file that cannot be opened gives only redis-server's one-line message
    (``header=False``).
    """

    def __init__(
        self,
        reason: str,
        lineno: int | None = None,
        line: str | None = None,
        where: str | None = None,
        *,
        header: bool = True,
    ) -> None:
        self.reason = reason
        self.lineno = lineno
        self.line = line
        parts = [f"*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***"] if header else []
        if where is not None:
            parts.append(where)
        elif lineno is not None:
            parts.append(f"Reading the configuration file, at line {lineno}")
        if line is not None:
            parts.append(f">>> '{line}'")
        parts.append(reason)
        super().__init__("\n".join(parts))


class _Line(NamedTuple):
    lineno: int | None
    text: str  # the stripped line, as shown after '>>>'
    words: list[str]


def argv_to_options(args: Sequence[str]) -> str:
    """redis-server's conversion of ``--name value ...`` arguments into config-file lines.

    ``["--port", "7000", "--save", "--maxmemory", "1mb"]`` becomes
    ``'port "7000" \\nsave "" \\nmaxmemory "1mb" '``: each ``--name`` starts a line, values
    are quoted, and a bare ``--save`` means ``save ""``. A ``--name`` is always followed by
    its first value, even one starting with ``--``.
    """
    options = ""
    handled_last = True
    for j, arg in enumerate(args):
        if handled_last and arg.startswith("--"):
            if options:
                options += "\n"
            options += arg[2:] + " "
            words = split_args(arg)
            if words is not None and len(words) == 1:
                handled_last = False
                nxt = args[j + 1] if j + 1 < len(args) else None
                if arg.lower() == "--save" and (nxt is None or nxt.startswith("--")):
                    options += '""'
                    handled_last = True
            else:
                handled_last = True
        else:
            options += quote(arg) + " "
            handled_last = True
    return options


# --------------------------------------------------------------------------------------
# Glob matching (Redis util.c stringmatchlen)
# --------------------------------------------------------------------------------------


def stringmatch(pattern: str, string: str, nocase: bool = False) -> bool:
    """Redis's ``stringmatchlen``: ``*``, ``?``, ``[a-z]``, ``[^x]`` and ``\\`` escapes."""
    p = pattern.encode("utf-8", "surrogateescape")
    s = string.encode("utf-8", "surrogateescape")
    if nocase:
        p, s = p.lower(), s.lower()
    skip = [False]
    return _match(p, 0, s, 0, skip)


def _match(p: bytes, pi: int, s: bytes, si: int, skip: list[bool]) -> bool:
    plen, slen = len(p), len(s)

    def at(i: int) -> int:
        return p[i] if i < plen else 0

    while pi < plen and si < slen:
        c = p[pi]
        if c == 42:  # '*'
            while pi + 1 < plen and p[pi + 1] == 42:
                pi += 1
            if pi + 1 == plen:
                return True
            while si < slen:
                if _match(p, pi + 1, s, si, skip):
                    return True
                if skip[0]:
                    return False
                si += 1
            skip[0] = True
            return False
        elif c == 63:  # '?'
            si += 1
        elif c == 91:  # '['
            pi += 1
            negate = at(pi) == 94
            if negate:
                pi += 1
            matched = False
            while True:
                if at(pi) == 92 and plen - pi >= 2:
                    pi += 1
                    if p[pi] == s[si]:
                        matched = True
                elif at(pi) == 93:
                    break
                elif pi >= plen:
                    pi -= 1
                    break
                elif plen - pi >= 3 and p[pi + 1] == 45:
                    start, end = sorted((p[pi], p[pi + 2]))
                    pi += 2
                    if start <= s[si] <= end:
                        matched = True
                elif p[pi] == s[si]:
                    matched = True
                pi += 1
            if negate:
                matched = not matched
            if not matched:
                return False
            si += 1
        else:
            if c == 92 and plen - pi >= 2:
                pi += 1
            if p[pi] != s[si]:
                return False
            si += 1
        pi += 1
        if si == slen:
            while pi < plen and p[pi] == 42:
                pi += 1
            break
    return pi >= plen and si == slen


# --------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------

T = TypeVar("T")


class _Field(Generic[T]):
    """A typed, read-only :class:`Config` attribute backed by one setting."""

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type[Config]) -> _Field[T]: ...
    @overload
    def __get__(self, obj: Config, owner: type[Config]) -> T: ...
    def __get__(self, obj: Config | None, owner: type[Config]) -> _Field[T] | T:
        if obj is None:
            return self
        return cast(T, obj._values[self.name])

    def __set__(self, obj: Config, value: object) -> NoReturn:
        raise AttributeError(f"use Config.set({self.name!r}, ...) to change a setting")


class _ListField(_Field[list[str]]):
    def __get__(self, obj: Config | None, owner: type[Config]) -> Any:
        if obj is None:
            return self
        return list(obj._values[self.name])  # type: ignore[call-overload]


Callback = Callable[[object], None]


class Config:
    """The server's configuration: typed attributes, CONFIG GET/SET/REWRITE, callbacks.

    ``Config(**overrides)`` starts from the defaults; keyword names use underscores and
    values may be typed (``port=0``, ``bind=["127.0.0.1"]``, ``appendonly=False``) or
    strings in config-file syntax (``maxmemory="100mb"``).
    """

    # --- network
    bind = _ListField("bind")
    port = _Field[int]("port")
    tcp_backlog = _Field[int]("tcp-backlog")
    unixsocket = _Field[str]("unixsocket")
    unixsocketperm = _Field[int]("unixsocketperm")
    protected_mode = _Field[bool]("protected-mode")
    timeout = _Field[int]("timeout")
    tcp_keepalive = _Field[int]("tcp-keepalive")
    # --- general
    loglevel = _Field[str]("loglevel")
    logfile = _Field[str]("logfile")
    pidfile = _Field[str]("pidfile")
    dir = _Field[str]("dir")
    databases = _Field[int]("databases")
    hz = _Field[int]("hz")
    active_expire_effort = _Field[int]("active-expire-effort")
    notify_keyspace_events = _Field[frozenset[str]]("notify-keyspace-events")
    shutdown_timeout = _Field[int]("shutdown-timeout")
    # --- persistence
    save = _Field[tuple[tuple[int, int], ...]]("save")
    dbfilename = _Field[str]("dbfilename")
    rdbcompression = _Field[bool]("rdbcompression")
    rdbchecksum = _Field[bool]("rdbchecksum")
    stop_writes_on_bgsave_error = _Field[bool]("stop-writes-on-bgsave-error")
    rdb_del_sync_files = _Field[bool]("rdb-del-sync-files")
    rdb_key_save_delay = _Field[int]("rdb-key-save-delay")
    rdb_save_incremental_fsync = _Field[bool]("rdb-save-incremental-fsync")
    appendonly = _Field[bool]("appendonly")
    appendfilename = _Field[str]("appendfilename")
    appenddirname = _Field[str]("appenddirname")
    appendfsync = _Field[str]("appendfsync")
    auto_aof_rewrite_percentage = _Field[int]("auto-aof-rewrite-percentage")
    auto_aof_rewrite_min_size = _Field[int]("auto-aof-rewrite-min-size")
    aof_load_truncated = _Field[bool]("aof-load-truncated")
    aof_use_rdb_preamble = _Field[bool]("aof-use-rdb-preamble")
    aof_timestamp_enabled = _Field[bool]("aof-timestamp-enabled")
    no_appendfsync_on_rewrite = _Field[bool]("no-appendfsync-on-rewrite")
    aof_rewrite_incremental_fsync = _Field[bool]("aof-rewrite-incremental-fsync")
    aof_disable_auto_gc = _Field[bool]("aof-disable-auto-gc")
    # --- limits
    requirepass = _Field[str]("requirepass")
    maxclients = _Field[int]("maxclients")
    proto_max_bulk_len = _Field[int]("proto-max-bulk-len")
    client_query_buffer_limit = _Field[int]("client-query-buffer-limit")
    client_output_buffer_limit = _Field[Mapping[str, BufferLimit]]("client-output-buffer-limit")
    slowlog_log_slower_than = _Field[int]("slowlog-log-slower-than")
    slowlog_max_len = _Field[int]("slowlog-max-len")
    latency_monitor_threshold = _Field[int]("latency-monitor-threshold")
    # --- memory
    maxmemory = _Field[int]("maxmemory")
    maxmemory_policy = _Field[str]("maxmemory-policy")
    maxmemory_samples = _Field[int]("maxmemory-samples")
    lfu_log_factor = _Field[int]("lfu-log-factor")
    lfu_decay_time = _Field[int]("lfu-decay-time")
    # --- data types
    stream_node_max_bytes = _Field[int]("stream-node-max-bytes")
    stream_node_max_entries = _Field[int]("stream-node-max-entries")
    hll_sparse_max_bytes = _Field[int]("hll-sparse-max-bytes")
    # --- replication
    replicaof = _Field["tuple[str, int] | None"]("replicaof")
    masterauth = _Field[str]("masterauth")
    masteruser = _Field[str]("masteruser")
    replica_read_only = _Field[bool]("replica-read-only")
    replica_serve_stale_data = _Field[bool]("replica-serve-stale-data")
    repl_backlog_size = _Field[int]("repl-backlog-size")
    repl_ping_replica_period = _Field[int]("repl-ping-replica-period")
    repl_timeout = _Field[int]("repl-timeout")
    min_replicas_to_write = _Field[int]("min-replicas-to-write")
    min_replicas_max_lag = _Field[int]("min-replicas-max-lag")
    repl_ack_timeout = _Field[int]("repl-ack-timeout")
    min_insync_replicas = _Field[int]("min-insync-replicas")
    busy_reply_threshold = _Field[int]("busy-reply-threshold")
    # --- cluster / ZooKeeper
    zookeeper = _Field[str]("zookeeper")
    cluster_name = _Field[str]("cluster-name")
    zk_session_timeout = _Field[int]("zk-session-timeout")
    announce_host = _Field[str]("announce-host")
    announce_port = _Field[int]("announce-port")
    node_id = _Field[str]("node-id")
    zk_auth = _Field[str]("zk-auth")
    unclean_election = _Field[bool]("unclean-election")
    read_consistency = _Field[str]("read-consistency")
    # --- http
    http_port = _Field[int]("http-port")
    # --- encodings, client-side caching, latency tracking
    hash_max_listpack_entries = _Field[int]("hash-max-listpack-entries")
    hash_max_listpack_value = _Field[int]("hash-max-listpack-value")
    zset_max_listpack_entries = _Field[int]("zset-max-listpack-entries")
    zset_max_listpack_value = _Field[int]("zset-max-listpack-value")
    set_max_intset_entries = _Field[int]("set-max-intset-entries")
    list_max_listpack_size = _Field[int]("list-max-listpack-size")
    list_compress_depth = _Field[int]("list-compress-depth")
    tracking_table_max_keys = _Field[int]("tracking-table-max-keys")
    latency_tracking = _Field[bool]("latency-tracking")
    latency_tracking_info_percentiles = _Field["tuple[float, ...]"]("latency-tracking-info-percentiles")
    # --- Redis settings accepted without effect
    daemonize = _Field[bool]("daemonize")
    supervised = _Field[str]("supervised")
    always_show_logo = _Field[bool]("always-show-logo")
    set_proc_title = _Field[bool]("set-proc-title")
    proc_title_template = _Field[str]("proc-title-template")
    syslog_enabled = _Field[bool]("syslog-enabled")
    syslog_ident = _Field[str]("syslog-ident")
    syslog_facility = _Field[str]("syslog-facility")
    crash_log_enabled = _Field[bool]("crash-log-enabled")
    crash_memcheck_enabled = _Field[bool]("crash-memcheck-enabled")
    use_exit_on_panic = _Field[bool]("use-exit-on-panic")
    watchdog_period = _Field[int]("watchdog-period")
    disable_thp = _Field[bool]("disable-thp")
    ignore_warnings = _Field[str]("ignore-warnings")
    cluster_enabled = _Field[bool]("cluster-enabled")
    cluster_config_file = _Field[str]("cluster-config-file")
    cluster_node_timeout = _Field[int]("cluster-node-timeout")
    cluster_port = _Field[int]("cluster-port")
    cluster_replica_validity_factor = _Field[int]("cluster-replica-validity-factor")
    cluster_migration_barrier = _Field[int]("cluster-migration-barrier")
    cluster_require_full_coverage = _Field[bool]("cluster-require-full-coverage")
    cluster_replica_no_failover = _Field[bool]("cluster-replica-no-failover")
    cluster_allow_reads_when_down = _Field[bool]("cluster-allow-reads-when-down")
    cluster_allow_pubsubshard_when_down = _Field[bool]("cluster-allow-pubsubshard-when-down")
    cluster_allow_replica_migration = _Field[bool]("cluster-allow-replica-migration")
    cluster_announce_ip = _Field[str]("cluster-announce-ip")
    cluster_announce_hostname = _Field[str]("cluster-announce-hostname")
    cluster_announce_port = _Field[int]("cluster-announce-port")
    cluster_announce_bus_port = _Field[int]("cluster-announce-bus-port")
    cluster_announce_tls_port = _Field[int]("cluster-announce-tls-port")
    cluster_preferred_endpoint_type = _Field[str]("cluster-preferred-endpoint-type")
    cluster_link_sendbuf_limit = _Field[int]("cluster-link-sendbuf-limit")
    io_threads = _Field[int]("io-threads")
    io_threads_do_reads = _Field[bool]("io-threads-do-reads")
    server_cpulist = _Field[str]("server_cpulist")
    bio_cpulist = _Field[str]("bio_cpulist")
    aof_rewrite_cpulist = _Field[str]("aof_rewrite_cpulist")
    bgsave_cpulist = _Field[str]("bgsave_cpulist")
    socket_mark_id = _Field[int]("socket-mark-id")
    bind_source_addr = _Field[str]("bind-source-addr")
    oom_score_adj = _Field[str]("oom-score-adj")
    oom_score_adj_values = _Field["tuple[int, int, int]"]("oom-score-adj-values")
    shutdown_on_sigint = _Field["frozenset[str]"]("shutdown-on-sigint")
    shutdown_on_sigterm = _Field["frozenset[str]"]("shutdown-on-sigterm")
    dynamic_hz = _Field[bool]("dynamic-hz")
    activerehashing = _Field[bool]("activerehashing")
    jemalloc_bg_thread = _Field[bool]("jemalloc-bg-thread")
    activedefrag = _Field[bool]("activedefrag")
    active_defrag_ignore_bytes = _Field[int]("active-defrag-ignore-bytes")
    active_defrag_threshold_lower = _Field[int]("active-defrag-threshold-lower")
    active_defrag_threshold_upper = _Field[int]("active-defrag-threshold-upper")
    active_defrag_cycle_min = _Field[int]("active-defrag-cycle-min")
    active_defrag_cycle_max = _Field[int]("active-defrag-cycle-max")
    active_defrag_max_scan_fields = _Field[int]("active-defrag-max-scan-fields")
    lazyfree_lazy_eviction = _Field[bool]("lazyfree-lazy-eviction")
    lazyfree_lazy_expire = _Field[bool]("lazyfree-lazy-expire")
    lazyfree_lazy_server_del = _Field[bool]("lazyfree-lazy-server-del")
    lazyfree_lazy_user_del = _Field[bool]("lazyfree-lazy-user-del")
    lazyfree_lazy_user_flush = _Field[bool]("lazyfree-lazy-user-flush")
    maxmemory_eviction_tenacity = _Field[int]("maxmemory-eviction-tenacity")
    maxmemory_clients = _Field[int]("maxmemory-clients")
    sanitize_dump_payload = _Field[str]("sanitize-dump-payload")
    key_load_delay = _Field[int]("key-load-delay")
    loading_process_events_interval_bytes = _Field[int]("loading-process-events-interval-bytes")
    replica_priority = _Field[int]("replica-priority")
    replica_announce_ip = _Field[str]("replica-announce-ip")
    replica_announce_port = _Field[int]("replica-announce-port")
    replica_announced = _Field[bool]("replica-announced")
    replica_lazy_flush = _Field[bool]("replica-lazy-flush")
    replica_ignore_maxmemory = _Field[bool]("replica-ignore-maxmemory")
    replica_ignore_disk_write_errors = _Field[bool]("replica-ignore-disk-write-errors")
    repl_diskless_sync = _Field[bool]("repl-diskless-sync")
    repl_diskless_sync_delay = _Field[int]("repl-diskless-sync-delay")
    repl_diskless_sync_max_replicas = _Field[int]("repl-diskless-sync-max-replicas")
    repl_diskless_load = _Field[str]("repl-diskless-load")
    repl_disable_tcp_nodelay = _Field[bool]("repl-disable-tcp-nodelay")
    repl_backlog_ttl = _Field[int]("repl-backlog-ttl")
    propagation_error_behavior = _Field[str]("propagation-error-behavior")
    # --- security
    enable_protected_configs = _Field[str]("enable-protected-configs")
    enable_debug_command = _Field[str]("enable-debug-command")
    enable_module_command = _Field[str]("enable-module-command")
    acl_pubsub_default = _Field[str]("acl-pubsub-default")
    aclfile = _Field[str]("aclfile")
    acllog_max_len = _Field[int]("acllog-max-len")
    # --- TLS
    tls_port = _Field[int]("tls-port")
    tls_cert_file = _Field[str]("tls-cert-file")
    tls_key_file = _Field[str]("tls-key-file")
    tls_key_file_pass = _Field[str]("tls-key-file-pass")
    tls_client_cert_file = _Field[str]("tls-client-cert-file")
    tls_client_key_file = _Field[str]("tls-client-key-file")
    tls_client_key_file_pass = _Field[str]("tls-client-key-file-pass")
    tls_dh_params_file = _Field[str]("tls-dh-params-file")
    tls_ca_cert_file = _Field[str]("tls-ca-cert-file")
    tls_ca_cert_dir = _Field[str]("tls-ca-cert-dir")
    tls_auth_clients = _Field[str]("tls-auth-clients")
    tls_replication = _Field[bool]("tls-replication")
    tls_cluster = _Field[bool]("tls-cluster")
    tls_protocols = _Field[str]("tls-protocols")
    tls_ciphers = _Field[str]("tls-ciphers")
    tls_ciphersuites = _Field[str]("tls-ciphersuites")
    tls_prefer_server_ciphers = _Field[bool]("tls-prefer-server-ciphers")
    tls_session_caching = _Field[bool]("tls-session-caching")
    tls_session_cache_size = _Field[int]("tls-session-cache-size")
    tls_session_cache_timeout = _Field[int]("tls-session-cache-timeout")
    tls_http = _Field[bool]("tls-http")
    zk_tls = _Field[bool]("zk-tls")
    zk_tls_ca_file = _Field[str]("zk-tls-ca-file")
    zk_tls_cert_file = _Field[str]("zk-tls-cert-file")
    zk_tls_key_file = _Field[str]("zk-tls-key-file")
    zk_tls_key_file_pass = _Field[str]("zk-tls-key-file-pass")
    zk_tls_verify = _Field[bool]("zk-tls-verify")

    user_lines: list[tuple[list[str], int | None, str]]
    """``user NAME RULE...`` lines: (the words, line number, line), loaded by the ACL."""

    renamed_commands: list[tuple[str, str, int | None, str]]
    """``rename-command OLD NEW`` lines: (old, new, line number, line), applied by the engine
    (which knows the command table); NEW empty removes the command."""

    config_file: str | None
    """Absolute path of the file this configuration was loaded from (CONFIG REWRITE target)."""

    ignored_env: list[str]
    """``RESPCACHE_*`` environment variables that name no setting (ignored, worth a warning)."""

    def __init__(self, **overrides: object) -> None:
        self._values: dict[str, object] = {s.name: _default_value(s) for s in _TABLE}
        self._callbacks: dict[str, list[Callback]] = {}
        self.config_file = None
        self.ignored_env = []
        self.renamed_commands = []
        self.user_lines = []
        for key, value in overrides.items():
            s = _BY_ATTRIBUTE.get(key.lower()) or lookup(key)
            if s is None:
                raise ConfigError(f"ERR Unknown option '{key}'")
            try:
                self._values[s.name] = _parse(s, _to_text(value), self._values[s.name])
            except _Invalid as exc:
                raise ConfigError(f"ERR Invalid argument for '{s.name}' - {exc}") from None

    # --- reading ----------------------------------------------------------------------

    def get(self, name: str) -> object:
        """The typed value of a setting by Redis name or alias (``"maxmemory-policy"``)."""
        return self._values[self._setting(name).name]

    def render(self, name: str) -> str:
        """The value as CONFIG GET shows it (memory in bytes, ``yes``/``no``...)."""
        s = self._setting(name)
        return _render(s, self._values[s.name])

    def output_buffer_limit(self, klass: str) -> BufferLimit:
        """The output buffer limit of a client class: ``normal``, ``replica`` (``slave``) or ``pubsub``."""
        limits = self.client_output_buffer_limit
        return limits[_CLIENT_CLASSES[klass.lower()]]

    def matching(self, patterns: list[str]) -> dict[str, str]:
        """CONFIG GET: every setting matching one of the glob ``patterns``, name -> text.

        As in Redis 7: a pattern without ``*?[`` is an exact, case-insensitive lookup that
        answers under the name as given; globs match canonical names and aliases
        (case-insensitive) and answer under the registered name; each setting name
        appears once.
        """
        result: dict[str, str] = {}
        seen: set[str] = set()
        for pattern in patterns:
            if not any(c in pattern for c in "[*?"):
                lowered = pattern.lower()
                s = _BY_NAME.get(lowered)
                if s is not None and lowered not in seen:
                    seen.add(lowered)
                    result[pattern] = _render(s, self._values[s.name])
                continue
            for name in _ALL_NAMES:
                s = _BY_NAME[name]
                if s.hidden:  # hidden settings answer an exact name only
                    continue
                if name not in seen and stringmatch(pattern, name, nocase=True):
                    seen.add(name)
                    result[name] = _render(s, self._values[s.name])
        return result

    # --- CONFIG SET ---------------------------------------------------------------------

    def set(self, name: str, value: str) -> None:
        """CONFIG SET of one setting; see :meth:`set_many`."""
        self.set_many([(name, value)])

    def set_many(self, pairs: list[tuple[str, str]]) -> None:
        """CONFIG SET k1 v1 k2 v2 ...: every value is set, or none is.

        Raises ConfigError with Redis's reply text: an unknown name, an immutable setting
        or a name given twice is reported first (the first problem, under the name as
        typed); then values are parsed in order and the first bad one is reported under
        the setting's name. Callbacks run after every value is in place, for the settings
        whose value changed; a callback raising ConfigError undoes the whole call.
        """
        found: list[tuple[Setting, str]] = []
        seen: set[str] = set()
        for name, _ in pairs:
            s = lookup(name)
            if s is None:
                raise ConfigError(
                    f"ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                )
            if not s.mutable:
                raise ConfigError(_set_failed(name, "can't set immutable config"))
            key = name.lower()  # aliases count as different names, as in Redis 7.0
            if key in seen:
                raise ConfigError(_set_failed(name, "duplicate parameter"))
            seen.add(key)
            found.append((s, key))

        old = dict(self._values)
        new = dict(self._values)
        for (s, key), (_, text) in zip(found, pairs, strict=True):
            try:
                new[s.name] = _parse(s, text, new[s.name])
            except _Invalid as exc:
                raise ConfigError(_set_failed(key, str(exc))) from None

        changed = [s.name for s, _ in found if new[s.name] != old[s.name]]
        self._values = new
        done: list[str] = []
        try:
            for name in dict.fromkeys(changed):
                done.append(name)
                self._fire(name, new[name])
        except ConfigError as exc:
            self._values = old
            for name in done:
                with contextlib.suppress(ConfigError):
                    self._fire(name, old[name])
            reason = str(exc).removeprefix("ERR ")
            raise ConfigError(_set_failed(done[-1], reason)) from None

    def on_change(self, name: str, callback: Callback) -> None:
        """Call ``callback(new_value)`` after a CONFIG SET changed this setting.

        A callback may refuse the change by raising ConfigError: the CONFIG SET is undone
        and fails with its message.
        """
        self._callbacks.setdefault(self._setting(name).name, []).append(callback)

    def _fire(self, name: str, value: object) -> None:
        for callback in self._callbacks.get(name, ()):
            callback(value)

    # --- loading ------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: str | None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        stdin: str | None = None,
    ) -> Config:
        """Build a Config as redis-server does: defaults, then ``path``, then ``env``, then ``args``.

        ``args`` are redis-server style command-line words (``["--port", "7000",
        "--save", ""]``); ``env`` is scanned for ``RESPCACHE_<NAME>`` (dashes as
        underscores, any case for the name); ``stdin`` is config text read after the file
        (``redis-server -``). Raises :class:`ConfigFileError` with redis-server's report.
        """
        config = cls()
        text = ""
        if path is not None:
            config.config_file = os.path.abspath(path)
            text = _read_config_file(path)
        if stdin is not None:
            text += stdin
        save_seen = [False]
        config._load_text(text, 1, save_seen)
        if env is not None:
            config._load_env(env, save_seen)
        if args:
            # redis-server appends "\n" + options to the file text: count lines the same way.
            first = len(text.split("\n")) + 1
            config._load_text(argv_to_options(args), first, save_seen)
        return config

    def _load_text(self, text: str, first_lineno: int, save_seen: list[bool]) -> None:
        for offset, raw in enumerate(text.split("\n")):
            line = raw.strip(" \t\r\n")
            if not line or line.startswith("#"):
                continue
            lineno = first_lineno + offset
            words = split_args(line)
            if words is None:
                raise ConfigFileError("Unbalanced quotes in configuration line", lineno, line)
            if not words:
                continue
            directive = words[0].lower()
            if directive == "include" and len(words) == 2:
                self._include(words[1], save_seen)
                continue
            if directive == "user" and len(words) >= 2:
                self.user_lines.append((words, lineno, line))
                continue
            if directive == "rename-command" and len(words) == 3:
                self.renamed_commands.append((words[1], words[2], lineno, line))
                continue
            self._apply_line(_Line(lineno, line, words), save_seen)

    def _include(self, pattern: str, save_seen: list[bool]) -> None:
        paths = sorted(glob_mod.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        for path in paths:
            self._load_text(_read_config_file(path), 1, save_seen)

    def _apply_line(self, line: _Line, save_seen: list[bool], where: str | None = None) -> None:
        s = lookup(line.words[0])
        if s is None:
            raise ConfigFileError(
                "Bad directive or wrong number of arguments", line.lineno, line.text, where
            )
        args = line.words[1:]
        if not s.multi_arg and len(args) != 1:
            raise ConfigFileError("wrong number of arguments", line.lineno, line.text, where)
        text = " ".join(args)
        try:
            value = _parse(s, text, self._values[s.name])
        except _Invalid as exc:
            raise ConfigFileError(str(exc), line.lineno, line.text, where) from None
        if s.name == "save":
            # Deprecated Redis behaviour: save lines accumulate; the first one in a load
            # replaces the default, and `save ""` clears.
            assert isinstance(value, tuple)
            current = self._values["save"]
            assert isinstance(current, tuple)
            if save_seen[0] and value:
                value = current + value
            save_seen[0] = True
        self._values[s.name] = value

    def _load_env(self, env: Mapping[str, str], save_seen: list[bool]) -> None:
        for var, value in env.items():
            if not var.upper().startswith("RESPCACHE_"):
                continue
            s = _BY_ATTRIBUTE.get(var[len("RESPCACHE_") :].lower())
            if s is None:
                self.ignored_env.append(var)
                continue
            shown = f"{s.name} {quote(value)}"
            where = f"Reading the environment variable {var}"
            self._apply_line(_Line(None, shown, [s.name, value]), save_seen, where)

    # --- CONFIG REWRITE -----------------------------------------------------------------

    def rewrite(self) -> None:
        """CONFIG REWRITE: write the current settings into the file they were loaded from.

        Done as Redis does: comments, blank lines and directives respcache does not
        rewrite (``include``) stay where they are; each setting replaces its first line
        in the file (aliases count as the setting) and its other lines are blanked;
        settings that differ from their defaults and are not in the file are appended
        after a ``# Generated by CONFIG REWRITE`` line; lines naming unknown settings
        become ``# ??? <line>``; runs of blank lines become one. The new file replaces
        the old one atomically.
        """
        if self.config_file is None:
            raise ConfigError("ERR The server is running without a config file")
        try:
            content = self._rewritten(self.config_file)
            _atomic_write(self.config_file, content)
        except OSError as exc:
            raise ConfigError(f"ERR Rewriting config file: {exc.strerror or exc}") from None

    def _rewritten(self, path: str) -> str:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
                old = f.read()
        except FileNotFoundError:
            old = ""
        lines: list[str] = []
        option_lines: dict[str, list[int]] = {}
        needs_signature = True
        for raw in old.split("\n") if old else []:
            line = raw.strip("\r\n\t ")
            if not line or line.startswith("#"):
                if line == _SIGNATURE:
                    needs_signature = False
                lines.append(line)
                continue
            words = split_args(line)
            directive = words[0].lower() if words else ""
            if directive in ("include", "rename-command", "user"):
                lines.append(line)  # kept as they are (Redis regenerates user lines)
                continue
            s = lookup(directive) if words else None
            if s is None:
                lines.append("# ??? " + line)
                continue
            option_lines.setdefault(s.name, []).append(len(lines))
            lines.append(line)

        processed: set[str] = set()

        def put(name: str, line: str, force: bool) -> None:
            nonlocal needs_signature
            processed.add(name)
            slots = option_lines.get(name)
            if slots:
                lines[slots.pop(0)] = line
            elif force:
                if needs_signature:
                    lines.append(_SIGNATURE)
                    needs_signature = False
                lines.append(line)

        for s in _TABLE:
            value = self._values[s.name]
            new_lines, force = _rewrite_lines(s, value)
            if s.name == "client-output-buffer-limit":
                assert isinstance(value, Mapping)
                default = _default_value(s)
                assert isinstance(default, Mapping)
                for klass, line in zip(_CLASS_ORDER, new_lines, strict=True):
                    put(s.name, line, value[klass] != default[klass])
                continue
            processed.add(s.name)
            for line in new_lines:
                put(s.name, line, force)

        for name, slots in option_lines.items():
            if name in processed:
                for index in slots:
                    lines[index] = ""

        out: list[str] = []
        was_empty = False
        for line in lines:
            if not line:
                if was_empty:
                    continue
                was_empty = True
            else:
                was_empty = False
            out.append(line + "\n")
        return "".join(out)

    # --- helpers ------------------------------------------------------------------------

    def _setting(self, name: str) -> Setting:
        s = lookup(name)
        if s is None:
            raise KeyError(name)
        return s

    def __repr__(self) -> str:
        changed = {
            s.name: _render(s, v)
            for s in _TABLE
            if (v := self._values[s.name]) != _default_value(s) and not s.sensitive
        }
        return f"Config({changed!r})"


_SIGNATURE = "# Generated by CONFIG REWRITE"


def _set_failed(name: str, reason: str) -> str:
    return f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"


def _to_text(value: object) -> str:
    """A typed keyword value in config-file syntax: True -> "yes", ["a", "b"] -> "a b"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return " ".join(f"{k} {_to_text(v)}" for k, v in value.items())
    if isinstance(value, Iterable):
        return " ".join(_to_text(v) for v in value)
    raise ConfigError(f"ERR Invalid argument {value!r}")


def _read_config_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
            return f.read()
    except OSError as exc:
        # redis-server logs this line through serverLog and exits 1.
        reason = f"Fatal error, can't open config file '{path}': {exc.strerror or exc}"
        raise ConfigFileError(reason, header=False) from None


def _atomic_write(path: str, content: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
