"""Building blocks for the differential tests: commands as data, grouped by data type.

A :class:`Group` maps command names to hypothesis strategies that produce
:class:`Cmd` objects (an argv plus how to compare the two servers' replies).
``test_differential.py`` collects every ``GROUP`` defined in a ``gen_*.py``
module of this folder, so adding a data type is adding one file::

    # tests/differential/gen_hash.py
    from generators import Group, build, fields, keys, unordered, values

    GROUP = Group("hash", {
        "hset": build("hset", keys(), pairs(fields(), values(), min_size=1)),
        "hgetall": build("hgetall", keys(), compare=unordered_pairs),
        ...
    })

Keys come from a small alphabet (:data:`KEYS`) so that commands collide on the
same keys, across groups too (``WRONGTYPE``). Strategies return ``bytes`` or
``list[bytes]``; :func:`build` flattens them into one argv after the command
name (whose letter case is drawn at random: Redis ignores it).

Only what is legitimately random or time-dependent is normalized: see the
comparators (:func:`exact`, :func:`unordered`, :func:`ttl_close`,
:func:`both_nil_or_not`). Relative expiries are long (>= 100 s) so that no key
expires between the two servers' executions; absolute ones are either in the
past (the key is deleted at once, on both) or far in the future.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from support import Reply

Comparator = Callable[[Reply, Reply], bool]
Part = st.SearchStrategy[bytes] | st.SearchStrategy[list[bytes]] | bytes


# --- comparators -------------------------------------------------------------------------


def exact(redis: Reply, ours: Reply) -> bool:
    """Byte-for-byte the same reply."""
    return redis == ours


def _sorted(reply: Reply) -> Reply:
    if reply.kind in ("*", "~") and reply.value is not None:
        return Reply(reply.kind, sorted(reply.value, key=repr))
    return reply


def unordered(redis: Reply, ours: Reply) -> bool:
    """The same array up to the order of its elements (KEYS, SMEMBERS...)."""
    return _sorted(redis) == _sorted(ours)


def scan_unordered(redis: Reply, ours: Reply) -> bool:
    """SCAN replies: the same cursor, and the same keys in any order."""
    if redis.kind != "*" or ours.kind != "*" or len(redis.value) != 2 or len(ours.value) != 2:
        return redis == ours
    return redis.value[0] == ours.value[0] and unordered(redis.value[1], ours.value[1])


def ttl_close(tolerance: int) -> Comparator:
    """TTL-like integers: negatives (-1, -2) exactly, others within ``tolerance``.

    The two servers run a command a few milliseconds apart, so a relative TTL
    may be rounded differently.
    """

    def compare(redis: Reply, ours: Reply) -> bool:
        if redis.kind != ":" or ours.kind != ":":
            return redis == ours
        a, b = int(redis.value), int(ours.value)
        if a < 0 or b < 0:
            return a == b
        return abs(a - b) <= tolerance

    compare.__name__ = f"ttl_close({tolerance})"
    return compare


def both_nil_or_not(redis: Reply, ours: Reply) -> bool:
    """For random choices (RANDOMKEY): the same kind, and nil on both or on neither."""
    if redis.is_error or ours.is_error:
        return redis == ours
    return redis.kind == ours.kind and (redis.value is None) == (ours.value is None)


# --- commands ------------------------------------------------------------------------------


def _show(arg: bytes) -> str:
    text = arg.decode("utf-8", "backslashreplace")
    if arg and all(33 <= c < 127 and c not in b"\"'\\" for c in arg):
        return text
    return '"' + arg.decode("latin-1").encode("unicode_escape").decode().replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Cmd:
    """One command to send to both servers, and how to compare their replies."""

    argv: tuple[bytes, ...]
    compare: Comparator = field(default=exact, compare=False)

    def __repr__(self) -> str:
        return " ".join(_show(a) for a in self.argv)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How hypothesis prints a failing step: the command line, as ``repr``."""
        printer.text(repr(self))

    @property
    def name(self) -> str:
        return self.argv[0].decode("latin-1").lower()


def _flatten(items: Sequence[bytes | list[bytes]]) -> tuple[bytes, ...]:
    out: list[bytes] = []
    for item in items:
        if isinstance(item, bytes):
            out.append(item)
        else:
            out.extend(item)
    return tuple(out)


