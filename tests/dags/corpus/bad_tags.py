"""Broken on purpose: no tags (rule TAGS)."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    "corpus_bad_tags",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    default_args={"owner": "data-eng", "retries": 2},
):
    EmptyOperator(task_id="untagged")
