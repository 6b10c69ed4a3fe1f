"""Our command table against real Redis's: ``COMMAND INFO`` for every command we register.

For each name in respcache's ``COMMAND LIST`` (which, as in Redis, names the
subcommands too: ``config|get``), the arity, the flags, and the first key / last key / step must be Redis 7.0's.
Clients (redis-py's cluster mode, redis-cli's hints, proxies) rely on them.
Every mismatch is listed in the failure message.
"""

from __future__ import annotations

import pytest
from pair import registered_commands
from support import Reply, ServerProcess

pytestmark = pytest.mark.integration


# Registered on purpose although standalone Redis 7.0 has no such entry; each with why.
# ``test_extensions_are_current`` keeps this table exact (no stale or missing entry).
EXTENSIONS: dict[str, str] = {
    "client|setinfo": "Redis 7.2's; redis-py sends CLIENT SETINFO on every connection",
    "client|no-touch": "Redis 7.2's CLIENT NO-TOUCH",
    "sentinel": "the Sentinel discovery subset (commands/sentinel.py) for Sentinel-aware clients",
    "debug|digest": "Redis 7.0 parses DEBUG DIGEST inside DEBUG, without a subcommand entry",
    "debug|digest-value": "as debug|digest",
    "debug|reload": "as debug|digest",
    "debug|loadaof": "as debug|digest",
    "debug|aof-flush-sleep": "as debug|digest",
}


def is_extension(name: str) -> bool:
    return name in EXTENSIONS or name.split("|")[0] in EXTENSIONS


def command_info(server: ServerProcess, names: list[str]) -> dict[str, Reply | None]:
    with server.raw(timeout=30) as conn:
        reply = conn.call("COMMAND", "INFO", *names)
    assert reply.kind == "*", f"COMMAND INFO on {server.name}: {reply!r}"
    out: dict[str, Reply | None] = {}
    for name, entry in zip(names, reply.value, strict=True):
        out[name] = None if entry.value is None else entry
    return out


def fields(entry: Reply) -> dict[str, object]:
    """The parts of one COMMAND INFO entry we compare."""
    items = entry.value
    return {
        "arity": int(items[1].value),
        "flags": sorted(f.value.decode() for f in items[2].value),
        "first_key": int(items[3].value),
        "last_key": int(items[4].value),
        "step": int(items[5].value),
    }


def acl_categories(entry: Reply) -> list[str]:
    return sorted(c.value.decode() for c in entry.value[6].value)


def compare_tables(
    respcache_server: ServerProcess, redis_server: ServerProcess, what: str
) -> list[str]:
    names = sorted(n for n in registered_commands(respcache_server) if not is_extension(n))
    ours = command_info(respcache_server, names)
    theirs = command_info(redis_server, names)
    problems: list[str] = []

    def check(name: str, mine: Reply, real: Reply) -> None:
        if what == "acl":
            a, b = acl_categories(mine), acl_categories(real)
            if a != b:
                problems.append(f"{name}: acl categories {a} != redis {b}")
            return
        a_fields, b_fields = fields(mine), fields(real)
        for field, value in a_fields.items():
            if value != b_fields[field]:
                problems.append(f"{name}: {field} {value!r} != redis {b_fields[field]!r}")

    for name in names:
        mine, real = ours[name], theirs[name]
        if (mine is None or real is None) and what != "spec":
            continue  # reported by the spec test
        if mine is None:
            problems.append(f"{name}: in COMMAND LIST but COMMAND INFO {name} is nil")
            continue
        if real is None:
            problems.append(f"{name}: not a Redis 7.0 command")
            continue
        check(name, mine, real)
    return problems


def test_command_info_matches_redis(
    respcache_server: ServerProcess, redis_server: ServerProcess
) -> None:
    problems = compare_tables(respcache_server, redis_server, "spec")
    assert not problems, f"{len(problems)} COMMAND INFO differences:\n" + "\n".join(problems)


def test_acl_categories_match_redis(
    respcache_server: ServerProcess, redis_server: ServerProcess
) -> None:
    problems = compare_tables(respcache_server, redis_server, "acl")
    assert not problems, f"{len(problems)} ACL category differences:\n" + "\n".join(problems)


def test_command_count_and_list_agree(respcache_server: ServerProcess) -> None:
    """COMMAND COUNT counts the top-level commands; COMMAND LIST also names subcommands."""
    with respcache_server.raw() as conn:
        count = conn.call("COMMAND", "COUNT")
    top_level = [n for n in registered_commands(respcache_server) if "|" not in n]
    assert count == (":", str(len(top_level)).encode())


def test_extensions_are_current(
    respcache_server: ServerProcess, redis_server: ServerProcess
) -> None:
    """Every listed extension is registered by respcache and unknown to Redis 7.0."""
    names = sorted(EXTENSIONS)
    ours = command_info(respcache_server, names)
    theirs = command_info(redis_server, names)
    assert [n for n in names if ours[n] is None] == [], "listed but not registered"
    assert [n for n in names if theirs[n] is not None] == [], "Redis 7.0 has these"
