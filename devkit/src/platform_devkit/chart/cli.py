"""``chart-check``: strict checks of rendered manifests, as ``helm template`` prints them.

    helm template airflow airflow --repo https://airflow.apache.org ... | chart-check
    chart-check --env prod rendered/prod.yaml --require-network-paths

Prints one line per problem, ``Kind/name: field.path: message``, then a summary; exits 1 when there
is a problem, 2 when the input cannot be read. Checks: every object (and every pod manifest
embedded in a ConfigMap) against the strict Kubernetes API schema of ``--kubernetes-version``; with
``--env prod``, every image pinned by digest; with ``--require-network-paths``, the paths Airflow 3
needs through the rendered NetworkPolicies (:data:`platform_devkit.chart.netpol.REQUIRED_PATHS`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from platform_devkit.chart.errors import ChartUsageError
from platform_devkit.chart.images import unpinned_images
from platform_devkit.chart.manifests import K8sObject, embedded_pods, split_manifests
from platform_devkit.chart.netpol import cut_paths
from platform_devkit.chart.validate import KUBERNETES_VERSION, validate_objects

ENVIRONMENTS = ("dev", "staging", "prod")
DIGEST_REQUIRED = frozenset({"prod"})
"""Environments whose images must all be pinned by digest (as the deploy requires for prod)."""


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="chart-check",
        description="Validate rendered Kubernetes manifests strictly (files, or stdin when none or '-').",
    )
    parser.add_argument("files", nargs="*", help="manifest files as `helm template` prints them")
    parser.add_argument(
        "--kubernetes-version",
        default=KUBERNETES_VERSION,
        help=f"minor version (default {KUBERNETES_VERSION})",
    )
    parser.add_argument(
        "--require-network-paths",
        action="store_true",
        help="fail when a NetworkPolicy cuts a connection Airflow 3 needs",
    )
    parser.add_argument(
        "--env",
        choices=ENVIRONMENTS,
        help="the environment rendered: namespace airflow-<env> by default; prod also requires digests",
    )
    parser.add_argument(
        "--namespace",
        default="",
        help="release namespace, for objects without metadata.namespace "
        "(default: airflow-<env>, else the objects' own)",
    )
    return parser.parse_args(argv)


def _read(files: Sequence[str]) -> list[K8sObject]:
    objects: list[K8sObject] = []
    for name in files or ["-"]:
        text = sys.stdin.read() if name == "-" else Path(name).read_text()
        objects += split_manifests(text)
    return objects


def _namespace(objects: Sequence[K8sObject], given: str, env: str | None) -> str:
    if given or env:
        return given or f"airflow-{env}"
    found = {str((item.body.get("metadata") or {}).get("namespace") or "") for item in objects} - {""}
    return found.pop() if len(found) == 1 else "default"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks; return the exit status (0 clean, 1 problems, 2 unreadable input).

    Args:
        argv: The arguments (default ``sys.argv[1:]``).
    """
    args = _arguments(argv)
    try:
        objects = _read(args.files)
    except (OSError, ChartUsageError) as error:
        print(f"chart-check: {error}", file=sys.stderr)
        return 2
    try:
        lines = [str(problem) for problem in validate_objects(objects, args.kubernetes_version)]
    except LookupError as error:
        print(f"chart-check: {error}", file=sys.stderr)
        return 2
    checks = [f"Kubernetes {args.kubernetes_version} (strict)"]
    if args.env in DIGEST_REQUIRED:
        lines += [str(problem) for problem in unpinned_images(objects)]
        checks.append("images by digest")
    if args.require_network_paths:
        namespace = _namespace(objects, args.namespace, args.env)
        lines += [str(problem) for problem in cut_paths(objects, namespace)]
        checks.append("the required network paths")
    for line in lines:
        print(line)
    pods = len(embedded_pods(objects))
    where = f" ({args.env})" if args.env else ""
    print(
        f"chart-check{where}: {len(objects)} objects and {pods} embedded pod "
        f"manifest{'s' if pods != 1 else ''} against "
        f"{', '.join(checks)}: "
        f"{len(lines) or 'no'} problem{'s' if len(lines) != 1 else ''}"
    )
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
