"""How our operators name the datasets they report to OpenLineage."""

from __future__ import annotations

import json

from airflow_platform import lineage


def test_an_s3_object_is_its_bucket_and_key() -> None:
    dataset = lineage.s3_object("s3://data-lake/ml/churn/train.csv")
    assert (dataset.namespace, dataset.name) == ("s3://data-lake", "ml/churn/train.csv")


def test_a_table_is_its_server_and_database_schema_table(monkeypatch) -> None:
    conn = {"conn_type": "postgres", "host": "warehouse", "port": 5433, "schema": "analytics"}
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_T", json.dumps(conn))
    dataset = lineage.database_table("warehouse_t", "ml_customer_snapshot")
    assert (dataset.namespace, dataset.name) == (
        "postgres://warehouse:5433",
        "analytics.public.ml_customer_snapshot",
    )
    assert lineage.database_table("warehouse_t", "reporting.orders").name == "analytics.reporting.orders"


def test_an_mlflow_model_carries_its_version_as_a_facet() -> None:
    dataset = lineage.mlflow_object("https://mlflow.acme.example:5000/mlflow", "models/churn", "7")
    assert (dataset.namespace, dataset.name) == ("mlflow://mlflow.acme.example:5000", "models/churn")
    assert dataset.to_openlineage().facets["version"].datasetVersion == "7"
    assert lineage.mlflow_object("http://m:5000", "runs/abc").to_openlineage().facets == {}


def test_a_data_quality_source_reads_one_dataset_and_a_query_none() -> None:
    assert lineage.data_source("s3://b/k.csv", None, None) == (lineage.s3_object("s3://b/k.csv"),)
    assert lineage.data_source("/data/x.csv", None, None) == (lineage.local_file("/data/x.csv"),)
    assert lineage.data_source(None, None, "warehouse") == ()


def test_the_reporter_reports_what_the_run_recorded() -> None:
    reporter = lineage.LineageReporter()
    reporter.record_lineage(inputs=(lineage.s3_object("s3://b/in.csv"),))
    reporter.record_lineage(outputs=(lineage.s3_object("s3://b/out.csv"),))
    reported = reporter.get_openlineage_facets_on_complete(None)
    assert [d.name for d in reported.inputs] == ["in.csv"]
    assert [d.name for d in reported.outputs] == ["out.csv"]
