"""Assets: the enterprise pipeline updates its training set and its champion model; the champion's event
schedules ``churn_batch_scoring``, which scores that run's snapshot with the new champion.

Events are read through ``GET /api/v2/assets/events`` (with the runs each event created), the scores
from the warehouse table the scoring DAG writes.
"""

from __future__ import annotations

import contextlib

from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.postgres import PostgresService

from .conftest import ENTERPRISE_DAG, WAREHOUSE_DATABASE

SCORING_DAG = "churn_batch_scoring"
TRAINING_SET = "enterprise_churn_training_set"
CHAMPION_MODEL = "enterprise_churn_classifier_champion"


def _events_of(platform: LoopbackAirflow, asset: str, run_id: str) -> list[dict]:
    return [event for event in platform.api.asset_events(asset) if event["source_run_id"] == run_id]


def test_the_training_set_event_names_the_files_of_the_run(
    airflow_platform: LoopbackAirflow, approved_enterprise_run: str
) -> None:
    airflow_platform.api.wait_for_run(ENTERPRISE_DAG, approved_enterprise_run, timeout=300)
    (event,) = _events_of(airflow_platform, TRAINING_SET, approved_enterprise_run)
    assert event["source_task_id"] == "extract.build_training_set"
    extra = event["extra"]
    assert extra["train"].startswith("s3://") and extra["train"].endswith("/train.csv")
    assert extra["test"].endswith("/test.csv")
    assert extra["rows"] > 0


def test_the_champion_event_schedules_the_scoring_of_the_snapshot(
    airflow_platform: LoopbackAirflow, approved_enterprise_run: str, postgres: PostgresService
) -> None:
    airflow_platform.api.wait_for_run(ENTERPRISE_DAG, approved_enterprise_run, timeout=300)
    (event,) = _events_of(airflow_platform, CHAMPION_MODEL, approved_enterprise_run)
    assert event["source_task_id"] == "deploy.publish_champion"
    assert event["extra"]["model_uri"] == "models:/enterprise_churn_classifier@champion"
    scoring = airflow_platform.api.wait_for_new_run(SCORING_DAG, "asset_triggered", timeout=120)
    assert [run["dag_id"] for run in event["created_dagruns"]] == [SCORING_DAG]
    assert event["created_dagruns"][0]["run_id"] == scoring["dag_run_id"]
    run = airflow_platform.api.wait_for_run(SCORING_DAG, scoring["dag_run_id"], timeout=300)
    assert run["state"] == "success"

    snapshot, version = event["extra"]["snapshot_id"], str(event["extra"]["version"])
    with contextlib.closing(postgres.connect(WAREHOUSE_DATABASE)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM public.ml_customer_snapshot WHERE snapshot_id = %s", (snapshot,))
        counted = cursor.fetchone()
        assert counted is not None
        (customers,) = counted
        cursor.execute(
            "SELECT model_version, count(*) FROM public.ml_churn_scores WHERE snapshot_id = %s GROUP BY 1",
            (snapshot,),
        )
        scored = dict(cursor.fetchall())
    assert customers > 0
    assert scored == {version: customers}
