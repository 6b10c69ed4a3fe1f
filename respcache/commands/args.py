"""Integer arguments as Redis parses them (``string2ll``), shared by handlers.

Doubles have their own parsers beside the commands that need them: the
long-double rules of INCRBYFLOAT in ``strings.py``, C ``strtod`` scores in ``zsets.py``.
"""

from __future__ import annotations

from typing import Final

from respcache.errors import NOT_INTEGER, CommandError

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
