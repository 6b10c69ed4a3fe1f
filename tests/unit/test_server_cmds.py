"""Server commands through the engine: INFO, CONFIG, DBSIZE, FLUSH*, TIME, SAVE and friends,
SHUTDOWN, MEMORY, DEBUG, SLOWLOG, LATENCY, ROLE. Expected strings are Redis 7.0.15's."""

from __future__ import annotations

import os
import re
import time

import pytest
from conftest import Run

from respcache.commands import Client, Engine
from respcache.commands.info import bytes_to_human, info_text
from respcache.commands.monitoring import slowlog_argv
from respcache.commands.registry import REGISTRY
from respcache.config import Config
from respcache.errors import CommandError
from respcache.protocol.encoder import encode
from respcache.protocol.types import OK, Verbatim
from respcache.server.app import Server
from respcache.store.memory import STARTUP_MEMORY
from respcache.store.values import EXPIRE_OVERHEAD, entry_size

SYNTAX = CommandError("ERR syntax error")
LINE = re.compile(r"^(# [A-Za-z]+|[A-Za-z0-9_.|-]+:[^\r\n]*)$")


def err(text: str) -> CommandError:
    return CommandError(text)


def info(client: Client, run: Run, *sections: str) -> str:
    reply = run(client, "INFO", *sections)
    assert isinstance(reply, bytes)
    return reply.decode()


def parse_info(text: str) -> dict[str, dict[str, str]]:
    """What redis-py and redis_exporter do: sections of ``field:value`` lines."""
    out: dict[str, dict[str, str]] = {}
    section = ""
    for line in text.split("\r\n"):
        if not line:
            continue
        assert LINE.match(line), line
        if line.startswith("# "):
            section = line[2:]
            out[section] = {}
        else:
            key, value = line.split(":", 1)
            out[section][key] = value
    return out


# --- INFO ------------------------------------------------------------------------------------


def test_info_default_sections_and_format(client: Client, run: Run) -> None:
    text = info(client, run)
    assert text.startswith("# Server\r\nredis_version:7.0.15\r\n")
    assert text.endswith("\r\n") and not text.endswith("\r\n\r\n")
    assert "\n" not in text.replace("\r\n", "")
    parsed = parse_info(text)
    assert list(parsed) == [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Modules",
        "Errorstats",
        "Cluster",
        "Keyspace",
    ]
    # Sections are separated by exactly one empty line.
    assert text.count("\r\n\r\n") == len(parsed) - 1
    assert parsed["Server"]["redis_mode"] == "standalone"
    assert parsed["Clients"]["connected_clients"] == "1"
    assert parsed["Replication"]["role"] == "master"
    assert parsed["Replication"]["connected_slaves"] == "0"
    assert re.fullmatch(r"[0-9a-f]{40}", parsed["Replication"]["master_replid"])
    assert parsed["Cluster"] == {"cluster_enabled": "0"}
    assert parsed["Modules"] == {}


def test_info_section_selection(client: Client, run: Run) -> None:
    assert info(client, run, "keyspace") == "# Keyspace\r\n"
    run(client, "SET", "k", "v")
    assert info(client, run, "keyspace") == "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"
    # Output order is Redis's, whatever the order asked; unknown names are ignored.
    assert list(parse_info(info(client, run, "KEYSPACE", "nosuch", "clients"))) == [
        "Clients",
        "Keyspace",
    ]
    assert info(client, run, "nosuch") == ""
    assert info(client, run, "modules") == "# Modules\r\n"
    everything = parse_info(info(client, run, "everything"))
    assert "Commandstats" in everything and "Keyspace" in everything
    assert list(parse_info(info(client, run, "all"))) == list(everything)
    assert "Commandstats" not in parse_info(info(client, run, "default"))
    assert list(parse_info(info(client, run, "cpu"))) == ["CPU"]


