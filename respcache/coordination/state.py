"""The cluster state znode, the election znodes and the leadership rule, without I/O.

Everything here is pure: the :class:`~respcache.coordination.election.Coordinator`
reads ZooKeeper, hands what it read to :func:`decide`, and carries out the
returned :class:`Decision`. See ``docs/coordination.md`` for the layout and the
reasoning.

The rule, in short:

* The *line* is the order in which nodes would take leadership: the leader
  recorded in the state znode (if its election znode still exists), then every
  *eligible* election znode by sequence number, then the ineligible ones by
  sequence number.
* A node is *eligible* when its node id is in the ISR of the state znode and its
  run id is the one recorded for that node id (a restarted process has a new run
  id and no data: it is not eligible until the leader adds it again). Before the
  state znode exists, everyone is eligible and the first in line bootstraps.
* Only the first in line acts; every other node watches the node just before it
  in the line (no herd effect).

Recovery after every in-sync process died (:func:`recovery_plan`). A process
restarted with persistence registers what it loaded from disk (a
:class:`Recovery`: replication id, offset and the epoch of that data). When the
recorded leader's znode is gone and no *process* of the ISR is registered
(every ISR member restarted: new run ids, so nobody is eligible), the nodes wait
until every node id of the last ISR registered again, then the one whose data
goes furthest — the highest ``(epoch, offset)`` — takes over with ``isr=[itself]``
(:attr:`DecisionKind.RECOVER`); the others follow it and rejoin the ISR once
caught up. Every acknowledged write was applied by every ISR member before its
acknowledgement (and, with ``appendfsync always``, on its disk), and the ISR only
shrinks in ZooKeeper before a write is acknowledged without the member leaving:
so the member whose durable history is the longest of the latest epoch holds
every acknowledged write that any disk holds. Until all of them are back that
member cannot be known, so the cluster waits and says why (``Decision.advice``).
If every member came back without data, nothing is elected automatically: an
operator decides to start empty (``unclean-election yes``).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "Candidate",
    "ClusterState",
    "Decision",
    "DecisionKind",
    "Recovery",
    "RecoveryPlan",
    "Registration",
    "StateFormatError",
    "decide",
    "is_eligible",
    "leader_candidate",
    "line",
    "recovery_plan",
    "sequence_of",
    "successor_state",
]

NODE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
"""What a node id may look like (``fullmatch``; it appears in znode names): ``host:port`` is fine."""

CLUSTER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What a cluster name may look like (a znode name under ``/respcache``)."""


class StateFormatError(ValueError):
    """A znode holds data that is not what respcache writes there."""


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise StateFormatError(what)


