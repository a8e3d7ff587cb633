"""GreatExpectationsOperator and DataQualitySensor against real files, S3 (moto server) and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading

import pandas as pd
import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_platform.hooks.great_expectations import GreatExpectationsHook
from airflow_platform.operators.great_expectations import GreatExpectationsOperator
from airflow_platform.sensors.data_quality import DataQualitySensor
from airflow_platform.triggers.data_quality import DataQualityTrigger

EXPECTATIONS = [
    {"type": "expect_column_to_exist", "kwargs": {"column": "customer_id"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_id"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 3}},
]


def orders(*, bad: bool = False) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 2, None if bad else 3, 4],
            "amount": [10.5, -1.0 if bad else 3.0, 7.25, 12.0],
            "email": ["a@x.io", None, "c@x.io", "d@x.io"],
        }
    )


def run_trigger(trigger, timeout=60.0):
    async def first_event():
        async for event in trigger.run():
            return event.payload
        return None

    return asyncio.run(asyncio.wait_for(first_event(), timeout))


@pytest.fixture
def aws_conn(monkeypatch, s3):
    conn = {
        "conn_type": "aws",
        "login": s3.access_key_id,
        "password": s3.secret_access_key,
        "extra": {"endpoint_url": s3.endpoint_url, "region_name": s3.region},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_GX", json.dumps(conn))
    return "aws_gx"


@pytest.fixture(scope="module")
def warehouse(postgres):
    name = "gx_warehouse"
    postgres.create_database(name)
    with postgres.connect(name) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS public.orders")
        cur.execute("CREATE TABLE public.orders (customer_id int, amount numeric, email text)")
        cur.execute(
            "INSERT INTO public.orders VALUES (1, 10.5, 'a@x.io'), (2, 3.0, NULL), (3, 7.25, 'c@x.io'),"
            " (4, 12.0, 'd@x.io')"
        )
    return name


@pytest.fixture
def pg_conn(monkeypatch, postgres, warehouse):
    conn = {
        "conn_type": "postgres",
        "host": postgres.host,
        "port": postgres.port,
        "login": postgres.user,
        "password": postgres.password,
        "schema": warehouse,
    }
    monkeypatch.setenv("AIRFLOW_CONN_PG_GX", json.dumps(conn))
    return "pg_gx"


def test_csv_passes_and_full_result_is_kept(tmp_path):
    data = tmp_path / "orders.csv"
    orders().to_csv(data, index=False)
    result_path = tmp_path / "results" / "orders.json"
    summary = GreatExpectationsOperator(
        task_id="gx",
        expectation_suite_name="orders",
        expectations=EXPECTATIONS,
        data_path=str(data),
        result_location=str(result_path),
    ).execute({})
    assert summary["success"] is True
    assert summary["failed_expectations"] == []
    assert summary["statistics"]["evaluated_expectations"] == 4
    assert summary["result_location"] == str(result_path)
    full = json.loads(result_path.read_text())
    assert full["success"] is True
    assert len(full["results"]) == 4
    json.dumps(summary)  # XCom-ready


def test_parquet_failure_fails_the_task_naming_expectations(tmp_path):
    data = tmp_path / "orders.parquet"
    orders(bad=True).to_parquet(data)
    operator = GreatExpectationsOperator(
        task_id="gx", expectation_suite_name="orders", expectations=EXPECTATIONS, data_path=str(data)
    )
    with pytest.raises(AirflowFailException) as failed:
        operator.execute({})
    message = str(failed.value)
    assert "expect_column_values_to_not_be_null(column=customer_id)" in message
    assert "expect_column_values_to_be_between(column=amount)" in message


def test_failure_is_reported_not_raised_when_told(tmp_path):
    data = tmp_path / "orders.parquet"
    orders(bad=True).to_parquet(data)
    summary = GreatExpectationsOperator(
        task_id="gx",
        expectation_suite_name="orders",
        expectations=EXPECTATIONS,
        data_path=str(data),
        fail_on_failure=False,
    ).execute({})
    assert summary["success"] is False
    assert summary["statistics"]["unsuccessful_expectations"] == 2
    assert sorted(summary["failed_expectations"]) == [
        "expect_column_values_to_be_between(column=amount)",
        "expect_column_values_to_not_be_null(column=customer_id)",
    ]


def test_dataframe_and_suite_loaded_from_a_file_context(tmp_path):
    root = tmp_path / "gx_project"
    hook = GreatExpectationsHook(context_root_dir=str(root))
    hook.build_suite("saved_orders", EXPECTATIONS[:2])
    summary = GreatExpectationsOperator(
        task_id="gx", expectation_suite_name="saved_orders", context_root_dir=str(root), dataframe=orders()
    ).execute({})
    assert summary["success"] is True
    assert summary["statistics"]["evaluated_expectations"] == 2
    with pytest.raises(AirflowFailException, match="suite 'missing_suite' not found"):
        GreatExpectationsOperator(
            task_id="gx",
            expectation_suite_name="missing_suite",
            context_root_dir=str(root),
            dataframe=orders(),
        ).execute({})


def test_s3_csv_with_result_written_to_s3(s3, aws_conn):
    key = f"gx/{secrets.token_hex(4)}/orders.csv"
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=orders().to_csv(index=False).encode())
    result_key = f"{key}.result.json"
    summary = GreatExpectationsOperator(
        task_id="gx",
        expectation_suite_name="orders",
        expectations=EXPECTATIONS,
        data_path=f"s3://{s3.bucket}/{key}",
        aws_conn_id=aws_conn,
        result_location=f"s3://{s3.bucket}/{result_key}",
    ).execute({})
    assert summary["success"] is True
    stored = json.loads(s3.client().get_object(Bucket=s3.bucket, Key=result_key)["Body"].read())
    assert stored["statistics"]["successful_expectations"] == 4


def test_postgres_table_and_query_without_leaking_the_password(postgres, pg_conn, capfd, caplog):
    table_summary = GreatExpectationsOperator(
        task_id="gx",
        expectation_suite_name="orders",
        expectations=EXPECTATIONS,
        table="public.orders",
        conn_id=pg_conn,
    ).execute({})
    assert table_summary["success"] is True
    operator = GreatExpectationsOperator(
        task_id="gx_sql",
        expectation_suite_name="orders_email",
        expectations=[{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email"}}],
        sql="SELECT email FROM public.orders WHERE amount > {{ params.min_amount }}",
        conn_id=pg_conn,
        params={"min_amount": 1},
    )
    operator.render_template_fields({"params": {"min_amount": 1}})
    with pytest.raises(
        AirflowFailException, match=r"expect_column_values_to_not_be_null\(column=email\)"
    ) as err:
        operator.execute({})
    captured = capfd.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "Suite 'orders' on table 'public.orders'" in logs
    for text in (logs, json.dumps(table_summary), str(err.value), operator.sql):
        assert postgres.password not in text


def test_sensor_on_local_file_waits_for_data_and_fails_fast_on_missing_column(tmp_path):
    data = tmp_path / "landing.csv"
    sensor = DataQualitySensor(
        task_id="dq",
        data_path=str(data),
        min_rows=3,
        max_null_share={"email": 0.3},
        required_columns=["customer_id"],
        poke_interval=0.05,
    )
    assert sensor.poke({}) is False  # not landed yet
    orders().head(2).to_csv(data, index=False)
    assert sensor.poke({}) is False  # too few rows
    orders().to_csv(data, index=False)
    assert sensor.poke({}) is True  # 4 rows, 25% null emails
    orders().drop(columns=["customer_id"]).to_csv(data, index=False)
    with pytest.raises(AirflowFailException, match=r"lacks required column.*customer_id"):
        sensor.execute({})


def test_deferrable_sensor_on_postgres_table(pg_conn):
    sensor = DataQualitySensor(
        task_id="dq",
        table="public.orders",
        conn_id=pg_conn,
        min_rows=10,
        max_null_share={"email": 0.5},
        deferrable=True,
        poke_interval=0.2,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    relaxed = DataQualityTrigger(
        source=trigger.source, checks={**trigger.checks, "min_rows": 4}, poll_interval=0.1
    )
    event = run_trigger(relaxed)
    assert event["status"] == "success"
    assert event["details"]["statistics"]["evaluated_expectations"] == 2
    sensor.execute_complete({}, event)
    missing = DataQualityTrigger(
        source=trigger.source, checks={"min_rows": 1, "required_columns": ["loyalty_tier"]}, poll_interval=0.1
    )
    error = run_trigger(missing)
    assert error["status"] == "error"
    with pytest.raises(AirflowFailException, match="loyalty_tier"):
        sensor.execute_complete({}, error)


def test_trigger_waits_for_an_s3_object_to_land(s3, aws_conn):
    key = f"landing/{secrets.token_hex(4)}/orders.parquet"
    sensor = DataQualitySensor(
        task_id="dq",
        data_path=f"s3://{s3.bucket}/{key}",
        aws_conn_id=aws_conn,
        min_rows=4,
        deferrable=True,
        poke_interval=0.2,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    buffer = orders().to_parquet()
    timer = threading.Timer(1.0, lambda: s3.client().put_object(Bucket=s3.bucket, Key=key, Body=buffer))
    timer.start()
    try:
        event = run_trigger(deferred.value.trigger)
    finally:
        timer.cancel()
    assert event["status"] == "success"
    assert event["details"]["statistics"]["successful_expectations"] == 1
