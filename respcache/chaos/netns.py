"""A private network of Linux network namespaces, so the nemesis can cut links.

Every *member* (a node, ZooKeeper) gets its own network namespace with one
veth link to a bridge in the host namespace. The bridge holds the host's
address on a private /24 (``10.213.N.0/24``); the members hold ``.10`` upwards.
The client threads of the test run in the host namespace and reach every
member through the bridge. Nothing is routed anywhere else: the namespaces have
no default route and the bridge has no uplink, so no packet leaves the machine.

A **partition** is a set of cut member pairs. A cut is a ``blackhole`` route
for the peer's address on *both* sides (``ip route add blackhole A/32`` inside
each namespace): packets are dropped silently, as a broken link or a DROP
firewall rule would, and established connections stall rather than reset.
Routes live inside the namespaces, so this needs only iproute2 (no
iptables/nftables), and the host's address is never blackholed: clients still
reach every member, which is what makes a partitioned leader dangerous.

Everything is named after a run prefix ``rcx<5 hex>`` (namespaces
``rcx1a2b3-n1``, bridge ``rcx1a2b3br``, host-side veths ``rcx1a2b3h0``...) and
owned by a lock file ``/run/respcache-chaos/<prefix>.lock`` that the creating
process holds (``flock``) for as long as it lives. :meth:`Network.destroy`
removes everything (also at interpreter exit); :func:`cleanup_stale` removes
what a crashed run left behind: any ``rcx*`` resource whose lock is not held.
It is called before every new network is made.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import weakref
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = [
    "NETWORK_BASE",
    "Member",
    "NetnsError",
    "Network",
    "cleanup_stale",
    "netns_unavailable_reason",
    "partition_cuts",
]

NETWORK_BASE = "10.213"
"""The private range: ``10.213.N.0/24``, one ``N`` per live network."""

STATE_DIR = Path(os.environ.get("RESPCACHE_CHAOS_STATE_DIR", "/run/respcache-chaos"))
PREFIX_RE = re.compile(r"rcx[0-9a-f]{5}")
_FIRST_HOST = 10
_MAX_MEMBERS = 100


class NetnsError(RuntimeError):
    """A namespace, link or route could not be created or removed."""


def _ip_binary() -> str | None:
    return shutil.which("ip") or next(
        (p for p in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip") if os.access(p, os.X_OK)), None
    )


def _run(*args: str, check: bool = True, timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
    ip = _ip_binary() or "ip"
    argv = [ip if args[0] == "ip" else args[0], *args[1:]]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if check and done.returncode != 0:
        raise NetnsError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done


def netns_unavailable_reason() -> str | None:
    """Why namespaces cannot be used here (``None``: they can, as far as a probe tells).

    The probe creates and removes a namespace with a veth link and a bridge,
    all named with a fresh run prefix.
    """
    if os.geteuid() != 0:
        return "network namespaces need root (not running as root)"
    if _ip_binary() is None:
        return "the 'ip' command (iproute2) is not installed"
    if shutil.which("setpriv") is None:
        return "the 'setpriv' command (util-linux) is not installed"
    probe = f"rcx{secrets.token_hex(3)[:5]}"
    try:
        _run("ip", "netns", "add", f"{probe}-probe")
        _run("ip", "link", "add", f"{probe}br", "type", "bridge")
        _run(
            "ip", "link", "add", f"{probe}h0", "type", "veth",
            "peer", "name", "eth0", "netns", f"{probe}-probe",
        )  # fmt: skip
        _run("ip", "-n", f"{probe}-probe", "route", "add", "blackhole", f"{NETWORK_BASE}.0.1/32")
    except (NetnsError, OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot create network namespaces, veth links or routes: {exc}"
    finally:
        _run("ip", "link", "del", f"{probe}h0", check=False)
        _run("ip", "link", "del", f"{probe}br", check=False)
        _run("ip", "netns", "del", f"{probe}-probe", check=False)
    return None


@dataclass(frozen=True)
class Member:
    """One member of the network: its namespace and address."""

    name: str
    namespace: str
    address: str
    host_link: str
    """The veth end in the host namespace (attached to the bridge)."""


def partition_cuts(
    members: Collection[str], groups: Sequence[Collection[str]]
) -> set[frozenset[str]]:
    """The member pairs to cut so that only members of the same group talk.

    Members named in no group form one more group together. A member named in
    two groups, or a name that is not a member, is a :class:`ValueError`.
    """
    seen: dict[str, int] = {}
    for number, group in enumerate(groups):
        for name in group:
            if name not in members:
                raise ValueError(f"unknown member {name!r} (members: {sorted(members)})")
            if name in seen:
                raise ValueError(f"member {name!r} is in two groups")
            seen[name] = number
    rest = len(groups)
    for name in members:
        seen.setdefault(name, rest)
    names = sorted(members)
    return {
        frozenset((a, b)) for i, a in enumerate(names) for b in names[i + 1 :] if seen[a] != seen[b]
    }


# --------------------------------------------------------------------------- stale runs


def _lock_is_held(path: Path) -> bool:
    """Whether some live process holds ``path``'s flock (``False`` if it does not exist)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _list_namespaces() -> list[str]:
    done = _run("ip", "netns", "list", check=False)
    return [line.split()[0] for line in done.stdout.splitlines() if line.strip()]


