"""The end-to-end tier: one real Airflow 3.3 for the whole session, driven through its REST API.

``airflow_platform`` starts, from the project environment, ``airflow db migrate`` and then the
api-server, scheduler, dag-processor, triggerer and a Celery worker as separate processes, on the
session's PostgreSQL (metadata database and Celery result backend) and Redis (broker), with the FAB
auth manager (``helm/webserver_config.py``) and one user per role. The platform's pools, variables and
connections are applied by ``platform-settings apply``, the command of the Helm migration Job, right
after ``airflow db migrate``; the connections' details point at the session's MLflow server (with a
generated bearer token, ``mlflow_token``, which the server ignores), S3 (moto),
PostgreSQL (as the warehouse), SMTP receiver and webhook receiver (Slack, PagerDuty and the partner
API), and ``[platform]`` sets the variables ``environment``, ``data_lake_bucket`` and
``model_approval_required`` (promotions wait for a ModelApprover, as in prod). OpenLineage events go
to the webhook receiver too (``lineage_endpoint``: URL and API key, as the optional Secret
``airflow-openlineage`` gives them to a cluster).

The platform's DAGs are read as in production, through a ``GitDagBundle`` (bundle ``platform-dags``,
branch ``main``), from a local git repository the session creates with a copy of ``dags/``
(``dag_repository``). The scheduler creates runs as in production (``use_job_schedule``): each
platform DAG whose schedule has an interval due gets its scheduled run, the others are triggered once,
and DAGs scheduled on assets run from the events of the runs that update them. The enterprise
pipeline's scheduled run is approved through the REST API as the ``ModelApprover`` user
(:func:`approved_enterprise_run`); a second, triggered run is the one the approval tests refuse and
reject (``test_model_approval.py``).

The one difference from production, on purpose: no Kubernetes cluster can be reached here, so the
executor list is ``CeleryExecutor,KubernetesExecutor:<a CeleryExecutor subclass>`` - the executor alias
``KubernetesExecutor`` (see ``platform_devkit.loopback.airflow_routing``) runs the tasks pinned to the
KubernetesExecutor on the Celery worker. DAG files and serialized tasks still say ``KubernetesExecutor``.

A failing test gets the log tail of every Airflow process attached to its report.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from airflow_platform.lineage_settings import LineageEndpoint
from platform_devkit.loopback.airflow_dags import (
    LoadedDags,
    StartedRuns,
    start_runs,
    wait_for_repository_dags,
)
from platform_devkit.loopback.airflow_deployment import remove_home, start_airflow
from platform_devkit.loopback.airflow_environment import AirflowOptions
from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.airflow_provisioning import ExternalServices
from platform_devkit.loopback.dag_repository import DagRepository, create_dag_repository
from platform_devkit.loopback.mlflow import MlflowService
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.loopback.receivers import SmtpReceiver, WebhookReceiver
from platform_devkit.loopback.redis import RedisService
from platform_devkit.loopback.s3 import S3Service

E2E_DAGS = Path(__file__).parent / "dags"
ENTERPRISE_DAG = "enterprise_ml_pipeline"
APPROVAL_TASK = "deploy.approve_champion"
APPROVER_ROLE = "ModelApprover"
WAREHOUSE_DATABASE = "warehouse"
_RUNNING: list[LoopbackAirflow] = []
FAULT_MODULES = (
    "test_scheduler_fault",
    "test_triggerer_fault",
    "test_worker_fault",
    "test_mlflow_fault",
    "test_metadata_db_fault",
)
"""The modules of the ``faults`` tests, in the order they run (after every other e2e test)."""
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def dag_repository() -> Iterator[DagRepository]:
    """A git repository whose ``main`` holds a copy of ``dags/``: the platform bundle's origin."""
    scratch = Path(tempfile.mkdtemp(prefix="platform-dag-repository-"))
    yield create_dag_repository(scratch / "airflow-platform")
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="session")
def lineage_endpoint(webhook_receiver: WebhookReceiver) -> LineageEndpoint:
    """The OpenLineage endpoint of the deployment: the webhook receiver, with a generated API key."""
    return LineageEndpoint(url=webhook_receiver.url, api_key=secrets.token_urlsafe(24))


