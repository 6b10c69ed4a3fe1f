"""Argument parsing shared by handlers, with Redis's exact rules and errors."""

from __future__ import annotations

import math
from typing import Final

from respcache.errors import NOT_FLOAT, NOT_INTEGER, CommandError

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def parse_int(arg: bytes, error: str = NOT_INTEGER) -> int:
    """A signed 64-bit integer in canonical form, as Redis's ``string2ll`` accepts it.

    No sign ``+``, no spaces, no leading zeros, no ``-0``, at most 20 characters.
    """
    if len(arg) > 20:
        raise CommandError(error)
    try:
        value = int(arg)
    except ValueError:
        raise CommandError(error) from None
    if not INT64_MIN <= value <= INT64_MAX or b"%d" % value != arg:
        raise CommandError(error)
    return value


def parse_nonneg(arg: bytes, error: str = NOT_INTEGER) -> int:
    value = parse_int(arg, error)
    if value < 0:
        raise CommandError(error)
    return value


def parse_float(arg: bytes, error: str = NOT_FLOAT) -> float:
    """A double as Redis's ``string2ld``/``strtod`` accepts it (``inf``, ``-inf``; no NaN, no spaces)."""
    if not arg or arg[0] in b" \t\r\n\v\f" or arg[-1] in b" \t\r\n\v\f":
        raise CommandError(error)
    try:
        value = float(arg)
    except ValueError:
        raise CommandError(error) from None
    if math.isnan(value) or b"_" in arg:
        raise CommandError(error)
    return value


def format_float(value: float) -> bytes:
    """A double the way Redis 7.0 writes it in INCRBYFLOAT/HINCRBYFLOAT replies.

    Redis prints long doubles with ``%.17Lf`` and strips trailing zeros; with
    Python's binary64 the shortest repr that round-trips gives the same digits
    for every value a double can hold, without exponent notation.
    """
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if value == int(value) and abs(value) < 1e17:
        return b"%d" % int(value)
    text = repr(value)
    if "e" in text or "E" in text:
        text = f"{value:.17f}".rstrip("0").rstrip(".")
    return text.encode()


def lower(arg: bytes) -> bytes:
    """An option keyword lower-cased for matching (``EX``, ``ex``, ``Ex``)."""
    return arg.lower()
