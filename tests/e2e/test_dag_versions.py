"""DAG versions through the ``GitDagBundle``: a commit is a new DAG version, a running run keeps its own.

The platform bundle tracks ``main`` of the session's local git repository (``dag_repository``). The
tests commit a DAG there, change it while a run of it waits, and read the versions through
``GET /api/v2/dags/{dag_id}/dagVersions`` and the runs' ``bundle_version``. Then the repository goes
away: the dag-processor reports every failed refresh and keeps serving the last good version; once the
repository is back, refreshes succeed again and a run on that version succeeds. (A task that starts
during the outage on a version its worker has not checked out yet fails its try: workers clone
versions from the repository too.)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path

from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.base import poll
from platform_devkit.loopback.dag_repository import DagRepository

VERSIONED_DAG = "e2e_versioned"
FILE_NAME = f"{VERSIONED_DAG}.py"
SMOKE_DAG = "platform_smoke"
BUNDLE = "platform-dags"
REFRESHING = f"Refreshing bundle {BUNDLE}"
REFRESH_FAILED = f"Error refreshing bundle {BUNDLE}"
DAG_SOURCE = '''"""End-to-end: a DAG the DAG-version test commits and changes (this is {label})."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="{dag_id}",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={{"owner": "platform-e2e", "retries": 2, "retry_delay": timedelta(seconds=5)}},
    tags=["e2e", "versions"],
    doc_md="{label}",
)
def e2e_versioned():
    """Hold until released, then report the code's label."""

    @task
    def hold(release_file: str) -> None:
        """Wait (up to two minutes) until the file the run's conf names exists."""
        deadline = time.monotonic() + 120
        while release_file and not Path(release_file).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{{release_file}} never appeared")
            time.sleep(0.5)

    @task
    def report() -> str:
        """Return the label of the code that ran."""
        return "{label}"

    hold("{{{{ dag_run.conf.get('release_file', '') }}}}") >> report()


e2e_versioned()
'''


def _source(label: str) -> str:
    return DAG_SOURCE.format(label=label, dag_id=VERSIONED_DAG)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    poll(
        condition,
        timeout=timeout,
        interval=1,
        failure=lambda _: f"{what} did not happen within {timeout:.0f}s",
    )


def _refreshed_cleanly(log_text: str) -> bool:
    """Tell whether one refresh of the bundle ran to the next one's start without an error."""
    starts = [match.start() for match in re.finditer(REFRESHING, log_text)]
    return any(REFRESH_FAILED not in log_text[start:end] for start, end in itertools.pairwise(starts))


def _bundle_versions(platform: LoopbackAirflow, dag_id: str) -> list[str | None]:
    return [version["bundle_version"] for version in platform.api.dag_versions(dag_id)]


def test_a_commit_is_a_new_dag_version_and_a_running_run_finishes_on_its_own(
    airflow_platform: LoopbackAirflow, dag_repository: DagRepository, tmp_path: Path
) -> None:
    first = dag_repository.commit(f"Add {VERSIONED_DAG}", {FILE_NAME: _source("v1")})
    airflow_platform.api.wait_for_dag(VERSIONED_DAG)
    _wait(lambda: _bundle_versions(airflow_platform, VERSIONED_DAG) == [first], "version 1")
    release = tmp_path / "release"
    held = airflow_platform.api.trigger(VERSIONED_DAG, {"release_file": str(release)})
    airflow_platform.api.wait_for_tasks(VERSIONED_DAG, held, ["hold"], "running", timeout=120)

    second = dag_repository.commit(f"Change {VERSIONED_DAG}", {FILE_NAME: _source("v2")})
    _wait(lambda: _bundle_versions(airflow_platform, VERSIONED_DAG) == [first, second], "version 2")
    versions = airflow_platform.api.dag_versions(VERSIONED_DAG)
    assert [version["version_number"] for version in versions] == [1, 2]
    assert {version["bundle_name"] for version in versions} == {BUNDLE}
    release.touch()

    run = airflow_platform.api.wait_for_run(VERSIONED_DAG, held, timeout=120)
    assert run["state"] == "success"
    assert run["bundle_version"] == first
    assert [version["version_number"] for version in run["dag_versions"]] == [1]
    assert airflow_platform.api.xcom(VERSIONED_DAG, held, "report") == "v1"

    after = airflow_platform.api.trigger(VERSIONED_DAG)
    run = airflow_platform.api.wait_for_run(VERSIONED_DAG, after, timeout=120)
    assert run["state"] == "success"
    assert run["bundle_version"] == second
    assert airflow_platform.api.xcom(VERSIONED_DAG, after, "report") == "v2"


def test_an_unreachable_repository_is_reported_and_the_last_good_version_is_kept(
    airflow_platform: LoopbackAirflow, dag_repository: DagRepository
) -> None:
    airflow_platform.api.wait_for_dag(SMOKE_DAG)
    versions = _bundle_versions(airflow_platform, SMOKE_DAG)
    log = airflow_platform.processes["dag-processor"].log_path
    offset = log.stat().st_size
    away = dag_repository.path.with_name(f"{dag_repository.path.name}-unreachable")
    dag_repository.path.rename(away)
    try:
        _wait(
            lambda: log.read_text(errors="replace")[offset:].count(REFRESH_FAILED) >= 2,
            "two failed refreshes",
        )
        assert _bundle_versions(airflow_platform, SMOKE_DAG) == versions
        details = airflow_platform.api.wait_for_dag(SMOKE_DAG)
        assert details["is_stale"] is False
        assert not airflow_platform.api.import_errors(BUNDLE)
    finally:
        away.rename(dag_repository.path)
    recovered = log.stat().st_size
    _wait(lambda: _refreshed_cleanly(log.read_text(errors="replace")[recovered:]), "a clean refresh", 60)
    run_id = airflow_platform.api.trigger(SMOKE_DAG)
    run = airflow_platform.api.wait_for_run(SMOKE_DAG, run_id, timeout=120)
    assert run["state"] == "success"
    assert run["bundle_version"] == versions[-1]
