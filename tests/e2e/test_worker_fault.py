"""Fault: the Celery worker is SIGKILLed mid-task, with every process it started, then restarted.

``e2e_worker_kill`` has one task, ``record_attempt`` (``retries=2``), whose side effect is idempotent by
design: it upserts one row keyed by the run id into the warehouse, adding one to ``attempts``, then
(first try only) blocks. Once the row shows the first attempt and the task runs, the worker is killed as
a lost node would be: its process group and the task's own process group (Airflow gives each task
runner one). The scheduler notices the silent task after ``[scheduler] task_instance_heartbeat_timeout``,
fails the try and retries it on the restarted worker.

Asserted: the killed processes (worker, task supervisor, task runner) are gone; the run succeeds; the
task ended on try 2 and its tries history is ``[1 failed, 2 success]``; the warehouse has exactly one row
for the run, with ``attempts = 2`` (the side effect was repeated by the retry, never doubled).
"""

from __future__ import annotations

import contextlib
import signal
import time

import psutil
import psycopg2
import pytest

from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.base import poll
from platform_devkit.loopback.postgres import PostgresService

from .conftest import WAREHOUSE_DATABASE, survivors

pytestmark = pytest.mark.faults

DAG_ID = "e2e_worker_kill"
TASK_ID = "record_attempt"
TABLE = "e2e_worker_fault_attempts"


def _attempt_rows(postgres: PostgresService, run_id: str) -> list[int]:
    """Return the ``attempts`` of every warehouse row of ``run_id`` (none before the task's first try)."""
    with contextlib.closing(postgres.connect(WAREHOUSE_DATABASE)) as conn, conn.cursor() as cur:
        try:
            cur.execute(f"SELECT attempts FROM {TABLE} WHERE run_id = %s", (run_id,))  # noqa: S608
        except psycopg2.errors.UndefinedTable:
            return []
        return [row[0] for row in cur.fetchall()]


def test_lost_worker_task_is_retried_once_with_its_side_effect_not_doubled(
    airflow_platform: LoopbackAirflow, postgres: PostgresService, e2e_timings: dict[str, float]
) -> None:
    """Kill the worker while the task's first try blocks; the retry succeeds and the row counts 2."""
    api = airflow_platform.api
    api.wait_for_dag(DAG_ID)
    run_id = api.trigger(DAG_ID)
    api.wait_for_tasks(DAG_ID, run_id, [TASK_ID], "running", timeout=180)
    poll(
        lambda: _attempt_rows(postgres, run_id),
        until=lambda rows: rows == [1],
        timeout=60,
        interval=0.5,
        failure=lambda rows: f"no first attempt recorded: {rows}",
        error=AssertionError,
    )

    first = api.task_instance(DAG_ID, run_id, TASK_ID)
    assert (first["state"], first["try_number"]) == ("running", 1)
    worker_pid = airflow_platform.processes["celery-worker"].pid
    assert worker_pid is not None
    runner_pid = first["pid"]
    worker_tree = {child.pid for child in psutil.Process(worker_pid).children(recursive=True)}
    assert runner_pid in worker_tree, f"task runner {runner_pid} is not under the worker {worker_pid}"
    assert psutil.Process(runner_pid).ppid() in worker_tree  # its supervisor, a worker's pool process

    killed_at = time.monotonic()
    killed = airflow_platform.kill("celery-worker", signal.SIGKILL)
    assert {worker_pid, runner_pid} <= set(killed), killed
    assert not survivors(killed), "processes of the killed worker survived"
    airflow_platform.restart("celery-worker")

    poll(
        lambda: api.task_instance(DAG_ID, run_id, TASK_ID)["try_number"],
        until=lambda try_number: try_number != 1,
        timeout=180,
        interval=0.5,
        failure=lambda _: "the lost try was never failed by the scheduler",
        error=AssertionError,
    )
    e2e_timings["worker_kill_to_retry_scheduled_s"] = time.monotonic() - killed_at
    run = api.wait_for_run(DAG_ID, run_id, timeout=180, interval=0.5)
    e2e_timings["worker_kill_to_run_success_s"] = time.monotonic() - killed_at

    assert run["state"] == "success", api.task_states(DAG_ID, run_id)
    ti = api.task_instance(DAG_ID, run_id, TASK_ID)
    assert (ti["state"], ti["try_number"]) == ("success", 2)
    tries = [(t["try_number"], t["state"]) for t in api.task_tries(DAG_ID, run_id, TASK_ID)]
    assert tries == [(1, "failed"), (2, "success")], tries
    assert _attempt_rows(postgres, run_id) == [2]
