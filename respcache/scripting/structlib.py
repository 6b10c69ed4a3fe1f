"""The ``struct`` library Redis links into its Lua (deps/lua/src/lua_struct.c), in Python.

Roberto Ierusalimschy's struct 1.7 as Redis 7.0.15 builds it on x86-64:
``long`` (the integer type, ``l``, ``T``) is 8 bytes, ``int`` 4, ``short`` 2,
native order little-endian, maximum alignment 8. Integers are packed from the
Lua number by a C cast (truncation; negatives through ``long``), unpacked to
Lua numbers (doubles). The functions take and return Lua values as lupa hands
them over; an error is a :class:`LuaLibError` whose text becomes the Lua error
(the runtime adds the script position, as ``luaL_error`` does).
"""

from __future__ import annotations

import math
import struct as _struct
from collections.abc import Callable
from typing import Any

from respcache.scripting.libs import LuaLibError

_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}
MAXINTSIZE = 32
MAXALIGN = 8
_INT_INF = 1 << 64


def _lua_type_name(value: Any, lua_type: Callable[[Any], str]) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, bytes):
        return "string"
    if isinstance(value, int | float):
        return "number"
    return lua_type(value)


class StructLib:
    """``struct.pack`` / ``struct.unpack`` / ``struct.size``."""

    def __init__(self, lua_type: Callable[[Any], str]) -> None:
        self._lua_type = lua_type

    def library(self) -> dict[bytes, Any]:
        return {b"pack": self.pack, b"unpack": self.unpack, b"size": self.size}

    # argument checks (lauxlib) ----------------------------------------------------------

    def _arg_error(self, n: int, name: str, msg: str) -> LuaLibError:
        return LuaLibError(f"bad argument #{n} to '{name}' ({msg})")

    def _type_error(self, args: tuple[Any, ...], n: int, name: str, expected: str) -> LuaLibError:
        got = "no value" if n > len(args) else _lua_type_name(args[n - 1], self._lua_type)
        return self._arg_error(n, name, f"{expected} expected, got {got}")

    def _check_string(self, args: tuple[Any, ...], n: int, name: str) -> bytes:
        value = args[n - 1] if n <= len(args) else None
        if isinstance(value, bytes):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return b"%.14g" % value
        raise self._type_error(args, n, name, "string")

    def _check_number(self, args: tuple[Any, ...], n: int, name: str) -> float:
        value = args[n - 1] if n <= len(args) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, bytes):
            number = _str2number(value)
            if number is not None:
                return number
        raise self._type_error(args, n, name, "number")

    # format reading ----------------------------------------------------------------------

    @staticmethod
    def _getnum(fmt: bytes, i: int, default: int) -> tuple[int, int]:
        if i >= len(fmt) or not chr(fmt[i]).isdigit():
            return default, i
        a = 0
        while i < len(fmt) and chr(fmt[i]).isdigit():
            digit = fmt[i] - 48
            if a > (2**31 - 1) // 10 or a * 10 > (2**31 - 1) - digit:
                raise LuaLibError("integral size overflow")
            a = a * 10 + digit
            i += 1
        return a, i

    def _optsize(self, opt: str, fmt: bytes, i: int) -> tuple[int, int]:
        size = _SIZES.get(opt)
        if size is not None:
            return size, i
        if opt == "c":
            return self._getnum(fmt, i, 1)
        if opt in "iI":
            size, i = self._getnum(fmt, i, 4)
            if size > MAXINTSIZE:
                raise LuaLibError(
                    f"integral size {size} is larger than limit of {MAXINTSIZE}"
                )
            return size, i
        return 0, i

    @staticmethod
    def _toalign(length: int, align: int, opt: str, size: int) -> int:
        if size == 0 or opt == "c":
            return 0
        size = min(size, align)
        return (size - (length & (size - 1))) & (size - 1)

    def _control(self, opt: str, fmt: bytes, i: int, header: list[int], name: str) -> int:
        """controloptions: endianness and alignment; header is [little, align]."""
        if opt == " ":
            return i
        if opt == ">":
            header[0] = 0
        elif opt == "<":
            header[0] = 1
        elif opt == "!":
            a, i = self._getnum(fmt, i, MAXALIGN)
            if a <= 0 or a & (a - 1):
                raise LuaLibError(f"alignment {a} is not a power of 2")
            header[1] = a
        else:
            raise self._arg_error(1, name, f"invalid format option '{opt}'")
        return i

    # the library ------------------------------------------------------------------------

    def pack(self, *args: Any) -> bytes:
        fmt = self._check_string(args, 1, "pack")
        args = (*args, None)  # b_pack pushes a nil after its arguments
        header = [1, 1]
        arg = 2
        out = bytearray()
        i = 0
        while i < len(fmt):
            opt = chr(fmt[i])
            i += 1
            size, i = self._optsize(opt, fmt, i)
            toalign = self._toalign(len(out), header[1], opt, size)
            out += b"\0" * toalign
            if opt in "bBhHlLTiI":
                n = self._check_number(args, arg, "pack")
                arg += 1
                out += _int_bytes(n, size, header[0])
            elif opt == "x":
                out += b"\0"
            elif opt in "fd":
                x = self._check_number(args, arg, "pack")
                arg += 1
                out += _float_bytes(x, opt, header[0])
            elif opt in "cs":
                s = self._check_string(args, arg, "pack")
                arg += 1
                if size == 0:
                    size = len(s)
                if len(s) < size:
                    raise self._arg_error(arg, "pack", "string too short")
                out += s[:size]
                if opt == "s":
                    out += b"\0"
            else:
                i = self._control(opt, fmt, i, header, "pack")
        return bytes(out)

    def unpack(self, *args: Any) -> tuple[Any, ...]:
        fmt = self._check_string(args, 1, "unpack")
        data = self._check_string(args, 2, "unpack")
        ld = len(data)
        if len(args) >= 3 and args[2] is not None:
            pos = int(self._check_number(args, 3, "unpack"))
            if pos == 0:
                raise self._arg_error(3, "unpack", "offset must be 1 or greater")
            if pos < 0:
                pos += _INT_INF  # (a size_t in C)
        else:
            pos = 1
        pos -= 1
        header = [1, 1]
        results: list[Any] = []
        i = 0
        while i < len(fmt):
            opt = chr(fmt[i])
            i += 1
            size, i = self._optsize(opt, fmt, i)
            pos += self._toalign(pos, header[1], opt, size)
            if not (size <= ld and pos <= ld - size):
                raise self._arg_error(2, "unpack", "data string too short")
            if opt in "bBhHlLTiI":
                results.append(_int_value(data[pos : pos + size], header[0], opt.islower()))
            elif opt == "x":
                pass
            elif opt in "fd":
                chunk = data[pos : pos + size]
                code = ("<" if header[0] else ">") + opt
                results.append(float(_struct.unpack(code, chunk)[0]))
            elif opt == "c":
                if size == 0:
                    if not results or not isinstance(results[-1], int | float):
                        raise LuaLibError("format 'c0' needs a previous size")
                    size = int(results.pop())
                    if not (size <= ld and pos <= ld - size):
                        raise self._arg_error(2, "unpack", "data string too short")
                results.append(data[pos : pos + size])
            elif opt == "s":
                end = data.find(b"\0", pos)
                if end < 0:
                    raise LuaLibError("unfinished string in data")
                size = end - pos + 1
                results.append(data[pos:end])
            else:
                i = self._control(opt, fmt, i, header, "unpack")
            pos += size
        results.append(pos + 1)
        return tuple(results)

    def size(self, *args: Any) -> int:
        fmt = self._check_string(args, 1, "size")
        header = [1, 1]
        pos = 0
        i = 0
        while i < len(fmt):
            opt = chr(fmt[i])
            i += 1
            size, i = self._optsize(opt, fmt, i)
            pos += self._toalign(pos, header[1], opt, size)
            if opt == "s":
                raise self._arg_error(1, "size", "option 's' has no fixed size")
            if opt == "c" and size == 0:
                raise self._arg_error(1, "size", "option 'c0' has no fixed size")
            if not opt.isalnum():
                i = self._control(opt, fmt, i, header, "size")
            pos += size
        return pos


