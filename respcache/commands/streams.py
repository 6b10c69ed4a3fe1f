"""Stream commands and consumer groups (Redis 7.0's ``stream`` group).

Follows Redis 7.0.15 ``src/t_stream.c`` (argument parsing, replies, errors, what is
propagated) and ``src/blocked.c`` (serving blocked XREAD/XREADGROUP). The value and
its node structure live in :mod:`respcache.store.stream`.

What Redis does and this module mirrors, beyond the replies:

* Notifications and modification signals are per command as in Redis: XADD, XDEL,
  XTRIM signal the key (WATCH, blocked clients); XGROUP/XSETID/XACK/XCLAIM only
  notify and dirty the dataset; XGROUP DESTROY also wakes blocked readers.
* Propagation: XADD is replicated with the ID it generated and ``MAXLEN|MINID ~ n``
  rewritten as ``= <what was kept>``; XREADGROUP, XCLAIM and XAUTOCLAIM are never
  replicated as such but as ``XCLAIM key group consumer 0 id TIME t RETRYCOUNT n
  FORCE JUSTID LASTID id`` per entry, ``XGROUP SETID ... ENTRIESREAD n`` (NOACK)
  and ``XGROUP CREATECONSUMER`` (NOACK), as ``streamPropagateXCLAIM`` and friends,
  except that the ``XGROUP SETID`` follows every read that moved the group (Redis 7.0
  only sends it for NOACK; its replicas' ``entries-read`` falls behind otherwise).
  A command from the leader (``client.is_master``) trims without LIMIT.
* Blocking: XREAD/XREADGROUP with BLOCK return a ``Blocked`` whose ``state``
  (:class:`StreamWait`) remembers the ID each key waits after (``$`` resolved
  when blocking). When a key is signalled the engine runs the command again;
  that run serves only from the ready key (``serveClientsBlockedOnStreamKey``), answers ``-NOGROUP`` when the
  group was destroyed and ``-UNBLOCKED`` when an XREADGROUP's key was deleted or
  overwritten, and otherwise keeps waiting. Waiters of a stream are served each on
  its own (one that cannot be served does not hold back the next). Inside MULTI
  (``client.in_exec``, which scripts are expected to set as well) a blocking read
  answers at once as if it timed out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from respcache.commands.args import parse_int
from respcache.commands.blocking import Blocked
from respcache.commands.client import Client
from respcache.commands.keys import COPIERS
from respcache.commands.registry import command
from respcache.errors import NO_SUCH_KEY, NOT_INTEGER, SYNTAX, WRONGTYPE, CommandError, wrong_arity
from respcache.protocol.types import NULL_ARRAY, OK, Reply
from respcache.store.keyspace import Database
from respcache.store.stream import (
    INVALID_ENTRIES_READ,
    MASK64,
    MAX_ID,
    Consumer,
    ConsumerGroup,
    Nack,
    StreamValue,
    format_id,
    make_id,
)

INVALID_ID: Final = "ERR Invalid stream ID specified as stream command argument"
XREAD_BLOCKED_DEFAULT_COUNT: Final = 1000
_U64: Final = MASK64

__all__ = ["StreamValue", "StreamWait"]


# --- IDs -----------------------------------------------------------------------------------


def _string2ull(text: bytes) -> int | None:
    """Redis's string2ull: canonical integers, else what C ``strtoull`` accepts in full."""
    try:
        v = parse_int(text)
    except CommandError:
        v = None
    if v is not None:
        return None if v < 0 else v
    s = text.lstrip(b" \t\n\v\f\r")
    negative = False
    if s[:1] in (b"+", b"-"):
        negative = s[:1] == b"-"
        s = s[1:]
    if not s or not s.isdigit() or not s.isascii():
        return None
    v = int(s)
    if v > _U64:
        return None
    return (-v) & _U64 if negative else v


def parse_id(
    arg: bytes, missing_seq: int = 0, strict: bool = False, seq_star: bool = False
) -> tuple[int, bool]:
    """streamGenericParseIDOrReply: (ID, seq_given). ``seq_star`` accepts ``<ms>-*``."""
    if len(arg) > 127:
        raise CommandError(INVALID_ID)
    if arg in (b"-", b"+"):
        if strict:
            raise CommandError(INVALID_ID)
        return (0 if arg == b"-" else MAX_ID), True
    ms_part, dash, seq_part = arg.partition(b"-")
    ms = _string2ull(ms_part.split(b"\0", 1)[0])
    if ms is None:
        raise CommandError(INVALID_ID)
    if not dash:
        return make_id(ms, missing_seq), True
    if seq_star and seq_part == b"*":
        return make_id(ms, 0), False
    seq = _string2ull(seq_part.split(b"\0", 1)[0])
    if seq is None:
        raise CommandError(INVALID_ID)
    return make_id(ms, seq), True


def _strict_id(arg: bytes) -> int:
    return parse_id(arg, 0, strict=True)[0]


def _interval_id(arg: bytes, missing_seq: int) -> tuple[int, bool]:
    """streamParseIntervalIDOrReply: an ID with an optional ``(`` (exclusive) prefix."""
    if len(arg) > 1 and arg[:1] == b"(":
        return parse_id(arg[1:], missing_seq, strict=True)[0], True
    return parse_id(arg, missing_seq)[0], False


def _incr(sid: int) -> int | None:
    return None if sid == MAX_ID else sid + 1


def _decr(sid: int) -> int | None:
    return None if sid == 0 else sid - 1


def _range_bounds(start_arg: bytes, end_arg: bytes) -> tuple[int, int]:
    start, startex = _interval_id(start_arg, 0)
    if startex:
        nxt = _incr(start)
        if nxt is None:
            raise CommandError("ERR invalid start ID for the interval")
        start = nxt
    end, endex = _interval_id(end_arg, _U64)
    if endex:
        prev = _decr(end)
        if prev is None:
            raise CommandError("ERR invalid end ID for the interval")
        end = prev
    return start, end


# --- helpers ---------------------------------------------------------------------------------


def _get_stream(db: Database, key: bytes, write: bool = False) -> StreamValue | None:
    value = db.lookup_write(key) if write else db.lookup(key)
    if value is None or type(value) is StreamValue:
        return value
    raise CommandError(WRONGTYPE)


def _entry(sid: int, item: tuple[bytes, ...]) -> list[Reply]:
    return [format_id(sid), list(item)]


def _notify(c: Client, event: bytes, key: bytes) -> None:
    hook = c.engine.notify_hook
    if hook is not None:
        hook("t", event, c.db.id, key)


def _dirty(c: Client, n: int = 1) -> None:
    """server.dirty++ without signalModifiedKey (group commands, as in Redis)."""
    c.engine.dirty += n


