"""The data-quality condition: a file or table passes the checks (rows, null shares, required columns)."""

from __future__ import annotations

from airflow_platform.hooks.great_expectations import DataQualityCall, DataQualityChecks, DataSource
from airflow_platform.polling.checks import Check, Outcome


def data_quality_check(source: DataSource, checks: DataQualityChecks) -> Check:
    """Finish when the data is there and passes the checks; a missing required column is permanent."""
    measured = yield DataQualityCall(source, checks)
    if measured is None or not measured.passed:
        return None
    return Outcome(
        "success", f"Data-quality checks passed on {source.describe()}", {"statistics": measured.statistics}
    )
