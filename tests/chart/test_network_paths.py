"""The connections Airflow 3 needs survive the rendered NetworkPolicies (``networkPolicies.enabled``).

Evaluated, not string-matched: each required path (platform_devkit.chart.netpol.REQUIRED_PATHS) is
checked against the policies and pod labels the chart renders. The ingress controller is
ingress-nginx in the namespace ``ingress-nginx``; the scrapers run in the namespace ``monitoring``.
"""

from __future__ import annotations

import pytest

from airflow_platform_ci.helm import ENVIRONMENTS
from platform_devkit.chart.netpol import (
    INGRESS_CONTROLLER,
    MONITORING,
    REQUIRED_PATHS,
    Pods,
    cut_paths,
    evaluate,
    release_pods,
)

PATHS = [pytest.param(path, id=path.name) for path in REQUIRED_PATHS]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_network_policies_are_rendered(env: str, rendered) -> None:
    names = {item.name for item in rendered(env).of_kind("NetworkPolicy")}
    assert {"airflow-api-server-policy", "airflow-worker-policy", "airflow-statsd-policy"} <= names


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("path", PATHS)
def test_required_path_is_open(env: str, path, rendered, deployed) -> None:
    problems = [str(problem) for problem in cut_paths(deployed(env), rendered(env).namespace, [path])]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_log_servers_are_open_only_through_the_network_release(env: str, rendered, deployed) -> None:
    log_paths = [path for path in REQUIRED_PATHS if path.name.endswith("-logs")]
    alone = [str(problem) for problem in cut_paths(rendered(env).objects, rendered(env).namespace, log_paths)]
    assert len(alone) == len(log_paths), "chart 1.21.0 alone admits only the Airflow 2 webserver"
    assert all("helm/network-policies" in line for line in alone)
    assert cut_paths(deployed(env), rendered(env).namespace, log_paths) == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_api_server_admits_nothing_else(env: str, rendered) -> None:
    release = rendered(env)
    pods = release_pods(release.objects, release.namespace)
    (api_server,) = pods["api-server"]
    port = api_server.ports["api-server"]
    outsider = Pods("a pod in another namespace", "elsewhere", {"tier": "airflow", "component": "worker"})
    other_ingress_pod = Pods("another pod of ingress-nginx", "ingress-nginx", {"app.kubernetes.io/name": "x"})
    for source in (outsider, other_ingress_pod, *pods["scheduler"], *pods["statsd"]):
        assert not evaluate(release.objects, source, api_server, port).allowed, source.name
    assert not evaluate(release.objects, INGRESS_CONTROLLER.pods(), api_server, port + 1).allowed


def test_monitoring_reaches_the_exporters_only(rendered) -> None:
    release = rendered("prod")
    pods = release_pods(release.objects, release.namespace)
    scraper = MONITORING.pods()
    for component, port in (("api-server", "api-server"), ("worker", "worker-logs")):
        (target,) = pods[component]
        assert not evaluate(release.objects, scraper, target, target.ports[port]).allowed, component


def test_cutting_the_api_server_ingress_names_the_path_and_the_values_key(render_with_values) -> None:
    release = render_with_values("prod", {"apiServer": {"networkPolicy": {"ingress": {"from": []}}}})
    problems = [str(problem) for problem in cut_paths(release.objects, release.namespace)]
    cut = [line for line in problems if "api-server (8080/TCP)" in line]
    assert len(cut) == 3
    assert any("required network path ingress->api-server is cut" in line for line in cut)
    assert all(line.endswith("opened by apiServer.networkPolicy.ingress.from") for line in cut)


def test_removing_the_monitoring_peer_names_the_statsd_key(render_with_values) -> None:
    release = render_with_values("staging", {"statsd": {"extraNetworkPolicies": []}})
    problems = [str(problem) for problem in cut_paths(release.objects, release.namespace)]
    assert any(
        "required network path monitoring->statsd-metrics is cut" in line
        and line.endswith("opened by statsd.extraNetworkPolicies")
        for line in problems
    )