def _list_links() -> list[str]:
    done = _run("ip", "-o", "link", "show", check=False)
    names = []
    for line in done.stdout.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@", 1)[0])
    return names


def _kill_namespace_processes(namespace: str) -> None:
    """SIGKILL the processes in a namespace of ours (they were started by a run of ours)."""
    for _ in range(50):
        done = _run("ip", "netns", "pids", namespace, check=False)
        pids = [int(p) for p in done.stdout.split() if p.isdigit()]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _remove_prefix(prefix: str, namespaces: Iterable[str], links: Iterable[str]) -> None:
    mine_ns = [ns for ns in namespaces if ns.startswith(prefix + "-")]
    for namespace in mine_ns:
        _kill_namespace_processes(namespace)
    # Host-side veths first (their peers go with them), then the namespaces, then the bridge.
    mine_links = sorted(
        (link for link in links if link.startswith(prefix)), key=lambda link: link.endswith("br")
    )
    for link in mine_links:
        _run("ip", "link", "del", link, check=False)
    for namespace in mine_ns:
        _run("ip", "netns", "del", namespace, check=False)
    with contextlib.suppress(OSError):
        (STATE_DIR / f"{prefix}.lock").unlink()


def cleanup_stale() -> list[str]:
    """Remove the namespaces and links of runs whose owner is gone; return their prefixes."""
    if _ip_binary() is None:
        return []
    namespaces = _list_namespaces()
    links = _list_links()
    prefixes = {m.group(0) for name in [*namespaces, *links] if (m := PREFIX_RE.match(name))}
    with contextlib.suppress(OSError):
        prefixes |= {p.stem for p in STATE_DIR.glob("rcx*.lock") if PREFIX_RE.fullmatch(p.stem)}
    stale = sorted(p for p in prefixes if not _lock_is_held(STATE_DIR / f"{p}.lock"))
    for prefix in stale:
        _remove_prefix(prefix, namespaces, links)
    return stale


# --------------------------------------------------------------------------- the network


def _destroy_at_exit(ref: weakref.ReferenceType[Network]) -> None:
    network = ref()
    if network is not None:
        network.destroy()


