"""A failing AOF write refuses writes with MISCONF until a write succeeds again.

The disk is "full" by ``RLIMIT_FSIZE``, set on the running server with ``prlimit``
(Python ignores SIGXFSZ, so the write fails with EFBIG, or comes out short): Redis's
``flushAppendOnlyFile`` then keeps the buffer, records the error
(``aof_last_write_status:err``) and ``writeCommandsDeniedByDiskError`` refuses writes
and PING with ``-MISCONF Errors writing to the AOF file: <strerror>``. Raising the
limit again lets the retry (every cron) succeed and the writes are accepted again.
"""

from __future__ import annotations

import os
import resource
import sys
from typing import Any

import pytest
import redis
from support import ServerFactory, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prlimit is Linux only"),
]

MISCONF = (
    "MISCONF Errors writing to the AOF file: No space left on device",
    "MISCONF Errors writing to the AOF file: File too large",
)


def _status(r: Any) -> str:
    return str(r.info("persistence")["aof_last_write_status"])


def _incr_size(workdir: Any) -> int:
    return sum(p.stat().st_size for p in (workdir / "appendonlydir").glob("*.incr.aof"))


@pytest.mark.parametrize("fsync", ["everysec", "no"])
def test_aof_write_error_refuses_writes_until_it_recovers(
    server_factory: ServerFactory, fsync: str
) -> None:
    server = server_factory.respcache({"appendonly": "yes", "appendfsync": fsync})
    r = server.client()
    assert r.set("before", "1") is True
    assert _status(r) == "ok"
    soft, hard = resource.prlimit(server.pid, resource.RLIMIT_FSIZE)
    size = _incr_size(server.workdir)
    resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (size + 100, hard))
    try:
        r.set("big", "x" * 10_000)  # its own reply is already on its way (as Redis)
        assert wait_until(lambda: _status(r) == "err")
        with pytest.raises(redis.ResponseError) as refused:
            r.set("refused", "1")
        assert str(refused.value) in MISCONF
        with pytest.raises(redis.ResponseError) as refused_ping:
            r.ping()
        assert str(refused_ping.value) == str(refused.value)
        assert r.get("before") == b"1"  # reads still served
        assert _incr_size(server.workdir) == size  # the short write was cut off again
    finally:
        resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (soft, hard))
    assert wait_until(lambda: _status(r) == "ok")  # the cron's retry wrote the buffer
    assert r.set("after", "1") is True
    assert r.ping() is True
    server.restart()
    r = server.client()
    assert r.get("big") == b"x" * 10_000
    assert r.get("after") == b"1"
    assert r.get("refused") is None
    assert os.path.isdir(server.workdir / "appendonlydir")


def test_aof_write_error_with_fsync_always_exits(server_factory: ServerFactory) -> None:
    """``always`` cannot recover (the reply may not be sent before the data is on disk):
    Redis logs it and exits 1, and so does respcache; the failed write is not replied."""
    server = server_factory.respcache({"appendonly": "yes", "appendfsync": "always"})
    r = server.client()
    assert r.set("before", "1") is True
    _soft, hard = resource.prlimit(server.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (_incr_size(server.workdir) + 100, hard))
    with pytest.raises(redis.ConnectionError):
        r.set("big", "x" * 10_000)
    assert server.wait(10) == 1  # (its log is cut short: the limit applies to it too)
