"""The INFO reply: Redis 7.0's sections, field names and formats, from the engine's state.

Every line is ``field:value`` or a ``# Section`` title, sections are separated by an
empty line and lines end with CRLF, so redis-py's ``INFO`` parser and
redis_exporter read it as they read Redis. Fields that describe machinery respcache
does not have (jemalloc, forks, AOF, I/O threads) are kept with Redis's idle values.

Other layers extend INFO through ``engine.info_providers`` (section name → function
returning lines):

- a provider named like a built-in section (``"replication"``, ``"cluster"``)
  replaces that section's body;
- a provider named ``"<section>+"`` (``"stats+"``) appends lines to it;
- any other name adds a section of its own (title: the name, capitalised), shown
  by default and by ``INFO <name>``.

``instantaneous_ops_per_sec`` comes from ``engine.ops_per_sec``, set by the server
from its cron samples.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from respcache import __version__
from respcache.commands.latencystats import percentiles_line
from respcache.store.memory import breakdown

if TYPE_CHECKING:
    from respcache.commands.engine import Engine

SECTIONS: Final = (
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
)
"""Built-in sections in Redis's output order."""

DEFAULT_SECTIONS: Final = frozenset(SECTIONS) - {"commandstats", "latencystats"}
TITLES: Final = {"cpu": "CPU"}


@dataclass
class AdminState:
    """Per-engine facts INFO and the server commands share (SAVE time, memory peak...)."""

    lastsave: int
    """Unix time of the last (no-op) SAVE; the start time until then."""
    dirty_at_save: int = 0
    saves: int = 0
    peak_memory: int = 0
    replid: str = field(default_factory=lambda: os.urandom(20).hex())


_STATES: weakref.WeakKeyDictionary[Engine, AdminState] = weakref.WeakKeyDictionary()


def admin_state(engine: Engine) -> AdminState:
    state = _STATES.get(engine)
    if state is None:
        state = _STATES[engine] = AdminState(lastsave=int(engine.started))
    return state


def bytes_to_human(n: int) -> str:
    """Redis's ``bytesToHuman``: 1023B, 1.00K, 1.50M..."""
    if n < 1024:
        return f"{n}B"
    for unit, power in (("K", 1), ("M", 2), ("G", 3), ("T", 4), ("P", 5)):
        if n < 1024 ** (power + 1):
            return f"{n / 1024**power:.2f}{unit}"
    return f"{n}B"


def rss_bytes() -> int:
    """The process's resident set size, from /proc/self/statm (0 where there is none)."""
    try:
        with open("/proc/self/statm") as f:
            resident_pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return 0


def _multiplexing_api() -> str:
    import selectors

    name = selectors.DefaultSelector.__name__.removesuffix("Selector").lower()
    return name or "select"


# --- sections ---------------------------------------------------------------------------


def _server(engine: Engine) -> list[str]:
    now = time.time()
    uptime = int(time.monotonic() - engine.started_monotonic)
    uname = platform.uname()
    config = engine.config
    hz = max(1, min(500, config.hz))
    return [
        f"redis_version:{engine.redis_version}",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        "redis_build_id:0",
        "redis_mode:standalone",
        f"os:{uname.system} {uname.release} {uname.machine}",
        f"arch_bits:{64 if sys.maxsize > 2**32 else 32}",
        "monotonic_clock:POSIX clock_gettime",
        f"multiplexing_api:{_multiplexing_api()}",
        "atomicvar_api:none",
        "gcc_version:0.0.0",
        f"process_id:{os.getpid()}",
        "process_supervised:no",
        f"run_id:{engine.run_id}",
        f"tcp_port:{config.port or config.tls_port}",
        f"server_time_usec:{int(now * 1_000_000)}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}",
        f"hz:{hz}",
        f"configured_hz:{config.hz}",
        f"lru_clock:{int(now) & ((1 << 24) - 1)}",
        f"executable:{os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ''}",
        f"config_file:{config.config_file or ''}",
        "io_threads_active:0",
        f"respcache_version:{__version__}",
        f"python_version:{platform.python_version()}",
    ]


