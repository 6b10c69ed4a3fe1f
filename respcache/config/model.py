"""The :class:`Config` object: typed attributes, CONFIG GET/SET/REWRITE, callbacks."""


from __future__ import annotations

import contextlib
import glob as glob_mod
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, NoReturn, TypeVar, cast, overload

from respcache.config.settings import _ALL_NAMES, _BY_ATTRIBUTE, _BY_NAME, _TABLE, Setting, lookup
from respcache.config.syntax import ConfigFileError, _Line, argv_to_options, split_args, stringmatch
from respcache.config.values import (
    _CLASS_ORDER,
    _CLIENT_CLASSES,
    BufferLimit,
    _default_value,
    _Invalid,
    _parse,
    _render,
    _rewrite_lines,
    quote,
)
from respcache.errors import ConfigError

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