def name_case(name: str) -> st.SearchStrategy[bytes]:
    """The command name in lower, upper or mixed case."""
    variants = {name.lower(), name.upper(), name[:1].upper() + name[1:].lower()}
    return st.sampled_from(sorted(variants)).map(str.encode)


COMPARATORS: dict[str, Comparator] = {}
"""The comparator :func:`build` was given for a command, used for its fuzzed variants too."""


def build(name: str, *parts: Part, compare: Comparator = exact) -> st.SearchStrategy[Cmd]:
    """``name`` followed by each part (a constant, or a strategy of bytes or list of bytes)."""
    if compare is not exact:
        COMPARATORS[name.lower()] = compare
    strategies: list[st.SearchStrategy[Any]] = [name_case(name)]
    for part in parts:
        strategies.append(st.just(part) if isinstance(part, bytes) else part)
    return st.tuples(*strategies).map(lambda items: Cmd(_flatten(items), compare))


def optional(
    part: st.SearchStrategy[bytes] | st.SearchStrategy[list[bytes]],
) -> st.SearchStrategy[list[bytes]]:
    """Zero or one occurrence of ``part``."""
    return st.one_of(st.just([]), part.map(lambda v: v if isinstance(v, list) else [v]))


def token(*words: str) -> st.SearchStrategy[bytes]:
    """One of the words, in random letter case (options are case-insensitive)."""
    variants = sorted({v for w in words for v in (w.lower(), w.upper(), w.title())})
    return st.sampled_from(variants).map(str.encode)


def seq(*parts: Part) -> st.SearchStrategy[list[bytes]]:
    """Several parts as one list (an option with its argument: ``EX 100``)."""
    strategies = [st.just(p) if isinstance(p, bytes) else p for p in parts]
    return st.tuples(*strategies).map(lambda items: list(_flatten(items)))


def options(
    choices: Sequence[st.SearchStrategy[list[bytes]]], max_count: int = 3
) -> st.SearchStrategy[list[bytes]]:
    """Up to ``max_count`` options, any order, repeats and conflicts included."""
    return st.lists(st.one_of(*choices), max_size=max_count).map(
        lambda groups: [arg for group in groups for arg in group]
    )


def repeat(part: Part, min_size: int = 0, max_size: int = 4) -> st.SearchStrategy[list[bytes]]:
    strategy = st.just(part) if isinstance(part, bytes) else part
    return st.lists(strategy, min_size=min_size, max_size=max_size).map(
        lambda items: list(_flatten(items))
    )


# --- arguments -------------------------------------------------------------------------------

KEYS: tuple[bytes, ...] = (b"k1", b"k2", b"k3", b"{k}4")
"""The key alphabet: few keys, so that commands meet on the same keys."""


def keys() -> st.SearchStrategy[bytes]:
    return st.sampled_from(KEYS)


INTERESTING_VALUES: tuple[bytes, ...] = (
    b"",
    b"0",
    b"1",
    b"-1",
    b"10",
    b"007",
    b"+1",
    b" 1",
    b"1 ",
    b"0x10",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",
    b"3.14",
    b"-0.5",
    b"1e3",
    b"1.5e308",
    b"inf",
    b"-inf",
    b"nan",
    b"abc",
    b"hello world",
    b"\x00\xff\r\n",
    "héllo".encode(),
)


def values() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(INTERESTING_VALUES),
        st.integers(-1000, 1000).map(lambda n: str(n).encode()),
        st.binary(max_size=12),
        st.text(alphabet="abcxyz", max_size=10).map(str.encode),
    )


def integers(*extra: bytes) -> st.SearchStrategy[bytes]:
    """Integer arguments, with edge cases and a few that are not integers."""
    return st.one_of(
        st.integers(-20, 20).map(lambda n: str(n).encode()),
        st.sampled_from(
            (
                b"9223372036854775807",
                b"-9223372036854775808",
                b"9223372036854775808",
                b"1.0",
                b"abc",
                b"",
                b" 1",
                *extra,
            )
        ),
    )


