"""The MLflow conditions: the REST calls each check asks for and how it reads the answers."""

from __future__ import annotations

import pytest

from airflow_platform.conditions.mlflow import (
    model_alias_check,
    model_performance_check,
    model_stage_check,
    run_complete_check,
)
from airflow_platform.polling.checks import Outcome
from airflow_platform.utils.http import ApiCall


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
