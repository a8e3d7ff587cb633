"""A real Airflow 3 on loopback: api-server, scheduler, dag-processor, triggerer and a Celery worker.

:func:`start_airflow` does what a release of the Helm chart does, in the same order: it creates a fresh
metadata database, runs ``airflow db migrate`` and then ``platform-settings apply`` (as the migration
Job does; here with the details of the connections to the given services), starts every component,
creates the first Admin (as the chart's create-user Job does) and one user per FAB role, and waits until
every component is ready. The end-to-end tests and ``platform-dev`` share it.

The jobs are split by module: :mod:`.airflow_environment` (configuration), :mod:`.airflow_processes`
(supervision), :mod:`.airflow_provisioning` (users, settings, connections), :mod:`.airflow_rest` and
:mod:`.airflow_fab_api` (the REST API), :mod:`.airflow_dags` (the repository's DAGs). Secrets (fernet key,
API secret key, JWT secret, passwords) are generated, passed to the processes through their environment,
and never printed.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from pathlib import Path

from platform_devkit import ephemeral_secrets
from platform_devkit.loopback.airflow_environment import AirflowOptions, airflow_environment
from platform_devkit.loopback.airflow_fab_api import Credentials
from platform_devkit.loopback.airflow_processes import COMPONENTS, LoopbackAirflow
from platform_devkit.loopback.airflow_provisioning import (
    ExternalServices,
    apply_platform_settings,
    create_admin,
    create_users,
    fab_roles,
    service_connections,
)
from platform_devkit.loopback.base import ServiceError, free_port
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.loopback.redis import RedisService

ADMIN_USERNAME = ephemeral_secrets.ADMIN_USERNAME
MIGRATE_TIMEOUT = 600.0


def start_airflow(
    postgres: PostgresService,
    redis: RedisService,
    services: ExternalServices | None = None,
    options: AirflowOptions | None = None,
    *,
    home: Path | None = None,
) -> LoopbackAirflow:
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
    airflow = LoopbackAirflow(home, env, api_port, database, started)
    try:
        airflow.run_cli("db", "migrate", timeout=MIGRATE_TIMEOUT)
        airflow.timings["db_migrate_s"] = time.monotonic() - started
        apply_platform_settings(airflow, service_connections(services))
        airflow.timings["settings_applied_s"] = time.monotonic() - started
        for name in COMPONENTS:
            airflow.process(name).start()
        admin = Credentials(ADMIN_USERNAME, material.admin_password)
        create_admin(airflow, admin)
        airflow.wait_healthy(["api-server"])
        airflow.timings["api_server_answering_s"] = time.monotonic() - started
        airflow.users["Admin"] = admin
        if options.role_users:
            airflow.users.update(create_users(airflow, [role for role in fab_roles() if role != "Admin"]))
        airflow.wait_healthy([name for name in COMPONENTS if name != "api-server"])
        airflow.timings["all_ready_s"] = time.monotonic() - started
    except BaseException as error:
        tails = airflow.log_tails()
        airflow.stop()
        if isinstance(error, ServiceError):
            raise ServiceError(f"{error}\n\nAirflow process logs:\n{tails}") from error
        raise
    return airflow


def remove_home(airflow: LoopbackAirflow) -> None:
    """Delete a stopped deployment's ``AIRFLOW_HOME``."""
    shutil.rmtree(airflow.home, ignore_errors=True)
