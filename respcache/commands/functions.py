"""FUNCTION and FCALL / FCALL_RO (Redis 7.0's functions, src/functions.c and function_lua.c).

A library is its code (``#!lua name=<lib>`` and Lua that calls
``redis.register_function``). The code is data: it lives in
``keyspace.functions`` (name → code), so a full sync carries it (a
``function`` record of the snapshot) and FUNCTION LOAD / DELETE / FLUSH /
RESTORE replicate as the commands themselves (they change the dataset,
``dirty``). The compiled form — the Lua callbacks and their flags — is kept
per engine here and rebuilt from the code whenever the code changed under it
(a follower after a full sync compiles on first use; a library received from
the leader is loaded without FUNCTION LOAD's 500 ms limit).

FUNCTION DUMP / RESTORE use Redis's payload: ``RDB_OPCODE_FUNCTION2`` (245) and
the code as an RDB string per library, then the RDB version (10, two bytes
little-endian) and the CRC64 (Jones, as Redis's crc64.c) of all that, little-endian.
These few RDB pieces are written here, self-contained (``respcache/scripting/rdbfunc.py``):
the full RDB module is another engineer's work.

FCALL runs a function as EVAL runs a script (``commands/scripting.py``): the same
admission (flags from ``register_function``), the same ``redis.call`` gates and
effects replication.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from respcache.commands.client import Client
from respcache.commands.gates import COMMAND_FLAGS_BY_ARGS
from respcache.commands.introspection import help_reply
from respcache.commands.registry import command
from respcache.commands.scripting import (
    FLAG_NO_WRITES,
    SCRIPT_FLAGS,
    SLOW_EVAL_ERR,
    ScriptRun,
    _finish_error,
    kill_running,
    prepare_run,
    run_script,
    scripting_state,
)
from respcache.errors import CommandError, ProtocolError
from respcache.protocol.parser import split_args
from respcache.protocol.types import OK, Reply
from respcache.scripting import rdbfunc
from respcache.scripting.runtime import ScriptError

if TYPE_CHECKING:
    from respcache.commands.engine import Engine

BAD_NAME: Final = (
    "ERR Library names can only contain letters, numbers, or underscores(_) and must be at "
    "least one character long"
)


@dataclass
class Function:
    name: str
    library: str
    callback: Any
    description: bytes | None
    flags: int


@dataclass
class Library:
    name: str
    code: bytes
    functions: dict[str, Function]


@dataclass
class FunctionsState:
    """The compiled libraries of one engine, kept equal to ``keyspace.functions``."""

    engine: Engine
    libraries: dict[str, Library] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)

    def sync(self) -> None:
        """Compile what changed in ``keyspace.functions`` (full sync, replicated commands)."""
        wanted = self.engine.keyspace.functions
        if len(wanted) == len(self.libraries) and all(
            (lib := self.libraries.get(name.lower())) is not None and lib.code == code
            for name, code in wanted.items()
        ):
            return
        self.libraries.clear()
        self.functions.clear()
        for name, code in wanted.items():
            try:
                library = compile_library(self.engine, code, timeout=None)
            except CommandError:
                continue  # cannot happen for code a leader accepted
            self.libraries[name.lower()] = library
            self.functions.update(library.functions)


_STATES: weakref.WeakKeyDictionary[Engine, FunctionsState] = weakref.WeakKeyDictionary()


def functions_state(engine: Engine) -> FunctionsState:
    state = _STATES.get(engine)
    if state is None:
        state = _STATES[engine] = FunctionsState(engine)
    state.sync()
    return state


def _fcall_may_replicate(engine: Engine, argv: list[bytes]) -> bool:
    """fcallGetCommandFlags, for the pause check: a function replicates unless it is
    ``no-writes`` (an unknown function keeps FCALL's ``may_replicate``)."""
    if len(argv) < 2:
        return True
    function = functions_state(engine).functions.get(
        argv[1].decode("utf-8", "surrogateescape").lower()
    )
    return function is None or not function.flags & FLAG_NO_WRITES


COMMAND_FLAGS_BY_ARGS["fcall"] = _fcall_may_replicate


def memory_info(engine: Engine) -> dict[str, int]:
    state = _STATES.get(engine)
    ks_functions = engine.keyspace.functions
    if state is not None:
        state.sync()
    return {
        "functions": len(state.functions) if state is not None else 0,
        "libraries": len(ks_functions),
        "vm": scripting_state(engine).functions_vm_memory(),
        "memory": libraries_memory(ks_functions),
    }


def libraries_memory(libraries: dict[str, bytes]) -> int:
    """``used_memory_functions`` (functionsMemoryOverhead): the libraries' names and code."""
    return sum(len(code) + len(name) for name, code in libraries.items())


def _valid_name(name: str) -> bool:
    return bool(name) and all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in name)


