"""The same random command sequences against real redis-server and respcache.

A hypothesis ``RuleBasedStateMachine`` draws commands from the groups defined
in ``gen_*.py`` (see ``generators.py``), sends each to redis-server then to
respcache, and compares the replies exactly (normalizing only what is random
or time-dependent). Each example starts from empty keyspaces (FLUSHALL) and
ends by comparing the whole dataset (every key's type, TTL, encoding and value).

A failure is a bug (or a missing feature) in respcache: hypothesis prints the
shortest sequence it found; the assertion message shows both replies.

Knobs: ``RCTEST_DIFF_EXAMPLES`` (default 200), ``RCTEST_DIFF_STEPS`` (default 4 steps of
up to 10 commands),
``HYPOTHESIS_PROFILE=ci`` for a derandomized run.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from generators import KEYS, Cmd, Group, exact, ttl_close
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from pair import Pair
from support import Reply, ServerProcess

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("RCTEST_DIFF_EXAMPLES", "200"))
STEPS = int(os.environ.get("RCTEST_DIFF_STEPS", "4"))
BATCH = 10  # commands per step at most: up to STEPS * BATCH commands per example


def load_groups() -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for path in sorted(Path(__file__).parent.glob("gen_*.py")):
        module = importlib.import_module(path.stem)
        group: Group = module.GROUP
        groups[group.name] = group
    return groups


GROUPS = load_groups()

# How to read a whole value back, by TYPE, for the end-of-example comparison.
# Groups for other types add theirs through ``Group.snapshot``.
SNAPSHOT: dict[bytes, list[tuple[bytes, ...] | Cmd]] = {b"string": [(b"GET",)]}
for _group in GROUPS.values():
    SNAPSHOT.update(_group.snapshot)


Step = tuple["Cmd", Reply, Reply]


def describe(history: list[str | Step]) -> str:
    """The sequence of an example, formatted only when it failed (replies can be large)."""
    lines = [
        line
        if isinstance(line, str)
        else f"{line[0]!r}  ->  redis {line[1]!r} | respcache {line[2]!r}"
        for line in history
    ]
    return "\n".join(f"    {line}" for line in lines) or "    (nothing)"


def make_machine(pair: Pair, strategy: st.SearchStrategy[Cmd]) -> type[RuleBasedStateMachine]:
    class DifferentialMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            pair.reset()
            self.history: list[str | Step] = ["FLUSHALL"]

        def check(self, cmd: Cmd, theirs: Reply, ours: Reply) -> None:
            self.history.append((cmd, theirs, ours))
            if not cmd.compare(theirs, ours) and not self.shared_tiny_string(cmd, theirs, ours):
                raise AssertionError(
                    f"replies differ ({getattr(cmd.compare, '__name__', 'compare')}) for {cmd!r}\n"
                    f"  redis:     {theirs!r}\n  respcache: {ours!r}\n"
                    f"  sequence since FLUSHALL:\n{describe(self.history)}"
                )

        def shared_tiny_string(self, cmd: Cmd, theirs: Reply, ours: Reply) -> bool:
            """The one documented OBJECT ENCODING deviation (docs/commands.md).

            CPython shares every 0- and 1-byte ``bytes`` object, so respcache cannot
            remember that APPEND/SETRANGE made such a string ``raw`` or INCRBYFLOAT
            ``embstr``: it reports the encoding Redis's rule gives the content. Only
            that case is accepted: a string encoding of a value at most one byte long.
            """
            argv = [a.lower() for a in cmd.argv[:2]]
            strings = {b"int", b"embstr", b"raw"}
            if argv != [b"object", b"encoding"] or len(cmd.argv) != 3:
                return False
            if theirs.value not in strings or ours.value not in strings:
                return False
            length, _ = pair.run((b"STRLEN", cmd.argv[2]))
            return length.kind == ":" and int(length.value) <= 1

        # A step is a short list of commands: hypothesis shrinks a list's elements
        # away far better than it deletes steps of a machine (with steps of one
        # command each, failing sequences often stayed at their full length).
        @rule(cmds=st.lists(strategy, min_size=1, max_size=BATCH))
        def commands(self, cmds: list[Cmd]) -> None:
            for cmd in cmds:
                theirs, ours = pair.run(cmd.argv)
                self.check(cmd, theirs, ours)

        def teardown(self) -> None:
            """The whole dataset must be the same, not only the replies seen."""
            if pair.ours is None or pair.ours.closed or not pair.ours_server.alive():
                return  # the step that closed it already failed
            available = pair.ours_commands
            if not {"exists", "type", "pttl"} <= available:
                return
            for key in KEYS:
                argv = (b"TYPE", key)
                theirs, ours = pair.run(argv)
                self.check(Cmd(argv), theirs, ours)
                kind = theirs.value
                argv = (b"PTTL", key)
                theirs, ours = pair.run(argv)
                self.check(Cmd(argv, ttl_close(1000)), theirs, ours)
                if kind != b"none" and "object" in available:
                    # respcache mimics Redis's encodings (int/embstr/raw, listpack...).
                    argv = (b"OBJECT", b"ENCODING", key)
                    theirs, ours = pair.run(argv)
                    self.check(Cmd(argv), theirs, ours)
                for entry in SNAPSHOT.get(kind, []):
                    prefix, compare = (
                        (entry.argv, entry.compare) if isinstance(entry, Cmd) else (entry, exact)
                    )
                    if prefix[0].decode().lower() not in available:
                        continue
                    argv = (*prefix, key)
                    theirs, ours = pair.run(argv)
                    self.check(Cmd(argv, compare), theirs, ours)

    return DifferentialMachine


@pytest.fixture(scope="module")
def pair_factory(
    respcache_server: ServerProcess, redis_server: ServerProcess
) -> Iterator[dict[int, Pair]]:
    pairs: dict[int, Pair] = {}
    yield pairs
    for p in pairs.values():
        p.close()


def get_pair(
    pairs: dict[int, Pair], ours: ServerProcess, theirs: ServerProcess, protocol: int
) -> Pair:
    if protocol not in pairs:
        pairs[protocol] = Pair(ours, theirs, protocol)
    return pairs[protocol]


def run_groups(
    groups: list[Group], pair: Pair, examples: int = EXAMPLES, steps: int = STEPS
) -> None:
    available = pair.ours_commands
    if not pair.can_reset:
        pytest.skip("respcache registers neither FLUSHALL nor DEL: examples cannot start empty")
    strategies = []
    missing: list[str] = []
    for group in groups:
        missing += [f"{group.name}:{n}" for n in sorted(group.commands) if n not in available]
        strategy = group.strategy(available)
        if strategy is not None:
            strategies.append(strategy)
    if missing:
        warnings.warn(
            f"not registered by respcache, left out of the differential test: {', '.join(missing)}",
            stacklevel=2,
        )
    if not strategies:
        pytest.skip(f"respcache registers none of these commands: {', '.join(missing)}")
    machine = make_machine(pair, st.one_of(*strategies))
    run_state_machine_as_test(
        machine,
        settings=settings(
            settings.default,
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        ),
    )


# Groups that cannot run here yet, with the reason (a skip that says why). Empty: the
# HyperLogLog group's FlakyStrategyDefinition was the 120 s pytest-timeout firing inside
# hypothesis (an example that had passed "failed" half-way on its replay); the group is
# ~5x faster now (replies parsed inline, history formatted only on failure). SORT's
# failures were real: Redis's partial quicksort (BY + LIMIT, now ported) and orders
# that are Redis's hash table's (now left out, see gen_sort.py).
UNSTABLE: dict[str, str] = {}


@pytest.mark.parametrize(
    "group_name",
    [
        pytest.param(name, marks=pytest.mark.skip(reason=UNSTABLE[name]))
        if name in UNSTABLE
        else name
        for name in sorted(GROUPS)
    ],
)
def test_group(
    group_name: str,
    pair_factory: dict[int, Pair],
    respcache_server: ServerProcess,
    redis_server: ServerProcess,
) -> None:
    """Commands of one group only (their replies and errors)."""
    pair = get_pair(pair_factory, respcache_server, redis_server, 2)
    run_groups([GROUPS[group_name]], pair)


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_all_groups_mixed(
    protocol: int,
    pair_factory: dict[int, Pair],
    respcache_server: ServerProcess,
    redis_server: ServerProcess,
) -> None:
    """Every group together on the same keys (WRONGTYPE), in RESP2 and RESP3."""
    pair = get_pair(pair_factory, respcache_server, redis_server, protocol)
    run_groups(list(GROUPS.values()), pair)
