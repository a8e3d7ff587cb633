"""Strict validation of rendered objects against the Kubernetes API schemas of one version.

The schemas are the strict ones ``kubernetes-validate`` bundles (an unknown field is an error, as
``kubectl apply --validate=strict`` would report it); the version is the clusters' Kubernetes
(:data:`KUBERNETES_VERSION`). Pod manifests embedded in ConfigMaps (the KubernetesExecutor pod
template, pod overrides) are validated as Pods too: the API server never sees them, the executor does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import jsonschema
import referencing
import referencing.jsonschema
from kubernetes_validate import utils as k8s_schemas

from platform_devkit.chart.manifests import K8sObject, embedded_pods
from platform_devkit.helm_values import dotted

KUBERNETES_VERSION: Final = "1.33"
"""The Kubernetes minor version our clusters run (the e2e tier's k3s is v1.33 too)."""


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about one object.

    Attributes:
        ref: ``Kind/name`` of the object (``ConfigMap/name[key]`` for an embedded pod).
        path: The dotted field path inside it (``""`` for the object as a whole).
        message: What is wrong.
    """

    ref: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.ref}: {self.path or '(object)'}: {self.message}"


def schema_version(version: str = KUBERNETES_VERSION) -> str:
    """Return the bundled schema version for a Kubernetes minor version (``1.33`` -> ``1.33.0``).

    Raises:
        LookupError: ``kubernetes-validate`` bundles no schema for that minor version.
    """
    for candidate in k8s_schemas.all_versions():
        if k8s_schemas.major_minor(candidate) == version:
            return candidate
    raise LookupError(f"kubernetes-validate bundles no schema for Kubernetes {version}")


def _schema_name(api_version: str, kind: str) -> str:
    group_version = api_version.split("/")
    if len(group_version) == 1:
        return f"{kind.lower()}-{group_version[0]}.json"
    group = group_version[0].split(".", 1)[0]
    return f"{kind.lower()}-{group}-{group_version[1]}.json"


@cache
def _registry(version: str) -> referencing.Registry:
    directory = f"kubernetes-json-schema/v{version}-local-strict"
    definitions = k8s_schemas.schema_contents(f"{directory}/_definitions.json", version)
    return referencing.jsonschema.DRAFT202012.create_resource(definitions) @ referencing.Registry()


@cache
def _validator(version: str, api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    directory = f"kubernetes-json-schema/v{version}-local-strict"
    try:
        schema = k8s_schemas.schema_contents(f"{directory}/{_schema_name(api_version, kind)}", version)
    except FileNotFoundError:
        return None
    return jsonschema.Draft202012Validator(schema, registry=_registry(version))


def validate_body(ref: str, body: Mapping[str, Any], version: str = KUBERNETES_VERSION) -> list[Problem]:
    """Validate one object strictly; return every problem (empty when valid).

    Args:
        ref: How problems name the object.
        body: The object.
        version: The Kubernetes minor version.

    Returns:
        Problems sorted by field path.
    """
    api_version, kind = str(body.get("apiVersion", "")), str(body.get("kind", ""))
    if not api_version or not kind:
        return [Problem(ref, "", "apiVersion and kind are required")]
    validator = _validator(schema_version(version), api_version, kind)
    if validator is None:
        return [Problem(ref, "", f"Kubernetes {version} has no {kind} in {api_version}")]
    return sorted(
        Problem(ref, dotted(error.absolute_path), error.message) for error in validator.iter_errors(body)
    )


def validate_objects(objects: Sequence[K8sObject], version: str = KUBERNETES_VERSION) -> list[Problem]:
    """Validate every object strictly, and every pod manifest embedded in a ConfigMap.

    Args:
        objects: The rendered objects.
        version: The Kubernetes minor version.

    Returns:
        Every problem, objects first in their order, then the embedded pods.
    """
    problems = [problem for item in objects for problem in validate_body(item.ref, item.body, version)]
    for pod in embedded_pods(list(objects)):
        problems += validate_body(pod.ref, pod.body, version)
    return problems