def _clients(engine: Engine) -> list[str]:
    max_in = max_out = blocked = in_timeout = connected = 0
    for client in engine.clients.values():
        if not getattr(client, "is_replica", False):
            connected += 1
        info = client.connection_info()
        max_in = max(max_in, int(info.get("qbuf", "0")))
        max_out = max(max_out, int(info.get("omem", "0")))
        if client.blocked is not None:
            blocked += 1
            if client.blocked.timeout > 0:
                in_timeout += 1
    # Redis blocks a client postponed by CLIENT PAUSE (BLOCKED_POSTPONE): it counts here.
    blocked += len(engine.pause.queue)
    return [
        f"connected_clients:{connected}",
        "cluster_connections:0",
        f"maxclients:{engine.config.maxclients}",
        f"client_recent_max_input_buffer:{max_in}",
        f"client_recent_max_output_buffer:{max_out}",
        f"blocked_clients:{blocked}",
        f"tracking_clients:{engine.tracking.clients}",
        f"clients_in_timeout_table:{in_timeout}",
        # Not in Redis 7.0: Valkey 8's field (client_pause, or none), for CLIENT PAUSE.
        f"paused_reason:{engine.pause.reason}",
    ]


def _memory(engine: Engine) -> list[str]:
    from respcache.commands.memory import hashtables, memory_overhead  # (imports scripting)

    ks = engine.keyspace
    overhead = memory_overhead(engine)
    used = ks.used_memory + overhead.total
    state = admin_state(engine)
    state.peak_memory = peak = max(state.peak_memory, used)
    rss = rss_bytes()
    split = breakdown(used, sum(m + e for _, m, e in hashtables(ks)), overhead)
    system = total_system_memory()
    maxmemory = ks.maxmemory
    return [
        f"used_memory:{used}",
        f"used_memory_human:{bytes_to_human(used)}",
        f"used_memory_rss:{rss}",
        f"used_memory_rss_human:{bytes_to_human(rss)}",
        f"used_memory_peak:{peak}",
        f"used_memory_peak_human:{bytes_to_human(peak)}",
        f"used_memory_peak_perc:{(used / peak * 100 if peak else 100.0):.2f}%",
        f"used_memory_overhead:{split.overhead}",
        f"used_memory_startup:{overhead.startup}",
        f"used_memory_dataset:{split.dataset}",
        f"used_memory_dataset_perc:{split.dataset_perc:.2f}%",
        f"allocator_allocated:{used}",
        f"allocator_active:{used}",
        f"allocator_resident:{rss}",
        f"total_system_memory:{system}",
        f"total_system_memory_human:{bytes_to_human(system)}",
        *_scripting_memory(engine),  # [scripting]
        f"maxmemory:{maxmemory}",
        f"maxmemory_human:{bytes_to_human(maxmemory)}",
        f"maxmemory_policy:{ks.policy}",
        "allocator_frag_ratio:1.00",
        "allocator_frag_bytes:0",
        f"allocator_rss_ratio:{(rss / used if used else 1.0):.2f}",
        f"allocator_rss_bytes:{rss - used}",
        "rss_overhead_ratio:1.00",
        "rss_overhead_bytes:0",
        f"mem_fragmentation_ratio:{(rss / used if used else 1.0):.2f}",
        f"mem_fragmentation_bytes:{rss - used}",
        f"mem_not_counted_for_evict:{overhead.not_counted}",
        f"mem_replication_backlog:{overhead.replication_backlog}",
        f"mem_total_replication_buffers:{overhead.replication_backlog + overhead.clients_slaves}",
        f"mem_clients_slaves:{overhead.clients_slaves}",
        f"mem_clients_normal:{overhead.clients_normal}",
        f"mem_cluster_links:{overhead.cluster_links}",
        f"mem_aof_buffer:{overhead.aof_buffer}",
        "mem_allocator:pymalloc",
        "active_defrag_running:0",
        f"lazyfree_pending_objects:{engine.keyspace.lazyfree.pending}",
        f"lazyfreed_objects:{engine.keyspace.lazyfree.lazyfreed_objects}",
    ]


def _scripting_memory(engine: Engine) -> list[str]:
    from respcache.commands.scripting import memory_info_lines  # (imports this module)

    return memory_info_lines(engine, bytes_to_human)


