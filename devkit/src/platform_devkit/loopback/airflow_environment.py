"""The environment of a loopback Airflow deployment: every process's configuration, as variables.

:func:`airflow_environment` configures Airflow through ``AIRFLOW__*`` variables: CeleryExecutor with the
Redis broker and a PostgreSQL result backend, the metadata database, the platform's DAGs (a
``GitDagBundle`` of a local git repository, or the project's ``dags/`` in place; plus extra folders as
``LocalDagBundle`` bundles) and ``plugins/``, the FAB auth manager reading ``helm/webserver_config.py``,
the ``[platform]`` options, and the generated secrets. Tasks pinned to
``KubernetesExecutor`` run on Celery here (no cluster can be reached): see
:mod:`platform_devkit.loopback.airflow_routing`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_platform.lineage_settings import LineageEndpoint, openlineage_environment
from airflow_platform.platform_settings import load_platform_settings
from platform_devkit.loopback.base import free_port
from platform_devkit.repository import REPO_ROOT

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
PRODUCTION_EXECUTORS = "CeleryExecutor,KubernetesExecutor"
# End-to-end only: the alias "KubernetesExecutor" names a Celery executor (see airflow_routing).
ROUTING_EXECUTOR = "platform_devkit.loopback.airflow_routing.KubernetesTasksOnCeleryExecutor"
KUBERNETES_ON_CELERY_EXECUTORS = f"CeleryExecutor,KubernetesExecutor:{ROUTING_EXECUTOR}"
SETTINGS_FILE = REPO_ROOT / "config" / "platform.yaml"
PLATFORM_BUNDLE = "platform-dags"
"""The bundle name of the platform's DAGs (the Helm overlays use the same)."""
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
GIT_BUNDLE = "airflow.providers.git.bundles.git.GitDagBundle"


@dataclass(frozen=True)
class AirflowOptions:
    """How to run Airflow.

    Attributes:
        dag_folders: Extra DAG folders, each a ``LocalDagBundle`` next to the platform's DAGs.
        dag_repository: A git repository URL whose ``dags/`` the platform's bundle tracks (``main``),
            as production's ``GitDagBundle`` does; ``None`` reads the project's ``dags/`` in place.
        route_kubernetes_to_celery: Run ``KubernetesExecutor`` tasks on Celery (no cluster here).
        api_port: The api-server's port (default: a free one).
        worker_concurrency: Celery worker slots.
        use_job_schedule: Let the scheduler create runs: those of due schedule intervals and those
            that asset events call for (off: only runs triggered through the API happen).
        paused_at_creation: New DAGs start paused (a developer unpauses what they want to run).
        role_users: Create one user per FAB role besides the admin (tests log in as each).
        platform_config: Options of airflow.cfg's ``[platform]`` section, the per-environment values of
            declared variables (``environment``, ``data_lake_bucket``), as the Helm overlays set them;
            passed as ``AIRFLOW__PLATFORM__*`` and read by ``platform-settings apply``.
        extra_env: More environment for every process (e.g. ``PLATFORM_*`` variables of the DAGs).
        lineage_endpoint: Where OpenLineage events go; ``None``: no transport, so lineage is off.
    """

    dag_folders: tuple[Path, ...] = ()
    dag_repository: str | None = None
    route_kubernetes_to_celery: bool = True
    api_port: int | None = None
    worker_concurrency: int = 4
    use_job_schedule: bool = False
    paused_at_creation: bool = False
    role_users: bool = True
    platform_config: Mapping[str, str] = field(default_factory=dict)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    lineage_endpoint: LineageEndpoint | None = None


