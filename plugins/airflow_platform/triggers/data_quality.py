"""Trigger that re-runs GX-backed data-quality checks in the triggerer until they pass.

GX is blocking: the triggers' shared poller runs each measurement in a worker thread, so the event loop
never blocks on it, and measures a source once per poll however many triggers wait on the same checks.
"""

from __future__ import annotations

from typing import Any

from airflow_platform.conditions.data_quality import data_quality_check
from airflow_platform.hooks.great_expectations import (
    SERVICE,
    AsyncDataQualityClient,
    DataQualityChecks,
    DataSource,
)
from airflow_platform.polling.checks import Check
from airflow_platform.polling.poller import SharedPoller
from airflow_platform.polling.trigger import PlatformPollingTrigger


class DataQualityTrigger(PlatformPollingTrigger):
    """Poll a file or table with :class:`DataQualityChecks` until they pass.

    Events: ``success`` with ``details.statistics`` when the checks pass, ``error`` for a permanent
    error (a missing required column). Data that is not there yet or fails the checks is polled again
    after ``poll_interval``; transient errors (database or S3 unreachable) are retried with exponential
    backoff. The task's deferral timeout bounds the wait.

    Args:
        source: :meth:`DataSource.to_dict` of the data.
        checks: :meth:`DataQualityChecks.to_dict` of the checks.
        poll_interval: Seconds between checks.
    """

    service = SERVICE
    check_fields = ("source", "checks")

    def __init__(self, source: dict[str, Any], checks: dict[str, Any], poll_interval: float = 60.0) -> None:
        super().__init__(poll_interval=poll_interval)
        self.source = dict(source)
        self.checks = dict(checks)

    def check(self) -> Check:
        """Measure the data once."""
        return data_quality_check(DataSource(**self.source), DataQualityChecks.from_dict(self.checks))

    async def poller(self) -> SharedPoller:
        """The process's data-quality poller (connections are read in the worker thread of each call)."""
        return SharedPoller.shared(("data_quality",), AsyncDataQualityClient)
