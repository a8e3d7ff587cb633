"""The NetworkPolicy evaluator follows the Kubernetes semantics the required-paths check relies on."""

from __future__ import annotations

import pytest

from platform_devkit.chart.manifests import K8sObject
from platform_devkit.chart.netpol import (
    INGRESS_CONTROLLER,
    Pods,
    RequiredPath,
    cut_paths,
    evaluate,
    selector_matches,
)

API = Pods("api", "ns", {"component": "api-server"}, ports={"api-server": 8080})
WORKER = Pods("worker", "ns", {"component": "worker"})
NGINX = Pods("nginx", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})


def policy(spec: dict, namespace: str = "ns") -> K8sObject:
    """A NetworkPolicy named ``p`` in ``namespace`` with ``spec``."""
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p"},
        "spec": spec,
    }
    body["metadata"]["namespace"] = namespace
    return K8sObject(body)


def ingress(*rules: dict) -> K8sObject:
    """A NetworkPolicy of the api-server's pods allowing exactly the ingress ``rules``."""
    return policy({"podSelector": {"matchLabels": {"component": "api-server"}}, "ingress": list(rules)})


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {"a": "1"}, True),
        (None, {"a": "1"}, False),
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "1"}, False),
    ],
)
def test_label_selectors(selector, labels, expected) -> None:
    assert selector_matches(selector, labels) is expected


def test_a_pod_no_policy_selects_is_open() -> None:
    assert evaluate([], WORKER, API, 8080).allowed


def test_a_selected_pod_without_rules_is_closed() -> None:
    verdict = evaluate([ingress()], WORKER, API, 8080)
    assert not verdict.allowed
    assert "NetworkPolicy/p isolates api for ingress and no rule admits worker" in verdict.reason


def test_a_pod_selector_peer_admits_its_namespace_only() -> None:
    rule = {"from": [{"podSelector": {"matchLabels": {"component": "worker"}}}], "ports": [{"port": 8080}]}
    assert evaluate([ingress(rule)], WORKER, API, 8080).allowed
    elsewhere = Pods("worker elsewhere", "other", {"component": "worker"})
    assert not evaluate([ingress(rule)], elsewhere, API, 8080).allowed
    assert not evaluate([ingress(rule)], WORKER, API, 8081).allowed


def test_namespace_and_pod_selector_in_one_peer_must_both_match() -> None:
    peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
    }
    policies = [ingress({"from": [peer]})]
    assert evaluate(policies, NGINX, API, 8080).allowed
    assert not evaluate(policies, Pods("other", "ingress-nginx", {}), API, 8080).allowed
    assert not evaluate(policies, Pods("same labels", "default", NGINX.labels), API, 8080).allowed


def test_named_ports_udp_and_port_ranges() -> None:
    named = ingress({"ports": [{"port": "api-server"}]})
    assert evaluate([named], WORKER, API, 8080).allowed
    assert not evaluate([ingress({"ports": [{"port": 8080, "protocol": "UDP"}]})], WORKER, API, 8080).allowed
    assert evaluate([ingress({"ports": [{"port": 8000, "endPort": 8100}]})], WORKER, API, 8080).allowed


def test_ip_blocks_never_match_pods() -> None:
    assert not evaluate([ingress({"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]})], WORKER, API, 8080).allowed


def test_egress_isolation_of_the_source_counts_too() -> None:
    deny = policy({"podSelector": {"matchLabels": {"component": "worker"}}, "policyTypes": ["Egress"]})
    verdict = evaluate([deny], WORKER, API, 8080)
    assert not verdict.allowed and "for egress" in verdict.reason


def test_policies_of_another_namespace_do_not_apply() -> None:
    assert evaluate([policy({"podSelector": {}}, namespace="other")], WORKER, API, 8080).allowed


def test_policies_without_a_namespace_live_in_the_release_namespace() -> None:
    # As `helm template` prints the chart's policies: no metadata.namespace. This one isolates every
    # pod of the release for egress, not the ingress controller's pods in their own namespace.
    deny_egress = policy({"podSelector": {}, "policyTypes": ["Egress"]})
    del deny_egress.body["metadata"]["namespace"]
    container = {"name": "api-server", "ports": [{"name": "api-server", "containerPort": 8080}]}
    template = {"metadata": {"labels": {"component": "api-server"}}, "spec": {"containers": [container]}}
    api_server = K8sObject(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api"},
            "spec": {"template": template},
        }
    )
    path = RequiredPath("ingress->api-server", INGRESS_CONTROLLER, "api-server", "api-server", "a.key")
    assert cut_paths([api_server, deny_egress], "ns", [path]) == []
    assert evaluate([deny_egress], INGRESS_CONTROLLER.pods(), API, 8080, namespace="ns").allowed
    assert not evaluate([deny_egress], WORKER, API, 8080, namespace="ns").allowed