def dag_bundles(dag_folders: Iterable[Path], dag_repository: str | None = None) -> list[dict[str, Any]]:
    """Return ``[dag_processor] dag_bundle_config_list``: the platform's DAGs plus ``dag_folders``.

    The platform's DAGs are the bundle ``platform-dags``, as in the Helm overlays: a ``GitDagBundle``
    tracking ``main`` of ``dag_repository`` (a git URL whose ``dags/`` holds them), or without one a
    ``LocalDagBundle`` of the project's ``dags/``. Each extra folder is a ``LocalDagBundle``.
    """
    platform: dict[str, Any] = {"name": PLATFORM_BUNDLE}
    if dag_repository is None:
        platform |= {"classpath": LOCAL_BUNDLE, "kwargs": {"path": str(REPO_ROOT / "dags")}}
    else:
        platform |= {
            "classpath": GIT_BUNDLE,
            "kwargs": {"repo_url": dag_repository, "tracking_ref": "main", "subdir": "dags"},
        }
    extra = [
        {"name": f"extra-{index}-{folder.name}", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(folder)}}
        for index, folder in enumerate(dag_folders, start=1)
    ]
    return [platform, *extra]


def airflow_environment(
    home: Path,
    *,
    metadata_url: str,
    broker_url: str,
    result_backend: str,
    api_port: int,
    options: AirflowOptions,
    secret_values: Mapping[str, str],
) -> dict[str, str]:
    """Return the environment every Airflow process of one deployment runs with.

    The caller's ``AIRFLOW__*``/``AIRFLOW_CONN_*``/``AIRFLOW_VAR_*`` variables are dropped (the test
    session sets ``UNIT_TEST_MODE``, which must not leak into a real deployment), and so are its
    ``OPENLINEAGE*`` ones: only ``options.lineage_endpoint`` turns lineage on.
    """
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "OPENLINEAGE"))
        and key != "AIRFLOW_HOME"
    }
    api_url = f"http://127.0.0.1:{api_port}"
    config = {
        "AIRFLOW_HOME": str(home),
        "PLATFORM_SETTINGS_FILE": str(SETTINGS_FILE),
        "PLATFORM_AUTH_TYPE": "db",
        "AIRFLOW__CORE__EXECUTOR": (
            KUBERNETES_ON_CELERY_EXECUTORS if options.route_kubernetes_to_celery else PRODUCTION_EXECUTORS
        ),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(options.paused_at_creation),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
        "AIRFLOW__CORE__PARALLELISM": "16",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(options.worker_concurrency),
        "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
        "AIRFLOW__API__BASE_URL": api_url,
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__FAB__CONFIG_FILE": str(REPO_ROOT / "helm" / "webserver_config.py"),
        # Synced once per deployment by create_admin(), like the chart's create-user job does.
        "AIRFLOW__FAB__UPDATE_FAB_PERMS": "True",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            dag_bundles(options.dag_folders, options.dag_repository)
        ),
        # Bundles are cloned per deployment, not into the machine-wide default under /tmp.
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "dag-bundles"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "120",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(options.use_job_schedule),
        # A task whose supervisor stopped heartbeating (every 5 s) for 30 s is failed (and retried): the
        # worker fault test waits this long for a killed worker's task.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "30",
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "15",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
        # A dead triggerer's triggers move to a live one after 10 s without a heartbeat (5 missed beats;
        # default 30 s), so that the triggerer fault test is short.
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
        # The platform's sensors wait in the triggerer, not in a worker slot (as in the Helm values).
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
        "AIRFLOW__METRICS__STATSD_ON": "False",
        # OpenLineage as in the cluster: off without an endpoint, because no transport is configured.
        **openlineage_environment(load_platform_settings(SETTINGS_FILE).lineage, options.lineage_endpoint),
        # Without a cluster the Kubernetes provider must not try to reach one.
        "AIRFLOW__KUBERNETES_EXECUTOR__IN_CLUSTER": "False",
        "PYTHONUNBUFFERED": "1",
    }
    platform = {
        f"AIRFLOW__PLATFORM__{name.upper()}": value for name, value in options.platform_config.items()
    }
    return {**inherited, **config, **platform, **secret_values, **options.extra_env}
