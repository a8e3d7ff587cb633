"""Broken on purpose: a syntax error on line 6 (rule SYNTAX)."""

from airflow.sdk import DAG

with DAG("corpus_bad_syntax", schedule=None):
    x = = 1