def test_info_is_verbatim_in_resp3(client: Client, run: Run) -> None:
    run(client, "HELLO", "3")
    reply = run(client, "INFO", "cluster")
    assert reply == Verbatim(b"# Cluster\r\ncluster_enabled:0\r\n")
    assert encode(reply, True) == b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"  # type: ignore[arg-type]


def test_info_values_follow_the_engine(engine: Engine, client: Client, run: Run) -> None:
    run(client, "SET", "a", "1")
    run(client, "SET", "b", "2")
    run(client, "PEXPIRE", "b", "100000")
    run(client, "GET", "a")
    run(client, "GET", "nosuch")
    run(client, "SELECT", "3")
    run(client, "SET", "c", "3")
    run(client, "NOSUCHCOMMAND")
    parsed = parse_info(info(client, run, "everything"))
    assert parsed["Keyspace"]["db0"].startswith("keys=2,expires=1,avg_ttl=")
    assert parsed["Keyspace"]["db3"] == "keys=1,expires=0,avg_ttl=0"
    assert parsed["Stats"]["keyspace_hits"] == "1"
    assert parsed["Stats"]["keyspace_misses"] == "1"
    assert parsed["Stats"]["total_error_replies"] == "1"
    assert parsed["Errorstats"] == {"errorstat_ERR": "count=1"}
    used = engine.keyspace.used_memory + STARTUP_MEMORY  # dataset + startup overhead
    assert parsed["Memory"]["used_memory"] == str(used)
    assert parsed["Memory"]["used_memory_human"] == bytes_to_human(used)
    assert parsed["Memory"]["used_memory_startup"] == str(STARTUP_MEMORY)
    overhead, dataset = (int(parsed["Memory"][f"used_memory_{f}"]) for f in ("overhead", "dataset"))
    assert overhead + dataset == used
    assert parsed["Memory"]["maxmemory_policy"] == "noeviction"
    assert int(parsed["Memory"]["used_memory_rss"]) > 0
    stat = parsed["Commandstats"]["cmdstat_set"]
    assert re.fullmatch(
        r"calls=3,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0", stat
    )
    assert parsed["Commandstats"]["cmdstat_select"].startswith("calls=1,")
    assert parsed["Persistence"]["rdb_changes_since_last_save"] == str(engine.dirty)


def test_info_commandstats_counts_rejections(client: Client, run: Run) -> None:
    run(client, "GET")
    run(client, "CLIENT", "SETNAME", "a b")
    stats = parse_info(info(client, run, "commandstats"))["Commandstats"]
    assert stats["cmdstat_get"].endswith("rejected_calls=1,failed_calls=0")
    assert stats["cmdstat_client|setname"].startswith("calls=1,")
    assert stats["cmdstat_client|setname"].endswith("rejected_calls=0,failed_calls=1")


def test_info_providers_replace_extend_and_add(engine: Engine, client: Client, run: Run) -> None:
    engine.info_providers["replication"] = lambda: ["role:slave", "master_host:10.0.0.1"]
    engine.info_providers["stats+"] = lambda: ["respcache_acks:7"]
    engine.info_providers["coordination"] = lambda: ["zk_state:connected"]
    engine.ops_per_sec = lambda: 1234
    parsed = parse_info(info(client, run))
    assert parsed["Replication"] == {"role": "slave", "master_host": "10.0.0.1"}
    assert parsed["Stats"]["respcache_acks"] == "7"
    assert list(parsed["Stats"]).index("respcache_acks") == len(parsed["Stats"]) - 1
    assert parsed["Stats"]["instantaneous_ops_per_sec"] == "1234"
    assert parsed["Coordination"] == {"zk_state": "connected"}
    assert list(parsed)[-2:] == ["Coordination", "Keyspace"]
    assert list(parse_info(info(client, run, "coordination"))) == ["Coordination"]


def test_info_text_without_a_command(engine: Engine) -> None:
    assert info_text(engine, ["cluster"]) == "# Cluster\r\ncluster_enabled:0\r\n"


