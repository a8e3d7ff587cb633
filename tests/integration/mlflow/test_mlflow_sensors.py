"""MLflow sensors and triggers against the real tracking server: deferred (asyncio) and poke mode."""

from __future__ import annotations

import asyncio
import json

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_platform.operators.mlflow import MLflowLogMetricsOperator, MLflowRegisterModelOperator
from airflow_platform.sensors.mlflow import (
    MLflowModelAliasSensor,
    MLflowModelStageSensor,
    MLflowRunCompleteSensor,
    ModelPerformanceSensor,
)
from airflow_platform.triggers.mlflow import MLflowModelAliasTrigger, MLflowRunCompleteTrigger

FAST = {"poke_interval": 0.3, "timeout": 60, "backoff_initial": 0.2, "backoff_max": 1.0}


async def first_event(trigger):
    async for event in trigger.run():
        return event
    return None


def deferred_trigger(sensor):
    """Run the sensor's execute() as Airflow would and return the trigger it defers to."""
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context={})
    return deferred.value.trigger


def wait_while(trigger, action, *, before: float = 1.0, timeout: float = 30.0):
    """Start the trigger, let it poll for ``before`` seconds, run ``action`` (blocking), return the event."""

    async def scenario():
        waiter = asyncio.create_task(first_event(trigger))
        await asyncio.sleep(before)
        assert not waiter.done(), f"the trigger fired before the change: {waiter.result()}"
        await asyncio.to_thread(action)
        return await asyncio.wait_for(waiter, timeout)

    return asyncio.run(scenario())


def test_run_complete_sensor_defers_and_fires_when_the_run_finishes_mid_wait(
    client, experiment_id, mlflow_conn
):
    run_id = client.create_run(experiment_id).info.run_id
    sensor = MLflowRunCompleteSensor(task_id="wait", run_id=run_id, deferrable=True, **FAST)
    trigger = deferred_trigger(sensor)
    assert mlflow_conn.token not in json.dumps(trigger.serialize()[1])
    event = wait_while(trigger, lambda: client.set_terminated(run_id, "FINISHED"))
    assert event.payload["status"] == "success"
    assert sensor.execute_complete(context={}, event=event.payload)["run_status"] == "FINISHED"


@pytest.mark.parametrize("status", ["FAILED", "KILLED"])
def test_run_that_fails_mid_wait_fails_the_sensor(client, experiment_id, status):
    run_id = client.create_run(experiment_id).info.run_id
    sensor = MLflowRunCompleteSensor(task_id="wait", run_id=run_id, deferrable=True, **FAST)
    event = wait_while(deferred_trigger(sensor), lambda: client.set_terminated(run_id, status), before=0.6)
    assert event.payload["status"] == "failed"
    with pytest.raises(AirflowFailException, match=f"run '{run_id}' ended {status}"):
        sensor.execute_complete(context={}, event=event.payload)


def test_run_complete_sensor_in_poke_mode(client, experiment_id):
    run_id = MLflowLogMetricsOperator(task_id="log", experiment_name="poke-mode", metrics={"a": 1}).execute(
        {}
    )
    sensor = MLflowRunCompleteSensor(task_id="wait", run_id=run_id, deferrable=False, **FAST)
    assert sensor.execute(context={})["run_status"] == "FINISHED"


def test_unknown_run_fails_fast_in_both_modes(mlflow_conn, capsys):
    missing = "f" * 32
    event = asyncio.run(
        asyncio.wait_for(first_event(MLflowRunCompleteTrigger(run_id=missing, poll_interval=0.3)), 20)
    )
    assert event.payload["status"] == "error"
    assert missing in event.payload["message"]
    with pytest.raises(AirflowFailException, match=f"run '{missing}'"):
        MLflowRunCompleteSensor(task_id="wait", run_id=missing, deferrable=False, **FAST).execute(context={})
    assert mlflow_conn.token not in event.payload["message"]
    assert mlflow_conn.token not in "".join(capsys.readouterr())