def _wake(c: Client, key: bytes) -> None:
    """signalKeyAsReady without signalModifiedKey (XGROUP DESTROY)."""
    c.engine.blocked_clients.key_ready(c.db.id, key)


class _Sized:
    """Report a stream's change of ``nbytes`` to the keyspace (``Database.grow``)."""

    __slots__ = ("before", "db", "s")

    def __init__(self, db: Database, s: StreamValue) -> None:
        self.db = db
        self.s = s
        self.before = s.nbytes

    def done(self) -> None:
        s = self.s
        delta = s.nbytes - self.before
        if delta:
            s.nbytes = self.before
            self.db.grow(s, delta)
        self.before = s.nbytes


def _now(c: Client) -> int:
    return c.engine.keyspace.now_ms


def _subcommand_syntax(argv: list[bytes]) -> CommandError:
    sub = argv[1].decode("utf-8", "surrogateescape")[:128]
    return CommandError(
        f"ERR unknown subcommand or wrong number of arguments for '{sub}'. "
        f"Try {argv[0].decode('utf-8', 'surrogateescape').upper()} HELP."
    )


def _help(name: str, lines: tuple[str, ...]) -> Reply:
    return [
        f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        *lines,
        "HELP",
        "    Prints this help.",
    ]


# --- XADD / XTRIM ------------------------------------------------------------------------------


@dataclass
class _TrimArgs:
    id: int = 0
    id_given: bool = False
    seq_given: bool = True
    no_mkstream: bool = False
    strategy: str = ""  # "", "maxlen" or "minid"
    arg_idx: int = 0
    approx: bool = False
    limit: int = 0
    maxlen: int = 0
    minid: int = 0


def _parse_add_trim(c: Client, argv: list[bytes], xadd: bool) -> tuple[_TrimArgs, int]:
    """streamParseAddOrTrimArgsOrReply: the options and the ID's position (XADD)."""
    args = _TrimArgs()
    i = 2
    limit_given = False
    argc = len(argv)
    while i < argc:
        moreargs = argc - 1 - i
        opt = argv[i]
        low = opt.lower()
        if xadd and opt == b"*":
            break
        if low in (b"maxlen", b"minid") and moreargs:
            if args.strategy:
                raise CommandError(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
                )
            args.approx = False
            nxt = argv[i + 1]
            if moreargs >= 2 and nxt == b"~":
                args.approx = True
                i += 1
            elif moreargs >= 2 and nxt == b"=":
                i += 1
            if low == b"maxlen":
                args.maxlen = parse_int(argv[i + 1])
                if args.maxlen < 0:
                    raise CommandError("ERR The MAXLEN argument must be >= 0.")
            else:
                args.minid = _strict_id(argv[i + 1])
            i += 1
            args.strategy = low.decode()
            args.arg_idx = i
        elif low == b"limit" and moreargs:
            args.limit = parse_int(argv[i + 1])
            if args.limit < 0:
                raise CommandError("ERR The LIMIT argument must be >= 0.")
            limit_given = True
            i += 1
        elif xadd and low == b"nomkstream":
            args.no_mkstream = True
        elif xadd:
            args.id, args.seq_given = parse_id(opt, 0, strict=True, seq_star=True)
            args.id_given = True
            break
        else:
            raise CommandError(SYNTAX)
        i += 1
    if args.limit and not args.strategy:
        raise CommandError(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
        )
    if not xadd and not args.strategy:
        raise CommandError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if c.is_master:
        args.limit = 0
    elif limit_given:
        if not args.approx:
            raise CommandError(
                "ERR syntax error, LIMIT cannot be used without the special ~ option"
            )
    elif args.approx:
        limit = 100 * c.engine.config.stream_node_max_entries
        if limit <= 0:
            limit = 10000
        args.limit = min(limit, 1000000)
    else:
        args.limit = 0
    return args, i


def _trim(s: StreamValue, args: _TrimArgs) -> int:
    if args.strategy == "maxlen":
        return s.trim(maxlen=args.maxlen, approx=args.approx, limit=args.limit)
    return s.trim(minid=args.minid, approx=args.approx, limit=args.limit)


def _rewrite_trim(s: StreamValue, args: _TrimArgs, out: list[bytes]) -> None:
    """streamRewriteApproxSpecifier + streamRewriteTrimArgument."""
    out[args.arg_idx - 1] = b"="
    if args.strategy == "maxlen":
        out[args.arg_idx] = b"%d" % s.length
    else:
        out[args.arg_idx] = format_id(s.first_id_any())


def _next_id(last: int, now_ms: int) -> int:
    """streamNextID."""
    last_ms = last >> 64
    if now_ms > last_ms:
        return make_id(now_ms, 0)
    return last + 1


@command(
    "xadd",
    arity=-5,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="stream",
    summary="Appends a new entry to a stream",
    since="5.0.0",
    complexity="O(1) when adding a new entry, O(N) when trimming where N being the number of "
    "entries evicted.",
    acl="@write @stream @fast",
)
def xadd(c: Client, argv: list[bytes]) -> Reply:
    args, idpos = _parse_add_trim(c, argv, xadd=True)
    field_pos = idpos + 1
    nfields = len(argv) - field_pos
    if nfields < 2 or nfields % 2:
        raise wrong_arity("xadd")
    if args.id_given and args.seq_given and args.id == 0:
        raise CommandError("ERR The ID specified in XADD must be greater than 0-0")
    db = c.db
    key = argv[1]
    s = _get_stream(db, key, write=True)
    created = s is None
    if s is None:
        if args.no_mkstream:
            return None
        s = StreamValue()
    if s.last_id == MAX_ID:
        raise CommandError(
            "ERR The stream has exhausted the last possible ID, unable to add more items"
        )
    if not args.id_given:
        sid = _next_id(s.last_id, _now(c))
    elif args.seq_given:
        sid = args.id
    elif (s.last_id >> 64) == (args.id >> 64):
        if s.last_id & _U64 == _U64:
            # streamAppendItem fails without setting errno: Redis reports ERANGE's text.
            raise CommandError("ERR Elements are too large to be stored")
        sid = s.last_id + 1
    else:
        sid = args.id
    if sid <= s.last_id:
        raise CommandError(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        )
    pairs = argv[field_pos:]
    if sum(len(p) for p in pairs) > 1 << 30:
        raise CommandError("ERR Elements are too large to be stored")
    config = c.engine.config
    sized = None if created else _Sized(db, s)
    s.append(sid, pairs, config.stream_node_max_bytes, config.stream_node_max_entries)
    if created:
        db.set(key, s)
        hook = c.engine.notify_hook
        if hook is not None:
            hook("n", b"new", db.id, key)
    reply_id = format_id(sid)
    c.modified(key, b"xadd", "t")
    out = list(argv)
    if args.strategy:
        before = s.nbytes
        if _trim(s, args):
            _notify(c, b"xtrim", key)
        if created and s.nbytes != before:
            delta = s.nbytes - before
            s.nbytes = before
            db.grow(s, delta)
        if args.approx:
            _rewrite_trim(s, args, out)
    if sized is not None:
        sized.done()
    if not args.id_given or not args.seq_given:
        out[idpos] = reply_id
    c.propagate_as = [out]
    return reply_id


