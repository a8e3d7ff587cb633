"""The Kubeflow Pipelines condition: run states and what ends the wait."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_platform.conditions.kubeflow import kfp_run_check, kfp_run_outcome, run_state
from airflow_platform.polling.checks import drive_check, event_details


def test_run_states_are_upper_case_and_terminal_states_end_waiting():
    assert run_state({"state": "running"}) == "RUNNING"
    assert run_state({}) == "PENDING"
    assert kfp_run_outcome({"run_id": "r", "state": "SUCCEEDED"}).status == "success"
    assert kfp_run_outcome({"run_id": "r", "state": "CANCELING"}) is None
    for state in ("FAILED", "CANCELED", "SKIPPED"):
        outcome = kfp_run_outcome({"run_id": "r", "state": state, "error": {"message": "boom"}})
        with pytest.raises(AirflowFailException, match=state):
            event_details(outcome.payload(), "KFP API")


def test_run_check_reads_the_run_and_names_it():
    calls = []

    def answer(call):
        calls.append(call)
        return {"state": "FAILED", "error": {"message": "trainer OOMKilled"}}

    outcome = drive_check(kfp_run_check("r-1"), answer)
    assert calls[0].method == "GET" and calls[0].path == "apis/v2beta1/runs/r-1"
    assert outcome.status == "failed"
    assert outcome.message == "KFP run 'r-1' ended FAILED. trainer OOMKilled"
    assert outcome.details == {"run_id": "r-1", "state": "FAILED"}
