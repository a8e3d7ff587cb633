"""SMTP e-mail alerts with the platform's defaults."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier

from airflow_platform.notifiers import message

SMTP_CONN_ID = "smtp_default"
"""The platform's SMTP connection (config/platform.yaml)."""


class PlatformEmailNotifier(SmtpNotifier):
    """The provider's ``SmtpNotifier`` with the platform's connection id, subject and body.

    Importable by path, so ``AsyncCallback``/``SyncCallback`` can rebuild it from keyword arguments.

    Args:
        to: Recipient(s).
        from_email: Sender; default: the SMTP connection's ``extra.from_email``.
        subject: Subject (Jinja); default names the DAG and the event.
        html_content: Body (Jinja); default names DAG, task, run and log URL.
        smtp_conn_id: The SMTP connection.
        **kwargs: Passed to ``SmtpNotifier`` (``cc``, ``bcc``, ``files``, ...).
    """

    def __init__(self, *, to: str | Iterable[str], smtp_conn_id: str = SMTP_CONN_ID, **kwargs: Any) -> None:
        kwargs.setdefault("subject", message.TITLE)
        kwargs.setdefault("html_content", message.HTML)
        super().__init__(to=to, smtp_conn_id=smtp_conn_id, **kwargs)


email_notifier = PlatformEmailNotifier
"""The notifier for ``on_failure_callback`` (and other task/DAG callbacks): the class itself."""
