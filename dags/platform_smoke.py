"""Platform smoke test: the smallest run that proves a deployment schedules and runs tasks.

`dagger call cluster-e2e` deploys the image into a throw-away cluster and triggers this DAG through the REST
API; it succeeds when the scheduler queues both tasks, a Celery worker runs them, and the second one
receives the first one's XCom through the Execution API. It never runs on a schedule.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from airflow_platform.dag_defaults import default_args


@dag(
    dag_id="platform_smoke",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args=default_args("platform"),
    tags=["platform", "smoke"],
    doc_md=__doc__,
)
def platform_smoke():
    """Hand a value from one task to the next."""

    @task
    def emit() -> dict[str, str]:
        """Return the worker's host name: a value the next task must receive."""
        import socket

        return {"host": socket.gethostname()}

    @task
    def receive(payload: dict[str, str]) -> str:
        """Check that the XCom arrived."""
        if not payload.get("host"):
            raise ValueError(f"the XCom of 'emit' did not arrive: {payload!r}")
        return payload["host"]

    receive(emit())


platform_smoke()
