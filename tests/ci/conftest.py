"""Tests of the Dagger module in ci/: puts ``ci/src`` on ``sys.path`` (tests/conftest.py marks the tier).

dagger-io==0.21.11 is in the root project's dev group, so the module imports here without an engine.
Data that is not part of the repository (the engine's GraphQL schema, the official chart's files) is
found through environment variables, with defaults beside the repository; when it is missing, the
tests that need it skip with how to obtain it (in CI they fail).
"""

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
def airflow_chart(chart_data: Path) -> dict[str, Any]:
    """The official chart's ``Chart.yaml`` at the pinned version (see the ``chart_data`` fixture)."""
    return yaml.safe_load((chart_data / "Chart.yaml").read_text(encoding="utf-8"))
