"""MLflow sensors: they poke once, defer with their trigger, resume from its events, validate arguments."""

from __future__ import annotations

import importlib
import secrets

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_platform.sensors.mlflow import (
    MLflowModelAliasSensor,
    MLflowModelStageSensor,
    MLflowRunCompleteSensor,
    ModelPerformanceSensor,
)
from airflow_platform.triggers.mlflow import (
    MLflowModelAliasTrigger,
    MLflowModelStageTrigger,
    MLflowRunCompleteTrigger,
    ModelPerformanceTrigger,
)
from platform_devkit.loopback.base import free_port

CASES = [
    (
        lambda **kw: MLflowRunCompleteSensor(task_id="s", run_id="r1", **kw),
        MLflowRunCompleteTrigger,
        {"run_id": "r1"},
    ),
    (
        lambda **kw: MLflowModelStageSensor(task_id="s", model_name="m", stage="staging", version=2, **kw),
        MLflowModelStageTrigger,
        {"model_name": "m", "stage": "Staging", "version": "2"},
    ),
    (
        lambda **kw: MLflowModelAliasSensor(task_id="s", model_name="m", alias="champion", **kw),
        MLflowModelAliasTrigger,
        {"model_name": "m", "alias": "champion", "version": None},
    ),
    (
        lambda **kw: ModelPerformanceSensor(
            task_id="s", experiment_name="e", metric="acc", threshold="0.9", comparison=">", **kw
        ),
        ModelPerformanceTrigger,
        {"experiment_name": "e", "metric": "acc", "threshold": 0.9, "comparison": ">"},
    ),
]
IDS = ["run", "stage", "alias", "performance"]


@pytest.mark.parametrize(("make", "trigger_cls", "expected"), CASES, ids=IDS)
def test_deferrable_sensor_defers_with_its_trigger(monkeypatch, make, trigger_cls, expected):
    sensor = make(deferrable=True, poke_interval=7, timeout=600, mlflow_conn_id="mlflow_x")
    monkeypatch.setattr(sensor, "poke", lambda context: False)  # the first poke finds the wait not over
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context={})
    trigger = deferred.value.trigger
    assert type(trigger) is trigger_cls
    _, kwargs = trigger.serialize()
    assert kwargs["mlflow_conn_id"] == "mlflow_x"
    assert kwargs["poll_interval"] == 7.0
    assert {k: kwargs[k] for k in expected} == expected
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout.total_seconds() == 600


@pytest.mark.parametrize(("make", "trigger_cls", "expected"), CASES, ids=IDS)
def test_sensor_resumes_with_details_on_success(make, trigger_cls, expected):
    sensor = make(deferrable=True)
    details = {"run_id": "r1", "version": "2"}
    event = {"status": "success", "message": "done", "details": details}
    assert sensor.execute_complete(context={}, event=event) == details


@pytest.mark.parametrize("status", ["failed", "error"])
@pytest.mark.parametrize(("make", "trigger_cls", "expected"), CASES, ids=IDS)
def test_sensor_fails_fast_on_failure_events(make, trigger_cls, expected, status):
    sensor = make(deferrable=True)
    event = {"status": status, "message": "MLflow run 'r1' ended FAILED", "details": {}}
    with pytest.raises(AirflowFailException, match="ended FAILED"):
        sensor.execute_complete(context={}, event=event)
    with pytest.raises(AirflowFailException):
        sensor.execute_complete(context={}, event=None)


@pytest.mark.parametrize("setting", ["True", "False"])
def test_deferrable_defaults_to_the_airflow_setting(monkeypatch, setting):
    import airflow_platform.sensors.mlflow as module

    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", setting)
    try:
        reloaded = importlib.reload(module)
        assert reloaded.MLflowRunCompleteSensor(task_id="s", run_id="r").deferrable is (setting == "True")
    finally:
        monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE")
        importlib.reload(module)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MLflowRunCompleteSensor(task_id="s", run_id=""), "run_id"),
        (lambda: MLflowModelStageSensor(task_id="s", model_name="m", stage="Live"), "unknown model stage"),
        (lambda: MLflowModelAliasSensor(task_id="s", model_name="m", alias=""), "alias"),
        (
            lambda: ModelPerformanceSensor(
                task_id="s", experiment_name="e", metric="a", threshold=1, comparison="!="
            ),
            "unknown comparison",
        ),
        (
            lambda: ModelPerformanceSensor(task_id="s", experiment_name="e", metric="a", threshold="high"),
            "threshold must be a number",
        ),
    ],
)
def test_sensor_arguments_are_validated(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_templated_threshold_is_accepted_and_checked_when_rendered():
    sensor = ModelPerformanceSensor(
        task_id="s", experiment_name="e", metric="a", threshold="{{ var.value.ml_accuracy_threshold }}"
    )
    sensor.threshold = "not-a-number"  # what a bad Variable would render to
    with pytest.raises(AirflowFailException, match="threshold must be a number"):
        sensor.build_trigger()


def test_poke_treats_an_unreachable_server_as_not_yet(monkeypatch, capsys):
    token = secrets.token_hex(16)
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", f"http://:{token}@127.0.0.1:{free_port()}")
    sensor = MLflowRunCompleteSensor(task_id="s", run_id="r1")
    assert sensor.poke(context={}) is False
    output = "".join(capsys.readouterr())
    assert "Transient MLflow error" in output
    assert token not in output


def test_poke_fails_fast_without_a_connection(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_MLFLOW_MISSING", raising=False)
    sensor = MLflowRunCompleteSensor(task_id="s", run_id="r1", mlflow_conn_id="mlflow_missing")
    with pytest.raises(AirflowFailException, match="mlflow_missing"):
        sensor.poke(context={})
