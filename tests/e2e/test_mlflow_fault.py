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
import uuid

import httpx
import pytest

from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.mlflow import MlflowService

pytestmark = pytest.mark.faults

DAG_ID = "e2e_deferred_sensors"
SENSORS = tuple(f"wait_for_run_{index}" for index in range(3))
TRANSIENT = "Transient MLflow error"


def _server_is_down(uri: str) -> bool:
    """Tell whether the MLflow server refuses connections."""
    try:
        httpx.get(f"{uri}/health", timeout=1)
    except httpx.TransportError:
        return True
    return False


def _sensor_logs(platform: LoopbackAirflow, run_id: str) -> dict[str, str]:
    """Return the log of each sensor's first try (worker and triggerer lines)."""
    return {task_id: platform.api.task_log(DAG_ID, run_id, task_id, 1) for task_id in SENSORS}


def test_deferred_sensors_survive_an_mlflow_server_restart(
    airflow_platform: LoopbackAirflow,
    mlflow_server: MlflowService,
    mlflow_token: str,
    e2e_timings: dict[str, float],
) -> None:
    """Stop MLflow under three deferred sensors; they back off, then complete once the server is back."""
    api = airflow_platform.api
    api.wait_for_dag(DAG_ID)
    mlflow_runs = [mlflow_server.create_run(f"e2e-faults-{uuid.uuid4().hex[:8]}") for _ in SENSORS]
    run_id = api.trigger(DAG_ID, {"mlflow_run_ids": mlflow_runs})
    api.wait_for_tasks(DAG_ID, run_id, SENSORS, "deferred", timeout=180)
    api.wait_for_triggers(DAG_ID, run_id, SENSORS, timeout=60)

    stopped = time.monotonic()
    mlflow_server.stop()
    e2e_timings["mlflow_stop_s"] = time.monotonic() - stopped
    assert _server_is_down(mlflow_server.tracking_uri)
    deadline = time.monotonic() + 60
    while not any(TRANSIENT in log for log in _sensor_logs(airflow_platform, run_id).values()):
        assert time.monotonic() < deadline, "no transient MLflow error logged while the server was down"
        time.sleep(1)
    e2e_timings["mlflow_stop_to_transient_error_logged_s"] = time.monotonic() - stopped
    e2e_timings["mlflow_restart_s"] = mlflow_server.start()
    assert api.task_states(DAG_ID, run_id) == dict.fromkeys(SENSORS, "deferred")

    for mlflow_run in mlflow_runs:
        mlflow_server.end_run(mlflow_run, "FINISHED")
    finished = time.monotonic()
    run = api.wait_for_run(DAG_ID, run_id, timeout=120, interval=0.5)
    e2e_timings["mlflow_runs_finished_to_dag_run_success_s"] = time.monotonic() - finished
    assert run["state"] == "success", api.task_states(DAG_ID, run_id)

    logs = _sensor_logs(airflow_platform, run_id)
    for task_id in SENSORS:
        ti = api.task_instance(DAG_ID, run_id, task_id)
        assert (ti["state"], ti["try_number"]) == ("success", 1), task_id
        assert [t["try_number"] for t in api.task_tries(DAG_ID, run_id, task_id)] == [1], task_id
        assert "Pausing task as DEFERRED" in logs[task_id], (task_id, logs[task_id][-3000:])
        assert "Trigger fired event" in logs[task_id], (task_id, logs[task_id][-3000:])
    assert any(TRANSIENT in log for log in logs.values())
    process_logs = [airflow_platform.processes[name].log_path.read_text(errors="replace")
                    for name in ("triggerer", "celery-worker")]  # fmt: skip
    leaked = [mlflow_token in text for text in (*logs.values(), *process_logs)]
    assert not any(leaked), f"the connection's token is in a log (sensor logs, triggerer, worker): {leaked}"
