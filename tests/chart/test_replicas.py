"""Each environment runs the replicas its overlay intends, per component."""

from __future__ import annotations

import pytest

from airflow_platform_ci.helm import ENVIRONMENTS

LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet")
EXPECTED = {
    "dev": {
        "Deployment/airflow-api-server": 1,
        "Deployment/airflow-scheduler": 1,
        "Deployment/airflow-dag-processor": 1,
        "Deployment/airflow-triggerer": 1,
        "Deployment/airflow-worker": 1,
        "Deployment/airflow-statsd": 1,
        "StatefulSet/airflow-redis": 1,
        "StatefulSet/airflow-postgresql": 1,
    },
    "staging": {
        "Deployment/airflow-api-server": 2,
        "Deployment/airflow-scheduler": 2,
        "Deployment/airflow-dag-processor": 1,
        "Deployment/airflow-triggerer": 1,
        "Deployment/airflow-worker": 2,
        "Deployment/airflow-pgbouncer": 2,
        "Deployment/airflow-statsd": 1,
        "StatefulSet/airflow-redis": 1,
    },
    "prod": {
        "Deployment/airflow-api-server": 3,
        "Deployment/airflow-scheduler": 2,
        "Deployment/airflow-dag-processor": 2,
        "Deployment/airflow-triggerer": 2,
        "Deployment/airflow-worker": 3,
        "Deployment/airflow-pgbouncer": 2,
        "Deployment/airflow-statsd": 1,
        "StatefulSet/airflow-redis": 1,
    },
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_replicas_per_component(env: str, rendered) -> None:
    workloads = [item for item in rendered(env).objects if item.kind in LONG_RUNNING]
    replicas = {item.ref: item.body["spec"].get("replicas", 1) for item in workloads}
    assert replicas == EXPECTED[env], f"rendered {replicas}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_autoscaler_overrides_the_replicas(env: str, rendered) -> None:
    kinds = {item.kind for item in rendered(env).objects}
    assert not kinds & {"HorizontalPodAutoscaler", "ScaledObject"}
