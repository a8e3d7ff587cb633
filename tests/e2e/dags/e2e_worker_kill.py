"""End-to-end test DAG for the worker fault test: one task with an idempotent side effect, killed mid-try.

``record_attempt`` upserts one row keyed by the DAG run id into ``e2e_worker_fault_attempts`` of the
warehouse (connection ``postgres_warehouse``), adding one to its ``attempts``: retries of a run update
the same row, never add one. On its first try it then blocks, long enough for the test to SIGKILL the
Celery worker running it; the retry (``retries=2``, one second apart) returns at once.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import dag, task

TABLE = "e2e_worker_fault_attempts"
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS e2e_worker_fault_attempts (
    run_id text PRIMARY KEY, attempts integer NOT NULL, updated_at timestamptz NOT NULL
)
"""
RECORD_ATTEMPT = """
INSERT INTO e2e_worker_fault_attempts (run_id, attempts, updated_at) VALUES (%s, 1, now())
ON CONFLICT (run_id) DO UPDATE SET attempts = e2e_worker_fault_attempts.attempts + 1, updated_at = now()
RETURNING attempts
"""
BLOCK_SECONDS = 240


@dag(
    dag_id="e2e_worker_kill",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "platform-e2e", "retries": 2, "retry_delay": timedelta(seconds=1)},
    tags=["e2e", "fault"],
)
def e2e_worker_kill():
    """Record an attempt in the warehouse, then (first try only) wait to be killed."""

    @task
    def record_attempt(**context: Any) -> int:
        """Upsert this run's row (attempts + 1); on the first try, block until the worker is killed."""
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        conn = PostgresHook(postgres_conn_id="postgres_warehouse").get_conn()
        try:
            with conn, conn.cursor() as cur:
                cur.execute(CREATE_TABLE)
                cur.execute(RECORD_ATTEMPT, (context["run_id"],))
                (attempts,) = cur.fetchone()
        finally:
            conn.close()
        if context["ti"].try_number == 1:
            time.sleep(BLOCK_SECONDS)
        return attempts

    record_attempt()


e2e_worker_kill()
