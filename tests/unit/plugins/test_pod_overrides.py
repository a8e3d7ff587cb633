"""The GPU training pod override: one definition, a valid Kubernetes pod with requests and limits."""

from __future__ import annotations

from kubernetes.client import ApiClient

from airflow_platform.pod_overrides import GPU_NODES, GPU_RESOURCE, gpu_pod_override
from platform_devkit.chart.manifests import K8sObject
from platform_devkit.chart.validate import validate_objects


def serialized() -> dict:
    pod = gpu_pod_override(cpu="2", cpu_limit="4", memory="4Gi", memory_limit="8Gi")["pod_override"]
    return {"apiVersion": "v1", "kind": "Pod", **ApiClient().sanitize_for_serialization(pod)}


def test_the_override_is_a_valid_pod_for_kubernetes_1_33() -> None:
    body = serialized()
    body["metadata"] = {"name": "gpu-training"}
    assert [str(problem) for problem in validate_objects([K8sObject(body)])] == []


def test_the_base_container_asks_for_and_is_limited_to_the_gpu() -> None:
    (container,) = serialized()["spec"]["containers"]
    assert container["name"] == "base", "the executor merges the override into the template's base container"
    resources = container["resources"]
    assert resources["requests"] == {"cpu": "2", "memory": "4Gi", GPU_RESOURCE: "1"}
    assert resources["limits"] == {"cpu": "4", "memory": "8Gi", GPU_RESOURCE: "1"}


def test_the_pod_lands_on_gpu_nodes_and_tolerates_their_taint() -> None:
    spec = serialized()["spec"]
    assert spec["nodeSelector"] == GPU_NODES
    assert spec["tolerations"] == [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
