"""Broken on purpose: reaches a legacy path at run time, so only the warning shows it (rule DEPRECATION)."""

import importlib
from datetime import datetime

from airflow.sdk import DAG

legacy_operators = importlib.import_module("airflow.operators.empty")

with DAG(
    "corpus_bad_deprecation_warning",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": "data-eng", "retries": 2},
):
    legacy_operators.EmptyOperator(task_id="hidden_legacy_operator")