@command(
    "xtrim",
    arity=-4,
    flags="write",
    keys=(1, 1, 1),
    group="stream",
    summary="Deletes messages from the beginning of a stream.",
    since="5.0.0",
    complexity="O(N), with N being the number of evicted entries. Constant times are very small "
    "however, since entries are organized in macro nodes containing multiple entries that can be "
    "released with a single deallocation.",
    acl="@write @stream @slow",
)
def xtrim(c: Client, argv: list[bytes]) -> Reply:
    args, _ = _parse_add_trim(c, argv, xadd=False)
    db = c.db
    s = _get_stream(db, argv[1], write=True)
    if s is None:
        return 0
    sized = _Sized(db, s)
    deleted = _trim(s, args)
    sized.done()
    if deleted:
        _notify(c, b"xtrim", argv[1])
        if args.approx:
            out = list(argv)
            _rewrite_trim(s, args, out)
            c.propagate_as = [out]
        c.modified(argv[1])
        _dirty(c, deleted - 1)
    return deleted


# --- reading ---------------------------------------------------------------------------------


def _range_command(c: Client, argv: list[bytes], rev: bool) -> Reply:
    start, end = _range_bounds(argv[3], argv[2]) if rev else _range_bounds(argv[2], argv[3])
    count = -1
    j = 4
    while j < len(argv):
        if argv[j].lower() == b"count" and len(argv) - j - 1 >= 1:
            count = max(parse_int(argv[j + 1]), 0)
            j += 2
        else:
            raise CommandError(SYNTAX)
    s = _get_stream(c.db, argv[1])
    if s is None:
        return []
    if count == 0:
        return NULL_ARRAY
    out: list[Reply] = []
    for sid, item in s.range(start, end, rev):
        out.append(_entry(sid, item))
        if len(out) == count:
            break
    return out


@command(
    "xrange",
    arity=-4,
    flags="readonly",
    keys=(1, 1, 1),
    group="stream",
    summary="Return a range of elements in a stream, with IDs matching the specified IDs interval",
    since="5.0.0",
    complexity="O(N) with N being the number of elements being returned. If N is constant (e.g. "
    "always asking for the first 10 elements with COUNT), you can consider it O(1).",
    acl="@read @stream @slow",
)
def xrange(c: Client, argv: list[bytes]) -> Reply:
    return _range_command(c, argv, rev=False)


@command(
    "xrevrange",
    arity=-4,
    flags="readonly",
    keys=(1, 1, 1),
    group="stream",
    summary="Return a range of elements in a stream, with IDs matching the specified IDs "
    "interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
    since="5.0.0",
    complexity="O(N) with N being the number of elements returned. If N is constant (e.g. always "
    "asking for the first 10 elements with COUNT), you can consider it O(1).",
    acl="@read @stream @slow",
)
def xrevrange(c: Client, argv: list[bytes]) -> Reply:
    return _range_command(c, argv, rev=True)


@command(
    "xlen",
    arity=2,
    flags="readonly fast",
    keys=(1, 1, 1),
    group="stream",
    summary="Return the number of entries in a stream",
    since="5.0.0",
    complexity="O(1)",
    acl="@read @stream @fast",
)
def xlen(c: Client, argv: list[bytes]) -> Reply:
    s = _get_stream(c.db, argv[1])
    return 0 if s is None else s.length


@command(
    "xdel",
    arity=-3,
    flags="write fast",
    keys=(1, 1, 1),
    group="stream",
    summary="Removes the specified entries from the stream. Returns the number of items actually "
    "deleted, that may be different from the number of IDs passed in case certain IDs do not "
    "exist.",
    since="5.0.0",
    complexity="O(1) for each single item to delete in the stream, regardless of the stream size.",
    acl="@write @stream @fast",
)
def xdel(c: Client, argv: list[bytes]) -> Reply:
    db = c.db
    s = _get_stream(db, argv[1], write=True)
    if s is None:
        return 0
    ids = [_strict_id(a) for a in argv[2:]]
    sized = _Sized(db, s)
    deleted = 0
    first_entry = False
    for sid in ids:
        if s.delete(sid):
            if sid == s.first_id:
                first_entry = True
            if sid > s.max_deleted_id:
                s.max_deleted_id = sid
            deleted += 1
    if deleted:
        s.after_delete(first_entry)
        sized.done()
        c.modified(argv[1], b"xdel", "t")
        _dirty(c, deleted - 1)
    return deleted


# --- XREAD / XREADGROUP ----------------------------------------------------------------------------


@dataclass
class StreamWait:
    """A blocked XREAD/XREADGROUP's state (``Blocked.state``): the ID each key waits
    after, and the read's options (``c->bpop`` in Redis)."""

    ids: dict[bytes, int] = field(default_factory=dict)
    count: int = XREAD_BLOCKED_DEFAULT_COUNT
    group: bytes | None = None
    consumer: bytes = b""
    noack: bool = False


@dataclass
class _ReadArgs:
    timeout: int = -1
    count: int = 0
    noack: bool = False
    group: bytes | None = None
    consumer: bytes = b""
    keys: list[bytes] = field(default_factory=list)
    id_args: list[bytes] = field(default_factory=list)


