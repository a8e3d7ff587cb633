"""The data-quality sensor: parse-time validation, deferral for remote data, poking for local files."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, TaskDeferred

from airflow_platform.sensors.data_quality import DataQualitySensor
from airflow_platform.triggers.data_quality import DataQualityTrigger


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
