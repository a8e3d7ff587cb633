"""Broken on purpose: reads a Variable while the file is parsed (rule PARSE-ACCESS)."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Variable

threshold = Variable.get("ml_accuracy_threshold", default="0.85")

with DAG(
    "corpus_bad_variable_access",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": "data-eng", "retries": 2},
):
    EmptyOperator(task_id="uses_threshold", doc=str(threshold))
