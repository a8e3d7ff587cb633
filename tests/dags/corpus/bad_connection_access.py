"""Broken on purpose: fetches a connection while the file is parsed, and hides the error (PARSE-ACCESS)."""

import contextlib
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, BaseHook

with contextlib.suppress(Exception):
    MLFLOW_HOST = BaseHook.get_connection("mlflow_default").host

with DAG(
    "corpus_bad_connection_access",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": "data-eng", "retries": 2},
):
    EmptyOperator(task_id="uses_connection")
