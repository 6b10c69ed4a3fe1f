"""DEBUG subcommands that clients, test suites and tooling use (Redis 7.0.15 ``debug.c``).

``SET-ACTIVE-EXPIRE``, ``PAUSE-CRON``, ``PROTOCOL`` (every RESP3 type, byte for byte), ``ERROR``,
``CHANGE-REPL-ID``, ``STRINGMATCH-TEST``, ``QUICKLIST-PACKED-THRESHOLD``, ``LISTPACK``,
``QUICKLIST`` and ``POPULATE``; ``SLEEP``, ``OBJECT``, ``DIGEST`` and ``DIGEST-VALUE`` live
beside the DEBUG command itself (``server.py``, ``digest.py``).

respcache stores no listpacks or quicklists: ``DEBUG LISTPACK``/``QUICKLIST`` check the
key's reported encoding as Redis does, log a description of the value (Redis prints the
structure on stdout) and answer Redis's status text. ``QUICKLIST-PACKED-THRESHOLD`` is
validated and kept (shown by ``DEBUG QUICKLIST``); respcache's lists have no plain nodes
for it to change.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from respcache.commands.args import parse_int
from respcache.commands.introspection import OrderedSet
from respcache.commands.registry import Handler
from respcache.config import parse_memory, stringmatch
from respcache.errors import CommandError
from respcache.protocol.types import OK, BigNumber, Push, Raw, Reply, Verbatim

if TYPE_CHECKING:
    from respcache.commands.client import Client

__all__ = ["PROTOCOL_TYPES", "SUBCOMMANDS", "dispatch"]

log = logging.getLogger("respcache.debug")

_NO_SUCH_KEY: Final = "ERR no such key"


SUBCOMMANDS: dict[bytes, tuple[Handler, int, int]] = {}
"""Lower-case name -> (handler, least and most argument count, DEBUG included). The DEBUG
handler (``server.py``) dispatches here; like Redis's, they are not separate entries of
the command table (COMMAND INFO DEBUG lists no subcommands for them)."""


def _debug(name: str, arity: int, summary: str) -> Callable[[Handler], Handler]:
    """Register a DEBUG subcommand; ``arity`` as in the command table (negative: at least)."""

    def register(handler: Handler) -> Handler:
        most = arity if arity > 0 else 1 << 30
        SUBCOMMANDS[name.encode()] = (handler, abs(arity), most)
        return handler

    return register


def dispatch(c: Client, argv: list[bytes]) -> Reply | None:
    """Run a DEBUG subcommand of this module; None when ``argv`` names none of them."""
    entry = SUBCOMMANDS.get(argv[1].lower())
    if entry is None:
        return None
    handler, least, most = entry
    if not least <= len(argv) <= most:
        raise _wrong(argv)
    reply: Reply = handler(c, argv)
    return reply


def _wrong(argv: list[bytes]) -> CommandError:
    name = argv[1].decode("utf-8", "surrogateescape")
    return CommandError(
        f"ERR unknown subcommand or wrong number of arguments for '{name}'. Try DEBUG HELP."
    )


@_debug("set-disable-deny-scripts", 3, "Let scripts call commands flagged noscript")
def debug_set_disable_deny_scripts(c: Client, argv: list[bytes]) -> Reply:
    """``atoi`` as Redis: non-zero lets redis.call run ``noscript`` commands (for tests)."""
    from respcache.commands.scripting import scripting_state

    scripting_state(c.engine).disable_deny_scripts = _atoi(argv[2]) != 0
    return OK


@_debug("set-active-expire", 3, "Enable or disable the active expiry cycle")
def debug_set_active_expire(c: Client, argv: list[bytes]) -> Reply:
    """``atoi``: any text, 0 disables the background expiry (lazy expiry goes on)."""
    c.engine.active_expire = _atoi(argv[2]) != 0
    return OK


@_debug("pause-cron", 3, "Pause or resume the server cron")
def debug_pause_cron(c: Client, argv: list[bytes]) -> Reply:
    c.engine.cron_paused = _atoi(argv[2]) != 0
    return OK


def _atoi(arg: bytes) -> int:
    text = arg.lstrip(b" \t\n\v\f\r")
    sign = -1 if text[:1] == b"-" else 1
    if text[:1] in (b"-", b"+"):
        text = text[1:]
    digits = b""
    for ch in text:
        if not 48 <= ch <= 57:
            break
        digits += bytes([ch])
    return sign * int(digits or b"0")


PROTOCOL_TYPES: Final = (
    "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
)


@_debug("protocol", 3, "Reply with a sample of every RESP3 type")
def debug_protocol(c: Client, argv: list[bytes]) -> Reply:
    name = argv[2].lower()
    if name == b"string":
        return b"Hello World"
    if name == b"integer":
        return 12345
    if name == b"double":
        return 3.141
    if name == b"bignum":
        return BigNumber(1234567999999999999999999999999999999)
    if name == b"null":
        return None
    if name == b"array":
        return [0, 1, 2]
    if name == b"set":
        return OrderedSet([0, 1, 2])
    if name == b"map":
        return {0: False, 1: True, 2: False}
    if name == b"attrib":
        follow = b"Some real reply following the attribute"
        bulk = b"$%d\r\n%s\r\n" % (len(follow), follow)
        if c.resp == 3:
            return Raw(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n" + bulk)
        return follow
    if name == b"push":
        if c.resp < 3:
            raise CommandError("ERR RESP2 is not supported by this command")
        c.push(Push([b"server-cpu-usage", 42]))
        return b"Some real reply following the push reply"
    if name == b"true":
        return True
    if name == b"false":
        return False
    if name == b"verbatim":
        return Verbatim(b"This is a verbatim\nstring")
    raise CommandError(
        f"ERR Wrong protocol type name. Please use one of the following: {PROTOCOL_TYPES}"
    )


@_debug("error", 3, "Reply with the given error")
def debug_error(c: Client, argv: list[bytes]) -> Reply:
    text = argv[2].replace(b"\n", b" ").replace(b"\r", b" ")
    return Raw(b"-" + text + b"\r\n")


@_debug("change-repl-id", 2, "Change the replication id")
def debug_change_repl_id(c: Client, argv: list[bytes]) -> Reply:
    control = c.engine.replication
    if control is None:
        raise CommandError("ERR replication is not running in this process")
    control.change_replication_id()
    return OK


@_debug("stringmatch-test", 2, "Fuzz-test the glob matcher")
def debug_stringmatch_test(c: Client, argv: list[bytes]) -> Reply:
    """``stringmatchlen_fuzz_test``: random patterns against random strings, for crashes."""
    rng = random.Random()
    alphabet = "*?[]^-\\ab"
    for _ in range(1000):
        pattern = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 32)))
        string = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 32)))
        stringmatch(pattern, string)
        stringmatch(pattern, string, nocase=True)
    return "Apparently Redis did not crash: test passed"


_PACKED_THRESHOLD_DEFAULT: Final = 1 << 30
packed_threshold = _PACKED_THRESHOLD_DEFAULT
"""DEBUG QUICKLIST-PACKED-THRESHOLD's value (process-wide, like quicklist.c's)."""


@_debug("quicklist-packed-threshold", 3, "Set the quicklist plain-node threshold")
def debug_quicklist_packed_threshold(c: Client, argv: list[bytes]) -> Reply:
    global packed_threshold
    try:
        size = parse_memory(argv[2].decode("utf-8", "surrogateescape"))
    except ValueError:
        size = -1
    if size < 0 or size > (1 << 32) - (1 << 20):
        raise CommandError("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
    packed_threshold = size or _PACKED_THRESHOLD_DEFAULT
    return OK


@_debug("listpack", 3, "Describe a listpack-encoded value")
def debug_listpack(c: Client, argv: list[bytes]) -> Reply:
    from respcache.commands.keys import object_encoding

    value = c.db.peek(argv[2])
    if value is None:
        raise CommandError(_NO_SUCH_KEY)
    if object_encoding(c, argv[2], value) != "listpack":
        raise CommandError("ERR Not a listpack encoded object.")
    log.warning("DEBUG LISTPACK %r: %d entries, %r", argv[2], len(value), value)  # type: ignore[arg-type]
    return "Listpack structure printed on stdout"


@_debug("quicklist", -3, "Describe a quicklist-encoded value")
def debug_quicklist(c: Client, argv: list[bytes]) -> Reply:
    from respcache.commands.keys import object_encoding

    if len(argv) > 4:
        raise _wrong(argv)
    value = c.db.peek(argv[2])
    if value is None:
        raise CommandError(_NO_SUCH_KEY)
    if object_encoding(c, argv[2], value) != "quicklist":
        raise CommandError("ERR Not a quicklist encoded object.")
    full = len(argv) == 4 and _atoi(argv[3]) != 0
    log.warning(
        "DEBUG QUICKLIST %r: %d elements, packed threshold %d%s",
        argv[2],
        len(value),  # type: ignore[arg-type]
        packed_threshold,
        f", {list(value)!r}" if full else "",  # type: ignore[call-overload]
    )
    return "Quicklist structure printed on stdout"


@_debug("populate", -3, "Create keys with sample values")
def debug_populate(c: Client, argv: list[bytes]) -> Reply:
    """``DEBUG POPULATE count [prefix] [size]``: key:N = value:N (padded or cut to size),
    skipping keys that exist."""
    if len(argv) > 5:
        raise _wrong(argv)
    error = "ERR value is out of range, must be positive"
    count = parse_int(argv[2])
    if count < 0:
        raise CommandError(error)
    size = 0
    if len(argv) == 5:
        size = parse_int(argv[4])
        if size < 0:
            raise CommandError(error)
    prefix = argv[3] if len(argv) >= 4 else b"key"
    db = c.db
    for j in range(count):
        key = b"%s:%d" % (prefix, j)
        if db.lookup_write(key) is not None:
            continue
        value = b"value:%d" % j
        if size:
            value = value[:size].ljust(size, b"\0")
        db.set(key, value)
        c.modified(key)
    return OK
