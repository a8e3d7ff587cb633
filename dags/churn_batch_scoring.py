"""Churn batch scoring: score the warehouse's customer snapshot whenever a new champion model is out.

Scheduled on the `enterprise_churn_classifier_champion` asset, which `enterprise_ml_pipeline` updates
once it has promoted and smoke-tested a model:

1. **score_snapshot** - loads `models:/enterprise_churn_classifier@champion` the way
   `MLflowLoadModelOperator` does (`MLflowHook.load_registered_model`, connection `mlflow_default`),
   reads the snapshot named by the asset event from `public.ml_customer_snapshot` (connection
   `postgres_warehouse`) and writes one score per customer to `public.ml_churn_scores`, replacing
   an earlier scoring of the same snapshot by the same model version.
2. **summarize_scores** - counts the customers predicted to churn, per segment.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

from airflow_platform.dag_defaults import default_args

MODEL_NAME = "enterprise_churn_classifier"
FEATURES = ["usage_hours", "tenure_months", "support_tickets"]
SNAPSHOT_TABLE = "public.ml_customer_snapshot"
SCORES_TABLE = "public.ml_churn_scores"
CHAMPION_MODEL = Asset(
    name="enterprise_churn_classifier_champion",
    uri=f"models:/{MODEL_NAME}@champion",
    group="ml",
)
"""The asset ``enterprise_ml_pipeline`` updates when it publishes a champion (the same name and URI)."""


@dag(
    dag_id="churn_batch_scoring",
    schedule=[CHAMPION_MODEL],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args("ml-platform", retry_delay=timedelta(minutes=1)),
    tags=["ml-platform", "mlflow", "scoring"],
    doc_md=__doc__,
)
def churn_batch_scoring():
    """Score the snapshot the new champion was published with."""

    @task(pool="cpu_intensive")
    def score_snapshot() -> dict:
        """Load the champion, score every customer of the snapshot and store the scores."""
        import pandas as pd
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        from airflow_platform.hooks.mlflow import MLflowHook

        events = get_current_context()["triggering_asset_events"][CHAMPION_MODEL]
        if not events:
            raise ValueError(f"no {CHAMPION_MODEL.name} event triggered this run: nothing names a snapshot")
        snapshot = events[-1].extra["snapshot_id"]
        loaded = MLflowHook().load_registered_model(MODEL_NAME, alias="champion")
        warehouse = PostgresHook(postgres_conn_id="postgres_warehouse")
        rows = warehouse.get_records(
            # The table name is a module constant; the values are bound parameters.
            f"SELECT segment, {', '.join(FEATURES)} FROM {SNAPSHOT_TABLE} "  # noqa: S608
            "WHERE snapshot_id = %(snapshot)s ORDER BY ctid",
            parameters={"snapshot": snapshot},
        )
        if not rows:
            raise ValueError(f"snapshot {snapshot!r} has no rows in {SNAPSHOT_TABLE}")
        frame = pd.DataFrame(rows, columns=["segment", *FEATURES])
        predictions = loaded.model.predict(frame[FEATURES].astype(float))
        scored = [
            (snapshot, loaded.version, index, segment, float(score), int(churned))
            for index, (segment, score, churned) in enumerate(
                zip(frame["segment"], predictions["churn_score"], predictions["churned"], strict=True)
            )
        ]
        warehouse.run(
            [
                f"CREATE TABLE IF NOT EXISTS {SCORES_TABLE} ("
                "snapshot_id text NOT NULL, model_version text NOT NULL, row_number integer NOT NULL, "
                "segment text NOT NULL, churn_score double precision, churned integer, "
                "PRIMARY KEY (snapshot_id, model_version, row_number))",
                f"DELETE FROM {SCORES_TABLE} "  # noqa: S608
                "WHERE snapshot_id = %(snapshot)s AND model_version = %(version)s",
            ],
            parameters={"snapshot": snapshot, "version": loaded.version},
        )
        warehouse.insert_rows(
            SCORES_TABLE,
            scored,
            target_fields=["snapshot_id", "model_version", "row_number", "segment", "churn_score", "churned"],
            commit_every=500,
        )
        return {"snapshot_id": snapshot, "model_version": loaded.version, "scored": len(scored)}

    @task
    def summarize_scores(scoring: dict) -> dict:
        """Count the customers predicted to churn, per segment."""
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        records = PostgresHook(postgres_conn_id="postgres_warehouse").get_records(
            f"SELECT segment, count(*) FILTER (WHERE churned = 1), count(*) FROM {SCORES_TABLE} "  # noqa: S608
            "WHERE snapshot_id = %(snapshot)s AND model_version = %(version)s GROUP BY segment",
            parameters={"snapshot": scoring["snapshot_id"], "version": scoring["model_version"]},
        )
        return {segment: {"churn": churn, "customers": total} for segment, churn, total in records}

    summarize_scores(score_snapshot())


churn_batch_scoring()
