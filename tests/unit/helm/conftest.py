"""Fixtures for the Helm values tests: the chart's schema (read in place from ``../shared``)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from platform_devkit.helm_values import ENV_CHART_DIR, chart_dir, load_schema


@pytest.fixture(scope="session")
def chart_schema() -> dict[str, Any]:
    """The chart's values.schema.json made strict; missing files fail in CI and skip locally."""
    directory = chart_dir()
    if not (directory / "values.schema.json").is_file():
        message = (
            f"chart schema not found at {directory}/values.schema.json "
            f"(set {ENV_CHART_DIR} or place shared/airflow-chart beside the repository)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return load_schema(directory)
