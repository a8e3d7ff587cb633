"""Sensor that waits for a Kubeflow Pipelines run to succeed (deferrable, poke or reschedule)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_platform.hooks.kubeflow import SERVICE, KubeflowPipelinesHook
from airflow_platform.polling.sensor import PlatformDeferrableSensor
from airflow_platform.triggers.kubeflow import KubeflowRunTrigger
from airflow_platform.utils.arguments import set_required
from airflow_platform.utils.http import RestClient


class KubeflowPipelineRunSensor(PlatformDeferrableSensor):
    """Wait until a KFP run SUCCEEDED; a run that ends FAILED, CANCELED or SKIPPED fails the task at once.

    Transient API errors (connection refused, timeouts, 5xx) count as "not yet" and are retried until
    the sensor's ``timeout``; an unknown run or rejected credentials fail fast. Returns the run id.

    Args:
        run_id: The KFP run id (templated; e.g. the XCom of :class:`KubeflowPipelineOperator`).
        kubeflow_conn_id: The Airflow connection of the KFP API.
        **kwargs: See :class:`~airflow_platform.polling.sensor.PlatformDeferrableSensor`.
    """

    template_fields: Sequence[str] = ("run_id",)
    service = SERVICE

    def __init__(
        self, *, run_id: str, kubeflow_conn_id: str = KubeflowPipelinesHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        set_required(self, run_id=run_id, kubeflow_conn_id=kubeflow_conn_id)

    def build_trigger(self) -> KubeflowRunTrigger:
        """Return the run trigger."""
        return KubeflowRunTrigger(
            run_id=self.run_id,
            kubeflow_conn_id=self.kubeflow_conn_id,
            poll_interval=float(self.poke_interval),
        )

    def sync_client(self) -> RestClient:
        """Return the blocking REST client of the KFP API for one poke."""
        return KubeflowPipelinesHook(self.kubeflow_conn_id).get_conn()

    def xcom_value(self, details: dict[str, Any]) -> str:
        """The run id."""
        return self.run_id
