"""Parsing, validation and rendering of setting values (units, enums, CONFIG GET text, rewrite lines)."""


from __future__ import annotations

import errno as errno_mod
import os
import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

from respcache.config.settings import LLONG_MAX, ULLONG_MAX, Setting


class _Invalid(Exception):
    """A value was refused; ``str()`` is Redis's reason (``argument must be a memory value``)."""


class BufferLimit(NamedTuple):
    """One client class's output buffer limit (bytes, bytes, seconds); 0 disables."""

    hard: int
    soft: int
    soft_seconds: int


_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}
_MEMORY_RE = re.compile(r"([0-9]*)(.*)", re.DOTALL)
_LL_RE = re.compile(r"-?[1-9][0-9]*|0")


def parse_memory(text: str) -> int:
    """Redis's ``memtoull``: digits and an optional unit (b k kb m mb g gb, any case).

    ``1k`` is 1000 and ``1kb`` 1024. As in Redis, an empty number counts as 0 and huge
    values saturate at 2**64-1. Raises ``ValueError`` on anything else.
    """
    m = _MEMORY_RE.fullmatch(text)
    assert m is not None
    digits, unit = m.groups()
    mul = _MEMORY_UNITS.get(unit.lower())
    if mul is None or len(digits) >= 128:
        raise ValueError(text)
    value = min(int(digits or "0"), ULLONG_MAX)
    return (value * mul) & ULLONG_MAX


def _parse_ll(text: str) -> int:
    """Redis's ``string2ll``: no sign but '-', no spaces, no leading zeros, in long long range."""
    if not _LL_RE.fullmatch(text) or len(text) > 20:
        raise _Invalid("argument couldn't be parsed into an integer")
    value = int(text)
    if not -(2**63) <= value <= LLONG_MAX:
        raise _Invalid("argument couldn't be parsed into an integer")
    return value


def _check_range(s: Setting, value: int) -> int:
    lo, hi = s.minimum, s.maximum
    if lo is not None and hi is not None and not lo <= value <= hi:
        if s.name == "unixsocketperm":
            raise _Invalid(f"argument must be between {int(lo):o} and {int(hi):o} inclusive")
        raise _Invalid(f"argument must be between {lo} and {hi} inclusive")
    return value


def _parse_int(s: Setting, text: str, current: object) -> object:
    value = _parse_ll(text)
    if s.unsigned and value < 0:  # C would see a huge unsigned number: out of range
        value = value & ULLONG_MAX
    return _check_range(s, value)


def _parse_memory_setting(s: Setting, text: str, current: object) -> object:
    try:
        value = parse_memory(text)
    except ValueError:
        raise _Invalid("argument must be a memory value") from None
    return _check_range(s, value)


def _parse_bool(s: Setting, text: str, current: object) -> object:
    lowered = text.lower()
    if lowered == "yes":
        if s.name in _ONLY_NO:
            raise _Invalid(_ONLY_NO[s.name])
        return True
    if lowered == "no":
        return False
    raise _Invalid("argument must be 'yes' or 'no'")


def _parse_enum(s: Setting, text: str, current: object) -> object:
    lowered = text.lower()
    if lowered in s.choices:
        return lowered
    raise _Invalid("argument(s) must be one of the following: " + ", ".join(s.choices))


def _parse_string(s: Setting, text: str, current: object) -> object:
    check = _STRING_CHECKS.get(s.name)
    if check is not None:
        check(text)
    return text


def _parse_float(s: Setting, text: str, current: object) -> object:
    try:
        value = float(text)
    except ValueError:
        raise _Invalid("argument couldn't be parsed into a float") from None
    if s.minimum is not None and s.maximum is not None and not s.minimum <= value <= s.maximum:
        raise _Invalid(f"argument must be between {s.minimum} and {s.maximum} inclusive")
    return value


def _parse_bind(s: Setting, text: str, current: object) -> object:
    words = _words(text)
    if len(words) > 16:
        raise _Invalid("Too many bind addresses specified.")
    return tuple(words)


def _words(text: str) -> list[str]:
    """Redis splits a multi-word CONFIG SET value on single spaces; one empty word means none."""
    words = text.split(" ")
    return [] if words == [""] else words


def _parse_unixsocketperm(s: Setting, text: str, current: object) -> object:
    # strtoll(value, 8): optional blanks and sign, then octal digits (none at all is 0).
    m = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?)([0-7]*)", text)
    if m is None:
        raise _Invalid("argument couldn't be parsed as an octal number")
    value = int(m.group(2) or "0", 8) * (-1 if m.group(1) == "-" else 1)
    return _check_range(s, value & ULLONG_MAX if value < 0 else value)


