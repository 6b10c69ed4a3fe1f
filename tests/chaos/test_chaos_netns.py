"""The network-namespace layer: setup, partitions, teardown, and stale-run cleanup.

The tests that build namespaces need root and iproute2; elsewhere they skip and
say why (the suite then falls back to loopback). Only addresses inside the
namespaces these tests create are ever contacted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from respcache.chaos import netns
from respcache.chaos.netns import Network, cleanup_stale, netns_unavailable_reason, partition_cuts

UNAVAILABLE = netns_unavailable_reason()
needs_netns = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"no namespaces: {UNAVAILABLE}")


# --------------------------------------------------------------------------- pure


def test_partition_cuts_every_pair_across_groups() -> None:
    members = ["n1", "n2", "n3", "zk"]
    assert partition_cuts(members, [["n1"], ["n2", "n3", "zk"]]) == {
        frozenset(p) for p in [("n1", "n2"), ("n1", "n3"), ("n1", "zk")]
    }
    # Members named nowhere form one more group together.
    assert partition_cuts(members, [["n1", "n2"]]) == {
        frozenset(p) for p in [("n1", "n3"), ("n1", "zk"), ("n2", "n3"), ("n2", "zk")]
    }
    assert partition_cuts(members, [members]) == set()
    assert len(partition_cuts(members, [["n1"], ["n2"], ["n3"], ["zk"]])) == 6


def test_partition_cuts_rejects_unknown_and_duplicate_members() -> None:
    with pytest.raises(ValueError, match="unknown member"):
        partition_cuts(["a", "b"], [["c"]])
    with pytest.raises(ValueError, match="two groups"):
        partition_cuts(["a", "b"], [["a"], ["a", "b"]])


def test_names_are_checked_and_fit_interface_limits() -> None:
    with pytest.raises(ValueError):
        Network([])
    with pytest.raises(ValueError):
        Network(["a", "a"])
    with pytest.raises(ValueError):
        Network(["Bad-Name"])
    with pytest.raises(ValueError):
        Network(["a"], prefix="other")
    network = Network(["n1", "zk"], prefix="rcx00abc")
    assert network.bridge == "rcx00abcbr" and len(network.bridge) <= 15
    assert network.namespace("zk") == "rcx00abc-zk"


# --------------------------------------------------------------------------- real namespaces


def _listener(network: Network, member: str, port: int) -> subprocess.Popen[bytes]:
    code = textwrap.dedent(
        f"""
        import socket
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(({network.address(member)!r}, {port}))
        s.listen()
        print("ready", flush=True)
        while True:
            c, _ = s.accept()
            c.sendall(b"hi")
            c.close()
        """
    )
    proc = subprocess.Popen(
        [*network.exec_prefix(member), sys.executable, "-c", code], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    return proc


def _reaches(network: Network, source: str | None, target: str, port: int) -> bool:
    """Whether ``source``'s namespace (None: the host) can fetch b"hi" from ``target``."""
    address = network.address(target)
    if source is None:
        try:
            with socket.create_connection((address, port), timeout=1.0) as sock:
                return sock.recv(2) == b"hi"
        except OSError:
            return False
    code = (
        "import socket,sys\n"
        f"s = socket.create_connection(({address!r}, {port}), timeout=1.0)\n"
        "sys.exit(0 if s.recv(2) == b'hi' else 1)\n"
    )
    done = subprocess.run(
        [*network.exec_prefix(source), sys.executable, "-c", code], capture_output=True
    )
    return done.returncode == 0


def _leftovers(prefix: str) -> list[str]:
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return [line for line in (names + links).splitlines() if prefix in line]


@pytest.fixture
def network() -> Iterator[Network]:
    net = Network(["n1", "n2", "zk"])
    net.create()
    try:
        yield net
    finally:
        net.destroy()


@needs_netns
def test_members_get_private_addresses_and_everything_goes_away(network: Network) -> None:
    prefix = network.prefix
    assert network.host_address.startswith(netns.NETWORK_BASE + ".")
    addresses = {network.address(m) for m in ("n1", "n2", "zk")}
    assert len(addresses) == 3
    assert all(a.startswith(network.host_address.rsplit(".", 1)[0] + ".") for a in addresses)
    # No default route inside: nothing can leave the private /24.
    routes = subprocess.run(
        ["ip", "-n", network.namespace("n1"), "route", "show"], capture_output=True, text=True
    ).stdout
    assert "default" not in routes
    assert _leftovers(prefix)
    assert (netns.STATE_DIR / f"{prefix}.lock").exists()
    network.destroy()
    network.destroy()  # idempotent
    deadline = time.monotonic() + 5
    while _leftovers(prefix) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _leftovers(prefix) == []
    assert not (netns.STATE_DIR / f"{prefix}.lock").exists()


@needs_netns
def test_partition_cuts_links_between_members_but_not_to_the_host(network: Network) -> None:
    server = _listener(network, "n2", 7000)
    try:
        assert _reaches(network, "n1", "n2", 7000)
        assert _reaches(network, "zk", "n2", 7000)
        network.partition([["n1"], ["n2", "zk"]])
        assert sorted(network.blackholes("n1")) == sorted(
            [network.address("n2"), network.address("zk")]
        )
        assert network.blackholes("n2") == [network.address("n1")]
        assert not _reaches(network, "n1", "n2", 7000)
        assert _reaches(network, "zk", "n2", 7000)
        assert _reaches(network, None, "n2", 7000)  # clients still reach everyone

        # A new partition replaces the old one.
        network.partition([["zk"]])
        assert _reaches(network, "n1", "n2", 7000)
        assert not _reaches(network, "zk", "n2", 7000)

        network.heal()
        assert network.cuts == set()
        assert all(network.blackholes(m) == [] for m in ("n1", "n2", "zk"))
        assert _reaches(network, "n1", "n2", 7000)
        assert _reaches(network, "zk", "n2", 7000)
    finally:
        server.kill()
        server.wait()


@needs_netns
def test_destroy_kills_what_runs_inside(network: Network) -> None:
    server = _listener(network, "n1", 7001)
    network.destroy()
    assert server.wait(10) == -signal.SIGKILL


@needs_netns
def test_stale_namespaces_of_a_crashed_run_are_removed(tmp_path: object) -> None:
    code = textwrap.dedent(
        """
        import sys, time
        from respcache.chaos.netns import Network
        net = Network(["n1", "n2"]).create()
        print(net.prefix, flush=True)
        time.sleep(600)
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    prefix = owner.stdout.readline().strip()
    try:
        assert prefix and _leftovers(prefix)
        assert prefix not in cleanup_stale()  # its owner lives: not stale
        assert _leftovers(prefix)
    finally:
        os.kill(owner.pid, signal.SIGKILL)  # a crash: no cleanup runs
        owner.wait()
    assert _leftovers(prefix)
    assert prefix in cleanup_stale()
    deadline = time.monotonic() + 5
    while _leftovers(prefix) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _leftovers(prefix) == []
