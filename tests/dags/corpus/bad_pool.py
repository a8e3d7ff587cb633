"""Broken on purpose: a pool that config/platform.yaml does not declare (rule POOL)."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    "corpus_bad_pool",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": "data-eng", "retries": 2},
):
    EmptyOperator(task_id="undeclared_pool", pool="quantum_pool")
