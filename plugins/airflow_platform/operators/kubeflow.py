"""Operators for Kubeflow Pipelines: start a pipeline run (optionally waiting), get-or-create experiments."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator, conf
from airflow.sdk.exceptions import AirflowFailException

from airflow_platform.conditions.kubeflow import kfp_run_check
from airflow_platform.exceptions import PlatformTransientError, fail_task_on_permanent_error
from airflow_platform.hooks.kubeflow import SERVICE, KubeflowPipelinesHook
from airflow_platform.polling.checks import Outcome, drive_check, event_details
from airflow_platform.triggers.kubeflow import KubeflowRunTrigger
from airflow_platform.utils.arguments import set_required
from airflow_platform.utils.backoff import BackoffPolicy

if TYPE_CHECKING:
    from airflow.sdk import Context


class KubeflowBaseOperator(BaseOperator):
    """Shared wiring of the KFP operators: the connection, and a hook whose permanent errors fail the task.

    Args:
        kubeflow_conn_id: The Airflow connection of the KFP API (``extra.namespace`` applies).
    """

    def __init__(
        self, *, kubeflow_conn_id: str = KubeflowPipelinesHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.kubeflow_conn_id = kubeflow_conn_id

    @contextmanager
    def hook(self) -> Iterator[KubeflowPipelinesHook]:
        """A hook for the duration of the block; a permanent API error fails the task at once."""
        hook = KubeflowPipelinesHook(self.kubeflow_conn_id)
        with fail_task_on_permanent_error(), closing(hook):
            yield hook


class KubeflowExperimentOperator(KubeflowBaseOperator):
    """Get or create a KFP experiment by display name (idempotent); return its experiment id.

    Args:
        experiment_name: The experiment's display name (templated).
        description: Used only when the experiment is created.
        **kwargs: See :class:`KubeflowBaseOperator`.
    """

    template_fields: Sequence[str] = ("experiment_name", "description")

    def __init__(self, *, experiment_name: str, description: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        set_required(self, experiment_name=experiment_name)
        self.description = description

    def execute(self, context: Context) -> str:
        """Return the experiment id, creating the experiment if it does not exist."""
        with self.hook() as hook:
            experiment, created = hook.get_or_create_experiment(self.experiment_name, self.description)
        verb = "Created" if created else "Found"
        self.log.info("%s KFP experiment %r (%s)", verb, self.experiment_name, experiment["experiment_id"])
        return str(experiment["experiment_id"])


class KubeflowPipelineOperator(KubeflowBaseOperator):
    """Start a Kubeflow Pipelines run and optionally wait for it; return the run id.

    The pipeline is found by ``pipeline_id`` or by ``pipeline_name`` (its display name); the experiment
    by ``experiment_id`` or get-or-created by ``experiment_name``. With ``wait_for_completion`` the task
    waits until the run ends: in the triggerer when ``deferrable`` (default ``[operators]
    default_deferrable``), else by polling in the worker. A run that ends FAILED, CANCELED or SKIPPED
    fails the task at once, without retries; unknown pipelines and experiments fail fast too.

    Args:
        pipeline_id: The pipeline id (exclusive with ``pipeline_name``).
        pipeline_name: The pipeline display name, unique in the namespace.
        pipeline_version_id: A version of the pipeline; default: the latest.
        experiment_id: An existing experiment id (exclusive with ``experiment_name``).
        experiment_name: An experiment display name; created if missing.
        run_name: The run's display name; default ``<dag_id>-<task_id>-<run_id>``.
        parameters: Pipeline parameters (templated).
        service_account: Kubernetes service account for the run's pods.
        wait_for_completion: Wait for the run to end.
        poll_interval: Seconds between status polls.
        wait_timeout: Give up waiting after this long (``None``: the task's ``execution_timeout``).
        deferrable: Wait in the triggerer instead of occupying a worker slot.
        **kwargs: See :class:`KubeflowBaseOperator`.
    """

    template_fields: Sequence[str] = (
        "pipeline_id",
        "pipeline_name",
        "pipeline_version_id",
        "experiment_id",
        "experiment_name",
        "run_name",
        "parameters",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"parameters": "json"}

    def __init__(
        self,
        *,
        pipeline_id: str | None = None,
        pipeline_name: str | None = None,
        pipeline_version_id: str | None = None,
        experiment_id: str | None = None,
        experiment_name: str | None = None,
        run_name: str | None = None,
        parameters: dict[str, Any] | None = None,
        service_account: str | None = None,
        wait_for_completion: bool = True,
        poll_interval: float = 30.0,
        wait_timeout: timedelta | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if bool(pipeline_id) == bool(pipeline_name):
            raise ValueError("Pass exactly one of pipeline_id or pipeline_name")
        if bool(experiment_id) == bool(experiment_name):
            raise ValueError("Pass exactly one of experiment_id or experiment_name")
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self.pipeline_id = pipeline_id
        self.pipeline_name = pipeline_name
        self.pipeline_version_id = pipeline_version_id
        self.experiment_id = experiment_id
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.parameters = parameters or {}
        self.service_account = service_account
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout
        self.deferrable = deferrable

    def execute(self, context: Context) -> str:
        """Start the run; wait for it if asked; return the run id."""
        with self.hook() as hook:
            run_id = self._start_run(hook, context)
            if not self.wait_for_completion:
                return run_id
            if self.deferrable:
                self.defer(
                    trigger=KubeflowRunTrigger(
                        run_id=run_id,
                        kubeflow_conn_id=self.kubeflow_conn_id,
                        poll_interval=self.poll_interval,
                    ),
                    method_name="execute_complete",
                    timeout=self.wait_timeout or self.execution_timeout,
                )
            self._wait(hook, run_id)
            return run_id

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Resume after the trigger fired: return the run id or fail at once."""
        run_id = str(event_details(event, SERVICE)["run_id"])
        self.log.info("KFP run %s SUCCEEDED", run_id)
        return run_id

    def _start_run(self, hook: KubeflowPipelinesHook, context: Context) -> str:
        if self.pipeline_id:
            pipeline = hook.get_pipeline(self.pipeline_id)
        else:
            pipeline = hook.find_pipeline(str(self.pipeline_name))
        if self.experiment_id:
            experiment = hook.get_experiment(self.experiment_id)
        else:
            experiment, _ = hook.get_or_create_experiment(str(self.experiment_name))
        run_name = self.run_name or f"{self.dag_id}-{self.task_id}-{context['run_id']}"
        run = hook.create_run(
            display_name=run_name,
            pipeline_id=pipeline["pipeline_id"],
            pipeline_version_id=self.pipeline_version_id,
            experiment_id=experiment["experiment_id"],
            parameters=self.parameters,
            service_account=self.service_account,
        )
        self.log.info(
            "Started KFP run %s (%r) of pipeline %r in experiment %r",
            run["run_id"],
            run_name,
            pipeline.get("display_name"),
            experiment.get("display_name"),
        )
        return str(run["run_id"])

    def _wait(self, hook: KubeflowPipelinesHook, run_id: str) -> None:
        """Poll until the run ends; transient API errors are retried with backoff, within the deadline."""
        limit = self.wait_timeout or self.execution_timeout
        deadline = time.monotonic() + limit.total_seconds() if limit else None
        backoff = BackoffPolicy.from_poll_interval(self.poll_interval)
        failures = 0
        while True:
            try:
                outcome: Outcome | None = drive_check(kfp_run_check(run_id), hook.call)
            except PlatformTransientError as error:
                failures += 1
                delay = backoff.delay(failures)
                self.log.warning("%s (attempt %d); retrying in %.1fs", error, failures, delay)
            else:
                if outcome is not None:
                    if outcome.status != "success":
                        raise AirflowFailException(outcome.message)
                    self.log.info("%s", outcome.message)
                    return
                failures = 0
                delay = self.poll_interval
                self.log.info("KFP run %s is not finished", run_id)
            if deadline is not None and time.monotonic() + delay > deadline:
                raise AirflowFailException(f"KFP run {run_id!r} did not finish within {limit}")
            time.sleep(delay)