def _parse_read(argv: list[bytes], xreadgroup: bool) -> _ReadArgs:
    args = _ReadArgs()
    argc = len(argv)
    streams_arg = 0
    i = 1
    while i < argc:
        moreargs = argc - i - 1
        low = argv[i].lower()
        if low == b"block" and moreargs:
            i += 1
            args.timeout = parse_int(argv[i], "ERR timeout is not an integer or out of range")
            if args.timeout < 0:
                raise CommandError("ERR timeout is negative")
        elif low == b"count" and moreargs:
            i += 1
            args.count = max(parse_int(argv[i]), 0)
        elif low == b"streams" and moreargs:
            streams_arg = i + 1
            n = argc - streams_arg
            if n % 2:
                raise CommandError(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' "
                    "must be specified."
                )
            half = n // 2
            args.keys = argv[streams_arg : streams_arg + half]
            args.id_args = argv[streams_arg + half :]
            break
        elif low == b"group" and moreargs >= 2:
            if not xreadgroup:
                raise CommandError(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD "
                    "instead."
                )
            args.group = argv[i + 1]
            args.consumer = argv[i + 2]
            i += 2
        elif low == b"noack":
            if not xreadgroup:
                raise CommandError(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD "
                    "instead."
                )
            args.noack = True
        else:
            raise CommandError(SYNTAX)
        i += 1
    if not streams_arg:
        raise CommandError(SYNTAX)
    if xreadgroup and args.group is None:
        raise CommandError("ERR Missing GROUP option for XREADGROUP")
    return args


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _get_consumer(
    c: Client,
    s: StreamValue,
    group: ConsumerGroup,
    name: bytes,
    key: bytes,
    noack: bool,
    props: list[list[bytes]],
) -> Consumer:
    """streamLookupConsumer (refreshing seen-time) or streamCreateConsumer."""
    consumer = group.consumers.get(name)
    now = _now(c)
    if consumer is not None:
        consumer.seen_time = now
        return consumer
    consumer = s.create_consumer(group, name, now)
    assert consumer is not None
    _dirty(c)
    _notify(c, b"xgroup-createconsumer", key)
    if noack:
        props.append([b"XGROUP", b"CREATECONSUMER", key, group.name, name])
    return consumer


def _xclaim_prop(key: bytes, group: ConsumerGroup, sid: int, nack: Nack) -> list[bytes]:
    """streamPropagateXCLAIM."""
    assert nack.consumer is not None
    return [
        b"XCLAIM",
        key,
        group.name,
        nack.consumer.name,
        b"0",
        format_id(sid),
        b"TIME",
        b"%d" % nack.delivery_time,
        b"RETRYCOUNT",
        b"%d" % nack.delivery_count,
        b"FORCE",
        b"JUSTID",
        b"LASTID",
        format_id(group.last_id),
    ]


def _setid_prop(key: bytes, group: ConsumerGroup) -> list[bytes]:
    """streamPropagateGroupID."""
    return [
        b"XGROUP",
        b"SETID",
        key,
        group.name,
        format_id(group.last_id),
        b"ENTRIESREAD",
        b"%d" % group.entries_read,
    ]


def _serve_group(
    c: Client,
    key: bytes,
    s: StreamValue,
    group: ConsumerGroup,
    consumer: Consumer,
    start: int,
    count: int,
    noack: bool,
    props: list[list[bytes]],
) -> list[Reply]:
    """streamReplyWithRange with a group: deliver new entries, fill the PELs.

    One deliberate difference in what is propagated: Redis 7.0 sends ``XGROUP SETID
    ... ENTRIESREAD`` only for NOACK reads, so its replicas keep a stale
    ``entries-read`` (and lag) after ordinary reads, whose XCLAIMs carry only LASTID.
    It is sent here after every read that moved the group, so followers match.
    """
    out: list[Reply] = []
    propagate_last_id = False
    now = _now(c)
    entries = []
    for sid, item in s.range(start, MAX_ID):
        entries.append((sid, item))
        if count and len(entries) == count:
            break
    for sid, item in entries:
        if sid > group.last_id:
            s.deliver(group, sid)
            propagate_last_id = True
        out.append(_entry(sid, item))
        if not noack:
            nack = group.pel.get(sid)
            if nack is None:
                nack = Nack(consumer, now)
                s.add_pending(group, sid, nack)
            else:
                s.move_pending(sid, nack, consumer)
                nack.delivery_time = now
                nack.delivery_count = 1
            props.append(_xclaim_prop(key, group, sid, nack))
    if propagate_last_id:
        props.append(_setid_prop(key, group))
    return out


def _serve_history(
    c: Client, s: StreamValue, consumer: Consumer, start: int, count: int
) -> list[Reply]:
    """streamReplyWithRangeFromConsumerPEL."""
    out: list[Reply] = []
    now = _now(c)
    for sid in consumer.pel.from_id(start):
        if count and len(out) >= count:
            break
        item = s.get(sid)
        if item is None:
            out.append([format_id(sid), NULL_ARRAY])
        else:
            out.append(_entry(sid, item))
            nack = consumer.pel.by_id[sid]
            nack.delivery_time = now
            nack.delivery_count += 1
    return out


def _read_reply(c: Client, parts: list[tuple[bytes, list[Reply]]]) -> Reply:
    if c.resp == 2:
        return [[k, v] for k, v in parts]
    return dict(parts)


def _xread(c: Client, argv: list[bytes], xreadgroup: bool) -> Reply | Blocked:
    blocked = c.blocked
    if (
        blocked is not None
        and isinstance(blocked.state, StreamWait)
        and c.engine.blocked_clients.serving_key is not None
    ):
        return _serve_blocked(c, blocked.state, c.engine.blocked_clients.serving_key)
    args = _parse_read(argv, xreadgroup)
    db = c.db
    gts: list[int] = []
    groups: list[ConsumerGroup | None] = []
    for key, id_arg in zip(args.keys, args.id_args, strict=True):
        s = _get_stream(db, key)
        group = None
        if args.group is not None:
            group = None if s is None else s.groups.get(args.group)
            if group is None:
                raise CommandError(
                    f"NOGROUP No such key '{_text(key)}' or consumer group "
                    f"'{_text(args.group)}' in XREADGROUP with GROUP option"
                )
        groups.append(group)
        if id_arg == b"$":
            if xreadgroup:
                raise CommandError(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read "
                    "the history of this consumer by specifying a proper ID, or use the > ID to "
                    "get new messages. The $ ID would just return an empty result set."
                )
            gts.append(0 if s is None else s.last_id)
        elif id_arg == b">":
            if not xreadgroup:
                raise CommandError(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
                    "<group> <consumer> option."
                )
            gts.append(MAX_ID)
        else:
            gts.append(_strict_id(id_arg))
    parts: list[tuple[bytes, list[Reply]]] = []
    props: list[list[bytes]] = []
    for i, key in enumerate(args.keys):
        s = _get_stream(db, key)
        if s is None:
            continue
        gt = gts[i]
        group = groups[i]
        serve = history = False
        if group is not None:
            if gt != MAX_ID:
                serve = history = True
            elif s.length and s.last_valid_id() > group.last_id:
                serve = True
                gt = group.last_id
        elif s.length and s.last_valid_id() > gt:
            serve = True
        if not serve:
            continue
        start = gt + 1
        if group is None:
            entries: list[Reply] = []
            for sid, item in s.range(start, MAX_ID):
                entries.append(_entry(sid, item))
                if len(entries) == args.count:
                    break
        else:
            sized = _Sized(db, s)
            consumer = _get_consumer(c, s, group, args.consumer, key, args.noack, props)
            if history:
                entries = _serve_history(c, s, consumer, start, args.count)
            else:
                entries = _serve_group(
                    c, key, s, group, consumer, start, args.count, args.noack, props
                )
            sized.done()
            _dirty(c)
        parts.append((key, entries))
    c.propagate_as = props
    if parts:
        return _read_reply(c, parts)
    if args.timeout != -1:
        if c.in_exec:
            return NULL_ARRAY
        wait = StreamWait(
            ids={k: gts[i] for i, k in reversed(list(enumerate(args.keys)))},
            count=args.count or XREAD_BLOCKED_DEFAULT_COUNT,
            group=args.group,
            consumer=args.consumer,
            noack=args.noack,
        )
        return Blocked(
            list(dict.fromkeys(args.keys)), args.timeout / 1000.0, serve_each=True, state=wait
        )
    return NULL_ARRAY


