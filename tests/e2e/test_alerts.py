"""Alerts leave the platform: a failed task reaches Slack, PagerDuty and e-mail; a late run fires a deadline.

The receivers are real servers on loopback; the Airflow connections ``slack_alerts``,
``pagerduty_events`` (``extra.events_url``) and ``smtp_default`` point at them.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from platform_devkit.loopback.airflow_dags import StartedRuns
from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.receivers import SmtpReceiver, WebhookReceiver

FAILING_DAG = "e2e_failing_task"
DEADLINE_DAG = "e2e_deadline_miss"


@pytest.fixture(scope="module")
def alert_runs(airflow_platform: LoopbackAirflow, platform_runs: StartedRuns) -> dict[str, str]:
    """Trigger both alerting DAGs at once (after the platform DAGs, which run meanwhile); return run ids."""
    runs = {}
    for dag_id in (FAILING_DAG, DEADLINE_DAG):
        airflow_platform.api.wait_for_dag(dag_id)
        runs[dag_id] = airflow_platform.api.trigger(dag_id)
    return runs


def _text(body: bytes) -> str:
    return body.decode(errors="replace")


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html", "plain"))
    return str(part.get_content()) if part is not None else ""


def test_failed_task_alerts_slack_pagerduty_and_email(
    airflow_platform: LoopbackAirflow,
    alert_runs: dict[str, str],
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpReceiver,
) -> None:
    run_id = alert_runs[FAILING_DAG]
    run = airflow_platform.api.wait_for_run(FAILING_DAG, run_id, timeout=240)
    assert run["state"] == "failed"
    (explode,) = airflow_platform.api.task_instances(FAILING_DAG, run_id)
    assert (explode["task_id"], explode["state"], explode["try_number"]) == ("explode", "failed", 1)

    slack = webhook_receiver.wait_for(
        lambda r: r.path.startswith("/slack/") and run_id in _text(r.body), timeout=90
    )
    assert slack.method == "POST"
    text = slack.json["text"]
    assert f"DAG: {FAILING_DAG}" in text
    assert "Task: explode" in text
    assert "task failed" in text

    page = webhook_receiver.wait_for(
        lambda r: r.path.startswith("/pagerduty") and run_id in _text(r.body), timeout=90
    )
    assert page.path.endswith("/v2/enqueue")
    payload = page.json["payload"]
    assert FAILING_DAG in payload["summary"]
    assert payload["severity"] == "error"
    assert "Task: explode" in str(payload["custom_details"])
    assert page.json["routing_key"]

    mail = smtp_server.wait_for(lambda m: FAILING_DAG in str(m["Subject"]) and run_id in _body(m), timeout=90)
    assert mail["To"] == "oncall@platform.test"
    assert "task failed" in str(mail["Subject"])
    html = _body(mail)
    assert f"DAG: {FAILING_DAG}" in html
    assert "Task: explode" in html


def test_deadline_alert_fires_for_a_late_run(
    airflow_platform: LoopbackAirflow, alert_runs: dict[str, str], webhook_receiver: WebhookReceiver
) -> None:
    run_id = alert_runs[DEADLINE_DAG]
    alert = webhook_receiver.wait_for(
        lambda r: r.path.startswith("/slack/") and DEADLINE_DAG in _text(r.body), timeout=180
    )
    text = alert.json["text"]
    assert "deadline missed" in text
    assert run_id in text
    # Missing the deadline alerts; it does not fail the run.
    assert airflow_platform.api.wait_for_run(DEADLINE_DAG, run_id, timeout=180)["state"] == "success"
