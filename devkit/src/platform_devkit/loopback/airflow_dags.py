"""The platform's DAGs in a loopback deployment: their ids, waiting for them, one run of each.

:func:`start_runs` starts one run of each DAG the way production starts it.

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
from datetime import UTC, datetime
from pathlib import Path

from platform_devkit.loopback.airflow_environment import PLATFORM_BUNDLE
from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.base import ServiceError
from platform_devkit.repository import REPO_ROOT

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
    loaded = {dag["dag_id"] for dag in airflow.api.dags(PLATFORM_BUNDLE)}
    return loaded, airflow.api.import_errors(PLATFORM_BUNDLE)


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


ASSET_TIMETABLE = "Asset"
"""The ``timetable_summary`` of a DAG scheduled on assets."""


@dataclass(frozen=True)
class StartedRuns:
    """One run per DAG, started as production would start it.

    Attributes:
        run_ids: DAG id to run id: the run the scheduler created for the DAG's latest schedule interval
            (``scheduled``) where the schedule has one due, else a run triggered through the REST API.
        asset_scheduled: DAGs scheduled on assets: their runs come from asset events
            (:meth:`~platform_devkit.loopback.airflow_rest.AirflowRestClient.wait_for_new_run` with
            ``asset_triggered``), once the producing runs have finished.
    """

    run_ids: dict[str, str]
    asset_scheduled: frozenset[str]


def _due(run_after: str | None) -> bool:
    return run_after is not None and datetime.fromisoformat(run_after) <= datetime.now(UTC)


def start_runs(airflow: LoopbackAirflow, dag_ids: list[str], *, timeout: float = 120.0) -> StartedRuns:
    """Start one run of each DAG in ``dag_ids``, in order, the way a deployment with a scheduler does.

    The deployment must run its scheduler with ``use_job_schedule`` on. A DAG whose schedule has an
    interval due now (``next_dagrun_run_after`` in the past: a cron schedule with ``catchup=False``) gets
    its run from the scheduler, which is waited for; a DAG with no run due (no schedule, or a trigger
    timetable whose next time is ahead) is triggered; a DAG scheduled on assets is left to its events.
    The DAG's details are read before its runs, so a run the scheduler creates in between is found
    rather than doubled by a trigger.
    """
    run_ids: dict[str, str] = {}
    due: list[str] = []
    asset_scheduled = set()
    for dag_id in dag_ids:
        details = airflow.api.wait_for_dag(dag_id)
        if details["timetable_summary"] == ASSET_TIMETABLE:
            asset_scheduled.add(dag_id)
        elif _due(details["next_dagrun_run_after"]):
            due.append(dag_id)
        elif scheduled := airflow.api.runs(dag_id, run_type="scheduled"):
            run_ids[dag_id] = scheduled[0]["dag_run_id"]
        else:
            run_ids[dag_id] = airflow.api.trigger(dag_id)
    for dag_id in due:
        run_ids[dag_id] = airflow.api.wait_for_new_run(dag_id, "scheduled", timeout=timeout)["dag_run_id"]
    return StartedRuns(
        {dag_id: run_ids[dag_id] for dag_id in dag_ids if dag_id in run_ids}, frozenset(asset_scheduled)
    )
