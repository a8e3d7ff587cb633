"""End-to-end test DAG for the triggerer and MLflow fault tests: three deferred MLflow sensors.

Each ``wait_for_run_<n>`` is the platform's deferrable ``MLflowRunCompleteSensor`` on its own MLflow
run, whose id the test passes in the run's conf (``{"mlflow_run_ids": [id0, id1, id2]}``, the
``mlflow_run_ids`` param). The sensors poke once, find the run still RUNNING and defer; their triggers
share one poller in the triggerer, which asks the server every second and backs off (0.5 s to 2 s) after
a transient error.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag

from airflow_platform.sensors.mlflow import MLflowRunCompleteSensor

SENSORS = 3


@dag(
    dag_id="e2e_deferred_sensors",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "platform-e2e", "retries": 2, "retry_delay": timedelta(seconds=5)},
    params={
        "mlflow_run_ids": Param(
            [""] * SENSORS,
            type="array",
            items={"type": "string"},
            minItems=SENSORS,
            maxItems=SENSORS,
            description="The MLflow run each sensor waits for.",
        )
    },
    tags=["e2e", "fault"],
)
def e2e_deferred_sensors():
    """Wait, in the triggerer, for three MLflow runs to finish."""
    for index in range(SENSORS):
        MLflowRunCompleteSensor(
            task_id=f"wait_for_run_{index}",
            run_id=f"{{{{ params.mlflow_run_ids[{index}] }}}}",
            deferrable=True,
            poke_interval=1,
            timeout=600,
            backoff_initial=0.5,
            backoff_max=2.0,
        )


e2e_deferred_sensors()
