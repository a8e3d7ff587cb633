"""Human approval before a model becomes champion, through the REST API as the deployment's users.

``model_approval_required`` is ``"true"`` here, as in prod, so each enterprise run stops at
``deploy.approve_champion`` (a ``HITLBranchOperator``) in the ``awaiting_input`` state. The session's
scheduled run is approved as the ``ModelApprover`` user (``approved_enterprise_run``); the triggered
``rejection_run`` is first answered by every role that may not answer, each refused with 403 while the
run keeps waiting, then rejected by the ``ModelApprover``: the run ends in ``reject_model`` and the
Slack notice names who rejected it.
"""

from __future__ import annotations

import pytest
from airflow_client.client.exceptions import ApiException

from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.receivers import WebhookReceiver

from .conftest import APPROVAL_TASK, APPROVER_ROLE, ENTERPRISE_DAG

ROLES_THAT_MAY_NOT_ANSWER = ("Viewer", "User", "Op", "MLEngineer")


@pytest.fixture(scope="module")
def waiting_rejection_run(
    airflow_platform: LoopbackAirflow, approved_enterprise_run: str, rejection_run: str
) -> str:
    """The triggered enterprise run once it waits for an answer (after the approved run, one at a time)."""
    airflow_platform.api.wait_for_tasks(
        ENTERPRISE_DAG, rejection_run, [APPROVAL_TASK], "awaiting_input", timeout=480
    )
    return rejection_run


def test_the_approved_run_records_who_approved_and_promotes_the_model(
    airflow_platform: LoopbackAirflow, approved_enterprise_run: str
) -> None:
    run = airflow_platform.api.wait_for_run(ENTERPRISE_DAG, approved_enterprise_run, timeout=300)
    states = airflow_platform.api.task_states(ENTERPRISE_DAG, approved_enterprise_run)
    assert run["state"] == "success", states
    answer = airflow_platform.api.approval(ENTERPRISE_DAG, approved_enterprise_run, APPROVAL_TASK)
    assert answer["response_received"] is True
    assert answer["chosen_options"] == ["Approve"]
    assert answer["responded_by_user"]["name"] == airflow_platform.users[APPROVER_ROLE].username
    assert states["deploy.promote_champion"] == "success"
    assert states["deploy.approval_not_required"] == "skipped"
    assert states["reject_model"] == "skipped"


@pytest.mark.parametrize("role", ROLES_THAT_MAY_NOT_ANSWER)
def test_a_role_that_may_not_approve_is_refused_and_the_run_keeps_waiting(
    airflow_platform: LoopbackAirflow, waiting_rejection_run: str, role: str
) -> None:
    with pytest.raises(ApiException) as refused:
        airflow_platform.api.answer_approval(
            ENTERPRISE_DAG, waiting_rejection_run, APPROVAL_TASK, ["Approve"], role=role
        )
    assert refused.value.status == 403, refused.value.body
    assert (
        airflow_platform.api.task_states(ENTERPRISE_DAG, waiting_rejection_run)[APPROVAL_TASK]
        == "awaiting_input"
    )
    request = airflow_platform.api.approval(ENTERPRISE_DAG, waiting_rejection_run, APPROVAL_TASK)
    assert request["response_received"] is False
    assert request["chosen_options"] in (None, [])


def test_a_rejection_ends_in_reject_model_and_the_slack_notice_says_who_rejected(
    airflow_platform: LoopbackAirflow, waiting_rejection_run: str, webhook_receiver: WebhookReceiver
) -> None:
    approver = airflow_platform.users[APPROVER_ROLE].username
    answer = airflow_platform.api.answer_approval(
        ENTERPRISE_DAG, waiting_rejection_run, APPROVAL_TASK, ["Reject"], role=APPROVER_ROLE
    )
    assert answer["chosen_options"] == ["Reject"]
    run = airflow_platform.api.wait_for_run(ENTERPRISE_DAG, waiting_rejection_run, timeout=300)
    states = airflow_platform.api.task_states(ENTERPRISE_DAG, waiting_rejection_run)
    assert run["state"] == "success", states
    assert states["reject_model"] == "success"
    for task_id in ("deploy.promote_champion", "deploy.smoke_test_champion", "deploy.publish_champion"):
        assert states[task_id] == "skipped", states
    notice = webhook_receiver.wait_for(
        lambda r: r.path.startswith("/slack/") and f"rejected by {approver}".encode() in r.body, timeout=60
    )
    assert "enterprise_churn_classifier" in notice.json["text"]
