"""Broken on purpose: a -> b -> a (rule CYCLE)."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    "corpus_bad_cycle",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": "data-eng", "retries": 2},
):
    first = EmptyOperator(task_id="first")
    second = EmptyOperator(task_id="second")
    first >> second >> first
