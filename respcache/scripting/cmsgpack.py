"""The ``cmsgpack`` library Redis links into its Lua (deps/lua/src/lua_cmsgpack.c), in Python.

lua-cmsgpack 0.4.0 as Redis 7.0.15 builds it for Lua 5.1 on x86-64: a number
equal to an int64 is packed as the smallest MessagePack integer, any other as
a float32 when that is exact, else a float64; strings as fixstr/str8/16/32;
a table whose keys are exactly 1..N as an array, any other as a map (keys in
``next`` order); booleans; anything else (nil, functions, ``cjson.null``) and
tables nested 16 deep as nil. Unpacking knows what the packer writes (no bin
or ext types: "Bad data format in input.") and returns Lua numbers (doubles).
``unpack_one``/``unpack_limit`` return the next offset first (-1 at the end).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

from respcache.scripting.libs import LuaLibError, LuaRuntimeError

MAX_NESTING = 16
INT_MAX = 2**31 - 1


class _Eof(Exception):
    pass


class _BadFormat(Exception):
    pass


class CMsgpack:
    """``cmsgpack.pack`` / ``unpack`` / ``unpack_one`` / ``unpack_limit`` over lupa tables."""

    def __init__(self, lua_type: Callable[[Any], str], new_table: Callable[..., Any]) -> None:
        self._lua_type = lua_type
        self._new_table = new_table

    def library(self) -> dict[bytes, Any]:
        return {
            b"pack": self.pack,
            b"unpack": self.unpack,
            b"unpack_one": self.unpack_one,
            b"unpack_limit": self.unpack_limit,
            b"_NAME": b"cmsgpack",
            b"_VERSION": b"lua-cmsgpack 0.4.0",
            b"_COPYRIGHT": b"Copyright (C) 2012, Salvatore Sanfilippo",
            b"_DESCRIPTION": b"MessagePack C implementation for Lua",
        }

    # packing ------------------------------------------------------------------------------

    def pack(self, *args: Any) -> bytes:
        if not args:
            raise LuaLibError("bad argument #0 to 'pack' (MessagePack pack needs input.)")
        out = bytearray()
        for value in args:
            self._encode(value, out, 0)
        return bytes(out)

    def _encode(self, v: Any, out: bytearray, level: int) -> None:
        if isinstance(v, bytes):
            _encode_bytes(v, out)
        elif v is True:
            out.append(0xC3)
        elif v is False:
            out.append(0xC2)
        elif isinstance(v, int | float):
            _encode_number(float(v), out)
        elif v is None or level == MAX_NESTING or self._lua_type(v) != "table":
            out.append(0xC0)
        else:
            items = list(v.items())
            if _is_array(items):
                _encode_header(len(items), out, 0x90, 0xDC)
                values = dict(items)
                for j in range(1, len(items) + 1):
                    self._encode(values.get(j), out, level + 1)
            else:
                _encode_header(len(items), out, 0x80, 0xDE)
                for key, value in items:
                    self._encode(key, out, level + 1)
                    self._encode(value, out, level + 1)

    # unpacking ----------------------------------------------------------------------------

    def unpack(self, *args: Any) -> tuple[Any, ...]:
        return self._unpack_full(args, "unpack", 0, 0)

    def unpack_one(self, *args: Any) -> tuple[Any, ...]:
        offset = _opt_integer(args, 2, "unpack_one", 0)
        return self._unpack_full(args, "unpack_one", 1, offset)

    def unpack_limit(self, *args: Any) -> tuple[Any, ...]:
        if len(args) < 2 or args[1] is None:
            got = "no value" if len(args) < 2 else "nil"
            raise LuaLibError(f"bad argument #2 to 'unpack_limit' (number expected, got {got})")
        limit = _opt_integer(args, 2, "unpack_limit", 0)
        offset = _opt_integer(args, 3, "unpack_limit", 0)
        return self._unpack_full(args, "unpack_limit", limit, offset)

    def _unpack_full(self, args: tuple[Any, ...], name: str, limit: int, offset: int) -> tuple[Any, ...]:
        s = args[0] if args else None
        if isinstance(s, int | float) and not isinstance(s, bool):
            s = b"%.14g" % s
        if not isinstance(s, bytes):
            got = "no value" if not args else _type_name(s, self._lua_type)
            raise LuaLibError(f"bad argument #1 to '{name}' (string expected, got {got})")
        length = len(s)
        decode_all = not limit and not offset
        if offset < 0 or limit < 0:
            raise LuaLibError(
                f"Invalid request to unpack with offset of {_c_int(offset)} and limit of "
                f"{_c_int(length)}."
            )
        if offset > length:
            raise LuaLibError(
                f"Start offset {_c_int(offset)} greater than input length {_c_int(length)}."
            )
        if decode_all:
            limit = INT_MAX
        pos = offset
        results: list[Any] = []
        count = 0
        while pos < length and count < limit:
            try:
                value, pos = self._decode(s, pos)
            except _Eof:
                raise LuaLibError("Missing bytes in input.") from None
            except _BadFormat:
                raise LuaLibError("Bad data format in input.") from None
            results.append(value)
            count += 1
        if not decode_all:
            results.insert(0, -1 if pos == length else pos)
        return tuple(results)

    def _decode(self, s: bytes, pos: int) -> tuple[Any, int]:
        end = len(s)

        def need(n: int) -> None:
            if end - pos < n:
                raise _Eof

        need(1)
        b = s[pos]
        if b <= 0x7F:
            return float(b), pos + 1
        if b >= 0xE0:
            return float(b - 256), pos + 1
        if 0xA0 <= b <= 0xBF:
            n = b & 0x1F
            need(1 + n)
            return s[pos + 1 : pos + 1 + n], pos + 1 + n
        if 0x90 <= b <= 0x9F:
            return self._array(s, pos + 1, b & 0xF)
        if 0x80 <= b <= 0x8F:
            return self._map(s, pos + 1, b & 0xF)
        fixed = _FIXED.get(b)
        if fixed is not None:
            size, code = fixed
            need(1 + size)
            return float(struct.unpack(code, s[pos + 1 : pos + 1 + size])[0]), pos + 1 + size
        if b == 0xC0:
            return None, pos + 1
        if b == 0xC3:
            return True, pos + 1
        if b == 0xC2:
            return False, pos + 1
        if b in (0xD9, 0xDA, 0xDB):
            size = {0xD9: 1, 0xDA: 2, 0xDB: 4}[b]
            need(1 + size)
            n = int.from_bytes(s[pos + 1 : pos + 1 + size], "big")
            start = pos + 1 + size
            if end - start < n:
                raise _Eof
            return s[start : start + n], start + n
        if b in (0xDC, 0xDD, 0xDE, 0xDF):
            size = 2 if b in (0xDC, 0xDE) else 4
            need(1 + size)
            n = int.from_bytes(s[pos + 1 : pos + 1 + size], "big")
            if b in (0xDC, 0xDD):
                return self._array(s, pos + 1 + size, n)
            return self._map(s, pos + 1 + size, n)
        raise _BadFormat

    def _array(self, s: bytes, pos: int, n: int) -> tuple[Any, int]:
        table = self._new_table()
        for index in range(1, n + 1):
            value, pos = self._decode(s, pos)
            if value is not None:
                table[index] = value
        return table, pos

    def _map(self, s: bytes, pos: int, n: int) -> tuple[Any, int]:
        table = self._new_table()
        for _ in range(n):
            key, pos = self._decode(s, pos)
            value, pos = self._decode(s, pos)
            if key is None:
                raise LuaRuntimeError("table index is nil")
            if isinstance(key, float) and math.isnan(key):
                raise LuaRuntimeError("table index is NaN")
            table[key] = value
        return table, pos


_FIXED = {
    0xCC: (1, ">B"),
    0xCD: (2, ">H"),
    0xCE: (4, ">I"),
    0xCF: (8, ">q"),  # (lua_pushunsigned is lua_pushinteger on 64-bit: a signed cast)
    0xD0: (1, ">b"),
    0xD1: (2, ">h"),
    0xD2: (4, ">i"),
    0xD3: (8, ">q"),
    0xCA: (4, ">f"),
    0xCB: (8, ">d"),
}


def _type_name(value: Any, lua_type: Callable[[Any], str]) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    return lua_type(value)


def _c_int(n: int) -> int:
    """(int) of a C integer: the low 32 bits, signed."""
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n >= 1 << 31 else n


def _opt_integer(args: tuple[Any, ...], n: int, name: str, default: int) -> int:
    """luaL_optinteger: nil or absent is ``default``; a number is truncated."""
    if len(args) < n or args[n - 1] is None:
        return default
    value = args[n - 1]
    if isinstance(value, bytes):
        try:
            value = float(value)
        except ValueError:
            value = None
    if not isinstance(value, int | float) or isinstance(value, bool):
        got = "string" if isinstance(args[n - 1], bytes) else "boolean"
        raise LuaLibError(f"bad argument #{n} to '{name}' (number expected, got {got})")
    if math.isnan(value) or math.isinf(value):
        return -(1 << 63)
    return int(value)


def _is_array(items: list[tuple[Any, Any]]) -> bool:
    """table_is_an_array: every key a positive integer (as an int), the largest = the count."""
    biggest = 0
    for key, _ in items:
        if isinstance(key, bool) or not isinstance(key, int | float) or key <= 0:
            return False
        if math.isinf(key) or key != int(key) or key > INT_MAX:
            return False
        biggest = max(biggest, int(key))
    return biggest == len(items)


def _encode_bytes(s: bytes, out: bytearray) -> None:
    n = len(s)
    if n < 32:
        out.append(0xA0 | n)
    elif n <= 0xFF:
        out += bytes((0xD9, n))
    elif n <= 0xFFFF:
        out.append(0xDA)
        out += n.to_bytes(2, "big")
    else:
        out.append(0xDB)
        out += (n & 0xFFFFFFFF).to_bytes(4, "big")
    out += s


def _encode_header(n: int, out: bytearray, fix: int, code16: int) -> None:
    if n <= 15:
        out.append(fix | n)
    elif n <= 0xFFFF:
        out.append(code16)
        out += n.to_bytes(2, "big")
    else:
        out.append(code16 + 1)
        out += (n & 0xFFFFFFFF).to_bytes(4, "big")


def _encode_number(n: float, out: bytearray) -> None:
    if not math.isinf(n) and not math.isnan(n) and -(2.0**63) <= n < 2.0**63 and n == int(n):
        _encode_int(int(n), out)
        return
    try:
        f = struct.unpack(">f", struct.pack(">f", n))[0]
    except OverflowError:
        f = None
    if f is not None and f == n:
        out.append(0xCA)
        out += struct.pack(">f", n)
    else:
        out.append(0xCB)
        out += struct.pack(">d", n)


def _encode_int(n: int, out: bytearray) -> None:
    if n >= 0:
        if n <= 127:
            out.append(n)
        elif n <= 0xFF:
            out += bytes((0xCC, n))
        elif n <= 0xFFFF:
            out.append(0xCD)
            out += n.to_bytes(2, "big")
        elif n <= 0xFFFFFFFF:
            out.append(0xCE)
            out += n.to_bytes(4, "big")
        else:
            out.append(0xCF)
            out += n.to_bytes(8, "big")
    elif n >= -32:
        out.append(n & 0xFF)
    elif n >= -128:
        out += bytes((0xD0, n & 0xFF))
    elif n >= -32768:
        out.append(0xD1)
        out += (n & 0xFFFF).to_bytes(2, "big")
    elif n >= -2147483648:
        out.append(0xD2)
        out += (n & 0xFFFFFFFF).to_bytes(4, "big")
    else:
        out.append(0xD3)
        out += (n & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
