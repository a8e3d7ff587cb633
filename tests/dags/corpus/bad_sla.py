"""Broken on purpose: an SLA argument, removed in Airflow 3 (rule SLA)."""

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    "corpus_bad_sla",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": "data-eng", "retries": 2},
):
    EmptyOperator(task_id="with_sla", sla=timedelta(hours=1))  # noqa: AIR311 - the point of this file