def test_bytes_to_human() -> None:
    assert [bytes_to_human(n) for n in (0, 1023, 1024, 1536, 1024**2 * 3, 1024**3)] == [
        "0B",
        "1023B",
        "1.00K",
        "1.50K",
        "3.00M",
        "1.00G",
    ]


# --- CONFIG ----------------------------------------------------------------------------------


def test_config_get(client: Client, run: Run) -> None:
    assert run(client, "CONFIG", "GET", "maxmemory") == {b"maxmemory": b"0"}
    assert run(client, "CONFIG", "GET", "maxmemory", "hz") == {b"maxmemory": b"0", b"hz": b"10"}
    matched = run(client, "CONFIG", "GET", "maxmemory*")
    assert isinstance(matched, dict)
    assert {b"maxmemory", b"maxmemory-policy", b"maxmemory-samples"} <= set(matched)
    assert run(client, "CONFIG", "GET", "nosuch") == {}
    assert encode(run(client, "CONFIG", "GET", "maxmemory")) == (  # type: ignore[arg-type]
        b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    )
    assert run(client, "CONFIG", "GET") == err(
        "ERR wrong number of arguments for 'config|get' command"
    )


def test_config_set(engine: Engine, client: Client, run: Run) -> None:
    assert run(client, "CONFIG", "SET", "hz", "5", "maxmemory", "10mb") is OK
    assert (engine.config.hz, engine.config.maxmemory) == (5, 10 * 1024 * 1024)
    assert run(client, "CONFIG", "SET", "maxmemory", "10mb", "hz") == SYNTAX
    assert run(client, "CONFIG", "SET", "nosuch", "1") == err(
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    )
    assert run(client, "CONFIG", "SET", "maxmemory", "abc") == err(
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
        "argument must be a memory value"
    )
    assert run(client, "CONFIG", "SET", "maxmemory", "1", "maxmemory", "2") == err(
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"
    )
    # All or nothing: a bad second value leaves the first unchanged.
    assert run(client, "CONFIG", "SET", "hz", "7", "maxmemory-policy", "bad") == err(
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) "
        "must be one of the following: volatile-lru, volatile-lfu, volatile-random, "
        "volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"
    )
    assert engine.config.hz == 5
    assert run(client, "CONFIG", "SET", "maxmemory") == err(
        "ERR wrong number of arguments for 'config|set' command"
    )


def test_config_set_effects_through_the_servers_hooks() -> None:
    server = Server(Config(port=0))
    engine = server.engine
    client = engine.new_client()
    assert engine.execute(client, [b"CONFIG", b"SET", b"maxmemory-policy", b"allkeys-lfu"]) is OK
    assert engine.keyspace.policy == "allkeys-lfu" and engine.keyspace.lfu_enabled
    server.config.set("maxmemory-policy", "volatile-ttl")
    assert engine.keyspace.policy == "volatile-ttl"
    engine.execute(client, [b"CONFIG", b"SET", b"maxmemory", b"1mb"])
    assert engine.keyspace.maxmemory == 1024 * 1024
    info = engine.execute(client, [b"INFO", b"memory"])
    assert isinstance(info, bytes)
    assert b"maxmemory:1048576\r\n" in info and b"maxmemory_policy:volatile-ttl\r\n" in info


def test_config_set_slowlog_threshold_takes_effect(
    engine: Engine, client: Client, run: Run
) -> None:
    assert run(client, "CONFIG", "SET", "slowlog-log-slower-than", "0") is OK
    run(client, "SET", "k", "v")
    assert run(client, "SLOWLOG", "LEN") == 2  # CONFIG SET itself, then SET
    run(client, "CONFIG", "SET", "slowlog-log-slower-than", "-1")
    run(client, "SET", "k", "v")
    assert run(client, "SLOWLOG", "LEN") == 3  # the disabling CONFIG SET is not logged


