"""The platform's own DAGs (``dags/``) run to success on the real Airflow, through the REST API.

* the enterprise ML pipeline's scheduled run: quality gate, extraction, training tracked on the real
  MLflow server, the accuracy branch, deployment (registered version approved by the ModelApprover and
  promoted to ``champion``) and the notification;
* every other DAG of ``dags/`` (including the factory-generated ones): its scheduled run, a triggered
  one, or the run its assets' events created (``branching_pipeline``, ``churn_batch_scoring``).

Tasks pinned to ``KubernetesExecutor`` (training) run on the Celery worker through the end-to-end
executor alias - see ``tests/e2e/conftest.py``.
"""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pytest

from platform_devkit.loopback.airflow_dags import LoadedDags, StartedRuns
from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.mlflow import MlflowService
from platform_devkit.loopback.receivers import WebhookReceiver

from .conftest import ENTERPRISE_DAG

MODEL_NAME = "enterprise_churn_classifier"
DEPLOY_TASKS = (
    "deploy.register_model",
    "deploy.verify_performance",
    "deploy.promote_champion",
    "deploy.smoke_test_champion",
)


def _states(platform: LoopbackAirflow, dag_id: str, run_id: str) -> dict[str, list[str]]:
    states: dict[str, list[str]] = {}
    for ti in platform.api.task_instances(dag_id, run_id):
        states.setdefault(ti["task_id"], []).append(ti["state"])
    return states


def _require_loaded(dags: LoadedDags, dag_id: str) -> None:
    if dag_id not in dags.loaded:
        pytest.fail(f"{dag_id} was not loaded by the dag-processor; import errors: {dags.import_errors}")


@pytest.fixture(scope="module")
def enterprise_run(loaded_dags: LoadedDags, approved_enterprise_run: str) -> str:
    """The enterprise pipeline's run id (its scheduled run, approved)."""
    _require_loaded(loaded_dags, ENTERPRISE_DAG)
    return approved_enterprise_run


@pytest.fixture(scope="module")
def other_runs(
    airflow_platform: LoopbackAirflow, platform_runs: StartedRuns, approved_enterprise_run: str
) -> dict[str, str]:
    """The run ids of every other platform DAG (a DAG scheduled on assets: the run an event created)."""
    runs = {dag_id: run_id for dag_id, run_id in platform_runs.run_ids.items() if dag_id != ENTERPRISE_DAG}
    for dag_id in sorted(platform_runs.asset_scheduled):
        runs[dag_id] = airflow_platform.api.wait_for_new_run(dag_id, "asset_triggered", timeout=300)[
            "dag_run_id"
        ]
    return runs


def test_every_platform_dag_loads_without_import_errors(loaded_dags: LoadedDags) -> None:
    assert not loaded_dags.import_errors, [
        (error["filename"], error["stack_trace"][-600:]) for error in loaded_dags.import_errors
    ]
    assert loaded_dags.expected <= loaded_dags.loaded, sorted(loaded_dags.expected - loaded_dags.loaded)


def test_enterprise_pipeline_succeeds_with_the_deploy_branch(
    airflow_platform: LoopbackAirflow, enterprise_run: str, e2e_timings: dict[str, float]
) -> None:
    started = time.monotonic()
    run = airflow_platform.api.wait_for_run(ENTERPRISE_DAG, enterprise_run, timeout=600)
    e2e_timings["enterprise_dag_wait_s"] = time.monotonic() - started
    e2e_timings["airflow_start_to_enterprise_done_s"] = time.monotonic() - airflow_platform.started_monotonic
    queued, ended = (datetime.fromisoformat(run[key]) for key in ("queued_at", "end_date"))
    e2e_timings["enterprise_run_queued_to_end_s"] = (ended - queued).total_seconds()
    states = _states(airflow_platform, ENTERPRISE_DAG, enterprise_run)
    assert run["state"] == "success", states
    skipped = {task for task, task_states in states.items() if set(task_states) == {"skipped"}}
    assert skipped == {"below_threshold", "deploy.approval_not_required", "reject_model"}, states
    assert all(
        set(task_states) == {"success"} for task, task_states in states.items() if task not in skipped
    ), states
    assert len(states["extract.extract_segment"]) == 3
    for task in ("land_customer_snapshot", "wait_for_quality_data", "extract.build_training_set",
                 "train.train_model", "train.evaluate_model", "train.log_metrics", "choose_deployment",
                 "deploy.needs_approval", "deploy.approve_champion", *DEPLOY_TASKS,
                 "deploy.publish_champion", "notify_outcome"):  # fmt: skip
        assert task in states, f"{task} missing from {sorted(states)}"