def _parse_dir(s: Setting, text: str, current: object) -> object:
    if not text:
        raise _Invalid(os.strerror(errno_mod.ENOENT))
    path = os.path.abspath(text)
    if not os.path.isdir(path):
        code = errno_mod.ENOTDIR if os.path.exists(path) else errno_mod.ENOENT
        raise _Invalid(os.strerror(code))
    return path


def _parse_save(s: Setting, text: str, current: object) -> object:
    words = _words(text)
    if len(words) % 2:
        raise _Invalid("Invalid save parameters")
    pairs: list[tuple[int, int]] = []
    for i in range(0, len(words), 2):
        seconds, changes = _strtoll(words[i]), _strtoll(words[i + 1])
        if seconds is None or changes is None or seconds < 1 or changes < 0:
            raise _Invalid("Invalid save parameters")
        pairs.append((seconds, changes))
    return tuple(pairs)


def _strtoll(text: str) -> int | None:
    """C ``strtoll(text, &end, 10)`` requiring ``*end == '\\0'``; ``None`` if refused.

    As in C, leading blanks and a sign are allowed, the empty string is 0 and huge values
    saturate.
    """
    m = re.fullmatch(r"[ \t\n\v\f\r]*([+-]?[0-9]+)", text)
    if m is None:
        return 0 if text == "" else None
    return max(-(2**63), min(LLONG_MAX, int(m.group(1))))


_CLIENT_CLASSES = {"normal": "normal", "slave": "replica", "replica": "replica", "pubsub": "pubsub"}
_CLASS_ORDER = ("normal", "replica", "pubsub")


def _parse_obuf(s: Setting, text: str, current: object) -> object:
    words = _words(text)
    if len(words) % 4:
        raise _Invalid("Wrong number of arguments in buffer limit configuration.")
    limits: dict[str, BufferLimit] = dict(current) if isinstance(current, Mapping) else {}
    updates: dict[str, BufferLimit] = {}
    for i in range(0, len(words), 4):
        klass = _CLIENT_CLASSES.get(words[i].lower())
        if klass is None:
            raise _Invalid("Invalid client class specified in buffer limit configuration.")
        try:
            hard, soft = parse_memory(words[i + 1]), parse_memory(words[i + 2])
        except ValueError:
            hard = soft = -1
        seconds = _strtoll(words[i + 3])
        if hard < 0 or seconds is None or seconds < 0:
            raise _Invalid(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
            )
        updates[klass] = BufferLimit(hard, soft, seconds)
    limits.update(updates)
    return {k: limits[k] for k in _CLASS_ORDER if k in limits}


def _parse_replicaof(s: Setting, text: str, current: object) -> object:
    words = _words(text)
    if not words:
        return None
    if len(words) != 2:
        raise _Invalid("wrong number of arguments")
    host, port_text = words
    if host.lower() == "no" and port_text.lower() == "one":
        return None
    port = _strtoll(port_text)
    if port is None or not 0 <= port <= 65535:
        raise _Invalid("Invalid master port")
    return (host, port)


# Keyspace notification classes (notify.c). 'A' is an alias for g$lshzxetd.
_NOTIFY_ALL = frozenset("g$lshzxetd")
_NOTIFY_CHARS = frozenset("g$lshzxeKEtmdn")


def _parse_notify(s: Setting, text: str, current: object) -> object:
    flags: set[str] = set()
    for ch in text:
        if ch == "A":
            flags |= _NOTIFY_ALL
        elif ch in _NOTIFY_CHARS:
            flags.add(ch)
        else:
            raise _Invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    return frozenset(flags)


