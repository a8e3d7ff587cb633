"""Unit tests of the notifiers: defaults, message template, deadline callbacks."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from airflow.sdk import DAG, AsyncCallback, DeadlineAlert, DeadlineReference, SyncCallback

from airflow_platform.notifiers import (
    PlatformEmailNotifier,
    PlatformPagerdutyNotifier,
    PlatformSlackNotifier,
    deadline_callback,
    email_notifier,
    pagerduty_notifier,
    slack_notifier,
)
from airflow_platform.notifiers.email import SMTP_CONN_ID
from airflow_platform.notifiers.pagerduty import PAGERDUTY_CONN_ID
from airflow_platform.notifiers.slack import SLACK_CONN_ID
from airflow_platform.platform_settings import load_platform_settings

LOG_URL = "http://airflow.example/dags/etl/runs/manual__1/tasks/load?try_number=1"


def _task_context():
    dag = DAG("etl", schedule=None)
    return {
        "dag": dag,
        "dag_run": SimpleNamespace(dag_id="etl", run_id="manual__1"),
        "run_id": "manual__1",
        "ti": SimpleNamespace(task_id="load", log_url=LOG_URL),
    }


def _deadline_context():
    return {
        "dag_run": {"dag_id": "etl", "dag_run_id": "scheduled__2026"},
        "deadline": {"id": "d-1", "deadline_time": "2026-11-29T10:00:00+00:00"},
    }


def _rendered(notifier, context, field):
    notifier._update_context(context)
    notifier.render_template_fields(context)
    return getattr(notifier, field)


def test_default_connection_ids_are_the_platform_settings():
    connections = load_platform_settings().connections
    assert connections[SLACK_CONN_ID].conn_type == "slackwebhook"
    assert connections[PAGERDUTY_CONN_ID].conn_type == "pagerduty_events"
    assert connections[SMTP_CONN_ID].conn_type == "smtp"
    assert slack_notifier().slack_webhook_conn_id == SLACK_CONN_ID
    assert pagerduty_notifier().pagerduty_events_conn_id == PAGERDUTY_CONN_ID
    assert email_notifier(to="a@example.com").smtp_conn_id == SMTP_CONN_ID


def test_message_names_dag_task_run_and_log_url_for_a_task_failure():
    text = _rendered(slack_notifier(), _task_context(), "text")
    assert text.splitlines() == [
        "[Airflow] etl: task failed",
        "DAG: etl",
        "Task: load",
        "Run: manual__1",
        f"Log: {LOG_URL}",
    ]


def test_message_works_in_a_deadline_alert_context():
    text = _rendered(slack_notifier(), _deadline_context(), "text")
    assert "[Airflow] etl: deadline missed (2026-11-29T10:00:00+00:00)" in text
    assert "Run: scheduled__2026" in text
    assert "Task: -" in text
    summary = _rendered(pagerduty_notifier(), _deadline_context(), "summary")
    assert summary == "[Airflow] etl: deadline missed (2026-11-29T10:00:00+00:00)"


def test_email_subject_and_body_are_rendered():
    notifier = email_notifier(to="oncall@example.com")
    assert _rendered(notifier, _task_context(), "subject") == "[Airflow] etl: task failed"
    assert f'<a href="{LOG_URL}">' in notifier.html_content


def test_factories_pass_overrides_through():
    notifier = slack_notifier(text="custom {{ run_id }}", slack_webhook_conn_id="other", timeout=5)
    assert (notifier.text, notifier.slack_webhook_conn_id, notifier.timeout) == (
        "custom {{ run_id }}",
        "other",
        5,
    )
    assert pagerduty_notifier(severity="critical", dedup_key="k").severity == "critical"


@pytest.mark.parametrize(
    ("factory", "cls", "kwargs"),
    [
        (slack_notifier, PlatformSlackNotifier, {}),
        (pagerduty_notifier, PlatformPagerdutyNotifier, {"severity": "critical"}),
        (email_notifier, PlatformEmailNotifier, {"to": "oncall@example.com"}),
    ],
)
def test_deadline_callback_references_the_notifier_class_by_path(factory, cls, kwargs):
    callback = deadline_callback(factory, **kwargs)
    assert isinstance(callback, AsyncCallback)
    assert callback.path == f"{cls.__module__}.{cls.__qualname__}"
    assert callback.kwargs == kwargs
    sync = deadline_callback(factory, sync=True, executor="CeleryExecutor", **kwargs)
    assert isinstance(sync, SyncCallback)
    assert sync.executor == "CeleryExecutor"
    alert = DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=timedelta(hours=1), callback=callback
    )
    assert alert.callback == callback


def test_deadline_callback_rejects_unknown_factories_and_misplaced_executor():
    with pytest.raises(ValueError):
        deadline_callback(print)
    with pytest.raises(ValueError):
        deadline_callback(slack_notifier, executor="CeleryExecutor")


def test_notifier_functions_are_their_classes():
    assert slack_notifier is PlatformSlackNotifier
    assert pagerduty_notifier is PlatformPagerdutyNotifier
    assert email_notifier is PlatformEmailNotifier
