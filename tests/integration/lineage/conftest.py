"""A migrated Airflow home for the probe DAG (once per session), a runner for it, a silent endpoint.

Each run is a child process running ``dags/lineage_probe.py`` with ``dag.test()``: Airflow's task
runner with the OpenLineage provider configured only by the environment given, as a deployment
configures it (:func:`airflow_platform.lineage_settings.openlineage_environment`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from platform_devkit.loopback.airflow_environment import SETTINGS_FILE
from platform_devkit.metadata_db import migrate_metadata_db

DAGS = Path(__file__).resolve().parent / "dags"
PROBE = DAGS / "lineage_probe.py"


@dataclass(frozen=True)
class ProbeRun:
    """One (successful) run of the probe DAG: its whole output, its own report and how long it took."""

    output: str
    report: dict[str, Any]
    wall_seconds: float

    @property
    def lines(self) -> list[str]:
        """The output's lines (stdout and stderr, interleaved as written)."""
        return self.output.splitlines()

    def hook_seconds(self, hook: str) -> float:
        """How long the task-instance listener hook ``hook`` held the task."""
        (seconds,) = [timing["seconds"] for timing in self.report["hooks"] if timing["hook"] == hook]
        return seconds


@dataclass(frozen=True)
class ProbeHome:
    """A migrated Airflow home (SQLite) and the environment every probe run starts from."""

    home: Path
    data: Path
    env: Mapping[str, str]

    def run(self, lineage_env: Mapping[str, str], *, log_level: str = "INFO") -> ProbeRun:
        """Run the probe DAG with ``lineage_env`` added to the base environment."""
        report = self.data / "report.json"
        report.unlink(missing_ok=True)
        env = {
            **self.env,
            **lineage_env,
            "AIRFLOW__LOGGING__LOGGING_LEVEL": log_level,
            "LINEAGE_PROBE_REPORT": str(report),
        }
        began = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(PROBE)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        wall = time.monotonic() - began
        assert result.returncode == 0 and report.is_file(), result.stdout[-5000:]
        return ProbeRun(result.stdout, json.loads(report.read_text()), wall)


def _base_environment(home: Path, data: Path) -> dict[str, str]:
    # Nothing of the test session reaches the child: not its Airflow or OpenLineage configuration, and
    # not PYTEST_VERSION, under which the provider stops caching its configuration.
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW", "OPENLINEAGE", "PLATFORM_", "PYTEST_"))
    }
    return {
        **inherited,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "PLATFORM_SETTINGS_FILE": str(SETTINGS_FILE),
        "LINEAGE_PROBE_DIR": str(data),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def probe_home(tmp_path_factory: pytest.TempPathFactory) -> ProbeHome:
    """An Airflow home with a migrated SQLite metadata database and the probe's input file."""
    home = tmp_path_factory.mktemp("lineage-airflow-home")
    data = tmp_path_factory.mktemp("lineage-data")
    (data / "input.txt").write_text("rows\n")
    env = _base_environment(home, data)
    migrate_metadata_db(env)
    return ProbeHome(home, data, env)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An HTTP endpoint that takes connections and never answers: a hung lineage backend.

    A listening socket is enough: the kernel completes each connection into the listen backlog, where
    the client's request waits, unread and unanswered, until the client times out.
    """
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