@pytest.fixture(scope="session")
def mlflow_token() -> str:
    """The bearer token of the deployment's ``mlflow_default`` (the server ignores it; tests seek leaks)."""
    return secrets.token_hex(16)


@pytest.fixture(scope="session")
def airflow_platform(
    dag_repository: DagRepository,
    lineage_endpoint: LineageEndpoint,
    postgres: PostgresService,
    redis_service: RedisService,
    s3: S3Service,
    mlflow_server: MlflowService,
    mlflow_token: str,
    smtp_server: SmtpReceiver,
    webhook_receiver: WebhookReceiver,
) -> Iterator[LoopbackAirflow]:
    """A running Airflow deployment with the repository's DAGs plus ``tests/e2e/dags``."""
    started = time.monotonic()
    postgres.create_database(WAREHOUSE_DATABASE)
    services = ExternalServices(
        mlflow_uri=mlflow_server.tracking_uri,
        mlflow_token=mlflow_token,
        s3=s3,
        warehouse=postgres,
        warehouse_database=WAREHOUSE_DATABASE,
        webhook_url=webhook_receiver.url,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        partner_api_url=f"{webhook_receiver.url}/partner",
    )
    platform = start_airflow(
        postgres,
        redis_service,
        services,
        AirflowOptions(
            dag_folders=(E2E_DAGS,),
            dag_repository=dag_repository.url,
            lineage_endpoint=lineage_endpoint,
            use_job_schedule=True,
            # [platform] of this deployment, as a Helm overlay sets it: the variables' values here.
            platform_config={
                "environment": "e2e",
                "data_lake_bucket": s3.bucket,
                "model_approval_required": "true",
            },
        ),
    )
    TIMINGS.update({f"airflow_{key}": value for key, value in platform.timings.items()})
    TIMINGS["fixture_to_all_ready_s"] = time.monotonic() - started
    _RUNNING.append(platform)
    yield platform
    _RUNNING.remove(platform)
    platform.stop()
    remove_home(platform)


@pytest.fixture(scope="session")
def loaded_dags(airflow_platform: LoopbackAirflow) -> LoadedDags:
    """The DAGs of ``dags/`` the dag-processor serialized, and its import errors."""
    return wait_for_repository_dags(airflow_platform)


@pytest.fixture(scope="session")
def platform_runs(airflow_platform: LoopbackAirflow, loaded_dags: LoadedDags) -> StartedRuns:
    """One run of every loaded platform DAG, the enterprise pipeline's first (see ``start_runs``).

    Session-scoped and requested by the first tests, so the runs proceed while other tests wait.
    """
    dag_ids = sorted(loaded_dags.expected & loaded_dags.loaded, key=lambda dag_id: dag_id != ENTERPRISE_DAG)
    return start_runs(airflow_platform, dag_ids)


@pytest.fixture(scope="session")
def rejection_run(airflow_platform: LoopbackAirflow, platform_runs: StartedRuns) -> str:
    """A triggered enterprise run, queued behind the scheduled one (``max_active_runs=1``), to be rejected."""
    return airflow_platform.api.trigger(ENTERPRISE_DAG)


@pytest.fixture(scope="session")
def approved_enterprise_run(
    airflow_platform: LoopbackAirflow, platform_runs: StartedRuns, rejection_run: str
) -> str:
    """The enterprise pipeline's scheduled run, approved as the ``ModelApprover`` user once it asks.

    Its request for approval (``awaiting_input``) is answered ``Approve`` through
    ``PATCH /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/deploy.approve_champion/-1/hitlDetails``.
    """
    run_id = platform_runs.run_ids[ENTERPRISE_DAG]
    started = time.monotonic()
    airflow_platform.api.wait_for_tasks(
        ENTERPRISE_DAG, run_id, [APPROVAL_TASK], "awaiting_input", timeout=480
    )
    TIMINGS["enterprise_asked_for_approval_s"] = time.monotonic() - started
    airflow_platform.api.answer_approval(
        ENTERPRISE_DAG, run_id, APPROVAL_TASK, ["Approve"], role=APPROVER_ROLE
    )
    return run_id


DEFERRED_SENSORS_DAG = "e2e_deferred_sensors"
SENSORS = tuple(f"wait_for_run_{index}" for index in range(3))


