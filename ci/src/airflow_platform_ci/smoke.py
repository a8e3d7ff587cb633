"""Smoke test of a deployed Airflow through its REST API: trigger one DAG run and wait for success.

Run as a script inside a container (standard library only): ``python smoke.py``, configured by the
environment variables ``AIRFLOW_API_URL``, ``AIRFLOW_USERNAME``, ``AIRFLOW_PASSWORD`` and
``SMOKE_DAG_ID``. Exits non-zero with the run's state when the run does not succeed in time.
"""

import json
import os
import sys
import time
import urllib.request
from typing import Any

TERMINAL_STATES = frozenset({"success", "failed"})


def call(method: str, url: str, token: str | None = None, body: object = None) -> Any:
    """Send a JSON request and return the decoded JSON answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - http(s) URL we build
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


def main() -> int:
    """Log in, unpause and trigger the smoke DAG, and wait for its run to finish."""
    api = os.environ["AIRFLOW_API_URL"].rstrip("/")
    dag_id = os.environ["SMOKE_DAG_ID"]
    credentials = {"username": os.environ["AIRFLOW_USERNAME"], "password": os.environ["AIRFLOW_PASSWORD"]}
    token = call("POST", f"{api}/auth/token", body=credentials)["access_token"]
    call("PATCH", f"{api}/api/v2/dags/{dag_id}", token, {"is_paused": False})
    run = call("POST", f"{api}/api/v2/dags/{dag_id}/dagRuns", token, {"logical_date": None})
    run_url = f"{api}/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}"
    deadline = time.monotonic() + float(os.environ.get("SMOKE_TIMEOUT_SECONDS", "600"))
    state = run["state"]
    while state not in TERMINAL_STATES and time.monotonic() < deadline:
        time.sleep(5)
        state = call("GET", run_url, token)["state"]
    print(f"{dag_id} run {run['dag_run_id']}: {state}")
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
