"""Broken on purpose: no owner, so the task keeps Airflow's default owner 'airflow' (rule OWNER)."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("corpus_bad_owner", schedule=None, start_date=datetime(2026, 1, 1), tags=["corpus"]):
    EmptyOperator(task_id="no_owner", retries=2)