def test_alias_sensor_fires_when_the_alias_is_set_mid_wait(client, registered_model):
    name, version = registered_model.name, registered_model.version
    sensor = MLflowModelAliasSensor(
        task_id="wait", model_name=name, alias="mid-wait", version=version, deferrable=True, **FAST
    )
    event = wait_while(
        deferred_trigger(sensor), lambda: client.set_registered_model_alias(name, "mid-wait", version)
    )
    assert sensor.execute_complete(context={}, event=event.payload) == {
        "model_name": name,
        "alias": "mid-wait",
        "version": version,
    }
    poke = MLflowModelAliasSensor(task_id="wait", model_name=name, alias="mid-wait", deferrable=False, **FAST)
    assert poke.execute(context={})["version"] == version


def test_alias_sensor_on_unknown_model_fails_fast(mlflow_conn):
    trigger = MLflowModelAliasTrigger(model_name="no-such-model-abc", alias="champion", poll_interval=0.3)
    event = asyncio.run(asyncio.wait_for(first_event(trigger), 20))
    assert event.payload["status"] == "error"
    assert "registered model 'no-such-model-abc'" in event.payload["message"]


def test_stage_sensor_waits_for_a_transition_in_both_modes(client, registered_model):
    name = registered_model.name
    version = MLflowRegisterModelOperator(
        task_id="register", model_uri=f"runs:/{registered_model.run_id}/model", model_name=name
    ).execute({})["version"]
    sensor = MLflowModelStageSensor(
        task_id="wait", model_name=name, stage="Archived", version=version, deferrable=True, **FAST
    )

    def archive():
        client.transition_model_version_stage(name, version, "Archived")

    with pytest.warns(FutureWarning):  # MLflow's own stage deprecation, raised by the test's direct call
        event = wait_while(deferred_trigger(sensor), archive)
    assert sensor.execute_complete(context={}, event=event.payload)["version"] == version
    any_version = MLflowModelStageSensor(
        task_id="wait", model_name=name, stage="archived", deferrable=False, **FAST
    )
    assert any_version.execute(context={})["stage"] == "Archived"
    with pytest.raises(AirflowFailException, match=f"model '{name}' version 999"):
        MLflowModelStageSensor(
            task_id="wait", model_name=name, stage="Staging", version=999, deferrable=False, **FAST
        ).execute(context={})


def test_performance_sensor_compares_the_best_run_with_the_threshold(client, unique_name):
    experiment = unique_name("performance")
    for accuracy in (0.7, 0.8):
        MLflowLogMetricsOperator(
            task_id="log", experiment_name=experiment, metrics={"accuracy": accuracy}
        ).execute({})
    met = ModelPerformanceSensor(
        task_id="gate",
        experiment_name=experiment,
        metric="accuracy",
        threshold="0.75",
        deferrable=False,
        **FAST,
    ).execute(context={})
    assert met["value"] == 0.8
    lower_is_better = ModelPerformanceSensor(
        task_id="gate",
        experiment_name=experiment,
        metric="accuracy",
        threshold=0.71,
        comparison="<",
        deferrable=False,
        **FAST,
    ).execute(context={})
    assert lower_is_better["value"] == 0.7

    sensor = ModelPerformanceSensor(
        task_id="gate",
        experiment_name=experiment,
        metric="accuracy",
        threshold=0.9,
        comparison=">",
        deferrable=True,
        **FAST,
    )
    log_better = MLflowLogMetricsOperator(
        task_id="log", experiment_name=experiment, metrics={"accuracy": 0.95}
    )
    event = wait_while(deferred_trigger(sensor), lambda: log_better.execute({}))
    result = sensor.execute_complete(context={}, event=event.payload)
    assert result["value"] == 0.95 and result["comparison"] == ">"


def test_performance_sensor_on_unknown_experiment_fails_fast(mlflow_conn):
    sensor = ModelPerformanceSensor(
        task_id="gate",
        experiment_name="no-such-experiment-q",
        metric="accuracy",
        threshold=0.5,
        deferrable=False,
        **FAST,
    )
    with pytest.raises(AirflowFailException, match="experiment 'no-such-experiment-q'"):
        sensor.execute(context={})
