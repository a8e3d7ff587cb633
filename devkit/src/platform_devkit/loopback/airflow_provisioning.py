"""Provisioning of a loopback Airflow deployment: its users, and the platform settings with connections.

* :func:`create_admin`: FAB's roles and permissions synced and the first Admin created, as
  ``airflow users create`` does, without the password on a command line;
* :func:`create_users`: one user per FAB role (and the platform's ``MLEngineer``) with a generated
  password, through FAB's user API;
* :func:`apply_platform_settings`: ``platform-settings apply`` - the command the Helm migration Job runs
  - with a connection details file pointing the declared connections at the services of this machine
  (:func:`service_connections`). The file holds generated credentials: it is written readable by its
  owner only, inside ``AIRFLOW_HOME``, and deleted once applied.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_devkit.loopback.airflow_fab_api import Credentials, create_fab_user
from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.loopback.s3 import S3Service
from platform_devkit.repository import REPO_ROOT

ROLES = ("Admin", "Op", "User", "Viewer")
PLATFORM_ROLE = re.compile(r'^[A-Z_]+_ROLE = "(\w+)"$', re.MULTILINE)
APPLIER = Path(sys.executable).with_name("platform-settings")
"""The ``platform-settings`` console script of this environment (the root project's)."""
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


@dataclass(frozen=True)
class ExternalServices:
    """The services the platform's connections point at; ``None`` leaves a connection out."""

    mlflow_uri: str | None = None
    mlflow_token: str | None = field(default=None, repr=False)
    """A bearer token for ``mlflow_default`` (the loopback server ignores it; tests look for leaks)."""
    s3: S3Service | None = None
    warehouse: PostgresService | None = None
    warehouse_database: str = "warehouse"
    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    partner_api_url: str | None = None


def create_admin(airflow: LoopbackAirflow, admin: Credentials, *, timeout: float = 300.0) -> None:
    """Sync FAB's roles and permissions and create the first Admin, as ``airflow users create`` does.

    Unlike ``airflow users create --password``, the password never appears on a command line: it
    travels in the child's environment (readable only by its owner), not in ``argv`` (readable by every
    user in ``/proc``).
    """
    airflow.run_command(
        "create-admin",
        [sys.executable, "-c", CREATE_ADMIN_SCRIPT],
        log_name="create-admin",
        extra_env={"PLATFORM_ADMIN_USERNAME": admin.username, "PLATFORM_ADMIN_PASSWORD": admin.password},
        timeout=timeout,
    )


def fab_roles() -> tuple[str, ...]:
    """Return the roles to create users for: FAB's four plus the platform's own roles.

    The platform's roles are the ``*_ROLE = "<name>"`` constants of ``helm/webserver_config.py`` (read as
    text: importing it needs the deployment's authentication settings).
    """
    config = (REPO_ROOT / "helm" / "webserver_config.py").read_text()
    return (*ROLES, *PLATFORM_ROLE.findall(config))


def create_users(airflow: LoopbackAirflow, roles: Iterable[str]) -> dict[str, Credentials]:
    """Create one user per role as the deployment's Admin; return their logins."""
    users = {}
    for role in roles:
        credentials = Credentials(f"e2e-{role.lower()}", secrets.token_urlsafe(18))
        create_fab_user(airflow.api_url, airflow.api.token_for("Admin"), role, credentials)
        users[role] = credentials
    return users


def service_connections(services: ExternalServices) -> dict[str, dict[str, Any]]:
    """Return the connection details (``platform-settings apply --connections``) of the given services.

    Ids only: each connection's type is the one ``config/platform.yaml`` declares, which the applier
    takes from there (and it refuses an id that is not declared). Secrets are generated per deployment.
    """
    details: dict[str, dict[str, Any]] = {}
    if services.mlflow_uri:
        details["mlflow_default"] = {"host": services.mlflow_uri}
        if services.mlflow_token:
            details["mlflow_default"]["password"] = services.mlflow_token
    if services.s3 is not None:
        details["aws_default"] = {
            "login": services.s3.access_key_id,
            "password": services.s3.secret_access_key,
            "extra": {"endpoint_url": services.s3.endpoint_url, "region_name": services.s3.region},
        }
    if services.warehouse is not None:
        details["postgres_warehouse"] = {
            "host": services.warehouse.host,
            "port": services.warehouse.port,
            "login": services.warehouse.user,
            "password": services.warehouse.password,
            "schema": services.warehouse_database,
        }
    if services.webhook_url:
        details["slack_alerts"] = {
            "host": f"{services.webhook_url}/slack",
            "password": f"T{secrets.token_hex(4)}/B{secrets.token_hex(4)}/{secrets.token_hex(12)}",
        }
        details["pagerduty_events"] = {
            "password": secrets.token_hex(16),
            "extra": {"events_url": f"{services.webhook_url}/pagerduty"},
        }
    if services.partner_api_url:
        details["partner_api"] = {"host": services.partner_api_url}
    if services.smtp_host and services.smtp_port:
        details["smtp_default"] = {
            "host": services.smtp_host,
            "port": services.smtp_port,
            "extra": {
                "from_email": "airflow@platform.test",
                "disable_tls": True,
                "disable_ssl": True,
                "timeout": 10,
            },
        }
    return details


def apply_platform_settings(airflow: LoopbackAirflow, connections: Mapping[str, Mapping[str, Any]]) -> None:
    """Run ``platform-settings apply`` on the deployment's database, with these connection details.

    The ``[platform]`` options (``AIRFLOW__PLATFORM__*``) are in the deployment's environment.

    Raises:
        ServiceError: The applier refused its input or failed; the message has its log tail.
    """
    details_file = airflow.home / "platform-connections.json"
    descriptor = os.open(details_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump(connections, stream)
    try:
        airflow.run_command(
            "platform-settings apply",
            [str(APPLIER), "apply", "--connections", str(details_file)],
            log_name="platform-settings",
        )
    finally:
        details_file.unlink(missing_ok=True)
