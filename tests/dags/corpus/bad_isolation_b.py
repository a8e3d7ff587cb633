"""Broken on purpose: passes only when good_isolation_a.py ran first in the same interpreter (IMPORT)."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    "corpus_isolation_b",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": CORPUS_SHARED_OWNER, "retries": 2},  # noqa: F821 - the point of this file
):
    EmptyOperator(task_id="needs_leaked_state")