def parse_metadata(code: bytes) -> tuple[str, str, int]:
    """functionExtractLibMetaData: (engine, library name, offset of the code)."""
    if not code.startswith(b"#!"):
        raise CommandError("ERR Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise CommandError("ERR Invalid library metadata")
    try:  # sdssplitargs: name="foo" is name=foo
        words = split_args(code[:end])
    except ProtocolError:
        raise CommandError("ERR Invalid library metadata") from None
    parts = [w.decode("utf-8", "surrogateescape") for w in words]
    if not parts:
        raise CommandError("ERR Invalid library metadata")
    engine = parts[0][2:]
    name: str | None = None
    for part in parts[1:]:
        if part[:5].lower() == "name=":
            if name is not None:
                raise CommandError(
                    "ERR Invalid metadata value, name argument was given multiple times"
                )
            name = part[5:]
            continue
        raise CommandError(f"ERR Invalid metadata value given: {part}")
    if name is None:
        raise CommandError("ERR Library name was not given")
    return engine, name, end


def compile_library(
    engine: Engine,
    code: bytes,
    timeout: float | None = 0.5,
    existing: dict[str, Library] | None = None,
) -> Library:
    """Check the metadata, run the code, collect its functions (CommandError on failure).

    With ``existing`` (FUNCTION LOAD without REPLACE), a library of the same name is
    refused before the code runs, as functionsCreateWithLibraryCtx does.
    """
    engine_name, name, offset = parse_metadata(code)
    if not _valid_name(name):
        raise CommandError(BAD_NAME)
    if engine_name.lower() != "lua":
        raise CommandError(f"ERR Engine '{engine_name}' not found")
    if existing is not None and name.lower() in existing:
        raise CommandError(f"ERR Library '{name}' already exists")
    runtime = scripting_state(engine).functions_runtime
    try:
        registered = runtime.load_library(code[offset:], timeout=timeout)
    except ScriptError as err:
        raise CommandError(f"ERR {err}") from None
    if not registered:
        raise CommandError("ERR No functions registered")
    functions = {
        fname.lower(): Function(fname, name, callback, desc, flags)
        for fname, (callback, desc, flags) in registered.items()
    }
    return Library(name, code, functions)


def _changed(c: Client) -> None:
    c.engine.dirty += 1  # replicated as the command itself


# --- FCALL ------------------------------------------------------------------------------


def _fcall(c: Client, argv: list[bytes], read_only: bool) -> Reply:
    state = functions_state(c.engine)
    name = argv[1].decode("utf-8", "surrogateescape")
    function = state.functions.get(name.lower())
    if function is None:
        raise CommandError("ERR Function not found")
    raw = argv[2]
    try:
        if not raw or raw != raw.strip():
            raise ValueError
        numkeys = int(raw)
    except ValueError:
        raise CommandError("ERR Bad number of keys provided") from None
    if numkeys > len(argv) - 3:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise CommandError("ERR Number of keys can't be negative")
    scripting = scripting_state(c.engine)
    run = prepare_run(scripting, c, function.name, function.flags, read_only, eval_mode=False)
    run.argv = argv
    runtime = scripting.functions_runtime
    keys = argv[3 : 3 + numkeys]
    args = argv[3 + numkeys :]
    ignore = [False]

    def invoke(run: ScriptRun) -> Reply:
        reply = runtime.run(
            run, function.callback, keys, args, function.name, c.resp, eval_mode=False
        )
        ignore[0] = runtime.last_error_counted
        return reply

    reply = run_script(c, run, invoke)
    return _finish_error(c, argv[0].decode("latin-1").lower(), reply, ignore[0])


@command(
    "fcall",
    arity=-3,
    flags="noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys",
    group="scripting",
    summary="Invoke a function",
    since="7.0.0",
    complexity="Depends on the function that is executed.",
    acl="@slow @scripting",
)
def fcall(c: Client, argv: list[bytes]) -> Reply:
    return _fcall(c, argv, read_only=False)


@command(
    "fcall_ro",
    arity=-3,
    flags="readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
    group="scripting",
    summary="Invoke a read-only function",
    since="7.0.0",
    complexity="Depends on the function that is executed.",
    acl="@slow @scripting",
)
def fcall_ro(c: Client, argv: list[bytes]) -> Reply:
    return _fcall(c, argv, read_only=True)


# --- FUNCTION ---------------------------------------------------------------------------


@command(
    "function|load",
    arity=-3,
    flags="write denyoom noscript",
    group="scripting",
    summary="Create a function with the given arguments (name, code, description)",
    since="7.0.0",
    complexity="O(1) (considering compilation time is redundant)",
    acl="@write @slow @scripting",
)
def function_load(c: Client, argv: list[bytes]) -> Reply:
    replace = False
    pos = 2
    while pos < len(argv) - 1:
        arg = argv[pos]
        pos += 1
        if arg.lower() == b"replace":
            replace = True
            continue
        raise CommandError(f"ERR Unknown option given: {arg.decode('utf-8', 'surrogateescape')}")
    if pos >= len(argv):
        raise CommandError("ERR Function code is missing")
    code = argv[pos]
    state = functions_state(c.engine)
    timeout = None if c.is_master else 0.5
    library = compile_library(
        c.engine, code, timeout=timeout, existing=None if replace else state.libraries
    )
    for fname, function in library.functions.items():
        other = state.functions.get(fname)
        if other is not None and other.library.lower() != library.name.lower():
            raise CommandError(f"ERR Function {function.name} already exists")
    _install(c.engine, state, library)
    _changed(c)
    return library.name.encode()


def _install(engine: Engine, state: FunctionsState, library: Library) -> None:
    old = state.libraries.pop(library.name.lower(), None)
    if old is not None:
        for fname in old.functions:
            state.functions.pop(fname, None)
        engine.keyspace.functions.pop(old.name, None)
    state.libraries[library.name.lower()] = library
    state.functions.update(library.functions)
    engine.keyspace.functions[library.name] = library.code


@command(
    "function|delete",
    arity=3,
    flags="write noscript",
    group="scripting",
    summary="Delete a function by name",
    since="7.0.0",
    complexity="O(1)",
    acl="@write @slow @scripting",
)
def function_delete(c: Client, argv: list[bytes]) -> Reply:
    state = functions_state(c.engine)
    name = argv[2].decode("utf-8", "surrogateescape")
    library = state.libraries.pop(name.lower(), None)
    if library is None:
        raise CommandError("ERR Library not found")
    for fname in library.functions:
        state.functions.pop(fname, None)
    c.engine.keyspace.functions.pop(library.name, None)
    _changed(c)
    return OK


@command(
    "function|flush",
    arity=-2,
    flags="write noscript",
    group="scripting",
    summary="Deleting all functions",
    since="7.0.0",
    complexity="O(N) where N is the number of functions deleted",
    acl="@write @slow @scripting",
)
def function_flush(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 3:
        raise CommandError(
            f"ERR unknown subcommand or wrong number of arguments for '{argv[1].decode('latin-1')}'. "
            "Try FUNCTION HELP."
        )
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        raise CommandError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    state = functions_state(c.engine)
    state.libraries.clear()
    state.functions.clear()
    c.engine.keyspace.functions.clear()
    _changed(c)
    return OK


def _flags_reply(flags: int) -> set[Reply]:
    return {name for name, bit in SCRIPT_FLAGS.items() if flags & bit}


@command(
    "function|list",
    arity=-2,
    flags="noscript",
    group="scripting",
    summary="List information about all the functions",
    since="7.0.0",
    complexity="O(N) where N is the number of functions",
    acl="@slow @scripting",
)
def function_list(c: Client, argv: list[bytes]) -> Reply:
    from respcache.commands.scan import glob_match

    with_code = False
    pattern: bytes | None = None
    i = 2
    while i < len(argv):
        arg = argv[i]
        if not with_code and arg.lower() == b"withcode":
            with_code = True
        elif pattern is None and arg.lower() == b"libraryname":
            if i >= len(argv) - 1:
                raise CommandError("ERR library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            raise CommandError(f"ERR Unknown argument {arg.decode('utf-8', 'surrogateescape')}")
        i += 1
    out: list[Reply] = []
    for library in functions_state(c.engine).libraries.values():
        name = library.name.encode()
        if pattern is not None and not glob_match(pattern, name, nocase=True):
            continue
        entry: dict[Reply, Reply] = {
            b"library_name": name,
            b"engine": b"LUA",
            b"functions": [
                {
                    b"name": f.name.encode(),
                    b"description": f.description,
                    b"flags": _flags_reply(f.flags),
                }
                for f in library.functions.values()
            ],
        }
        if with_code:
            entry[b"library_code"] = library.code
        out.append(entry)
    return out


@command(
    "function|dump",
    arity=2,
    flags="noscript",
    group="scripting",
    summary="Dump all functions into a serialized binary payload",
    since="7.0.0",
    complexity="O(N) where N is the number of functions",
    acl="@slow @scripting",
)
def function_dump(c: Client, argv: list[bytes]) -> Reply:
    return rdbfunc.dump_functions(list(c.engine.keyspace.functions.values()))


@command(
    "function|restore",
    arity=-3,
    flags="write denyoom noscript",
    group="scripting",
    summary="Restore all the functions on the given payload",
    since="7.0.0",
    complexity="O(N) where N is the number of functions on the payload",
    acl="@write @slow @scripting",
)
def function_restore(c: Client, argv: list[bytes]) -> Reply:
    if len(argv) > 4:
        raise CommandError(
            f"ERR unknown subcommand or wrong number of arguments for '{argv[1].decode('latin-1')}'. "
            "Try FUNCTION HELP."
        )
    policy = b"append"
    if len(argv) == 4:
        policy = argv[3].lower()
        if policy not in (b"append", b"replace", b"flush"):
            raise CommandError(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
            )
    try:
        codes = rdbfunc.load_functions(argv[2])
    except rdbfunc.PayloadError as err:
        raise CommandError(f"ERR {err}") from None
    engine = c.engine
    timeout = None if c.is_master else 0.5
    libraries: dict[str, Library] = {}
    for code in codes:
        library = compile_library(engine, code, timeout=timeout)
        if library.name.lower() in libraries:
            raise CommandError(f"ERR Library {library.name} already exists")
        libraries[library.name.lower()] = library
    state = functions_state(engine)
    new_functions: dict[str, str] = {}
    for library in libraries.values():
        for fname in library.functions:
            if fname in new_functions:
                raise CommandError(f"ERR Function {library.functions[fname].name} already exists")
            new_functions[fname] = library.name
    if policy == b"flush":
        state.libraries.clear()
        state.functions.clear()
        engine.keyspace.functions.clear()
    else:
        kept = {
            name: lib
            for name, lib in state.libraries.items()
            if not (policy == b"replace" and name in libraries)
        }
        for name, library in libraries.items():
            if name in kept:
                raise CommandError(f"ERR Library {library.name} already exists")
        for lib in kept.values():
            for fname, function in lib.functions.items():
                if fname in new_functions:
                    raise CommandError(f"ERR Function {function.name} already exists")
    for library in libraries.values():
        _install(engine, state, library)
    _changed(c)
    return OK


@command(
    "function|kill",
    arity=2,
    flags="noscript allow_busy",
    group="scripting",
    summary="Kill the function currently in execution.",
    since="7.0.0",
    complexity="O(1)",
    acl="@slow @scripting",
)
def function_kill(c: Client, argv: list[bytes]) -> Reply:
    return kill_running(c.engine, is_eval=False)


@command(
    "function|stats",
    arity=2,
    flags="noscript allow_busy",
    group="scripting",
    summary="Return information about the function currently running (name, description, duration)",
    since="7.0.0",
    complexity="O(1)",
    acl="@slow @scripting",
)
def function_stats(c: Client, argv: list[bytes]) -> Reply:
    import time

    running = scripting_state(c.engine).running
    if running is not None and running.eval_mode:
        raise CommandError(SLOW_EVAL_ERR)
    state = functions_state(c.engine)
    current: Reply = None
    if running is not None:
        current = {
            b"name": running.funcname.encode(),
            b"command": list(running.argv),
            b"duration_ms": int((time.monotonic() - running.started) * 1000),
        }
    return {
        b"running_script": current,
        b"engines": {
            b"LUA": {
                b"libraries_count": len(state.libraries),
                b"functions_count": len(state.functions),
            }
        },
    }


_FUNCTION_HELP: Final = (
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
)


@command(
    "function|help",
    arity=2,
    flags="loading stale",
    group="scripting",
    summary="Show helpful text about the different subcommands",
    since="7.0.0",
    complexity="O(1)",
    acl="@slow @scripting",
)
def function_help(c: Client, argv: list[bytes]) -> Reply:
    return help_reply("FUNCTION", _FUNCTION_HELP)