def _serve_blocked(c: Client, blocked: StreamWait, key: bytes) -> Reply | Blocked:
    """serveClientsBlockedOnStreamKey / unblockDeletedStreamReadgroupClients for one waiter."""
    db = c.db
    value = db.peek(key)
    wait = Blocked([key], 0)
    if type(value) is not StreamValue:
        if blocked.group is not None:
            raise CommandError("UNBLOCKED the stream key no longer exists")
        return wait
    s = value
    group = None
    if blocked.group is not None:
        group = s.groups.get(blocked.group)
        if group is None:
            raise CommandError(
                "NOGROUP the consumer group this client was blocked on no longer exists"
            )
        blocked.ids[key] = group.last_id
    gt = blocked.ids.get(key, 0)
    if not s.last_id > gt:
        return wait
    props: list[list[bytes]] = []
    if group is None:
        entries: list[Reply] = []
        for sid, item in s.range(gt + 1, MAX_ID):
            entries.append(_entry(sid, item))
            if len(entries) == blocked.count:
                break
    else:
        sized = _Sized(db, s)
        consumer = _get_consumer(c, s, group, blocked.consumer, key, blocked.noack, props)
        entries = _serve_group(
            c, key, s, group, consumer, gt + 1, blocked.count, blocked.noack, props
        )
        sized.done()
        _dirty(c)
    c.propagate_as = props
    return _read_reply(c, [(key, entries)])


@command(
    "xread",
    arity=-4,
    flags="readonly blocking movablekeys",
    group="stream",
    summary="Return never seen elements in multiple streams, with IDs greater than the ones "
    "reported by the caller for each stream. Can block.",
    since="5.0.0",
    complexity="For each stream mentioned: O(N) with N being the number of elements being "
    "returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK "
    "option is used, XADD will pay O(M) time in order to serve the M clients blocked on the "
    "stream getting new data.",
    acl="@read @stream @slow @blocking",
)
def xread(c: Client, argv: list[bytes]) -> Reply | Blocked:
    return _xread(c, argv, xreadgroup=False)


@command(
    "xreadgroup",
    arity=-7,
    flags="write blocking movablekeys",
    group="stream",
    summary="Return new entries from a stream using a consumer group, or access the history of "
    "the pending entries for a given consumer. Can block.",
    since="5.0.0",
    complexity="For each stream mentioned: O(M) with M being the number of elements returned. If "
    "M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it "
    "O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to "
    "serve the N clients blocked on the stream getting new data.",
    acl="@write @stream @slow @blocking",
)
def xreadgroup(c: Client, argv: list[bytes]) -> Reply | Blocked:
    return _xread(c, argv, xreadgroup=True)


# --- XGROUP ------------------------------------------------------------------------------------

_XGROUP_HELP: Final = (
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
)


def _xgroup(c: Client, argv: list[bytes]) -> Reply:
    """xgroupCommand: the common checks, then the subcommand."""
    argc = len(argv)
    opt = argv[1].lower()
    mkstream = False
    entries_read = INVALID_ENTRIES_READ
    db = c.db
    s: StreamValue | None = None
    group: ConsumerGroup | None = None
    key = argv[2]
    name = argv[3]
    i = 5
    while i < argc:
        low = argv[i].lower()
        if opt == b"create" and low == b"mkstream":
            mkstream = True
            i += 1
        elif opt in (b"create", b"setid") and low == b"entriesread" and i + 1 < argc:
            entries_read = parse_int(argv[i + 1])
            if entries_read < 0 and entries_read != INVALID_ENTRIES_READ:
                raise CommandError("ERR value for ENTRIESREAD must be positive or -1")
            i += 2
        else:
            raise _subcommand_syntax(argv)
    s = _get_stream(db, key, write=True)
    if not mkstream:
        if s is None:
            raise CommandError(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you "
                "may want to use the MKSTREAM option to create an empty stream automatically."
            )
        group = s.groups.get(name)
        if group is None and opt in (b"setid", b"createconsumer", b"delconsumer"):
            raise CommandError(
                f"NOGROUP No such consumer group '{_text(name)}' for key name '{_text(key)}'"
            )
    if opt == b"create" and 5 <= argc <= 8:
        sid = (0 if s is None else s.last_id) if argv[4] == b"$" else _strict_id(argv[4])
        if s is None:
            s = StreamValue()
            db.set(key, s)
            hook = c.engine.notify_hook
            if hook is not None:
                hook("n", b"new", db.id, key)
            c.modified(key)
        sized = _Sized(db, s)
        created = s.create_group(name, sid, entries_read)
        sized.done()
        if created is None:
            raise CommandError("BUSYGROUP Consumer Group name already exists")
        _dirty(c)
        _notify(c, b"xgroup-create", key)
        return OK
    if s is None:  # MKSTREAM with too many arguments
        raise _subcommand_syntax(argv)
    if opt == b"setid" and argc in (5, 7):
        assert group is not None
        sid = s.last_id if argv[4] == b"$" else parse_id(argv[4])[0]
        group.last_id = sid
        group.entries_read = entries_read
        _dirty(c)
        _notify(c, b"xgroup-setid", key)
        return OK
    if opt == b"destroy" and argc == 4:
        if group is None:
            return 0
        sized = _Sized(db, s)
        s.destroy_group(name)
        sized.done()
        _dirty(c)
        _notify(c, b"xgroup-destroy", key)
        _wake(c, key)
        return 1
    if opt == b"createconsumer" and argc == 5:
        assert group is not None
        sized = _Sized(db, s)
        consumer = s.create_consumer(group, argv[4], _now(c))
        sized.done()
        if consumer is None:
            return 0
        _dirty(c)
        _notify(c, b"xgroup-createconsumer", key)
        return 1
    if opt == b"delconsumer" and argc == 5:
        assert group is not None
        found = group.consumers.get(argv[4])
        if found is None:
            return 0
        sized = _Sized(db, s)
        pending = s.delete_consumer(group, found)
        sized.done()
        _dirty(c)
        _notify(c, b"xgroup-delconsumer", key)
        return pending
    raise _subcommand_syntax(argv)


