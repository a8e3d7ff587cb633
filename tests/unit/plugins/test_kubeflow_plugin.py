"""Unit tests of the Kubeflow Pipelines hook helpers, trigger, operators and sensor (no services)."""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_platform.hooks.kubeflow import (
    KfpEndpoint,
    KubeflowTransientError,
    classify_http_error,
    run_state,
)
from airflow_platform.operators.kubeflow import (
    KubeflowExperimentOperator,
    KubeflowPipelineOperator,
    check_terminal_run,
    complete_from_event,
)
from airflow_platform.sensors.kubeflow import KubeflowPipelineRunSensor
from airflow_platform.triggers.kubeflow import MAX_BACKOFF_SECONDS, KubeflowRunTrigger, backoff_delay


def _rebuild(trigger):
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    cls = getattr(__import__(module, fromlist=[name]), name)
    return cls(**kwargs), classpath, kwargs


def test_run_trigger_serialize_round_trips():
    trigger = KubeflowRunTrigger(run_id="r-1", kubeflow_conn_id="kfp", poll_interval=5, request_timeout=7)
    rebuilt, classpath, kwargs = _rebuild(trigger)
    assert classpath == "airflow_platform.triggers.kubeflow.KubeflowRunTrigger"
    assert rebuilt.serialize() == trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs == {"run_id": "r-1", "kubeflow_conn_id": "kfp", "poll_interval": 5, "request_timeout": 7}


def test_endpoint_from_connection_builds_url_and_hides_token():
    token = secrets.token_hex(16)
    conn = Connection(conn_id="kfp", conn_type="http", host="kfp.example", port=8888, password=token)
    endpoint = KfpEndpoint.from_connection(conn, {"namespace": "team-a", "verify_ssl": "false"})
    assert endpoint.base_url == "http://kfp.example:8888"
    assert endpoint.namespace == "team-a"
    assert endpoint.verify_ssl is False
    assert endpoint.headers()["Authorization"] == f"Bearer {token}"
    assert token not in repr(endpoint)
    assert token not in str(endpoint)


def test_endpoint_keeps_full_url_and_omits_auth_without_token():
    conn = Connection(conn_id="kfp", conn_type="http", host="https://kfp.example/pipeline/")
    endpoint = KfpEndpoint.from_connection(conn, {})
    assert endpoint.base_url == "https://kfp.example/pipeline"
    assert "Authorization" not in endpoint.headers()
    assert endpoint.namespace is None


def test_endpoint_without_host_fails_naming_connection():
    with pytest.raises(AirflowFailException, match="'kfp'"):
        KfpEndpoint.from_connection(Connection(conn_id="kfp", conn_type="http"), {})


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_server_errors_are_transient(status):
    assert isinstance(classify_http_error(status, "run id 'x'"), KubeflowTransientError)


@pytest.mark.parametrize(("status", "words"), [(404, "not found"), (401, "credentials"), (400, "HTTP 400")])
def test_client_errors_are_permanent_and_name_the_object(status, words):
    error = classify_http_error(status, "pipeline 'train'")
    assert isinstance(error, AirflowFailException)
    assert "pipeline 'train'" in str(error)
    assert words in str(error)


def test_backoff_grows_and_is_capped():
    first, third = backoff_delay(2.0, 1), backoff_delay(2.0, 3)
    assert 1.7 <= first <= 2.3
    assert 7.0 <= third <= 9.0
    assert backoff_delay(2.0, 30) <= MAX_BACKOFF_SECONDS * 1.1


def test_run_states_are_upper_case_and_terminal_states_end_waiting():
    assert run_state({"state": "running"}) == "RUNNING"
    assert run_state({}) == "PENDING"
    assert check_terminal_run({"run_id": "r", "state": "SUCCEEDED"}) is True
    assert check_terminal_run({"run_id": "r", "state": "CANCELING"}) is False
    for state in ("FAILED", "CANCELED", "SKIPPED"):
        with pytest.raises(AirflowFailException, match=state):
            check_terminal_run({"run_id": "r", "state": state, "error": {"message": "boom"}})


def test_complete_from_event():
    assert complete_from_event({"status": "success", "run_id": "r"}) == "r"
    with pytest.raises(AirflowFailException, match="ended CANCELED"):
        complete_from_event({"status": "failed", "run_id": "r", "message": "KFP run 'r' ended CANCELED."})
    with pytest.raises(AirflowFailException):
        complete_from_event(None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"experiment_name": "e"},
        {"pipeline_id": "p", "pipeline_name": "n", "experiment_name": "e"},
        {"pipeline_id": "p"},
        {"pipeline_id": "p", "experiment_id": "x", "experiment_name": "e"},
        {"pipeline_id": "p", "experiment_name": "e", "poll_interval": 0},
    ],
)
def test_pipeline_operator_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        KubeflowPipelineOperator(task_id="t", **kwargs)


def test_experiment_operator_and_sensor_reject_empty_names():
    with pytest.raises(ValueError):
        KubeflowExperimentOperator(task_id="t", experiment_name="")
    with pytest.raises(ValueError):
        KubeflowPipelineRunSensor(task_id="t", run_id="")


def test_sensor_defers_with_its_poke_interval_and_timeout(monkeypatch):
    sensor = KubeflowPipelineRunSensor(
        task_id="wait", run_id="r-9", kubeflow_conn_id="kfp", deferrable=True, poke_interval=7, timeout=70
    )
    monkeypatch.setattr(sensor, "poke", lambda context: False)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, KubeflowRunTrigger)
    assert (trigger.run_id, trigger.kubeflow_conn_id, trigger.poll_interval) == ("r-9", "kfp", 7.0)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout.total_seconds() == 70
    assert sensor.execute_complete({}, {"status": "success", "run_id": "r-9"}) == "r-9"
    with pytest.raises(AirflowFailException, match="FAILED"):
        sensor.execute_complete({}, {"status": "failed", "run_id": "r-9", "message": "KFP run ended FAILED"})


def test_sensor_does_not_defer_when_already_done(monkeypatch):
    sensor = KubeflowPipelineRunSensor(task_id="wait", run_id="r-9", deferrable=True)
    monkeypatch.setattr(sensor, "poke", lambda context: True)
    assert sensor.execute({}) == "r-9"


def test_trigger_reports_missing_connection_as_error(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_KFP_MISSING", raising=False)

    async def first_event():
        async for event in KubeflowRunTrigger(run_id="r", kubeflow_conn_id="kfp_missing").run():
            return event.payload

    payload = asyncio.run(first_event())
    assert payload["status"] == "error"
    assert "kfp_missing" in payload["message"]
