"""Pod overrides for tasks that run on the KubernetesExecutor (GPU training)."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

GPU_RESOURCE = "nvidia.com/gpu"


def gpu_pod_override(*, cpu: str, memory: str, memory_limit: str, gpus: int = 1) -> dict[str, Any]:
    """Return the ``executor_config`` that runs a task in a pod on a GPU node.

    Args:
        cpu: CPU request of the task container, e.g. ``"2"``.
        memory: Memory request, e.g. ``"4Gi"``.
        memory_limit: Memory limit, e.g. ``"8Gi"``.
        gpus: GPUs requested and limited.
    """
    return {
        "pod_override": k8s.V1Pod(
            spec=k8s.V1PodSpec(
                containers=[
                    k8s.V1Container(
                        name="base",
                        resources=k8s.V1ResourceRequirements(
                            requests={"cpu": cpu, "memory": memory, GPU_RESOURCE: str(gpus)},
                            limits={"memory": memory_limit, GPU_RESOURCE: str(gpus)},
                        ),
                    )
                ],
                node_selector={f"{GPU_RESOURCE}.present": "true"},
                tolerations=[k8s.V1Toleration(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule")],
            )
        )
    }
