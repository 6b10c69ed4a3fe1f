"""Top-level fixtures: real server processes on free loopback ports, and clients.

Servers (:class:`support.ServerProcess`; ``.host``, ``.port``, ``.client()``,
``.async_client()``, ``.raw()``, ``.cli_args()``, ``.rss_bytes()``, ``.stop()``):

``respcache_server`` / ``redis_server``
    One process per test module (``--save '' --loglevel warning``; redis-server also
    ``--appendonly no``). Tests sharing them must not depend on an empty keyspace: use
    the ``key`` fixture for unique key names.
``fresh_respcache_server``
    A new respcache process for this test only.
``server_factory`` / ``module_server_factory``
    ``server_factory.respcache(maxclients=2, requirepass="s3cret")``,
    ``server_factory.redis(...)``: custom options (underscores become dashes, lists
    become several arguments, True/False become yes/no), stopped after the test
    (or the module).

Clients (redis-py, closed after the test): ``client`` (RESP2) and ``client3``
(RESP3, ``protocol=3``) on ``respcache_server``, ``redis_client`` on ``redis_server``,
``raw`` (a :class:`support.RawConnection` to ``respcache_server``). Asyncio clients:
``respcache_server.async_client()`` inside ``asyncio.run(...)``.

Every process is killed even when a test fails or times out (fixture teardown,
``atexit``, and ``PR_SET_PDEATHSIG`` if pytest itself dies); when a test fails,
the logs of the servers still running are added to its report.

``RCTEST_IMPL=redis pytest tests/integration`` runs the "respcache" servers as
redis-server: the tests checked against the oracle. Hypothesis profiles:
``HYPOTHESIS_PROFILE=ci`` (the default when ``CI`` is set: derandomized), ``dev``.

``@pytest.mark.slow`` marks soak and long-fuzz runs whose coverage the default run has
too (e.g. the chaos run with a random seed, next to the replayed regression seeds). They
are skipped, saying so, unless ``--runslow`` or ``RCTEST_SLOW=1`` is given; CI does not
run them. A test that is merely long but covers something nothing else does is *not*
marked slow: it runs everywhere.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from support import RawConnection, ServerFactory, ServerProcess, failure_report, live_servers


def _cache_the_servers_bytecode() -> None:
    """Let the processes the tests start (servers, CLIs) cache their bytecode.

    With ``PYTHONDONTWRITEBYTECODE`` set (as in some CI and sandboxed shells) every
    ``python -m respcache`` compiled the whole package again: a start took 0.6-0.8 s
    instead of 0.2-0.4 s, a minute over the suite. The cache goes to a directory of its
    own (``PYTHONPYCACHEPREFIX``), not into the source tree; one set by the caller wins.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    prefix = Path(tempfile.gettempdir()) / f"respcache-tests-pycache-{os.getuid()}"
    os.environ.setdefault("PYTHONPYCACHEPREFIX", str(prefix))


_cache_the_servers_bytecode()

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow",
        action="store_true",
        default=False,
        help="also run the tests marked slow (soak and long-fuzz runs; or RCTEST_SLOW=1)",
    )


def run_slow(config: pytest.Config) -> bool:
    return bool(config.getoption("--runslow")) or os.environ.get("RCTEST_SLOW", "") not in (
        "",
        "0",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if run_slow(config):
        return
    skip = pytest.mark.skip(reason="slow (a soak run): --runslow or RCTEST_SLOW=1 runs it")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path / "servers")
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def module_server_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerFactory]:
    base = tmp_path_factory.mktemp(_safe_name(request.module.__name__))
    factory = ServerFactory(base)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def respcache_server(module_server_factory: ServerFactory) -> ServerProcess:
    return module_server_factory.respcache()


@pytest.fixture(scope="module")
def redis_server(module_server_factory: ServerFactory) -> ServerProcess:
    return module_server_factory.redis()


@pytest.fixture
def fresh_respcache_server(server_factory: ServerFactory) -> ServerProcess:
    return server_factory.respcache()


@pytest.fixture
def client(respcache_server: ServerProcess) -> Iterator[Any]:
    conn = respcache_server.client()
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def client3(respcache_server: ServerProcess) -> Iterator[Any]:
    conn = respcache_server.client(protocol=3)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def redis_client(redis_server: ServerProcess) -> Iterator[Any]:
    conn = redis_server.client()
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def raw(respcache_server: ServerProcess) -> Iterator[RawConnection]:
    conn = respcache_server.raw()
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def key(request: pytest.FixtureRequest) -> bytes:
    """A key name unique to this test (for tests sharing a module-scoped server)."""
    return ("test:" + _safe_name(request.node.nodeid)).encode()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and report.when in ("setup", "call") and live_servers():
        report.sections.append(("server logs", failure_report()))
    return report
