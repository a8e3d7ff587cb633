"""Broken on purpose: imports a module that does not exist (rule IMPORT)."""

from airflow.sdk import DAG
from platform_module_that_does_not_exist import something

with DAG("corpus_bad_import", schedule=None, tags=["corpus"], default_args={"owner": "x", "retries": 2}):
    something()
