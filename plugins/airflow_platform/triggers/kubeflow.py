"""Trigger that waits in the triggerer for a Kubeflow Pipelines run to reach a terminal state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_platform.hooks.kubeflow import (
    TERMINAL_STATES,
    KfpEndpoint,
    KubeflowPipelinesHook,
    KubeflowTransientError,
    classify_http_error,
    run_state,
)
from airflow_platform.utils.backoff import Backoff

MAX_BACKOFF_SECONDS = 300.0


def backoff_delay(poll_interval: float, failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive transient errors.

    Doubling from the poll interval up to ``MAX_BACKOFF_SECONDS``, with jitter so that many waiters
    do not retry in lockstep.
    """
    return Backoff(initial=poll_interval, maximum=max(MAX_BACKOFF_SECONDS, poll_interval)).delay(failures)


class KubeflowRunTrigger(BaseTrigger):
    """Poll ``GET /apis/v2beta1/runs/{run_id}`` asynchronously until the run ends.

    Fires one event: ``{"status": "success" | "failed" | "error", "run_id", "state", "message"}``.
    ``failed`` covers FAILED, CANCELED and SKIPPED (the run ended without succeeding: no more polling);
    ``error`` is a permanent API error (unknown run, rejected credentials). Transient errors (connection
    refused, timeouts, 5xx, 429) are retried with exponential backoff; the task's deferral timeout bounds
    the wait.

    Args:
        run_id: The KFP run id.
        kubeflow_conn_id: The Airflow connection of the KFP API.
        poll_interval: Seconds between polls while the run is not finished.
        request_timeout: Seconds before one request counts as a transient failure.
    """

    def __init__(
        self,
        run_id: str,
        kubeflow_conn_id: str = KubeflowPipelinesHook.default_conn_name,
        poll_interval: float = 30.0,
        request_timeout: float = 30.0,
    ) -> None:
        super().__init__()
        self.run_id = run_id
        self.kubeflow_conn_id = kubeflow_conn_id
        self.poll_interval = poll_interval
        self.request_timeout = request_timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Serialize the trigger's arguments (ids and timings only, never credentials)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "run_id": self.run_id,
                "kubeflow_conn_id": self.kubeflow_conn_id,
                "poll_interval": self.poll_interval,
                "request_timeout": self.request_timeout,
            },
        )

    async def _endpoint(self) -> KfpEndpoint:
        conn = await KubeflowPipelinesHook.aget_connection(self.kubeflow_conn_id)
        return KfpEndpoint.from_connection(conn, await conn.aextra_dejson())

    async def fetch_run(self, session: Any, endpoint: KfpEndpoint) -> dict[str, Any]:
        """GET the run once; raise :class:`KubeflowTransientError` or a permanent error."""
        import aiohttp

        url = f"{endpoint.base_url}/apis/v2beta1/runs/{self.run_id}"
        try:
            async with session.get(url, headers=endpoint.headers(), ssl=endpoint.verify_ssl) as response:
                if response.status != 200:
                    raise classify_http_error(response.status, f"run id {self.run_id!r}")
                return await response.json()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise KubeflowTransientError(
                f"KFP API unreachable for run id {self.run_id!r}: {type(err).__name__}"
            ) from None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the run is terminal; yield exactly one event."""
        import aiohttp

        try:
            endpoint = await self._endpoint()
        except Exception as err:
            yield self._event("error", None, f"cannot read connection {self.kubeflow_conn_id!r}: {err}")
            return
        failures = 0
        timeout = aiohttp.ClientTimeout(total=self.request_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                try:
                    run = await self.fetch_run(session, endpoint)
                except KubeflowTransientError as err:
                    failures += 1
                    delay = backoff_delay(self.poll_interval, failures)
                    self.log.warning("%s (attempt %d); retrying in %.1fs", err, failures, delay)
                    await asyncio.sleep(delay)
                    continue
                except Exception as err:
                    yield self._event("error", None, str(err))
                    return
                failures = 0
                state = run_state(run)
                if state in TERMINAL_STATES:
                    status = "success" if state == "SUCCEEDED" else "failed"
                    error = (run.get("error") or {}).get("message") or ""
                    yield self._event(
                        status, state, f"KFP run {self.run_id!r} ended {state}. {error}".strip()
                    )
                    return
                self.log.info("KFP run %s is %s; next poll in %.1fs", self.run_id, state, self.poll_interval)
                await asyncio.sleep(self.poll_interval)

    def _event(self, status: str, state: str | None, message: str) -> TriggerEvent:
        return TriggerEvent({"status": status, "run_id": self.run_id, "state": state, "message": message})
