"""The Kubeflow Pipelines run sensor: it pokes once, defers with its settings and resumes from events."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_platform.sensors.kubeflow import KubeflowPipelineRunSensor
from airflow_platform.triggers.kubeflow import KubeflowRunTrigger


def test_sensor_rejects_an_empty_run_id():
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
