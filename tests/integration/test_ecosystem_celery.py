"""Celery (kombu's Redis transport as broker, the Redis result backend) against
respcache: an in-process worker (``celery.contrib.testing.worker.start_worker``)
runs tasks and their results come back through ``AsyncResult.get``, including a
failing task, a chord (its counter is INCR/EXPIRE on the backend), a countdown
task (kombu's unacked/visibility bookkeeping in sorted sets) and remote control
(``control.ping``/``inspect``: a fanout over pub/sub, replies on a reply queue)."""

from __future__ import annotations

from typing import Any

import pytest

celery = pytest.importorskip("celery")
pytest.importorskip("redis")
from support import respcache_is_redis  # noqa: E402

pytestmark = [pytest.mark.integration]


def test_celery_worker_runs_tasks_and_returns_results(respcache_server: Any) -> None:
    from celery.contrib.testing.worker import start_worker

    url = f"redis://{respcache_server.host}:{respcache_server.port}"
    app = celery.Celery("rcapp", broker=f"{url}/0", backend=f"{url}/1")
    app.conf.update(
        task_default_queue="rc-celery",
        broker_connection_retry_on_startup=True,
        result_expires=300,
        worker_hijack_root_logger=False,
    )

    @app.task(name="rc.add")
    def add(a: int, b: int) -> int:
        return a + b

    @app.task(name="rc.total")
    def total(values: list[int]) -> int:
        return sum(values)

    @app.task(name="rc.fail")
    def fail() -> None:
        raise ValueError("boom")

    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=10):  # fmt: skip
        assert add.delay(2, 3).get(timeout=15) == 5
        many = [add.delay(i, i) for i in range(10)]
        assert [r.get(timeout=15) for r in many] == [2 * i for i in range(10)]
        bad = fail.delay()
        with pytest.raises(ValueError, match="boom"):
            bad.get(timeout=15)
        assert bad.state == "FAILURE"
        chord = celery.chord(add.s(i, 1) for i in range(5))(total.s())
        assert chord.get(timeout=15) == sum(i + 1 for i in range(5))
        later = add.apply_async((20, 22), countdown=1)
        assert later.get(timeout=15) == 42
        assert later.state == "SUCCESS"
        # remote control: a fanout (PUBLISH to the pidbox exchange), replies by queue
        replies = app.control.ping(timeout=5, limit=1)
        assert len(replies) == 1 and next(iter(replies[0].values())) == {"ok": "pong"}
        registered = app.control.inspect(timeout=5, limit=1).registered()
        assert registered and "rc.add" in next(iter(registered.values()))
    app.close()


@pytest.mark.skipif(respcache_is_redis(), reason="redis-server is not a Sentinel")
@pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")  # celery's
def test_celery_through_sentinel(server_factory: Any) -> None:
    """``sentinel://`` broker and backend URLs: kombu and the backend ask respcache
    (answering as a Sentinel) where the master is."""
    from celery.contrib.testing.worker import start_worker

    server = server_factory.respcache(cluster_name="rccelery")
    url = f"sentinel://{server.host}:{server.port}"
    app = celery.Celery("rcsentinel", broker=url, backend=f"{url}/1")
    app.conf.update(
        broker_transport_options={"master_name": "rccelery"},
        result_backend_transport_options={"master_name": "rccelery"},
        task_default_queue="rc-celery-sentinel",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @app.task(name="rcs.add")
    def add(a: int, b: int) -> int:
        return a + b

    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=10):  # fmt: skip
        assert add.delay(20, 22).get(timeout=15) == 42
    app.close()
