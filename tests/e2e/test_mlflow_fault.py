"""Fault: the MLflow server stops while three MLflow sensors are deferred on the real Airflow, then returns.

``e2e_deferred_sensors`` runs three of the platform's deferrable ``MLflowRunCompleteSensor``, each on
its own RUNNING MLflow run. Once their triggers run in the triggerer, the session's MLflow server is
stopped; the triggers' shared poller meets refused connections, logs them as transient and backs off.
The server is started again on the same port and the runs finish.

Asserted: the run succeeds; each sensor ran once (try 1, tries history ``[1]``), deferred and was
resumed by its trigger; the transient error is in the sensors' logs (the poller logs it once per failed
poll, in the log of the trigger that started the poller); the ``mlflow_default`` connection's bearer
token is in none of the sensors' logs nor the triggerer's or worker's own logs.
"""

from __future__ import annotations

import time

import pytest

from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.base import poll
from platform_devkit.loopback.mlflow import MlflowService

from .conftest import DEFERRED_SENSORS_DAG as DAG_ID
from .conftest import SENSORS, DeferredSensors

pytestmark = pytest.mark.faults

TRANSIENT = "Transient MLflow error"


def test_deferred_sensors_survive_an_mlflow_server_restart(
    airflow_platform: LoopbackAirflow,
    mlflow_server: MlflowService,
    deferred_sensors: DeferredSensors,
    mlflow_token: str,
    e2e_timings: dict[str, float],
) -> None:
    """Stop MLflow under three deferred sensors; they back off, then complete once the server is back."""
    api = airflow_platform.api
    run_id = deferred_sensors.run_id

    stopped = time.monotonic()
    mlflow_server.stop()
    e2e_timings["mlflow_stop_s"] = time.monotonic() - stopped
    assert mlflow_server.is_down()
    poll(
        lambda: any(TRANSIENT in api.task_log(DAG_ID, run_id, task_id, 1) for task_id in SENSORS),
        timeout=60,
        interval=1,
        failure=lambda _: "no transient MLflow error logged while the server was down",
        error=AssertionError,
    )
    e2e_timings["mlflow_stop_to_transient_error_logged_s"] = time.monotonic() - stopped
    e2e_timings["mlflow_restart_s"] = mlflow_server.start()
    assert api.task_states(DAG_ID, run_id) == dict.fromkeys(SENSORS, "deferred")

    for mlflow_run in deferred_sensors.mlflow_runs:
        mlflow_server.end_run(mlflow_run, "FINISHED")
    finished = time.monotonic()
    run = api.wait_for_run(DAG_ID, run_id, timeout=120, interval=0.5)
    e2e_timings["mlflow_runs_finished_to_dag_run_success_s"] = time.monotonic() - finished
    assert run["state"] == "success", api.task_states(DAG_ID, run_id)

    logs = deferred_sensors.assert_each_ran_once_through_a_trigger(airflow_platform)
    assert any(TRANSIENT in log for log in logs.values())
    process_logs = [airflow_platform.processes[name].log_path.read_text(errors="replace")
                    for name in ("triggerer", "celery-worker")]  # fmt: skip
    leaked = [mlflow_token in text for text in (*logs.values(), *process_logs)]
    assert not any(leaked), f"the connection's token is in a log (sensor logs, triggerer, worker): {leaked}"
