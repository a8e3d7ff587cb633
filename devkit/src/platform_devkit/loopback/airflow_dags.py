"""The repository's DAGs in a loopback deployment: which DAG ids ``dags/`` defines, and waiting for them.

The expected DAG ids come from the DAG gate (``dag-check --json``), which parses each file of ``dags/``
in isolation as the dag-processor does, so generated DAGs (the factory's) count like any other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.base import ServiceError
from platform_devkit.repository import REPO_ROOT

REPOSITORY_BUNDLE = "dags-folder"
"""The bundle name of the repository's ``dags/`` (see airflow_environment.dag_bundles)."""
DAG_GATE = Path(sys.executable).with_name("dag-check")


def repository_dag_ids(env: dict[str, str] | None = None) -> set[str]:
    """Return the DAG ids the DAG gate finds in ``dags/``.

    Args:
        env: The environment to run the gate with (default: this process's).

    Raises:
        ServiceError: The gate could not run (a DAG rule problem is reported, not raised).
    """
    with tempfile.TemporaryDirectory(prefix="platform-dag-ids-") as scratch:
        report = Path(scratch) / "dag-check.json"
        completed = subprocess.run(
            [str(DAG_GATE), str(REPO_ROOT / "dags"), "--json", str(report)],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if not report.exists():
            raise ServiceError(
                f"dag-check wrote no report (exit {completed.returncode}): {completed.stderr[-2000:]}"
            )
        files = json.loads(report.read_text())["files"]
    return {dag_id for entry in files for dag_id in entry["dag_ids"]}


@dataclass(frozen=True)
class LoadedDags:
    """What the dag-processor made of ``dags/``: the DAG ids it serialized and the import errors."""

    expected: frozenset[str]
    loaded: frozenset[str]
    import_errors: tuple[dict, ...]


def _snapshot(airflow: LoopbackAirflow) -> tuple[set[str], list[dict]]:
    loaded = {dag["dag_id"] for dag in airflow.api.dags(REPOSITORY_BUNDLE)}
    return loaded, airflow.api.import_errors(REPOSITORY_BUNDLE)


def wait_for_repository_dags(airflow: LoopbackAirflow, *, timeout: float = 240.0) -> LoadedDags:
    """Wait until every DAG of ``dags/`` is serialized, or import errors explain the missing ones."""
    expected = repository_dag_ids(airflow.env)
    deadline = time.monotonic() + timeout
    loaded, errors = _snapshot(airflow)
    stable_since, previous = time.monotonic(), loaded
    while not expected <= loaded and time.monotonic() < deadline:
        time.sleep(3)
        loaded, errors = _snapshot(airflow)
        if loaded != previous:
            stable_since, previous = time.monotonic(), loaded
        elif errors and time.monotonic() - stable_since > 45:
            break
    return LoadedDags(frozenset(expected), frozenset(loaded), tuple(errors))
