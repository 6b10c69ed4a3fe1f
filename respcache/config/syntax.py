"""redis.conf syntax: the argument tokenizer, config-file errors, CLI words and the glob matcher."""


from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from respcache import REDIS_VERSION
from respcache.config.values import quote
from respcache.errors import ConfigError

_SPACE = b" \n\r\t\f\v"
_HEX = b"0123456789abcdefABCDEF"
_C_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def split_args(line: str) -> list[str] | None:
    """Redis's ``sdssplitargs``: words, "double quoted" (C escapes, \\xHH) or 'single quoted'.

    Returns ``None`` on unbalanced quotes or a closing quote followed by a non-space.
    """
    data = line.encode("utf-8", "surrogateescape") + b"\0"
    words: list[str] = []
    i = 0
    while True:
        while data[i] in _SPACE and data[i] != 0:
            i += 1
        if data[i] == 0:
            return words
        current = bytearray()
        inq = insq = done = False
        while not done:
            c = data[i]
            if inq:
                if (
                    c == 92
                    and data[i + 1] == ord("x")
                    and data[i + 2] in _HEX
                    and data[i + 2] != 0
                    and data[i + 3] in _HEX
                    and data[i + 3] != 0
                ):
                    current.append(int(data[i + 2 : i + 4], 16))
                    i += 3
                elif c == 92 and data[i + 1] != 0:
                    i += 1
                    current.append(_C_ESCAPES.get(data[i], data[i]))
                elif c == ord('"'):
                    if data[i + 1] != 0 and data[i + 1] not in _SPACE:
                        return None
                    done = True
                elif c == 0:
                    return None
                else:
                    current.append(c)
            elif insq:
                if c == 92 and data[i + 1] == ord("'"):
                    i += 1
                    current.append(ord("'"))
                elif c == ord("'"):
                    if data[i + 1] != 0 and data[i + 1] not in _SPACE:
                        return None
                    done = True
                elif c == 0:
                    return None
                else:
                    current.append(c)
            elif c in b" \n\r\t" or c == 0:
                done = True
            elif c == ord('"'):
                inq = True
            elif c == ord("'"):
                insq = True
            else:
                current.append(c)
            if data[i] != 0:
                i += 1
        words.append(current.decode("utf-8", "surrogateescape"))


class ConfigFileError(ConfigError):
    """A bad line in a config file, the command line or the environment.

    ``str(exc)`` is what redis-server prints to stderr before exiting with status 1::

        *** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
        Reading the configuration file, at line 2
        >>> 'nosuch 1'
        Bad directive or wrong number of arguments

    (redis-server also prints an empty line first.) ``reason``, ``lineno`` and ``line``
    hold the parts; ``where`` replaces the "Reading..." line for environment variables.
    A file that cannot be opened gives only redis-server's one-line message
    (``header=False``).
    """

    def __init__(
        self,
        reason: str,
        lineno: int | None = None,
        line: str | None = None,
        where: str | None = None,
        *,
        header: bool = True,
    ) -> None:
        self.reason = reason
        self.lineno = lineno
        self.line = line
        parts = [f"*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***"] if header else []
        if where is not None:
            parts.append(where)
        elif lineno is not None:
            parts.append(f"Reading the configuration file, at line {lineno}")
        if line is not None:
            parts.append(f">>> '{line}'")
        parts.append(reason)
        super().__init__("\n".join(parts))


class _Line(NamedTuple):
    lineno: int | None
    text: str  # the stripped line, as shown after '>>>'
    words: list[str]


def argv_to_options(args: Sequence[str]) -> str:
    """redis-server's conversion of ``--name value ...`` arguments into config-file lines.

    ``["--port", "7000", "--save", "--maxmemory", "1mb"]`` becomes
    ``'port "7000" \\nsave "" \\nmaxmemory "1mb" '``: each ``--name`` starts a line, values
    are quoted, and a bare ``--save`` means ``save ""``. A ``--name`` is always followed by
    its first value, even one starting with ``--``.
    """
    options = ""
    handled_last = True
    for j, arg in enumerate(args):
        if handled_last and arg.startswith("--"):
            if options:
                options += "\n"
            options += arg[2:] + " "
            words = split_args(arg)
            if words is not None and len(words) == 1:
                handled_last = False
                nxt = args[j + 1] if j + 1 < len(args) else None
                if arg.lower() == "--save" and (nxt is None or nxt.startswith("--")):
                    options += '""'
                    handled_last = True
            else:
                handled_last = True
        else:
            options += quote(arg) + " "
            handled_last = True
    return options


# --------------------------------------------------------------------------------------
# Glob matching (Redis util.c stringmatchlen)
# --------------------------------------------------------------------------------------


def stringmatch(pattern: str, string: str, nocase: bool = False) -> bool:
    """Redis's ``stringmatchlen``: ``*``, ``?``, ``[a-z]``, ``[^x]`` and ``\\`` escapes."""
    p = pattern.encode("utf-8", "surrogateescape")
    s = string.encode("utf-8", "surrogateescape")
    if nocase:
        p, s = p.lower(), s.lower()
    skip = [False]
    return _match(p, 0, s, 0, skip)


def _match(p: bytes, pi: int, s: bytes, si: int, skip: list[bool]) -> bool:
    plen, slen = len(p), len(s)

    def at(i: int) -> int:
        return p[i] if i < plen else 0

    while pi < plen and si < slen:
        c = p[pi]
        if c == 42:  # '*'
            while pi + 1 < plen and p[pi + 1] == 42:
                pi += 1
            if pi + 1 == plen:
                return True
            while si < slen:
                if _match(p, pi + 1, s, si, skip):
                    return True
                if skip[0]:
                    return False
                si += 1
            skip[0] = True
            return False
        elif c == 63:  # '?'
            si += 1
        elif c == 91:  # '['
            pi += 1
            negate = at(pi) == 94
            if negate:
                pi += 1
            matched = False
            while True:
                if at(pi) == 92 and plen - pi >= 2:
                    pi += 1
                    if p[pi] == s[si]:
                        matched = True
                elif at(pi) == 93:
                    break
                elif pi >= plen:
                    pi -= 1
                    break
                elif plen - pi >= 3 and p[pi + 1] == 45:
                    start, end = sorted((p[pi], p[pi + 2]))
                    pi += 2
                    if start <= s[si] <= end:
                        matched = True
                elif p[pi] == s[si]:
                    matched = True
                pi += 1
            if negate:
                matched = not matched
            if not matched:
                return False
            si += 1
        else:
            if c == 92 and plen - pi >= 2:
                pi += 1
            if p[pi] != s[si]:
                return False
            si += 1
        pi += 1
        if si == slen:
            while pi < plen and p[pi] == 42:
                pi += 1
            break
    return pi >= plen and si == slen


# --------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------

