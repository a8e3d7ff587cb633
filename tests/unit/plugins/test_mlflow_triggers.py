"""MLflow triggers: serialize() round-trips, argument validation, checks, and the loop's error handling."""

from __future__ import annotations

import asyncio
import importlib
import json
import secrets

import pytest

from airflow_platform.hooks.mlflow import ApiCall
from airflow_platform.triggers.mlflow import (
    MLflowModelAliasTrigger,
    MLflowModelStageTrigger,
    MLflowRunCompleteTrigger,
    ModelPerformanceTrigger,
    Outcome,
    model_alias_check,
    model_performance_check,
    model_stage_check,
    run_complete_check,
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


def rebuild(trigger):
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: type(t).__name__)
def test_serialize_round_trips(trigger):
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


def drive(check, *answers):
    """Run a sans-IO check with canned answers; return (calls made, result)."""
    calls: list[ApiCall] = []
    try:
        calls.append(next(check))
        for answer in answers:
            calls.append(check.send(answer))
    except StopIteration as done:
        return calls, done.value
    raise AssertionError(f"check wanted more than {len(answers)} answers")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("RUNNING", None),
        ("SCHEDULED", None),
        ("FINISHED", "success"),
        ("FAILED", "failed"),
        ("KILLED", "failed"),
    ],
)
def test_run_complete_check_maps_states(status, expected):
    calls, outcome = drive(
        run_complete_check("r1"), {"run": {"info": {"status": status, "experiment_id": "0"}}}
    )
    assert calls[0].path == "runs/get" and calls[0].params == {"run_id": "r1"}
    assert (outcome.status if outcome else None) == expected


def test_alias_check_waits_for_the_requested_version():
    answer = {"registered_model": {"name": "m", "aliases": [{"alias": "champion", "version": "2"}]}}
    _, outcome = drive(model_alias_check("m", "champion"), answer)
    assert outcome == Outcome(
        "success", outcome.message, {"model_name": "m", "alias": "champion", "version": "2"}
    )
    assert drive(model_alias_check("m", "champion", "3"), answer)[1] is None
    assert drive(model_alias_check("m", "challenger"), answer)[1] is None


def test_stage_check_picks_the_newest_version_in_stage():
    versions = {
        "model_versions": [
            {"version": "1", "current_stage": "Production"},
            {"version": "3", "current_stage": "Production"},
            {"version": "2", "current_stage": "Staging"},
        ]
    }
    calls, outcome = drive(model_stage_check("m", "Production"), {"registered_model": {}}, versions)
    assert [c.path for c in calls] == ["registered-models/get", "model-versions/search"]
    assert outcome.details["version"] == "3"
    _, outcome = drive(model_stage_check("m", "Archived"), {"registered_model": {}}, versions)
    assert outcome is None


def test_performance_check_builds_the_search_and_reads_the_best_run():
    check = model_performance_check("exp", "rmse", 0.5, "<=")
    run = {"info": {"run_id": "best"}, "data": {"metrics": [{"key": "rmse", "value": 0.4}]}}
    calls, outcome = drive(check, {"experiment": {"experiment_id": "7"}}, {"runs": [run]})
    search = calls[1].body
    assert search["experiment_ids"] == ["7"]
    assert search["order_by"] == ["metrics.`rmse` ASC"]
    assert "metrics.`rmse` <= 0.5" in search["filter"] and "FINISHED" in search["filter"]
    assert outcome.details["run_id"] == "best" and outcome.details["value"] == 0.4
    _, nothing = drive(model_performance_check("exp", "acc", 0.9), {"experiment": {"experiment_id": "7"}}, {})
    assert nothing is None


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
