"""Where a command's keys are: Redis 7.0's key-spec engine, driven by Redis's own table.

Every Redis 7.0 command declares *key specs* (``src/commands/*.json``): where the search
begins (``index`` — a fixed position — or ``keyword`` — after a word such as ``STREAMS``,
searched forwards or backwards) and how keys are found from there (``range`` — up to a
last position, every ``keystep`` — or ``keynum`` — a count argument such as EVAL's
``numkeys``). The specs are recorded in ``docs_data.json``; this module walks them for a
command line, as ``src/db.c`` does:

- :func:`keys_with_specs` is ``getKeysUsingKeySpecs``: None when a spec does not fit the
  arguments, is ``incomplete`` or of an ``unknown`` kind;
- :func:`command_keys` is ``getKeysFromCommandWithSpecs``: the specs when they are
  reliable (no ``variable_flags``), else the command's own ``getkeys_proc`` — SET's GET,
  BITFIELD's read-only form, MIGRATE's KEYS, SORT's STORE — registered in
  :data:`GETKEYS_PROCS`;
- :func:`has_keys` is ``doesCommandHaveKeys``.

COMMAND GETKEYS / GETKEYSANDFLAGS and client-side caching (which keys a read touched)
use it; ACL key permissions can too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from respcache.commands.args import parse_int
from respcache.commands.recorded import recorded
from respcache.commands.registry import CommandSpec
from respcache.errors import CommandError

KeyRef = tuple[int, list[str]]
"""A key's position in argv and its key-spec flags (``RO``, ``access``...)."""

GetKeysProc = Callable[[list[bytes]], list[KeyRef]]

GETKEYS_PROCS: dict[str, GetKeysProc] = {}
"""Per-command key extraction where key specs cannot say it (Redis's ``getkeys_proc``);
a command's module may register its own (SORT's lives with SORT)."""

_SPECS: dict[str, tuple[list[dict[str, Any]], bool, bool]] = {}
"""Per command name: its key specs, whether one is a real key, whether one has variable flags."""


def key_specs(spec: CommandSpec) -> list[dict[str, Any]]:
    """Redis key specs: recorded ones when they agree with the registry, else one range."""
    info = recorded(spec, "info")
    if info is not None and (info["first_key"], info["last_key"], info["step"]) == (
        spec.first_key,
        spec.last_key,
        spec.step,
    ):
        specs: list[dict[str, Any]] = info["key_specs"]
        return specs
    if spec.first_key <= 0:
        return []
    flags = ["RW", "update"] if "write" in spec.flags else ["RO", "access"]
    last = spec.last_key
    lastkey = last - spec.first_key if last >= 0 else last
    return [
        {
            "flags": flags,
            "begin_search": {"type": "index", "spec": {"index": spec.first_key}},
            "find_keys": {
                "type": "range",
                "spec": {"lastkey": lastkey, "keystep": max(1, spec.step), "limit": 0},
            },
        }
    ]


def _summary(spec: CommandSpec) -> tuple[list[dict[str, Any]], bool, bool]:
    found = _SPECS.get(spec.name)
    if found is None:
        specs = key_specs(spec)
        has_keyspec = any("not_key" not in ks.get("flags", ()) for ks in specs)
        has_varflags = any("variable_flags" in ks.get("flags", ()) for ks in specs)
        found = _SPECS[spec.name] = (specs, has_keyspec, has_varflags)
    return found


def has_keys(spec: CommandSpec) -> bool:
    """Whether the command takes keys at all (``doesCommandHaveKeys``)."""
    return spec.name in GETKEYS_PROCS or _summary(spec)[1]


def _begin(begin: dict[str, Any], argv: list[bytes]) -> int | None:
    """Where the keys begin: 0 when a keyword is absent, None for an unknown search."""
    kind = begin["type"]
    if kind == "index":
        index: int = begin["spec"]["index"]
        return index
    if kind != "keyword":
        return None
    argc = len(argv)
    keyword = begin["spec"]["keyword"].lower().encode()
    start: int = begin["spec"]["startfrom"]
    start_index = start if start > 0 else argc + start
    end_index = argc - 1 if start > 0 else 1
    step = 1 if start_index <= end_index else -1
    i = start_index
    while i != end_index:
        if i >= argc or i < 1:
            break
        if argv[i].lower() == keyword:
            return i + 1
        i += step
    return 0