def _load(data: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise StateFormatError(f"{what}: not JSON ({exc})") from None
    _require(isinstance(obj, dict), f"{what}: not a JSON object")
    return obj  # type: ignore[no-any-return]


def _dump(obj: Mapping[str, object]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class ClusterState:
    """The JSON held by ``/respcache/<cluster>/state``.

    ``isr`` lists node ids; ``isr_runs`` maps each of them to the run id of the
    process that was in sync when it joined (a node id without an entry matches
    any run, for hand-written states). ``leader_znode`` names the leader's
    election znode: leadership lasts while that znode exists.
    """

    leader: str
    epoch: int
    isr: tuple[str, ...]
    leader_address: str
    leader_znode: str = ""
    isr_runs: Mapping[str, str] = field(default_factory=dict, hash=False)

    def encode(self) -> bytes:
        return _dump(
            {
                "leader": self.leader,
                "epoch": self.epoch,
                "isr": list(self.isr),
                "leader_address": self.leader_address,
                "leader_znode": self.leader_znode,
                "isr_runs": {
                    node: self.isr_runs[node] for node in self.isr if node in self.isr_runs
                },
            }
        )

    @classmethod
    def decode(cls, data: bytes) -> ClusterState:
        obj = _load(data, "state znode")
        leader, epoch, isr = obj.get("leader"), obj.get("epoch"), obj.get("isr")
        address = obj.get("leader_address", "")
        znode = obj.get("leader_znode", "")
        runs = obj.get("isr_runs", {})
        _require(isinstance(leader, str) and bool(leader), "state znode: leader must be a string")
        _require(
            isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0,
            "state znode: epoch must be a non-negative integer",
        )
        _require(
            isinstance(isr, list) and all(isinstance(n, str) for n in isr),
            "state znode: isr must be a list of node ids",
        )
        _require(isinstance(address, str), "state znode: leader_address must be a string")
        _require(isinstance(znode, str), "state znode: leader_znode must be a string")
        _require(
            isinstance(runs, dict) and all(isinstance(v, str) for v in runs.values()),
            "state znode: isr_runs must map node ids to run ids",
        )
        assert isinstance(leader, str) and isinstance(epoch, int) and isinstance(isr, list)
        return cls(
            leader=leader,
            epoch=epoch,
            isr=tuple(dict.fromkeys(isr)),
            leader_address=address,
            leader_znode=znode,
            isr_runs={k: v for k, v in runs.items() if k in isr},
        )

    # -- transitions (each is one compare-and-set in ZooKeeper) ----------------------------------

    def with_member(self, candidate: Candidate) -> ClusterState:
        """``candidate`` joins the ISR (same epoch); a re-added node id gets the new run id."""
        isr = self.isr if candidate.node_id in self.isr else (*self.isr, candidate.node_id)
        return replace(
            self, isr=isr, isr_runs={**self.isr_runs, candidate.node_id: candidate.run_id}
        )

    def without_member(self, node_id: str) -> ClusterState:
        """``node_id`` leaves the ISR (same epoch)."""
        if node_id == self.leader:
            raise ValueError("the leader cannot leave the ISR")
        return replace(
            self,
            isr=tuple(n for n in self.isr if n != node_id),
            isr_runs={k: v for k, v in self.isr_runs.items() if k != node_id},
        )

    def handed_to(self, target: Candidate) -> ClusterState:
        """Planned handoff: ``target`` (an eligible ISR member) leads at ``epoch + 1``."""
        if not is_eligible(self, target):
            raise ValueError(f"{target.node_id} is not an in-sync replica")
        return replace(
            self,
            leader=target.node_id,
            epoch=self.epoch + 1,
            leader_address=target.address,
            leader_znode=target.znode,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Recovery:
    """What a node's data is, as registered: the history it belongs to and how far it goes.

    ``epoch`` is the epoch of the stream that produced the data (the term led or
    followed when it was last applied), ``offset`` the replication offset of its
    last byte, ``replid`` the replication id of that history. A process restarted
    from disk registers what it loaded; the pair ``(epoch, offset)`` orders the
    candidates of a recovery.
    """

    replid: str
    offset: int
    epoch: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.epoch, self.offset)

    def describe(self) -> str:
        return f"epoch {self.epoch} offset {self.offset}"

    def to_json(self) -> dict[str, object]:
        return {"replid": self.replid, "offset": self.offset, "epoch": self.epoch}

    @classmethod
    def from_json(cls, obj: object) -> Recovery | None:
        if obj is None:
            return None
        _require(isinstance(obj, dict), "election znode: recovered must be an object")
        assert isinstance(obj, dict)
        replid, offset, epoch = obj.get("replid", ""), obj.get("offset"), obj.get("epoch", 0)
        _require(isinstance(replid, str), "election znode: recovered.replid")
        _require(
            isinstance(offset, int) and _is_int(offset) and offset >= 0,
            "election znode: recovered.offset",
        )
        _require(
            isinstance(epoch, int) and _is_int(epoch) and epoch >= 0,
            "election znode: recovered.epoch",
        )
        assert isinstance(replid, str) and isinstance(offset, int) and isinstance(epoch, int)
        return cls(replid, offset, epoch)


@dataclass(frozen=True)
class Registration:
    """The JSON held by an election znode: who registered it.

    ``recovered``: the data this process holds when it registered, if any (see
    :class:`Recovery`); a process that started empty registers None.
    """

    node_id: str
    run_id: str
    address: str
    offset: int = 0
    recovered: Recovery | None = None

    def encode(self) -> bytes:
        obj: dict[str, object] = {
            "node_id": self.node_id,
            "run_id": self.run_id,
            "address": self.address,
            "offset": self.offset,
        }
        if self.recovered is not None:
            obj["recovered"] = self.recovered.to_json()
        return _dump(obj)

    @classmethod
    def decode(cls, data: bytes) -> Registration:
        obj = _load(data, "election znode")
        node_id, run_id = obj.get("node_id"), obj.get("run_id")
        address, offset = obj.get("address", ""), obj.get("offset", 0)
        _require(isinstance(node_id, str) and bool(node_id), "election znode: node_id")
        _require(isinstance(run_id, str), "election znode: run_id")
        _require(isinstance(address, str), "election znode: address")
        _require(_is_int(offset), "election znode: offset")
        recovered = Recovery.from_json(obj.get("recovered"))
        assert isinstance(node_id, str) and isinstance(run_id, str)
        assert isinstance(address, str) and isinstance(offset, int)
        return cls(node_id, run_id, address, offset, recovered)


def sequence_of(znode: str) -> int:
    """The sequence number ZooKeeper appended to an election znode name (10 digits)."""
    tail = znode[-10:]
    if len(tail) != 10 or not tail.isdigit():
        raise StateFormatError(f"not a sequential znode name: {znode!r}")
    return int(tail)


@dataclass(frozen=True)
class Candidate:
    """One election znode: its name and the registration it holds."""

    znode: str
    node_id: str
    run_id: str
    address: str
    offset: int = 0
    recovered: Recovery | None = None

    @property
    def seq(self) -> int:
        return sequence_of(self.znode)

    @classmethod
    def from_znode(cls, znode: str, data: bytes) -> Candidate:
        reg = Registration.decode(data)
        sequence_of(znode)  # validates the name
        return cls(znode, reg.node_id, reg.run_id, reg.address, reg.offset, reg.recovered)


def is_eligible(state: ClusterState | None, candidate: Candidate) -> bool:
    """May ``candidate`` lead? In the ISR, with the run id recorded there (or bootstrap)."""
    if state is None:
        return True
    if candidate.node_id not in state.isr:
        return False
    run = state.isr_runs.get(candidate.node_id)
    return run is None or run == candidate.run_id


def leader_candidate(
    state: ClusterState | None, candidates: Iterable[Candidate]
) -> Candidate | None:
    """The election znode of the recorded leader, if it still exists."""
    if state is None:
        return None
    pool = [c for c in candidates if c.node_id == state.leader]
    if state.leader_znode:
        return next((c for c in pool if c.znode == state.leader_znode), None)
    # A hand-written state without leader_znode: the leader's oldest eligible znode.
    pool = sorted((c for c in pool if is_eligible(state, c)), key=lambda c: c.seq)
    return pool[0] if pool else None


def line(state: ClusterState | None, candidates: Iterable[Candidate]) -> list[Candidate]:
    """The order in which nodes would take leadership (see the module docstring)."""
    candidates = list(candidates)
    if state is None:
        return sorted(candidates, key=lambda c: c.seq)
    lead = leader_candidate(state, candidates)
    rest = sorted(
        (c for c in candidates if c is not lead),
        key=lambda c: (not is_eligible(state, c), c.seq),
    )
    return [lead, *rest] if lead is not None else rest


class DecisionKind(enum.Enum):
    REGISTER = "register"
    """My election znode is missing: create it."""
    BOOTSTRAP = "bootstrap"
    """No state znode and I am first: create it with me as leader."""
    LEAD = "lead"
    """The state names my znode as the leader's."""
    TAKEOVER = "takeover"
    """The recorded leader's znode is gone and I am the first eligible node: CAS the state."""
    UNCLEAN = "unclean"
    """As TAKEOVER, but no eligible node is registered and unclean election is allowed."""
    RECOVER = "recover"
    """No ISR process is left, every ISR member registered again, and my data goes
    furthest: CAS the state with ``isr=[me]`` (see :func:`recovery_plan`)."""
    FOLLOW = "follow"
    """Another node's znode is the recorded leader's: follow it."""
    WAIT = "wait"
    """Nothing to do until the watched znode or the state changes."""


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    watch: str | None = None
    """The election znode to watch (my predecessor in the line), if any."""
    leader: Candidate | None = None
    """For FOLLOW: the leader's znode."""
    reason: str = ""
    watch_members: bool = False
    """Wake up when a node registers or goes (no leader: who acts depends on everyone)."""
    advice: str = ""
    """For a wait an operator can end: what to do (logged as a warning)."""


@dataclass(frozen=True)
class RecoveryPlan:
    """:func:`recovery_plan`'s answer: the winner, or why there is none yet."""

    winner: Candidate | None
    reason: str
    advice: str = ""
    missing: tuple[str, ...] = ()
    claims: Mapping[str, Recovery | None] = field(default_factory=dict, hash=False)


def recovery_plan(state: ClusterState, candidates: Iterable[Candidate]) -> RecoveryPlan:
    """Who holds every acknowledged write, when no process of the ISR is registered.

    Each node id of ``state.isr`` must have registered again (its newest
    registration counts). The winner is the one whose registered data has the
    highest ``(epoch, offset)`` (the oldest znode on a tie). A member that came
    back without data takes part (it holds nothing); if none has data there is no
    winner: starting empty is the operator's decision.
    """
    newest: dict[str, Candidate] = {}
    for c in sorted(candidates, key=lambda c: c.seq):
        if c.node_id in state.isr:
            newest[c.node_id] = c
    missing = tuple(n for n in state.isr if n not in newest)
    claims = {n: c.recovered for n, c in newest.items()}
    if missing:
        return RecoveryPlan(
            None,
            f"no in-sync replica registered (every in-sync process of epoch {state.epoch} "
            "died or restarted); waiting for "
            f"{', '.join(missing)} to come back with {'its' if len(missing) == 1 else 'their'} "
            "data (which node holds every acknowledged write cannot be known before)",
            advice=(
                f"start {', '.join(missing)} again with the same data directory; if that "
                "data is lost for good, set unclean-election yes on a node (CONFIG SET "
                "unclean-election yes): writes acknowledged only by the missing "
                "node(s) may then be lost"
            ),
            missing=missing,
            claims=claims,
        )
    with_data = [c for c in newest.values() if c.recovered is not None]
    if not with_data:
        return RecoveryPlan(
            None,
            f"no in-sync replica registered, and every in-sync replica of epoch "
            f"{state.epoch} came back without data: the cluster's data is lost",
            advice=(
                "to start the cluster empty, set unclean-election yes on one node "
                "(CONFIG SET unclean-election yes); to keep data across restarts, "
                "enable persistence (save, appendonly)"
            ),
            claims=claims,
        )
    recovered = {id(c): c.recovered for c in with_data}
    winner = max(
        with_data,
        key=lambda c: (*recovered[id(c)].key, -c.seq),  # type: ignore[union-attr]
    )
    described = ", ".join(
        f"{n}: {r.describe() if r is not None else 'no data'}" for n, r in claims.items()
    )
    return RecoveryPlan(
        winner,
        f"{winner.node_id} holds the most data of the last ISR ({described})",
        claims=claims,
    )


def decide(
    state: ClusterState | None,
    candidates: Sequence[Candidate],
    me: str,
    *,
    unclean: bool = False,
) -> Decision:
    """What the node owning election znode ``me`` must do now."""
    order = line(state, candidates)
    index = next((i for i, c in enumerate(order) if c.znode == me), None)
    if index is None:
        return Decision(DecisionKind.REGISTER, reason="own election znode missing")
    mine = order[index]
    watch = order[index - 1].znode if index > 0 else None
    if state is None:
        if index == 0:
            return Decision(DecisionKind.BOOTSTRAP, reason="no state znode: bootstrap")
        return Decision(DecisionKind.WAIT, watch, reason="waiting for the first node to bootstrap")
    lead = leader_candidate(state, order)
    if lead is not None:
        if lead.znode == me:
            return Decision(DecisionKind.LEAD, reason="state names this node leader")
        if lead.node_id == mine.node_id:
            return Decision(
                DecisionKind.WAIT,
                watch,
                reason=f"a previous run of {mine.node_id} still holds {lead.znode}",
            )
        return Decision(DecisionKind.FOLLOW, watch, leader=lead, reason=f"following {lead.node_id}")
    if not any(is_eligible(state, c) for c in order) and state.isr:
        # No process of the ISR is registered: the in-sync data is on disks, if anywhere.
        plan = recovery_plan(state, order)
        if plan.winner is not None:
            if plan.winner.znode == me:
                return Decision(DecisionKind.RECOVER, reason=plan.reason)
            return Decision(
                DecisionKind.WAIT, plan.winner.znode, reason=plan.reason, watch_members=True
            )
        if unclean:
            # The operator's decision, taken on this node: it takes over wherever it
            # stands in the line (the compare-and-set picks one if several try).
            return Decision(
                DecisionKind.UNCLEAN, reason=f"{plan.reason}; unclean election on this node"
            )
        return Decision(
            DecisionKind.WAIT,
            watch_members=True,
            reason=plan.reason,
            advice=plan.advice,
        )
    if index > 0:
        # Without a leader, who acts depends on every registration (a lingering znode of
        # a dead process going away may make someone else first, or start a recovery):
        # wake on any change of the members, not only on the predecessor's.
        return Decision(
            DecisionKind.WAIT,
            watch,
            reason=f"leader gone; {order[0].node_id} is first in line",
            watch_members=True,
        )
    if is_eligible(state, mine):
        return Decision(DecisionKind.TAKEOVER, reason="leader gone; first eligible node")
    if unclean:
        return Decision(
            DecisionKind.UNCLEAN, reason="no in-sync replica registered; unclean election"
        )
    return Decision(
        DecisionKind.WAIT, reason="no in-sync replica registered (this node is not in the ISR)"
    )


def successor_state(
    old: ClusterState | None,
    candidates: Sequence[Candidate],
    me: Candidate,
    *,
    unclean: bool = False,
    recovered: bool = False,
    min_epoch: int = 0,
) -> ClusterState:
    """The state ``me`` writes to become leader (bootstrap, takeover or re-acquire).

    The epoch goes up by one. The new ISR keeps, in order, the old ISR members
    whose election znode exists with the recorded run id (they hold every
    acknowledged write); members that are not registered are dropped and must be
    added back by the new leader once they caught up. Bootstrap, unclean
    election and a recovery from disk start over with ``[me]`` (the others rejoin
    once caught up).
    """
    epoch = max(old.epoch if old is not None else 0, min_epoch) + 1
    if old is None or unclean or recovered:
        isr: list[str] = [me.node_id]
        runs = {me.node_id: me.run_id}
    else:
        live = {
            c.node_id: c for c in sorted(candidates, key=lambda c: c.seq) if is_eligible(old, c)
        }
        live[me.node_id] = me
        isr = [me.node_id] + [n for n in old.isr if n != me.node_id and n in live]
        runs = {n: live[n].run_id for n in isr}
    return ClusterState(
        leader=me.node_id,
        epoch=epoch,
        isr=tuple(isr),
        leader_address=me.address,
        leader_znode=me.znode,
        isr_runs=runs,
    )
