"""Broken on purpose: ignores the budget alarm and never ends; the gate kills it (rule PARSE-TIMEOUT)."""

import signal
import time

from airflow.sdk import DAG

signal.signal(signal.SIGALRM, signal.SIG_IGN)
while True:
    time.sleep(1)

with DAG("corpus_bad_hang", schedule=None):
    pass
