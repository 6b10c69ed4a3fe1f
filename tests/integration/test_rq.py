"""RQ (a job queue users install as is) against respcache: a real ``rq worker`` process
runs jobs and their results come back. RQ 2+/3 writes each job's result with XADD
inside the MULTI that finishes the job, so this needs streams."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

rq = pytest.importorskip("rq")
redis = pytest.importorskip("redis")

pytestmark = [pytest.mark.integration]

JOBS = '''
def add(a, b):
    return a + b

def fail():
    raise ValueError("boom")

def shout(text):
    return text.upper()
'''


def test_rq_worker_runs_jobs_and_returns_results(server_factory: Any, tmp_path: Path) -> None:
    server = server_factory.respcache({})
    (tmp_path / "rcjobs.py").write_text(JOBS)
    sys.path.insert(0, str(tmp_path))
    try:
        conn = redis.Redis(host=server.host, port=server.port)
        queue = rq.Queue("default", connection=conn)
        ok = queue.enqueue("rcjobs.add", 2, 3)
        bad = queue.enqueue("rcjobs.fail")
        then = queue.enqueue("rcjobs.shout", "after", depends_on=ok)
        env = {**os.environ, "PYTHONPATH": str(tmp_path)}
        worker = subprocess.run(
            [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url",
             f"redis://{server.host}:{server.port}", "default"],
            env=env, capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
        assert worker.returncode == 0, worker.stderr
        ok.refresh()
        assert ok.get_status() == "finished"
        assert ok.return_value() == 5
        assert ok.latest_result().type == rq.results.Result.Type.SUCCESSFUL
        bad.refresh()
        assert bad.get_status() == "failed"
        assert bad.id in rq.registry.FailedJobRegistry(queue=queue).get_job_ids()
        assert "boom" in (bad.latest_result().exc_string or "")
        then.refresh()
        assert then.get_status() == "finished" and then.return_value() == "AFTER"
    finally:
        sys.path.remove(str(tmp_path))
