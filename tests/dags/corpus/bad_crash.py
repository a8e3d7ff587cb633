"""Broken on purpose: ends the parsing process from top-level code (rule CRASH)."""

import os

from airflow.sdk import DAG

os._exit(3)

with DAG("corpus_bad_crash", schedule=None):
    pass
