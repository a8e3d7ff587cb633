"""OpenLineage: the enterprise pipeline's lineage graph, as a real HTTP receiver gets it.

The deployment sends its events to the webhook receiver (``lineage_endpoint`` in ``conftest.py``) with
an API key. For the approved enterprise run, every task that ran has a START and a COMPLETE event (a
deferred task a second START when it resumes), our operators name the datasets they read and wrote (the
warehouse table, the MLflow run and the registered model; the S3 hook adds the files the extraction
writes), and the scheduler reports the DAG run. The graph is written to ``reports/lineage-graph.json``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airflow_platform.lineage_settings import LineageEndpoint
from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.receivers import WebhookReceiver

from .conftest import ENTERPRISE_DAG

MODEL = "models/enterprise_churn_classifier"
EVENTS_PATH = "/api/v1/lineage"
REPORT = Path(__file__).resolve().parents[2] / "reports" / "lineage-graph.json"


def _names(datasets: list[dict[str, Any]]) -> set[str]:
    return {f"{dataset['namespace']}/{dataset['name']}" for dataset in datasets}


@pytest.fixture(scope="module")
def run_events(
    airflow_platform: LoopbackAirflow, approved_enterprise_run: str, webhook_receiver: WebhookReceiver
) -> list[dict[str, Any]]:
    """The OpenLineage events of the approved enterprise run, once its DAG-run COMPLETE event arrived."""
    airflow_platform.api.wait_for_run(ENTERPRISE_DAG, approved_enterprise_run, timeout=300)
    webhook_receiver.wait_for(
        lambda r: (
            r.path == EVENTS_PATH
            and approved_enterprise_run in r.body.decode(errors="replace")
            and r.json["eventType"] == "COMPLETE"
            and r.json["job"]["name"] == ENTERPRISE_DAG
        ),
        timeout=60,
    )
    return [
        request.json
        for request in webhook_receiver.requests
        if request.path == EVENTS_PATH and approved_enterprise_run in request.body.decode(errors="replace")
    ]


@pytest.fixture(scope="module")
def graph(run_events: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """Task to the datasets its COMPLETE events named (inputs and outputs); written to the report."""
    found: dict[str, dict[str, set[str]]] = {}
    for event in run_events:
        if event["eventType"] == "COMPLETE" and event["job"]["name"].startswith(f"{ENTERPRISE_DAG}."):
            task = event["job"]["name"].removeprefix(f"{ENTERPRISE_DAG}.")
            entry = found.setdefault(task, {"inputs": set(), "outputs": set()})
            entry["inputs"] |= _names(event.get("inputs", []))
            entry["outputs"] |= _names(event.get("outputs", []))
    result = {
        task: {key: sorted(names) for key, names in entry.items()} for task, entry in sorted(found.items())
    }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(result, indent=2) + "\n")
    return result


def test_every_task_that_ran_has_a_start_and_a_complete_event(
    airflow_platform: LoopbackAirflow, approved_enterprise_run: str, run_events: list[dict[str, Any]]
) -> None:
    ran = Counter(
        ti["task_id"]
        for ti in airflow_platform.api.task_instances(ENTERPRISE_DAG, approved_enterprise_run)
        if ti["state"] == "success"
    )
    task_events = [event for event in run_events if event["job"]["name"].startswith(f"{ENTERPRISE_DAG}.")]

    def seen(event_type: str) -> Counter[str]:
        return Counter(
            event["job"]["name"].removeprefix(f"{ENTERPRISE_DAG}.")
            for event in task_events
            if event["eventType"] == event_type
        )

    assert seen("COMPLETE") == ran
    # A deferred task starts twice: when it defers, and when it resumes after its trigger fired.
    started = seen("START")
    assert set(started) == set(ran)
    assert all(started[task] >= count for task, count in ran.items()), started
    assert started["deploy.approve_champion"] == 2
    dag_run_events = {event["eventType"] for event in run_events if event["job"]["name"] == ENTERPRISE_DAG}
    assert {"START", "COMPLETE"} <= dag_run_events


def test_our_operators_name_what_they_read_and_wrote(graph: dict[str, dict[str, list[str]]]) -> None:
    (table,) = graph["wait_for_quality_data"]["inputs"]
    assert table.startswith("postgres://127.0.0.1:") and table.endswith(
        "/warehouse.public.ml_customer_snapshot"
    )
    (run,) = graph["train.log_metrics"]["outputs"]
    assert run.startswith("mlflow://127.0.0.1:") and "/runs/" in run
    assert graph["deploy.register_model"]["inputs"] == [run]
    (model,) = graph["deploy.register_model"]["outputs"]
    assert model.endswith(f"/{MODEL}")
    assert graph["deploy.promote_champion"]["outputs"] == [model]
    assert graph["deploy.smoke_test_champion"]["inputs"] == [model]
    written = graph["extract.build_training_set"]["outputs"]
    assert [name.rsplit("/", 1)[-1] for name in written] == ["test.csv", "train.csv"]
    assert all(name.startswith("s3://") for name in written)


def test_events_carry_the_api_key_and_no_log_shows_it(
    airflow_platform: LoopbackAirflow, lineage_endpoint: LineageEndpoint, webhook_receiver: WebhookReceiver
) -> None:
    events = [request for request in webhook_receiver.requests if request.path == EVENTS_PATH]
    assert events
    assert {request.headers.get("Authorization") for request in events} == {
        f"Bearer {lineage_endpoint.api_key}"
    }
    key = str(lineage_endpoint.api_key)
    leaked = [
        path for path in airflow_platform.home.rglob("*.log") if key in path.read_text(errors="replace")
    ]
    assert not leaked