def _str2number(s: bytes) -> float | None:
    """lua_str2number (strtod, or a hexadecimal integer), surrounding spaces allowed."""
    text = s.strip(b" \t\n\r\f\v")
    if not text:
        return None
    try:
        if text[:2].lower() in (b"0x",) or text[:3].lower() in (b"-0x", b"+0x"):
            return float(int(text, 16))
        if text.lower().lstrip(b"+-") in (b"inf", b"infinity", b"nan"):
            return float(text)
        return float(text)
    except ValueError:
        return None


def _c_long(n: float) -> int:
    """(Uinttype)n, or (Uinttype)(Inttype)n for negatives: truncation, modulo 2^64."""
    if math.isnan(n) or math.isinf(n):
        return 1 << 63  # x86-64's cvttsd2si answer for values it cannot convert
    v = int(n)
    if v < -(1 << 63) or v >= 1 << 64:
        return 1 << 63
    return v & (_INT_INF - 1)


def _int_bytes(n: float, size: int, little: int) -> bytes:
    value = _c_long(n)
    out = bytes(((value >> (8 * k)) & 0xFF) if k < 8 else 0 for k in range(size))
    return out if little else out[::-1]


def _int_value(chunk: bytes, little: int, signed: bool) -> float:
    raw = chunk[::-1] if little else chunk
    value = 0
    for byte in raw:
        value = ((value << 8) | byte) & (_INT_INF - 1)
    if not signed:
        return float(value)
    mask = ((_INT_INF - 1) << ((len(chunk) * 8 - 1) % 64)) & (_INT_INF - 1)
    if value & mask:
        value |= mask
    if value >= 1 << 63:
        value -= _INT_INF
    return float(value)


def _float_bytes(x: float, opt: str, little: int) -> bytes:
    code = ("<" if little else ">") + opt
    try:
        return _struct.pack(code, x)
    except OverflowError:  # a double past FLT_MAX: the C cast gives infinity
        return _struct.pack(code, math.copysign(math.inf, x))
