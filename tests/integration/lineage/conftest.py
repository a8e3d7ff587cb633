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
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from platform_devkit.repository import REPO_ROOT

DAGS = Path(__file__).resolve().parent / "dags"
PROBE = DAGS / "lineage_probe.py"


@dataclass(frozen=True)
class ProbeRun:
    """One run of the probe DAG: its exit status, its whole output and its own report."""

    returncode: int
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
        return ProbeRun(result.returncode, result.stdout, json.loads(report.read_text()), wall)


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
        "PLATFORM_SETTINGS_FILE": str(REPO_ROOT / "config" / "platform.yaml"),
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
    migrate = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    return ProbeHome(home, data, env)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An HTTP endpoint that accepts connections and never answers: a hung lineage backend."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stopping.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, name="silent-endpoint", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stopping.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    server.close()
