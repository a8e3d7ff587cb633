"""Tests of the Dagger module in ci/: puts ``ci/src`` on ``sys.path`` (tests/conftest.py marks the tier).

dagger-io==0.21.11 is in the root project's dev group, so the module imports here without an engine.
Data that is not part of the repository (the engine's GraphQL schema, the official chart's files) is
found through environment variables, with defaults beside the repository; when it is missing, the
tests that need it skip with how to obtain it (in CI they fail).
"""

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from platform_devkit.dagger_replay import SchemaUnavailableError, locate_schema

REPO = Path(__file__).resolve().parents[2]
CI_SRC = REPO / "ci" / "src"
if str(CI_SRC) not in sys.path:
    sys.path.insert(0, str(CI_SRC))

from airflow_platform_ci.pins import CHART_VERSION  # noqa: E402 - needs ci/src on sys.path

CHART_DATA_ENV = "PLATFORM_AIRFLOW_CHART_DATA"
"""Folder holding the official chart's data files (Chart.yaml, values.yaml, values.schema.json)."""


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def engine_schema(repo: Path, missing_prerequisite: Callable[[str], NoReturn]) -> Path:
    """The Dagger engine's GraphQL schema (``PLATFORM_DAGGER_SCHEMA``)."""
    try:
        return locate_schema(repo)
    except SchemaUnavailableError as error:
        missing_prerequisite(str(error))


@pytest.fixture(scope="session")
def airflow_chart(repo: Path, missing_prerequisite: Callable[[str], NoReturn]) -> dict[str, Any]:
    """The official chart's ``Chart.yaml`` at the pinned version (``PLATFORM_AIRFLOW_CHART_DATA``)."""
    configured = os.environ.get(CHART_DATA_ENV)
    folder = Path(configured) if configured else repo.parent / "shared" / "airflow-chart" / CHART_VERSION
    chart = folder / "Chart.yaml"
    if not chart.is_file():
        missing_prerequisite(
            f"the Airflow chart's {chart} does not exist: set {CHART_DATA_ENV} to a folder holding "
            f"Chart.yaml of the official chart {CHART_VERSION} (chart/Chart.yaml of apache/airflow at "
            f"the helm-chart/{CHART_VERSION} release, or the chart archive from https://airflow.apache.org)"
        )
    return yaml.safe_load(chart.read_text(encoding="utf-8"))
