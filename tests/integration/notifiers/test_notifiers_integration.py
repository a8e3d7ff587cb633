"""The platform notifiers against real receivers: an SMTP server and an HTTP webhook receiver.

Slack: the ``slack_alerts``-style connection points at the receiver (host = receiver URL, password =
webhook token path). PagerDuty: the provider always posts to events.pagerduty.com; the platform
notifier's ``extra.events_url`` (also used for the EU region) points it at the receiver, for both
the sync path (task callbacks) and the async path (deadline alerts in the triggerer).
Deadline callbacks are run through Airflow's own executors of them: ``CallbackTrigger`` (what the
triggerer runs for ``AsyncCallback``) and ``execute_callback`` (what an executor runs for
``SyncCallback``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from types import SimpleNamespace

import pytest
from airflow.sdk import DAG
from airflow.sdk.execution_time.callback_supervisor import execute_callback
from airflow.triggers.callback import CallbackTrigger

from airflow_platform.notifiers import deadline_callback, email_notifier, pagerduty_notifier, slack_notifier

LOG_URL = "http://airflow.example/dags/etl/runs/manual__7/tasks/load?try_number=2"


def task_context():
    return {
        "dag": DAG("etl_orders", schedule=None),
        "dag_run": SimpleNamespace(dag_id="etl_orders", run_id="manual__7"),
        "run_id": "manual__7",
        "ti": SimpleNamespace(task_id="load", log_url=LOG_URL),
    }


def deadline_context():
    return {
        "dag_run": {"dag_id": "etl_orders", "dag_run_id": "scheduled__2026-11-29"},
        "deadline": {"id": "d-1", "deadline_time": "2026-11-29T10:00:00+00:00"},
    }


def run_callback_trigger(callback, context):
    trigger = CallbackTrigger(
        callback_path=callback.path, callback_kwargs={**callback.kwargs, "context": context}
    )

    async def events():
        return [event.payload async for event in trigger.run()]

    return asyncio.run(asyncio.wait_for(events(), 30))


@pytest.fixture
def slack_token(monkeypatch, webhook_receiver):
    token = f"T{secrets.token_hex(4)}/B{secrets.token_hex(4)}/{secrets.token_hex(12)}"
    conn = {"conn_type": "slackwebhook", "host": f"{webhook_receiver.url}/services", "password": token}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps(conn))
    return token


@pytest.fixture
def routing_key(monkeypatch, webhook_receiver):
    key = secrets.token_hex(16)
    conn = {"conn_type": "pagerduty_events", "password": key, "extra": {"events_url": webhook_receiver.url}}
    monkeypatch.setenv("AIRFLOW_CONN_PAGERDUTY_EVENTS", json.dumps(conn))
    return key


@pytest.fixture
def smtp_conn(monkeypatch, smtp_server):
    conn = {
        "conn_type": "smtp",
        "host": smtp_server.host,
        "port": smtp_server.port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@platform.example"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    return "smtp_default"


def test_slack_failure_callback_posts_to_the_webhook(webhook_receiver, slack_token, capfd):
    slack_notifier()(task_context())
    request = webhook_receiver.wait_for(
        lambda r: r.path == f"/services/{slack_token}" and "manual__7" in r.body.decode()
    )
    assert request.method == "POST"
    assert request.json["text"].splitlines() == [
        "[Airflow] etl_orders: task failed",
        "DAG: etl_orders",
        "Task: load",
        "Run: manual__7",
        f"Log: {LOG_URL}",
    ]
    captured = capfd.readouterr()
    assert slack_token not in captured.out + captured.err


def test_slack_deadline_alert_runs_in_the_triggerer_path(webhook_receiver, slack_token):
    callback = deadline_callback(slack_notifier)
    events = run_callback_trigger(callback, deadline_context())
    assert [e["state"] for e in events] == ["running", "success"]
    request = webhook_receiver.wait_for(lambda r: "scheduled__2026-11-29" in r.body.decode())
    assert request.path == f"/services/{slack_token}"
    assert "deadline missed" in request.json["text"]
    assert slack_token not in json.dumps(callback.serialize())


def test_email_failure_callback_is_delivered(smtp_server, smtp_conn):
    email_notifier(to="oncall@platform.example")(task_context())
    message = smtp_server.wait_for(lambda m: "etl_orders" in str(m["Subject"]))
    assert message["Subject"] == "[Airflow] etl_orders: task failed"
    assert message["From"] == "airflow@platform.example"
    body = message.get_body(("html",)).get_content()
    assert f'<a href="{LOG_URL}">' in body
    assert "<li>Task: load</li>" in body


def test_email_deadline_alert_runs_in_the_executor_path(smtp_server, smtp_conn):
    callback = deadline_callback(email_notifier, sync=True, to="deadlines@platform.example")
    log = SimpleNamespace(
        debug=lambda *a, **k: None, info=lambda *a, **k: None, exception=lambda *a, **k: None
    )
    ok, error = execute_callback(
        callback.path,
        {**callback.kwargs, "context": deadline_context()},
        dag_rel_path="",
        bundle_path=None,
        log=log,
    )
    assert (ok, error) == (True, None)
    message = smtp_server.wait_for(lambda m: m["To"] == "deadlines@platform.example")
    assert "deadline missed" in message["Subject"]
    assert "scheduled__2026-11-29" in message.get_body(("html",)).get_content()


def test_email_async_path_for_deadlines(smtp_server, smtp_conn):
    events = run_callback_trigger(
        deadline_callback(email_notifier, to="async@platform.example"), deadline_context()
    )
    assert events[-1]["state"] == "success", events
    smtp_server.wait_for(lambda m: m["To"] == "async@platform.example")


def test_pagerduty_failure_callback_sends_an_events_v2_event(webhook_receiver, routing_key, capfd):
    pagerduty_notifier(severity="critical", component="etl")(task_context())
    request = webhook_receiver.wait_for(lambda r: r.path == "/v2/enqueue" and "manual__7" in r.body.decode())
    event = request.json
    assert event["routing_key"] == routing_key
    assert event["event_action"] == "trigger"
    assert event["payload"]["summary"] == "[Airflow] etl_orders: task failed"
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["component"] == "etl"
    assert f"Log: {LOG_URL}" in event["payload"]["custom_details"]
    captured = capfd.readouterr()
    assert routing_key not in captured.out + captured.err


def test_pagerduty_deadline_alert_runs_in_the_triggerer_path(webhook_receiver, routing_key):
    events = run_callback_trigger(deadline_callback(pagerduty_notifier), deadline_context())
    assert events[-1]["state"] == "success", events
    request = webhook_receiver.wait_for(
        lambda r: r.path == "/v2/enqueue" and "scheduled__2026-11-29" in r.body.decode()
    )
    assert request.json["routing_key"] == routing_key
    assert "deadline missed" in request.json["payload"]["summary"]
