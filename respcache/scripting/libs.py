"""The ``bit`` and ``cjson`` libraries Redis links into its Lua, as Python functions.

lupa's Lua 5.1 has neither, so they are rebuilt from their C sources in Redis
7.0.15's ``deps/lua/src``: ``lua_bit.c`` (LuaBitOp 1.0.2: 32-bit operations on
numbers, results normalised to signed 32-bit) and ``lua_cjson.c`` (lua-cjson
2.1.0 as Redis configures it: numbers encoded with ``%.14g``, ``/`` escaped,
empty tables as objects, sparse arrays refused past ratio 2 / safe 10, nesting
deeper than 1000 refused, ``cjson.null`` a unique sentinel). The functions take
and return Lua values as lupa hands them over (``bytes`` strings, lupa tables),
and raise :class:`LuaLibError` whose text becomes the Lua error message.

``cmsgpack`` and ``struct`` are in their own modules (``cmsgpack.py``, ``structlib.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any


class LuaLibError(Exception):
    """An error a library function raises into Lua (its message is the Lua error).

    Raised as ``luaL_error`` does: the runtime puts the script's position first.
    """


class LuaRuntimeError(LuaLibError):
    """An error the Lua core raises inside a C function (``table index is nil``): no
    position, as ``luaG_runerror`` adds none outside Lua code."""


# --- bit (lua_bit.c) --------------------------------------------------------------


def _tobit(x: Any, name: str, pos: int = 1) -> int:
    if isinstance(x, bool) or not isinstance(x, int | float):
        if isinstance(x, bytes):
            try:
                x = float(x)
            except ValueError:
                raise LuaLibError(
                    f"bad argument #{pos} to '{name}' (number expected, got string)"
                ) from None
        else:
            raise LuaLibError(f"bad argument #{pos} to '{name}' (number expected, got no value)")
    # LuaBitOp adds 2^52+2^51 and takes the low 32 bits: rounding to nearest even.
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return 0
        x = round(x)
    v = int(x) & 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _signed(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _fold(name: str, op: Callable[[int, int], int]) -> Callable[..., int]:
    def f(*args: Any) -> int:
        if not args:
            raise LuaLibError(f"bad argument #1 to '{name}' (number expected, got no value)")
        acc = _tobit(args[0], name)
        for i, a in enumerate(args[1:], 2):
            acc = op(acc, _tobit(a, name, i))
        return _signed(acc)

    return f


def _shift(name: str, op: Callable[[int, int], int]) -> Callable[..., int]:
    def f(x: Any = None, n: Any = None) -> int:
        return _signed(op(_tobit(x, name) & 0xFFFFFFFF, _tobit(n, name, 2) & 31))

    return f


def _rol(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def _ror(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & 0xFFFFFFFF


def _arshift(x: int, n: int) -> int:
    return _signed(x) >> n


def _tohex(x: Any = None, n: Any = 8) -> bytes:
    v = _tobit(x, "tohex") & 0xFFFFFFFF
    digits = _tobit(n, "tohex", 2) if n is not None else 8
    hexdigits = "0123456789abcdef"
    if digits < 0:
        digits = -digits
        hexdigits = hexdigits.upper()
    digits = min(digits, 8)
    out = []
    for _ in range(digits):
        out.append(hexdigits[v & 15])
        v >>= 4
    return "".join(reversed(out)).encode()


def bit_library() -> dict[bytes, Any]:
    return {
        b"tobit": lambda x=None: _tobit(x, "tobit"),
        b"bnot": lambda x=None: _signed(~_tobit(x, "bnot")),
        b"band": _fold("band", lambda a, b: a & b),
        b"bor": _fold("bor", lambda a, b: a | b),
        b"bxor": _fold("bxor", lambda a, b: a ^ b),
        b"lshift": _shift("lshift", lambda x, n: x << n),
        b"rshift": _shift("rshift", lambda x, n: x >> n),
        b"arshift": _shift("arshift", _arshift),
        b"rol": _shift("rol", _rol),
        b"ror": _shift("ror", _ror),
        b"bswap": lambda x=None: _signed(
            int.from_bytes((_tobit(x, "bswap") & 0xFFFFFFFF).to_bytes(4, "little"), "big")
        ),
        b"tohex": _tohex,
    }


# --- cjson (lua_cjson.c) -------------------------------------------------------------


class _Null:
    """``cjson.null``: one sentinel value, a userdata for Lua."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "userdata: (nil)"  # tostring(cjson.null): Redis's is a NULL light userdata

    __str__ = __repr__


