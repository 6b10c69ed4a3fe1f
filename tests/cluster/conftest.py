"""Fixtures for tests against a real ZooKeeper (and, later, several respcache nodes).

* ``zookeeper``: one ZooKeeper for the whole session, on a free loopback port, always stopped.
* ``private_zookeeper``: a ZooKeeper of the test's own, for tests that stop or restart it.
* ``zk_cluster``: starts coordinators in a cluster name of their own and stops them after
  (see ``zk_helpers.py``, importable from the tests of this directory).

Coroutine tests in this directory run on a fresh event loop (no pytest-asyncio
needed); the ``aclose()`` of their fixtures runs on that loop after the test.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
from zk_helpers import TICK_MS, ZkCluster

from respcache.coordination.zkserver import ZooKeeperServer

TEST_TIMEOUT = 60.0


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    names = inspect.signature(func).parameters
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}

    async def main() -> None:
        try:
            await asyncio.wait_for(func(**kwargs), TEST_TIMEOUT)
        finally:
            for value in kwargs.values():
                aclose = getattr(value, "aclose", None)
                if aclose is not None and inspect.iscoroutinefunction(aclose):
                    await aclose()

    asyncio.run(main())
    return True


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper"), tick_time=TICK_MS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_zookeeper(tmp_path: Path) -> Iterator[ZooKeeperServer]:
    server = ZooKeeperServer(tmp_path / "zookeeper", tick_time=TICK_MS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def zk_cluster(zookeeper: ZooKeeperServer) -> ZkCluster:
    return ZkCluster(zookeeper)


@pytest.fixture
def private_zk_cluster(private_zookeeper: ZooKeeperServer) -> ZkCluster:
    return ZkCluster(private_zookeeper)
