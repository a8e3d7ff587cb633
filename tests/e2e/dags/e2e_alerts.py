"""End-to-end test DAGs for alerting: a task that fails for good, and a run that misses its deadline.

Loaded only by the end-to-end Airflow (a second DAG bundle next to the repository's ``dags/``). They
follow the platform rules: a team owner, ``retries >= 2``, tags, declared pools, ``airflow.sdk`` imports.

* ``e2e_failing_task``: ``explode`` raises ``AirflowFailException``, which fails the task at once
  (no retries are spent), so its ``on_failure_callback`` notifiers send to Slack, PagerDuty and e-mail.
* ``e2e_deadline_miss``: the run must finish within 5 seconds of being queued; ``slow_step`` takes
  longer, so the scheduler fires the ``DeadlineAlert`` and the triggerer sends its Slack message.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pendulum
from airflow.sdk import DeadlineAlert, DeadlineReference, dag, task
from airflow.sdk.exceptions import AirflowFailException

from airflow_platform.notifiers import deadline_callback, email_notifier, pagerduty_notifier, slack_notifier

ONCALL = "oncall@platform.test"
DEFAULT_ARGS = {"owner": "platform-e2e", "retries": 2, "retry_delay": timedelta(seconds=1)}


@dag(
    dag_id="e2e_failing_task",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={
        **DEFAULT_ARGS,
        "on_failure_callback": [slack_notifier(), pagerduty_notifier(), email_notifier(to=ONCALL)],
    },
    tags=["e2e", "alerts"],
)
def e2e_failing_task():
    """One task that fails for good and alerts every channel."""

    @task
    def explode() -> None:
        """Fail without retrying."""
        raise AirflowFailException("e2e: this task fails on purpose")

    explode()


@dag(
    dag_id="e2e_deadline_miss",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=5),
        callback=deadline_callback(slack_notifier),
    ),
    tags=["e2e", "alerts"],
)
def e2e_deadline_miss():
    """A run that takes longer than its deadline."""

    @task
    def slow_step() -> None:
        """Outlast the deadline."""
        time.sleep(20)

    slow_step()


e2e_failing_task()
e2e_deadline_miss()
