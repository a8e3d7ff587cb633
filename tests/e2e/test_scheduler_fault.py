"""Fault: the scheduler is SIGKILLed while a run is in flight, then restarted.

The run must still succeed, and no task may run twice to completion: every task instance ends on its
first try and has no earlier try in its history.
"""

from __future__ import annotations

import signal
import time

import pytest

from platform_devkit.loopback.airflow_processes import LoopbackAirflow

pytestmark = pytest.mark.faults

DAG_ID = "e2e_long_run"
TASKS = ("first", "second", "third")


def test_run_survives_a_scheduler_kill(airflow_platform: LoopbackAirflow) -> None:
    """Kill the scheduler while ``first`` runs; the run succeeds with every task on its first try."""
    airflow_platform.api.wait_for_dag(DAG_ID)
    run_id = airflow_platform.api.trigger(DAG_ID)
    airflow_platform.api.wait_for_tasks(DAG_ID, run_id, ["first"], "running", timeout=180)

    scheduler = airflow_platform.processes["scheduler"]
    killed_pid = scheduler.pid
    airflow_platform.kill("scheduler", signal.SIGKILL)
    assert not scheduler.running()
    time.sleep(3)
    airflow_platform.restart("scheduler")
    assert scheduler.pid != killed_pid

    run = airflow_platform.api.wait_for_run(DAG_ID, run_id, timeout=300, interval=0.5)
    assert run["state"] == "success"
    instances = {ti["task_id"]: ti for ti in airflow_platform.api.task_instances(DAG_ID, run_id)}
    assert set(instances) == set(TASKS)
    for task_id, ti in instances.items():
        assert ti["state"] == "success", task_id
        assert ti["try_number"] == 1, f"{task_id} ran {ti['try_number']} times"
        tries = airflow_platform.api.task_tries(DAG_ID, run_id, task_id)
        assert [t["try_number"] for t in tries] == [1], task_id
