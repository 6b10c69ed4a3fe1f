"""The settings table: one frozen :class:`Setting` per Redis setting, and name lookup."""


from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
    _bool("lazyfree-lazy-user-del", False, "DEL frees big values in background, as UNLINK does.", "compat"),
    _bool("lazyfree-lazy-user-flush", False, "FLUSHALL/FLUSHDB without SYNC|ASYNC free in background.", "compat"),
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


