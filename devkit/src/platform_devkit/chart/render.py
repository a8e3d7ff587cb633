"""Render a release offline, from the exact command line the deploy runs.

One code path: :func:`render_argv` takes the argv of ``helm template`` or ``helm upgrade --install``
(as ``airflow_platform_ci.helm`` builds it), merges the values as Helm does
(:mod:`platform_devkit.chart.values`), validates them against the chart's schema through Helm, and
renders with Helm's engine (``helm_python``'s ``helm_render``) as an install, for the Kubernetes
version of ``--kube-version`` or, for an upgrade, of the cluster (:data:`KUBERNETES_VERSION`).
"""

from __future__ import annotations

import configparser
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platform_devkit.chart.errors import ChartUsageError
from platform_devkit.chart.invocation import HelmInvocation, parse_helm_argv
from platform_devkit.chart.manifests import K8sObject, helm_template_text, split_manifests
from platform_devkit.chart.validate import KUBERNETES_VERSION
from platform_devkit.chart.values import merge_release_values, validate_release_values

if TYPE_CHECKING:
    import helm_python


@dataclass(frozen=True)
class RenderedRelease:
    """A release as Helm would install it.

    Attributes:
        invocation: The command line it was rendered from.
        values: The user values (files and ``--set*`` flags merged, before the chart's defaults).
        objects: Every rendered object, hooks included, in template order.
        notes: The rendered ``NOTES.txt`` of the chart (``""`` when none).
        manifest: The templates as ``helm template`` prints them (``---`` and ``# Source:`` per template).
    """

    invocation: HelmInvocation
    values: dict[str, Any]
    objects: list[K8sObject]
    notes: str
    manifest: str

    @property
    def namespace(self) -> str:
        """The namespace the release is installed into."""
        return self.invocation.namespace or "default"

    @property
    def airflow_cfg_text(self) -> str:
        """The rendered ``airflow.cfg``, from the ConfigMap ``<release>-config``.

        Raises:
            KeyError: no such ConfigMap was rendered.
        """
        configmap = self.get("ConfigMap", f"{self.invocation.release}-config")
        text: str = configmap.body["data"]["airflow.cfg"]
        return text

    @property
    def airflow_cfg(self) -> configparser.ConfigParser:
        """The rendered ``airflow.cfg``, parsed (without interpolation)."""
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(self.airflow_cfg_text)
        return parser

    def of_kind(self, kind: str) -> list[K8sObject]:
        """Return the objects of one kind."""
        return [item for item in self.objects if item.kind == kind]

    def get(self, kind: str, name: str) -> K8sObject:
        """Return the one object of ``kind`` named ``name``.

        Raises:
            KeyError: no such object was rendered.
        """
        for item in self.objects:
            if item.kind == kind and item.name == name:
                return item
        raise KeyError(f"{kind}/{name} is not rendered")


def _render(chart: helm_python.Chart, values: dict[str, Any], options: dict[str, Any]) -> dict[str, str]:
    from helm_python import _native

    # Chart.render (helm-python-sdk 0.2.2) does not pass kube_version, which the library's
    # helm_render options accept (as `helm template --kube-version` does): call it with it.
    rendered: dict[str, str] = json.loads(
        _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(options))
    )
    return rendered


def render_argv(
    chart: helm_python.Chart,
    argv: Sequence[str],
    root: Path,
    cluster_version: str = KUBERNETES_VERSION,
) -> RenderedRelease:
    """Render ``chart`` with exactly the release name, namespace and values of a Helm command line.

    Args:
        chart: The loaded chart the command line refers to.
        argv: ``helm template ...`` or ``helm upgrade --install ...``.
        root: The directory the command runs in (relative ``--values``/``--set-file`` paths).
        cluster_version: The Kubernetes version templates see (``.Capabilities.KubeVersion``) when
            the command line has no ``--kube-version``: an upgrade reads it from the cluster.

    Returns:
        The rendered release.

    Raises:
        ChartUsageError: a flag the renderer does not interpret, or the chart is not the
            ``--version`` the command line asks for.
        ValuesSchemaError: the merged values fail the chart's schema (each key path named).
        helm_python.HelmError: Helm cannot parse the values or render a template.
    """
    invocation = parse_helm_argv(list(argv))
    if invocation.version is not None and invocation.version != chart.version:
        raise ChartUsageError(
            f"the command line asks for chart version {invocation.version}, the chart is {chart.version}"
        )
    values = merge_release_values(invocation, root)
    validate_release_values(chart, values)
    options = {
        "name": invocation.release,
        "namespace": invocation.namespace or "default",
        "is_install": True,
        "kube_version": invocation.kube_version or cluster_version,
    }
    rendered = _render(chart, values, options)
    notes = rendered.get(f"{chart.name}/templates/NOTES.txt", "")
    return RenderedRelease(invocation, values, split_manifests(rendered), notes, helm_template_text(rendered))
