"""Fixtures for the devkit's unit tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from platform_devkit.loopback.airflow_environment import AirflowOptions, airflow_environment


@pytest.fixture
def loopback_environment(tmp_path: Path) -> Callable[[AirflowOptions], dict[str, str]]:
    """The environment of a loopback deployment in ``tmp_path`` with the given options (no service runs)."""

    def environment(options: AirflowOptions) -> dict[str, str]:
        return airflow_environment(
            tmp_path,
            metadata_url="postgresql+psycopg2://x@127.0.0.1/db",
            broker_url="redis://127.0.0.1:6379/0",
            result_backend="db+postgresql://x@127.0.0.1/db",
            api_port=8080,
            options=options,
            secret_values={},
        )

    return environment
