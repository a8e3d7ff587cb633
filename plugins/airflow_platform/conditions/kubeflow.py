"""The Kubeflow Pipelines condition: a run reaching a terminal state (KFP v2 states are upper-case)."""

from __future__ import annotations

from typing import Any

from airflow_platform.hooks.kubeflow import get_run_call
from airflow_platform.polling.checks import Check, Outcome

SUCCESS_STATES = frozenset({"SUCCEEDED"})
FAILURE_STATES = frozenset({"FAILED", "CANCELED", "SKIPPED"})
TERMINAL_STATES = SUCCESS_STATES | FAILURE_STATES


def run_state(run: dict[str, Any]) -> str:
    """Return a run's upper-case KFP v2 state (``PENDING`` when the API has not set one)."""
    return str(run.get("state") or "PENDING").upper()


def kfp_run_outcome(run: dict[str, Any]) -> Outcome | None:
    """``success`` when the run SUCCEEDED, ``failed`` when it ended FAILED/CANCELED/SKIPPED, else ``None``."""
    state = run_state(run)
    if state not in TERMINAL_STATES:
        return None
    run_id = run.get("run_id")
    details = {"run_id": run_id, "state": state}
    if state in SUCCESS_STATES:
        return Outcome("success", f"KFP run {run_id!r} SUCCEEDED", details)
    error = (run.get("error") or {}).get("message") or ""
    return Outcome("failed", f"KFP run {run_id!r} ended {state}. {error}".strip(), details)


def kfp_run_check(run_id: str) -> Check:
    """Finish when the run reaches a terminal state (CANCELED ends the wait too)."""
    run = yield get_run_call(run_id)
    return kfp_run_outcome({"run_id": run_id, **run})