def _persistence(engine: Engine) -> list[str]:
    return [
        *engine.persistence.info_lines(),
        *engine.aof.info_lines(),
        "module_fork_in_progress:0",
        "module_fork_last_cow_size:0",
        *engine.aof.enabled_info_lines(),
        *engine.persistence.progress.info_lines(),  # while loading
    ]


def _stats(engine: Engine) -> list[str]:
    stats = engine.stats
    ks = engine.keyspace
    ops = engine.ops_per_sec() if engine.ops_per_sec is not None else 0
    channels: set[bytes] = set()
    patterns: set[bytes] = set()
    for client in engine.clients.values():
        channels |= client.subscriptions
        patterns |= client.patterns
    # Counted by the replication layer's leader side (commands cannot import it).
    leader = getattr(engine.replication, "leader", None)
    syncs = (
        getattr(leader, "syncs_full", 0),
        getattr(leader, "syncs_partial_ok", 0),
        getattr(leader, "syncs_partial_err", 0),
    )
    return [
        f"total_connections_received:{stats.total_connections_received}",
        f"total_commands_processed:{stats.total_commands_processed}",
        f"instantaneous_ops_per_sec:{ops}",
        f"total_net_input_bytes:{stats.total_net_input_bytes}",
        f"total_net_output_bytes:{stats.total_net_output_bytes}",
        "total_net_repl_input_bytes:0",
        "total_net_repl_output_bytes:0",
        "instantaneous_input_kbps:0.00",
        "instantaneous_output_kbps:0.00",
        "instantaneous_input_repl_kbps:0.00",
        "instantaneous_output_repl_kbps:0.00",
        f"rejected_connections:{stats.rejected_connections}",
        f"sync_full:{syncs[0]}",
        f"sync_partial_ok:{syncs[1]}",
        f"sync_partial_err:{syncs[2]}",
        f"expired_keys:{ks.expired_keys}",
        f"expired_stale_perc:{ks.expire_cycle_stale_perc * 100:.2f}",
        "expired_time_cap_reached_count:0",
        "expire_cycle_cpu_milliseconds:0",
        f"evicted_keys:{ks.evicted_keys}",
        "evicted_clients:0",
        "total_eviction_exceeded_time:0",
        "current_eviction_exceeded_time:0",
        f"keyspace_hits:{ks.hits}",
        f"keyspace_misses:{ks.misses}",
        f"pubsub_channels:{len(channels)}",
        f"pubsub_patterns:{len(patterns)}",
        "pubsubshard_channels:0",
        "latest_fork_usec:0",
        f"total_forks:{engine.persistence.forks + engine.aof.forks}",
        "migrate_cached_sockets:0",
        "slave_expires_tracked_keys:0",
        "active_defrag_hits:0",
        "active_defrag_misses:0",
        "active_defrag_key_hits:0",
        "active_defrag_key_misses:0",
        "total_active_defrag_time:0",
        "current_active_defrag_time:0",
        f"tracking_total_keys:{len(engine.tracking.table)}",
        f"tracking_total_items:{engine.tracking.items}",
        f"tracking_total_prefixes:{len(engine.tracking.prefixes)}",
        "unexpected_error_replies:0",
        f"total_error_replies:{stats.total_error_replies}",
        "dump_payload_sanitizations:0",
        "total_reads_processed:0",
        "total_writes_processed:0",
        "io_threaded_reads_processed:0",
        "io_threaded_writes_processed:0",
        "reply_buffer_shrinks:0",
        "reply_buffer_expands:0",
    ]


def _replication(engine: Engine) -> list[str]:
    """A standalone master's replication section (the replication layer replaces it)."""
    return [
        "role:master",
        "connected_slaves:0",
        "master_failover_state:no-failover",
        f"master_replid:{admin_state(engine).replid}",
        "master_replid2:0000000000000000000000000000000000000000",
        "master_repl_offset:0",
        "second_repl_offset:-1",
        "repl_backlog_active:0",
        f"repl_backlog_size:{engine.config.repl_backlog_size}",
        "repl_backlog_first_byte_offset:0",
        "repl_backlog_histlen:0",
    ]


