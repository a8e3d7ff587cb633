"""The Kubeflow Pipelines run trigger: serialize() round-trips and a missing connection is an error event."""

from __future__ import annotations

import asyncio
import json

from airflow_platform.triggers.kubeflow import KubeflowRunTrigger
from airflow_platform.utils.backoff import BackoffPolicy


def test_run_trigger_serialize_round_trips(rebuild):
    trigger = KubeflowRunTrigger(run_id="r-1", kubeflow_conn_id="kfp", poll_interval=5, request_timeout=7)
    classpath, kwargs = trigger.serialize()
    rebuilt = rebuild(trigger)
    assert classpath == "airflow_platform.triggers.kubeflow.KubeflowRunTrigger"
    assert rebuilt.serialize() == trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs == {"run_id": "r-1", "kubeflow_conn_id": "kfp", "poll_interval": 5, "request_timeout": 7}


def test_trigger_reports_missing_connection_as_error(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_KFP_MISSING", raising=False)

    async def first_event():
        async for event in KubeflowRunTrigger(run_id="r", kubeflow_conn_id="kfp_missing").run():
            return event.payload

    payload = asyncio.run(first_event())
    assert payload["status"] == "error"
    assert "kfp_missing" in payload["message"]


def test_run_trigger_backs_off_from_its_poll_interval():
    assert KubeflowRunTrigger(run_id="r", poll_interval=5).backoff() == BackoffPolicy.from_poll_interval(5)
