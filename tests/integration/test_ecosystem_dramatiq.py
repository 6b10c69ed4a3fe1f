"""dramatiq (a task queue users install as is) against respcache: its RedisBroker
enqueues through a Lua "dispatch" script (EVALSHA), an in-process ``dramatiq.Worker``
consumes, acks, retries and stores results with the Results middleware; its
rate limiters and barrier (Lua scripts), pipelines and groups."""

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


def test_dramatiq_rate_limiters_barrier_and_pipeline(respcache_server: Any) -> None:
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.rate_limits import (
        Barrier,
        BucketRateLimiter,
        ConcurrentRateLimiter,
        WindowRateLimiter,
    )
    from dramatiq.rate_limits.backends import RedisBackend as RateLimitBackend
    from dramatiq.results import Results
    from dramatiq.results.backends.redis import RedisBackend

    url = f"redis://{respcache_server.host}:{respcache_server.port}/1"
    limits = RateLimitBackend(url=url)
    mutex = ConcurrentRateLimiter(limits, "mutex", limit=1)
    with (
        mutex.acquire(raise_on_failure=False) as first,
        mutex.acquire(raise_on_failure=False) as second,
    ):
        assert (first, second) == (True, False)
    with mutex.acquire(raise_on_failure=False) as again:
        assert again
    window = WindowRateLimiter(limits, "window", limit=3, window=60)
    got = []
    for _ in range(5):
        with window.acquire(raise_on_failure=False) as ok:
            got.append(ok)
    assert got == [True, True, True, False, False]
    bucket = BucketRateLimiter(limits, "bucket", limit=2, bucket=60_000)
    got = []
    for _ in range(3):
        with bucket.acquire(raise_on_failure=False) as ok:
            got.append(ok)
    assert got == [True, True, False]
    barrier = Barrier(limits, "barrier", ttl=60_000)
    assert barrier.create(2) and not barrier.create(2)
    assert [barrier.wait(block=False), barrier.wait(block=False)] == [False, True]

    broker = RedisBroker(url=url, namespace="rc-dramatiq-pipe")
    broker.add_middleware(Results(backend=RedisBackend(url=url, namespace="rc-pipe-results")))
    dramatiq.set_broker(broker)

    @dramatiq.actor(broker=broker, store_results=True, max_retries=0)
    def inc(x: int) -> int:
        return x + 1

    pipe = dramatiq.pipeline([inc.message(1), inc.message(), inc.message()], broker=broker)
    group = dramatiq.group([inc.message(i) for i in range(4)], broker=broker)
    pipe.run()
    group.run()
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    try:
        assert pipe.get_result(block=True, timeout=15_000) == 4
        assert sorted(group.get_results(block=True, timeout=15_000)) == [1, 2, 3, 4]
    finally:
        worker.stop()
        broker.close()
