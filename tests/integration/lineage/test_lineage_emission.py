"""OpenLineage from a real task run: a reachable endpoint, none configured, and endpoints that fail.

The probe DAG runs through Airflow's task runner (``dag.test()`` in a child process) with the
provider configured as a deployment configures it: ``openlineage_environment`` of the platform's
lineage settings and an endpoint, which is what the Helm release gives its containers (the endpoint
from the Secret ``airflow-openlineage``). The child's own ``airflow_local_settings`` then derives the
HTTP transport, as in the cluster.

"Logged once per task" is tested as: the provider emits two events per task (START before the task,
COMPLETE after it) and logs each failed emission itself, so each event's failure appears exactly once
- no retry warnings, no abandoned-thread warning, no traceback - and nothing else about OpenLineage is
logged at WARNING or above. (``dag.test()`` also emits the DAG run's COMPLETE, which a deployment emits
from the scheduler, not from the task; its failure is the one other line allowed.)
"""

from __future__ import annotations

import re
import secrets

from airflow_platform.lineage_settings import LineageEndpoint, openlineage_environment
from airflow_platform.platform_settings import load_platform_settings
from platform_devkit.loopback.airflow_environment import SETTINGS_FILE
from platform_devkit.loopback.base import free_port
from platform_devkit.loopback.receivers import ReceivedRequest, WebhookReceiver

from .conftest import ProbeHome, ProbeRun

LINEAGE = load_platform_settings(SETTINGS_FILE).lineage
TASK_JOB = "lineage_probe.copy"
LISTENER = "OpenLineageListener"
FAILED = re.compile(r"Failed to emit OpenLineage `(?P<event>[A-Z]+)` event of id `(?P<run_id>[^`]+)`")
PROBLEM = re.compile(r"\[(warning|error|critical)\s*\]|\b(WARNING|ERROR|CRITICAL)\b|Warning:|Traceback")


def openlineage_problems(run: ProbeRun) -> list[str]:
    """Lines at WARNING or above (or tracebacks, Python warnings) that come from or name OpenLineage."""
    return [line for line in run.lines if PROBLEM.search(line) and "openlineage" in line.lower()]


def emission_failures(run: ProbeRun) -> list[tuple[str, str]]:
    """``(event type, OpenLineage run id)`` of every failed emission the provider logged, in order."""
    return [(match["event"], match["run_id"]) for line in run.lines if (match := FAILED.search(line))]


def summary(name: str, run: ProbeRun) -> None:
    """Print what the run measured (shown with ``pytest -s``)."""
    holds = ", ".join(f"{timing['hook']} {timing['seconds']:.3f}s" for timing in run.report["hooks"])
    timing = f"dag.test {run.report['seconds']:.1f}s, process {run.wall_seconds:.1f}s"
    print(f"\n{name}: {timing}; {holds or 'no listener hook'}")


def assert_each_task_event_failed_once(run: ProbeRun) -> None:
    failures = emission_failures(run)
    task_run_id = next(run_id for event, run_id in failures if event == "START")
    assert [event for event, run_id in failures if run_id == task_run_id] == ["START", "COMPLETE"]
    dag_run_events = [event for event, run_id in failures if run_id != task_run_id]
    assert dag_run_events in ([], ["COMPLETE"]), failures
    assert len(openlineage_problems(run)) == len(failures), "\n".join(openlineage_problems(run))


def test_a_reachable_endpoint_gets_start_and_complete_with_the_datasets_and_the_key(
    probe_home: ProbeHome, webhook_receiver: WebhookReceiver
) -> None:
    key = secrets.token_urlsafe(24)
    prefix = f"/lineage-{secrets.token_hex(4)}/"
    endpoint = LineageEndpoint(f"{webhook_receiver.url}{prefix}", key)

    run = probe_home.run(openlineage_environment(LINEAGE, endpoint), log_level="DEBUG")

    def task_event(request: ReceivedRequest, event_type: str) -> bool:
        body = request.json or {}
        return (
            request.path.startswith(prefix)
            and body.get("eventType") == event_type
            and body.get("job", {}).get("name") == TASK_JOB
        )

    start = webhook_receiver.wait_for(lambda request: task_event(request, "START"), timeout=10)
    complete = webhook_receiver.wait_for(lambda request: task_event(request, "COMPLETE"), timeout=10)
    assert run.report["state"] == "success"
    assert LISTENER in run.report["listeners"]
    for request in (start, complete):
        assert request.path == f"{prefix}api/v1/lineage"
        assert request.headers["Authorization"] == f"Bearer {key}"
        assert request.json["job"]["namespace"] == LINEAGE.namespace
    assert start.json["run"]["runId"] == complete.json["run"]["runId"]
    datasets = {
        side: [(dataset["namespace"], dataset["name"]) for dataset in complete.json[side]]
        for side in ("inputs", "outputs")
    }
    assert datasets == {
        "inputs": [("file://", str(probe_home.data / "input.txt"))],
        "outputs": [("file://", str(probe_home.data / "output.txt"))],
    }
    assert key not in run.output
    assert openlineage_problems(run) == []
    summary("reachable", run)


def test_without_a_transport_the_task_runs_sends_nothing_and_logs_nothing_about_lineage(
    probe_home: ProbeHome, webhook_receiver: WebhookReceiver
) -> None:
    received = len(webhook_receiver.requests)

    run = probe_home.run(openlineage_environment(LINEAGE), log_level="DEBUG")

    assert run.report["state"] == "success"
    assert LISTENER not in run.report["listeners"]
    assert len(webhook_receiver.requests) == received
    assert openlineage_problems(run) == []
    assert emission_failures(run) == []
    summary("no transport", run)


def test_an_endpoint_that_refuses_connections_holds_no_task_and_each_failure_is_logged_once(
    probe_home: ProbeHome,
) -> None:
    key = secrets.token_urlsafe(24)
    endpoint = LineageEndpoint(f"http://127.0.0.1:{free_port()}", key)

    run = probe_home.run(openlineage_environment(LINEAGE, endpoint))

    assert run.report["state"] == "success"
    assert LISTENER in run.report["listeners"]
    assert_each_task_event_failed_once(run)
    assert "Connection refused" in next(line for line in run.lines if FAILED.search(line))
    for hook in ("on_task_instance_running", "on_task_instance_success"):
        assert run.hook_seconds(hook) < LINEAGE.transport_timeout_seconds, run.report
    assert key not in run.output
    summary("connection refused", run)


def test_an_endpoint_that_never_answers_holds_each_event_for_the_transport_timeout_only(
    probe_home: ProbeHome, silent_endpoint: str
) -> None:
    key = secrets.token_urlsafe(24)

    run = probe_home.run(openlineage_environment(LINEAGE, LineageEndpoint(silent_endpoint, key)))

    assert run.report["state"] == "success"
    assert_each_task_event_failed_once(run)
    assert "Read timed out" in next(line for line in run.lines if FAILED.search(line))
    for hook in ("on_task_instance_running", "on_task_instance_success"):
        held = run.hook_seconds(hook)
        assert LINEAGE.transport_timeout_seconds <= held < LINEAGE.execution_timeout_seconds, run.report
    assert key not in run.output
    summary("never answers", run)
