"""Sensors that wait on MLflow: a run's end, a model version's stage or alias, an experiment's best metric.

They are :class:`~airflow_platform.polling.sensor.PlatformDeferrableSensor` s: deferred, they hand a
trigger from :mod:`airflow_platform.triggers.mlflow` to the triggerer; not deferred, they poke in
``poke`` or ``reschedule`` mode. Both paths run the same check of :mod:`airflow_platform.conditions.mlflow`.

Errors: a permanent one (unknown run, model, version, alias or experiment; a run that ended FAILED or
KILLED) raises ``AirflowFailException`` at once. A transient one (server down, timeout, 5xx) only logs a
warning: the poke loop (or the trigger, with backoff) tries again until the sensor's ``timeout``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from airflow.sdk.exceptions import AirflowFailException

from airflow_platform.conditions.mlflow import validate_comparison, validate_stage
from airflow_platform.hooks.mlflow import SERVICE, MLflowHook
from airflow_platform.polling.sensor import PlatformDeferrableSensor
from airflow_platform.triggers.mlflow import (
    MLflowModelAliasTrigger,
    MLflowModelStageTrigger,
    MLflowPollingTrigger,
    MLflowRunCompleteTrigger,
    ModelPerformanceTrigger,
)
from airflow_platform.utils.arguments import set_required
from airflow_platform.utils.http import RestClient


def _is_template(value: object) -> bool:
    return isinstance(value, str) and "{{" in value


class MLflowBaseSensor(PlatformDeferrableSensor):
    """Shared wiring of the MLflow sensors: the connection, the trigger settings and the REST client.

    Args:
        mlflow_conn_id: The MLflow connection id.
        backoff_initial: In deferrable mode, the first wait after a transient error (doubled per failure).
        backoff_max: Upper bound of that wait.
        **kwargs: See :class:`~airflow_platform.polling.sensor.PlatformDeferrableSensor`.
    """

    ui_color = "#d5e8f7"
    service = SERVICE
    #: The trigger class; the sensor has an attribute for each of its ``check_fields``.
    trigger_class: ClassVar[type[MLflowPollingTrigger]]

    def __init__(
        self,
        *,
        mlflow_conn_id: str = MLflowHook.default_conn_name,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mlflow_conn_id = mlflow_conn_id
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max

    def build_trigger(self) -> MLflowPollingTrigger:
        """Return the trigger that waits for this sensor's condition (with rendered arguments)."""
        fields = {name: getattr(self, name) for name in self.trigger_class.check_fields}
        return self.trigger_class(**fields, **self._trigger_kwargs())

    def sync_client(self) -> RestClient:
        """Return the REST client of the connection's tracking server for one poke."""
        return MLflowHook(self.mlflow_conn_id).rest_client()

    def _trigger_kwargs(self) -> dict[str, Any]:
        return {
            "mlflow_conn_id": self.mlflow_conn_id,
            "poll_interval": float(self.poke_interval),
            "backoff_initial": self.backoff_initial,
            "backoff_max": self.backoff_max,
        }


class MLflowRunCompleteSensor(MLflowBaseSensor):
    """Wait until an MLflow run ends: succeed on FINISHED, fail on FAILED or KILLED.

    Args:
        run_id: The run to wait for (templated).
        **kwargs: See :class:`MLflowBaseSensor` and ``BaseSensorOperator``.
    """

    template_fields: Sequence[str] = ("run_id",)
    trigger_class = MLflowRunCompleteTrigger

    def __init__(self, *, run_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        set_required(self, run_id=run_id)


class MLflowModelStageSensor(MLflowBaseSensor):
    """Wait until a model version is in a registry stage (stages are deprecated upstream; prefer aliases).

    Args:
        model_name: The registered model (templated).
        stage: ``Staging``, ``Production``, ``Archived`` or ``None``.
        version: A version to watch (templated); without it, any version reaching the stage will do.
        **kwargs: See :class:`MLflowBaseSensor` and ``BaseSensorOperator``.
    """

    template_fields: Sequence[str] = ("model_name", "version")
    trigger_class = MLflowModelStageTrigger

    def __init__(
        self, *, model_name: str, stage: str, version: str | int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        set_required(self, model_name=model_name, stage=validate_stage(stage))
        self.version = None if version is None else str(version)


class MLflowModelAliasSensor(MLflowBaseSensor):
    """Wait until a registered model has an alias, optionally pointing at a given version.

    Args:
        model_name: The registered model (templated).
        alias: The alias, e.g. ``champion`` (templated).
        version: If set, wait until the alias points at this version (templated).
        **kwargs: See :class:`MLflowBaseSensor` and ``BaseSensorOperator``.
    """

    template_fields: Sequence[str] = ("model_name", "alias", "version")
    trigger_class = MLflowModelAliasTrigger

    def __init__(
        self, *, model_name: str, alias: str, version: str | int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        set_required(self, model_name=model_name, alias=alias)
        self.version = None if version is None else str(version)


class ModelPerformanceSensor(MLflowBaseSensor):
    """Wait until the best run of an experiment meets a metric threshold.

    Args:
        experiment_name: The experiment (templated).
        metric: The metric key, e.g. ``accuracy``.
        threshold: The bound to meet (templated, e.g. ``"{{ var.value.ml_accuracy_threshold }}"``).
        comparison: ``>``, ``>=`` (higher is better) or ``<``, ``<=`` (lower is better).
        only_finished_runs: Consider only runs that ended FINISHED.
        **kwargs: See :class:`MLflowBaseSensor` and ``BaseSensorOperator``.
    """

    template_fields: Sequence[str] = ("experiment_name", "threshold")
    trigger_class = ModelPerformanceTrigger

    def __init__(
        self,
        *,
        experiment_name: str,
        metric: str,
        threshold: float | str,
        comparison: str = ">=",
        only_finished_runs: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        set_required(self, experiment_name=experiment_name, metric=metric)
        if not _is_template(threshold):
            try:
                float(threshold)
            except (TypeError, ValueError):
                raise ValueError(f"threshold must be a number, got {threshold!r}") from None
        self.threshold = threshold
        self.comparison = validate_comparison(comparison)
        self.only_finished_runs = only_finished_runs

    def build_trigger(self) -> MLflowPollingTrigger:
        """Return the performance trigger (the rendered threshold must be a number)."""
        try:
            float(self.threshold)
        except (TypeError, ValueError):
            raise AirflowFailException(f"threshold must be a number, got {self.threshold!r}") from None
        return super().build_trigger()
