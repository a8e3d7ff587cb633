"""RBAC through the public REST API with FAB-issued JWTs: who may read, trigger and administer."""

from __future__ import annotations

import secrets

from airflow_platform.platform_settings import load_platform_settings
from platform_devkit.loopback.airflow_environment import SETTINGS_FILE
from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.s3 import S3Service

READ_DAG = "e2e_long_run"


def test_unauthenticated_requests_get_401(airflow_platform: LoopbackAirflow) -> None:
    with airflow_platform.api.http(None) as anonymous:
        assert anonymous.get("/api/v2/dags").status_code == 401
        assert anonymous.get("/api/v2/variables").status_code == 401
        # A token Airflow did not sign is refused too (Airflow answers 403 "Invalid JWT token").
        forged = {"Authorization": f"Bearer {secrets.token_hex(32)}"}
        assert anonymous.get("/api/v2/dags", headers=forged).status_code == 403


def test_wrong_password_gets_no_token(airflow_platform: LoopbackAirflow) -> None:
    with airflow_platform.api.http(None) as anonymous:
        response = anonymous.post(
            "/auth/token", json={"username": airflow_platform.users["Viewer"].username, "password": "wrong"}
        )
    assert response.status_code == 401


def test_viewer_reads_dags_but_cannot_trigger_or_read_variables(airflow_platform: LoopbackAirflow) -> None:
    airflow_platform.api.wait_for_dag(READ_DAG)
    with airflow_platform.api.http("Viewer") as viewer:
        dags = viewer.get("/api/v2/dags", params={"limit": 100})
        assert dags.status_code == 200
        assert READ_DAG in {dag["dag_id"] for dag in dags.json()["dags"]}
        assert viewer.get(f"/api/v2/dags/{READ_DAG}").status_code == 200
        trigger = viewer.post(f"/api/v2/dags/{READ_DAG}/dagRuns", json={"logical_date": None})
        assert trigger.status_code == 403
        assert viewer.get("/api/v2/variables").status_code == 403
        assert viewer.get("/api/v2/variables/environment").status_code == 403
        assert viewer.post("/api/v2/pools", json={"name": "viewer_pool", "slots": 1}).status_code == 403


def test_op_can_trigger_a_dag(airflow_platform: LoopbackAirflow) -> None:
    airflow_platform.api.wait_for_dag(READ_DAG)
    run_id = airflow_platform.api.trigger(READ_DAG, role="Op")
    with airflow_platform.api.http("Op") as op:
        run = op.get(f"/api/v2/dags/{READ_DAG}/dagRuns/{run_id}")
        assert run.status_code == 200
        # The run is not needed: cancel it so it does not compete with the other tests.
        patched = op.patch(f"/api/v2/dags/{READ_DAG}/dagRuns/{run_id}", json={"state": "failed"})
        assert patched.status_code == 200


def test_user_role_can_trigger_but_not_manage_pools(airflow_platform: LoopbackAirflow) -> None:
    with airflow_platform.api.http("User") as user:
        assert user.get("/api/v2/dags").status_code == 200
        assert user.post("/api/v2/pools", json={"name": "user_pool", "slots": 1}).status_code == 403


def test_admin_manages_pools(airflow_platform: LoopbackAirflow) -> None:
    name = f"e2e_pool_{secrets.token_hex(3)}"
    with airflow_platform.api.http("Admin") as admin:
        created = admin.post("/api/v2/pools", json={"name": name, "slots": 3, "description": "e2e"})
        assert created.status_code == 201, created.text
        updated = admin.patch(
            f"/api/v2/pools/{name}",
            json={"pool": name, "slots": 5, "description": "e2e", "include_deferred": False},
        )
        assert updated.status_code == 200, updated.text
        assert admin.get(f"/api/v2/pools/{name}").json()["slots"] == 5
        assert admin.delete(f"/api/v2/pools/{name}").status_code == 204
        assert admin.get(f"/api/v2/pools/{name}").status_code == 404


def test_platform_settings_are_applied(airflow_platform: LoopbackAirflow) -> None:
    settings = load_platform_settings(SETTINGS_FILE)
    with airflow_platform.api.http("Admin") as admin:
        pools = {pool["name"]: pool["slots"] for pool in admin.get("/api/v2/pools").json()["pools"]}
        variables = admin.get("/api/v2/variables", params={"limit": 100}).json()["variables"]
        connections = admin.get("/api/v2/connections", params={"limit": 100}).json()["connections"]
    assert {name: spec.slots for name, spec in settings.pools.items()}.items() <= pools.items()
    assert set(settings.variables) <= {variable["key"] for variable in variables}
    # Every declared connection except the Kubeflow Pipelines API, which needs a cluster.
    declared = set(settings.connections) - {"kubeflow_default"}
    applied = {conn["connection_id"]: conn["conn_type"] for conn in connections}
    assert declared <= set(applied)
    assert all(applied[conn_id] == settings.connections[conn_id].conn_type for conn_id in declared)


def test_the_platform_section_gives_the_variables_their_deployment_values(
    airflow_platform: LoopbackAirflow, s3: S3Service
) -> None:
    # The fixture sets [platform] as a Helm overlay does; platform-settings applied it.
    with airflow_platform.api.http("Admin") as admin:
        environment = admin.get("/api/v2/variables/environment").json()["value"]
        bucket = admin.get("/api/v2/variables/data_lake_bucket").json()["value"]
    assert (environment, bucket) == ("e2e", s3.bucket)


def test_ml_engineer_role_exists_with_its_permissions(airflow_platform: LoopbackAirflow) -> None:
    with airflow_platform.api.http("MLEngineer") as engineer:
        assert engineer.get("/api/v2/variables").status_code == 200
        assert engineer.get("/api/v2/connections").status_code == 200
        assert engineer.post("/api/v2/pools", json={"name": "ml_pool", "slots": 1}).status_code == 403
