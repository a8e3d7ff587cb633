"""The REST API of a loopback Airflow deployment, through the official client ``apache-airflow-client``.

:class:`AirflowRestClient` authenticates as one of the deployment's users (a JWT from FAB's
``/auth/token``, see :mod:`platform_devkit.loopback.airflow_fab_api`) and calls ``/api/v2`` through
``airflow_client.client``: health, DAGs and their versions, import errors, triggering runs, waiting for
them and for their tasks, task instances, human-in-the-loop answers and asset events. Results are returned
as the API's JSON (``dict``), the shape tests assert on.

:meth:`AirflowRestClient.http` is the one raw HTTP client left, for tests that must send what the
official client would not (no token, a forged token, a body a role may not send) and read the bare
status code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from airflow_client.client import (
    ApiClient,
    AssetApi,
    Configuration,
    DAGApi,
    DagRunApi,
    DagVersionApi,
    ImportErrorApi,
    MonitorApi,
    TaskInstanceApi,
    TriggerDAGRunPostBody,
    UpdateHITLDetailPayload,
    XComApi,
)
from airflow_client.client.exceptions import ApiException, NotFoundException
from pydantic import BaseModel

from platform_devkit.loopback.airflow_fab_api import Credentials, fab_token
from platform_devkit.loopback.base import ServiceError

PAGE = 500
POLL_SECONDS = 2.0
REQUEST_TIMEOUT = 30.0


def as_json(model: BaseModel) -> dict[str, Any]:
    """Return a response model as the API's JSON object (ISO dates, enum values, wire names)."""
    return model.model_dump(mode="json", by_alias=True)


