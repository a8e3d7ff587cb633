"""Sans-IO checks, their outcome, and the one event shape ``{status, message, details}``.

A :data:`Check` is a generator: it yields the calls it needs (e.g. an
:class:`~airflow_platform.utils.http.ApiCall`), receives each answer and returns an :class:`Outcome`
when the wait is over or ``None`` when it is not yet. Hooks answer the calls, so checks decide the same
way in a sensor's ``poke`` (:func:`drive_check`) and in a trigger (the shared poller).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow.sdk.exceptions import AirflowFailException

EVENT_KEYS = ("status", "message", "details")

#: A sans-IO check: yields calls, receives their answers, returns an Outcome or None (not yet).
Check = Generator[Any, Any, "Outcome | None"]


@dataclass(frozen=True)
class Outcome:
    """The end of a wait: ``success`` (with details for XCom) or ``failed`` (with the reason)."""

    status: Literal["success", "failed"]
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Return the JSON-serialisable trigger event payload ``{status, message, details}``."""
        return {"status": self.status, "message": self.message, "details": self.details}


def error_payload(message: str) -> dict[str, Any]:
    """Return the event payload of a permanent error (unknown object, rejected credentials)."""
    return {"status": "error", "message": message, "details": {}}


def drive_check(check: Check, answer: Callable[[Any], Any]) -> Outcome | None:
    """Run a check to its end, answering each call with ``answer`` (a blocking client's ``call``)."""
    try:
        call = next(check)
        while True:
            call = check.send(answer(call))
    except StopIteration as done:
        return done.value


def event_details(event: Mapping[str, Any] | None, source: str) -> dict[str, Any]:
    """For operators and sensors: the details of a ``success`` event, or fail the task with its message.

    Events have the form ``{status, message, details}``; a flat event without ``details`` (such as
    ``{"status": "success", "run_id": ...}``) yields its other keys as the details.

    Raises:
        AirflowFailException: the event is missing, ``failed`` or ``error``.
    """
    if not event:
        raise AirflowFailException(f"No event received from the {source} trigger")
    if event.get("status") != "success":
        raise AirflowFailException(
            event.get("message") or f"the {source} trigger ended {event.get('status')}"
        )
    if "details" in event:
        return dict(event["details"] or {})
    return {key: value for key, value in event.items() if key not in EVENT_KEYS}
