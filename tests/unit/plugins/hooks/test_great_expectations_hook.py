"""The GX hook's data sources and data-quality checks (no services)."""

from __future__ import annotations

import secrets

import pytest

from airflow_platform.hooks.great_expectations import DataQualityChecks, DataSource, expectation_label


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"path": "a.csv", "table": "t", "conn_id": "c"},
        {"table": "t"},
        {"table": "t; drop table x", "conn_id": "c"},
        {"path": "data.json"},
        {"path": "a.csv", "data_format": "xlsx"},
    ],
)
def test_data_source_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        DataSource(**kwargs)


def test_data_source_format_and_remoteness():
    assert DataSource(path="/data/x.PARQUET").format_of_path() == "parquet"
    assert DataSource(path="s3://b/k.dat", data_format="csv").format_of_path() == "csv"
    assert not DataSource(path="/data/x.csv").is_remote
    assert DataSource(path="s3://b/x.csv").is_remote
    assert DataSource(table="s.t", conn_id="c").is_remote


def test_checks_become_expectations():
    checks = DataQualityChecks(min_rows=5, max_null_share={"email": 0.25}, required_columns=("id",))
    assert checks.expectations() == [
        {"type": "expect_column_to_exist", "kwargs": {"column": "id"}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 5}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email", "mostly": 0.75}},
    ]
    assert [expectation_label(c) for c in checks.expectations()] == [
        "expect_column_to_exist(column=id)",
        "expect_table_row_count_to_be_between",
        "expect_column_values_to_not_be_null(column=email)",
    ]


@pytest.mark.parametrize("kwargs", [{}, {"min_rows": -1}, {"max_null_share": {"a": 1.5}}])
def test_checks_reject_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        DataQualityChecks(**kwargs)


def test_an_unreachable_database_is_transient_and_a_missing_connection_permanent(monkeypatch):
    from airflow_platform.exceptions import PlatformPermanentError, PlatformTransientError
    from airflow_platform.hooks.great_expectations import GreatExpectationsHook
    from platform_devkit.loopback.base import free_port

    password = secrets.token_hex(8)
    monkeypatch.setenv("AIRFLOW_CONN_PG_DOWN", f"postgres://user:{password}@127.0.0.1:{free_port()}/db")
    hook = GreatExpectationsHook()
    with pytest.raises(PlatformTransientError, match=r"table 'public\.orders'") as down:
        hook.load_dataframe(DataSource(table="public.orders", conn_id="pg_down"))
    assert password not in str(down.value)
    monkeypatch.delenv("AIRFLOW_CONN_PG_NOWHERE", raising=False)
    with pytest.raises(PlatformPermanentError, match="pg_nowhere"):
        hook.load_dataframe(DataSource(table="public.orders", conn_id="pg_nowhere"))
