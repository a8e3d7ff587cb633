"""Human approval that leaves a record: a ``HITLBranchOperator`` whose answer downstream tasks can read.

Airflow's ``HITLBranchOperator`` returns the branch it follows, so the XCom of the task says *where*
the run went but not *who* sent it there. :class:`RecordedApprovalOperator` also pushes the answer
under the XCom key :data:`ANSWER_KEY`: the chosen options, the responder (``None`` when the timeout
chose the defaults) and whether it timed out, so that a later task (a notification, an audit record)
can say who approved or rejected.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import HITLBranchOperator

ANSWER_KEY = "answer"
"""The XCom key of the recorded answer."""


class RecordedApprovalOperator(HITLBranchOperator):
    """``HITLBranchOperator`` that records the answer under the XCom key :data:`ANSWER_KEY`.

    The recorded value is ``{"chosen_options": [...], "responded_by_user": {"id", "name"} | None,
    "timedout": bool}``. Arguments are ``HITLBranchOperator``'s.
    """

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Record the answer, then branch as ``HITLBranchOperator`` does (an error event fails as there)."""
        if "error" not in event:
            responder = event.get("responded_by_user")
            context["ti"].xcom_push(
                key=ANSWER_KEY,
                value={
                    "chosen_options": list(event["chosen_options"]),
                    "responded_by_user": dict(responder) if responder else None,
                    "timedout": bool(event.get("timedout", responder is None)),
                },
            )
        return super().execute_complete(context=context, event=event)
