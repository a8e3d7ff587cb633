"""Sensor that waits for a Kubeflow Pipelines run to succeed (deferrable, poke or reschedule)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, conf

from airflow_platform.hooks.kubeflow import KubeflowPipelinesHook, KubeflowTransientError
from airflow_platform.operators.kubeflow import check_terminal_run, complete_from_event
from airflow_platform.triggers.kubeflow import KubeflowRunTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class KubeflowPipelineRunSensor(BaseSensorOperator):
    """Wait until a KFP run SUCCEEDED; a run that ends FAILED, CANCELED or SKIPPED fails the task at once.

    Transient API errors (connection refused, timeouts, 5xx) count as "not yet" and are retried until
    the sensor's ``timeout``; an unknown run or rejected credentials fail fast.

    Args:
        run_id: The KFP run id (templated; e.g. the XCom of :class:`KubeflowPipelineOperator`).
        kubeflow_conn_id: The Airflow connection of the KFP API.
        deferrable: Wait in the triggerer (default ``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = ("run_id",)

    def __init__(
        self,
        *,
        run_id: str,
        kubeflow_conn_id: str = KubeflowPipelinesHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not run_id:
            raise ValueError("run_id must not be empty")
        self.run_id = run_id
        self.kubeflow_conn_id = kubeflow_conn_id
        self.deferrable = deferrable

    def poke(self, context: Context) -> bool:
        """Return whether the run SUCCEEDED; fail at once when it ended otherwise."""
        hook = KubeflowPipelinesHook(self.kubeflow_conn_id)
        try:
            run = hook.get_run(self.run_id)
        except KubeflowTransientError as err:
            self.log.warning("%s", err)
            return False
        finally:
            hook.close()
        return check_terminal_run(run)

    def execute(self, context: Context) -> Any:
        """Wait for the run (deferring to the triggerer when ``deferrable``); return the run id."""
        if not self.deferrable:
            super().execute(context)
            return self.run_id
        if self.poke(context):
            return self.run_id
        self.defer(
            trigger=KubeflowRunTrigger(
                run_id=self.run_id,
                kubeflow_conn_id=self.kubeflow_conn_id,
                poll_interval=float(self.poke_interval),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Resume after the trigger fired: return the run id or fail at once."""
        return complete_from_event(event)