CJSON_NULL = _Null()

_ESCAPES = {i: f"\\u{i:04x}" for i in range(32)}
_ESCAPES.update(
    {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r", 34: '\\"', 47: "\\/", 92: "\\\\"}
)
_ESCAPES[127] = "\\u007f"
_ESCAPE_BYTES = {k: v.encode() for k, v in _ESCAPES.items()}


def _json_string(s: bytes) -> bytes:
    out = bytearray(b'"')
    for byte in s:
        esc = _ESCAPE_BYTES.get(byte)
        if esc is None:
            out.append(byte)
        else:
            out += esc
    out += b'"'
    return bytes(out)


def _json_number(x: float, invalid: int = 0, precision: int = 14) -> bytes:
    """json_append_number: ``invalid`` is encode_invalid_numbers (0 off, 1 on, 2 null)."""
    if math.isnan(x) or math.isinf(x):
        if invalid == 0:
            raise LuaLibError("Cannot serialise number: must not be NaN or Inf")
        if invalid == 2:
            return b"null"
        if math.isnan(x):
            return b"nan"
    return b"%.*g" % (precision, x)


class CJsonConfig:
    """json_config_t: what the cjson.encode_*/decode_* functions set (Redis's defaults).

    As in Redis the settings belong to the Lua state: a script that changes one
    changes it for the scripts after it.
    """

    def __init__(self) -> None:
        self.sparse_convert = 0
        self.sparse_ratio = 2
        self.sparse_safe = 10
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.encode_invalid_numbers = 0
        self.decode_invalid_numbers = 1
        self.encode_keep_buffer = 1
        self.encode_number_precision = 14


def _lua_integer(value: Any, index: int, name: str) -> int:
    if isinstance(value, bytes):
        try:
            value = float(value)
        except ValueError:
            raise LuaLibError(
                f"bad argument #{index} to '{name}' (number expected, got string)"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LuaLibError(f"bad argument #{index} to '{name}' (number expected, got boolean)")
    if math.isnan(value) or math.isinf(value):
        return -(1 << 63)
    return int(value)


class CJson:
    """``cjson.encode`` / ``cjson.decode`` over lupa tables."""

    def __init__(self, lua_type: Callable[[Any], str], new_table: Callable[..., Any]) -> None:
        self._lua_type = lua_type
        self._new_table = new_table
        self.config = CJsonConfig()

    def library(self) -> dict[bytes, Any]:
        return {
            b"encode": self.encode,
            b"decode": self.decode,
            b"null": CJSON_NULL,
            b"encode_sparse_array": self.encode_sparse_array,
            b"encode_max_depth": self._integer_option("encode_max_depth", 1, 2**31 - 1),
            b"decode_max_depth": self._integer_option("decode_max_depth", 1, 2**31 - 1),
            b"encode_number_precision": self._integer_option("encode_number_precision", 1, 14),
            b"encode_keep_buffer": self._enum_option("encode_keep_buffer", (b"off", b"on")),
            b"encode_invalid_numbers": self._enum_option(
                "encode_invalid_numbers", (b"off", b"on", b"null")
            ),
            b"decode_invalid_numbers": self._enum_option("decode_invalid_numbers", (b"off", b"on")),
        }

    # configuration (json_integer_option, json_enum_option) ------------------------------

    def _check_args(self, args: tuple[Any, ...], most: int, name: str) -> None:
        """json_arg_init: at most ``most`` arguments."""
        if len(args) > most:
            raise LuaLibError(f"bad argument #{most + 1} to '{name}' (found too many arguments)")

    def _set_integer(
        self, args: tuple[Any, ...], index: int, attr: str, name: str, low: int, high: int
    ) -> int:
        cfg = self.config
        if len(args) >= index and args[index - 1] is not None:
            value = _lua_integer(args[index - 1], index, name)
            if not low <= value <= high:
                raise LuaLibError(
                    f"bad argument #1 to '{name}' (expected integer between {low} and {high})"
                )
            setattr(cfg, attr, value)
        return int(getattr(cfg, attr))

    def _set_enum(
        self, args: tuple[Any, ...], index: int, attr: str, name: str, options: tuple[bytes, ...]
    ) -> Any:
        cfg = self.config
        if len(args) >= index and args[index - 1] is not None:
            value = args[index - 1]
            if isinstance(value, bool):
                setattr(cfg, attr, int(value))
            else:
                if isinstance(value, int | float):
                    value = b"%.14g" % value
                if not isinstance(value, bytes):
                    raise LuaLibError(
                        f"bad argument #{index} to '{name}' (string expected, got "
                        f"{self._lua_type(value)})"
                    )
                if value not in options:
                    raise LuaLibError(
                        f"bad argument #{index} to '{name}' (invalid option '"
                        f"{value.decode('utf-8', 'replace')}')"
                    )
                setattr(cfg, attr, options.index(value))
        setting = int(getattr(cfg, attr))
        return bool(setting) if setting in (0, 1) else options[setting]

    def _integer_option(self, name: str, low: int, high: int) -> Callable[..., int]:
        def option(*args: Any) -> int:
            self._check_args(args, 1, name)
            return self._set_integer(args, 1, name, name, low, high)

        return option

    def _enum_option(self, name: str, options: tuple[bytes, ...]) -> Callable[..., Any]:
        def option(*args: Any) -> Any:
            self._check_args(args, 1, name)
            return self._set_enum(args, 1, name, name, options)

        return option

    def encode_sparse_array(self, *args: Any) -> tuple[Any, int, int]:
        name = "encode_sparse_array"
        self._check_args(args, 3, name)
        convert = self._set_enum(args, 1, "sparse_convert", name, (b"off", b"on"))
        ratio = self._set_integer(args, 2, "sparse_ratio", name, 0, 2**31 - 1)
        safe = self._set_integer(args, 3, "sparse_safe", name, 0, 2**31 - 1)
        return convert, ratio, safe

    # encode -------------------------------------------------------------------

    def encode(self, *args: Any) -> bytes:
        if len(args) != 1:
            raise LuaLibError("bad argument #1 to 'encode' (expected 1 argument)")
        out: list[bytes] = []
        self._encode(args[0], out, 0)
        return b"".join(out)

    def _encode(self, v: Any, out: list[bytes], depth: int) -> None:
        if v is None or v is CJSON_NULL:
            out.append(b"null")
        elif v is True:
            out.append(b"true")
        elif v is False:
            out.append(b"false")
        elif isinstance(v, bytes):
            out.append(_json_string(v))
        elif isinstance(v, int | float):
            cfg = self.config
            out.append(
                _json_number(float(v), cfg.encode_invalid_numbers, cfg.encode_number_precision)
            )
        else:
            kind = self._lua_type(v)
            if kind != "table":
                raise LuaLibError(f"Cannot serialise {kind}: type not supported")
            depth += 1
            if depth > self.config.encode_max_depth:
                raise LuaLibError(f"Cannot serialise, excessive nesting ({depth})")
            items = list(v.items())
            length = self._array_length(items)
            if length > 0:
                out.append(b"[")
                values = dict(items)
                for i in range(1, length + 1):
                    if i > 1:
                        out.append(b",")
                    self._encode(values.get(i), out, depth)
                out.append(b"]")
            else:
                out.append(b"{")
                first = True
                for key, value in items:
                    if not first:
                        out.append(b",")
                    first = False
                    if isinstance(key, bytes):
                        out.append(_json_string(key))
                    elif isinstance(key, int | float) and not isinstance(key, bool):
                        cfg = self.config
                        number = _json_number(
                            float(key), cfg.encode_invalid_numbers, cfg.encode_number_precision
                        )
                        out.append(b'"' + number + b'"')
                    else:
                        raise LuaLibError(
                            "Cannot serialise table: table key must be a number or string"
                        )
                    out.append(b":")
                    self._encode(value, out, depth)
                out.append(b"}")

    def _array_length(self, items: list[tuple[Any, Any]]) -> int:
        """lua_array_length: the max index if every key is a positive integer, else 0."""
        maxkey = 0
        for key, _ in items:
            if (
                isinstance(key, int | float)
                and not isinstance(key, bool)
                and key >= 1
                and float(key).is_integer()
            ):
                maxkey = max(maxkey, int(key))
            else:
                return 0
        cfg = self.config
        if (
            cfg.sparse_ratio > 0
            and maxkey > len(items) * cfg.sparse_ratio
            and maxkey > cfg.sparse_safe
        ):
            if not cfg.sparse_convert:
                raise LuaLibError("Cannot serialise table: excessively sparse array")
            return 0  # encoded as an object
        return maxkey

    # decode -------------------------------------------------------------------

    def decode(self, *args: Any) -> Any:
        if len(args) != 1:
            raise LuaLibError("bad argument #1 to 'decode' (expected 1 argument)")
        text = args[0]
        if isinstance(text, int | float) and not isinstance(text, bool):
            text = _json_number(float(text))
        if not isinstance(text, bytes):
            raise LuaLibError(
                f"bad argument #1 to 'decode' (string expected, got {self._lua_type(text)})"
            )
        parser = _JsonParser(text, self._new_table, self.config)
        value = parser.value(0)
        parser.skip_ws()
        if parser.pos < len(text):
            parser.fail("the end")
        return value


_NUMBER = re.compile(
    rb"-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)", re.I
)


class _JsonParser:
    def __init__(
        self, text: bytes, new_table: Callable[..., Any], config: CJsonConfig | None = None
    ) -> None:
        self.config = config or CJsonConfig()
        self.text = text
        self.pos = 0
        self.new_table = new_table

    def skip_ws(self) -> None:
        text = self.text
        while self.pos < len(text) and text[self.pos] in b" \t\r\n":
            self.pos += 1

    def fail(self, expected: str) -> None:
        token = self._token_name()
        raise LuaLibError(f"Expected {expected} but found {token} at character {self.pos + 1}")

    def _token_name(self) -> str:
        text = self.text
        if self.pos >= len(text):
            return "T_END"
        c = text[self.pos : self.pos + 1]
        names = {
            b"{": "T_OBJ_BEGIN",
            b"}": "T_OBJ_END",
            b"[": "T_ARR_BEGIN",
            b"]": "T_ARR_END",
            b",": "T_COMMA",
            b":": "T_COLON",
            b'"': "T_STRING",
        }
        if c in names:
            return names[c]
        if text.startswith((b"true", b"false"), self.pos):
            return "T_BOOLEAN"
        if text.startswith(b"null", self.pos):
            return "T_NULL"
        if _NUMBER.match(text, self.pos):
            return "T_NUMBER"
        return "invalid token"

    def value(self, depth: int) -> Any:
        self.skip_ws()
        text = self.text
        if self.pos >= len(text):
            self.fail("value")
        c = text[self.pos]
        if c == ord("{"):
            return self.obj(depth + 1)
        if c == ord("["):
            return self.arr(depth + 1)
        if c == ord('"'):
            return self.string()
        for word, val in ((b"true", True), (b"false", False), (b"null", CJSON_NULL)):
            if text.startswith(word, self.pos):
                self.pos += len(word)
                return val
        m = _NUMBER.match(text, self.pos)
        if m:
            self.pos = m.end()
            raw = m.group().lower()
            n = float(int(raw, 16)) if b"x" in raw else float(raw)
            return int(n) if n.is_integer() and abs(n) < 2**53 else n
        self.fail("value")
        return None

    def _depth(self, depth: int) -> None:
        if depth > self.config.decode_max_depth:
            raise LuaLibError(
                f"Found too many nested data structures ({depth}) at character {self.pos + 1}"
            )

    def obj(self, depth: int) -> Any:
        self._depth(depth)
        self.pos += 1
        table = self.new_table()
        self.skip_ws()
        if self.text[self.pos : self.pos + 1] == b"}":
            self.pos += 1
            return table
        while True:
            self.skip_ws()
            if self.text[self.pos : self.pos + 1] != b'"':
                self.fail("object key string")
            key = self.string()
            self.skip_ws()
            if self.text[self.pos : self.pos + 1] != b":":
                self.fail("colon")
            self.pos += 1
            table[key] = self.value(depth)
            self.skip_ws()
            c = self.text[self.pos : self.pos + 1]
            if c == b"}":
                self.pos += 1
                return table
            if c != b",":
                self.fail("comma or object end")
            self.pos += 1

    def arr(self, depth: int) -> Any:
        self._depth(depth)
        self.pos += 1
        table = self.new_table()
        self.skip_ws()
        if self.text[self.pos : self.pos + 1] == b"]":
            self.pos += 1
            return table
        i = 1
        while True:
            table[i] = self.value(depth)
            i += 1
            self.skip_ws()
            c = self.text[self.pos : self.pos + 1]
            if c == b"]":
                self.pos += 1
                return table
            if c != b",":
                self.fail("comma or array end")
            self.pos += 1

    def string(self) -> bytes:
        text = self.text
        start = self.pos
        self.pos += 1
        out = bytearray()
        simple = {
            ord("b"): 8,
            ord("f"): 12,
            ord("n"): 10,
            ord("r"): 13,
            ord("t"): 9,
            ord('"'): 34,
            ord("\\"): 92,
            ord("/"): 47,
        }
        while True:
            if self.pos >= len(text):
                self.pos = start
                raise LuaLibError(
                    f"Expected value but found invalid token at character {start + 1}"
                )
            c = text[self.pos]
            if c == ord('"'):
                self.pos += 1
                return bytes(out)
            if c == ord("\\"):
                e = text[self.pos + 1] if self.pos + 1 < len(text) else -1
                if e in simple:
                    out.append(simple[e])
                    self.pos += 2
                    continue
                if e == ord("u"):
                    cp = self._hex4(self.pos + 2)
                    consumed = 6
                    if cp is not None and 0xD800 <= cp < 0xDC00:
                        low = (
                            self._hex4(self.pos + 8)
                            if text[self.pos + 6 : self.pos + 8] == b"\\u"
                            else None
                        )
                        if low is None or not 0xDC00 <= low < 0xE000:
                            cp = None
                        else:
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                            consumed = 12
                    elif cp is not None and 0xDC00 <= cp < 0xE000:
                        cp = None
                    if cp is None:
                        self.pos = start
                        raise LuaLibError(
                            f"Expected value but found invalid unicode escape code at character {start + 1}"
                        )
                    out += chr(cp).encode("utf-8", "surrogatepass")
                    self.pos += consumed
                    continue
                self.pos = start
                raise LuaLibError(
                    f"Expected value but found invalid escape code at character {start + 1}"
                )
            out.append(c)
            self.pos += 1

    def _hex4(self, at: int) -> int | None:
        chunk = self.text[at : at + 4]
        if len(chunk) != 4 or not all(ch in b"0123456789abcdefABCDEF" for ch in chunk):
            return None
        return int(chunk, 16)
