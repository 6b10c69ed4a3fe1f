"""Redis replies as Lua values (Redis 7.0.15's redisProtocolToLuaType in src/script_lua.c).

A command's reply reaches ``redis.call`` as a Python :data:`Reply`; this turns it into
what a script sees for the protocol it chose with ``redis.setresp``: RESP2 nil is
``false``, a status is ``{ok=...}``, an error ``{err=...}``, and under RESP3 maps, sets,
doubles, big numbers and verbatim strings are the tables Redis documents. Pre-encoded
replies (:class:`Raw`) are parsed back as RESP first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from respcache.errors import CommandError
from respcache.protocol.encoder import format_double
from respcache.protocol.types import NULL_ARRAY, BigNumber, Raw, Reply, Verbatim


class LuaReplies:
    """Converts replies into Lua tables and values of one Lua runtime."""

    def __init__(self, table_from: Callable[..., Any], new_table: Callable[[], Any]) -> None:
        self._table_from = table_from
        self._new_table = new_table

    def to_lua(self, reply: Reply, resp: int) -> Any:
        """A command's reply as Lua sees it, for a script client speaking ``resp``."""
        kind = type(reply)
        if kind is bytes or kind is int:
            return reply
        if kind is Raw:
            return self._raw_to_lua(bytes(reply), resp)  # type: ignore[arg-type]
        if kind is str:
            return self._table_from({b"ok": reply.encode("utf-8", "surrogateescape")})  # type: ignore[union-attr]
        if reply is None or reply is NULL_ARRAY:
            return None if resp == 3 else False
        if kind is bool:
            if resp == 3:
                return reply
            return 1 if reply else 0
        if kind is float:
            if resp == 3:
                return self._table_from({b"double": reply})
            return format_double(reply)  # type: ignore[arg-type]
        if isinstance(reply, CommandError):
            table = self._table_from({b"err": reply.message.encode("utf-8", "surrogateescape")})
            return table
        if isinstance(reply, BigNumber):
            if resp == 3:
                return self._table_from({b"big_number": b"%d" % reply})
            return b"%d" % reply
        if isinstance(reply, int):
            return int(reply)
        if isinstance(reply, Verbatim):
            if resp == 3:
                inner = self._table_from({b"string": reply.text, b"format": reply.format.encode()})
                return self._table_from({b"verbatim_string": inner})
            return reply.text
        if isinstance(reply, dict):
            if resp == 3:
                inner = self._new_table()
                for k, v in reply.items():
                    inner[self.to_lua(k, resp)] = self.to_lua(v, resp)
                return self._table_from({b"map": inner})
            flat: list[Any] = []
            for k, v in reply.items():
                flat.append(self.to_lua(k, resp))
                flat.append(self.to_lua(v, resp))
            return self._array(flat)
        if isinstance(reply, set | frozenset):
            if resp == 3:
                inner = self._new_table()
                for v in reply:
                    inner[self.to_lua(v, resp)] = True
                return self._table_from({b"set": inner})
            return self._array([self.to_lua(v, resp) for v in reply])
        if isinstance(reply, list | tuple):
            return self._array([self.to_lua(v, resp) for v in reply])
        if isinstance(reply, bytes):
            return bytes(reply)
        if isinstance(reply, str):
            return self._table_from({b"ok": reply.encode("utf-8", "surrogateescape")})
        return None

    def _array(self, items: list[Any]) -> Any:
        table = self._new_table()
        for i, item in enumerate(items, 1):
            if item is not None:
                table[i] = item
        return table

    def _raw_to_lua(self, raw: bytes, resp: int) -> Any:
        """Pre-encoded replies (``+OK``, pushes): parsed back as RESP."""
        value, _ = _parse_resp(raw, 0)
        return self.to_lua(value, resp)


def _parse_resp(data: bytes, pos: int) -> tuple[Reply, int]:
    """One RESP value at ``pos`` (the few forms pre-encoded replies use)."""
    end = data.index(b"\r\n", pos)
    kind = data[pos : pos + 1]
    line = data[pos + 1 : end]
    nxt = end + 2
    if kind == b"+":
        return line.decode("utf-8", "surrogateescape"), nxt
    if kind == b"-":
        return CommandError(line.decode("utf-8", "surrogateescape")), nxt
    if kind == b":":
        return int(line), nxt
    if kind == b"$":
        n = int(line)
        if n < 0:
            return None, nxt
        return data[nxt : nxt + n], nxt + n + 2
    if kind in (b"*", b">"):
        n = int(line)
        if n < 0:
            return NULL_ARRAY, nxt
        items: list[Reply] = []
        for _ in range(n):
            item, nxt = _parse_resp(data, nxt)
            items.append(item)
        return items, nxt
    if kind == b"_":
        return None, nxt
    if kind == b"|":  # an attribute: not shown to scripts, the reply follows it
        for _ in range(2 * int(line)):
            _, nxt = _parse_resp(data, nxt)
        return _parse_resp(data, nxt)
    if kind == b"%":
        mapping: dict[Any, Reply] = {}
        for _ in range(int(line)):
            key, nxt = _parse_resp(data, nxt)
            value, nxt = _parse_resp(data, nxt)
            mapping[key] = value
        return mapping, nxt
    if kind == b"~":
        members: list[Reply] = []
        for _ in range(int(line)):
            item, nxt = _parse_resp(data, nxt)
            members.append(item)
        return set(members), nxt
    if kind == b",":
        return float(line), nxt
    if kind == b"#":
        return line == b"t", nxt
    if kind == b"(":
        return BigNumber(int(line)), nxt
    if kind == b"=":
        n = int(line)
        text = data[nxt : nxt + n]
        return Verbatim(text[4:], text[:3].decode()), nxt + n + 2
    raise ValueError(f"unexpected RESP type {kind!r}")
