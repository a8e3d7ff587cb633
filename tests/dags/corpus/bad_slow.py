"""Broken on purpose: slow top-level code, interrupted at the parse-time budget (rule PARSE-BUDGET)."""

import time

from airflow.sdk import DAG

time.sleep(30)

with DAG("corpus_bad_slow", schedule=None, tags=["corpus"], default_args={"owner": "x", "retries": 2}):
    pass
