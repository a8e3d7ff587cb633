"""PodDisruptionBudgets and topology spread constraints select the pods they are meant for, and no others.

Rendered and compared: a selector is matched against the pod labels of every rendered workload and
of the KubernetesExecutor pod template (task pods are real pods in the namespace).
"""

from __future__ import annotations

import pytest

from airflow_platform_ci.helm import ENVIRONMENTS
from platform_devkit.chart.manifests import embedded_pods, pod_labels, pod_spec
from platform_devkit.chart.netpol import POD_TEMPLATE_KEY, selector_matches

TASK_PODS = f"ConfigMap/airflow-config[{POD_TEMPLATE_KEY}]"
CHART_FIXED_OVERLAPS = {"PodDisruptionBudget/airflow-worker-pdb": {TASK_PODS}}
"""Chart 1.21.0 hard-codes the worker PDB selector (tier, component=worker, release), and task pods
carry the same labels: no value changes either. Any other overlap is a mistake."""
HA_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "worker", "pgbouncer")


def _pod_sets(release) -> dict[str, dict[str, str]]:
    pods = {
        item.ref: pod_labels(item.body)
        for item in release.objects
        if pod_spec(item.body) is not None and item.kind != "Pod"
    }
    for pod in embedded_pods(release.objects):
        if pod.key == POD_TEMPLATE_KEY:
            pods[pod.ref] = dict(pod.body["metadata"].get("labels") or {})
    return pods


def _selected(selector: dict, pods: dict[str, dict[str, str]]) -> set[str]:
    return {ref for ref, labels in pods.items() if selector_matches(selector, labels)}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_disruption_budget_selects_exactly_its_workload(env: str, rendered) -> None:
    release = rendered(env)
    pods = _pod_sets(release)
    for budget in release.of_kind("PodDisruptionBudget"):
        workload_name = budget.name.removesuffix("-pdb")
        (meant_for,) = [ref for ref in pods if ref.split("/", 1)[1] == workload_name]
        selected = _selected(budget.body["spec"]["selector"], pods)
        assert meant_for in selected, f"{budget.ref} does not select {meant_for}"
        assert selected - {meant_for} == CHART_FIXED_OVERLAPS.get(budget.ref, set()), budget.ref


def test_prod_has_a_disruption_budget_for_every_ha_component(rendered) -> None:
    release = rendered("prod")
    budgets = {item.name for item in release.of_kind("PodDisruptionBudget")}
    assert budgets == {f"airflow-{component}-pdb" for component in HA_COMPONENTS}
    for name in budgets:
        assert release.get("PodDisruptionBudget", name).body["spec"].get("maxUnavailable") == 1, name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_topology_spread_constraint_selects_exactly_its_own_pods(env: str, rendered) -> None:
    release = rendered(env)
    pods = _pod_sets(release)
    checked = 0
    for item in release.objects:
        spec = pod_spec(item.body)
        for constraint in (spec or {}).get("topologySpreadConstraints") or []:
            selected = _selected(constraint["labelSelector"], pods)
            assert selected == {item.ref}, (
                f"{item.ref} {constraint['topologyKey']}: selects {sorted(selected)}"
            )
            checked += 1
    if env == "prod":
        assert checked == 8  # api-server and scheduler by zone and host; 4 more components by host


def test_prod_spreads_every_ha_component_across_nodes(rendered) -> None:
    release = rendered("prod")
    for component in HA_COMPONENTS:
        spec = pod_spec(release.get("Deployment", f"airflow-{component}").body)
        keys = {constraint["topologyKey"] for constraint in spec.get("topologySpreadConstraints") or []}
        assert "kubernetes.io/hostname" in keys, component
