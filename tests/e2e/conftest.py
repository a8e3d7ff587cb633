"""The end-to-end tier: one real Airflow 3.3 for the whole session, driven through its REST API.

``airflow_platform`` starts, from the project environment, ``airflow db migrate`` and then the
api-server, scheduler, dag-processor, triggerer and a Celery worker as separate processes, on the
session's PostgreSQL (metadata database and Celery result backend) and Redis (broker), with the FAB
auth manager (``helm/webserver_config.py``) and one user per role. The platform's pools, variables and
connections are applied by ``platform-settings apply``, the command of the Helm migration Job, right
after ``airflow db migrate``; the connections' details point at the session's MLflow server (with a
generated bearer token, ``mlflow_token``, which the server ignores), S3 (moto),
PostgreSQL (as the warehouse), SMTP receiver and webhook receiver (Slack, PagerDuty and the partner
API), and ``[platform]`` sets the variables ``environment`` and ``data_lake_bucket``.

The one difference from production, on purpose: no Kubernetes cluster can be reached here, so the
executor list is ``CeleryExecutor,KubernetesExecutor:<a CeleryExecutor subclass>`` - the executor alias
``KubernetesExecutor`` (see ``platform_devkit.loopback.airflow_routing``) runs the tasks pinned to the
KubernetesExecutor on the Celery worker. DAG files and serialized tasks still say ``KubernetesExecutor``.

A failing test gets the log tail of every Airflow process attached to its report.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_devkit.loopback.airflow_dags import LoadedDags, wait_for_repository_dags
from platform_devkit.loopback.airflow_deployment import remove_home, start_airflow
from platform_devkit.loopback.airflow_environment import AirflowOptions
from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.airflow_provisioning import ExternalServices
from platform_devkit.loopback.mlflow import MlflowService
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.loopback.receivers import SmtpReceiver, WebhookReceiver
from platform_devkit.loopback.redis import RedisService
from platform_devkit.loopback.s3 import S3Service

E2E_DAGS = Path(__file__).parent / "dags"
ENTERPRISE_DAG = "enterprise_ml_pipeline"
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
def mlflow_token() -> str:
    """The bearer token of the deployment's ``mlflow_default`` (the server ignores it; tests seek leaks)."""
    return secrets.token_hex(16)


@pytest.fixture(scope="session")
def airflow_platform(
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
            # [platform] of this deployment, as a Helm overlay sets it: the variables' values here.
            platform_config={"environment": "e2e", "data_lake_bucket": s3.bucket},
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
def platform_runs(airflow_platform: LoopbackAirflow, loaded_dags: LoadedDags) -> dict[str, str]:
    """Trigger every loaded platform DAG once, the enterprise pipeline first; return the run ids.

    Session-scoped and requested by the first tests, so the runs proceed while other tests wait.
    """
    dag_ids = sorted(loaded_dags.expected & loaded_dags.loaded, key=lambda dag_id: dag_id != ENTERPRISE_DAG)
    return {dag_id: airflow_platform.api.trigger(dag_id) for dag_id in dag_ids}


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
    """Run the fault tests after the others, then the dev-command test (they disturb or load the machine).

    The fault modules run in :data:`FAULT_MODULES` order (the metadata database restart last: it
    disturbs every service on the session's PostgreSQL), any other ``faults`` test after them.
    """

    def rank(item: pytest.Item) -> int:
        name = Path(str(item.fspath)).stem
        if name == "test_dev_command":
            return len(FAULT_MODULES) + 2
        if name in FAULT_MODULES:
            return FAULT_MODULES.index(name) + 1
        return len(FAULT_MODULES) + 1 if item.get_closest_marker("faults") else 0

    items.sort(key=rank)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the end-to-end timings (fixture start to api-server, to DAG runs finishing)."""
    if TIMINGS:
        terminalreporter.section("e2e timings (seconds)")
        for key, value in sorted(TIMINGS.items()):
            terminalreporter.write_line(f"{key}: {value:.1f}")
