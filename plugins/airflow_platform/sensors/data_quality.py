"""Sensor that waits until a file or table passes GX-backed data-quality checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_platform.conditions.data_quality import data_quality_check
from airflow_platform.hooks.great_expectations import (
    SERVICE,
    DataQualityChecks,
    DataQualityClient,
    DataSource,
)
from airflow_platform.polling.checks import Check
from airflow_platform.polling.sensor import PlatformDeferrableSensor
from airflow_platform.triggers.data_quality import DataQualityTrigger


class DataQualitySensor(PlatformDeferrableSensor):
    """Wait until data passes checks: a minimum row count, a maximum null share per column, required columns.

    The data is a CSV/Parquet ``data_path`` (local or ``s3://``) or a ``table`` read through
    ``conn_id``. Missing data and unmet checks mean "not yet"; a missing required column is a
    permanent error that fails the task at once and names the column. When ``deferrable`` (default
    ``[operators] default_deferrable``) and the data is remote (S3 or a database), the waiting happens
    in the triggerer; local files are always poked in the worker (the triggerer may not see that disk).

    Args:
        data_path: A CSV/Parquet path or ``s3://bucket/key`` (templated).
        table: A table (``schema.table``) read through ``conn_id`` (templated).
        conn_id: The Airflow database connection of ``table``.
        aws_conn_id: The Airflow AWS connection for ``s3://`` paths.
        data_format: ``csv`` or ``parquet`` when the suffix does not tell.
        min_rows: The least number of rows.
        max_null_share: Per column, the highest allowed share of nulls (0.0-1.0).
        required_columns: Columns that must exist.
        **kwargs: See :class:`~airflow_platform.polling.sensor.PlatformDeferrableSensor` (``deferrable``:
            wait in the triggerer for remote data).
    """

    template_fields: Sequence[str] = ("data_path", "table", "min_rows")
    service = SERVICE

    def __init__(
        self,
        *,
        data_path: str | None = None,
        table: str | None = None,
        conn_id: str | None = None,
        aws_conn_id: str = "aws_default",
        data_format: str | None = None,
        min_rows: int | str | None = None,
        max_null_share: dict[str, float] | None = None,
        required_columns: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_path = data_path
        self.table = table
        self.conn_id = conn_id
        self.aws_conn_id = aws_conn_id
        self.data_format = data_format
        self.min_rows = min_rows
        self.max_null_share = dict(max_null_share or {})
        self.required_columns = tuple(required_columns)
        # Validate now (DAG parse time) with placeholder values for templated fields.
        self._source(placeholder=True)
        self._checks(placeholder=True)

    def _source(self, *, placeholder: bool = False) -> DataSource:
        path = self.data_path
        if placeholder and path and "{{" in path:
            path = "s3://templated/value.csv" if path.startswith("s3://") else "templated.csv"
        return DataSource(
            path=path,
            table="templated" if placeholder and self.table and "{{" in self.table else self.table,
            conn_id=self.conn_id,
            aws_conn_id=self.aws_conn_id,
            data_format=self.data_format,
        )

    def _checks(self, *, placeholder: bool = False) -> DataQualityChecks:
        min_rows = self.min_rows
        if isinstance(min_rows, str):
            min_rows = 0 if placeholder and "{{" in min_rows else int(min_rows)
        return DataQualityChecks(
            min_rows=min_rows, max_null_share=self.max_null_share, required_columns=self.required_columns
        )

    def build_trigger(self) -> DataQualityTrigger:
        """Return the data-quality trigger (with rendered arguments)."""
        return DataQualityTrigger(
            source=self._source().to_dict(),
            checks=self._checks().to_dict(),
            poll_interval=float(self.poke_interval),
        )

    def check(self) -> Check:
        """The data-quality check of the rendered source and checks."""
        return data_quality_check(self._source(), self._checks())

    def sync_client(self) -> DataQualityClient:
        """Return the blocking data-quality client for one poke."""
        return DataQualityClient()

    def should_defer(self) -> bool:
        """Defer only for remote data: the triggerer may not see this worker's disk."""
        return self.deferrable and self._source().is_remote

    def xcom_value(self, details: dict[str, Any]) -> None:
        """Nothing: the sensor only gates."""
        return None