def _cpu(engine: Engine) -> list[str]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    thread = getattr(resource, "RUSAGE_THREAD", None)
    main = resource.getrusage(thread) if thread is not None else me
    return [
        f"used_cpu_sys:{me.ru_stime:.6f}",
        f"used_cpu_user:{me.ru_utime:.6f}",
        f"used_cpu_sys_children:{children.ru_stime:.6f}",
        f"used_cpu_user_children:{children.ru_utime:.6f}",
        f"used_cpu_sys_main_thread:{main.ru_stime:.6f}",
        f"used_cpu_user_main_thread:{main.ru_utime:.6f}",
    ]


def _modules(engine: Engine) -> list[str]:
    return []


def _commandstats(engine: Engine) -> list[str]:
    lines = []
    for name in sorted(engine.stats.commands):
        s = engine.stats.commands[name]
        if not (s.calls or s.failed_calls or s.rejected_calls):
            continue
        per_call = s.usec / s.calls if s.calls else 0.0
        lines.append(
            f"cmdstat_{name}:calls={s.calls},usec={s.usec},usec_per_call={per_call:.2f},"
            f"rejected_calls={s.rejected_calls},failed_calls={s.failed_calls}"
        )
    return lines


def _errorstats(engine: Engine) -> list[str]:
    errors = engine.stats.errors
    return [f"errorstat_{prefix}:count={errors[prefix]}" for prefix in sorted(errors)]


def _latencystats(engine: Engine) -> list[str]:
    """Each command's latency percentiles (``latency-tracking-info-percentiles``)."""
    config = engine.config
    if not config.latency_tracking:
        return []
    percentiles = config.latency_tracking_info_percentiles
    commands = engine.stats.commands
    return [
        percentiles_line(name, commands[name].samples, percentiles)
        for name in sorted(commands)
        if commands[name].samples
    ]


def _cluster(engine: Engine) -> list[str]:
    return ["cluster_enabled:0"]


def _keyspace(engine: Engine) -> list[str]:
    return [
        f"db{db.id}:keys={len(db)},expires={db.volatile_count()},avg_ttl={db.avg_ttl()}"
        for db in engine.keyspace.dbs
        if len(db)
    ]


BUILDERS: Final[dict[str, Callable[[Engine], list[str]]]] = {
    "server": _server,
    "clients": _clients,
    "memory": _memory,
    "persistence": _persistence,
    "stats": _stats,
    "replication": _replication,
    "cpu": _cpu,
    "modules": _modules,
    "commandstats": _commandstats,
    "errorstats": _errorstats,
    "latencystats": _latencystats,
    "cluster": _cluster,
    "keyspace": _keyspace,
}


def wanted_sections(engine: Engine, args: Iterable[str]) -> list[str]:
    """The sections INFO ``args`` asks for, in output order (Redis 7.0's rules).

    No argument or ``default``: the default sections; ``all``: every section;
    ``everything``: the same (respcache has no module sections); names are
    case-insensitive and unknown ones are ignored.
    """
    extra = [
        name for name in engine.info_providers if not name.endswith("+") and name not in BUILDERS
    ]
    order = [*SECTIONS[:-1], *extra, SECTIONS[-1]]
    requested: set[str] = set()
    names = [arg.lower() for arg in args] or ["default"]
    for name in names:
        if name in ("all", "everything"):
            requested.update(order)
        elif name == "default":
            requested.update(DEFAULT_SECTIONS)
            requested.update(extra)
        else:
            requested.add(name)
    return [name for name in order if name in requested]


def section_lines(engine: Engine, name: str) -> list[str]:
    """One section's body: the provider's lines, or the built-in ones (plus ``name+``)."""
    provider = engine.info_providers.get(name)
    lines = provider() if provider is not None else BUILDERS[name](engine)
    extension = engine.info_providers.get(name + "+")
    if extension is not None:
        lines = [*lines, *extension()]
    return lines


def info_text(engine: Engine, args: Iterable[str] = ()) -> str:
    """The whole INFO text for ``args`` (section names, ``all``, ``everything``, ``default``)."""
    parts = []
    for name in wanted_sections(engine, args):
        title = TITLES.get(name, name.capitalize())
        body = "".join(line + "\r\n" for line in section_lines(engine, name))
        parts.append(f"# {title}\r\n{body}")
    return "\r\n".join(parts)
