"""What an operator asks a node: its role, epoch, leader, ISR, offsets (``/health``, ``/metrics``).

One typed snapshot, built by the server from replication and coordination, so
the HTTP endpoint reads no other layer's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FollowerStatus:
    id: str
    address: str
    state: str
    ack: int
    lag_bytes: int
    lag_seconds: int
    in_isr: bool


@dataclass(frozen=True)
class NodeStatus:
    role: str
    """``master``, ``slave``, or ``none`` while ZooKeeper has not decided."""
    serving: bool
    """This node would run a write now (it leads and is not fenced)."""
    epoch: int
    leader: str
    """The leader's ``host:port`` ("" when unknown)."""
    isr: tuple[str, ...]
    offset: int
    committed: int
    followers: tuple[FollowerStatus, ...] = ()
    zookeeper: str = "none"
    """ZooKeeper session: ``connected``, ``disconnected``, or ``none`` (not used)."""
    failovers: int = 0
    """Times the leader changed, seen from this node."""
    extra: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "role": self.role,
            "serving": self.serving,
            "epoch": self.epoch,
            "leader": self.leader,
            "isr": list(self.isr),
            "offset": self.offset,
            "committed": self.committed,
            "followers": [
                {
                    "id": f.id,
                    "address": f.address,
                    "state": f.state,
                    "offset": f.ack,
                    "lag": f.lag_bytes,
                    "in_isr": f.in_isr,
                }
                for f in self.followers
            ],
            "zookeeper": self.zookeeper,
            **self.extra,
        }
