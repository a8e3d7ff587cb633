"""MLflow triggers: serialize() round-trips, argument validation, and the wait's error handling."""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest

from airflow_platform.triggers.mlflow import (
    MLflowModelAliasTrigger,
    MLflowModelStageTrigger,
    MLflowRunCompleteTrigger,
    ModelPerformanceTrigger,
)
from platform_devkit.loopback.base import free_port

TRIGGERS = [
    MLflowRunCompleteTrigger(run_id="abc123", mlflow_conn_id="mlflow_x", poll_interval=2.5),
    MLflowModelStageTrigger(
        model_name="m", stage="production", version=3, backoff_initial=0.5, backoff_max=4
    ),
    MLflowModelStageTrigger(model_name="m", stage="Staging"),
    MLflowModelAliasTrigger(model_name="m", alias="champion", version="7"),
    MLflowModelAliasTrigger(model_name="m", alias="champion"),
    ModelPerformanceTrigger(
        experiment_name="e", metric="rmse", threshold=0.25, comparison="<", only_finished_runs=False
    ),
]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: type(t).__name__)
def test_serialize_round_trips(trigger, rebuild):
    classpath, kwargs = trigger.serialize()
    json.dumps(kwargs)  # the triggerer stores kwargs as JSON
    again = rebuild(trigger)
    assert type(again) is type(trigger)
    assert again.serialize() == (classpath, kwargs)


def test_serialized_kwargs_name_the_connection_not_its_secret(monkeypatch):
    token = secrets.token_hex(16)
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", f"http://:{token}@127.0.0.1:5000")
    _, kwargs = MLflowRunCompleteTrigger(run_id="r").serialize()
    assert kwargs["mlflow_conn_id"] == "mlflow_default"
    assert token not in json.dumps(kwargs)


def test_stage_is_normalised_and_validated():
    assert MLflowModelStageTrigger(model_name="m", stage="production").stage == "Production"
    with pytest.raises(ValueError, match="unknown model stage"):
        MLflowModelStageTrigger(model_name="m", stage="Live")


def test_comparison_and_interval_are_validated():
    with pytest.raises(ValueError, match="unknown comparison"):
        ModelPerformanceTrigger(experiment_name="e", metric="acc", threshold=0.9, comparison="==")
    with pytest.raises(ValueError, match="poll_interval"):
        MLflowRunCompleteTrigger(run_id="r", poll_interval=0)


async def first_event(trigger, timeout):
    async for event in trigger.run():
        return event
    return None


def test_missing_connection_fires_an_error_event(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_MLFLOW_NOWHERE", raising=False)
    trigger = MLflowRunCompleteTrigger(run_id="r", mlflow_conn_id="mlflow_nowhere")
    event = asyncio.run(first_event(trigger, 10))
    assert event.payload["status"] == "error"
    assert "mlflow_nowhere" in event.payload["message"]


def test_unreachable_server_is_retried_not_failed(monkeypatch, capsys):
    token = secrets.token_hex(16)
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", f"http://:{token}@127.0.0.1:{free_port()}")
    trigger = MLflowRunCompleteTrigger(run_id="r", poll_interval=0.1, backoff_initial=0.05, backoff_max=0.1)

    async def run_for_a_while():
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(first_event(trigger, 1), timeout=1.0)

    asyncio.run(run_for_a_while())
    output = "".join(capsys.readouterr())
    assert output.count("Transient MLflow error") >= 3
    assert token not in output


def test_triggers_of_one_server_and_credential_share_a_poller(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", "http://:token-a@127.0.0.1:5000")
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_SAME", "http://:token-a@127.0.0.1:5000")
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_OTHER", "http://:token-b@127.0.0.1:5000")

    async def pollers():
        run = await MLflowRunCompleteTrigger(run_id="r").poller()
        alias = await MLflowModelAliasTrigger(
            model_name="m", alias="a", mlflow_conn_id="mlflow_same"
        ).poller()
        other = await MLflowRunCompleteTrigger(run_id="r", mlflow_conn_id="mlflow_other").poller()
        return run, alias, other

    run, alias, other = asyncio.run(pollers())
    assert run is alias
    assert run is not other
    assert "token-a" not in repr(run.key)