# The same rule as respcache.coordination.state.NODE_ID_RE (config imports no layer above it).
_CLUSTER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _check_cluster_name(text: str) -> None:
    if not _CLUSTER_NAME_RE.fullmatch(text):
        raise _Invalid(
            "cluster-name must be 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def _check_zookeeper(text: str) -> None:
    hosts, slash, chroot = text.partition("/")
    if text and (not hosts or (slash and (chroot.endswith("/") or "//" in "/" + chroot))):
        raise _Invalid("zookeeper must be host:port[,host:port...][/chroot]")


# The same rule as respcache.coordination.state.NODE_ID_RE.
_NODE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def _check_node_id(text: str) -> None:
    if text and not _NODE_ID_RE.fullmatch(text):
        raise _Invalid(
            "node-id must be 1 to 64 letters, digits, '.', '_', ':' or '-', "
            "starting with a letter or digit"
        )


def _check_zk_auth(text: str) -> None:
    if text and ":" not in text:
        raise _Invalid("zk-auth must be user:password")


def _parse_percentiles(s: Setting, text: str, current: object) -> object:
    words = text.split(" ")
    if words == [""]:
        return ()
    out: list[float] = []
    for word in words:
        value = _string2d(word)
        if value is None:
            raise _Invalid("Invalid latency-tracking-info-percentiles parameters")
        if not 0.0 <= value <= 100.0:
            raise _Invalid(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
            )
        out.append(value)
    return tuple(out)


def _string2d(text: str) -> float | None:
    """Redis's ``string2d``: strtod of the whole string, no leading space, no NaN."""
    if not text or text[0].isspace():
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return None if value != value else value


def _parse_oom_values(s: Setting, text: str, current: object) -> object:
    words = text.split(" ")
    if len(words) != 3:
        raise _Invalid("wrong number of arguments")
    values = []
    for word in words:
        value = _strtoll(word)
        if value is None or not -2000 <= value <= 2000:
            raise _Invalid("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
        values.append(value)
    return tuple(values)


_SHUTDOWN_FLAGS = ("default", "save", "nosave", "now", "force")


def _parse_shutdown_flags(s: Setting, text: str, current: object) -> object:
    flags: set[str] = set()
    for word in text.split(" "):
        lowered = word.lower()
        if lowered not in _SHUTDOWN_FLAGS:
            raise _Invalid(
                "argument(s) must be one of the following: " + ", ".join(_SHUTDOWN_FLAGS)
            )
        if lowered != "default":
            flags.add(lowered)
    if {"save", "nosave"} <= flags:
        raise _Invalid("shutdown options SAVE and NOSAVE can't be used simultaneously")
    return frozenset(flags)


def _parse_maxmemory_clients(s: Setting, text: str, current: object) -> object:
    """A memory value, or a percentage of maxmemory (``10%``, stored negated as in Redis)."""
    try:
        return parse_memory(text)
    except ValueError:
        pass
    if len(text) > 1 and text.endswith("%") and _LL_RE.fullmatch(text[:-1]):
        value = int(text[:-1])
        if value > 100:
            raise _Invalid("percentage argument must be less or equal to 100")
        return -value
    raise _Invalid("argument must be a memory or percent value")


# Booleans whose "yes" respcache cannot honour: refused rather than silently ignored.
_ONLY_NO = {
    "daemonize": "respcache does not daemonize; run it under a service manager",
    "syslog-enabled": "respcache does not log to syslog; use logfile",
    "cluster-enabled": "Redis Cluster is not supported; respcache clusters through ZooKeeper",
}
def _check_dbfilename(text: str) -> None:
    if os.path.basename(text) != text or text in ("", ".", ".."):
        raise _Invalid("dbfilename can't be a path, just a filename")


_STRING_CHECKS: dict[str, Callable[[str], None]] = {
    "dbfilename": _check_dbfilename,
    "cluster-name": _check_cluster_name,
    "zookeeper": _check_zookeeper,
    "node-id": _check_node_id,
    "zk-auth": _check_zk_auth,
}

_Parser = Callable[[Setting, str, object], object]
_PARSERS: dict[str, _Parser] = {
    "int": _parse_int,
    "memory": _parse_memory_setting,
    "bool": _parse_bool,
    "enum": _parse_enum,
    "string": _parse_string,
    "float": _parse_float,
    "list": _parse_bind,
}
_SPECIAL_PARSERS: dict[str, _Parser] = {
    "unixsocketperm": _parse_unixsocketperm,
    "dir": _parse_dir,
    "save": _parse_save,
    "client-output-buffer-limit": _parse_obuf,
    "replicaof": _parse_replicaof,
    "notify-keyspace-events": _parse_notify,
    "latency-tracking-info-percentiles": _parse_percentiles,
    "oom-score-adj-values": _parse_oom_values,
    "shutdown-on-sigint": _parse_shutdown_flags,
    "shutdown-on-sigterm": _parse_shutdown_flags,
    "maxmemory-clients": _parse_maxmemory_clients,
}

# Applied after a value is accepted, as Redis's apply functions do: out of range is capped,
# not refused (hz to 1..500, repl-backlog-size to at least 16kb).
_NORMALIZE: dict[str, Callable[[object], object]] = {
    "hz": lambda v: max(1, min(500, v)) if isinstance(v, int) else v,
    "repl-backlog-size": lambda v: max(16 * 1024, v) if isinstance(v, int) else v,
}


def _parse(s: Setting, text: str, current: object) -> object:
    parser = _SPECIAL_PARSERS[s.name] if s.kind == "special" else _PARSERS[s.kind]
    value = parser(s, text, current)
    normalize = _NORMALIZE.get(s.name)
    return normalize(value) if normalize else value


# --------------------------------------------------------------------------------------
# Rendering: CONFIG GET text and CONFIG REWRITE lines
# --------------------------------------------------------------------------------------


def _notify_to_string(flags: frozenset[str]) -> str:
    """``keyspaceEventsFlagsToString``: 'A' when all of g$lshzxetd, then K, E, m."""
    out = "A" if flags >= _NOTIFY_ALL else "".join(c for c in "g$lshzxetdn" if c in flags)
    return out + "".join(c for c in "KEm" if c in flags)


def _render(s: Setting, value: object) -> str:
    """The CONFIG GET text of ``value`` (memory in bytes, yes/no, space-separated lists)."""
    if s.kind == "bool":
        return "yes" if value else "no"
    if s.name == "unixsocketperm":
        assert isinstance(value, int)
        return f"{value:o}"
    if s.name == "save":
        assert isinstance(value, tuple)
        return " ".join(f"{sec} {chg}" for sec, chg in value)
    if s.name == "client-output-buffer-limit":
        assert isinstance(value, Mapping)
        return " ".join(
            f"{'slave' if k == 'replica' else k} {v.hard} {v.soft} {v.soft_seconds}"
            for k, v in value.items()
        )
    if s.name == "replicaof":
        if value is None:
            return ""
        assert isinstance(value, tuple)
        return f"{value[0]} {value[1]}"
    if s.name == "notify-keyspace-events":
        assert isinstance(value, frozenset)
        return _notify_to_string(value)
    if s.name == "latency-tracking-info-percentiles":
        assert isinstance(value, tuple)
        return " ".join(_trim_double(v) for v in value)
    if s.name == "oom-score-adj-values":
        assert isinstance(value, tuple)
        return " ".join(map(str, value))
    if s.name in ("shutdown-on-sigint", "shutdown-on-sigterm"):
        assert isinstance(value, frozenset)
        return " ".join(f for f in _SHUTDOWN_FLAGS if f in value) or "default"
    if s.name == "maxmemory-clients":
        assert isinstance(value, int)
        return f"{-value}%" if value < 0 else str(value)
    if s.name == "oom-score-adj" and value == "relative":
        return "yes"  # configEnumGetName: the first name with that value
    if s.kind == "list":
        assert isinstance(value, tuple)
        return " ".join(value)
    if s.kind == "float":
        assert isinstance(value, float)
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    return str(value)


def _trim_double(value: float) -> str:
    """``%f`` then ``trimDoubleString``: trailing zeros and a trailing dot dropped."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_memory(value: int) -> str:
    """``rewriteConfigFormatMemory``: 1gb, 512mb, 64kb when exact, else plain bytes."""
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def quote(text: str) -> str:
    """``sdscatrepr``: a double-quoted string that :func:`split_args` reads back."""
    out = ['"']
    for byte in text.encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        if ch in _REPR_ESCAPES:
            out.append(_REPR_ESCAPES[ch])
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    out.append('"')
    return "".join(out)


_REPR_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\a": "\\a",
    "\b": "\\b",
}


def _rewrite_lines(s: Setting, value: object) -> tuple[list[str], bool]:
    """Lines CONFIG REWRITE writes for ``s`` and whether they are forced (non-default).

    An empty list with ``force`` False means "mark as processed": lines for the option
    in the old file are blanked (Redis does this for unset strings, default bind and
    replicaof none).
    """
    default = _default_value(s)
    name = s.name
    if s.kind == "memory":
        assert isinstance(value, int)
        return [f"{name} {format_memory(value)}"], value != default
    if s.kind == "string":
        assert isinstance(value, str)
        if value == "" and default == "":
            return [], False
        return [f"{name} {quote(value)}"], value != default
    if s.kind == "list":  # bind
        if value == default:
            return [], False
        return [f"{name} {_render(s, value) or quote('')}"], True
    if name == "dir":
        return [f"{name} {quote(str(value))}"], True
    if name == "save":
        assert isinstance(value, tuple)
        if not value:
            return [f'{name} ""'], True
        return [f"{name} {sec} {chg}" for sec, chg in value], True
    if name == "client-output-buffer-limit":
        assert isinstance(value, Mapping) and isinstance(default, Mapping)
        lines = []
        for klass in _CLASS_ORDER:
            lim = value[klass]
            lines.append(
                f"{name} {klass} {format_memory(lim.hard)} {format_memory(lim.soft)} {lim.soft_seconds}"
            )
        # Forced per class (a class differing from its default): decided by the caller.
        return lines, False
    if name == "replicaof":
        if value is None:
            return [], False
        return [f"{name} {_render(s, value)}"], True
    if name == "notify-keyspace-events":
        assert isinstance(value, frozenset)
        return [f"{name} {quote(_notify_to_string(value))}"], bool(value)
    return [f"{name} {_render(s, value)}"], value != default


_DEFAULTS: dict[str, object] = {}


def _default_value(s: Setting) -> object:
    if s.name == "dir":
        return os.path.abspath(".")
    if s.name not in _DEFAULTS:
        _DEFAULTS[s.name] = _parse(s, s.default, None)
    return _DEFAULTS[s.name]


# --------------------------------------------------------------------------------------
# redis.conf syntax
# --------------------------------------------------------------------------------------

