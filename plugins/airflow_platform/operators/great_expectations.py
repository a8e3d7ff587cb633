"""Great Expectations 1.x validation operator (replaces ``airflow-provider-great-expectations``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_platform.exceptions import fail_task_on_permanent_error
from airflow_platform.hooks.great_expectations import DataSource, GreatExpectationsHook, summarize_validation
from airflow_platform.lineage import LineageDataset, LineageReporter, data_source

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Context


class GreatExpectationsOperator(LineageReporter, BaseOperator):
    """Validate one batch of data against an expectation suite.

    The suite is built from ``expectations`` (a list of ``{"type": "expect_...", "kwargs": {...}}``) or,
    without them, loaded by name from the GX file context at ``context_root_dir``. The data is a pandas
    ``dataframe``, a CSV/Parquet ``data_path`` (local or ``s3://``), or a ``table``/``sql`` read through
    ``conn_id``. The task returns (pushes to XCom) a compact summary ``{success, suite, statistics,
    failed_expectations, result_location}``; the full GX result goes to ``result_location`` (a local
    path or ``s3://bucket/key``) when given. A failed validation raises ``AirflowFailException`` (no
    retries: re-running does not change the data) unless ``fail_on_failure=False``.

    Args:
        expectation_suite_name: The suite's name (templated).
        expectations: Expectation configs to build the suite from.
        context_root_dir: A GX file-context directory to load the suite from.
        dataframe: A DataFrame to validate (not templated).
        data_path: A CSV/Parquet path or ``s3://`` URI (templated).
        data_format: ``csv`` or ``parquet`` when the suffix does not tell.
        table: A table (``schema.table``) read through ``conn_id`` (templated).
        sql: A query read through ``conn_id`` (templated).
        conn_id: The Airflow database connection for ``table``/``sql``.
        aws_conn_id: The Airflow AWS connection for ``s3://`` data and results.
        result_location: Where to write the full result (templated).
        fail_on_failure: Fail the task when the validation fails.
    """

    template_fields: Sequence[str] = (
        "expectation_suite_name",
        "data_path",
        "table",
        "sql",
        "result_location",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql"}

    def __init__(
        self,
        *,
        expectation_suite_name: str,
        expectations: list[dict[str, Any]] | None = None,
        context_root_dir: str | None = None,
        dataframe: pd.DataFrame | None = None,
        data_path: str | None = None,
        data_format: str | None = None,
        table: str | None = None,
        sql: str | None = None,
        conn_id: str | None = None,
        aws_conn_id: str = "aws_default",
        result_location: str | None = None,
        fail_on_failure: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not expectation_suite_name:
            raise ValueError("expectation_suite_name must not be empty")
        if expectations is None and context_root_dir is None:
            raise ValueError("Pass expectations to build a suite, or context_root_dir to load one")
        sources = [s for s in (dataframe, data_path, table, sql) if s is not None]
        if len(sources) != 1:
            raise ValueError("Pass exactly one of dataframe, data_path, table or sql")
        if (table or sql) and not conn_id:
            raise ValueError("table and sql need conn_id")
        for config in expectations or []:
            if not isinstance(config, dict) or not (config.get("type") or config.get("expectation_type")):
                raise ValueError(f"Each expectation needs a 'type': {config!r}")
        self.expectation_suite_name = expectation_suite_name
        self.expectations = expectations
        self.context_root_dir = context_root_dir
        self.dataframe = dataframe
        self.data_path = data_path
        self.data_format = data_format
        self.table = table
        self.sql = sql
        self.conn_id = conn_id
        self.aws_conn_id = aws_conn_id
        self.result_location = result_location
        self.fail_on_failure = fail_on_failure

    def execute(self, context: Context) -> dict[str, Any]:
        """Validate, keep the full result, return the summary; fail when asked and invalid."""
        with fail_task_on_permanent_error():
            return self._validate()

    def lineage_on_complete(self) -> tuple[tuple[LineageDataset, ...], tuple[LineageDataset, ...]]:
        """The data the suite was validated on, looked up only when the lineage listener asks."""
        return data_source(self.data_path, self.table, self.conn_id), ()

    def _validate(self) -> dict[str, Any]:
        hook = GreatExpectationsHook(context_root_dir=self.context_root_dir, aws_conn_id=self.aws_conn_id)
        if self.dataframe is not None:
            dataframe, described = self.dataframe, "the given DataFrame"
        else:
            source = DataSource(
                path=self.data_path,
                table=self.table,
                sql=self.sql,
                conn_id=self.conn_id,
                aws_conn_id=self.aws_conn_id,
                data_format=self.data_format,
            )
            dataframe, described = hook.load_dataframe(source), source.describe()
        if self.expectations is not None:
            suite = hook.build_suite(self.expectation_suite_name, self.expectations)
        else:
            suite = hook.get_suite(self.expectation_suite_name)
        result = hook.validate(dataframe, suite)
        summary = summarize_validation(result)
        summary["result_location"] = (
            hook.write_result(result, self.result_location) if self.result_location else None
        )
        stats = summary["statistics"]
        self.log.info(
            "Suite %r on %s: %s (%s of %s expectations met)",
            suite.name,
            described,
            "passed" if summary["success"] else "FAILED",
            stats.get("successful_expectations"),
            stats.get("evaluated_expectations"),
        )
        if not summary["success"]:
            failed = ", ".join(summary["failed_expectations"])
            if self.fail_on_failure:
                raise AirflowFailException(
                    f"Validation of {described} against suite {suite.name!r} failed: {failed}"
                )
            self.log.warning("Validation failed (fail_on_failure=False): %s", failed)
        return summary
