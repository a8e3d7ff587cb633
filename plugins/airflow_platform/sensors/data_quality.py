"""Sensor that waits until a file or table passes GX-backed data-quality checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, conf
from airflow.sdk.exceptions import AirflowFailException

from airflow_platform.hooks.great_expectations import DataNotAvailableError, DataQualityChecks, DataSource
from airflow_platform.triggers.data_quality import DataQualityTrigger, run_checks

if TYPE_CHECKING:
    from airflow.sdk import Context


class DataQualitySensor(BaseSensorOperator):
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
        deferrable: Wait in the triggerer for remote data.
    """

    template_fields: Sequence[str] = ("data_path", "table", "min_rows")

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
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
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
        self.deferrable = deferrable
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

    def poke(self, context: Context) -> bool:
        """Run the checks once; ``True`` when they pass."""
        source = self._source()
        try:
            outcome = run_checks(source, self._checks())
        except AirflowFailException:
            raise
        except DataNotAvailableError as err:
            self.log.info("%s", err)
            return False
        except Exception as err:
            if not source.is_remote:
                raise
            self.log.warning(
                "Data-quality check of %s hit %s; will retry", source.describe(), type(err).__name__
            )
            return False
        if not outcome.passed:
            self.log.info("Checks not met on %s: %s", source.describe(), ", ".join(outcome.failed))
        return outcome.passed

    def execute(self, context: Context) -> Any:
        """Poke once; if not yet, defer (remote data) or keep poking (local files)."""
        source = self._source()
        if not (self.deferrable and source.is_remote):
            return super().execute(context)
        if self.poke(context):
            return None
        self.defer(
            trigger=DataQualityTrigger(
                source=source.to_dict(),
                checks=self._checks().to_dict(),
                poll_interval=float(self.poke_interval),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """Resume after the trigger fired; fail at once on a permanent error."""
        if not event or event.get("status") != "success":
            message = (event or {}).get("message") or "No event received from the data-quality trigger"
            raise AirflowFailException(message)
        self.log.info("Data-quality checks passed: %s", event.get("statistics"))
