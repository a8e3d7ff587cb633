"""Pod overrides for tasks that run on the KubernetesExecutor: the one definition of a GPU training pod.

A DAG passes :func:`gpu_pod_override` as ``executor_config``; the executor merges it into the
chart's pod template (the ``base`` container), so the task's pod asks for the GPU, lands on a node
that has one and tolerates the GPU nodes' taint.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

GPU_RESOURCE = "nvidia.com/gpu"
GPU_NODES = {f"{GPU_RESOURCE}.present": "true"}
"""The label the NVIDIA GPU feature discovery puts on nodes that have a GPU."""


def gpu_pod_override(
    *, cpu: str, cpu_limit: str, memory: str, memory_limit: str, gpus: int = 1
) -> dict[str, Any]:
    """Return the ``executor_config`` that runs a task in a pod on a GPU node.

    Args:
        cpu: CPU request of the task container, e.g. ``"2"``.
        cpu_limit: CPU limit, e.g. ``"4"``.
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
                            limits={"cpu": cpu_limit, "memory": memory_limit, GPU_RESOURCE: str(gpus)},
                        ),
                    )
                ],
                node_selector=dict(GPU_NODES),
                tolerations=[k8s.V1Toleration(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule")],
            ),
        )
    }
