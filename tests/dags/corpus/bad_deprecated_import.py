"""Broken on purpose: a legacy import path (rule DEPRECATED-IMPORT)."""

from datetime import datetime

from airflow.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    "corpus_bad_deprecated_import",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": "data-eng", "retries": 2},
):
    EmptyOperator(task_id="legacy_operator")  # noqa: AIR312 - the point of this file