def test_config_resetstat(engine: Engine, client: Client, run: Run) -> None:
    run(client, "SET", "k", "v")
    run(client, "GET", "k")
    run(client, "GET")
    assert run(client, "CONFIG", "RESETSTAT") is OK
    parsed = parse_info(info(client, run, "stats", "commandstats", "errorstats"))
    assert parsed["Stats"]["keyspace_hits"] == "0"
    assert parsed["Stats"]["total_error_replies"] == "0"
    assert parsed["Stats"]["total_connections_received"] == "0"
    assert parsed["Errorstats"] == {}
    # Counted after it ran, as in Redis; this INFO is counted after its reply is built.
    assert list(parsed["Commandstats"]) == ["cmdstat_config|resetstat"]
    assert run(client, "CONFIG", "RESETSTAT", "x") == err(
        "ERR wrong number of arguments for 'config|resetstat' command"
    )


def test_config_rewrite_and_help(client: Client, run: Run) -> None:
    assert run(client, "CONFIG", "REWRITE") == err(
        "ERR The server is running without a config file"
    )
    assert run(client, "CONFIG", "HELP") == [
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    ]
    assert run(client, "CONFIG", "foo") == err("ERR unknown subcommand 'foo'. Try CONFIG HELP.")


def test_config_rewrite_writes_the_file(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    path = tmp_path / "respcache.conf"
    path.write_text("port 7000\n")
    engine = Engine(Config.load(str(path)))
    client = engine.new_client()
    engine.execute(client, [b"CONFIG", b"SET", b"maxmemory", b"2mb"])
    assert engine.execute(client, [b"CONFIG", b"REWRITE"]) is OK
    assert "maxmemory 2mb" in path.read_text()


# --- the dataset -------------------------------------------------------------------------------


def test_dbsize_and_flushdb(engine: Engine, client: Client, run: Run) -> None:
    run(client, "SET", "a", "1")
    run(client, "SET", "b", "2")
    run(client, "SELECT", "1")
    run(client, "SET", "c", "3")
    assert run(client, "DBSIZE") == 1
    assert run(client, "FLUSHDB", "x") == SYNTAX
    assert run(client, "FLUSHDB", "ASYNC", "x") == SYNTAX
    assert run(client, "FLUSHDB", "async") is OK
    assert run(client, "DBSIZE") == 0
    run(client, "SELECT", "0")
    assert run(client, "DBSIZE") == 2
    assert run(client, "FLUSHDB", "SYNC") is OK
    assert run(client, "DBSIZE") == 0
    assert engine.keyspace.used_memory == 0
    assert run(client, "DBSIZE", "x") == err("ERR wrong number of arguments for 'dbsize' command")


def test_flushes_invalidate_watchers_and_replicate(
    engine: Engine, client: Client, run: Run, propagated: list[tuple[int, list[bytes]]]
) -> None:
    watcher = engine.new_client()
    engine.watches.watch(watcher, b"nosuch")
    assert run(client, "FLUSHDB") is OK  # replicated even though nothing was there
    assert not watcher.dirty_cas  # as Redis 7.0: only WATCHed keys that existed are touched
    assert propagated == [(0, [b"FLUSHDB"])]
    run(client, "SET", "nosuch", "now-it-exists")
    engine.watches.unwatch_all(watcher)
    engine.watches.watch(watcher, b"nosuch")
    assert run(client, "FLUSHDB") is OK
    assert watcher.dirty_cas
    del propagated[1:]
    other = engine.new_client()
    other.db = engine.keyspace.dbs[5]
    engine.keyspace.dbs[5].set(b"k", b"in-db-5")
    engine.watches.watch(other, b"k")
    run(client, "SET", "k", "v")
    run(client, "FLUSHDB")
    assert not other.dirty_cas  # FLUSHDB in db 0 does not touch db 5
    assert run(client, "FLUSHALL", "foo") == SYNTAX
    assert run(client, "FLUSHALL") is OK
    assert other.dirty_cas
    assert run(client, "DBSIZE") == 0
    assert propagated[-1] == (0, [b"FLUSHALL"])


def test_time(client: Client, run: Run) -> None:
    before = time.time()
    reply = run(client, "TIME")
    assert isinstance(reply, list) and len(reply) == 2
    seconds, micros = (int(part) for part in reply)  # type: ignore[call-overload]
    assert 0 <= micros < 1_000_000
    assert before - 1 <= seconds + micros / 1e6 <= time.time() + 1
    assert run(client, "TIME", "x") == err("ERR wrong number of arguments for 'time' command")


def test_save_bgsave_lastsave(engine: Engine, client: Client, run: Run) -> None:
    assert run(client, "LASTSAVE") == int(engine.started)
    run(client, "SET", "k", "v")
    assert run(client, "SAVE") is OK
    path = os.path.join(engine.config.dir, "dump.rdb")
    with open(path, "rb") as f:
        assert f.read(9) == b"REDIS0010"
    assert run(client, "BGSAVE") == "Background saving started"
    assert run(client, "BGSAVE", "SCHEDULE") == err("ERR Background save already in progress")
    assert run(client, "SAVE") == err("ERR Background save already in progress")
    deadline = time.monotonic() + 30
    while not engine.persistence.poll():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert run(client, "BGSAVE", "foo") == SYNTAX
    assert run(client, "SAVE", "x") == err("ERR wrong number of arguments for 'save' command")
    persistence = parse_info(info(client, run, "persistence"))["Persistence"]
    assert persistence["rdb_changes_since_last_save"] == "0"
    assert persistence["rdb_saves"] == "2"
    assert persistence["rdb_last_bgsave_status"] == "ok"
    assert abs(int(persistence["rdb_last_save_time"]) - time.time()) < 5


def test_shutdown(engine: Engine, client: Client, run: Run) -> None:
    assert run(client, "SHUTDOWN") == err("ERR Errors trying to SHUTDOWN. Check logs.")
    calls: list[bool] = []
    engine.shutdown_hook = calls.append
    assert run(client, "SHUTDOWN", "foo") == SYNTAX
    assert run(client, "SHUTDOWN", "NOSAVE", "SAVE") == SYNTAX
    assert run(client, "SHUTDOWN", "ABORT", "NOW") == SYNTAX
    assert run(client, "SHUTDOWN", "ABORT") == err("ERR No shutdown in progress.")
    assert calls == []
    assert run(client, "SHUTDOWN", "NOSAVE", "NOSAVE", "NOW", "FORCE") is None
    assert calls == [True]
    assert client.reply_mode == "skip"  # Redis sends no reply: the connection just closes
    client.reply_mode = "on"
    run(client, "SHUTDOWN")
    assert calls == [True, False]


# --- MEMORY ----------------------------------------------------------------------------------


def test_memory_usage(engine: Engine, client: Client, run: Run) -> None:
    assert run(client, "MEMORY", "USAGE", "nosuch") is None
    run(client, "SET", "k", "v" * 100)
    assert run(client, "MEMORY", "USAGE", "k") == entry_size(b"k", b"v" * 100)
    assert run(client, "MEMORY", "USAGE", "k") == engine.keyspace.used_memory
    run(client, "EXPIRE", "k", "100")
    assert run(client, "MEMORY", "USAGE", "k", "SAMPLES", "0") == engine.keyspace.used_memory
    assert engine.keyspace.used_memory == entry_size(b"k", b"v" * 100) + EXPIRE_OVERHEAD
    assert run(client, "MEMORY", "USAGE", "k", "SAMPLES") == SYNTAX
    assert run(client, "MEMORY", "USAGE", "k", "SAMPLES", "x") == err(
        "ERR value is not an integer or out of range"
    )
    assert run(client, "MEMORY", "USAGE", "k", "SAMPLES", "-1") == SYNTAX
    assert run(client, "MEMORY", "USAGE", "k", "foo", "1") == SYNTAX
    assert run(client, "MEMORY", "USAGE") == err(
        "ERR wrong number of arguments for 'memory|usage' command"
    )


def test_memory_stats_doctor_help(engine: Engine, client: Client, run: Run) -> None:
    run(client, "SET", "k", "v")
    stats = run(client, "MEMORY", "STATS")
    assert isinstance(stats, dict)
    assert stats[b"total.allocated"] == engine.keyspace.used_memory + STARTUP_MEMORY
    assert stats[b"startup.allocated"] == STARTUP_MEMORY
    assert stats[b"overhead.total"] + stats[b"dataset.bytes"] == stats[b"total.allocated"]
    assert stats[b"keys.count"] == 1
    assert isinstance(stats[b"db.0"], dict)
    assert isinstance(stats[b"dataset.percentage"], float)
    assert list(stats)[:2] == [b"peak.allocated", b"total.allocated"]
    doctor = run(client, "MEMORY", "DOCTOR")
    assert isinstance(doctor, bytes) and doctor.startswith(b"Hi Sam, this instance is empty")
    assert run(client, "MEMORY", "PURGE") is OK
    help_lines = run(client, "MEMORY", "HELP")
    assert isinstance(help_lines, list) and help_lines[-2:] == ["HELP", "    Prints this help."]
    assert len(help_lines) == 14
    assert run(client, "MEMORY", "foo") == err("ERR unknown subcommand 'foo'. Try MEMORY HELP.")


# --- DEBUG -----------------------------------------------------------------------------------


def test_debug(client: Client, run: Run) -> None:
    assert run(client, "DEBUG", "SLEEP", "0") is OK
    assert run(client, "DEBUG", "sleep", "x") is OK  # atof("x") == 0, as in Redis
    assert run(client, "DEBUG", "OBJECT", "nosuch") == err("ERR no such key")
    run(client, "SET", "k", "v")
    reply = run(client, "DEBUG", "OBJECT", "k")
    assert isinstance(reply, str)
    assert re.fullmatch(
        r"Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:1 lru:\d+ "
        r"lru_seconds_idle:0",
        reply,
    )
    run(client, "SET", "gone", "v", "PX", "100000")
    client.db.expires[b"gone"] = 1  # expired, not yet deleted (active expiry off)
    assert isinstance(run(client, "DEBUG", "OBJECT", "gone"), str)  # dictFind, as Redis
    assert run(client, "EXISTS", "gone") == 0
    assert run(client, "DEBUG", "SLEEP") == err(
        "ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP."
    )
    assert run(client, "DEBUG", "jmap") == err(
        "ERR unknown subcommand or wrong number of arguments for 'jmap'. Try DEBUG HELP."
    )
    assert run(client, "DEBUG") == err("ERR wrong number of arguments for 'debug' command")
    assert "DIGEST" not in str(run(client, "DEBUG", "HELP"))


# --- SLOWLOG ---------------------------------------------------------------------------------


def test_slowlog(engine: Engine, client: Client, run: Run) -> None:
    engine.config.set("slowlog-log-slower-than", "0")
    run(client, "CLIENT", "SETNAME", "nm")
    run(client, "SET", "k", "v")
    entries = run(client, "SLOWLOG", "GET")
    assert isinstance(entries, list) and len(entries) == 2
    newest = entries[0]
    assert isinstance(newest, list) and len(newest) == 6
    entry_id, when, duration, argv, addr, name = newest
    assert argv == [b"SET", b"k", b"v"]
    assert (addr, name) == (b"", b"nm")
    assert isinstance(duration, int) and duration >= 0
    assert isinstance(when, int) and abs(when - time.time()) < 5
    assert entries[1][0] == entry_id - 1  # type: ignore[index,operator]
    assert len(run(client, "SLOWLOG", "GET", "1")) == 1  # type: ignore[arg-type]
    assert len(run(client, "SLOWLOG", "GET", "-1")) == 4  # type: ignore[arg-type]
    assert run(client, "SLOWLOG", "GET", "0") == []
    assert run(client, "SLOWLOG", "LEN") == 6
    assert run(client, "SLOWLOG", "RESET") is OK
    assert run(client, "SLOWLOG", "LEN") == 1  # the RESET itself
    ids = [e[0] for e in run(client, "SLOWLOG", "GET")]  # type: ignore[index,union-attr]
    assert ids[0] > entry_id  # type: ignore[operator]  ids never restart


def test_slowlog_errors(client: Client, run: Run) -> None:
    error = err("ERR count should be greater than or equal to -1")
    assert run(client, "SLOWLOG", "GET", "x") == error
    assert run(client, "SLOWLOG", "GET", "-2") == error
    assert run(client, "SLOWLOG", "GET", "1", "2") == err(
        "ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP."
    )
    assert run(client, "SLOWLOG", "LEN", "x") == err(
        "ERR wrong number of arguments for 'slowlog|len' command"
    )
    assert run(client, "SLOWLOG", "foo") == err("ERR unknown subcommand 'foo'. Try SLOWLOG HELP.")
    assert len(run(client, "SLOWLOG", "HELP")) == 12  # type: ignore[arg-type]


def test_slowlog_max_len_and_default_threshold(engine: Engine, client: Client, run: Run) -> None:
    run(client, "SET", "k", "v")
    assert run(client, "SLOWLOG", "LEN") == 0  # 10 ms by default
    engine.config.set_many([("slowlog-log-slower-than", "0"), ("slowlog-max-len", "3")])
    for _ in range(5):
        run(client, "PING")
    assert run(client, "SLOWLOG", "LEN") == 3
    engine.config.set("slowlog-max-len", "1")
    assert len(engine.monitoring.slowlog) == 1


def test_slowlog_arguments_are_truncated_and_redacted() -> None:
    auth = REGISTRY["auth"]
    assert slowlog_argv(auth, [b"AUTH", b"default", b"pw"]) == [
        b"AUTH",
        b"(redacted)",
        b"(redacted)",
    ]
    hello = REGISTRY["hello"]
    assert slowlog_argv(hello, [b"HELLO", b"3", b"AUTH", b"u", b"p", b"SETNAME", b"n"]) == [
        b"HELLO",
        b"3",
        b"AUTH",
        b"(redacted)",
        b"(redacted)",
        b"SETNAME",
        b"n",
    ]
    config_set = REGISTRY["config"].subcommands["set"]
    assert slowlog_argv(config_set, [b"CONFIG", b"SET", b"requirepass", b"pw", b"hz", b"5"]) == [
        b"CONFIG",
        b"SET",
        b"requirepass",
        b"(redacted)",
        b"hz",
        b"5",
    ]
    mset = REGISTRY["set"]
    long_argv = [b"SET", b"x" * 130] + [b"a"] * 40
    shown = slowlog_argv(mset, long_argv)
    assert len(shown) == 32
    assert shown[1] == b"x" * 128 + b"... (2 more bytes)"
    assert shown[-1] == b"... (11 more arguments)"


# --- LATENCY ---------------------------------------------------------------------------------
    setuser = REGISTRY["acl"].subcommands["setuser"]
    assert slowlog_argv(setuser, [b"acl", b"setuser", b"u u", b"+get"]) == [
        b"acl", b"setuser", b"(redacted)", b"(redacted)"
    ]
    migrate = REGISTRY["migrate"]
    line = [b"migrate", b"h", b"1", b"key", b"9", b"5000", b"AUTH2", b"u", b"p"]
    assert slowlog_argv(migrate, line)[6:] == [b"AUTH2", b"(redacted)", b"(redacted)"]


def test_latency(engine: Engine, client: Client, run: Run) -> None:
    assert run(client, "LATENCY", "LATEST") == []
    assert run(client, "LATENCY", "HISTORY", "command") == []
    doctor = run(client, "LATENCY", "DOCTOR")
    assert isinstance(doctor, bytes) and doctor.startswith(b"I'm sorry, Dave, I can't do that.")
    engine.config.set("latency-monitor-threshold", "1")
    doctor = run(client, "LATENCY", "DOCTOR")
    assert doctor == (
        b"Dave, no latency spike was observed during the lifetime of this Redis instance, not "
        b"in the slightest bit. I honestly think you ought to sit down calmly, take a stress "
        b"pill, and think things over.\n"
    )
    engine.monitoring.add_latency_sample("command", 10)
    engine.monitoring.add_latency_sample("command", 30)  # same second: the worse one stays
    latest = run(client, "LATENCY", "LATEST")
    assert isinstance(latest, list) and len(latest) == 1
    name, when, last, worst = latest[0]  # type: ignore[misc]
    assert (name, last, worst) == (b"command", 30, 30)
    assert run(client, "LATENCY", "HISTORY", "command") == [[when, 30]]
    doctor = run(client, "LATENCY", "DOCTOR")
    assert isinstance(doctor, bytes)
    assert doctor.startswith(b"Dave, I have observed latency spikes in this Redis instance.")
    assert b"1. command: 1 latency spikes (average 30ms" in doctor
    assert run(client, "LATENCY", "RESET", "command", "foo") == 1
    assert run(client, "LATENCY", "RESET") == 0
    assert run(client, "LATENCY", "HISTORY") == err(
        "ERR wrong number of arguments for 'latency|history' command"
    )
    assert run(client, "LATENCY", "foo") == err("ERR unknown subcommand 'foo'. Try LATENCY HELP.")


def test_slow_commands_become_latency_events(engine: Engine, client: Client, run: Run) -> None:
    engine.config.set("latency-monitor-threshold", "5")
    assert run(client, "DEBUG", "SLEEP", "0.01") is OK
    latest = run(client, "LATENCY", "LATEST")
    assert isinstance(latest, list) and latest[0][0] == b"command"  # type: ignore[index]
    assert latest[0][2] >= 10  # type: ignore[index,operator]


# --- ROLE ------------------------------------------------------------------------------------


def test_role(engine: Engine, client: Client, run: Run) -> None:
    assert run(client, "ROLE") == [b"master", 0, []]
    assert encode(run(client, "ROLE")) == b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"  # type: ignore[arg-type]
    engine.role_provider = lambda: [b"slave", b"10.0.0.1", 6379, b"connected", 42]
    assert run(client, "ROLE") == [b"slave", b"10.0.0.1", 6379, b"connected", 42]
    assert run(client, "ROLE", "x") == err("ERR wrong number of arguments for 'role' command")


@pytest.mark.parametrize("section", ["server", "clients", "memory", "stats", "cpu"])
def test_every_info_line_parses(client: Client, run: Run, section: str) -> None:
    text = info(client, run, section)
    lines = text.split("\r\n")
    assert lines[-1] == ""
    for line in lines[:-1]:
        assert LINE.match(line), line


def test_bgsave_inside_exec_is_scheduled_and_the_cron_runs_it(
    engine: Engine, client: Client, run: Run
) -> None:
    run(client, "SET", "k", "v")
    run(client, "MULTI")
    run(client, "BGSAVE")
    assert run(client, "EXEC") == ["Background saving scheduled"]
    assert engine.persistence.bgsave_scheduled and engine.persistence.child is None
    engine.persistence.cron()
    assert engine.persistence.child is not None
    deadline = time.monotonic() + 30
    while not engine.persistence.poll():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert run(client, "LASTSAVE") >= int(time.time()) - 5  # type: ignore[operator]
    assert os.path.exists(os.path.join(engine.config.dir, "dump.rdb"))
