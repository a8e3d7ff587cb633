"""Broken on purpose: retries below dag_rules.min_retries (rule RETRIES)."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    "corpus_bad_retries",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": "data-eng", "retries": 1},
):
    EmptyOperator(task_id="retries_once")
