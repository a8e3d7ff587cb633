"""Bad input is refused before anything is installed, naming the key path."""

from __future__ import annotations

import pytest

from platform_devkit.chart.errors import ChartUsageError, ValuesSchemaError
from platform_devkit.chart.render import render_argv
from platform_devkit.repository import REPO_ROOT


@pytest.mark.parametrize(
    ("values", "key_path"),
    [
        ({"apiServer": {"replcas": 2}}, "apiServer.replcas"),
        ({"scheduler": {"replicas": "two"}}, "scheduler.replicas"),
        (
            {"migrateDatabaseJob": {"useHelmHook": False}},
            "migrateDatabaseJob.useHelmHook",
        ),
    ],
)
def test_an_overlay_that_fails_the_chart_schema_is_refused_naming_the_key(
    render_with_values, values, key_path
) -> None:
    with pytest.raises(ValuesSchemaError) as caught:
        render_with_values("prod", values)
    assert any(problem.startswith(f"{key_path}: ") for problem in caught.value.problems), (
        caught.value.problems
    )


def test_a_flag_the_renderer_does_not_interpret_is_refused(chart, deploy_argv) -> None:
    with pytest.raises(ChartUsageError, match="--post-renderer"):
        render_argv(chart, [*deploy_argv("prod"), "--post-renderer", "kustomize"], REPO_ROOT)


def test_a_different_chart_version_is_refused(chart, deploy_argv) -> None:
    argv = deploy_argv("prod")
    argv[argv.index("--version") + 1] = "1.20.0"
    with pytest.raises(ChartUsageError, match=r"chart version 1\.20\.0"):
        render_argv(chart, argv, REPO_ROOT)
