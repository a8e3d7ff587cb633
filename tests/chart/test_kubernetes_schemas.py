"""Every rendered object, and every pod manifest carried in a ConfigMap, is valid Kubernetes 1.33."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_platform_ci.commands import commands_for
from airflow_platform_ci.helm import ENVIRONMENTS
from platform_devkit.chart.manifests import K8sObject, embedded_pods
from platform_devkit.chart.validate import KUBERNETES_VERSION, validate_objects


def test_the_clusters_run_kubernetes_1_33() -> None:
    assert KUBERNETES_VERSION == "1.33"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_object_passes_strict_validation(env: str, rendered) -> None:
    release = rendered(env)
    assert len(release.objects) > 30
    problems = [str(problem) for problem in validate_objects(release.objects)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_pod_templates_inside_config_maps_are_validated_as_pods(env: str, rendered) -> None:
    refs = {pod.ref for pod in embedded_pods(rendered(env).objects)}
    assert refs == {"ConfigMap/airflow-config[pod_template_file.yaml]"}


def test_a_field_kubernetes_does_not_know_is_reported_with_its_object_and_path(rendered) -> None:
    deployment = rendered("prod").get("Deployment", "airflow-api-server")
    body = copy.deepcopy(deployment.body)
    body["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    problems = [str(problem) for problem in validate_objects([K8sObject(body)])]
    assert problems == [
        "Deployment/airflow-api-server: spec.template.spec.containers[0]: "
        "Additional properties are not allowed ('imagePullPolice' was unexpected)"
    ]


def test_a_bad_embedded_pod_template_is_reported(rendered) -> None:
    config_map = copy.deepcopy(rendered("prod").get("ConfigMap", "airflow-config").body)
    template = config_map["data"]["pod_template_file.yaml"]
    config_map["data"]["pod_template_file.yaml"] = template.replace("containers:", "containerz:", 1)
    problems = [str(problem) for problem in validate_objects([K8sObject(config_map)])]
    assert problems and all(
        p.startswith("ConfigMap/airflow-config[pod_template_file.yaml]: spec") for p in problems
    )


def _chart_check(*args: str, stdin: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "chart-check"
    return subprocess.run(
        [str(script), *args], input=stdin, capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_chart_check_passes_the_releases_as_the_pipeline_renders_and_checks_them(
    env: str, rendered, network_rendered, tmp_path: Path
) -> None:
    (command,) = [command for command in commands_for("chart") if command.step == f"chart-{env}"]
    assert command.argv[:3] == ("uv", "run", "chart-check")
    manifest = tmp_path / command.argv[-1]
    manifest.parent.mkdir(parents=True)
    manifest.write_text(rendered(env).manifest + network_rendered(env).manifest)
    result = _chart_check(*command.argv[3:], stdin="", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("no problems")
    objects = len(rendered(env).objects) + len(network_rendered(env).objects)
    assert f"{objects} objects and 1 embedded pod manifest against" in result.stdout
    assert "the required network paths" in result.stdout


def test_chart_check_lists_kind_name_path_and_fails(rendered) -> None:
    manifest = rendered("prod").manifest.replace("imagePullPolicy:", "imagePullPolice:", 1)
    result = _chart_check(stdin=manifest)
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert ": spec.template.spec" in first and "'imagePullPolice' was unexpected" in first
    assert first.split(":")[0].count("/") == 1