@command(
    "xgroup|create",
    arity=-5,
    flags="write denyoom",
    keys=(2, 2, 1),
    group="stream",
    summary="Create a consumer group.",
    since="5.0.0",
    complexity="O(1)",
    acl="@write @stream @slow",
)
def xgroup_create(c: Client, argv: list[bytes]) -> Reply:
    return _xgroup(c, argv)


@command(
    "xgroup|setid",
    arity=-5,
    flags="write",
    keys=(2, 2, 1),
    group="stream",
    summary="Set a consumer group to an arbitrary last delivered ID value.",
    since="5.0.0",
    complexity="O(1)",
    acl="@write @stream @slow",
)
def xgroup_setid(c: Client, argv: list[bytes]) -> Reply:
    return _xgroup(c, argv)


@command(
    "xgroup|destroy",
    arity=4,
    flags="write",
    keys=(2, 2, 1),
    group="stream",
    summary="Destroy a consumer group.",
    since="5.0.0",
    complexity="O(N) where N is the number of entries in the group's pending entries list (PEL).",
    acl="@write @stream @slow",
)
def xgroup_destroy(c: Client, argv: list[bytes]) -> Reply:
    return _xgroup(c, argv)


@command(
    "xgroup|createconsumer",
    arity=5,
    flags="write denyoom",
    keys=(2, 2, 1),
    group="stream",
    summary="Create a consumer in a consumer group.",
    since="6.2.0",
    complexity="O(1)",
    acl="@write @stream @slow",
)
def xgroup_createconsumer(c: Client, argv: list[bytes]) -> Reply:
    return _xgroup(c, argv)


@command(
    "xgroup|delconsumer",
    arity=5,
    flags="write",
    keys=(2, 2, 1),
    group="stream",
    summary="Delete a consumer from a consumer group.",
    since="5.0.0",
    complexity="O(1)",
    acl="@write @stream @slow",
)
def xgroup_delconsumer(c: Client, argv: list[bytes]) -> Reply:
    return _xgroup(c, argv)


@command(
    "xgroup|help",
    arity=2,
    flags="loading stale",
    group="stream",
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
    acl="@stream @slow",
)
def xgroup_help(c: Client, argv: list[bytes]) -> Reply:
    return _help("XGROUP", _XGROUP_HELP)


# --- XSETID / XACK / XPENDING -----------------------------------------------------------------------


@command(
    "xsetid",
    arity=-3,
    flags="write denyoom fast",
    keys=(1, 1, 1),
    group="stream",
    summary="An internal command for replicating stream values",
    since="5.0.0",
    complexity="O(1)",
    acl="@write @stream @fast",
)
def xsetid(c: Client, argv: list[bytes]) -> Reply:
    sid = _strict_id(argv[2])
    entries_added = -1
    max_xdel = 0
    i = 3
    argc = len(argv)
    while i < argc:
        moreargs = argc - 1 - i
        low = argv[i].lower()
        if low == b"entriesadded" and moreargs:
            entries_added = parse_int(argv[i + 1])
            if entries_added < 0:
                raise CommandError("ERR entries_added must be positive")
            i += 2
        elif low == b"maxdeletedid" and moreargs:
            max_xdel = _strict_id(argv[i + 1])
            if sid < max_xdel:
                raise CommandError(
                    "ERR The ID specified in XSETID is smaller than the provided "
                    "max_deleted_entry_id"
                )
            i += 2
        else:
            raise CommandError(SYNTAX)
    value = c.db.lookup_write(argv[1])
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    if type(value) is not StreamValue:
        raise CommandError(WRONGTYPE)
    s = value
    if s.length > 0:
        if sid < s.last_valid_id():
            raise CommandError(
                "ERR The ID specified in XSETID is smaller than the target stream top item"
            )
        if entries_added != -1 and s.length > entries_added:
            raise CommandError(
                "ERR The entries_added specified in XSETID is smaller than the target stream length"
            )
    s.last_id = sid
    if entries_added != -1:
        s.entries_added = entries_added
    if max_xdel:
        s.max_deleted_id = max_xdel
    _dirty(c)
    _notify(c, b"xsetid", argv[1])
    return OK


@command(
    "xack",
    arity=-4,
    flags="write fast",
    keys=(1, 1, 1),
    group="stream",
    summary="Marks a pending message as correctly processed, effectively removing it from the "
    "pending entries list of the consumer group. Return value of the command is the number of "
    "messages successfully acknowledged, that is, the IDs we were actually able to resolve in the "
    "PEL.",
    since="5.0.0",
    complexity="O(1) for each message ID processed.",
    acl="@write @stream @fast",
)
def xack(c: Client, argv: list[bytes]) -> Reply:
    db = c.db
    s = _get_stream(db, argv[1])
    group = None if s is None else s.groups.get(argv[2])
    if s is None or group is None:
        return 0
    ids = [_strict_id(a) for a in argv[3:]]
    sized = _Sized(db, s)
    acked = 0
    for sid in ids:
        if s.remove_pending(group, sid):
            acked += 1
    sized.done()
    if acked:
        _dirty(c, acked)
    return acked


@command(
    "xpending",
    arity=-3,
    flags="readonly",
    keys=(1, 1, 1),
    group="stream",
    summary="Return information and entries from a stream consumer group pending entries list, "
    "that are messages fetched but never acknowledged.",
    since="5.0.0",
    complexity="O(N) with N being the number of elements returned, so asking for a small fixed "
    "number of entries per call is O(1). O(M), where M is the total number of entries scanned when "
    "used with the IDLE filter. When the command returns just the summary and the list of "
    "consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating "
    "every consumer.",
    acl="@read @stream @slow",
)
def xpending(c: Client, argv: list[bytes]) -> Reply:
    argc = len(argv)
    justinfo = argc == 3
    if argc != 3 and not 6 <= argc <= 9:
        raise CommandError(SYNTAX)
    count = 0
    minidle = 0
    start = end = 0
    consumer_name: bytes | None = None
    if argc >= 6:
        startidx = 3
        if argv[3].lower() == b"idle":
            minidle = parse_int(argv[4])
            if argc < 8:
                raise CommandError(SYNTAX)
            startidx += 2
        count = max(parse_int(argv[startidx + 2]), 0)
        start, end = _range_bounds(argv[startidx], argv[startidx + 1])
        if startidx + 3 < argc:
            consumer_name = argv[startidx + 3]
    s = _get_stream(c.db, argv[1])
    group = None if s is None else s.groups.get(argv[2])
    if s is None or group is None:
        raise CommandError(
            f"NOGROUP No such key '{_text(argv[1])}' or consumer group '{_text(argv[2])}'"
        )
    if justinfo:
        if not group.pel:
            return [0, None, None, NULL_ARRAY]
        consumers: list[Reply] = [
            [cons.name, b"%d" % len(cons.pel)] for cons in group.sorted_consumers() if cons.pel
        ]
        return [
            len(group.pel),
            format_id(group.pel.first()),
            format_id(group.pel.last()),
            consumers,
        ]
    pel = group.pel
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        pel = consumer.pel
    now = _now(c)
    out: list[Reply] = []
    for sid in pel.from_id(start):
        if not count or sid > end:
            break
        nack = pel.by_id[sid]
        if minidle and now - nack.delivery_time < minidle:
            continue
        count -= 1
        assert nack.consumer is not None
        out.append(
            [
                format_id(sid),
                nack.consumer.name,
                max(now - nack.delivery_time, 0),
                nack.delivery_count,
            ]
        )
    return out