def floats() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(
            (
                b"0",
                b"1",
                b"-1.5",
                b"0.1",
                b"3.0e3",
                b"1e-5",
                b"5.0e3000",
                b"inf",
                b"-inf",
                b"+inf",
                b"nan",
                b"abc",
                b"",
                b"1.7976931348623157e308",
                b"0x10",
                b" 1",
            )
        ),
        st.floats(allow_nan=False, allow_infinity=False, width=64).map(lambda f: repr(f).encode()),
        st.integers(-100, 100).map(lambda n: str(n).encode()),
    )


def seconds() -> st.SearchStrategy[bytes]:
    """Relative expiry in seconds: long enough not to expire during a test, or invalid."""
    return st.one_of(
        st.sampled_from((b"100", b"1000", b"86400", b"0", b"-1", b"-100", b"abc", b"1.5")),
        st.sampled_from((b"9223372036854775807", b"9223372036854776", b"4611686018427388")),
        st.integers(200, 10**6).map(lambda n: str(n).encode()),
    )


def milliseconds() -> st.SearchStrategy[bytes]:
    """Relative expiry in milliseconds (>= 100 s), or invalid."""
    return st.one_of(
        st.sampled_from((b"100000", b"86400000", b"0", b"-1", b"abc", b"9223372036854775807")),
        st.integers(200_000, 10**9).map(lambda n: str(n).encode()),
    )


# Absolute times: the past (deleted at once on both) or the far future.
UNIX_SECONDS = (b"1", b"1000000000", b"4102444800", b"32503680000", b"0", b"-5", b"abc")


def unix_seconds() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from((*UNIX_SECONDS, b"9223372036854775807")),
        st.integers(4_102_444_800, 4_102_444_800 + 10**8).map(lambda n: str(n).encode()),
    )


def unix_milliseconds() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(
            (b"1", b"1000000000000", b"4102444800000", b"0", b"-5", b"abc", b"9223372036854775807")
        ),
        st.integers(4_102_444_800_000, 4_102_444_800_000 + 10**11).map(lambda n: str(n).encode()),
    )


def patterns() -> st.SearchStrategy[bytes]:
    """Glob patterns for KEYS / SCAN MATCH."""
    return st.sampled_from(
        (
            b"*",
            b"k*",
            b"k?",
            b"k[12]",
            b"k[^1]",
            b"{k}*",
            b"\\{k}4",
            b"*4",
            b"[a-z]*",
            b"nomatch",
            b"",
        )
    )


def any_args(max_size: int = 4) -> st.SearchStrategy[list[bytes]]:
    """Arbitrary arguments (for arity and syntax errors)."""
    return st.lists(
        st.one_of(keys(), values(), token("ex", "px", "nx", "xx", "get", "keepttl")),
        max_size=max_size,
    )


# --- groups ----------------------------------------------------------------------------------


@dataclass
class Group:
    """The command generators of one data type (or family), by command name."""

    name: str
    commands: dict[str, st.SearchStrategy[Cmd]]
    fuzz_arity: bool = True
    """Also send each command with arbitrary arguments (arity and syntax errors)."""
    snapshot: dict[bytes, list[tuple[bytes, ...] | Cmd]] = field(default_factory=dict)
    """How to read a whole value of a type back at the end of an example, by TYPE reply:
    argv prefixes the key is appended to (``{b"hash": [(b"HGETALL",)]}``), compared
    exactly, or :class:`Cmd` objects to use their comparator."""
    keep: Callable[[Cmd], bool] | None = None
    """Leaves out the commands (fuzzed ones too) whose reply Redis does not define, e.g.
    an order that is its hash table's (``gen_sort.py``)."""

    def strategy(self, available: set[str]) -> st.SearchStrategy[Cmd] | None:
        """One command of this group among the ``available`` ones (None if there are none)."""
        names = sorted(n for n in self.commands if n in available)
        if not names:
            return None
        choices = [self.commands[n] for n in names]
        if self.fuzz_arity:
            fuzz = st.tuples(st.sampled_from(names).flatmap(name_case), any_args()).map(
                lambda t: Cmd((t[0], *t[1]), COMPARATORS.get(t[0].decode().lower(), exact))
            )
            choices.append(fuzz)
        strategy = st.one_of(*choices)
        return strategy if self.keep is None else strategy.filter(self.keep)
