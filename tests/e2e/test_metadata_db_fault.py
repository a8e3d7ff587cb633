"""Fault: the metadata database's PostgreSQL is restarted (fast shutdown, then start) mid-run.

The session's PostgreSQL holds Airflow's metadata database and Celery result backend (and MLflow's
backend and the warehouse): a fast shutdown disconnects every session of every component at once.
``e2e_side_effect_steps`` runs three steps in a row, each writing one S3 object (one key per step,
overwritten by a retry); the server restarts while the first step runs.

Asserted: no Airflow process exits; the api-server reports the metadata database, the scheduler, the
triggerer and the dag-processor healthy again (``GET /api/v2/monitor/health``, heartbeats newer than the
restart) and the worker runs the later steps; the run succeeds; each task succeeded within the tries its
retries allow; each step's object exists exactly once and was written by the step's final try.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime

import pytest

from platform_devkit.loopback.airflow_processes import COMPONENTS, LoopbackAirflow
from platform_devkit.loopback.base import poll
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.loopback.s3 import S3Service

pytestmark = pytest.mark.faults

DAG_ID = "e2e_side_effect_steps"
STEPS = ("first", "second", "third")
HEARTBEATING = ("scheduler", "triggerer", "dag_processor")


def _postmaster_start_time(postgres: PostgresService) -> datetime:
    """Return when the PostgreSQL server started (a restart moves it)."""
    with contextlib.closing(postgres.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_postmaster_start_time()")
        row = cur.fetchone()
    assert row is not None
    return row[0]


def _healthy_since(platform: LoopbackAirflow, since: datetime) -> bool:
    """Tell whether the metadata database and every heartbeating component are healthy after ``since``."""
    try:
        health = platform.api.health()
    except Exception:  # the api-server answers 5xx or not at all while it reconnects
        return False
    return health["metadatabase"]["status"] == "healthy" and all(
        platform.api.component_healthy(name, since=since) for name in HEARTBEATING
    )


def test_run_survives_a_metadata_database_restart(
    airflow_platform: LoopbackAirflow,
    postgres: PostgresService,
    s3: S3Service,
    e2e_timings: dict[str, float],
) -> None:
    """Restart PostgreSQL while the first step runs; Airflow recovers and each step's object exists once."""
    api = airflow_platform.api
    api.wait_for_dag(DAG_ID)
    run_id = api.trigger(DAG_ID)
    api.wait_for_tasks(DAG_ID, run_id, ["first"], "running", timeout=180)

    server_started = _postmaster_start_time(postgres)
    restarted_at = datetime.now(UTC)
    started = time.monotonic()
    e2e_timings["metadata_db_restart_s"] = postgres.restart()
    assert _postmaster_start_time(postgres) > server_started
    poll(
        lambda: _healthy_since(airflow_platform, restarted_at),
        timeout=120,
        interval=0.5,
        failure=lambda _: f"Airflow did not recover: {api.health()}",
        error=AssertionError,
    )
    e2e_timings["metadata_db_restart_to_airflow_healthy_s"] = time.monotonic() - started
    exited = [name for name in COMPONENTS if not airflow_platform.processes[name].running()]
    assert not exited, f"exited after the database restart: {exited}"

    run = api.wait_for_run(DAG_ID, run_id, timeout=240, interval=0.5)
    e2e_timings["metadata_db_restart_to_run_end_s"] = time.monotonic() - started
    assert run["state"] == "success", api.task_states(DAG_ID, run_id)
    tries = {task_id: api.task_tries(DAG_ID, run_id, task_id) for task_id in STEPS}
    instances = {ti["task_id"]: ti for ti in api.task_instances(DAG_ID, run_id)}
    for task_id in STEPS:
        ti = instances[task_id]
        assert ti["state"] == "success", task_id
        assert 1 <= ti["try_number"] <= ti["max_tries"] + 1, (task_id, ti["try_number"], ti["max_tries"])
        assert [t["try_number"] for t in tries[task_id]] == list(range(1, ti["try_number"] + 1)), tries
    print("tries after the database restart:", {task: instances[task]["try_number"] for task in STEPS})

    client = s3.client()
    prefix = f"e2e-faults/{run_id}/"
    listed = client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix).get("Contents", [])
    assert sorted(item["Key"] for item in listed) == sorted(f"{prefix}{task_id}.json" for task_id in STEPS)
    for task_id in STEPS:
        body = json.loads(client.get_object(Bucket=s3.bucket, Key=f"{prefix}{task_id}.json")["Body"].read())
        assert body == {"run_id": run_id, "task_id": task_id, "try_number": instances[task_id]["try_number"]}
