"""The loopback deployment's connection details are exactly what ``platform-settings`` accepts."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path

from airflow_platform.platform_settings import load_platform_settings
from platform_devkit.loopback.airflow_environment import SETTINGS_FILE, AirflowOptions
from platform_devkit.loopback.airflow_provisioning import ExternalServices, service_connections
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.loopback.s3 import S3Service
from platform_tools.settings_apply.connection_details import load_connection_details
from platform_tools.settings_apply.settings_plan import build_plan

EVERY_SERVICE = ExternalServices(
    mlflow_uri="http://127.0.0.1:5000",
    mlflow_token=secrets.token_hex(16),
    s3=S3Service("http://127.0.0.1:9000", "lake", secrets.token_hex(8), secrets.token_hex(16)),
    warehouse=PostgresService("127.0.0.1", 5432, "postgres", secrets.token_hex(8)),
    webhook_url="http://127.0.0.1:8001",
    smtp_host="127.0.0.1",
    smtp_port=8025,
    partner_api_url="http://127.0.0.1:8001/partner",
)


def test_every_service_maps_to_a_declared_connection_of_the_declared_type(tmp_path: Path) -> None:
    path = tmp_path / "connections.json"
    path.write_text(json.dumps(service_connections(EVERY_SERVICE)))
    settings = load_platform_settings(SETTINGS_FILE)
    plan = build_plan(settings, {}, load_connection_details(path), path)
    applied = {planned.spec.conn_id for planned in plan.connections}
    # Every declared connection but the Kubeflow Pipelines API, which needs a cluster.
    assert applied == set(settings.connections) - {"kubeflow_default"}
    warehouse = next(p.details for p in plan.connections if p.spec.conn_id == "postgres_warehouse")
    assert (warehouse.host, warehouse.port, warehouse.schema) == ("127.0.0.1", 5432, "warehouse")
    mlflow = next(p.details for p in plan.connections if p.spec.conn_id == "mlflow_default")
    assert mlflow.password == EVERY_SERVICE.mlflow_token


def test_no_service_means_no_connection() -> None:
    assert service_connections(ExternalServices()) == {}


def test_the_platform_section_reaches_every_process_as_airflow_config(
    loopback_environment: Callable[[AirflowOptions], dict[str, str]],
) -> None:
    env = loopback_environment(
        AirflowOptions(platform_config={"environment": "e2e", "data_lake_bucket": "lake"})
    )
    assert env["AIRFLOW__PLATFORM__ENVIRONMENT"] == "e2e"
    assert env["AIRFLOW__PLATFORM__DATA_LAKE_BUCKET"] == "lake"
    assert env["PLATFORM_SETTINGS_FILE"] == str(SETTINGS_FILE)
