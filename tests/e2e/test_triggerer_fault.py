"""Fault: the triggerer is SIGKILLed while three MLflow sensors are deferred to it, then restarted.

``e2e_deferred_sensors`` runs three of the platform's deferrable ``MLflowRunCompleteSensor``, each on its
own RUNNING MLflow run of the session's server. Once every sensor is deferred and its trigger is held by
the running triggerer, the triggerer's processes are SIGKILLed and a new triggerer is started; its job
takes the dead one's triggers once the dead job's heartbeat is older than ``[triggerer]
triggerer_health_check_threshold``. Then the MLflow runs finish.

Asserted: the killed triggerer's processes are gone; the run succeeds; each sensor's trigger moved to
the new triggerer job; each sensor ran once (try 1, its tries history ``[1]``); each task log shows the
sensor deferred (``Pausing task as DEFERRED``), merges the new triggerer job's trigger log, and shows the
trigger fired (``Trigger fired event``) on the sensor's own run - the end-to-end proof that the
platform's sensors wait in the triggerer.
"""

from __future__ import annotations

import signal
import time

import pytest

from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.mlflow import MlflowService

from .conftest import DEFERRED_SENSORS_DAG as DAG_ID
from .conftest import SENSORS, DeferredSensors, survivors

pytestmark = pytest.mark.faults


def test_deferred_sensors_survive_a_triggerer_kill(
    airflow_platform: LoopbackAirflow,
    mlflow_server: MlflowService,
    deferred_sensors: DeferredSensors,
    e2e_timings: dict[str, float],
) -> None:
    """Kill the triggerer under three deferred sensors; each still completes once, through a trigger."""
    api = airflow_platform.api
    run_id = deferred_sensors.run_id
    old_jobs = set(deferred_sensors.trigger_jobs.values())

    triggerer_pid = airflow_platform.processes["triggerer"].pid
    killed = time.monotonic()
    pids = airflow_platform.kill("triggerer", signal.SIGKILL)
    assert pids[:1] == [triggerer_pid], f"the triggerer ({triggerer_pid}) was not running: {pids}"
    assert not survivors(pids), f"processes of the killed triggerer survived: {survivors(pids)}"
    airflow_platform.restart("triggerer")
    e2e_timings["triggerer_kill_to_restarted_s"] = time.monotonic() - killed
    new_jobs = api.wait_for_triggers(DAG_ID, run_id, SENSORS, not_by=old_jobs, timeout=120)
    e2e_timings["triggerer_kill_to_triggers_reassigned_s"] = time.monotonic() - killed
    assert len(set(new_jobs.values())) == 1, new_jobs
    assert api.task_states(DAG_ID, run_id) == dict.fromkeys(SENSORS, "deferred")

    for mlflow_run in deferred_sensors.mlflow_runs:
        mlflow_server.end_run(mlflow_run, "FINISHED")
    run = api.wait_for_run(DAG_ID, run_id, timeout=120, interval=0.5)
    assert run["state"] == "success", api.task_states(DAG_ID, run_id)
    logs = deferred_sensors.assert_each_ran_once_through_a_trigger(airflow_platform)
    for task_id, mlflow_run in zip(SENSORS, deferred_sensors.mlflow_runs, strict=True):
        # The log merges one file per triggerer job that ran the trigger: the new job's is among them.
        assert f".trigger.{new_jobs[task_id]}.log" in logs[task_id], (task_id, logs[task_id][:2000])
        assert f"MLflow run '{mlflow_run}' finished" in logs[task_id], (task_id, logs[task_id][-3000:])
