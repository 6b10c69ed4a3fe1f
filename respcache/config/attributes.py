"""The typed, read-only attributes of a :class:`~respcache.config.Config`, one per setting.

Each attribute is a descriptor reading ``_values`` by the setting's Redis name, so
``config.maxmemory`` is an ``int`` to mypy (and mypyc) while the value lives in the one
table the settings module declares; ``tests/unit/test_config.py`` checks that every setting
has its attribute and every attribute names a setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, NoReturn, TypeVar, cast, overload

from respcache.config.values import BufferLimit

T = TypeVar("T")


class _Field(Generic[T]):
    """A typed, read-only :class:`~respcache.config.Config` attribute backed by one setting."""

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type[ConfigAttributes]) -> _Field[T]: ...
    @overload
    def __get__(self, obj: ConfigAttributes, owner: type[ConfigAttributes]) -> T: ...
    def __get__(self, obj: ConfigAttributes | None, owner: type[ConfigAttributes]) -> _Field[T] | T:
        if obj is None:
            return self
        return cast(T, obj._values[self.name])

    def __set__(self, obj: ConfigAttributes, value: object) -> NoReturn:
        raise AttributeError(f"use Config.set({self.name!r}, ...) to change a setting")


class _ListField(_Field[list[str]]):
    def __get__(self, obj: ConfigAttributes | None, owner: type[ConfigAttributes]) -> Any:
        if obj is None:
            return self
        return list(obj._values[self.name])  # type: ignore[call-overload]



class ConfigAttributes:
    """One typed attribute per setting, read from ``_values`` (filled by ``Config``)."""

    _values: dict[str, object]

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
