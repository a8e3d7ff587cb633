"""Great Expectations 1.x helper hook: contexts, batches from files, S3 or SQL, suites and results.

Data of every kind is read into a pandas DataFrame and validated with GX's pandas engine:
local CSV/Parquet files, ``s3://bucket/key`` objects (through the Amazon provider's S3 hook, so the
AWS connection's ``extra.endpoint_url`` applies), and SQL tables or queries through an Airflow
connection id. Database credentials therefore never enter GX's configuration or its results; the
SQLAlchemy URL built from a connection is never logged. GX is imported lazily: DAG files that only
instantiate the operators stay fast to parse.

Errors: data that is not there yet (a missing file, S3 object or table) is :class:`DataNotAvailableError`;
S3 and database errors are mapped into :class:`~airflow_platform.exceptions.PlatformTransientError`
(unreachable, throttled, 5xx) or :class:`~airflow_platform.exceptions.PlatformPermanentError` (denied,
invalid SQL, an unknown suite, missing required columns); anything else is a bug and propagates.
For the data-quality sensor and trigger, :class:`DataQualityClient` answers a :class:`DataQualityCall`
(the checks on one source), blocking or, in the triggerer, in a worker thread.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_platform.exceptions import PlatformPermanentError, PlatformTransientError, connection_required

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuite, ExpectationSuiteValidationResult
    from great_expectations.data_context import AbstractDataContext
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

FORMATS = ("csv", "parquet")
SERVICE = "data-quality"
_MISSING_S3_CODES = frozenset({"NoSuchKey", "404", "NoSuchBucket"})
_TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "ServiceUnavailable"}
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class DataNotAvailableError(RuntimeError):
    """The data is not there (yet): a missing file, S3 object or table. Sensors keep waiting."""


class MissingColumnsError(PlatformPermanentError):
    """Required columns are absent: a permanent error that names the columns."""


@dataclass(frozen=True)
class DataSource:
    """Where one batch of data comes from: exactly one of ``path``, ``table`` or ``sql``.

    Args:
        path: A local path or ``s3://bucket/key`` of a CSV or Parquet file.
        table: A table name (``schema.table`` allowed), read through ``conn_id``.
        sql: A query, read through ``conn_id``.
        conn_id: The Airflow connection of the database (``table``/``sql``).
        aws_conn_id: The Airflow AWS connection for ``s3://`` paths.
        data_format: ``csv`` or ``parquet``; default: from the file suffix.
    """

    path: str | None = None
    table: str | None = None
    sql: str | None = None
    conn_id: str | None = None
    aws_conn_id: str = "aws_default"
    data_format: str | None = None

    def __post_init__(self) -> None:
        given = [name for name in ("path", "table", "sql") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(f"Give exactly one of path, table or sql (got {given or 'none'})")
        if (self.table or self.sql) and not self.conn_id:
            raise ValueError("A table or sql source needs conn_id")
        if self.table and not _IDENTIFIER.match(self.table):
            raise ValueError(f"Invalid table name {self.table!r}")
        if self.data_format is not None and self.data_format not in FORMATS:
            raise ValueError(f"data_format must be one of {FORMATS}, not {self.data_format!r}")
        if self.path and self.format_of_path() not in FORMATS:
            raise ValueError(f"Cannot tell the format of {self.path!r}: pass data_format (csv or parquet)")

    @property
    def is_remote(self) -> bool:
        """Whether the data lives on another system (S3 or a database), not on the local disk."""
        return not self.path or self.path.startswith("s3://")

    def format_of_path(self) -> str:
        """The file format: ``data_format`` or the path's suffix."""
        if self.data_format:
            return self.data_format
        suffix = Path(str(self.path)).suffix.lower().lstrip(".")
        return {"pq": "parquet"}.get(suffix, suffix)

    def describe(self) -> str:
        """A short, credential-free description for messages."""
        if self.path:
            return f"file {self.path!r}"
        if self.table:
            return f"table {self.table!r} (connection {self.conn_id!r})"
        return f"query on connection {self.conn_id!r}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form (for trigger serialization)."""
        return asdict(self)


