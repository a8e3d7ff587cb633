"""Triggers that wait on MLflow in the triggerer: a run's end, a model's stage or alias, a metric.

All MLflow triggers against one tracking server (and credential) in a triggerer share one poller,
which asks once per interval for all of them: one ``runs/search`` by run ids for the run triggers, one
``model-versions/search`` by model names for the stage triggers (see
:mod:`airflow_platform.hooks.mlflow_batches`). The checks are those of
:mod:`airflow_platform.conditions.mlflow`, which the sensors' ``poke`` runs too. Trigger kwargs hold
only the connection id, never the credential, which the triggerer reads from the connection itself.
"""

from __future__ import annotations

from typing import Any

from airflow_platform.conditions.mlflow import (
    model_alias_check,
    model_performance_check,
    model_stage_check,
    run_complete_check,
    validate_comparison,
    validate_stage,
)
from airflow_platform.hooks.mlflow import SERVICE, MLflowHook
from airflow_platform.hooks.mlflow_batches import mlflow_batchers
from airflow_platform.polling.checks import Check
from airflow_platform.polling.poller import SharedPoller
from airflow_platform.polling.trigger import PlatformPollingTrigger
from airflow_platform.utils.backoff import BackoffPolicy


class MLflowPollingTrigger(PlatformPollingTrigger):
    """Base of the MLflow triggers: the connection, the backoff settings and the shared MLflow poller.

    Args:
        mlflow_conn_id: The MLflow connection id (read in the triggerer; never serialised with a secret).
        poll_interval: Seconds between checks while the awaited state is not reached.
        backoff_initial: First wait after a transient error, doubled per consecutive failure.
        backoff_max: Upper bound of that wait.
    """

    service = SERVICE
    settings_fields = ("mlflow_conn_id", "poll_interval", "backoff_initial", "backoff_max")

    def __init__(
        self,
        *,
        mlflow_conn_id: str = MLflowHook.default_conn_name,
        poll_interval: float = 30.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        super().__init__(poll_interval=float(poll_interval))
        self.mlflow_conn_id = mlflow_conn_id
        self.backoff_initial = backoff_initial
        self.backoff_max = max(backoff_initial, backoff_max)
        self.backoff()  # validates the settings

    def backoff(self) -> BackoffPolicy:
        """The waits after consecutive transient errors, from ``backoff_initial`` to ``backoff_max``."""
        return BackoffPolicy(initial=self.backoff_initial, maximum=self.backoff_max)

    async def poller(self) -> SharedPoller:
        """The poller of this connection's tracking server and credential."""
        endpoint = await MLflowHook.aget_endpoint(self.mlflow_conn_id)
        return SharedPoller.shared(
            ("mlflow", endpoint.fingerprint),
            lambda: MLflowHook.async_rest_client(endpoint),
            mlflow_batchers,
        )


class MLflowRunCompleteTrigger(MLflowPollingTrigger):
    """Fire when an MLflow run is FINISHED (``success``) or FAILED/KILLED (``failed``)."""

    check_fields = ("run_id",)

    def __init__(self, run_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id

    def check(self) -> Check:
        """Check the run's status."""
        return run_complete_check(self.run_id)


class MLflowModelStageTrigger(MLflowPollingTrigger):
    """Fire when a model version (or any version) reaches a registry stage (deprecated upstream)."""

    check_fields = ("model_name", "stage", "version")

    def __init__(self, model_name: str, stage: str, version: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.stage = validate_stage(stage)
        self.version = None if version is None else str(version)

    def check(self) -> Check:
        """Check the stage of the version(s)."""
        return model_stage_check(self.model_name, self.stage, self.version)


class MLflowModelAliasTrigger(MLflowPollingTrigger):
    """Fire when a registered model has an alias (pointing at a given version, if set)."""

    check_fields = ("model_name", "alias", "version")

    def __init__(self, model_name: str, alias: str, version: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.alias = alias
        self.version = None if version is None else str(version)

    def check(self) -> Check:
        """Check the model's aliases."""
        return model_alias_check(self.model_name, self.alias, self.version)


class ModelPerformanceTrigger(MLflowPollingTrigger):
    """Fire when the best run of an experiment meets a metric threshold."""

    check_fields = ("experiment_name", "metric", "threshold", "comparison", "only_finished_runs")

    def __init__(
        self,
        experiment_name: str,
        metric: str,
        threshold: float,
        comparison: str = ">=",
        only_finished_runs: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.experiment_name = experiment_name
        self.metric = metric
        self.threshold = float(threshold)
        self.comparison = validate_comparison(comparison)
        self.only_finished_runs = only_finished_runs

    def check(self) -> Check:
        """Check the experiment's best run."""
        return model_performance_check(
            self.experiment_name, self.metric, self.threshold, self.comparison, self.only_finished_runs
        )
