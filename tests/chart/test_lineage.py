"""OpenLineage as rendered: the endpoint from an optional Secret everywhere, the options in airflow.cfg."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_platform.lineage_settings import (
    API_KEY_VARIABLE,
    OPTION_PREFIX,
    URL_VARIABLE,
    openlineage_environment,
)
from airflow_platform.platform_settings import load_platform_settings
from airflow_platform_ci.helm import ENVIRONMENTS
from platform_devkit.chart.manifests import containers, embedded_pods, pod_spec
from platform_devkit.loopback.airflow_environment import SETTINGS_FILE

LINEAGE = load_platform_settings(SETTINGS_FILE).lineage
SECRET = "airflow-openlineage"
EXPECTED = {
    URL_VARIABLE: {"name": SECRET, "key": "url", "optional": True},
    API_KEY_VARIABLE: {"name": SECRET, "key": "api_key", "optional": True},
}
# (kind, object name, container) of every component that runs Airflow; "pod_template_file.yaml" is the
# KubernetesExecutor's task pod, carried in the airflow-config ConfigMap.
COMPONENTS = [
    ("Deployment", "airflow-api-server", "api-server"),
    ("Deployment", "airflow-scheduler", "scheduler"),
    ("Deployment", "airflow-dag-processor", "dag-processor"),
    ("Deployment", "airflow-triggerer", "triggerer"),
    ("Deployment", "airflow-worker", "worker"),
    ("Pod", "pod_template_file.yaml", "base"),
]


def _container(release, kind: str, name: str, container_name: str) -> dict[str, Any]:
    if kind == "Pod":
        (pod,) = [pod for pod in embedded_pods(release.objects) if pod.key == name]
        spec = pod.body["spec"]
    else:
        spec = pod_spec(release.get(kind, name).body) or {}
    (container,) = [c for _, c in containers(spec) if c["name"] == container_name]
    return container


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(("kind", "name", "container_name"), COMPONENTS, ids=[c[1] for c in COMPONENTS])
def test_the_component_reads_the_endpoint_from_the_optional_secret(
    env: str, kind: str, name: str, container_name: str, rendered
) -> None:
    entries = {e["name"]: e for e in _container(rendered(env), kind, name, container_name).get("env") or []}
    assert {variable: entries[variable]["valueFrom"]["secretKeyRef"] for variable in EXPECTED} == EXPECTED


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_reference_to_the_lineage_secret_is_optional(env: str, rendered) -> None:
    def references(node: object) -> list[dict[str, Any]]:
        if isinstance(node, dict):
            ref = node.get("secretKeyRef")
            own = [ref] if isinstance(ref, dict) and ref.get("name") == SECRET else []
            return own + [found for value in node.values() for found in references(value)]
        if isinstance(node, list):
            return [found for value in node for found in references(value)]
        return []

    objects = rendered(env).objects
    bodies = [item.body for item in objects] + [pod.body for pod in embedded_pods(objects)]
    found = [ref for body in bodies for ref in references(body)]
    assert len(found) >= 2 * len(COMPONENTS)
    assert all(ref.get("optional") is True for ref in found)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_airflow_cfg_has_the_platform_openlineage_section(env: str, rendered) -> None:
    section = dict(rendered(env).airflow_cfg["openlineage"])
    derived = {
        name.removeprefix(OPTION_PREFIX).lower(): value
        for name, value in openlineage_environment(LINEAGE).items()
        if name.startswith(OPTION_PREFIX)
    }
    assert section == derived


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_airflow_cfg_configures_no_transport(env: str, rendered) -> None:
    section = rendered(env).airflow_cfg["openlineage"]
    assert not {"transport", "config_path", "config_conn_id", "disabled"} & set(section)
