"""The renderer reads the deploy's helm argv as Helm does, and refuses what it does not interpret."""

from __future__ import annotations

import pytest

from platform_devkit.chart.errors import ChartUsageError
from platform_devkit.chart.invocation import parse_helm_argv
from platform_devkit.chart.values import schema_problems
from platform_devkit.helm_values import merge_values

UPGRADE = [
    "helm", "upgrade", "--install", "airflow", "airflow", "--repo", "https://airflow.apache.org",
    "--version", "1.21.0", "--namespace", "airflow-prod", "--values", "helm/values.yaml",
    "--values", "helm/values-prod.yaml", "--set-file", "apiServer.apiServerConfig=helm/webserver_config.py",
    "--set-string", "images.airflow.digest=sha256:00", "--set", "a.b=1", "--create-namespace",
    "--history-max", "10", "--timeout", "10m", "--wait=watcher", "--rollback-on-failure",
    "--server-side=true",
]  # fmt: skip


def test_an_upgrade_argv_is_read_completely() -> None:
    invocation = parse_helm_argv(UPGRADE)
    assert (invocation.release, invocation.chart, invocation.version) == ("airflow", "airflow", "1.21.0")
    assert invocation.repo == "https://airflow.apache.org"
    assert invocation.namespace == "airflow-prod"
    assert invocation.values_files == ("helm/values.yaml", "helm/values-prod.yaml")
    assert invocation.flags_of("--set-string") == ["images.airflow.digest=sha256:00"]
    assert invocation.flags_of("--set-file") == ["apiServer.apiServerConfig=helm/webserver_config.py"]
    assert invocation.flags_of("--set") == ["a.b=1"]
    assert invocation.wait
    assert invocation.kube_version is None


def test_the_kube_version_of_helm_template_is_read() -> None:
    assert parse_helm_argv(["helm", "template", "r", "c", "--kube-version", "1.33"]).kube_version == "1.33"


@pytest.mark.parametrize(
    ("flags", "wait"),
    [
        ([], False),
        (["--wait"], True),
        (["--atomic"], True),
        (["--wait=hookOnly"], False),
        (["--wait=legacy"], True),
    ],
)
def test_what_makes_the_deploy_wait(flags: list[str], wait: bool) -> None:
    assert parse_helm_argv(["helm", "template", "r", "c", *flags]).wait is wait


@pytest.mark.parametrize(
    "flag", ["--post-renderer=kustomize", "--skip-schema-validation", "--dry-run=server", "--wait=sometimes"]
)
def test_a_flag_that_is_not_interpreted_is_refused(flag: str) -> None:
    with pytest.raises(ChartUsageError, match="not interpreted"):
        parse_helm_argv(["helm", "template", "r", "c", flag])


@pytest.mark.parametrize(
    "argv",
    [
        ["helm", "install", "r", "c"],
        ["helm", "upgrade", "r", "c"],
        ["helm", "template", "r"],
        ["helm", "template", "r", "c", "--values"],
    ],
)
def test_what_is_not_a_render_of_one_release_is_refused(argv: list[str]) -> None:
    with pytest.raises(ChartUsageError):
        parse_helm_argv(argv)


def test_values_files_merge_like_helm_merge_maps() -> None:
    base = {"a": {"x": 1, "l": [1, 2]}, "b": 1, "c": {"d": 1}}
    overlay = {"a": {"y": 2, "l": [3]}, "c": None}
    assert merge_values(base, overlay) == {"a": {"x": 1, "y": 2, "l": [3]}, "b": 1, "c": None}
    assert base == {"a": {"x": 1, "l": [1, 2]}, "b": 1, "c": {"d": 1}}


def test_helm_schema_errors_become_key_paths() -> None:
    message = (
        "airflow:\n- at '/apiServer': additional properties 'replcas' not allowed\n"
        "- at '/scheduler/replicas': got string, want integer\n"
        "- at '/ingress/apiServer/hosts/0': additional properties 'nme' not allowed"
    )
    assert schema_problems(message) == [
        "apiServer.replcas: additional properties 'replcas' not allowed",
        "scheduler.replicas: got string, want integer",
        "ingress.apiServer.hosts[0].nme: additional properties 'nme' not allowed",
    ]
