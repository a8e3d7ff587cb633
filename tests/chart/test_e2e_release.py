"""The release `dagger call e2e` installs into k3s: dev plus values-e2e.yaml, as the e2e function plans it."""

from __future__ import annotations

import json

import pytest

from airflow_platform_ci import helm, k3s, main
from platform_devkit import ephemeral_secrets
from platform_devkit.chart.netpol import cut_paths
from platform_devkit.chart.render import RenderedRelease, render_argv
from platform_devkit.chart.validate import validate_objects
from platform_devkit.repository import REPO_ROOT


@pytest.fixture(scope="module")
def e2e_plan(deploy_plan) -> helm.DeployPlan:
    """The plan of the e2e release: dev with the preloaded image, its namespace and values-e2e.yaml."""
    return deploy_plan(
        "dev", image=k3s.E2E_IMAGE, namespace=main.E2E_NAMESPACE, extra_values=(helm.E2E_VALUES,)
    )


@pytest.fixture(scope="module")
def e2e_release(chart, e2e_plan: helm.DeployPlan) -> RenderedRelease:
    """The e2e release rendered from the argv of its ``helm upgrade --install``."""
    return render_argv(chart, helm.upgrade_argv(e2e_plan), REPO_ROOT)


def test_every_object_is_valid(e2e_release: RenderedRelease) -> None:
    assert [str(problem) for problem in validate_objects(e2e_release.objects)] == []


def test_the_pods_run_the_preloaded_image_and_never_pull_it(e2e_release: RenderedRelease) -> None:
    scheduler = e2e_release.get("Deployment", "airflow-scheduler").body["spec"]["template"]["spec"]
    (container,) = [c for c in scheduler["containers"] if c["name"] == "scheduler"]
    assert container["image"] == k3s.E2E_IMAGE
    assert container["imagePullPolicy"] == "Never"


def test_the_api_server_is_on_the_smoke_tests_node_port(e2e_release: RenderedRelease) -> None:
    service = e2e_release.get("Service", "airflow-api-server").body["spec"]
    assert service["type"] == "NodePort"
    assert [port["nodePort"] for port in service["ports"]] == [k3s.API_SERVER_NODE_PORT]


def test_the_dag_processor_reads_the_dags_the_image_ships(e2e_release: RenderedRelease) -> None:
    (bundle,) = json.loads(e2e_release.airflow_cfg["dag_processor"]["dag_bundle_config_list"])
    assert bundle["kwargs"] == {"path": "/opt/airflow/dags"}
    assert (REPO_ROOT / "dags" / f"{main.SMOKE_DAG}.py").is_file()


def test_the_network_paths_airflow_needs_stay_open(
    e2e_release: RenderedRelease, network_chart, e2e_plan: helm.DeployPlan
) -> None:
    network = render_argv(network_chart, helm.network_upgrade_argv(e2e_plan), REPO_ROOT)
    objects = [*e2e_release.objects, *network.objects]
    assert [str(problem) for problem in cut_paths(objects, e2e_release.namespace)] == []


def referenced_secrets(release: RenderedRelease, *, optional: bool = False) -> set[tuple[str, str | None]]:
    """Every (Secret, key) the release's pods need; key ``None`` for a whole Secret (volume, envFrom).

    With ``optional``, the ones they read only if present (``optional: true``) instead.
    """
    found: set[tuple[str, str | None]] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            reference: tuple[dict, str | None] | None = None
            if "secretKeyRef" in node:
                reference = (node["secretKeyRef"], node["secretKeyRef"]["key"])
            elif "secretRef" in node:
                reference = (node["secretRef"], None)
            elif "secret" in node and isinstance(node["secret"], dict) and "secretName" in node["secret"]:
                reference = ({**node["secret"], "name": node["secret"]["secretName"]}, None)
            if reference and bool(reference[0].get("optional")) == optional:
                found.add((reference[0]["name"], reference[1]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for item in release.objects:
        if item.kind != "Secret":
            walk(item.body)
    return found


def test_ephemeral_secrets_satisfy_every_secret_the_e2e_release_reads(e2e_release: RenderedRelease) -> None:
    listed = ephemeral_secrets.manifests("dev", e2e_release.namespace, ephemeral_secrets.generate())
    generated = {item["metadata"]["name"]: set(item["stringData"]) for item in listed["items"]}
    rendered_secrets = {item.name for item in e2e_release.of_kind("Secret")}
    read = referenced_secrets(e2e_release)
    assert {("airflow-dev-admin", "password"), ("airflow-metadata", "connection")} <= read
    missing = sorted(
        f"{name}[{key}]" if key else name
        for name, key in read
        if name not in rendered_secrets and (name not in generated or (key and key not in generated[name]))
    )
    assert missing == []


def test_the_e2e_release_needs_no_lineage_secret(e2e_release: RenderedRelease) -> None:
    # ephemeral-secrets creates no airflow-openlineage: the release reads it only if present, so the
    # e2e release runs with lineage off.
    assert referenced_secrets(e2e_release, optional=True) == {
        ("airflow-openlineage", "url"),
        ("airflow-openlineage", "api_key"),
    }
    listed = ephemeral_secrets.manifests("dev", e2e_release.namespace, ephemeral_secrets.generate())
    assert "airflow-openlineage" not in {item["metadata"]["name"] for item in listed["items"]}
