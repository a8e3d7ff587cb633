"""A real Airflow 3 on loopback: api-server, scheduler, dag-processor, triggerer and a Celery worker.

:func:`start_airflow` writes an ``AIRFLOW_HOME`` into a temporary directory, configures Airflow through
environment variables (CeleryExecutor with the Redis broker and a PostgreSQL result backend, a fresh
metadata database, the repository's ``dags/`` and ``plugins/``, the FAB auth manager reading
``helm/webserver_config.py``, generated secrets), runs ``airflow db migrate``, starts every component as
its own :class:`~platform_devkit.loopback.base.ManagedProcess` with its own log, waits until the
api-server answers and every component reports a heartbeat, then applies the platform settings
(``config/platform.yaml``: pools, variables, connections pointing at the given services) through the
REST API and creates one FAB user per role with a generated password.

Tasks pinned to ``KubernetesExecutor`` run on Celery here (no cluster can be reached): see
:mod:`platform_devkit.loopback.airflow_routing`. The end-to-end tests and ``platform-dev`` share this
module. Secrets (fernet key, API secret key, JWT secret, passwords) are generated, passed to the
processes through their environment, and never printed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from platform_devkit import ephemeral_secrets
from platform_devkit.loopback.base import ManagedProcess, ServiceError, free_port, log_tail
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.loopback.redis import RedisService
from platform_devkit.loopback.s3 import S3Service
from platform_devkit.repository import REPO_ROOT

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
PRODUCTION_EXECUTORS = "CeleryExecutor,KubernetesExecutor"
# End-to-end only: the alias "KubernetesExecutor" names a Celery executor (see airflow_routing).
ROUTING_EXECUTOR = "platform_devkit.loopback.airflow_routing.KubernetesTasksOnCeleryExecutor"
KUBERNETES_ON_CELERY_EXECUTORS = f"CeleryExecutor,KubernetesExecutor:{ROUTING_EXECUTOR}"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "celery-worker")
"""The long-running processes, in start order."""
ROLES = ("Admin", "Op", "User", "Viewer")
ML_ENGINEER_ROLE = "MLEngineer"
ADMIN_USERNAME = ephemeral_secrets.ADMIN_USERNAME
CELERY_READY = re.compile(r"\S+@\S+ ready\.")
MIGRATE_TIMEOUT = 600.0
# What `airflow users create` does (airflow.providers.fab.auth_manager.cli_commands.user_command), with the
# login read from the environment.
CREATE_ADMIN_SCRIPT = """
import os
from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

with get_application_builder() as appbuilder:
    username = os.environ["PLATFORM_ADMIN_USERNAME"]
    if appbuilder.sm.find_user(username) is None:
        role = appbuilder.sm.find_role("Admin")
        email = f"{username}@platform.test"
        password = os.environ["PLATFORM_ADMIN_PASSWORD"]
        if not appbuilder.sm.add_user(username, "Platform", "Admin", email, role, password):
            raise SystemExit("creating the admin user failed")
    print(f"admin user {username} is present")
"""
START_TIMEOUT = 240.0


@dataclass(frozen=True)
class Credentials:
    """A FAB user's login."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ExternalServices:
    """The services the platform's connections point at; ``None`` leaves a connection out."""

    mlflow_uri: str | None = None
    s3: S3Service | None = None
    warehouse: PostgresService | None = None
    warehouse_database: str = "warehouse"
    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    partner_api_url: str | None = None
    variable_overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AirflowOptions:
    """How to run Airflow.

    Attributes:
        dag_folders: Extra DAG folders, each a ``LocalDagBundle`` next to the repository's ``dags/``.
        route_kubernetes_to_celery: Run ``KubernetesExecutor`` tasks on Celery (no cluster here).
        api_port: The api-server's port (default: a free one).
        worker_concurrency: Celery worker slots.
        use_job_schedule: Let the scheduler create scheduled (cron/asset) runs; tests trigger runs
            themselves and keep this off so that every run is one they asked for.
        paused_at_creation: New DAGs start paused (a developer unpauses what they want to run).
        role_users: Create one user per FAB role besides the admin (tests log in as each).
        extra_env: More environment for every process (e.g. ``PLATFORM_*`` variables of the DAGs).
    """

    dag_folders: tuple[Path, ...] = ()
    route_kubernetes_to_celery: bool = True
    api_port: int | None = None
    worker_concurrency: int = 4
    use_job_schedule: bool = False
    paused_at_creation: bool = False
    role_users: bool = True
    extra_env: Mapping[str, str] = field(default_factory=dict)


