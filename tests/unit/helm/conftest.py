"""Fixtures for the Helm values tests: the chart's schema (read in place from ``../shared``), the layers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from platform_devkit.helm_values import (
    Layer,
    environment_layers,
    load_layer,
    load_schema,
    merge_layers,
    repo_root,
)


@pytest.fixture(scope="session")
def chart_schema(chart_data: Path) -> dict[str, Any]:
    """The chart's values.schema.json made strict; missing files fail in CI and skip locally."""
    return load_schema(chart_data)


def _release_layers(environment: str) -> list[Layer]:
    if environment == "e2e":
        return [*environment_layers("dev"), load_layer(repo_root() / "helm" / "values-e2e.yaml")]
    return environment_layers(environment)


@pytest.fixture(scope="session")
def release_layers() -> Callable[[str], list[Layer]]:
    """The values files of an environment, in order; ``e2e`` is dev with values-e2e.yaml over it."""
    return _release_layers


@pytest.fixture(scope="session")
def merged() -> Callable[[str], dict[str, Any]]:
    """The merged values of an environment (``e2e`` as :func:`release_layers` says), a new copy each call."""
    return lambda environment: merge_layers(_release_layers(environment))
