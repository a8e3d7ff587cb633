"""TaskGroups pipeline: extract, transform in nested groups, load.

A daily sales pipeline organised in task groups, three levels deep:

* **extract** - one mapped task per source system (`orders`, `payments`, `refunds`), each generating a
  small deterministic batch of records;
* **transform** - `clean` (drop invalid rows, de-duplicate), then `enrich` with its own nested
  `quality` group (row-count and amount checks) running next to the enrichment itself;
* **load** - write the result as JSON lines to the data-lake bucket (`{{ var.value.data_lake_bucket }}`,
  connection `aws_default`), which updates the `sales_daily` asset, and log a summary.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task, task_group

from airflow_platform.dag_defaults import default_args

SOURCES = ["orders", "payments", "refunds"]
ROWS_PER_SOURCE = 40
# Updated by every successful load; branching_pipeline is scheduled on it.
SALES_DAILY = Asset(name="sales_daily")


DEFAULT_ARGS = default_args("data-platform")


@dag(
    dag_id="taskgroups_pipeline",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["data-platform", "taskgroups"],
    doc_md=__doc__,
)
def taskgroups_pipeline():
    """Extract, transform (nested groups) and load a small sales dataset."""

    @task_group(group_id="extract")
    def extract():
        """Pull one batch per source system, in parallel."""

        @task
        def extract_source(source: str, run_id: str | None = None) -> list[dict]:
            """Generate a deterministic batch of records for one source (seeded by source and run)."""
            import random

            # Synthetic, reproducible sample data: not a security use of random.
            rng = random.Random(f"{source}:{run_id}")  # noqa: S311
            return [
                {
                    "id": f"{source}-{rng.randint(1, ROWS_PER_SOURCE * 2)}",
                    "source": source,
                    "amount": round(rng.uniform(-5, 500), 2),
                    "country": rng.choice(["DE", "FR", "US", "JP"]),
                }
                for _ in range(ROWS_PER_SOURCE)
            ]

        return extract_source.expand(source=SOURCES)

    @task_group(group_id="transform")
    def transform(batches):
        """Clean the batches, then enrich them while a nested group checks their quality."""

        @task_group(group_id="clean")
        def clean(batches):
            """Remove invalid and duplicate records."""

            @task
            def drop_invalid(batches: list[list[dict]]) -> list[dict]:
                """Flatten the mapped batches and drop records with a negative amount."""
                return [row for batch in batches for row in batch if row["amount"] >= 0]

            @task
            def deduplicate(rows: list[dict]) -> list[dict]:
                """Keep the first record of every id."""
                unique: dict[str, dict] = {}
                for row in rows:
                    unique.setdefault(row["id"], row)
                return list(unique.values())

            return deduplicate(drop_invalid(batches))

        @task_group(group_id="enrich")
        def enrich(rows):
            """Add derived columns; the nested quality group validates the cleaned rows."""

            @task
            def add_region(rows: list[dict]) -> list[dict]:
                """Map each country to its sales region."""
                regions = {"DE": "EMEA", "FR": "EMEA", "US": "AMER", "JP": "APAC"}
                return [{**row, "region": regions[row["country"]]} for row in rows]

            @task_group(group_id="quality")
            def quality(rows):
                """Fail the run early when the cleaned data is unusable."""

                @task
                def check_row_count(rows: list[dict]) -> int:
                    """Require at least one record per source on average."""
                    if len(rows) < len(SOURCES):
                        raise ValueError(f"only {len(rows)} rows after cleaning")
                    return len(rows)

                @task
                def check_amounts(rows: list[dict]) -> float:
                    """Require every amount to be non-negative and return the total."""
                    if any(row["amount"] < 0 for row in rows):
                        raise ValueError("negative amounts survived cleaning")
                    return round(sum(row["amount"] for row in rows), 2)

                return [check_row_count(rows), check_amounts(rows)]

            enriched = add_region(rows)
            quality(rows) >> enriched
            return enriched

        return enrich(clean(batches))

    @task_group(group_id="load")
    def load(rows):
        """Persist the result and report on it."""

        @task(outlets=[SALES_DAILY])
        def write_to_data_lake(rows: list[dict], bucket: str, run_id: str | None = None) -> str:
            """Write the rows as JSON lines to S3 through the `aws_default` connection."""
            import json
            import re

            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            key = f"taskgroups_pipeline/{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id or 'manual')}/sales.jsonl"
            body = "\n".join(json.dumps(row, sort_keys=True) for row in rows)
            S3Hook(aws_conn_id="aws_default").load_string(body, key=key, bucket_name=bucket, replace=True)
            return f"s3://{bucket}/{key}"

        @task
        def summarize(rows: list[dict], location: str) -> dict:
            """Return the per-region totals (visible in XCom and the task log)."""
            import logging

            totals: dict[str, float] = {}
            for row in rows:
                totals[row["region"]] = round(totals.get(row["region"], 0.0) + row["amount"], 2)
            logging.getLogger(__name__).info("wrote %d rows to %s: %s", len(rows), location, totals)
            return totals

        location = write_to_data_lake(rows, bucket="{{ var.value.data_lake_bucket }}")
        return summarize(rows, location)

    load(transform(extract()))


taskgroups_pipeline()