def dag_bundles(dag_folders: Iterable[Path]) -> list[dict[str, Any]]:
    """Return ``[dag_processor] dag_bundle_config_list``: the repository's ``dags/`` plus ``dag_folders``."""
    folders = [REPO_ROOT / "dags", *dag_folders]
    return [
        {
            "name": "dags-folder" if index == 0 else f"extra-{index}-{folder.name}",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(folder)},
        }
        for index, folder in enumerate(folders)
    ]


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
    session sets ``UNIT_TEST_MODE``, which must not leak into a real deployment).
    """
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")) and key != "AIRFLOW_HOME"
    }
    api_url = f"http://127.0.0.1:{api_port}"
    config = {
        "AIRFLOW_HOME": str(home),
        "PLATFORM_SETTINGS_FILE": str(REPO_ROOT / "config" / "platform.yaml"),
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
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(dag_bundles(options.dag_folders)),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "120",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(options.use_job_schedule),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "30",
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "15",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
        # The platform's sensors wait in the triggerer, not in a worker slot (as in the Helm values).
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
        "AIRFLOW__METRICS__STATSD_ON": "False",
        "AIRFLOW__OPENLINEAGE__DISABLED": "True",
        # Without a cluster the Kubernetes provider must not try to reach one.
        "AIRFLOW__KUBERNETES_EXECUTOR__IN_CLUSTER": "False",
        "PYTHONUNBUFFERED": "1",
    }
    return {**inherited, **config, **secret_values, **options.extra_env}


class AirflowPlatform:
    """One running Airflow deployment: its processes, its users and a REST client factory.

    Create it with :func:`start_airflow`.
    """

    def __init__(self, home: Path, env: dict[str, str], api_port: int, database: str) -> None:
        self.home = home
        self.env = env
        self.api_port = api_port
        self.database = database
        self.users: dict[str, Credentials] = {}
        self.processes: dict[str, ManagedProcess] = {}
        self.timings: dict[str, float] = {}
        self.started_monotonic = time.monotonic()
        self._tokens: dict[str, str] = {}

    @property
    def api_url(self) -> str:
        """The api-server's base URL."""
        return f"http://127.0.0.1:{self.api_port}"

    def airflow_argv(self, *args: str) -> list[str]:
        """Return the command line running ``airflow ARGS`` from this environment's Python."""
        return [sys.executable, "-m", "airflow", *args]

    def component_argv(self, name: str) -> list[str]:
        """Return the command line of component ``name`` (one of :data:`COMPONENTS`)."""
        if name == "api-server":
            return self.airflow_argv("api-server", "--host", "127.0.0.1", "--port", str(self.api_port))
        if name == "celery-worker":
            concurrency = self.env["AIRFLOW__CELERY__WORKER_CONCURRENCY"]
            hostname = f"e2e-{secrets.token_hex(4)}@%h"
            return self.airflow_argv(
                "celery", "worker", "--concurrency", concurrency, "--celery-hostname", hostname,
                "--without-mingle", "--without-gossip",
            )  # fmt: skip
        return self.airflow_argv(name)

    def process(self, name: str) -> ManagedProcess:
        """Return (creating if needed) the managed process of component ``name``."""
        if name not in self.processes:
            env = self.env
            if name == "api-server":
                # create_admin() syncs FAB's roles and permissions, concurrently with the api-server's
                # start; two processes syncing at once collide on FAB's unique constraints.
                env = {**env, "AIRFLOW__FAB__UPDATE_FAB_PERMS": "False"}
            self.processes[name] = ManagedProcess(
                name,
                self.component_argv(name),
                log_path=self.home / "process-logs" / f"{name}.log",
                env=env,
                cwd=self.home,
            )
        return self.processes[name]

    def run_cli(self, *args: str, timeout: float = 300.0, log_name: str | None = None) -> None:
        """Run a one-shot ``airflow`` command to completion.

        Raises:
            ServiceError: it failed or timed out; the message has its log tail.
        """
        name = log_name or "-".join(args[:2])
        command = ManagedProcess(
            f"airflow {' '.join(args[:2])}",
            self.airflow_argv(*args),
            log_path=self.home / "process-logs" / f"{name}.log",
            env=self.env,
            cwd=self.home,
        ).start()
        command.wait_for_exit(timeout=timeout)

    def create_admin(self, admin: Credentials, *, timeout: float = 300.0) -> None:
        """Sync FAB's roles and permissions and create the first Admin, as ``airflow users create`` does.

        Unlike ``airflow users create --password``, the password never appears on a command line: it
        travels in the child's environment (readable only by its owner), not in ``argv`` (readable by every
        user in ``/proc``).
        """
        command = ManagedProcess(
            "create-admin",
            [sys.executable, "-c", CREATE_ADMIN_SCRIPT],
            log_path=self.home / "process-logs" / "create-admin.log",
            env={
                **self.env,
                "PLATFORM_ADMIN_USERNAME": admin.username,
                "PLATFORM_ADMIN_PASSWORD": admin.password,
            },
            cwd=self.home,
        ).start()
        command.wait_for_exit(timeout=timeout)

    def health(self) -> dict[str, Any]:
        """Return ``GET /api/v2/monitor/health`` (public, no authentication)."""
        response = httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5)
        response.raise_for_status()
        return response.json()

    def component_healthy(self, component: str, *, since: datetime | None = None) -> bool:
        """Tell whether the health endpoint reports ``component`` healthy, heartbeat after ``since``."""
        info = self.health().get(component) or {}
        heartbeat = info.get(f"latest_{component}_heartbeat")
        if info.get("status") != "healthy" or not heartbeat:
            return False
        return since is None or datetime.fromisoformat(heartbeat) > since

    def token(self, username: str, password: str) -> str:
        """Return a JWT for ``username`` from the FAB auth manager's ``POST /auth/token``."""
        response = httpx.post(
            f"{self.api_url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        if response.status_code != 201:
            raise ServiceError(f"POST /auth/token for {username!r} answered {response.status_code}")
        return str(response.json()["access_token"])

    def token_for(self, role: str) -> str:
        """Return (cached) a JWT for the user holding ``role``."""
        if role not in self._tokens:
            user = self.users[role]
            self._tokens[role] = self.token(user.username, user.password)
        return self._tokens[role]

    def client(self, role: str | None = "Admin", *, timeout: float = 30.0) -> httpx.Client:
        """Return an HTTP client on the api-server, authenticated as ``role`` (``None``: anonymous)."""
        headers = {"Authorization": f"Bearer {self.token_for(role)}"} if role else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=timeout)

    def wait_healthy(self, names: Iterable[str] = COMPONENTS, *, timeout: float = START_TIMEOUT) -> None:
        """Wait until each component in ``names`` is ready (api-server answers, heartbeats, worker ready)."""
        for name in names:
            started = time.monotonic()
            self.processes[name].wait_until(
                self._readiness(name), timeout=timeout, what=_READINESS_WHAT[name], interval=0.5
            )
            self.timings.setdefault(f"{name}_ready_s", time.monotonic() - started)

    def _readiness(self, name: str, since: datetime | None = None) -> Callable[[], bool]:
        if name == "api-server":
            return lambda: self.health()["metadatabase"]["status"] == "healthy"
        if name == "celery-worker":
            log = self.processes[name].log_path
            offset = log.stat().st_size if since is not None and log.exists() else 0
            return lambda: bool(CELERY_READY.search(log.read_text(errors="replace")[offset:]))
        return lambda: self.component_healthy(name.replace("-", "_"), since=since)

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send ``sig`` to component ``name``'s whole process group (fault tests) and reap it."""
        process = self.processes[name]
        if process.pid is None:
            return
        os.killpg(process.pid, sig)
        process.stop(timeout=30)

    def restart(self, name: str, *, timeout: float = START_TIMEOUT) -> None:
        """Start component ``name`` again and wait until it is ready (a heartbeat newer than the restart)."""
        since = datetime.now(UTC)
        ready = self._readiness(name, since)
        self.processes[name].start()
        self.processes[name].wait_until(ready, timeout=timeout, what=_READINESS_WHAT[name], interval=0.5)

    def wait_for_dag(self, dag_id: str, *, timeout: float = 180.0) -> dict[str, Any]:
        """Wait until the dag-processor has serialized ``dag_id``; return ``GET /api/v2/dags/{dag_id}``."""
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while True:
                response = client.get(f"/api/v2/dags/{dag_id}")
                if response.status_code == 200:
                    return response.json()
                if time.monotonic() > deadline:
                    errors = client.get("/api/v2/importErrors").json().get("import_errors", [])
                    raise ServiceError(
                        f"DAG {dag_id!r} not loaded within {timeout:.0f}s; import errors: {errors}"
                    )
                time.sleep(2)

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, *, role: str = "Admin") -> str:
        """Trigger a run of ``dag_id`` as ``role`` (``POST /api/v2/dags/{dag_id}/dagRuns``); return its id."""
        with self.client(role) as client:
            response = client.post(
                f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf or {})}
            )
        if response.status_code != 200:
            raise ServiceError(f"triggering {dag_id} answered {response.status_code}: {response.text}")
        return str(response.json()["dag_run_id"])

    def wait_for_run(self, dag_id: str, run_id: str, *, timeout: float = 300.0) -> dict[str, Any]:
        """Wait until a run is ``success`` or ``failed``; return ``GET .../dagRuns/{run_id}``.

        Raises:
            TimeoutError: the run is still going after ``timeout`` seconds (the message has its tasks).
        """
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while True:
                run = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()
                if run.get("state") in {"success", "failed"}:
                    return run
                if time.monotonic() > deadline:
                    states = {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}
                    raise TimeoutError(
                        f"{dag_id} run {run_id} is {run.get('state')} after {timeout:.0f}s: {states}"
                    )
                time.sleep(2)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return every task instance of a run (mapped ones once per map index)."""
        with self.client() as client:
            response = client.get(
                f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500}
            )
        response.raise_for_status()
        return list(response.json()["task_instances"])

    def log_tails(self, lines: int = 40) -> str:
        """Return the last ``lines`` lines of every component's log, one section each."""
        logs = sorted((self.home / "process-logs").glob("*.log"))
        return "\n\n".join(f"===== {path.stem} ({path}) =====\n{log_tail(path, lines)}" for path in logs)

    def stop(self) -> None:
        """Stop every component (worker and schedulers first, api-server last)."""
        for name in reversed(COMPONENTS):
            if name in self.processes:
                self.processes[name].stop(timeout=20)


