"""Slack incoming-webhook alerts with the platform's defaults."""

from __future__ import annotations

from typing import Any

from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

from airflow_platform.notifiers import message

SLACK_CONN_ID = "slack_alerts"
"""The platform's Slack webhook connection (config/platform.yaml)."""


class PlatformSlackNotifier(SlackWebhookNotifier):
    """The provider's ``SlackWebhookNotifier`` with the platform's connection id and message.

    Importable by path, so ``AsyncCallback``/``SyncCallback`` can rebuild it from keyword arguments.

    Args:
        slack_webhook_conn_id: The Slack incoming-webhook connection.
        text: The message (Jinja); default names DAG, task, run and log URL.
        **kwargs: Passed to ``SlackWebhookNotifier`` (``blocks``, ``timeout``, ...).
    """

    def __init__(
        self, *, slack_webhook_conn_id: str = SLACK_CONN_ID, text: str = message.TEXT, **kwargs: Any
    ) -> None:
        super().__init__(slack_webhook_conn_id=slack_webhook_conn_id, text=text, **kwargs)


slack_notifier = PlatformSlackNotifier
"""The notifier for ``on_failure_callback`` (and other task/DAG callbacks): the class itself."""