def keys_with_specs(spec: CommandSpec, argv: list[bytes]) -> list[KeyRef] | None:
    """(position, flags) of every key the specs find in ``argv``; None when one does not fit."""
    found: list[KeyRef] = []
    argc = len(argv)
    for ks in _summary(spec)[0]:
        flags: list[str] = ks.get("flags", [])
        if "not_key" in flags:
            continue
        first = _begin(ks["begin_search"], argv)
        if first is None:
            return None
        if not first:
            continue  # keyword not found: this spec has no keys here
        find = ks["find_keys"]
        params = find["spec"]
        if find["type"] == "range":
            step = params["keystep"]
            lastkey = params["lastkey"]
            limit = params["limit"]
            if lastkey >= 0:
                last = first + lastkey
            elif not limit:
                last = argc + lastkey
            else:
                last = first + ((argc - first) // limit + lastkey)
        elif find["type"] == "keynum":
            step = params["keystep"]
            keynumidx = params["keynumidx"]
            if first + keynumidx >= argc:
                return None
            try:
                numkeys = parse_int(argv[first + keynumidx])
            except CommandError:
                return None
            if numkeys < 0:
                return None
            first += params["firstkey"]
            last = first + numkeys - 1
        else:
            return None
        if last >= argc or last < first or first >= argc:
            return None
        found.extend((i, flags) for i in range(first, last + 1, max(1, step)))
        if "incomplete" in flags:
            return None
    return found


def command_keys(spec: CommandSpec, argv: list[bytes]) -> list[KeyRef]:
    """Every key of the command line ``argv`` (``getKeysFromCommandWithSpecs``).

    Empty when the arguments do not fit the command's specs (Redis leaves that error to
    the command itself).
    """
    _, has_keyspec, has_varflags = _summary(spec)
    if has_keyspec and not has_varflags:
        found = keys_with_specs(spec, argv)
        if found is not None:
            return found
    proc = GETKEYS_PROCS.get(spec.name)
    return proc(argv) if proc is not None else []


# --- Redis's getkeys procs for the commands whose specs are not enough -------------------------

_RW_ACCESS_UPDATE: Final = ["RW", "access", "update"]


def set_keys(argv: list[bytes]) -> list[KeyRef]:
    """``setGetKeys``: the key is read too when GET is given."""
    if any(arg.lower() == b"get" for arg in argv[3:]):
        return [(1, _RW_ACCESS_UPDATE)]
    return [(1, ["OW", "update"])]


def bitfield_keys(argv: list[bytes]) -> list[KeyRef]:
    """``bitfieldGetKeys``: read-only when only GET (and OVERFLOW) operations are given."""
    readonly = True
    i = 2
    argc = len(argv)
    while i < argc:
        remaining = argc - i - 1
        arg = argv[i].lower()
        if arg == b"get" and remaining >= 2:
            i += 2
        elif arg in (b"set", b"incrby") and remaining >= 3:
            readonly = False
            break
        elif arg == b"overflow" and remaining >= 1:
            i += 1
        else:
            readonly = False  # a syntax error: safer to assume a write
            break
        i += 1
    return [(1, ["RO", "access"] if readonly else _RW_ACCESS_UPDATE)]


_MIGRATE_SKIPS: Final = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}


def migrate_keys(argv: list[bytes]) -> list[KeyRef]:
    """``migrateGetKeys``: the key argument, or the keys after KEYS when the key is ``""``."""
    first, num = 3, 1
    argc = len(argv)
    i = 6
    while i < argc:
        arg = argv[i].lower()
        if arg == b"keys":
            if argv[3]:
                num = 0  # a syntax error, left to MIGRATE itself
            else:
                first, num = i + 1, argc - i - 1
            break
        i += _MIGRATE_SKIPS.get(arg, 0) + 1
    flags = ["RW", "access", "delete"]
    return [(first + n, flags) for n in range(num)]


def sort_ro_keys(argv: list[bytes]) -> list[KeyRef]:
    """``sortROGetKeys``: only the sorted key (BY/GET patterns are not keys)."""
    return [(1, ["RO", "access"])]


GETKEYS_PROCS.update(
    {"set": set_keys, "bitfield": bitfield_keys, "migrate": migrate_keys, "sort_ro": sort_ro_keys}
)