# --- XCLAIM / XAUTOCLAIM -------------------------------------------------------------------------


def _claim_parse_int(arg: bytes, what: str) -> int:
    return parse_int(arg, f"ERR Invalid {what} argument for XCLAIM")


@command(
    "xclaim",
    arity=-6,
    flags="write fast",
    keys=(1, 1, 1),
    group="stream",
    summary="Changes (or acquires) ownership of a message in a consumer group, as if the message "
    "was delivered to the specified consumer.",
    since="5.0.0",
    complexity="O(log N) with N being the number of messages in the PEL of the consumer group.",
    acl="@write @stream @fast",
)
def xclaim(c: Client, argv: list[bytes]) -> Reply:
    db = c.db
    key = argv[1]
    s = _get_stream(db, key)
    group = None if s is None else s.groups.get(argv[2])
    if s is None or group is None:
        raise CommandError(
            f"NOGROUP No such key '{_text(key)}' or consumer group '{_text(argv[2])}'"
        )
    minidle = max(_claim_parse_int(argv[4], "min-idle-time"), 0)
    ids: list[int] = []
    id_args: list[bytes] = []
    j = 5
    argc = len(argv)
    while j < argc:
        try:
            ids.append(_strict_id(argv[j]))
        except CommandError:
            break
        id_args.append(argv[j])
        j += 1
    now = _now(c)
    retrycount = -1
    deliverytime = -1
    force = justid = False
    last_id = 0
    while j < argc:
        moreargs = argc - 1 - j
        low = argv[j].lower()
        if low == b"force":
            force = True
        elif low == b"justid":
            justid = True
        elif low == b"idle" and moreargs:
            j += 1
            deliverytime = now - _claim_parse_int(argv[j], "IDLE option")
        elif low == b"time" and moreargs:
            j += 1
            deliverytime = _claim_parse_int(argv[j], "TIME option")
        elif low == b"retrycount" and moreargs:
            j += 1
            retrycount = _claim_parse_int(argv[j], "RETRYCOUNT option")
        elif low == b"lastid" and moreargs:
            j += 1
            last_id = _strict_id(argv[j])
        else:
            raise CommandError(f"ERR Unrecognized XCLAIM option '{_text(argv[j])}'")
        j += 1
    props: list[list[bytes]] = []
    sized = _Sized(db, s)
    propagate_last_id = False
    if last_id > group.last_id:
        group.last_id = last_id
        propagate_last_id = True
    if deliverytime != -1:
        if deliverytime < 0 or deliverytime > now:
            deliverytime = now
    else:
        deliverytime = now
    consumer: Consumer | None = None
    out: list[Reply] = []
    for sid, id_arg in zip(ids, id_args, strict=True):
        nack = group.pel.get(sid)
        item = s.get(sid)
        if item is None:
            if nack is not None:
                props.append(_xclaim_prop_arg(key, group, id_arg, nack))
                propagate_last_id = False
                _dirty(c)
                s.remove_pending(group, sid)
            continue
        if force and nack is None:
            nack = Nack(None, now)
            s.add_pending(group, sid, nack)
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = _get_consumer(c, s, group, argv[3], key, False, props)
        s.move_pending(sid, nack, consumer)
        nack.delivery_time = deliverytime
        if retrycount >= 0:
            nack.delivery_count = retrycount
        elif not justid:
            nack.delivery_count += 1
        out.append(format_id(sid) if justid else _entry(sid, item))
        props.append(_xclaim_prop_arg(key, group, id_arg, nack))
        propagate_last_id = False
        _dirty(c)
    if propagate_last_id:
        props.append(_setid_prop(key, group))
        _dirty(c)
    sized.done()
    c.propagate_as = props
    return out


def _xclaim_prop_arg(key: bytes, group: ConsumerGroup, id_arg: bytes, nack: Nack) -> list[bytes]:
    """streamPropagateXCLAIM with the ID argument as the client wrote it."""
    prop = _xclaim_prop(key, group, 0, nack)
    prop[5] = id_arg
    return prop


_AUTOCLAIM_MAX_COUNT: Final = (2**63 - 1) // 16


