"""The Lua interpreter scripts run in: one sandboxed lupa ``LuaRuntime`` per server.

Follows Redis 7.0.15's src/script_lua.c (the redis.* API, Redis ⇄ Lua
conversions, error tables and positions) and src/eval.c (``@user_script``
chunks, the ``__redis__err__handler``). The sandbox itself is Lua, in
``sandbox.lua`` next to this file; this module builds the runtime, gives the
sandbox its Python callbacks and converts command replies into Lua values.

Safety, as the issue asks: lupa >= 2.7 (older releases have a sandbox escape),
``register_eval=False`` and ``register_builtins=False`` (no ``python.eval``,
no Python builtins), an ``attribute_filter`` that refuses every attribute of
every Python object a script might reach (the library functions), and the
``python`` global removed with ``os``, ``io``, ``package``, ``require``,
``loadfile``, ``dofile`` and ``debug``. Binary chunks are never loaded.
Memory is bounded by lupa's ``max_memory``: an allocation past it fails inside
Lua with ``not enough memory``, as a Lua allocator failure does.

No asyncio here: the commands layer (``respcache/commands/scripting.py``)
decides where and when a script runs and hands the runtime a
:class:`RunContext` whose ``call`` runs one ``redis.call``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from importlib import resources
from typing import Any, Final, NoReturn, Protocol

import lupa.lua51 as lua51

from respcache import REDIS_VERSION
from respcache.errors import CommandError
from respcache.protocol.types import Raw, Reply
from respcache.scripting.cmsgpack import CMsgpack
from respcache.scripting.conversions import LuaReplies
from respcache.scripting.libs import (
    CJson,
    CJsonConfig,
    LuaLibError,
    LuaRuntimeError,
    bit_library,
)
from respcache.scripting.rand import Rand48
from respcache.scripting.registration import FunctionRegistrar, Registered
from respcache.scripting.structlib import StructLib

log = logging.getLogger("respcache.scripting")

DEFAULT_MAX_MEMORY = 256 * 1024 * 1024
"""Bound of the Lua heap (Redis has none; a script past it fails with ``not enough memory``)."""

_LOG_LEVELS = (logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)
"""redis.LOG_DEBUG/VERBOSE/NOTICE/WARNING mapped onto the server log."""


class RunContext(Protocol):
    """What a running script needs from the server (Redis's scriptRunCtx)."""

    def call(self, resp: int, argv: list[bytes]) -> Reply:
        """Run one command for ``redis.call``; a refusal is a ``CommandError``."""
        ...

    def set_repl(self, flags: int) -> None: ...

    def acl_check(self, argv: list[bytes]) -> bool | None:
        """The caller's ACL verdict on a command line; None for an unknown command."""
        ...

    def interrupted(self) -> int:
        """Called every 100000 Lua instructions (10000 once timed out): :data:`KILL` kills
        the script (SCRIPT KILL), :data:`TIMED_OUT` tells it just passed the threshold."""
        ...


CONTINUE, KILL, TIMED_OUT = 0, 1, 2
"""What :meth:`RunContext.interrupted` answers the script's count hook."""


class _LuaRaise(Exception):
    """Raised by a Python function called from Lua: ``value`` is the Lua error object."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


class ScriptError(Exception):
    """A script failed to compile: ``message`` is the reply's text after ``Error compiling``."""


def _refuse_attributes(obj: object, name: object, is_setting: bool) -> object:
    raise AttributeError("access to Python objects is not allowed from scripts")


def _version_num(version: str) -> int:
    major, minor, patch = (int(p) for p in version.split(".")[:3])
    return (major << 16) | (minor << 8) | patch


_FEW_ARGUMENTS: Final = 64
"""KEYS + ARGV passed as call arguments and tabled in Lua up to this many (two
tables built from Python cost more); beyond, as tables (Lua's C stack is bounded)."""

class LuaRuntime:
    """The sandboxed interpreter: compile script bodies, run them, convert replies."""

    def __init__(self, max_memory: int = DEFAULT_MAX_MEMORY) -> None:
        self.lua = lua51.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_refuse_attributes,
            max_memory=max_memory,
        )
        self.rand = Rand48()
        self.context: RunContext | None = None
        self.script_resp = 2
        """The protocol redis.call replies come in (redis.setresp), per invocation."""
        self.last_error_counted = False
        """The last run's error came from an inner command, already in errorstats."""
        self._load_deadline = 0.0
        self._lua_type: Callable[[Any], Any] = self.lua.eval("type")
        self._new_table = self.lua.table
        self._tostring: Callable[[Any], bytes] = self.lua.eval("tostring")
        self.replies = LuaReplies(self.lua.table_from, self._new_table)
        self.to_lua = self.replies.to_lua
        self._registrar = FunctionRegistrar(self._lua_type, self._tostring, self._raise)
        cjson = self._cjson = CJson(lambda v: self._lua_type(v).decode(), self._new_table)
        lua_type_name = lambda v: self._lua_type(v).decode()  # noqa: E731
        libs = {
            b"bit": self._wrap_lib(bit_library()),
            b"cjson": self._wrap_lib(cjson.library()),
            b"cmsgpack": self._wrap_lib(CMsgpack(lua_type_name, self._new_table).library()),
            b"struct": self._wrap_lib(StructLib(lua_type_name).library()),
        }
        callbacks = {
            b"register_function": self._registrar,
            b"trampoline": self._trampoline,
            b"load_timed_out": self._load_timed_out,
            b"call_raise": self._call_raise,
            b"pcall": self._pcall,
            b"error_value": self._error_value,
            b"setresp": self._setresp,
            b"get_resp": lambda: self.script_resp,
            b"sha1hex": self._sha1hex,
            b"log": self._log,
            b"set_repl": self._set_repl,
            b"acl_check": self._acl_check,
            b"interrupt": self._interrupt,
            b"rand48": self.rand.next,
            b"srand48": lambda seed: self.rand.seed(int(seed)),
            b"version": REDIS_VERSION.encode(),
            b"version_num": _version_num(REDIS_VERSION),
            b"is_callable": callable,
            b"libs": self.lua.table_from({k: self.lua.table_from(v) for k, v in libs.items()}),
        }
        source = resources.files("respcache.scripting").joinpath("sandbox.lua").read_bytes()
        self.api = self.lua.execute(source, self.lua.table_from(callbacks), name="=respcache")
        self._invoke = self.api[b"invoke"]
        self._invoke_args = self.api[b"invoke_args"]
        self._where = self.api[b"where"]
        self._error_table = self.api[b"error_table"]
        self._compile = self.api[b"compile"]
        self._table_from = self.lua.table_from

    def _wrap_lib(self, lib: dict[bytes, Any]) -> dict[bytes, Any]:
        def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any) -> Any:
                try:
                    return f(*args)
                except LuaRuntimeError as err:
                    raise _LuaRaise(str(err).encode()) from None
                except LuaLibError as err:
                    raise _LuaRaise(self._where() + str(err).encode()) from None

            return call

        return {k: wrap(v) if callable(v) else v for k, v in lib.items()}

    # --- compiling and running ----------------------------------------------------------

    def compile(self, body: bytes, name: bytes = b"@user_script") -> Any:
        """A Lua function from a script body, or :class:`ScriptError` with Lua's message."""
        fn, err = self._compile(body, name)
        if fn is None:
            raise ScriptError(_text(err))
        return fn

    def run(
        self,
        context: RunContext,
        fn: Any,
        keys: list[bytes],
        args: list[bytes],
        funcname: str,
        resp: int,
        eval_mode: bool = True,
        hook: bool = True,
    ) -> Reply:
        """Call a compiled script; its reply as the caller's protocol (``resp``) wants it."""
        self.context = context
        self.script_resp = 2
        self.last_error_counted = False
        try:
            if len(keys) + len(args) <= _FEW_ARGUMENTS:
                result = self._invoke_args(
                    fn, funcname.encode(), resp, eval_mode, hook, len(keys), *keys, *args
                )
            else:
                result = self._invoke(
                    fn,
                    self._table_from(keys),
                    self._table_from(args),
                    funcname.encode(),
                    resp,
                    eval_mode,
                    hook,
                )
        except lua51.LuaMemoryError:
            return CommandError(f"ERR Error running script {funcname}, not enough memory")
        finally:
            self.context = None
        kind, payload = result[0], result[1]
        self.last_error_counted = len(result) > 2 and result[2] is True
        if kind == b"ok":
            return Raw(payload)
        return CommandError(_text(payload))

    def load_library(
        self, code: bytes, timeout: float | None = 0.5
    ) -> dict[str, Registered]:
        """Run a library's code (after its shebang line); the functions it registered.

        Each is ``name -> (callback, description, flags)``; a failure raises
        :class:`ScriptError` with Redis's message (``Error compiling function: ...``,
        ``Error registering functions: ...``). ``timeout`` is FUNCTION LOAD's 500 ms
        (None: no limit, for a library received from the leader).
        """
        import time

        self._registrar.loading = {}
        self._load_deadline = time.monotonic() + timeout if timeout is not None else 0.0
        try:
            ok, err = self.api[b"load_library"](code)
            functions = self._registrar.loading
        finally:
            self._registrar.loading = None
        if not ok:
            raise ScriptError(_text(err))
        return functions

    @staticmethod
    def _trampoline(fn: Any) -> Callable[..., Any]:
        """A Lua function behind a Python (for Lua: C) function; its error is re-raised."""

        def call(*args: Any) -> Any:
            try:
                return fn(*args)
            except lua51.LuaError as err:
                message = err.args[0] if err.args else b""
                if isinstance(message, str):
                    message = message.encode("utf-8", "surrogateescape")
                raise _LuaRaise(message.split(b"\nstack traceback:", 1)[0]) from None

        return call

    def _load_timed_out(self) -> bool:
        import time

        return bool(self._load_deadline) and time.monotonic() > self._load_deadline

    def collect_garbage(self) -> None:
        """A full Lua GC cycle (after SCRIPT FLUSH dropped the compiled scripts).

        SCRIPT FLUSH gives Redis a new Lua state: cjson's settings are its defaults again.
        """
        self._cjson.config = CJsonConfig()
        self.lua.execute(b"collectgarbage('collect')")

    def memory(self) -> int:
        """Bytes of the Lua heap (``used_memory_lua``)."""
        used = self.lua.get_memory_used()
        return int(used) if used else int(self.api[b"memory"]())

    def new_environment(self) -> tuple[Any, Any]:
        """A fresh sealed global table (proxy, real) over the same libraries."""
        proxy, real = self.api[b"new_env"]()
        return proxy, real

    # --- callbacks from Lua -----------------------------------------------------------

    def _call_raise(self, *args: Any) -> Any:
        ok, value = self._call(args)
        if not ok:
            raise _LuaRaise(value)
        return value

    def _pcall(self, *args: Any) -> Any:
        return self._call(args)[1]

    def _call(self, args: tuple[Any, ...]) -> tuple[bool, Any]:
        """luaRedisGenericCommand: (True, reply as Lua) or (False, Redis's error table)."""
        context = self.context
        if context is None:
            return False, self._error_table(
                b"redis.call/pcall can only be called inside a script invocation"
            )
        if not args:
            return False, self._error_table(
                b"Please specify at least one argument for this redis lib call"
            )
        argv: list[bytes] = []
        for arg in args:
            if type(arg) is bytes:
                argv.append(arg)
            elif isinstance(arg, int | float) and not isinstance(arg, bool):
                argv.append(b"%.17g" % float(arg))
            else:
                return False, self._error_table(
                    b"Lua redis lib command arguments must be strings or integers"
                )
        resp = self.script_resp
        reply = context.call(resp, argv)
        if type(reply) is CommandError:
            table = self._error_table(b"-" + reply.message.encode("utf-8", "surrogateescape"))
            table[b"ignore_error_stats_update"] = True
            return False, table
        return True, self.to_lua(reply, resp)

    @staticmethod
    def _error_value(err: Any) -> Any:
        if isinstance(err, _LuaRaise):
            return err.value
        if isinstance(err, BaseException):
            return f"internal error: {type(err).__name__}: {err}".encode()
        return err

    def _raise(self, message: bytes) -> NoReturn:
        raise _LuaRaise(self._error_table(message))

    def _setresp(self, *args: Any) -> None:
        if self.context is None:
            self._raise(b"redis.setresp can only be called inside a script invocation")
        if len(args) != 1:
            self._raise(b"redis.setresp() requires one argument.")
        resp = _lua_int(args[0])
        if resp not in (2, 3):
            self._raise(b"RESP version must be 2 or 3.")
        self.script_resp = resp

    def _set_repl(self, *args: Any) -> None:
        if self.context is None:
            self._raise(b"redis.set_repl can only be called inside a script invocation")
        if len(args) != 1:
            self._raise(b"redis.set_repl() requires two arguments.")
        flags = _lua_int(args[0])
        if flags & ~3:
            self._raise(
                b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."
            )
        if self.context is not None:
            self.context.set_repl(flags)

    def _interrupt(self) -> int:
        context = self.context
        return CONTINUE if context is None else context.interrupted()

    def _acl_check(self, *args: Any) -> bool:
        """redis.acl_check_cmd: may the script's caller run this command line?"""
        if self.context is None:
            self._raise(b"redis.acl_check_cmd can only be called inside a script invocation")
        if not args:
            self._raise(b"Please specify at least one argument for this redis lib call")
        argv = [a if isinstance(a, bytes) else b"%.17g" % float(a) for a in args]
        allowed = self.context.acl_check(argv) if self.context is not None else None
        if allowed is None:
            self._raise(b"Invalid command passed to redis.acl_check_cmd()")
        return bool(allowed)

    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            self._raise(b"wrong number of arguments")
        s = args[0]
        if isinstance(s, int | float) and not isinstance(s, bool):
            s = self._tostring(s)
        if not isinstance(s, bytes):
            s = b""
        return hashlib.sha1(s).hexdigest().encode()

    def _log(self, *args: Any) -> None:
        if len(args) < 2:
            self._raise(b"redis.log() requires two arguments or more.")
        level = args[0]
        if isinstance(level, bytes):
            try:
                level = float(level)
            except ValueError:
                level = None
        if not isinstance(level, int | float) or isinstance(level, bool):
            self._raise(b"First argument must be a number (log level).")
        lvl = _lua_int(level)
        if lvl < 0 or lvl > 3:
            self._raise(b"Invalid debug level.")
        parts = [
            a if isinstance(a, bytes) else self._tostring(a)
            for a in args[1:]
            if isinstance(a, bytes) or (isinstance(a, int | float) and not isinstance(a, bool))
        ]
        log.log(_LOG_LEVELS[lvl], "%s", b" ".join(parts).decode("utf-8", "replace"))

def _lua_int(value: Any) -> int:
    """lua_tonumber then a C cast to int: non-numbers are 0."""
    if isinstance(value, bytes):
        try:
            value = float(value)
        except ValueError:
            return 0
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return int(value)
        except (OverflowError, ValueError):
            return 0
    return 0


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)
