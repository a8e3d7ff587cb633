"""Trigger that waits in the triggerer for a Kubeflow Pipelines run to reach a terminal state.

All run triggers against one KFP API (and token) in a triggerer share one poller: it reads each run
once per interval (the API has no read of many runs by id), and a run waited on by several triggers
only once.
"""

from __future__ import annotations

from airflow_platform.conditions.kubeflow import kfp_run_check
from airflow_platform.hooks.kubeflow import SERVICE, KubeflowPipelinesHook
from airflow_platform.polling.checks import Check
from airflow_platform.polling.poller import SharedPoller
from airflow_platform.polling.trigger import PlatformPollingTrigger


class KubeflowRunTrigger(PlatformPollingTrigger):
    """Poll ``GET /apis/v2beta1/runs/{run_id}`` asynchronously until the run ends.

    Fires one event ``{status, message, details: {run_id, state}}``: ``success`` (SUCCEEDED),
    ``failed`` (FAILED, CANCELED or SKIPPED: the run ended without succeeding) or ``error`` (a permanent
    API error: unknown run, rejected credentials). Transient errors (connection refused, timeouts, 5xx,
    429) are retried with exponential backoff; the task's deferral timeout bounds the wait.

    Args:
        run_id: The KFP run id.
        kubeflow_conn_id: The Airflow connection of the KFP API.
        poll_interval: Seconds between polls while the run is not finished.
        request_timeout: Seconds before one request counts as a transient failure.
    """

    service = SERVICE
    check_fields = ("run_id",)
    settings_fields = ("kubeflow_conn_id", "poll_interval", "request_timeout")

    def __init__(
        self,
        run_id: str,
        kubeflow_conn_id: str = KubeflowPipelinesHook.default_conn_name,
        poll_interval: float = 30.0,
        request_timeout: float = 30.0,
    ) -> None:
        super().__init__(poll_interval=poll_interval)
        self.run_id = run_id
        self.kubeflow_conn_id = kubeflow_conn_id
        self.request_timeout = request_timeout

    def check(self) -> Check:
        """Check the run's state."""
        return kfp_run_check(self.run_id)

    async def poller(self) -> SharedPoller:
        """The poller of this connection's API and token."""
        endpoint = await KubeflowPipelinesHook.aget_rest_endpoint(self.kubeflow_conn_id, self.request_timeout)
        return SharedPoller.shared(
            ("kubeflow", endpoint.fingerprint), lambda: KubeflowPipelinesHook.async_rest_client(endpoint)
        )