@dataclass(frozen=True)
class DataQualityChecks:
    """The checks of :class:`~airflow_platform.sensors.data_quality.DataQualitySensor`.

    Args:
        min_rows: The least number of rows.
        max_null_share: Per column, the highest allowed share of nulls (0.0-1.0).
        required_columns: Columns that must exist (a missing one is a permanent error).
    """

    min_rows: int | None = None
    max_null_share: dict[str, float] = field(default_factory=dict)
    required_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.min_rows is not None and self.min_rows < 0:
            raise ValueError("min_rows must be >= 0")
        for column, share in self.max_null_share.items():
            if not 0.0 <= float(share) <= 1.0:
                raise ValueError(f"max_null_share for {column!r} must be within 0..1, not {share}")
        if self.min_rows is None and not self.max_null_share and not self.required_columns:
            raise ValueError("Configure at least one check: min_rows, max_null_share or required_columns")

    def expectations(self) -> list[dict[str, Any]]:
        """The checks as GX expectation configurations."""
        configs: list[dict[str, Any]] = [
            {"type": "expect_column_to_exist", "kwargs": {"column": column}}
            for column in self.required_columns
        ]
        if self.min_rows is not None:
            configs.append(
                {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": self.min_rows}}
            )
        configs.extend(
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": column, "mostly": round(1.0 - float(share), 10)},
            }
            for column, share in self.max_null_share.items()
        )
        return configs

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form (for trigger serialization)."""
        return {
            "min_rows": self.min_rows,
            "max_null_share": dict(self.max_null_share),
            "required_columns": list(self.required_columns),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataQualityChecks:
        """Inverse of :meth:`to_dict`."""
        return cls(
            min_rows=data.get("min_rows"),
            max_null_share=dict(data.get("max_null_share") or {}),
            required_columns=tuple(data.get("required_columns") or ()),
        )


@dataclass(frozen=True)
class CheckOutcome:
    """Result of one data-quality check: ``passed`` and the names of the failed expectations."""

    passed: bool
    failed: list[str]
    statistics: dict[str, Any]


def expectation_label(config: Any) -> str:
    """``expect_x(column=c)`` for an expectation configuration (GX object or dict)."""
    if isinstance(config, dict):
        kind, kwargs = config.get("type", "?"), config.get("kwargs") or {}
    else:
        kind, kwargs = config.type, config.kwargs
    column = kwargs.get("column")
    return f"{kind}(column={column})" if column else str(kind)


def summarize_validation(result: ExpectationSuiteValidationResult) -> dict[str, Any]:
    """A compact, JSON-ready summary: success, statistics and the failed expectations' names."""
    failed = [expectation_label(r.expectation_config) for r in result.results if not r.success]
    return {
        "success": bool(result.success),
        "suite": result.suite_name,
        "statistics": {k: _plain(v) for k, v in dict(result.statistics).items()},
        "failed_expectations": failed,
    }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def sqlalchemy_engine(conn_id: str) -> Engine:
    """Create an engine for an Airflow database connection; the URL (with its password) is never logged.

    PostgreSQL connections get a ``postgresql+psycopg2`` URL built field by field (``schema`` is the
    database); other types use their provider hook's ``get_sqlalchemy_engine()``.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import URL
    from sqlalchemy.pool import NullPool

    with connection_required():
        conn = BaseHook.get_connection(conn_id)
    if conn.conn_type in ("postgres", "postgresql"):
        extra = conn.extra_dejson
        query = {k: str(extra[k]) for k in ("sslmode", "connect_timeout") if k in extra}
        url = URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
            query=query,
        )
        return create_engine(url, poolclass=NullPool, hide_parameters=True)
    return conn.get_hook().get_sqlalchemy_engine()


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ValueError(f"Not an s3://bucket/key URI: {uri!r}")
    return bucket, key


class GreatExpectationsHook(BaseHook):
    """Read data into pandas, build or load GX 1.x suites, validate batches and keep the results.

    Args:
        context_root_dir: A GX file-context directory (suites are loaded from it); ``None`` for an
            ephemeral in-memory context.
        aws_conn_id: The Airflow AWS connection for ``s3://`` data and result locations.
    """

    hook_name = "Great Expectations"

    def __init__(self, context_root_dir: str | None = None, aws_conn_id: str = "aws_default") -> None:
        super().__init__()
        self.context_root_dir = context_root_dir
        self.aws_conn_id = aws_conn_id
        self._context: AbstractDataContext | None = None

    def get_conn(self) -> AbstractDataContext:
        """Return the GX data context (created once per hook)."""
        if self._context is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            if self.context_root_dir:
                context = gx.get_context(mode="file", context_root_dir=self.context_root_dir)
            else:
                context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            self._context = context
        return self._context

    # --- data ----------------------------------------------------------------------------------

    def load_dataframe(self, source: DataSource) -> pd.DataFrame:
        """Read the source into a DataFrame.

        Raises:
            DataNotAvailableError: the file, object or table does not exist (yet).
        """
        if source.path:
            return self._read_file(source)
        return self._read_sql(source)

    def _read_file(self, source: DataSource) -> pd.DataFrame:
        import pandas as pd

        path = str(source.path)
        if path.startswith("s3://"):
            raw: Any = io.BytesIO(self._read_s3(path, source.aws_conn_id))
        else:
            if not Path(path).is_file():
                raise DataNotAvailableError(f"{source.describe()} does not exist")
            raw = path
        if source.format_of_path() == "parquet":
            return pd.read_parquet(raw)
        return pd.read_csv(raw)

    def _read_s3(self, uri: str, aws_conn_id: str) -> bytes:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = _split_s3(uri)
        client = S3Hook(aws_conn_id=aws_conn_id).get_conn()
        try:
            return client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code"))
            status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in _MISSING_S3_CODES:
                raise DataNotAvailableError(f"file {uri!r} does not exist") from None
            if code in _TRANSIENT_S3_CODES or status >= 500:
                raise PlatformTransientError(f"S3 could not read {uri!r} now: {code}") from None
            raise PlatformPermanentError(f"S3 refused to read {uri!r}: {code}") from None
        except BotoCoreError as err:
            raise PlatformTransientError(f"S3 unreachable for {uri!r}: {type(err).__name__}") from None

    def _read_sql(self, source: DataSource) -> pd.DataFrame:
        import pandas as pd
        import sqlalchemy as sa

        if source.table:
            schema, _, name = source.table.rpartition(".")
            query: Any = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))
        else:
            query = sa.text(str(source.sql))
        engine = sqlalchemy_engine(str(source.conn_id))
        what = source.describe()
        try:
            with engine.connect() as connection:
                return pd.read_sql_query(query, connection)
        except (
            sa.exc.OperationalError,
            sa.exc.InterfaceError,
            sa.exc.DisconnectionError,
            sa.exc.TimeoutError,
        ) as err:
            raise PlatformTransientError(f"{what} is unreachable: {type(err).__name__}") from None
        except sa.exc.DBAPIError as err:
            missing = isinstance(err, sa.exc.ProgrammingError) and "does not exist" in str(err.orig)
            if source.table and missing:
                raise DataNotAvailableError(f"{what} does not exist") from None
            raise PlatformPermanentError(f"{what} cannot be read: {type(err.orig).__name__}") from None
        finally:
            engine.dispose()

    # --- suites and validation -----------------------------------------------------------------

    def build_suite(self, name: str, expectations: list[dict[str, Any]]) -> ExpectationSuite:
        """Create a suite from expectation configs: ``{"type": "expect_...", "kwargs": {...}}``."""
        import great_expectations as gx
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        suite = gx.ExpectationSuite(name=name)
        for config in expectations:
            kind = config.get("type") or config.get("expectation_type")
            if not kind:
                raise ValueError(f"Expectation config without a type: {config!r}")
            suite.add_expectation_configuration(
                ExpectationConfiguration(
                    type=kind, kwargs=dict(config.get("kwargs") or {}), meta=config.get("meta")
                )
            )
        context = self.get_conn()
        existing = [s.name for s in context.suites.all()]
        if name in existing:
            context.suites.delete(name)
        return context.suites.add(suite)

    def get_suite(self, name: str) -> ExpectationSuite:
        """Load a suite by name from the context; an unknown name fails permanently."""
        from great_expectations.exceptions import DataContextError

        try:
            return self.get_conn().suites.get(name)
        except DataContextError:
            raise PlatformPermanentError(f"Expectation suite {name!r} not found in the GX context") from None

    def validate(self, dataframe: pd.DataFrame, suite: ExpectationSuite) -> ExpectationSuiteValidationResult:
        """Validate a DataFrame against a suite and return GX's full result."""
        import great_expectations as gx

        context = self.get_conn()
        datasource_name = "airflow_platform_pandas"
        try:
            datasource = context.data_sources.get(datasource_name)
        except (KeyError, ValueError):
            datasource = context.data_sources.add_pandas(datasource_name)
        asset_name = f"{suite.name}_batch"
        try:
            asset = datasource.get_asset(asset_name)
        except LookupError:
            asset = datasource.add_dataframe_asset(asset_name)
        batch_definition_name = "whole_dataframe"
        try:
            batch_definition = asset.get_batch_definition(batch_definition_name)
        except KeyError:
            batch_definition = asset.add_batch_definition_whole_dataframe(batch_definition_name)
        definition_name = f"{suite.name}_validation"
        definitions = context.validation_definitions
        if any(d.name == definition_name for d in definitions.all()):
            definitions.delete(definition_name)
        validation = definitions.add(
            gx.ValidationDefinition(name=definition_name, data=batch_definition, suite=suite)
        )
        return validation.run(batch_parameters={"dataframe": dataframe})

    def check(self, source: DataSource, checks: DataQualityChecks) -> CheckOutcome:
        """Run the data-quality checks on a source.

        Raises:
            DataNotAvailableError: the data does not exist yet.
            MissingColumnsError: required columns are missing (permanent; names them).
        """
        dataframe = self.load_dataframe(source)
        missing = [c for c in checks.required_columns if c not in dataframe.columns]
        missing += [c for c in checks.max_null_share if c not in dataframe.columns and c not in missing]
        if missing:
            raise MissingColumnsError(f"{source.describe()} lacks required column(s): {', '.join(missing)}")
        suite = self.build_suite("airflow_platform_data_quality", checks.expectations())
        summary = summarize_validation(self.validate(dataframe, suite))
        return CheckOutcome(
            passed=summary["success"], failed=summary["failed_expectations"], statistics=summary["statistics"]
        )

    # --- results -------------------------------------------------------------------------------

    def write_result(self, result: ExpectationSuiteValidationResult, location: str) -> str:
        """Write the full validation result as JSON to a local path or ``s3://bucket/key``."""
        text = json.dumps(result.to_json_dict(), indent=2, default=str)
        if location.startswith("s3://"):
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            bucket, key = _split_s3(location)
            S3Hook(aws_conn_id=self.aws_conn_id).load_string(text, key=key, bucket_name=bucket, replace=True)
        else:
            target = Path(location)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return location