class AirflowRestClient:
    """The api-server of one deployment, as each of its users sees it.

    Args:
        api_url: The api-server's base URL.
        users: The deployment's users by role (read when a token is first needed).
    """

    def __init__(self, api_url: str, users: Mapping[str, Credentials]) -> None:
        self.api_url = api_url
        self.users = users
        self._tokens: dict[str, str] = {}

    def token_for(self, role: str) -> str:
        """Return (cached) a JWT for the user holding ``role``."""
        if role not in self._tokens:
            self._tokens[role] = fab_token(self.api_url, self.users[role])
        return self._tokens[role]

    @contextmanager
    def official(self, role: str | None = "Admin") -> Iterator[ApiClient]:
        """Yield an official API client authenticated as ``role`` (``None``: anonymous)."""
        configuration = Configuration(host=self.api_url)
        if role is not None:
            configuration.access_token = self.token_for(role)
        with ApiClient(configuration) as client:
            yield client

    def http(self, role: str | None = "Admin", *, timeout: float = 30.0) -> httpx.Client:
        """Return a raw HTTP client on the api-server, authenticated as ``role`` (``None``: anonymous)."""
        headers = {"Authorization": f"Bearer {self.token_for(role)}"} if role else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=timeout)

    def health(self) -> dict[str, Any]:
        """Return ``GET /api/v2/monitor/health`` (public, no authentication)."""
        with self.official(None) as client:
            return as_json(MonitorApi(client).get_health(_request_timeout=5))

    def component_healthy(self, component: str, *, since: datetime | None = None) -> bool:
        """Tell whether the health endpoint reports ``component`` healthy, heartbeat after ``since``."""
        info = self.health().get(component) or {}
        heartbeat = info.get(f"latest_{component}_heartbeat")
        if info.get("status") != "healthy" or not heartbeat:
            return False
        return since is None or datetime.fromisoformat(heartbeat) > since

    def dags(self, bundle_name: str) -> list[dict[str, Any]]:
        """Return the DAGs of a bundle."""
        with self.official() as client:
            return [
                as_json(dag)
                for dag in DAGApi(client)
                .get_dags(limit=PAGE, bundle_name=bundle_name, _request_timeout=REQUEST_TIMEOUT)
                .dags
            ]

    def import_errors(self, bundle_name: str | None = None) -> list[dict[str, Any]]:
        """Return the import errors, of one bundle or of all."""
        with self.official() as client:
            errors = ImportErrorApi(client).get_import_errors(
                limit=PAGE, bundle_name=bundle_name, _request_timeout=REQUEST_TIMEOUT
            )
        return [as_json(error) for error in errors.import_errors]

    def wait_for_dag(self, dag_id: str, *, timeout: float = 180.0) -> dict[str, Any]:
        """Wait until the dag-processor has serialized ``dag_id``; return ``GET /api/v2/dags/{dag_id}``."""
        deadline = time.monotonic() + timeout
        with self.official() as client:
            while True:
                try:
                    return as_json(DAGApi(client).get_dag(dag_id, _request_timeout=REQUEST_TIMEOUT))
                except NotFoundException:
                    if time.monotonic() > deadline:
                        raise ServiceError(
                            f"DAG {dag_id!r} not loaded within {timeout:.0f}s; "
                            f"import errors: {self.import_errors()}"
                        ) from None
                time.sleep(POLL_SECONDS)

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, *, role: str = "Admin") -> str:
        """Trigger a run of ``dag_id`` as ``role`` (``POST /api/v2/dags/{dag_id}/dagRuns``); return its id."""
        body = TriggerDAGRunPostBody(logical_date=None, conf=dict(conf or {}))
        with self.official(role) as client:
            try:
                return (
                    DagRunApi(client)
                    .trigger_dag_run(dag_id, body, _request_timeout=REQUEST_TIMEOUT)
                    .dag_run_id
                )
            except ApiException as error:
                raise ServiceError(f"triggering {dag_id} answered {error.status}: {error.body}") from None

    def wait_for_run(self, dag_id: str, run_id: str, *, timeout: float = 300.0) -> dict[str, Any]:
        """Wait until a run is ``success`` or ``failed``; return ``GET .../dagRuns/{run_id}``.

        Raises:
            TimeoutError: the run is still going after ``timeout`` seconds (the message has its tasks).
        """
        deadline = time.monotonic() + timeout
        with self.official() as client:
            while True:
                run = as_json(DagRunApi(client).get_dag_run(dag_id, run_id, _request_timeout=REQUEST_TIMEOUT))
                if run.get("state") in {"success", "failed"}:
                    return run
                if time.monotonic() > deadline:
                    states = {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}
                    raise TimeoutError(
                        f"{dag_id} run {run_id} is {run.get('state')} after {timeout:.0f}s: {states}"
                    )
                time.sleep(POLL_SECONDS)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return every task instance of a run (mapped ones once per map index)."""
        with self.official() as client:
            found = TaskInstanceApi(client).get_task_instances(
                dag_id, run_id, limit=PAGE, _request_timeout=REQUEST_TIMEOUT
            )
        return [as_json(ti) for ti in found.task_instances]

    def runs(self, dag_id: str, *, run_type: str | None = None) -> list[dict[str, Any]]:
        """Return the runs of ``dag_id``, oldest first (of one ``run_type`` only, if given)."""
        with self.official() as client:
            found = DagRunApi(client).get_dag_runs(
                dag_id,
                limit=PAGE,
                run_type=[run_type] if run_type else None,
                order_by=["run_after"],
                _request_timeout=REQUEST_TIMEOUT,
            )
        return [as_json(run) for run in found.dag_runs]

    def wait_for_new_run(self, dag_id: str, run_type: str, *, timeout: float = 300.0) -> dict[str, Any]:
        """Wait until ``dag_id`` has a run of ``run_type`` (e.g. one the scheduler created); return the first.

        Raises:
            TimeoutError: none appeared within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while not (found := self.runs(dag_id, run_type=run_type)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {run_type} run of {dag_id} within {timeout:.0f}s")
            time.sleep(POLL_SECONDS)
        return found[0]

    def wait_for_task(
        self, dag_id: str, run_id: str, task_id: str, states: set[str], *, timeout: float = 300.0
    ) -> dict[str, Any]:
        """Wait until a task instance of a run is in one of ``states``; return it.

        Raises:
            TimeoutError: it is still elsewhere after ``timeout`` seconds (the message says where).
        """
        deadline = time.monotonic() + timeout
        while True:
            found = {ti["task_id"]: ti for ti in self.task_instances(dag_id, run_id)}
            state = found.get(task_id, {}).get("state")
            if state in states:
                return found[task_id]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id} {task_id} is {state}, not {sorted(states)}")
            time.sleep(POLL_SECONDS / 2)

    def approval(self, dag_id: str, run_id: str, task_id: str, *, role: str = "Admin") -> dict[str, Any]:
        """Return a human-in-the-loop task's request and answer (``GET .../{task_id}/-1/hitlDetails``)."""
        with self.official(role) as client:
            return as_json(
                TaskInstanceApi(client).get_hitl_detail(
                    dag_id, run_id, task_id, -1, _request_timeout=REQUEST_TIMEOUT
                )
            )

    def answer_approval(
        self, dag_id: str, run_id: str, task_id: str, chosen: list[str], *, role: str
    ) -> dict[str, Any]:
        """Answer a human-in-the-loop task as the user of ``role`` (``PATCH .../hitlDetails``).

        Raises:
            airflow_client.client.exceptions.ApiException: the api-server refused (e.g. 403 for a role
                that may not answer); its ``status`` is the HTTP status.
        """
        payload = UpdateHITLDetailPayload(chosen_options=chosen, params_input={})
        with self.official(role) as client:
            return as_json(
                TaskInstanceApi(client).update_hitl_detail(
                    dag_id, run_id, task_id, -1, payload, _request_timeout=REQUEST_TIMEOUT
                )
            )

    def dag_versions(self, dag_id: str) -> list[dict[str, Any]]:
        """Return the versions of ``dag_id`` (``GET /api/v2/dags/{dag_id}/dagVersions``), oldest first."""
        with self.official() as client:
            found = DagVersionApi(client).get_dag_versions(
                dag_id, limit=PAGE, order_by=["version_number"], _request_timeout=REQUEST_TIMEOUT
            )
        return [as_json(version) for version in found.dag_versions]

    def asset_events(self, asset_name: str) -> list[dict[str, Any]]:
        """Return the events of the asset named ``asset_name``, oldest first, with the runs they created."""
        with self.official() as client:
            assets = AssetApi(client)
            (asset,) = [
                found
                for found in assets.get_assets(
                    name_pattern=asset_name, _request_timeout=REQUEST_TIMEOUT
                ).assets
                if found.name == asset_name
            ]
            events = assets.get_asset_events(
                asset_id=asset.id, limit=PAGE, order_by=["timestamp"], _request_timeout=REQUEST_TIMEOUT
            )
        return [as_json(event) for event in events.asset_events]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """Return a task's XCom value, deserialized (``GET .../xcomEntries/{key}?deserialize=true``)."""
        with self.official() as client:
            entry = XComApi(client).get_xcom_entry(
                dag_id, task_id, run_id, key, deserialize=True, _request_timeout=REQUEST_TIMEOUT
            )
        return as_json(entry)["value"]
