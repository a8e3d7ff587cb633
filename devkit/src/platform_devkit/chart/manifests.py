"""Rendered manifests as Kubernetes objects, and the pod specs inside them.

Accepts what ``helm template`` prints (``---``-separated documents, each after a
``# Source: <template>`` comment) or what ``helm_python.Chart.render`` returns (template path to
text). Empty documents and ``NOTES.txt`` are not objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

from platform_devkit.chart.errors import ChartUsageError

_DOCUMENT_SEPARATOR: Final = re.compile(r"^---[ \t]*$", re.MULTILINE)
_SOURCE: Final = re.compile(r"^# Source: (?P<template>\S+)", re.MULTILINE)
HOOK_ANNOTATION: Final = "helm.sh/hook"
WORKLOAD_KINDS: Final = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})


@dataclass(frozen=True)
class K8sObject:
    """One rendered Kubernetes object.

    Attributes:
        body: The object as parsed YAML.
        template: The chart template it came from (``""`` when unknown).
    """

    body: dict[str, Any]
    template: str = ""

    @property
    def kind(self) -> str:
        """The object's ``kind``."""
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        """The object's ``metadata.name``."""
        return str((self.body.get("metadata") or {}).get("name", ""))

    @property
    def ref(self) -> str:
        """``Kind/name``, how problems name the object."""
        return f"{self.kind}/{self.name}"

    @property
    def annotations(self) -> dict[str, str]:
        """The object's ``metadata.annotations`` (empty when absent)."""
        return dict((self.body.get("metadata") or {}).get("annotations") or {})

    @property
    def is_hook(self) -> bool:
        """Whether Helm treats the object as a hook (applied around the release, not in it)."""
        return HOOK_ANNOTATION in self.annotations


def _documents(text: str, template: str) -> Iterator[K8sObject]:
    for chunk in _DOCUMENT_SEPARATOR.split(text):
        source = _SOURCE.search(chunk)
        origin = source["template"] if source else template
        if origin.endswith("NOTES.txt"):
            continue
        try:
            body = yaml.safe_load(chunk)
        except yaml.YAMLError as error:
            raise ChartUsageError(f"{origin or 'input'}: not valid YAML: {error}") from error
        if body is None:
            continue
        if not isinstance(body, dict) or "kind" not in body:
            raise ChartUsageError(f"{origin or 'input'}: a document that is not a Kubernetes object")
        yield K8sObject(body, origin)


def split_manifests(rendered: str | Mapping[str, str]) -> list[K8sObject]:
    """Split rendered output into objects, skipping empty documents and ``NOTES.txt``.

    Args:
        rendered: ``helm template`` output, or ``Chart.render``'s mapping of template path to text.

    Returns:
        The objects in order.

    Raises:
        ChartUsageError: a document is not valid YAML or not a Kubernetes object.
    """
    if isinstance(rendered, str):
        return list(_documents(rendered, ""))
    objects: list[K8sObject] = []
    for template in sorted(rendered):
        if not template.endswith("NOTES.txt"):
            objects.extend(_documents(rendered[template], template))
    return objects


def helm_template_text(rendered: Mapping[str, str]) -> str:
    """Print rendered templates as ``helm template`` does: each document after ``---`` and its source.

    Args:
        rendered: ``Chart.render``'s mapping of template path to text.

    Returns:
        The multi-document YAML text (``NOTES.txt`` and empty documents left out).
    """
    documents = []
    for template in sorted(rendered):
        if template.endswith("NOTES.txt"):
            continue
        for chunk in _DOCUMENT_SEPARATOR.split(rendered[template]):
            body = "\n".join(line for line in chunk.splitlines() if not line.startswith("# Source:")).strip()
            if body and yaml.safe_load(body) is not None:
                documents.append(f"---\n# Source: {template}\n{body}\n")
    return "".join(documents)


def _pod_template(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod an object describes (``metadata``, ``spec``): a Pod itself, else its (job's) pod template."""
    if body.get("kind") == "Pod":
        return body
    spec = body.get("spec") or {}
    if body.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return spec.get("template") or {}


def pod_spec(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return the pod spec an object runs: its own (a Pod), its template's, or its job template's."""
    kind = body.get("kind")
    if kind == "Pod":
        return body.get("spec") or {}
    if kind == "CronJob" or kind in WORKLOAD_KINDS:
        return _pod_template(body).get("spec")
    return None


def pod_labels(body: Mapping[str, Any]) -> dict[str, str]:
    """Return the labels of the pods an object runs (a Pod's own labels, or its pod template's)."""
    return dict((_pod_template(body).get("metadata") or {}).get("labels") or {})


def containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(field, container)`` for every container of a pod spec, init and ephemeral ones included."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or []:
            yield field, container


@dataclass(frozen=True)
class EmbeddedPod:
    """A pod manifest carried as text inside a ConfigMap (a pod template or a pod override).

    Attributes:
        config_map: The ConfigMap that carries it.
        key: The ConfigMap data key (e.g. ``pod_template_file.yaml``).
        body: The parsed pod.
    """

    config_map: K8sObject
    key: str
    body: dict[str, Any]

    @property
    def ref(self) -> str:
        """``ConfigMap/name[key]``, how problems name the pod."""
        return f"{self.config_map.ref}[{self.key}]"


def embedded_pods(objects: list[K8sObject]) -> list[EmbeddedPod]:
    """Return every pod manifest embedded as YAML text in a ConfigMap's ``data``.

    The chart carries the KubernetesExecutor ``pod_template_file.yaml`` in its airflow ConfigMap;
    pod overrides ride in ConfigMaps too. A data value counts when it parses as YAML to a mapping
    with ``kind: Pod``.
    """
    found = []
    for item in objects:
        if item.kind != "ConfigMap":
            continue
        for key, text in sorted((item.body.get("data") or {}).items()):
            if not isinstance(text, str) or "kind" not in text:
                continue
            try:
                parsed = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if isinstance(parsed, dict) and parsed.get("kind") == "Pod":
                found.append(EmbeddedPod(item, key, parsed))
    return found
