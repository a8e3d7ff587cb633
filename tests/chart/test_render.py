"""The renderer follows the deploy's command line: the same argv, the same release, names and namespace."""

from __future__ import annotations

from airflow_platform_ci import helm
from platform_devkit.chart.netpol import REQUIRED_PATHS, cut_paths
from platform_devkit.chart.render import render_argv
from platform_devkit.repository import REPO_ROOT


def test_helm_template_and_helm_upgrade_render_the_same_release(chart, deploy_plan, rendered) -> None:
    plan = deploy_plan("prod")
    templated = render_argv(chart, helm.template_argv(plan), REPO_ROOT)
    assert [item.body for item in templated.objects] == [item.body for item in rendered("prod").objects]
    assert not templated.invocation.wait and rendered("prod").invocation.wait


def test_the_release_name_and_namespace_come_from_the_command_line(chart, deploy_plan) -> None:
    plan = deploy_plan("staging", release="platform", namespace="data-staging")
    release = render_argv(chart, helm.upgrade_argv(plan), REPO_ROOT)
    assert "Deployment/platform-api-server" in {item.ref for item in release.objects}
    assert "ConfigMap/platform-config" in {item.ref for item in release.objects}
    assert release.airflow_cfg["kubernetes_executor"]["namespace"] == "data-staging"


def test_the_network_paths_do_not_depend_on_the_release_name(chart, network_chart, deploy_plan) -> None:
    plan = deploy_plan("prod", release="platform")
    release = render_argv(chart, helm.upgrade_argv(plan), REPO_ROOT)
    network = render_argv(network_chart, helm.network_upgrade_argv(plan), REPO_ROOT)
    objects = [*release.objects, *network.objects]
    assert [str(problem) for problem in cut_paths(objects, release.namespace, REQUIRED_PATHS)] == []


def test_the_deploy_files_and_flags_reach_the_values(rendered) -> None:
    values = rendered("prod").values
    assert values["apiServer"]["replicas"] == 3  # values-prod.yaml over values.yaml
    api_server_config = (REPO_ROOT / helm.API_SERVER_CONFIG).read_text()
    assert values["apiServer"]["apiServerConfig"] == api_server_config  # --set-file
    assert values["images"]["airflow"]["digest"].startswith("sha256:")  # --set-string
