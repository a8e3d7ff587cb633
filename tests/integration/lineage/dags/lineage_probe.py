"""A one-task DAG whose operator reports the datasets it reads and writes, for the OpenLineage tests.

It follows the platform rules (a team owner, ``retries >= 2``, tags, ``airflow.sdk`` imports). Run as
a script, it runs itself with ``dag.test()`` - Airflow's task runner, in this process, with whatever
OpenLineage configuration the environment holds - and writes a JSON report to the file
``LINEAGE_PROBE_REPORT``: the run's state, the listeners Airflow registered, and how long each
task-instance listener hook held the task (timed with pluggy's hook-call monitoring, which changes
nothing). The report goes to its own file, not to stdout, because the OpenLineage client logs from its
own threads and can write into the middle of a printed line.

``LINEAGE_PROBE_DIR`` is the folder of ``input.txt`` (read) and ``output.txt`` (written).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, BaseOperator

from airflow_platform.lineage import LineageReporter, local_file

DATA_DIR = Path(os.environ.get("LINEAGE_PROBE_DIR", "/nonexistent"))


class CopyFile(LineageReporter, BaseOperator):
    """Copy one local file to another and report both as the task's input and output datasets."""

    def __init__(self, *, source: str, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.target = target

    def execute(self, context: Any) -> None:
        """Copy the file and record what was read and written."""
        Path(self.target).write_bytes(Path(self.source).read_bytes())
        self.record_lineage(inputs=(local_file(self.source),), outputs=(local_file(self.target),))


with DAG(
    dag_id="lineage_probe",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "platform", "retries": 2},
    tags=["lineage"],
) as dag:
    CopyFile(task_id="copy", source=str(DATA_DIR / "input.txt"), target=str(DATA_DIR / "output.txt"))


def _timed_listener_hooks() -> tuple[list[str], list[dict[str, Any]]]:
    """Register a timer around every task-instance listener hook; return the listeners and the timings."""
    from airflow.sdk.listener import get_listener_manager

    manager = get_listener_manager()
    started: dict[str, float] = {}
    timings: list[dict[str, Any]] = []

    def before(hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        started[hook_name] = time.monotonic()

    def after(outcome: Any, hook_name: str, hook_impls: list[Any], kwargs: dict[str, Any]) -> None:
        if hook_name.startswith("on_task_instance_"):
            timings.append({"hook": hook_name, "seconds": round(time.monotonic() - started[hook_name], 3)})

    manager.pm.add_hookcall_monitoring(before, after)
    return [type(plugin).__name__ for plugin in manager.pm.get_plugins()], timings


if __name__ == "__main__":
    listeners, timings = _timed_listener_hooks()
    began = time.monotonic()
    run = dag.test()
    report = {
        "state": str(run.state),
        "seconds": round(time.monotonic() - began, 3),
        "listeners": listeners,
        "hooks": timings,
    }
    Path(os.environ["LINEAGE_PROBE_REPORT"]).write_text(json.dumps(report))
