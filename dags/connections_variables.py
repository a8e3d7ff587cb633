"""Connections and variables: read at run time, never while the file is parsed.

The DAG processor parses this file every 30 seconds or so; a `Variable.get` or a connection lookup at
the top level would hit the metadata database (or the secrets backend) on every parse. Everything here
is read when a task runs:

* **Jinja templates** - `{{ var.value.environment }}` and `{{ conn.postgres_warehouse.host }}` in a
  `BashOperator`'s environment, `{{ var.value.data_lake_bucket }}` in a TaskFlow argument;
* **`Variable.get` inside a task body** - thresholds with defaults, converted to numbers;
* **`Connection.get` / hooks inside a task body** - the warehouse (`postgres_warehouse`) answers a
  small query whose size comes from a variable, and the data-lake bucket is checked through
  `aws_default`.

Secrets never reach logs or XCom: tasks return host names and counts, not passwords or URIs.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import Connection, Variable, dag, task

from airflow_platform.dag_defaults import default_args

DEFAULT_ARGS = default_args("data-platform")


@dag(
    dag_id="connections_variables",
    schedule="30 5 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["data-platform", "configuration"],
    doc_md=__doc__,
)
def connections_variables():
    """Use variables and connections the run-time way: templates and reads inside task bodies."""
    show_runtime_config = BashOperator(
        task_id="show_runtime_config",
        bash_command='echo "environment=${PLATFORM_ENVIRONMENT} warehouse_host=${WAREHOUSE_HOST}"',
        env={
            "PLATFORM_ENVIRONMENT": "{{ var.value.environment }}",
            "WAREHOUSE_HOST": "{{ conn.postgres_warehouse.host }}",
        },
        append_env=True,
    )

    @task
    def read_thresholds() -> dict:
        """Read the platform's thresholds with `Variable.get`, inside the task body."""
        return {
            "min_rows": int(Variable.get("data_quality_min_rows", default="100")),
            "accuracy": float(Variable.get("ml_accuracy_threshold", default="0.85")),
            "environment": Variable.get("environment", default="dev"),
        }

    @task
    def query_warehouse(thresholds: dict) -> dict:
        """Ask the warehouse for a series as long as the row threshold, and check its size."""
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        warehouse = Connection.get("postgres_warehouse")
        hook = PostgresHook(postgres_conn_id="postgres_warehouse")
        rows, total = hook.get_first(
            "SELECT count(*), sum(n) FROM generate_series(1, %(rows)s) AS n",
            parameters={"rows": thresholds["min_rows"]},
        )
        if rows < thresholds["min_rows"]:
            raise ValueError(f"warehouse returned {rows} rows, expected {thresholds['min_rows']}")
        return {"host": warehouse.host, "database": warehouse.schema, "rows": rows, "total": int(total)}

    @task
    def check_data_lake(bucket: str) -> dict:
        """Check that the data-lake bucket (from a templated variable) is reachable via `aws_default`."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        if not S3Hook(aws_conn_id="aws_default").check_for_bucket(bucket):
            raise RuntimeError(f"bucket {bucket!r} is not reachable through connection aws_default")
        return {"bucket": bucket, "reachable": True}

    @task
    def summarize(warehouse: dict, data_lake: dict, thresholds: dict) -> str:
        """Report what was read, without any secret."""
        return (
            f"[{thresholds['environment']}] warehouse {warehouse['host']}/{warehouse['database']}: "
            f"{warehouse['rows']} rows; bucket {data_lake['bucket']} reachable"
        )

    thresholds = read_thresholds()
    warehouse = query_warehouse(thresholds)
    data_lake = check_data_lake(bucket="{{ var.value.data_lake_bucket }}")
    show_runtime_config >> [warehouse, data_lake]
    summarize(warehouse, data_lake, thresholds)


connections_variables()
