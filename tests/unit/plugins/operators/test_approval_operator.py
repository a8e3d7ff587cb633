"""RecordedApprovalOperator: the answer is recorded for later tasks, and the run branches as answered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pendulum
import pytest
from airflow.providers.standard.exceptions import HITLTimeoutError
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import DownstreamTasksSkipped

from airflow_platform.operators.approval import ANSWER_KEY, RecordedApprovalOperator


class RecordingTaskInstance:
    """The part of a running task instance that branching and XCom pushes use; records the pushes."""

    def __init__(self, task: RecordedApprovalOperator) -> None:
        self.task = task
        self.map_index = -1
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def _approval() -> RecordedApprovalOperator:
    with DAG("approval", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        ask = RecordedApprovalOperator(
            task_id="ask",
            subject="Promote?",
            options=["Approve", "Reject"],
            options_mapping={"Approve": "promote", "Reject": "reject"},
            defaults="Reject",
        )
        ask >> [EmptyOperator(task_id="promote"), EmptyOperator(task_id="reject")]
    return ask


def _answer(option: str, responder: dict[str, str] | None, **extra: Any) -> dict[str, Any]:
    return {
        "chosen_options": [option],
        "params_input": {},
        "responded_at": datetime.now(UTC),
        "responded_by_user": responder,
        **extra,
    }


def test_a_rejection_is_recorded_with_its_responder_and_skips_the_promotion() -> None:
    ask = _approval()
    ti = RecordingTaskInstance(ask)
    with pytest.raises(DownstreamTasksSkipped) as skipped:
        ask.execute_complete({"ti": ti}, _answer("Reject", {"id": "7", "name": "ann"}))
    assert ti.pushed[ANSWER_KEY] == {
        "chosen_options": ["Reject"],
        "responded_by_user": {"id": "7", "name": "ann"},
        "timedout": False,
    }
    assert [task_id for task_id, _ in skipped.value.tasks] == ["promote"]


def test_a_timeout_that_chose_the_defaults_is_recorded_without_a_responder() -> None:
    ask = _approval()
    ti = RecordingTaskInstance(ask)
    with pytest.raises(DownstreamTasksSkipped):
        ask.execute_complete({"ti": ti}, _answer("Reject", None, timedout=True))
    assert ti.pushed[ANSWER_KEY] == {
        "chosen_options": ["Reject"],
        "responded_by_user": None,
        "timedout": True,
    }


def test_an_error_event_is_not_recorded_and_fails_as_airflow_does() -> None:
    ask = _approval()
    ti = RecordingTaskInstance(ask)
    with pytest.raises(HITLTimeoutError):
        ask.execute_complete({"ti": ti}, {"error": "no answer", "error_type": "timeout"})
    assert ANSWER_KEY not in ti.pushed
