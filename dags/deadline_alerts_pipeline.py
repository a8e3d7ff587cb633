"""SLA pipeline rebuilt on deadline alerts: escalate to Slack, e-mail, then PagerDuty when a run is late.

Airflow 3 removed SLAs (`sla=` and `sla_miss_callback`). This hourly reporting pipeline must finish
within 20 minutes of being queued; the deadline alerts, evaluated by the scheduler and run in the
triggerer (`AsyncCallback`), escalate while it has not:

| after queued | channel | connection |
|---|---|---|
| 20 min | Slack warning | `slack_alerts` |
| 30 min | e-mail to the on-call list | `smtp_default` |
| 45 min | PagerDuty, severity critical | `pagerduty_events` |

A run that finishes in time cancels its pending alerts. Each task also has an `execution_timeout`, so
a hung task fails (and retries) instead of silently eating the budget. Set the param
`extract_seconds` to simulate a slow source.
"""

from __future__ import annotations

from datetime import timedelta

# The platform notifiers build on these provider modules. Top-level `airflow.*` imports are pre-imported
# once by the dag-processor's parent process ([dag_processor] parsing_pre_import_modules) and inherited by
# every parse, so naming them here keeps each parse of this file fast.
import airflow.providers.pagerduty.notifications.pagerduty
import airflow.providers.slack.notifications.slack_webhook
import airflow.providers.smtp.notifications.smtp  # noqa: F401
import pendulum
from airflow.sdk import DeadlineAlert, DeadlineReference, Param, dag, task

from airflow_platform.dag_defaults import default_args
from airflow_platform.notifiers import deadline_callback, email_notifier, pagerduty_notifier, slack_notifier

ONCALL_EMAIL = "data-platform-oncall@example.com"
REGIONS = ["emea", "amer", "apac"]


DEFAULT_ARGS = default_args(
    "data-platform", max_retry_delay=timedelta(minutes=5), execution_timeout=timedelta(minutes=10)
)


@dag(
    dag_id="deadline_alerts_pipeline",
    schedule="0 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    deadline=[
        DeadlineAlert(
            name="slack_warning",
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=timedelta(minutes=20),
            callback=deadline_callback(slack_notifier),
        ),
        DeadlineAlert(
            name="oncall_email",
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=timedelta(minutes=30),
            callback=deadline_callback(email_notifier, to=ONCALL_EMAIL),
        ),
        DeadlineAlert(
            name="pagerduty_page",
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=timedelta(minutes=45),
            callback=deadline_callback(pagerduty_notifier, severity="critical"),
        ),
    ],
    params={"extract_seconds": Param(1, type="integer", minimum=0, maximum=3600)},
    tags=["data-platform", "deadlines"],
    doc_md=__doc__,
)
def deadline_alerts_pipeline():
    """Build the hourly regional report under escalating deadline alerts."""

    @task
    def extract_region(region: str, params: dict | None = None, run_id: str | None = None) -> dict:
        """Extract one region's hourly orders; `extract_seconds` simulates a slow source."""
        import random
        import time

        time.sleep(int((params or {}).get("extract_seconds", 1)))
        # Synthetic, reproducible sample data: not a security use of random.
        rng = random.Random(f"{region}:{run_id}")  # noqa: S311
        return {"region": region, "orders": rng.randint(50, 500), "revenue": round(rng.uniform(1e3, 5e4), 2)}

    @task
    def build_report(extracts: list[dict]) -> dict:
        """Aggregate the regions into the hourly report."""
        return {
            "orders": sum(item["orders"] for item in extracts),
            "revenue": round(sum(item["revenue"] for item in extracts), 2),
            "regions": sorted(item["region"] for item in extracts),
        }

    @task
    def publish_report(report: dict, bucket: str, run_id: str | None = None) -> str:
        """Write the report to the data-lake bucket through `aws_default`."""
        import json
        import re

        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        key = f"reports/hourly/{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id or 'manual')}.json"
        S3Hook(aws_conn_id="aws_default").load_string(
            json.dumps(report), key=key, bucket_name=bucket, replace=True
        )
        return f"s3://{bucket}/{key}"

    report = build_report(extract_region.expand(region=REGIONS))
    publish_report(report, bucket="{{ var.value.data_lake_bucket }}")


deadline_alerts_pipeline()
