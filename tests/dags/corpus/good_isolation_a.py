"""Passes, but leaks state into the interpreter that bad_isolation_b.py relies on."""

import builtins
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

builtins.CORPUS_SHARED_OWNER = "data-eng"

with DAG(
    "corpus_isolation_a",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": "data-eng", "retries": 2},
):
    EmptyOperator(task_id="leaks_state")
