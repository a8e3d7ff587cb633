"""Trigger that re-runs GX-backed data-quality checks in the triggerer until they pass.

GX is synchronous: each check runs in a worker thread (``sync_to_async(thread_sensitive=False)``), so
the triggerer's event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.sdk.exceptions import AirflowFailException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_platform.hooks.great_expectations import (
    CheckOutcome,
    DataNotAvailableError,
    DataQualityChecks,
    DataSource,
    GreatExpectationsHook,
)
from airflow_platform.triggers.kubeflow import backoff_delay


def run_checks(source: DataSource, checks: DataQualityChecks) -> CheckOutcome:
    """Run the checks once on a fresh hook (the unit of work of the sensor and the trigger)."""
    return GreatExpectationsHook(aws_conn_id=source.aws_conn_id).check(source, checks)


class DataQualityTrigger(BaseTrigger):
    """Poll a file or table with :class:`DataQualityChecks` until they pass.

    Events: ``{"status": "success", "statistics"}`` when the checks pass, ``{"status": "error",
    "message"}`` for a permanent error (a missing required column). Data that is not there yet or
    fails the checks is polled again after ``poll_interval``; transient errors (database or S3
    unreachable) are retried with exponential backoff. The task's deferral timeout bounds the wait.

    Args:
        source: :meth:`DataSource.to_dict` of the data.
        checks: :meth:`DataQualityChecks.to_dict` of the checks.
        poll_interval: Seconds between checks.
    """

    def __init__(self, source: dict[str, Any], checks: dict[str, Any], poll_interval: float = 60.0) -> None:
        super().__init__()
        self.source = dict(source)
        self.checks = dict(checks)
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Serialize the trigger's arguments (connection ids, never credentials)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"source": self.source, "checks": self.checks, "poll_interval": self.poll_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Check, sleep, check again; yield one event."""
        from asgiref.sync import sync_to_async

        source = DataSource(**self.source)
        checks = DataQualityChecks.from_dict(self.checks)
        check = sync_to_async(run_checks, thread_sensitive=False)
        failures = 0
        while True:
            delay = self.poll_interval
            try:
                outcome = await check(source, checks)
            except AirflowFailException as err:
                yield TriggerEvent({"status": "error", "message": str(err)})
                return
            except DataNotAvailableError as err:
                failures = 0
                self.log.info("%s; checking again in %.1fs", err, delay)
            except Exception as err:
                failures += 1
                delay = backoff_delay(self.poll_interval, failures)
                self.log.warning(
                    "Data-quality check of %s hit %s (attempt %d); retrying in %.1fs",
                    source.describe(),
                    type(err).__name__,
                    failures,
                    delay,
                )
            else:
                failures = 0
                if outcome.passed:
                    yield TriggerEvent({"status": "success", "statistics": outcome.statistics})
                    return
                self.log.info("Checks not met on %s: %s", source.describe(), ", ".join(outcome.failed))
            await asyncio.sleep(delay)
