"""Kubeflow Pipelines operators, sensor and trigger against the KFP API CONTRACT STUB.

The real KFP API server needs Kubernetes; ``platform_devkit.loopback.kfp_stub`` is a real HTTP server
implementing the ``/apis/v2beta1`` endpoints we call with the kfp-server-api 2.17.3 JSON shapes.
Run states are driven by the tests. Deferral is exercised the way Airflow does it: ``execute`` raises
``TaskDeferred``, the trigger runs on an event loop, and ``execute_complete`` gets its event.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowRescheduleException, TaskDeferred

from airflow_platform.operators.kubeflow import KubeflowExperimentOperator, KubeflowPipelineOperator
from airflow_platform.sensors.kubeflow import KubeflowPipelineRunSensor
from airflow_platform.triggers.kubeflow import KubeflowRunTrigger
from platform_devkit.loopback.kfp_stub import KfpContractStub

CONN_ID = "kfp_stub"
NAMESPACE = "team-ml"
CONTEXT = {"run_id": "manual__2026-11-29"}


@pytest.fixture(scope="module")
def token():
    return secrets.token_hex(16)


@pytest.fixture(scope="module")
def kfp(token):
    with KfpContractStub(token=token) as stub:
        yield stub


def _set_connection(monkeypatch, url, password, conn_id=CONN_ID):
    conn = {"conn_type": "http", "host": url, "password": password, "extra": {"namespace": NAMESPACE}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


@pytest.fixture
def conn(monkeypatch, kfp, token):
    _set_connection(monkeypatch, kfp.url, token)
    return CONN_ID


@pytest.fixture
def pipeline(kfp):
    return kfp.add_pipeline(f"train-{secrets.token_hex(4)}", namespace=NAMESPACE)


def run_trigger(trigger, timeout=20.0):
    """Run a trigger until its first event, as the triggerer does; return the payload."""

    async def first_event():
        async for event in trigger.run():
            return event.payload
        return None

    return asyncio.run(asyncio.wait_for(first_event(), timeout))


def _operator(pipeline, **kwargs):
    defaults = {
        "task_id": "start_training",
        "pipeline_name": pipeline["display_name"],
        "experiment_name": "nightly",
        "kubeflow_conn_id": CONN_ID,
        "poll_interval": 0.05,
        "deferrable": False,
    }
    return KubeflowPipelineOperator(**{**defaults, **kwargs})


def test_experiment_operator_is_idempotent(kfp, conn):
    name = f"exp-{secrets.token_hex(4)}"
    before = len(kfp.requests_to("POST", "/apis/v2beta1/experiments"))
    first = KubeflowExperimentOperator(task_id="e1", experiment_name=name, kubeflow_conn_id=conn).execute({})
    second = KubeflowExperimentOperator(task_id="e2", experiment_name=name, kubeflow_conn_id=conn).execute({})
    assert first == second
    assert kfp.experiments[first]["namespace"] == NAMESPACE
    assert len(kfp.requests_to("POST", "/apis/v2beta1/experiments")) == before + 1


def test_run_by_pipeline_name_succeeds_with_parameters(kfp, conn, pipeline):
    kfp.script_next_run("RUNNING", "RUNNING", "SUCCEEDED")
    run_id = _operator(pipeline, parameters={"learning_rate": 0.01, "epochs": 3}).execute(CONTEXT)
    run = kfp.runs[run_id]
    assert run["state"] == "SUCCEEDED"
    assert run["pipeline_version_reference"]["pipeline_id"] == pipeline["pipeline_id"]
    assert run["runtime_config"]["parameters"] == {"learning_rate": 0.01, "epochs": 3}
    assert run["display_name"].endswith("-start_training-manual__2026-11-29")
    assert kfp.experiments[run["experiment_id"]]["display_name"] == "nightly"


def test_run_by_pipeline_id_without_waiting(kfp, conn, pipeline):
    operator = _operator(
        pipeline, pipeline_name=None, pipeline_id=pipeline["pipeline_id"], wait_for_completion=False
    )
    run_id = operator.execute(CONTEXT)
    assert kfp.runs[run_id]["state"] == "PENDING"
    assert kfp.requests_to("GET", f"/apis/v2beta1/runs/{run_id}") == []


@pytest.mark.parametrize("final_state", ["FAILED", "CANCELED"])
def test_run_ending_badly_fails_at_once(kfp, conn, pipeline, final_state):
    kfp.script_next_run("RUNNING", final_state)
    operator = _operator(pipeline, poll_interval=0.2, wait_timeout=None, execution_timeout=None)
    started = time.monotonic()
    with pytest.raises(AirflowFailException, match=f"ended {final_state}"):
        operator.execute(CONTEXT)
    assert time.monotonic() - started < 2.0


def test_transient_errors_while_waiting_are_retried(kfp, conn, pipeline):
    kfp.script_next_run("RUNNING", "SUCCEEDED")
    kfp.fail_next_requests(2, status=503, path_prefix="/apis/v2beta1/runs/")
    run_id = _operator(pipeline).execute(CONTEXT)
    assert kfp.runs[run_id]["state"] == "SUCCEEDED"
    assert len(kfp.requests_to("GET", f"/apis/v2beta1/runs/{run_id}")) == 4


@pytest.mark.timeout(60)
def test_transient_errors_past_the_wait_timeout_fail_the_task(monkeypatch, token):
    # A stub of its own: the API keeps failing after this test, which no other test may inherit.
    with KfpContractStub(token=token) as stub:
        _set_connection(monkeypatch, stub.url, token)
        pipeline = stub.add_pipeline(f"train-{secrets.token_hex(4)}", namespace=NAMESPACE)
        stub.fail_next_requests(1000, status=503, path_prefix="/apis/v2beta1/runs/")
        operator = _operator(pipeline, poll_interval=0.2, wait_timeout=timedelta(seconds=2))
        started = time.monotonic()
        with pytest.raises(AirflowFailException, match="did not finish within 0:00:02"):
            operator.execute(CONTEXT)
        assert time.monotonic() - started < 2 + 1
        assert len(stub.requests_to("GET", "/apis/v2beta1/runs/")) >= 2


def test_deferrable_operator_succeeds_through_the_trigger(kfp, conn, pipeline):
    operator = _operator(pipeline, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(CONTEXT)
    trigger = deferred.value.trigger
    assert isinstance(trigger, KubeflowRunTrigger)
    kfp.set_run_state(trigger.run_id, "RUNNING")
    kfp.set_run_state(trigger.run_id, "SUCCEEDED")
    event = run_trigger(trigger)
    assert event["status"] == "success"
    assert operator.execute_complete(CONTEXT, event) == trigger.run_id


def test_deferred_wait_ends_on_canceled_without_polling_to_timeout(kfp, conn, pipeline):
    kfp.script_next_run("RUNNING", "CANCELING", "CANCELED")
    operator = _operator(pipeline, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(CONTEXT)
    started = time.monotonic()
    event = run_trigger(deferred.value.trigger)
    assert time.monotonic() - started < 2.0
    assert (event["status"], event["details"]["state"]) == ("failed", "CANCELED")
    with pytest.raises(AirflowFailException, match="CANCELED"):
        operator.execute_complete(CONTEXT, event)


def test_trigger_rides_out_connection_refused_and_5xx(monkeypatch, token):
    stub = KfpContractStub(token=token)  # port reserved, server not yet listening
    _set_connection(monkeypatch, stub.url, token)
    pipeline = stub.add_pipeline("late")
    experiment = stub.add_experiment("late")
    run = stub.add_run(pipeline["pipeline_id"], experiment["experiment_id"])
    stub.set_run_state(run["run_id"], "SUCCEEDED")
    stub.fail_next_requests(1, status=502)
    trigger = KubeflowRunTrigger(run_id=run["run_id"], kubeflow_conn_id=CONN_ID, poll_interval=0.1)

    async def scenario():
        waiting = asyncio.ensure_future(run_trigger_async(trigger))
        await asyncio.sleep(0.5)
        assert not waiting.done(), "the trigger must keep retrying while the API is down"
        stub.start()
        return await asyncio.wait_for(waiting, 15)

    try:
        event = asyncio.run(scenario())
    finally:
        stub.stop()
    assert event["status"] == "success"
    assert [r.path for r in stub.requests].count(f"/apis/v2beta1/runs/{run['run_id']}") == 2


async def run_trigger_async(trigger):
    async for event in trigger.run():
        return event.payload
    return None


def test_unknown_pipeline_name_fails_fast(kfp, conn):
    with pytest.raises(AirflowFailException, match="pipeline 'no-such-pipeline' not found"):
        KubeflowPipelineOperator(
            task_id="t", pipeline_name="no-such-pipeline", experiment_name="x", kubeflow_conn_id=conn
        ).execute(CONTEXT)


def test_unknown_pipeline_id_and_experiment_id_fail_fast(kfp, conn, pipeline):
    with pytest.raises(AirflowFailException, match="pipeline id 'nope' not found"):
        KubeflowPipelineOperator(
            task_id="t", pipeline_id="nope", experiment_name="x", kubeflow_conn_id=conn
        ).execute(CONTEXT)
    with pytest.raises(AirflowFailException, match="experiment id 'ghost' not found"):
        _operator(pipeline, experiment_name=None, experiment_id="ghost").execute(CONTEXT)


def test_pipeline_names_are_scoped_to_the_namespace(kfp, conn):
    other = kfp.add_pipeline(f"elsewhere-{secrets.token_hex(3)}", namespace="other-team")
    with pytest.raises(
        AirflowFailException, match="not found in Kubeflow Pipelines \\(namespace 'team-ml'\\)"
    ):
        _operator(other).execute(CONTEXT)


def test_sensor_poke_and_reschedule_modes(kfp, conn, pipeline):
    run_id = _operator(pipeline, wait_for_completion=False).execute(CONTEXT)
    ti = SimpleNamespace(get_first_reschedule_date=lambda context: None)
    rescheduling = KubeflowPipelineRunSensor(
        task_id="wait", run_id=run_id, kubeflow_conn_id=conn, mode="reschedule", deferrable=False
    )
    with pytest.raises(AirflowRescheduleException):
        rescheduling.execute({"ti": ti})
    kfp.set_run_state(run_id, "SUCCEEDED")
    assert rescheduling.execute({"ti": ti}) == run_id
    poking = KubeflowPipelineRunSensor(
        task_id="wait2", run_id=run_id, kubeflow_conn_id=conn, poke_interval=0.05, deferrable=False
    )
    assert poking.execute({}) == run_id


def test_sensor_fails_at_once_on_failed_run(kfp, conn, pipeline):
    run_id = _operator(pipeline, wait_for_completion=False).execute(CONTEXT)
    kfp.set_run_state(run_id, "FAILED", error_message="trainer OOMKilled")
    sensor = KubeflowPipelineRunSensor(task_id="wait", run_id=run_id, kubeflow_conn_id=conn, timeout=600)
    with pytest.raises(AirflowFailException, match=r"FAILED\. trainer OOMKilled"):
        sensor.execute({})


def test_deferrable_sensor_defers_then_resumes(kfp, conn, pipeline):
    run_id = _operator(pipeline, wait_for_completion=False).execute(CONTEXT)
    sensor = KubeflowPipelineRunSensor(
        task_id="wait", run_id=run_id, kubeflow_conn_id=conn, deferrable=True, poke_interval=0.05
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    kfp.set_run_state(run_id, "SUCCEEDED")
    event = run_trigger(deferred.value.trigger)
    assert sensor.execute_complete({}, event) == run_id


def test_token_is_checked_and_never_leaks(kfp, conn, pipeline, monkeypatch, capfd, caplog, token):
    kfp.script_next_run("RUNNING", "SUCCEEDED")
    operator = _operator(pipeline, deferrable=True)
    operator.render_template_fields(CONTEXT)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(CONTEXT)
    event = run_trigger(deferred.value.trigger)
    xcom = operator.execute_complete(CONTEXT, event)
    assert all(r.authorized and r.had_authorization for r in kfp.requests)

    wrong = secrets.token_hex(16)
    _set_connection(monkeypatch, kfp.url, wrong)
    with pytest.raises(AirflowFailException, match="rejected the credentials") as rejected:
        _operator(pipeline).execute(CONTEXT)
    assert not kfp.requests[-1].authorized
    refused_event = run_trigger(KubeflowRunTrigger(run_id=xcom, kubeflow_conn_id=CONN_ID))
    assert refused_event["status"] == "error"

    captured = capfd.readouterr()
    texts = [
        captured.out,
        captured.err,
        caplog.text,
        str(rejected.value),
        json.dumps(event),
        json.dumps(refused_event),
        xcom,
        json.dumps(deferred.value.trigger.serialize()[1]),
        *(str(getattr(operator, field)) for field in operator.template_fields),
    ]
    assert "Started KFP run" in captured.out + captured.err + caplog.text
    for text in texts:
        assert token not in text
        assert wrong not in text
