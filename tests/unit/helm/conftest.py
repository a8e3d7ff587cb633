"""Fixtures for the Helm values tests: the chart's schema (read in place from ``../shared``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from platform_devkit.helm_values import load_schema


@pytest.fixture(scope="session")
def chart_schema(chart_data: Path) -> dict[str, Any]:
    """The chart's values.schema.json made strict; missing files fail in CI and skip locally."""
    return load_schema(chart_data)
