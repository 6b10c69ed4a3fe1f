"""The coordinator's settings. The server maps its own ``Config`` into this."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from respcache.coordination.state import CLUSTER_NAME_RE, NODE_ID_RE
from respcache.errors import ConfigError

__all__ = ["CoordinationConfig", "ZkTls", "new_run_id"]


def new_run_id() -> str:
    """40 random hex characters, like Redis's ``run_id``."""
    return secrets.token_hex(20)


@dataclass(frozen=True)
class ZkTls:
    """TLS to the ensemble's ``secureClientPort`` (kazoo's ``use_ssl`` and friends).

    ``ca`` verifies the servers (``verify`` off accepts any certificate); ``certfile``
    and ``keyfile`` are the client certificate ZooKeeper asks for when its
    ``ssl.clientAuth`` is ``need`` (its default). Host names are not checked, as
    Redis checks none on its own TLS links.
    """

    ca: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    keyfile_password: str | None = None
    verify: bool = True

    def kazoo_options(self) -> dict[str, object]:
        """The ``KazooClient`` keyword arguments."""
        return {
            "use_ssl": True,
            "ca": self.ca,
            "certfile": self.certfile,
            "keyfile": self.keyfile,
            "keyfile_password": self.keyfile_password,
            "verify_certs": self.verify,
            "check_hostname": False,
        }


@dataclass(frozen=True)
class CoordinationConfig:
    """Where ZooKeeper is and who this node is.

    ``zookeeper`` is a connect string, optionally with a chroot:
    ``"10.0.0.1:2181,10.0.0.2:2181/prod"``. Every znode lives under
    ``<chroot>/respcache/<cluster>``.

    ``auth`` (``"user:password"``) turns on ZooKeeper digest authentication;
    the znodes are then created readable and writable by that identity only
    (plus world-readable when ``acl_world_read``). All nodes of a cluster use the
    same credentials.

    ``unclean_election`` lets a node outside the ISR take over when no
    in-sync replica is registered at all (every node holding data is gone):
    availability over durability, acknowledged writes may be lost. Off by
    default: the cluster then waits for an in-sync replica to come back.
    """

    zookeeper: str
    node_id: str
    announce_host: str
    announce_port: int
    cluster: str = "default"
    session_timeout_ms: int = 10_000
    run_id: str = field(default_factory=new_run_id)
    auth: str | None = None
    acl_world_read: bool = True
    unclean_election: bool = False
    reconnect_max_delay: float = 1.0
    """Upper bound (seconds) of the back-off between reconnection attempts."""
    operation_timeout: float | None = None
    """Timeout (seconds) of one ZooKeeper round trip; ``None``: the session timeout."""
    tls: ZkTls | None = None
    """Connect over TLS (``zk-tls``); None: plain TCP."""

    def __post_init__(self) -> None:
        if not self.zookeeper or not self.hosts:
            raise ConfigError("coordination: the ZooKeeper connect string is empty")
        if self.chroot and (self.chroot.endswith("/") or "//" in self.chroot):
            raise ConfigError(f"coordination: invalid chroot {self.chroot!r}")
        if not NODE_ID_RE.fullmatch(self.node_id):
            raise ConfigError(
                f"coordination: node id {self.node_id!r} must be 1-64 characters "
                "of letters, digits, '.', '_', ':' or '-'"
            )
        if not CLUSTER_NAME_RE.fullmatch(self.cluster):
            raise ConfigError(f"coordination: invalid cluster name {self.cluster!r}")
        if not 0 < self.announce_port < 65536:
            raise ConfigError(f"coordination: invalid announce port {self.announce_port}")
        if not self.announce_host or any(c.isspace() for c in self.announce_host):
            raise ConfigError(f"coordination: invalid announce host {self.announce_host!r}")
        if self.session_timeout_ms <= 0:
            raise ConfigError("coordination: session timeout must be positive")
        if self.auth is not None and ":" not in self.auth:
            raise ConfigError("coordination: auth must be 'user:password'")

    @property
    def hosts(self) -> str:
        """The connect string without the chroot."""
        return self.zookeeper.split("/", 1)[0]

    @property
    def chroot(self) -> str:
        """The chroot (``""`` or ``"/a/b"``)."""
        _, slash, rest = self.zookeeper.partition("/")
        return "/" + rest if slash and rest else ""

    @property
    def base_path(self) -> str:
        return f"{self.chroot}/respcache/{self.cluster}"

    @property
    def election_path(self) -> str:
        return f"{self.base_path}/election"

    @property
    def state_path(self) -> str:
        return f"{self.base_path}/state"

    @property
    def address(self) -> str:
        """``host:port`` clients and followers use to reach this node."""
        return f"{self.announce_host}:{self.announce_port}"

    @property
    def session_timeout(self) -> float:
        return self.session_timeout_ms / 1000.0
