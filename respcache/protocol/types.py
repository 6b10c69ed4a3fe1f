"""The values a command handler replies with, and how they map onto RESP.

Handlers return plain Python values; the encoder picks the RESP2 or RESP3
form from the value's exact type (``type(v)``, so ``bool`` is not ``int``):

=====================  ======================  ===========================
Python value           RESP2                   RESP3
=====================  ======================  ===========================
``bytes``              bulk string ``$``       bulk string ``$``
``str``                simple string ``+``     simple string ``+``
``int``                integer ``:``           integer ``:``
``bool``               integer ``:1``/``:0``   boolean ``#t``/``#f``
``float``              bulk string (Redis's    double ``,``
                       ``%.17g`` formatting)
``None``               null bulk ``$-1``       null ``_``
:data:`NULL_ARRAY`     null array ``*-1``      null ``_``
``list``/``tuple``     array ``*``             array ``*``
``dict``               flat array ``*``        map ``%``
``set``/``frozenset``  array ``*``             set ``~``
:class:`Verbatim`      bulk string             verbatim string ``=``
:class:`Push`          array ``*``             push ``>``
:class:`BigNumber`     bulk string             big number ``(``
``CommandError``       error ``-``             error ``-``
:class:`Raw`           the bytes as they are   the bytes as they are
=====================  ======================  ===========================
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, TypeAlias

from respcache.errors import CommandError


class _NullArray:
    """The RESP2 null array (``*-1``), e.g. BLPOP timing out or EXEC after a failed WATCH."""

    __slots__ = ()
    _instance: _NullArray | None = None

    def __new__(cls) -> _NullArray:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY: Final = _NullArray()


class Raw(bytes):
    """Bytes already encoded as RESP; written as they are (pre-encoded constants)."""

    __slots__ = ()


class Verbatim:
    """A RESP3 verbatim string (``=``), e.g. INFO; a plain bulk string in RESP2."""

    __slots__ = ("format", "text")

    def __init__(self, text: bytes, format: str = "txt") -> None:
        self.text = text
        self.format = format

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verbatim) and (other.text, other.format) == (
            self.text,
            self.format,
        )

    def __hash__(self) -> int:
        return hash((self.text, self.format))

    def __repr__(self) -> str:
        return f"Verbatim({self.text!r}, {self.format!r})"


class Push(list):  # type: ignore[type-arg]
    """An out-of-band message (pub/sub, invalidation): RESP3 push ``>``, RESP2 array."""

    __slots__ = ()


class BigNumber(int):
    """RESP3 big number ``(``; a bulk string in RESP2."""

    __slots__ = ()


class OrderedSetReply(frozenset[bytes]):
    """A set reply (RESP3 ``~``, RESP2 array) sent in a given order: Redis walks an
    intset in ascending order, and a test can then compare bytes (SMEMBERS & co.).

    (Here rather than in ``commands/sets.py``, which mypyc compiles: a ``frozenset``
    subclass cannot be a native class, and mypyc rejects ``__new__`` in a non-native one.)
    """

    __slots__ = ("order",)
    order: list[bytes]

    def __new__(cls, members: list[bytes]) -> OrderedSetReply:
        self = super().__new__(cls, members)
        self.order = members
        return self

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.order)


Reply: TypeAlias = (
    bytes
    | str
    | int
    | float
    | _NullArray
    | list["Reply"]
    | tuple["Reply", ...]
    | dict["Reply", "Reply"]
    | set["Reply"]
    | frozenset["Reply"]
    | Verbatim
    | CommandError
    | None
)
"""What a handler may return (see the table above)."""

OK: Final = Raw(b"+OK\r\n")
PONG: Final = Raw(b"+PONG\r\n")
QUEUED: Final = Raw(b"+QUEUED\r\n")