class Network:
    """Namespaces for ``members`` on a private bridge; :meth:`create` builds it.

    ``exec_prefix(name)`` is the command prefix that runs a program in a
    member's namespace; ``address(name)`` its address; ``host_address`` the
    host side's. :meth:`partition` / :meth:`cut` / :meth:`heal` change which
    members can talk. Use as a context manager, or call :meth:`destroy`.
    """

    def __init__(self, members: Sequence[str], *, prefix: str | None = None) -> None:
        if not members or len(set(members)) != len(members):
            raise ValueError("members must be distinct and non-empty")
        if len(members) > _MAX_MEMBERS:
            raise ValueError(f"at most {_MAX_MEMBERS} members")
        for name in members:
            if not re.fullmatch(r"[a-z0-9]{1,8}", name):
                raise ValueError(f"member name {name!r}: 1-8 lowercase letters or digits")
        self.prefix = prefix or f"rcx{secrets.token_hex(3)[:5]}"
        if not PREFIX_RE.fullmatch(self.prefix):
            raise ValueError(f"prefix {self.prefix!r} must look like rcx + 5 hex digits")
        self.names = tuple(members)
        self.subnet: int | None = None
        self.members: dict[str, Member] = {}
        self.cuts: set[frozenset[str]] = set()
        self.stale_removed: list[str] = []
        self._lock: IO[bytes] | None = None
        self._created = False
        atexit.register(_destroy_at_exit, weakref.ref(self))

    # -- names ---------------------------------------------------------------------------------

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    def namespace(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def host_address(self) -> str:
        if self.subnet is None:
            raise NetnsError("network not created")
        return f"{NETWORK_BASE}.{self.subnet}.1"

    def address(self, name: str) -> str:
        return self.members[name].address

    def exec_prefix(self, name: str) -> list[str]:
        """``ip netns exec <ns>``: prepend to a command to run it inside ``name``'s namespace."""
        return [_ip_binary() or "ip", "netns", "exec", self.members[name].namespace]

    # -- life cycle ----------------------------------------------------------------------------

    def create(self) -> Network:
        """Remove stale runs' leftovers, then build the bridge, namespaces and links."""
        if self._created:
            return self
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        # Lock first, then give the file its name: a cleanup never sees it unlocked.
        path = STATE_DIR / f"{self.prefix}.lock"
        temporary = path.with_name(f".{self.prefix}.{os.getpid()}.tmp")
        lock = open(temporary, "wb")  # noqa: SIM115 (held for our life)
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        lock.write(f"{os.getpid()}\n".encode())
        lock.flush()
        os.replace(temporary, path)
        self._lock = lock
        self._created = True
        try:
            with open(STATE_DIR / "create.lock", "wb") as global_lock:
                fcntl.flock(global_lock.fileno(), fcntl.LOCK_EX)
                self.stale_removed = cleanup_stale()
                self.subnet = self._free_subnet()
                self._build()
        except BaseException:
            self.destroy()
            raise
        return self

    def _free_subnet(self) -> int:
        done = _run("ip", "-4", "route", "show", "table", "all", check=False)
        used = set(re.findall(rf"\b{re.escape(NETWORK_BASE)}\.(\d+)\.", done.stdout))
        start = int(self.prefix[3:], 16) % 250
        for step in range(250):
            candidate = (start + step) % 250 + 1
            if str(candidate) not in used:
                return candidate
        raise NetnsError(f"no free /24 left in {NETWORK_BASE}.0.0/16")

    def _build(self) -> None:
        assert self.subnet is not None
        base = f"{NETWORK_BASE}.{self.subnet}"
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _disable_ipv6(self.bridge)
        _run("ip", "addr", "add", f"{base}.1/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        for number, name in enumerate(self.names):
            namespace = self.namespace(name)
            host_link = f"{self.prefix}h{number}"
            member = Member(name, namespace, f"{base}.{_FIRST_HOST + number}", host_link)
            _run("ip", "netns", "add", namespace)
            self.members[name] = member
            _run(
                "ip", "link", "add", host_link, "type", "veth",
                "peer", "name", "eth0", "netns", namespace,
            )  # fmt: skip
            _disable_ipv6(host_link)
            _run("ip", "link", "set", host_link, "master", self.bridge)
            _run("ip", "link", "set", host_link, "up")
            _run(
                "ip", "netns", "exec", namespace,
                "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                check=False,
            )  # fmt: skip
            _run("ip", "-n", namespace, "addr", "add", f"{member.address}/24", "dev", "eth0")
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
            _run("ip", "-n", namespace, "link", "set", "eth0", "up")

    def destroy(self) -> None:
        """Kill what runs in the namespaces, remove namespaces, links and the lock. Idempotent."""
        if not self._created:
            return
        self._created = False
        _remove_prefix(self.prefix, _list_namespaces(), _list_links())
        self.members.clear()
        self.cuts.clear()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Network:
        return self.create()

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    # -- faults --------------------------------------------------------------------------------

    def cut(self, a: str, b: str) -> None:
        """Drop every packet between members ``a`` and ``b`` (both directions)."""
        pair = frozenset((a, b))
        if a == b or pair in self.cuts:
            return
        for here, there in ((a, b), (b, a)):
            _run(
                "ip", "-n", self.members[here].namespace, "route", "replace",
                "blackhole", f"{self.members[there].address}/32",
            )  # fmt: skip
        self.cuts.add(pair)

    def mend(self, a: str, b: str) -> None:
        """Undo :meth:`cut` for one pair."""
        pair = frozenset((a, b))
        for here, there in ((a, b), (b, a)):
            _run(
                "ip", "-n", self.members[here].namespace, "route", "del",
                "blackhole", f"{self.members[there].address}/32",
                check=False,
            )  # fmt: skip
        self.cuts.discard(pair)

    def partition(self, groups: Sequence[Collection[str]]) -> set[frozenset[str]]:
        """Only members of the same group can talk (see :func:`partition_cuts`); returns the cuts.

        Replaces any partition in place: pairs not cut by the new one are mended.
        """
        wanted = partition_cuts(self.names, groups)
        for pair in self.cuts - wanted:
            self.mend(*sorted(pair))
        for pair in wanted - self.cuts:
            self.cut(*sorted(pair))
        return wanted

    def heal(self) -> None:
        """Mend every cut: remove every blackhole route in every namespace."""
        for member in self.members.values():
            _run("ip", "-n", member.namespace, "route", "flush", "type", "blackhole", check=False)
        self.cuts.clear()

    def blackholes(self, name: str) -> list[str]:
        """The addresses ``name``'s namespace drops (what the kernel says, for tests)."""
        done = _run("ip", "-n", self.members[name].namespace, "route", "show", "type", "blackhole")
        return [
            line.split()[1] for line in done.stdout.splitlines() if line.startswith("blackhole")
        ]

    def __repr__(self) -> str:
        state = f"{NETWORK_BASE}.{self.subnet}.0/24" if self._created else "not created"
        return f"<Network {self.prefix} {state} members={list(self.names)}>"


def _disable_ipv6(link: str) -> None:
    """No IPv6 on our links: no router solicitations or DAD chatter on the bridge."""
    with contextlib.suppress(OSError):
        Path(f"/proc/sys/net/ipv6/conf/{link}/disable_ipv6").write_text("1")
