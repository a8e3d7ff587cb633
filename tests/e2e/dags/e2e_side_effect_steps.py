"""End-to-end test DAG for the metadata database fault test: three steps, each publishing one S3 object.

Each step works a few seconds (long enough for the test to restart PostgreSQL under it), then writes
``e2e-faults/<run id>/<task id>.json`` to the data lake bucket (variable ``data_lake_bucket``,
connection ``aws_default``): one key per step, overwritten by a retry, so a step's side effect exists
once whatever its tries. The object records the try that wrote it.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Variable, dag, task

STEP_SECONDS = 6
PREFIX = "e2e-faults"


@dag(
    dag_id="e2e_side_effect_steps",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "platform-e2e", "retries": 2, "retry_delay": timedelta(seconds=2)},
    tags=["e2e", "fault"],
)
def e2e_side_effect_steps():
    """Three steps in a row, each publishing its result to S3."""

    @task
    def step(**context: Any) -> str:
        """Work a few seconds, then write this step's object (same key on every try); return its key."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        time.sleep(STEP_SECONDS)
        ti = context["ti"]
        key = f"{PREFIX}/{context['run_id']}/{ti.task_id}.json"
        body = {"run_id": context["run_id"], "task_id": ti.task_id, "try_number": ti.try_number}
        S3Hook(aws_conn_id="aws_default").load_string(
            json.dumps(body), key=key, bucket_name=Variable.get("data_lake_bucket"), replace=True
        )
        return key

    step.override(task_id="first")() >> step.override(task_id="second")() >> step.override(task_id="third")()


e2e_side_effect_steps()