@dataclass(frozen=True)
class DataQualityCall:
    """One measurement: the checks on one source, answered with a :class:`CheckOutcome` or ``None``.

    Args:
        source: The data.
        checks: The checks.
    """

    source: DataSource
    checks: DataQualityChecks
    batch = None

    @property
    def subject(self) -> str:
        """The data, for messages."""
        return self.source.describe()

    @property
    def key(self) -> str:
        """A hashable identity: equal measurements are made once per poll."""
        return json.dumps([self.source.to_dict(), self.checks.to_dict()], sort_keys=True)


class DataQualityClient:
    """Answers :class:`DataQualityCall` s on a fresh hook each (a poke); ``None`` means no data yet."""

    service = SERVICE

    def __enter__(self) -> DataQualityClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def call(self, call: DataQualityCall) -> CheckOutcome | None:
        """Run the checks once; raise a permanent or transient error as the module says."""
        hook = GreatExpectationsHook(aws_conn_id=call.source.aws_conn_id)
        try:
            outcome = hook.check(call.source, call.checks)
        except DataNotAvailableError as err:
            log.info("%s", err)
            return None
        if not outcome.passed:
            log.info("Checks not met on %s: %s", call.subject, ", ".join(outcome.failed))
        return outcome


class AsyncDataQualityClient:
    """The triggers' :class:`DataQualityClient`: GX is blocking, so each call runs in a worker thread."""

    service = SERVICE

    async def call(self, call: DataQualityCall) -> CheckOutcome | None:
        """Run the checks once in a worker thread."""
        return await asyncio.to_thread(DataQualityClient().call, call)

    async def aclose(self) -> None:
        """Nothing to release: each call uses a fresh hook."""
