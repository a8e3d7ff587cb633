"""The chart tier: the official Airflow chart rendered offline with exactly the deploy's command line.

Like the chart's own helm-tests, each test renders and asserts one behaviour. The chart comes from
``PLATFORM_AIRFLOW_CHART`` (a directory or .tgz) or is pulled once from https://airflow.apache.org
into ``~/.cache/airflow-platform/charts``; without either, the whole tier skips with one message
(also in CI: this repository's CI has no chart and no network to the chart repository).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_platform_ci import helm, pins
from platform_devkit.chart.errors import ChartUnavailableError
from platform_devkit.chart.manifests import K8sObject
from platform_devkit.chart.render import RenderedRelease, render_argv
from platform_devkit.chart.source import how_to_provide, locate_chart
from platform_devkit.repository import REPO_ROOT

AIRFLOW_REPOSITORY = "ghcr.io/acme/airflow"
AIRFLOW_TAG = "3.3.2-platform-0.1.0"
AIRFLOW_DIGEST = "sha256:" + hashlib.sha256(b"airflow-platform image").hexdigest()
IMAGE_BY_ENV = {
    "dev": f"{AIRFLOW_REPOSITORY}:{AIRFLOW_TAG}",
    "staging": f"{AIRFLOW_REPOSITORY}:{AIRFLOW_TAG}@{AIRFLOW_DIGEST}",
    "prod": f"{AIRFLOW_REPOSITORY}:{AIRFLOW_TAG}@{AIRFLOW_DIGEST}",
}
"""The image each environment is deployed with: dev by tag (allowed there), staging and prod by digest."""


@functools.cache
def _chart_path() -> tuple[Path | None, str]:
    """Where the chart is, or why it is not available (decided once per session)."""
    try:
        import helm_python  # noqa: F401  (CPython >= 3.12 only)
    except ImportError as error:
        return None, f"the chart tier needs helm-python-sdk, installed on CPython >= 3.12 only ({error})"
    try:
        return locate_chart(pins.CHART_VERSION, pins.CHART_REPO), ""
    except ChartUnavailableError as error:
        how = how_to_provide(pins.CHART_VERSION, pins.CHART_REPO)
        return None, (
            f"chart tier skipped, no Airflow chart {pins.CHART_VERSION} ({error}). To run it, {how}. "
            "This repository's CI has neither, so the tier skips there too."
        )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip every test of the tier, with one message, when the chart is not available.

    Raised here rather than in a fixture so that the skip points at this file: the summary then
    shows the message once instead of once per test.
    """
    path, why = _chart_path()
    if path is None:
        pytest.skip(why)


@pytest.fixture(scope="session")
def chart() -> Iterator[Any]:
    """The official chart at the pinned version, loaded once."""
    import helm_python

    path, why = _chart_path()
    assert path is not None, why
    with helm_python.Chart.load(path) as loaded:
        yield loaded


def fake_digest(name: str) -> str:
    """A well-formed digest, stable per name, standing in for what the pipeline resolves."""
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


@pytest.fixture(scope="session")
def chart_images() -> dict[str, str]:
    """The chart's third-party images (``pins.CHART_IMAGES``) as the pipeline resolves them, fake digests."""
    return {key: f"{reference}@{fake_digest(key)}" for key, reference in pins.CHART_IMAGES.items()}


def _existing() -> set[str]:
    return {str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "helm").glob("*.yaml")}


@pytest.fixture(scope="session")
def deploy_plan(chart_images: Mapping[str, str]) -> Callable[..., helm.DeployPlan]:
    """Build the deploy's plan for an environment as the ``deploy`` function does, chart images pinned."""

    def plan(env: str, **overrides: Any) -> helm.DeployPlan:
        arguments: dict[str, Any] = {"env": env, "image": IMAGE_BY_ENV[env], "existing": _existing()}
        return helm.pin_chart_images(helm.plan_deploy(**{**arguments, **overrides}), chart_images)

    return plan


@pytest.fixture(scope="session")
def deploy_argv(deploy_plan: Callable[..., helm.DeployPlan]) -> Callable[[str], list[str]]:
    """The exact ``helm upgrade --install`` argv the deploy runs for an environment."""
    return lambda env: helm.upgrade_argv(deploy_plan(env))


@pytest.fixture(scope="session")
def rendered(chart: Any, deploy_argv: Callable[[str], list[str]]) -> Callable[[str], RenderedRelease]:
    """Render an environment from the deploy's argv (once per session and environment)."""

    @functools.cache
    def render(env: str) -> RenderedRelease:
        return render_argv(chart, deploy_argv(env), REPO_ROOT)

    return render


@pytest.fixture(scope="session")
def network_chart() -> Iterator[Any]:
    """Our chart of the NetworkPolicies chart 1.21.0 cannot express (helm/network-policies)."""
    import helm_python

    with helm_python.Chart.load(REPO_ROOT / helm.NETWORK_CHART) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def network_rendered(
    network_chart: Any, deploy_plan: Callable[..., helm.DeployPlan]
) -> Callable[[str], RenderedRelease]:
    """Render the network release of an environment from the deploy's argv (once per environment)."""

    @functools.cache
    def render(env: str) -> RenderedRelease:
        return render_argv(network_chart, helm.network_upgrade_argv(deploy_plan(env)), REPO_ROOT)

    return render


@pytest.fixture(scope="session")
def deployed(
    rendered: Callable[[str], RenderedRelease], network_rendered: Callable[[str], RenderedRelease]
) -> Callable[[str], list[K8sObject]]:
    """Everything a deploy of an environment installs: the Airflow release and the network release."""
    return lambda env: [*rendered(env).objects, *network_rendered(env).objects]


@pytest.fixture
def render_with_values(
    chart: Any, deploy_argv: Callable[[str], list[str]], tmp_path: Path
) -> Callable[[str, dict[str, Any]], RenderedRelease]:
    """Render an environment with one more ``--values`` file after the deploy's own."""

    def render(env: str, values: dict[str, Any]) -> RenderedRelease:
        extra = tmp_path / f"values-extra-{env}.yaml"
        extra.write_text(yaml.safe_dump(values))
        return render_argv(chart, [*deploy_argv(env), "--values", str(extra)], REPO_ROOT)

    return render
