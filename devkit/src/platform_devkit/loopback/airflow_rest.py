"""The REST API of a loopback Airflow deployment, through the official client ``apache-airflow-client``.

:class:`AirflowRestClient` authenticates as one of the deployment's users (a JWT from FAB's
``/auth/token``, see :mod:`platform_devkit.loopback.airflow_fab_api`) and calls ``/api/v2`` through
``airflow_client.client``: health, DAGs and their versions, import errors, triggering runs and waiting
for them, their task instances (waiting for a state, their tries, their logs), human-in-the-loop
answers, XComs and asset events. Results are returned as the API's JSON (``dict``), the shape tests
assert on.

:meth:`AirflowRestClient.http` is the one raw HTTP client left, for tests that must send what the
official client would not (no token, a forged token, a body a role may not send) and read the bare
status code, and for task logs, whose records the official client's model trims.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
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
from platform_devkit.loopback.base import ServiceError, poll

PAGE = 500
POLL_SECONDS = 2.0
REQUEST_TIMEOUT = 30.0
FINISHED_TASK_STATES = frozenset({"success", "failed", "upstream_failed", "skipped", "removed"})
"""Task instance states a task does not leave within its run."""


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
        with self.official() as client:

            def serialized() -> dict[str, Any]:
                """The DAG's details, or ``{}`` while it is not serialized."""
                try:
                    return as_json(DAGApi(client).get_dag(dag_id, _request_timeout=REQUEST_TIMEOUT))
                except NotFoundException:
                    return {}

            return poll(
                serialized,
                timeout=timeout,
                interval=POLL_SECONDS,
                failure=lambda _: (
                    f"DAG {dag_id!r} not loaded within {timeout:.0f}s; import errors: {self.import_errors()}"
                ),
                error=ServiceError,
            )

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

    def wait_for_run(
        self, dag_id: str, run_id: str, *, timeout: float = 300.0, interval: float = POLL_SECONDS
    ) -> dict[str, Any]:
        """Wait until a run is ``success`` or ``failed``; return ``GET .../dagRuns/{run_id}``.

        Raises:
            TimeoutError: the run is still going after ``timeout`` seconds (the message has its tasks).
        """
        with self.official() as client:
            return poll(
                lambda: as_json(
                    DagRunApi(client).get_dag_run(dag_id, run_id, _request_timeout=REQUEST_TIMEOUT)
                ),
                until=lambda run: run.get("state") in {"success", "failed"},
                timeout=timeout,
                interval=interval,
                failure=lambda run: (
                    f"{dag_id} run {run_id} is {run.get('state')} after {timeout:.0f}s: "
                    f"{self.task_states(dag_id, run_id)}"
                ),
            )

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
        found = poll(
            lambda: self.runs(dag_id, run_type=run_type),
            timeout=timeout,
            interval=POLL_SECONDS,
            failure=lambda _: f"no {run_type} run of {dag_id} within {timeout:.0f}s",
        )
        return found[0]

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """Return one (unmapped) task instance: ``GET .../taskInstances/{task_id}``."""
        with self.official() as client:
            return as_json(
                TaskInstanceApi(client).get_task_instance(
                    dag_id, run_id, task_id, _request_timeout=REQUEST_TIMEOUT
                )
            )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Return the state of each (unmapped) task instance of a run, by task id."""
        return {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def wait_for_tasks(
        self,
        dag_id: str,
        run_id: str,
        task_ids: Collection[str],
        state: str,
        *,
        timeout: float = 180.0,
        interval: float = 0.5,
    ) -> dict[str, dict[str, Any]]:
        """Wait until every task in ``task_ids`` is in ``state``; return their task instances by id.

        Raises:
            ServiceError: one of them finished in another state first (it cannot reach ``state`` now).
            TimeoutError: they are not all in ``state`` after ``timeout`` seconds.
        """

        def observe() -> tuple[dict[str, dict[str, Any]], dict[str, str | None]]:
            found = {ti["task_id"]: ti for ti in self.task_instances(dag_id, run_id)}
            states = {task_id: (found.get(task_id) or {}).get("state") for task_id in task_ids}
            finished = {task_id: value for task_id, value in states.items() if value in FINISHED_TASK_STATES}
            if finished and state not in FINISHED_TASK_STATES:
                raise ServiceError(f"{dag_id} run {run_id}: {finished} will not become {state}: {states}")
            return found, states

        found, _ = poll(
            observe,
            until=lambda seen: all(value == state for value in seen[1].values()),
            timeout=timeout,
            interval=interval,
            failure=lambda seen: f"{dag_id} run {run_id}: not all {state} after {timeout:.0f}s: {seen[1]}",
        )
        return {task_id: found[task_id] for task_id in task_ids}

    def wait_for_triggers(
        self,
        dag_id: str,
        run_id: str,
        task_ids: Collection[str],
        *,
        not_by: Collection[int] = (),
        timeout: float = 120.0,
        interval: float = 0.5,
    ) -> dict[str, int]:
        """Wait until a triggerer job holds the trigger of each deferred task; return the jobs' ids by task.

        A job in ``not_by`` does not count (e.g. a killed triggerer whose job still holds the triggers).

        Raises:
            TimeoutError: some trigger is not held by another job after ``timeout`` seconds.
        """

        def holders() -> dict[str, int | None]:
            found = {ti["task_id"]: ti for ti in self.task_instances(dag_id, run_id)}
            return {
                task_id: ((found.get(task_id) or {}).get("trigger") or {}).get("triggerer_id")
                for task_id in task_ids
            }

        held = poll(
            holders,
            until=lambda held: all(job is not None and job not in not_by for job in held.values()),
            timeout=timeout,
            interval=interval,
            failure=lambda held: (
                f"{dag_id} run {run_id}: triggers not held by a job other than {sorted(not_by)} "
                f"after {timeout:.0f}s: {held}"
            ),
        )
        return {task_id: job for task_id, job in held.items() if job is not None}

    def task_tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        """Return the tries of a task instance, oldest first (``GET .../taskInstances/{task_id}/tries``)."""
        with self.official() as client:
            tries = TaskInstanceApi(client).get_task_instance_tries(
                dag_id, run_id, task_id, _request_timeout=REQUEST_TIMEOUT
            )
        return sorted((as_json(ti) for ti in tries.task_instances), key=lambda ti: ti["try_number"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """Return the whole log of one try, worker and triggerer lines alike, as one JSON text.

        ``GET .../taskInstances/{task_id}/logs/{try_number}?full_content=true``: each line is a structured
        record; the text is the records' JSON, for substring checks. Read raw: the official client's
        model of a record keeps only its ``event`` and ``timestamp``, and drops the other fields.
        """
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        with self.http(timeout=REQUEST_TIMEOUT) as client:
            response = client.get(path, params={"full_content": True}, headers={"Accept": "application/json"})
        response.raise_for_status()
        return json.dumps(response.json()["content"])

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
        # The response is an anyOf wrapper (native or string value); deserialize=True gives the native one.
        return as_json(entry.actual_instance)["value"]