@dataclass(frozen=True)
class DeferredSensors:
    """A run of ``e2e_deferred_sensors`` whose three MLflow sensors wait in the triggerer.

    Attributes:
        run_id: The DAG run.
        mlflow_runs: The RUNNING MLflow run each sensor waits on, in :data:`SENSORS` order.
        trigger_jobs: The triggerer job holding each sensor's trigger, by task id.
    """

    run_id: str
    mlflow_runs: list[str]
    trigger_jobs: dict[str, int]

    def assert_each_ran_once_through_a_trigger(self, platform: LoopbackAirflow) -> dict[str, str]:
        """Check each sensor succeeded on try 1 only, deferred and was resumed; return their logs."""
        api = platform.api
        logs = {}
        for task_id in SENSORS:
            ti = api.task_instance(DEFERRED_SENSORS_DAG, self.run_id, task_id)
            assert (ti["state"], ti["try_number"]) == ("success", 1), task_id
            tries = api.task_tries(DEFERRED_SENSORS_DAG, self.run_id, task_id)
            assert [t["try_number"] for t in tries] == [1], task_id
            logs[task_id] = api.task_log(DEFERRED_SENSORS_DAG, self.run_id, task_id, 1)
            assert "Pausing task as DEFERRED" in logs[task_id], (task_id, logs[task_id][-3000:])
            assert "Trigger fired event" in logs[task_id], (task_id, logs[task_id][-3000:])
        return logs


@pytest.fixture
def deferred_sensors(airflow_platform: LoopbackAirflow, mlflow_server: MlflowService) -> DeferredSensors:
    """Trigger ``e2e_deferred_sensors`` on three new RUNNING MLflow runs; return once every trigger runs."""
    api = airflow_platform.api
    api.wait_for_dag(DEFERRED_SENSORS_DAG)
    mlflow_runs = [mlflow_server.create_run(f"e2e-faults-{uuid.uuid4().hex[:8]}") for _ in SENSORS]
    run_id = api.trigger(DEFERRED_SENSORS_DAG, {"mlflow_run_ids": mlflow_runs})
    api.wait_for_tasks(DEFERRED_SENSORS_DAG, run_id, SENSORS, "deferred", timeout=180)
    jobs = api.wait_for_triggers(DEFERRED_SENSORS_DAG, run_id, SENSORS, timeout=60)
    return DeferredSensors(run_id, mlflow_runs, jobs)


def survivors(pids: Iterable[int]) -> list[int]:
    """Return the processes of ``pids`` that still exist (an unreaped zombie does not count)."""

    def alive(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    return [pid for pid in pids if alive(pid)]


@pytest.fixture(scope="session")
def e2e_timings() -> dict[str, float]:
    """Seconds measured by the tests, printed at the end of the session."""
    return TIMINGS


@pytest.fixture(scope="module")
def stop_e2e_airflow() -> None:
    """Stop the session's Airflow if it runs (frees the CPU for a test that starts its own Airflow)."""
    for platform in _RUNNING:
        platform.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach every Airflow process's log tail to a failing test's report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _RUNNING:
        report.sections.append(("Airflow process logs (tails)", _RUNNING[-1].log_tails()))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the DAG-version tests, then the fault tests, then the dev-command test, after all others.

    They change the DAG repository, disturb the deployment or load the machine, so they wait until the
    platform's runs are done. The fault modules run in :data:`FAULT_MODULES` order (the metadata
    database restart last: it disturbs every service on the session's PostgreSQL), any other ``faults``
    test after them.
    """

    def rank(item: pytest.Item) -> int:
        name = Path(str(item.fspath)).stem
        if name == "test_dag_versions":
            return 1
        if name in FAULT_MODULES:
            return FAULT_MODULES.index(name) + 2
        if item.get_closest_marker("faults"):
            return len(FAULT_MODULES) + 2
        return len(FAULT_MODULES) + 3 if name == "test_dev_command" else 0

    items.sort(key=rank)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the end-to-end timings to ``reports/e2e-timings.json`` (printed at the end of the run)."""
    if TIMINGS:
        report = Path(__file__).resolve().parents[2] / "reports" / "e2e-timings.json"
        report.parent.mkdir(exist_ok=True)
        report.write_text(json.dumps(TIMINGS, indent=2, sort_keys=True) + "\n")
