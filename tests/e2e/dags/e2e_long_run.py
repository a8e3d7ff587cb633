"""End-to-end test DAG for the scheduler fault test: three sequential steps that outlive a scheduler kill.

Each step sleeps a few seconds, so the test can SIGKILL the scheduler while a step runs on the Celery
worker and restart it; the run must still succeed with every task run exactly once.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

STEP_SECONDS = 8


@dag(
    dag_id="e2e_long_run",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "platform-e2e", "retries": 2, "retry_delay": timedelta(seconds=5)},
    tags=["e2e", "fault"],
)
def e2e_long_run():
    """Three steps in a row, each a few seconds long."""

    @task
    def step(number: int) -> int:
        """Sleep, then pass the step number on."""
        time.sleep(STEP_SECONDS)
        return number

    (
        step.override(task_id="first")(1)
        >> step.override(task_id="second")(2)
        >> step.override(task_id="third")(3)
    )


e2e_long_run()
