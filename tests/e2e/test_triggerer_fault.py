"""Fault: the triggerer is SIGKILLed while three MLflow sensors are deferred to it, then restarted.

``e2e_deferred_sensors`` runs three of the platform's deferrable ``MLflowRunCompleteSensor``, each on its
own RUNNING MLflow run of the session's server. Once every sensor is deferred and its trigger is held by
the running triggerer, the triggerer's processes are SIGKILLed and a new triggerer is started; its job
takes the dead one's triggers once the dead job's heartbeat is older than ``[triggerer]
triggerer_health_check_threshold``. Then the MLflow runs finish.

Asserted: the run succeeds; each sensor's trigger moved to the new triggerer job; each sensor ran once
(try 1, its tries history ``[1]``); each task log shows the sensor deferred (``Pausing task as
DEFERRED``), merges the new triggerer job's trigger log, and shows the trigger fired (``Trigger fired
event``) on the sensor's own run - the end-to-end proof that the platform's sensors wait in the triggerer.
"""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.mlflow import MlflowService

pytestmark = pytest.mark.faults

DAG_ID = "e2e_deferred_sensors"
SENSORS = tuple(f"wait_for_run_{index}" for index in range(3))


def test_deferred_sensors_survive_a_triggerer_kill(
    airflow_platform: LoopbackAirflow, mlflow_server: MlflowService, e2e_timings: dict[str, float]
) -> None:
    """Kill the triggerer under three deferred sensors; each still completes once, through a trigger."""
    api = airflow_platform.api
    api.wait_for_dag(DAG_ID)
    mlflow_runs = [mlflow_server.create_run(f"e2e-faults-{uuid.uuid4().hex[:8]}") for _ in SENSORS]
    run_id = api.trigger(DAG_ID, {"mlflow_run_ids": mlflow_runs})
    api.wait_for_tasks(DAG_ID, run_id, SENSORS, "deferred", timeout=180)
    old_jobs = set(api.wait_for_triggers(DAG_ID, run_id, SENSORS, timeout=60).values())

    killed = time.monotonic()
    airflow_platform.kill("triggerer", signal.SIGKILL)
    assert not airflow_platform.processes["triggerer"].running()
    airflow_platform.restart("triggerer")
    e2e_timings["triggerer_kill_to_restarted_s"] = time.monotonic() - killed
    new_jobs = api.wait_for_triggers(DAG_ID, run_id, SENSORS, not_by=old_jobs, timeout=120)
    e2e_timings["triggerer_kill_to_triggers_reassigned_s"] = time.monotonic() - killed
    assert len(set(new_jobs.values())) == 1, new_jobs
    assert api.task_states(DAG_ID, run_id) == dict.fromkeys(SENSORS, "deferred")

    for mlflow_run in mlflow_runs:
        mlflow_server.end_run(mlflow_run, "FINISHED")
    run = api.wait_for_run(DAG_ID, run_id, timeout=120, interval=0.5)
    assert run["state"] == "success", api.task_states(DAG_ID, run_id)
    for task_id, mlflow_run in zip(SENSORS, mlflow_runs, strict=True):
        ti = api.task_instance(DAG_ID, run_id, task_id)
        assert (ti["state"], ti["try_number"]) == ("success", 1), task_id
        assert [t["try_number"] for t in api.task_tries(DAG_ID, run_id, task_id)] == [1], task_id
        log = api.task_log(DAG_ID, run_id, task_id, 1)
        assert "Pausing task as DEFERRED" in log, (task_id, log[-3000:])
        assert "Trigger fired event" in log, (task_id, log[-3000:])
        # The log merges one file per triggerer job that ran the trigger: the new job's is among them.
        assert f".trigger.{new_jobs[task_id]}.log" in log, (task_id, log[:2000])
        assert f"MLflow run '{mlflow_run}' finished" in log, (task_id, log[-3000:])
