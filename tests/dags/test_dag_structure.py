"""Structure of the platform's DAGs: one DagBag over dags/, loaded once, then assertions per DAG.

The DagBag is filled the way the dag-processor fills it: the top-level ``airflow.*`` imports of every
file are imported first (``[dag_processor] parsing_pre_import_modules``), so the parse time recorded per
file is what the processor pays for that file, not for Airflow's shared modules.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
import yaml

from airflow_platform.platform_settings import load_platform_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO_ROOT / "dags"
PLATFORM = load_platform_settings(REPO_ROOT / "config" / "platform.yaml")
POOLS = set(PLATFORM.pools)
EXECUTORS = set(PLATFORM.executors)
RULES = PLATFORM.dag_rules

EXPECTED_DAG_IDS = {
    "taskgroups_pipeline",
    "factory_ingest_crm",
    "factory_ingest_billing",
    "factory_ingest_inventory",
    "xcom_patterns",
    "pools_priorities",
    "deadline_alerts_pipeline",
    "connections_variables",
    "branching_pipeline",
    "enterprise_ml_pipeline",
    "platform_smoke",
    "churn_batch_scoring",
}


def _dag_files() -> list[Path]:
    return sorted(DAGS_FOLDER.rglob("*.py"))


def _fill_dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER), known_pools=POOLS)


@pytest.fixture(scope="session")
def dag_bag():
    """All DAGs of dags/, parsed once."""
    from airflow.utils.file import iter_airflow_imports

    for path in _dag_files():
        for module in iter_airflow_imports(str(path)):
            importlib.import_module(module)
    return _fill_dag_bag()


@pytest.fixture(scope="session")
def parse_times(dag_bag) -> dict[str, float]:
    """Seconds each DAG file took to parse, by path relative to dags/."""
    return {stat.file.lstrip("/"): stat.duration.total_seconds() for stat in dag_bag.dagbag_stats}


def dag(dag_bag, dag_id):
    """Return a DAG of the bag, failing clearly when it is missing."""
    assert dag_id in dag_bag.dags, f"{dag_id} not parsed; import errors: {dag_bag.import_errors}"
    return dag_bag.dags[dag_id]


def upstream(dag_obj, task_id: str) -> set[str]:
    """Return the direct upstream task ids of a task."""
    return set(dag_obj.get_task(task_id).upstream_task_ids)


def is_mapped(dag_obj, task_id: str) -> bool:
    """Tell whether a task is dynamically mapped (``.expand()``)."""
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    return isinstance(dag_obj.get_task(task_id), MappedOperator)


# --- the whole folder ------------------------------------------------------------------------------


def test_no_import_errors_or_parse_warnings(dag_bag):
    assert dag_bag.import_errors == {}
    assert dag_bag.captured_warnings == {}


def test_expected_dag_ids(dag_bag):
    assert set(dag_bag.dag_ids) == EXPECTED_DAG_IDS


def test_every_file_parses_within_budget(dag_bag, parse_times, record_property):
    assert set(parse_times) == {str(p.relative_to(DAGS_FOLDER)) for p in _dag_files()}
    for file, seconds in sorted(parse_times.items()):
        record_property(f"parse_seconds[{file}]", round(seconds, 3))
        print(f"parse time {file}: {seconds:.3f} s")
    slow = {
        file: seconds for file, seconds in parse_times.items() if seconds > RULES.parse_time_budget_seconds
    }
    assert slow == {}


def test_no_variable_or_connection_access_while_parsing():
    """A second parse with every run-time accessor booby-trapped still succeeds."""
    trap = mock.Mock(side_effect=AssertionError("accessed at parse time"))
    with (
        mock.patch("airflow.sdk.Variable.get", trap),
        mock.patch("airflow.sdk.Connection.get", trap),
        mock.patch("airflow.sdk.BaseHook.get_connection", trap),
    ):
        bag = _fill_dag_bag()
    assert bag.import_errors == {}
    trap.assert_not_called()


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAG_IDS))
def test_platform_rules(dag_bag, dag_id):
    dag_obj = dag(dag_bag, dag_id)
    assert dag_obj.tags, "at least one tag"
    assert not dag_obj.catchup
    assert dag_obj.start_date is not None
    assert dag_obj.doc_md
    for task in dag_obj.tasks:
        where = f"{dag_id}.{task.task_id}"
        assert task.owner and task.owner not in RULES.forbidden_owners, where
        assert task.retries >= RULES.min_retries, where
        assert task.pool in POOLS, where
        assert task.executor is None or task.executor in EXECUTORS, where
        assert task.on_failure_callback, f"{where} has no failure alert"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAG_IDS))
def test_serializes_like_the_dag_processor(dag_bag, dag_id):
    from airflow.serialization.serialized_objects import DagSerialization

    restored = DagSerialization.from_dict(DagSerialization.to_dict(dag(dag_bag, dag_id)))
    assert set(restored.task_ids) == set(dag(dag_bag, dag_id).task_ids)


# --- taskgroups_pipeline ---------------------------------------------------------------------------


def test_taskgroups_nesting_and_order(dag_bag):
    pipeline = dag(dag_bag, "taskgroups_pipeline")
    groups = pipeline.task_group_dict
    assert {
        "extract",
        "transform",
        "transform.clean",
        "transform.enrich",
        "transform.enrich.quality",
        "load",
    } <= set(groups)
    assert groups["transform.enrich.quality"].parent_group.group_id == "transform.enrich"
    assert groups["transform.enrich"].parent_group.group_id == "transform"
    assert is_mapped(pipeline, "extract.extract_source")
    assert upstream(pipeline, "transform.clean.drop_invalid") == {"extract.extract_source"}
    assert {
        "transform.enrich.quality.check_row_count",
        "transform.enrich.quality.check_amounts",
    } <= upstream(pipeline, "transform.enrich.add_region")
    assert upstream(pipeline, "load.write_to_data_lake") == {"transform.enrich.add_region"}
    outlets = pipeline.get_task("load.write_to_data_lake").outlets
    assert [asset.name for asset in outlets] == ["sales_daily"]


# --- dynamic DAG factory ---------------------------------------------------------------------------


def test_factory_builds_one_dag_per_config_entry(dag_bag):
    config = yaml.safe_load((DAGS_FOLDER / "factory" / "dag_configs.yaml").read_text())
    for entry in config["dags"]:
        generated = dag(dag_bag, entry["dag_id"])
        assert generated.fileloc.endswith("factory/dag_factory.py")
        assert set(entry["tags"]) == set(generated.tags)
        assert generated.description == entry["description"]
        assert generated.schedule == entry["schedule"]
        extract = generated.get_task("extract_table")
        assert is_mapped(generated, "extract_table")
        assert extract.op_kwargs_expand_input.value["table"] == entry["tables"]
        assert extract.pool == entry.get("pool", "default_pool")
        assert extract.owner == entry.get("owner", "data-platform")
        assert extract.retries == entry.get("retries", 2)
        assert upstream(generated, "write_manifest") == {"check_row_counts"}
    assert dag(dag_bag, "factory_ingest_inventory").schedule is None


# --- XCom patterns ---------------------------------------------------------------------------------


def test_xcom_patterns(dag_bag):
    from airflow.providers.standard.operators.bash import BashOperator

    pipeline = dag(dag_bag, "xcom_patterns")
    assert pipeline.get_task("compute_stats").multiple_outputs
    assert is_mapped(pipeline, "normalize")
    assert upstream(pipeline, "normalize") == {"generate_measurements", "compute_stats"}
    assert upstream(pipeline, "compare_with_threshold") == {"publish_threshold", "total"}
    echo = pipeline.get_task("echo_mean")
    assert isinstance(echo, BashOperator)
    assert "xcom_pull(task_ids='compute_stats', key='mean')" in echo.bash_command
    assert upstream(pipeline, "report") == {"compare_with_threshold", "echo_mean", "total"}


# --- pools and priorities --------------------------------------------------------------------------


def _assert_gpu_pod(task):
    from kubernetes.client import models as k8s

    assert task.executor == "KubernetesExecutor"
    assert task.pool == "gpu_pool"
    pod = task.executor_config["pod_override"]
    assert isinstance(pod, k8s.V1Pod)
    (container,) = pod.spec.containers
    assert container.name == "base"
    assert container.resources.limits["nvidia.com/gpu"] == "1"
    assert pod.spec.node_selector == {"nvidia.com/gpu.present": "true"}
    assert [t.key for t in pod.spec.tolerations] == ["nvidia.com/gpu"]


def test_pools_and_priorities(dag_bag):
    pipeline = dag(dag_bag, "pools_priorities")
    expected = {
        "call_partner_api": ("api_calls", 1, 5, "absolute"),
        "engineer_features": ("cpu_intensive", 2, 3, "downstream"),
        "train_model": ("gpu_pool", 1, 10, "absolute"),
        "publish_report": ("default_pool", 1, 1, "upstream"),
    }
    for task_id, (pool, slots, weight, rule) in expected.items():
        task = pipeline.get_task(task_id)
        assert (task.pool, task.pool_slots, task.priority_weight, task.weight_rule) == (
            pool,
            slots,
            weight,
            rule,
        ), task_id
    assert is_mapped(pipeline, "call_partner_api")
    assert is_mapped(pipeline, "engineer_features")
    _assert_gpu_pod(pipeline.get_task("train_model"))
    for task_id in ("call_partner_api", "engineer_features", "publish_report"):
        assert pipeline.get_task(task_id).executor is None, "the rest run on the default (Celery) executor"


# --- deadline alerts -------------------------------------------------------------------------------


def test_deadline_alerts_replace_slas(dag_bag):
    from airflow.sdk import AsyncCallback, DeadlineReference

    pipeline = dag(dag_bag, "deadline_alerts_pipeline")
    alerts = {alert.name: alert for alert in pipeline.deadline}
    assert set(alerts) == {"slack_warning", "oncall_email", "pagerduty_page"}
    expected = {
        "slack_warning": (timedelta(minutes=20), "airflow_platform.notifiers.slack.PlatformSlackNotifier"),
        "oncall_email": (timedelta(minutes=30), "airflow_platform.notifiers.email.PlatformEmailNotifier"),
        "pagerduty_page": (
            timedelta(minutes=45),
            "airflow_platform.notifiers.pagerduty.PlatformPagerdutyNotifier",
        ),
    }
    for name, (interval, path) in expected.items():
        alert = alerts[name]
        assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
        assert alert.interval == interval
        assert isinstance(alert.callback, AsyncCallback)
        assert alert.callback.path == path
    assert alerts["pagerduty_page"].callback.kwargs == {"severity": "critical"}
    assert alerts["oncall_email"].callback.kwargs["to"]
    for task in pipeline.tasks:
        assert task.execution_timeout == timedelta(minutes=10)
        assert not getattr(task, "sla", None)
    assert is_mapped(pipeline, "extract_region")


# --- connections and variables ---------------------------------------------------------------------


def test_connections_and_variables_are_templated(dag_bag):
    pipeline = dag(dag_bag, "connections_variables")
    env = pipeline.get_task("show_runtime_config").env
    assert env == {
        "PLATFORM_ENVIRONMENT": "{{ var.value.environment }}",
        "WAREHOUSE_HOST": "{{ conn.postgres_warehouse.host }}",
    }
    assert pipeline.get_task("check_data_lake").op_kwargs == {"bucket": "{{ var.value.data_lake_bucket }}"}
    assert upstream(pipeline, "summarize") == {"query_warehouse", "check_data_lake", "read_thresholds"}


# --- branching -------------------------------------------------------------------------------------


def test_branching_with_tolerant_join(dag_bag):
    from airflow.sdk import BranchMixIn, TriggerRule

    pipeline = dag(dag_bag, "branching_pipeline")
    branch = pipeline.get_task("choose_path")
    assert isinstance(branch, BranchMixIn)
    assert set(branch.downstream_task_ids) == {"skip_empty", "process_in_memory", "plan_chunks"}
    join = pipeline.get_task("join")
    assert join.trigger_rule == TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    assert upstream(pipeline, "join") >= {"skip_empty", "process_in_memory", "merge_chunks"}
    assert is_mapped(pipeline, "process_chunk")
    assert [asset.name for asset in pipeline.timetable.asset_condition.objects] == ["sales_daily"]


@pytest.mark.parametrize(
    ("rows", "path"),
    [(0, "skip_empty"), (120, "process_in_memory"), (999, "process_in_memory"), (1000, "plan_chunks")],
)
def test_branch_choice(dag_bag, rows, path):
    assert dag(dag_bag, "branching_pipeline").get_task("choose_path").python_callable(rows) == path


# --- enterprise ML pipeline ------------------------------------------------------------------------


def test_enterprise_ml_pipeline_flow(dag_bag):
    from airflow.providers.standard.operators.hitl import HITLBranchOperator
    from airflow.sdk import TriggerRule

    from airflow_platform.operators.approval import RecordedApprovalOperator
    from airflow_platform.operators.mlflow import (
        MLflowLoadModelOperator,
        MLflowLogMetricsOperator,
        MLflowModelTransitionOperator,
        MLflowRegisterModelOperator,
    )
    from airflow_platform.sensors.data_quality import DataQualitySensor
    from airflow_platform.sensors.mlflow import ModelPerformanceSensor

    pipeline = dag(dag_bag, "enterprise_ml_pipeline")
    chain = [
        ("wait_for_quality_data", {"land_customer_snapshot"}),
        ("extract.extract_segment", {"wait_for_quality_data"}),
        ("extract.build_training_set", {"extract.extract_segment"}),
        ("train.train_model", {"extract.build_training_set"}),
        ("train.evaluate_model", {"train.train_model", "extract.build_training_set"}),
        ("train.log_metrics", {"train.evaluate_model"}),
        ("choose_deployment", {"train.evaluate_model", "train.log_metrics"}),
        ("deploy.register_model", {"choose_deployment"}),
        ("deploy.verify_performance", {"deploy.register_model"}),
        ("deploy.needs_approval", {"deploy.verify_performance"}),
        ("deploy.approve_champion", {"deploy.needs_approval"}),
        ("deploy.approval_not_required", {"deploy.needs_approval"}),
        ("deploy.promote_champion", {"deploy.approve_champion", "deploy.approval_not_required"}),
        ("deploy.smoke_test_champion", {"deploy.promote_champion"}),
        ("deploy.publish_champion", {"deploy.smoke_test_champion"}),
        ("below_threshold", {"choose_deployment"}),
        ("reject_model", {"below_threshold", "deploy.approve_champion", "train.evaluate_model"}),
    ]
    for task_id, expected_upstream in chain:
        assert upstream(pipeline, task_id) == expected_upstream, task_id
    assert set(pipeline.get_task("choose_deployment").downstream_task_ids) == {
        "deploy.register_model",
        "below_threshold",
    }
    notify = pipeline.get_task("notify_outcome")
    assert notify.trigger_rule == TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    assert {"deploy.smoke_test_champion", "reject_model"} <= set(notify.upstream_task_ids)
    for task_id in ("reject_model", "deploy.promote_champion"):
        assert pipeline.get_task(task_id).trigger_rule == TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, task_id

    types = {
        "wait_for_quality_data": DataQualitySensor,
        "train.log_metrics": MLflowLogMetricsOperator,
        "deploy.register_model": MLflowRegisterModelOperator,
        "deploy.verify_performance": ModelPerformanceSensor,
        "deploy.promote_champion": MLflowModelTransitionOperator,
        "deploy.smoke_test_champion": MLflowLoadModelOperator,
    }
    for task_id, operator in types.items():
        assert isinstance(pipeline.get_task(task_id), operator), task_id
    assert pipeline.get_task("deploy.promote_champion").alias == "champion"
    approval = pipeline.get_task("deploy.approve_champion")
    assert isinstance(approval, HITLBranchOperator)
    assert isinstance(approval, RecordedApprovalOperator)
    assert approval.options_mapping == {"Approve": "deploy.promote_champion", "Reject": "reject_model"}
    assert approval.defaults == ["Reject"], "no answer in time rejects the model"
    assert pipeline.get_task("deploy.smoke_test_champion").alias == "champion"
    assert is_mapped(pipeline, "extract.extract_segment")
    _assert_gpu_pod(pipeline.get_task("train.train_model"))
    others = [t for t in pipeline.tasks if t.task_id != "train.train_model"]
    assert all(t.executor is None for t in others), "only training leaves the Celery executor"


def test_the_champion_asset_schedules_the_batch_scoring(dag_bag):
    pipeline = dag(dag_bag, "enterprise_ml_pipeline")
    scoring = dag(dag_bag, "churn_batch_scoring")
    (published,) = pipeline.get_task("deploy.publish_champion").outlets
    (training_set,) = pipeline.get_task("extract.build_training_set").outlets
    assert (published.name, published.uri) == (
        "enterprise_churn_classifier_champion",
        "models:/enterprise_churn_classifier@champion",
    )
    assert training_set.name == "enterprise_churn_training_set"
    (scheduled,) = scoring.timetable.asset_condition.objects
    assert (scheduled.name, scheduled.uri) == (published.name, published.uri)
    assert [t.task_id for t in scoring.tasks] == ["score_snapshot", "summarize_scores"]