def test_enterprise_pipeline_model_is_on_the_mlflow_server(
    airflow_platform: LoopbackAirflow, enterprise_run: str, mlflow_server: MlflowService
) -> None:
    assert (
        airflow_platform.api.wait_for_run(ENTERPRISE_DAG, enterprise_run, timeout=600)["state"] == "success"
    )
    trained = airflow_platform.api.xcom(ENTERPRISE_DAG, enterprise_run, "train.train_model")
    assert isinstance(trained, dict)
    api = f"{mlflow_server.tracking_uri}/api/2.0/mlflow"
    mlflow_run = httpx.get(f"{api}/runs/get", params={"run_id": trained["run_id"]}, timeout=10).json()["run"]
    assert mlflow_run["info"]["status"] == "FINISHED"
    params = {param["key"]: param["value"] for param in mlflow_run["data"]["params"]}
    assert params["airflow_run_id"] == enterprise_run
    metrics = {metric["key"]: metric["value"] for metric in mlflow_run["data"]["metrics"]}
    assert {"accuracy", "precision", "recall"} <= set(metrics)

    champion = httpx.get(
        f"{api}/registered-models/alias", params={"name": MODEL_NAME, "alias": "champion"}, timeout=10
    ).json()["model_version"]
    assert champion["run_id"] == trained["run_id"]
    assert champion["status"] == "READY"
    assert "challenger" in champion.get("aliases", []) or "champion" in champion.get("aliases", [])
    registered = airflow_platform.api.xcom(ENTERPRISE_DAG, enterprise_run, "deploy.register_model")
    assert isinstance(registered, dict)
    assert str(registered["version"]) == champion["version"]


def test_enterprise_pipeline_notifies_its_outcome(
    airflow_platform: LoopbackAirflow, enterprise_run: str, webhook_receiver: WebhookReceiver
) -> None:
    assert (
        airflow_platform.api.wait_for_run(ENTERPRISE_DAG, enterprise_run, timeout=600)["state"] == "success"
    )
    message = webhook_receiver.wait_for(
        lambda r: r.path.startswith("/slack/") and b"enterprise_ml_pipeline: deployed" in r.body, timeout=30
    )
    assert MODEL_NAME in message.json["text"]


def test_every_other_platform_dag_succeeds(
    airflow_platform: LoopbackAirflow,
    loaded_dags: LoadedDags,
    other_runs: dict[str, str],
    e2e_timings: dict[str, float],
) -> None:
    missing = loaded_dags.expected - loaded_dags.loaded
    assert not missing, f"not loaded: {sorted(missing)}; import errors: {loaded_dags.import_errors}"
    started = time.monotonic()
    outcomes = {}
    for dag_id, run_id in other_runs.items():
        run = airflow_platform.api.wait_for_run(dag_id, run_id, timeout=600)
        outcomes[dag_id] = (run["state"], _states(airflow_platform, dag_id, run_id))
    e2e_timings["other_dags_wait_s"] = time.monotonic() - started
    failed = {dag_id: states for dag_id, (state, states) in outcomes.items() if state != "success"}
    assert not failed, failed
    for dag_id, (_, states) in outcomes.items():
        bad = {task: s for task, s in states.items() if not set(s) <= {"success", "skipped"}}
        assert not bad, f"{dag_id}: {bad}"
    # branching_pipeline takes one path per run: the others are skipped, the join still runs.
    if "branching_pipeline" in outcomes:
        branch_states = outcomes["branching_pipeline"][1]
        assert any(set(s) == {"skipped"} for s in branch_states.values()), branch_states
        assert branch_states["join"] == ["success"]


def test_platform_plugin_is_registered(airflow_platform: LoopbackAirflow) -> None:
    with airflow_platform.api.http() as admin:
        plugins = admin.get("/api/v2/plugins").json()["plugins"]
        errors = admin.get("/api/v2/plugins/importErrors").json()
    assert "airflow_platform" in {plugin["name"] for plugin in plugins}
    assert errors["total_entries"] == 0, errors
