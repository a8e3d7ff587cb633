"""Unit tests of the data-quality sources, checks, trigger and sensor, and GX operator arguments."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, TaskDeferred

from airflow_platform.hooks.great_expectations import DataQualityChecks, DataSource, expectation_label
from airflow_platform.operators.great_expectations import GreatExpectationsOperator
from airflow_platform.sensors.data_quality import DataQualitySensor
from airflow_platform.triggers.data_quality import DataQualityTrigger


def test_trigger_serialize_round_trips():
    source = DataSource(table="public.orders", conn_id="postgres_warehouse")
    checks = DataQualityChecks(min_rows=10, max_null_share={"id": 0.0}, required_columns=("id",))
    trigger = DataQualityTrigger(source=source.to_dict(), checks=checks.to_dict(), poll_interval=3)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_platform.triggers.data_quality.DataQualityTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    rebuilt = DataQualityTrigger(**kwargs)
    assert rebuilt.serialize() == trigger.serialize()
    assert DataSource(**kwargs["source"]) == source
    assert DataQualityChecks.from_dict(kwargs["checks"]) == checks


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


def test_sensor_validates_at_parse_time_and_accepts_templates():
    with pytest.raises(ValueError):
        DataQualitySensor(task_id="dq", data_path="x.csv")
    sensor = DataQualitySensor(
        task_id="dq",
        data_path="s3://bucket/{{ ds }}/orders.csv",
        min_rows="{{ var.value.data_quality_min_rows }}",
    )
    assert sensor.template_fields == ("data_path", "table", "min_rows")


def test_sensor_defers_for_remote_data(monkeypatch):
    sensor = DataQualitySensor(
        task_id="dq",
        table="public.orders",
        conn_id="postgres_warehouse",
        min_rows=1,
        deferrable=True,
        poke_interval=4,
        timeout=40,
    )
    monkeypatch.setattr(sensor, "poke", lambda context: False)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, DataQualityTrigger)
    assert trigger.source["table"] == "public.orders"
    assert trigger.checks["min_rows"] == 1
    assert trigger.poll_interval == 4.0
    assert deferred.value.timeout.total_seconds() == 40
    sensor.execute_complete({}, {"status": "success", "statistics": {}})
    with pytest.raises(AirflowFailException, match="lacks required column"):
        sensor.execute_complete({}, {"status": "error", "message": "table lacks required column(s): id"})


def test_sensor_pokes_local_files_in_the_worker_even_when_deferrable(tmp_path):
    sensor = DataQualitySensor(
        task_id="dq",
        data_path=str(tmp_path / "missing.csv"),
        min_rows=1,
        deferrable=True,
        poke_interval=0,
        timeout=0.2,
        mode="poke",
    )
    assert sensor.poke({}) is False
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute({})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}]},
        {"expectations": [{"kwargs": {}}], "data_path": "a.csv"},
        {"data_path": "a.csv"},
        {"expectations": [], "data_path": "a.csv", "table": "t", "conn_id": "c"},
        {"expectations": [], "table": "t"},
    ],
)
def test_gx_operator_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        GreatExpectationsOperator(task_id="gx", expectation_suite_name="s", **kwargs)


def test_gx_operator_requires_suite_name():
    with pytest.raises(ValueError):
        GreatExpectationsOperator(task_id="gx", expectation_suite_name="", expectations=[], data_path="a.csv")
