"""The platform's alerting: Slack webhook, PagerDuty Events v2 and SMTP, on the providers' notifiers.

Two ways to use them, with the same keyword arguments:

Task and DAG callbacks take a notifier instance::

    from airflow_platform.notifiers import email_notifier, slack_notifier

    DAG(..., on_failure_callback=[slack_notifier(), email_notifier(to="oncall@example.com")])

Deadline alerts reference a callback by import path plus keyword arguments, rebuilt where the alert
runs (``AsyncCallback`` in the triggerer, ``SyncCallback`` in an executor); the platform notifier
classes are importable (``slack_notifier`` and the others are the classes), and
:func:`deadline_callback` builds the callback::

    from airflow.sdk import DeadlineAlert, DeadlineReference
    from airflow_platform.notifiers import deadline_callback, slack_notifier

    DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(hours=2),
        callback=deadline_callback(slack_notifier),
    )

Keep secrets out of the keyword arguments: they are stored with the DAG and logged when a callback
fails. Connections carry the secrets (webhook token, integration key, SMTP password).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow.sdk import AsyncCallback, SyncCallback

from airflow_platform.notifiers.email import PlatformEmailNotifier, email_notifier
from airflow_platform.notifiers.pagerduty import PlatformPagerdutyNotifier, pagerduty_notifier
from airflow_platform.notifiers.slack import PlatformSlackNotifier, slack_notifier

__all__ = [
    "PlatformEmailNotifier",
    "PlatformPagerdutyNotifier",
    "PlatformSlackNotifier",
    "deadline_callback",
    "email_notifier",
    "pagerduty_notifier",
    "slack_notifier",
]

_NOTIFIER_CLASSES = (PlatformSlackNotifier, PlatformPagerdutyNotifier, PlatformEmailNotifier)


def deadline_callback(
    factory: Callable[..., Any], *, executor: str | None = None, sync: bool = False, **kwargs: Any
) -> AsyncCallback | SyncCallback:
    """Build the ``DeadlineAlert`` callback that sends what ``factory(**kwargs)`` would send.

    Args:
        factory: :func:`slack_notifier`, :func:`pagerduty_notifier` or :func:`email_notifier` (the
            notifier classes themselves).
        executor: With ``sync=True``, the executor that runs the callback (default: the default one).
        sync: Run in an executor (``SyncCallback``) instead of the triggerer (``AsyncCallback``).
        **kwargs: The factory's keyword arguments (JSON-serializable; no secrets).
    """
    if factory not in _NOTIFIER_CLASSES:
        raise ValueError(f"{factory!r} is not one of the platform's notifier classes")
    if sync:
        return SyncCallback(factory, kwargs=kwargs, executor=executor)
    if executor is not None:
        raise ValueError("executor applies only to sync=True callbacks")
    return AsyncCallback(factory, kwargs=kwargs)