@command(
    "xautoclaim",
    arity=-6,
    flags="write fast",
    keys=(1, 1, 1),
    group="stream",
    summary="Changes (or acquires) ownership of messages in a consumer group, as if the messages "
    "were delivered to the specified consumer.",
    since="6.2.0",
    complexity="O(1) if COUNT is small.",
    acl="@write @stream @fast",
)
def xautoclaim(c: Client, argv: list[bytes]) -> Reply:
    db = c.db
    key = argv[1]
    minidle = max(parse_int(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM"), 0)
    start, startex = _interval_id(argv[5], 0)
    if startex:
        nxt = _incr(start)
        if nxt is None:
            raise CommandError("ERR invalid start ID for the interval")
        start = nxt
    count = 100
    justid = False
    j = 6
    argc = len(argv)
    while j < argc:
        moreargs = argc - 1 - j
        low = argv[j].lower()
        if low == b"count" and moreargs:
            count = parse_int(argv[j + 1], "ERR COUNT must be > 0")
            if not 1 <= count <= _AUTOCLAIM_MAX_COUNT:
                raise CommandError("ERR COUNT must be > 0")
            j += 1
        elif low == b"justid":
            justid = True
        else:
            raise CommandError(SYNTAX)
        j += 1
    s = _get_stream(db, key)
    group = None if s is None else s.groups.get(argv[2])
    if s is None or group is None:
        raise CommandError(
            f"NOGROUP No such key '{_text(key)}' or consumer group '{_text(argv[2])}'"
        )
    attempts = count * 10
    now = _now(c)
    consumer: Consumer | None = None
    out: list[Reply] = []
    deleted: list[Reply] = []
    props: list[list[bytes]] = []
    sized = _Sized(db, s)
    order = group.pel.from_id(start)
    next_id = 0
    for sid in order:
        if not attempts or not count:
            next_id = sid
            break
        attempts -= 1
        nack = group.pel.by_id[sid]
        item = s.get(sid)
        if item is None:
            props.append(_xclaim_prop(key, group, sid, nack))
            _dirty(c)
            s.remove_pending(group, sid)
            deleted.append(format_id(sid))
            count -= 1
            continue
        if minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = _get_consumer(c, s, group, argv[3], key, False, props)
        s.move_pending(sid, nack, consumer)
        nack.delivery_time = now
        if not justid:
            nack.delivery_count += 1
        out.append(format_id(sid) if justid else _entry(sid, item))
        count -= 1
        props.append(_xclaim_prop(key, group, sid, nack))
        _dirty(c)
    else:
        next_id = 0
    sized.done()
    c.propagate_as = props
    return [format_id(next_id), out, deleted]


# --- XINFO -----------------------------------------------------------------------------------------

_XINFO_HELP: Final = (
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
)


def _xinfo_stream_value(c: Client, argv: list[bytes]) -> StreamValue:
    value = c.db.lookup(argv[2])
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    if type(value) is not StreamValue:
        raise CommandError(WRONGTYPE)
    return value


def _first_last(s: StreamValue, rev: bool) -> Reply:
    entry = s.last_entry() if rev else s.first_entry()
    return None if entry is None else _entry(*entry)


def stream_info(s: StreamValue, full: bool, count: int) -> dict[Reply, Reply]:
    """XINFO STREAM's map (``count`` 0 = everything, for FULL)."""
    info: dict[Reply, Reply] = {
        b"length": s.length,
        b"radix-tree-keys": len(s.nodes),
        b"radix-tree-nodes": s.radix_tree_nodes(),
        b"last-generated-id": format_id(s.last_id),
        b"max-deleted-entry-id": format_id(s.max_deleted_id),
        b"entries-added": s.entries_added,
        b"recorded-first-entry-id": format_id(s.first_id),
    }
    if not full:
        info[b"groups"] = len(s.groups)
        info[b"first-entry"] = _first_last(s, False)
        info[b"last-entry"] = _first_last(s, True)
        return info
    entries: list[Reply] = []
    for sid, item in s.range(0, MAX_ID):
        entries.append(_entry(sid, item))
        if count and len(entries) == count:
            break
    info[b"entries"] = entries
    groups: list[Reply] = []
    for group in s.sorted_groups():
        pending: list[Reply] = []
        for sid in group.pel.order:
            if count and len(pending) >= count:
                break
            nack = group.pel.by_id[sid]
            assert nack.consumer is not None
            pending.append(
                [format_id(sid), nack.consumer.name, nack.delivery_time, nack.delivery_count]
            )
        consumers: list[Reply] = []
        for consumer in group.sorted_consumers():
            cpending: list[Reply] = []
            for sid in consumer.pel.order:
                if count and len(cpending) >= count:
                    break
                nack = consumer.pel.by_id[sid]
                cpending.append([format_id(sid), nack.delivery_time, nack.delivery_count])
            consumers.append(
                {
                    b"name": consumer.name,
                    b"seen-time": consumer.seen_time,
                    b"pel-count": len(consumer.pel),
                    b"pending": cpending,
                }
            )
        groups.append(
            {
                b"name": group.name,
                b"last-delivered-id": format_id(group.last_id),
                b"entries-read": None
                if group.entries_read == INVALID_ENTRIES_READ
                else group.entries_read,
                b"lag": s.lag(group),
                b"pel-count": len(group.pel),
                b"pending": pending,
                b"consumers": consumers,
            }
        )
    info[b"groups"] = groups
    return info


@command(
    "xinfo|stream",
    arity=-3,
    flags="readonly",
    keys=(2, 2, 1),
    group="stream",
    summary="Get information about a stream",
    since="5.0.0",
    complexity="O(1)",
    acl="@read @stream @slow",
)
def xinfo_stream(c: Client, argv: list[bytes]) -> Reply:
    s = _xinfo_stream_value(c, argv)
    opts = argv[3:]
    full = False
    count = 10
    if opts:
        if len(opts) not in (1, 3) or opts[0].lower() != b"full":
            raise _subcommand_syntax(argv)
        full = True
        if len(opts) == 3:
            if opts[1].lower() != b"count":
                raise _subcommand_syntax(argv)
            count = parse_int(opts[2])
            if count < 0:
                count = 10
    return stream_info(s, full, count)


@command(
    "xinfo|groups",
    arity=3,
    flags="readonly",
    keys=(2, 2, 1),
    group="stream",
    summary="List the consumer groups of a stream",
    since="5.0.0",
    complexity="O(1)",
    acl="@read @stream @slow",
)
def xinfo_groups(c: Client, argv: list[bytes]) -> Reply:
    s = _xinfo_stream_value(c, argv)
    out: list[Reply] = []
    for group in s.sorted_groups():
        out.append(
            {
                b"name": group.name,
                b"consumers": len(group.consumers),
                b"pending": len(group.pel),
                b"last-delivered-id": format_id(group.last_id),
                b"entries-read": None
                if group.entries_read == INVALID_ENTRIES_READ
                else group.entries_read,
                b"lag": s.lag(group),
            }
        )
    return out


@command(
    "xinfo|consumers",
    arity=4,
    flags="readonly",
    keys=(2, 2, 1),
    group="stream",
    summary="List the consumers in a consumer group",
    since="5.0.0",
    complexity="O(1)",
    acl="@read @stream @slow",
)
def xinfo_consumers(c: Client, argv: list[bytes]) -> Reply:
    s = _xinfo_stream_value(c, argv)
    group = s.groups.get(argv[3])
    if group is None:
        raise CommandError(
            f"NOGROUP No such consumer group '{_text(argv[3])}' for key name '{_text(argv[2])}'"
        )
    now = _now(c)
    return [
        {
            b"name": consumer.name,
            b"pending": len(consumer.pel),
            b"idle": max(now - consumer.seen_time, 0),
        }
        for consumer in group.sorted_consumers()
    ]


@command(
    "xinfo|help",
    arity=2,
    flags="loading stale",
    group="stream",
    summary="Show helpful text about the different subcommands",
    since="5.0.0",
    complexity="O(1)",
    acl="@stream @slow",
)
def xinfo_help(c: Client, argv: list[bytes]) -> Reply:
    return _help("XINFO", _XINFO_HELP)


# --- COPY -------------------------------------------------------------------------------------------


def _copy_stream(value: object) -> object:
    assert isinstance(value, StreamValue)
    return value.copy()


COPIERS[StreamValue] = _copy_stream
_ = NOT_INTEGER  # (the generic integer error is the parse_int default)
