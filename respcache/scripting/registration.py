"""``redis.register_function`` (Redis 7.0.15's luaRegisterFunction in src/function_lua.c).

Only FUNCTION LOAD runs a library's top-level code; while it does, :attr:`FunctionRegistrar.loading`
collects the functions the library registers, positional (``name, callback``) or named
(``function_name``, ``callback``, ``description``, ``flags``), with Redis's error texts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

Registered = tuple[Any, bytes | None, int]
"""A registered function: (Lua callback, description, script flags)."""


class FunctionRegistrar:
    """The Python side of ``redis.register_function`` for one Lua runtime."""

    def __init__(
        self,
        lua_type: Callable[[Any], bytes],
        tostring: Callable[[Any], bytes],
        raise_: Callable[[bytes], NoReturn],
    ) -> None:
        self._lua_type = lua_type
        self._tostring = tostring
        self._raise = raise_
        self.loading: dict[str, Registered] | None = None
        """The functions registered so far by the library being loaded (None: no load runs)."""

    def __call__(self, *args: Any) -> None:
        from respcache.commands.scripting import SCRIPT_FLAGS

        functions = self.loading
        if functions is None:
            self._raise(b"redis.register_function can only be called on FUNCTION LOAD command")
            return
        if len(args) not in (1, 2):
            self._raise(b"wrong number of arguments to redis.register_function")
        desc: bytes | None = None
        flags = 0
        if len(args) == 2:
            name, callback = args
            if not isinstance(name, bytes | int | float) or isinstance(name, bool):
                self._raise(b"first argument to redis.register_function must be a string")
            if self._lua_type(callback) != b"function":
                self._raise(b"second argument to redis.register_function must be a function")
        else:
            table = args[0]
            if self._lua_type(table) != b"table":
                self._raise(
                    b"calling redis.register_function with a single argument is only applicable "
                    b"to Lua table (representing named arguments)."
                )
            name = callback = None
            for key, value in table.items():
                if not isinstance(key, bytes):
                    self._raise(
                        b"named argument key given to redis.register_function is not a string"
                    )
                k = key.lower()
                if k == b"function_name":
                    if not isinstance(value, bytes):
                        self._raise(
                            b"function_name argument given to redis.register_function must be a string"
                        )
                    name = value
                elif k == b"description":
                    if not isinstance(value, bytes):
                        self._raise(
                            b"description argument given to redis.register_function must be a string"
                        )
                    desc = value
                elif k == b"callback":
                    if self._lua_type(value) != b"function":
                        self._raise(
                            b"callback argument given to redis.register_function must be a function"
                        )
                    callback = value
                elif k == b"flags":
                    if self._lua_type(value) != b"table":
                        self._raise(
                            b"flags argument to redis.register_function must be a table "
                            b"representing function flags"
                        )
                    for _, flag in value.items():
                        bit = SCRIPT_FLAGS.get(flag.decode() if isinstance(flag, bytes) else "")
                        if bit is None:
                            self._raise(b"unknown flag given")
                        flags |= bit
                else:
                    self._raise(b"unknown argument given to redis.register_function")
            if name is None:
                self._raise(b"redis.register_function must get a function name argument")
            if callback is None:
                self._raise(b"redis.register_function must get a callback argument")
        fname = name if isinstance(name, bytes) else self._tostring(name)
        text = fname.decode("latin-1")
        if not text or not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in text):
            self._raise(
                b"Library names can only contain letters, numbers, or underscores(_) and must "
                b"be at least one character long"
            )
        if text in functions:
            self._raise(b"Function already exists in the library")
        functions[text] = (callback, desc, flags)
