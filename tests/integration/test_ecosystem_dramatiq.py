"""dramatiq (a task queue users install as is) against respcache: its RedisBroker
enqueues through a Lua "dispatch" script (EVALSHA), an in-process ``dramatiq.Worker``
consumes, acks, retries and stores results with the Results middleware."""

from __future__ import annotations

from typing import Any

import pytest

dramatiq = pytest.importorskip("dramatiq")
pytest.importorskip("redis")

pytestmark = [pytest.mark.integration]


def test_dramatiq_worker_runs_actors_and_stores_results(respcache_server: Any) -> None:
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.results import Results
    from dramatiq.results.backends.redis import RedisBackend

    url = f"redis://{respcache_server.host}:{respcache_server.port}/0"
    broker = RedisBroker(url=url, namespace="rc-dramatiq")
    backend = RedisBackend(url=url, namespace="rc-dramatiq-results")
    broker.add_middleware(Results(backend=backend))
    dramatiq.set_broker(broker)
    seen: list[int] = []
    attempts: list[int] = []

    @dramatiq.actor(broker=broker, store_results=True, max_retries=0)
    def add(a: int, b: int) -> int:
        seen.append(a)
        return a + b

    @dramatiq.actor(broker=broker, max_retries=1, min_backoff=10, max_backoff=20)
    def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first time fails")

    messages = [add.send(i, 10) for i in range(20)]
    flaky.send()
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        results = [m.get_result(block=True, timeout=15_000) for m in messages]
        assert results == [i + 10 for i in range(20)]
        broker.join(add.queue_name, timeout=15_000)
        worker.join()
        assert sorted(seen) == list(range(20))  # each message ran exactly once
        assert len(attempts) == 2  # failed, retried, succeeded
    finally:
        worker.stop()
        broker.close()
