"""What every platform DAG shares: an owning team, the retry policy, and a Slack alert on failure.

Cheap to import at parse time: the notifier package (and the Slack SDK behind it) is imported only
when a task fails.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow_platform.platform_settings import load_platform_settings


def alert_on_failure(context: Any) -> None:
    """Send the platform's Slack alert (connection ``slack_alerts``) for a failed task."""
    from airflow_platform.notifiers import slack_notifier

    slack_notifier()(context)


def default_args(owner: str, **overrides: Any) -> dict[str, Any]:
    """Return ``default_args`` for a DAG owned by ``owner``: retries with backoff and the failure alert.

    Args:
        owner: The owning team (the cluster policies reject an empty owner and ``airflow``).
        **overrides: Keys to set or replace, e.g. ``retry_delay`` or ``execution_timeout``.

    Returns:
        The arguments; ``retries`` is the DAG rules' minimum (``dag_rules.min_retries``) unless overridden.
    """
    return {
        "owner": owner,
        "retries": load_platform_settings().dag_rules.min_retries,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": [alert_on_failure],
        **overrides,
    }
