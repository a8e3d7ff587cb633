"""Fault: the scheduler is SIGKILLed while a run is in flight, then restarted.

The run must still succeed, and no task may run twice to completion: every task instance ends on its
first try and has no earlier try in its history.
"""

from __future__ import annotations

import signal
import time

from platform_devkit.loopback.airflow_processes import LoopbackAirflow

DAG_ID = "e2e_long_run"
TASKS = ("first", "second", "third")


def _wait_for_running(platform: LoopbackAirflow, run_id: str, task_id: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = {ti["task_id"]: ti["state"] for ti in platform.api.task_instances(DAG_ID, run_id)}
        if states.get(task_id) == "running":
            return
        time.sleep(0.5)
    raise TimeoutError(f"{task_id} never ran: {states}")


def test_run_survives_a_scheduler_kill(airflow_platform: LoopbackAirflow) -> None:
    airflow_platform.api.wait_for_dag(DAG_ID)
    run_id = airflow_platform.api.trigger(DAG_ID)
    _wait_for_running(airflow_platform, run_id, "first")

    scheduler = airflow_platform.processes["scheduler"]
    killed_pid = scheduler.pid
    airflow_platform.kill("scheduler", signal.SIGKILL)
    assert not scheduler.running()
    time.sleep(3)
    airflow_platform.restart("scheduler")
    assert scheduler.pid != killed_pid

    run = airflow_platform.api.wait_for_run(DAG_ID, run_id, timeout=300)
    assert run["state"] == "success"
    instances = {ti["task_id"]: ti for ti in airflow_platform.api.task_instances(DAG_ID, run_id)}
    assert set(instances) == set(TASKS)
    with airflow_platform.api.http() as client:
        for task_id, ti in instances.items():
            assert ti["state"] == "success", task_id
            assert ti["try_number"] == 1, f"{task_id} ran {ti['try_number']} times"
            tries = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/tries")
            assert tries.status_code == 200
            assert [t["try_number"] for t in tries.json()["task_instances"]] == [1], task_id