_READINESS_WHAT = {
    "api-server": "GET /api/v2/monitor/health",
    "scheduler": "a scheduler heartbeat in /api/v2/monitor/health",
    "dag-processor": "a dag-processor heartbeat in /api/v2/monitor/health",
    "triggerer": "a triggerer heartbeat in /api/v2/monitor/health",
    "celery-worker": "'<name>@<host> ready.' in its log",
}


def platform_connections(services: ExternalServices, connection_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Return the REST bodies of the platform's connections that ``services`` can point somewhere.

    Only ids declared in ``config/platform.yaml`` are created; secrets are generated per deployment.
    """
    bodies: dict[str, dict[str, Any]] = {}
    if services.mlflow_uri:
        bodies["mlflow_default"] = {"conn_type": "mlflow", "host": services.mlflow_uri}
    if services.s3 is not None:
        bodies["aws_default"] = {
            "conn_type": "aws",
            "login": services.s3.access_key_id,
            "password": services.s3.secret_access_key,
            "extra": json.dumps(
                {"endpoint_url": services.s3.endpoint_url, "region_name": services.s3.region}
            ),
        }
    if services.warehouse is not None:
        bodies["postgres_warehouse"] = {
            "conn_type": "postgres",
            "host": services.warehouse.host,
            "port": services.warehouse.port,
            "login": services.warehouse.user,
            "password": services.warehouse.password,
            "schema": services.warehouse_database,
        }
    if services.webhook_url:
        bodies["slack_alerts"] = {
            "conn_type": "slackwebhook",
            "host": f"{services.webhook_url}/slack",
            "password": f"T{secrets.token_hex(4)}/B{secrets.token_hex(4)}/{secrets.token_hex(12)}",
        }
        bodies["pagerduty_events"] = {
            "conn_type": "pagerduty_events",
            "password": secrets.token_hex(16),
            "extra": json.dumps({"events_url": f"{services.webhook_url}/pagerduty"}),
        }
    if services.partner_api_url:
        bodies["partner_api"] = {"conn_type": "http", "host": services.partner_api_url}
    if services.smtp_host and services.smtp_port:
        bodies["smtp_default"] = {
            "conn_type": "smtp",
            "host": services.smtp_host,
            "port": services.smtp_port,
            "extra": json.dumps(
                {
                    "from_email": "airflow@platform.test",
                    "disable_tls": True,
                    "disable_ssl": True,
                    "timeout": 10,
                }
            ),
        }
    declared = set(connection_ids)
    return [{"connection_id": conn_id, **body} for conn_id, body in bodies.items() if conn_id in declared]


def apply_platform_settings(
    client: httpx.Client, services: ExternalServices, settings_file: Path | None = None
) -> dict[str, int]:
    """Create or overwrite the pools, variables and connections of ``config/platform.yaml`` via REST.

    Returns:
        How many pools, variables and connections were applied.
    """
    document = yaml.safe_load((settings_file or REPO_ROOT / "config" / "platform.yaml").read_text())
    pools = [
        {"name": name, "slots": spec["slots"], "description": spec.get("description", "")}
        for name, spec in document["pools"].items()
    ]
    variables = [
        {
            "key": key,
            "value": str(services.variable_overrides.get(key, spec["value"])),
            "description": spec.get("description"),
        }
        for key, spec in document.get("variables", {}).items()
    ]
    connections = platform_connections(services, document.get("connections", {}))
    for resource, entities in (("pools", pools), ("variables", variables), ("connections", connections)):
        body = {"actions": [{"action": "create", "entities": entities, "action_on_existence": "overwrite"}]}
        response = client.patch(f"/api/v2/{resource}", json=body)
        errors = response.json().get("create", {}).get("errors") if response.status_code == 200 else None
        if response.status_code != 200 or errors:
            raise ServiceError(
                f"applying {resource} failed: {response.status_code} {errors or response.text}"
            )
    return {"pools": len(pools), "variables": len(variables), "connections": len(connections)}


def fab_roles() -> tuple[str, ...]:
    """Return the roles to create users for: FAB's four plus the platform's ML engineer role."""
    config = (REPO_ROOT / "helm" / "webserver_config.py").read_text()
    extra = (ML_ENGINEER_ROLE,) if ML_ENGINEER_ROLE in config else ()
    return (*ROLES, *extra)


def create_users(client: httpx.Client, roles: Iterable[str]) -> dict[str, Credentials]:
    """Create one user per role through the FAB API (``POST /auth/fab/v1/users``); return their logins."""
    users = {}
    for role in roles:
        username = f"e2e-{role.lower()}"
        credentials = Credentials(username, secrets.token_urlsafe(18))
        response = client.post(
            "/auth/fab/v1/users",
            json={
                "username": username,
                "email": f"{username}@platform.test",
                "first_name": role,
                "last_name": "User",
                "roles": [{"name": role}],
                "password": credentials.password,
            },
        )
        if response.status_code not in (200, 201):
            raise ServiceError(f"creating the {role} user failed: {response.status_code} {response.text}")
        users[role] = credentials
    return users


def start_airflow(
    postgres: PostgresService,
    redis: RedisService,
    services: ExternalServices | None = None,
    options: AirflowOptions | None = None,
    *,
    home: Path | None = None,
) -> AirflowPlatform:
    """Start a whole Airflow deployment and return it once every component is ready.

    Args:
        postgres: The server holding the (new) metadata database and the Celery result backend.
        redis: The Celery broker.
        services: The services the platform's connections point at.
        options: How to run Airflow.
        home: ``AIRFLOW_HOME`` (default: a new temporary directory).

    Raises:
        ServiceError: a step failed; the message carries the failing process's log tail.
    """
    options = options or AirflowOptions()
    services = services or ExternalServices()
    started = time.monotonic()
    home = home or Path(tempfile.mkdtemp(prefix="platform-airflow-"))
    database = f"airflow_{secrets.token_hex(4)}"
    postgres.create_database(database)
    api_port = options.api_port or free_port()
    material = ephemeral_secrets.generate()
    env = airflow_environment(
        home,
        metadata_url=postgres.url(database, driver="postgresql+psycopg2"),
        broker_url=redis.url,
        result_backend=postgres.url(database, driver="db+postgresql"),
        api_port=api_port,
        options=options,
        secret_values=material.airflow_config(),
    )
    platform = AirflowPlatform(home, env, api_port, database)
    platform.started_monotonic = started
    try:
        platform.run_cli("db", "migrate", timeout=MIGRATE_TIMEOUT)
        platform.timings["db_migrate_s"] = time.monotonic() - started
        for name in COMPONENTS:
            platform.process(name).start()
        admin = Credentials(ADMIN_USERNAME, material.admin_password)
        platform.create_admin(admin)
        platform.wait_healthy(["api-server"])
        platform.timings["api_server_answering_s"] = time.monotonic() - started
        platform.users["Admin"] = admin
        with platform.client("Admin") as client:
            if options.role_users:
                roles = [role for role in fab_roles() if role != "Admin"]
                platform.users.update(create_users(client, roles))
            platform.timings.update(
                {
                    f"applied_{kind}": count
                    for kind, count in apply_platform_settings(client, services).items()
                }
            )
        platform.wait_healthy([name for name in COMPONENTS if name != "api-server"])
        platform.timings["all_ready_s"] = time.monotonic() - started
    except BaseException as error:
        tails = platform.log_tails()
        platform.stop()
        if isinstance(error, ServiceError):
            raise ServiceError(f"{error}\n\nAirflow process logs:\n{tails}") from error
        raise
    return platform


DAG_ID_PATTERN = re.compile(r'^\s*dag_id="([a-z0-9_]+)",\s*$', re.MULTILINE)


def repository_dag_ids() -> set[str]:
    """Return the DAG ids defined in ``dags/``: ``dag_id="..."`` arguments plus the factory's YAML."""
    ids = {
        dag_id
        for path in (REPO_ROOT / "dags").glob("*.py")
        for dag_id in DAG_ID_PATTERN.findall(path.read_text())
    }
    factory_config = REPO_ROOT / "dags" / "factory" / "dag_configs.yaml"
    if factory_config.exists():
        ids |= {entry["dag_id"] for entry in yaml.safe_load(factory_config.read_text())["dags"]}
    return ids


@dataclass(frozen=True)
class LoadedDags:
    """What the dag-processor made of ``dags/``: the DAG ids it serialized and the import errors."""

    expected: frozenset[str]
    loaded: frozenset[str]
    import_errors: tuple[dict, ...]


def _snapshot(platform: AirflowPlatform) -> tuple[set[str], list[dict]]:
    with platform.client() as admin:
        dags = admin.get("/api/v2/dags", params={"limit": 200}).json()["dags"]
        errors = admin.get("/api/v2/importErrors", params={"limit": 200}).json()["import_errors"]
    loaded = {dag["dag_id"] for dag in dags if dag.get("bundle_name") == "dags-folder"}
    return loaded, [error for error in errors if error.get("bundle_name") == "dags-folder"]


def wait_for_repository_dags(airflow_platform: AirflowPlatform, *, timeout: float = 240.0) -> LoadedDags:
    """Wait until every DAG of ``dags/`` is serialized, or import errors explain the missing ones."""
    expected = repository_dag_ids()
    deadline = time.monotonic() + timeout
    loaded, errors = _snapshot(airflow_platform)
    stable_since, previous = time.monotonic(), loaded
    while not expected <= loaded and time.monotonic() < deadline:
        time.sleep(3)
        loaded, errors = _snapshot(airflow_platform)
        if loaded != previous:
            stable_since, previous = time.monotonic(), loaded
        elif errors and time.monotonic() - stable_since > 45:
            break
    return LoadedDags(frozenset(expected), frozenset(loaded), tuple(errors))


def remove_home(platform: AirflowPlatform) -> None:
    """Delete a stopped deployment's ``AIRFLOW_HOME``."""
    shutil.rmtree(platform.home, ignore_errors=True)
