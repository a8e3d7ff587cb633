"""The container images a rendered release runs, and which of them are not pinned by digest.

Counted: every container of every pod spec (init containers and sidecars included), every pod
manifest carried in a ConfigMap (the KubernetesExecutor pod template), and the task-pod image
airflow.cfg names (``[kubernetes_executor] worker_container_repository:worker_container_tag``), which
the executor sets on every task pod.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterator, Sequence
from typing import Final

from platform_devkit.chart.manifests import K8sObject, containers, embedded_pods, pod_spec
from platform_devkit.chart.validate import Problem

BY_DIGEST: Final = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
"""``repository[:tag]@sha256:<64 hex>``: what a runtime pulls by digest (the tag is then ignored)."""


def image_references(objects: Sequence[K8sObject]) -> Iterator[tuple[str, str, str]]:
    """Yield ``(object, field, image)`` for every image the release runs.

    Args:
        objects: The rendered release.
    """
    for item in objects:
        for field, container in containers(pod_spec(item.body) or {}):
            yield item.ref, f"{field}[{container.get('name')}].image", str(container.get("image", ""))
    for pod in embedded_pods(list(objects)):
        for field, container in containers(pod.body.get("spec") or {}):
            if "image" in container:  # a pod override may leave the image to the pod template
                yield pod.ref, f"spec.{field}[{container.get('name')}].image", str(container["image"])
    for item in objects:
        text = (item.body.get("data") or {}).get("airflow.cfg") if item.kind == "ConfigMap" else None
        if not isinstance(text, str):
            continue
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read_string(text)
        if parser.has_option("kubernetes_executor", "worker_container_repository"):
            executor = parser["kubernetes_executor"]
            image = f"{executor['worker_container_repository']}:{executor.get('worker_container_tag', '')}"
            yield item.ref, "data.airflow.cfg[kubernetes_executor].worker_container_*", image


def unpinned_images(objects: Sequence[K8sObject]) -> list[Problem]:
    """Return a problem for every image of the release that is not pinned by digest."""
    return [
        Problem(ref, field, f"image {image!r} is not pinned by digest")
        for ref, field, image in image_references(objects)
        if not BY_DIGEST.match(image)
    ]
