"""Sensors that wait on MLflow: a run's end, a model version's stage or alias, an experiment's best metric.

Every sensor is deferrable (``deferrable=`` defaults to ``[operators] default_deferrable``): deferred, it
hands a trigger from :mod:`airflow_platform.triggers.mlflow` to the triggerer and frees its worker slot;
not deferred, it pokes in ``poke`` or ``reschedule`` mode. Both paths run the same check, so they agree.

Errors: a permanent one (unknown run, model, version, alias or experiment; a run that ended FAILED or
KILLED) raises ``AirflowFailException`` at once. A transient one (server down, timeout, 5xx) only logs a
warning: the poke loop (or the trigger, with backoff) tries again until the sensor's ``timeout``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from airflow_platform.hooks.mlflow import MLflowHook, MLflowPermanentError, MLflowTransientError
from airflow_platform.triggers.mlflow import (
    MLflowModelAliasTrigger,
    MLflowModelStageTrigger,
    MLflowPollingTrigger,
    MLflowRunCompleteTrigger,
    ModelPerformanceTrigger,
    validate_comparison,
    validate_stage,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


def _is_template(value: object) -> bool:
    return isinstance(value, str) and "{{" in value


class MLflowBaseSensor(BaseSensorOperator):
    """Shared wiring of the MLflow sensors: deferral, poke through the REST API, error handling.

    Args:
        mlflow_conn_id: The MLflow connection id.
        deferrable: Wait in the triggerer instead of a worker slot.
        backoff_initial: In deferrable mode, the first wait after a transient error (doubled per failure).
        backoff_max: Upper bound of that wait.
    """

    ui_color = "#d5e8f7"

    def __init__(
        self,
        *,
        mlflow_conn_id: str = MLflowHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mlflow_conn_id = mlflow_conn_id
        self.deferrable = deferrable
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max

    def build_trigger(self) -> MLflowPollingTrigger:
        """Return the trigger that waits for this sensor's condition (with rendered arguments)."""
        raise NotImplementedError

    def _trigger_kwargs(self) -> dict[str, Any]:
        return {
            "mlflow_conn_id": self.mlflow_conn_id,
            "poll_interval": float(self.poke_interval),
            "backoff_initial": self.backoff_initial,
            "backoff_max": self.backoff_max,
        }

    def execute(self, context: Context) -> Any:
        """Defer to the triggerer, or poke in this worker when not deferrable."""
        if not self.deferrable:
            return super().execute(context)
        self.defer(
            trigger=self.build_trigger(),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )
        return None

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Run the check once; transient errors count as "not yet"."""
        hook = MLflowHook(self.mlflow_conn_id)
        try:
            with hook.rest_client() as client:
                outcome = client.run(self.build_trigger().check())
        except (MLflowPermanentError, AirflowNotFoundException) as exc:
            raise AirflowFailException(str(exc)) from None
        except MLflowTransientError as exc:
            self.log.warning("Transient MLflow error, will poke again: %s", exc)
            return False
        if outcome is None:
            return False
        if outcome.status != "success":
            raise AirflowFailException(outcome.message)
        self.log.info("%s", outcome.message)
        return PokeReturnValue(is_done=True, xcom_value=outcome.details)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: return its details, or fail with its message."""
        if not event or event.get("status") != "success":
            message = (event or {}).get("message", "the MLflow trigger ended without an event")
            raise AirflowFailException(message)
        self.log.info("%s", event.get("message", ""))
        return event.get("details", {})


class MLflowRunCompleteSensor(MLflowBaseSensor):
    """Wait until an MLflow run ends: succeed on FINISHED, fail on FAILED or KILLED.

    Args:
        run_id: The run to wait for (templated).
        **kwargs: See :class:`MLflowBaseSensor` and ``BaseSensorOperator``.
    """

    template_fields: Sequence[str] = ("run_id",)

    def __init__(self, *, run_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not run_id:
            raise ValueError("MLflowRunCompleteSensor needs a run_id")
        self.run_id = run_id

    def build_trigger(self) -> MLflowRunCompleteTrigger:
        """Return the run-complete trigger."""
        return MLflowRunCompleteTrigger(run_id=self.run_id, **self._trigger_kwargs())


class MLflowModelStageSensor(MLflowBaseSensor):
    """Wait until a model version is in a registry stage (stages are deprecated upstream; prefer aliases).

    Args:
        model_name: The registered model (templated).
        stage: ``Staging``, ``Production``, ``Archived`` or ``None``.
        version: A version to watch (templated); without it, any version reaching the stage will do.
        **kwargs: See :class:`MLflowBaseSensor` and ``BaseSensorOperator``.
    """

    template_fields: Sequence[str] = ("model_name", "version")

    def __init__(
        self, *, model_name: str, stage: str, version: str | int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if not model_name:
            raise ValueError("MLflowModelStageSensor needs a model_name")
        self.model_name = model_name
        self.stage = validate_stage(stage)
        self.version = None if version is None else str(version)

    def build_trigger(self) -> MLflowModelStageTrigger:
        """Return the stage trigger."""
        return MLflowModelStageTrigger(
            model_name=self.model_name, stage=self.stage, version=self.version, **self._trigger_kwargs()
        )


class MLflowModelAliasSensor(MLflowBaseSensor):
    """Wait until a registered model has an alias, optionally pointing at a given version.

    Args:
        model_name: The registered model (templated).
        alias: The alias, e.g. ``champion`` (templated).
        version: If set, wait until the alias points at this version (templated).
        **kwargs: See :class:`MLflowBaseSensor` and ``BaseSensorOperator``.
    """

    template_fields: Sequence[str] = ("model_name", "alias", "version")

    def __init__(
        self, *, model_name: str, alias: str, version: str | int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if not model_name or not alias:
            raise ValueError("MLflowModelAliasSensor needs a model_name and an alias")
        self.model_name = model_name
        self.alias = alias
        self.version = None if version is None else str(version)

    def build_trigger(self) -> MLflowModelAliasTrigger:
        """Return the alias trigger."""
        return MLflowModelAliasTrigger(
            model_name=self.model_name, alias=self.alias, version=self.version, **self._trigger_kwargs()
        )


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
        if not experiment_name or not metric:
            raise ValueError("ModelPerformanceSensor needs an experiment_name and a metric")
        if not _is_template(threshold):
            try:
                float(threshold)
            except (TypeError, ValueError):
                raise ValueError(f"threshold must be a number, got {threshold!r}") from None
        self.experiment_name = experiment_name
        self.metric = metric
        self.threshold = threshold
        self.comparison = validate_comparison(comparison)
        self.only_finished_runs = only_finished_runs

    def build_trigger(self) -> ModelPerformanceTrigger:
        """Return the performance trigger (the rendered threshold must be a number)."""
        try:
            threshold = float(self.threshold)
        except (TypeError, ValueError):
            raise AirflowFailException(f"threshold must be a number, got {self.threshold!r}") from None
        return ModelPerformanceTrigger(
            experiment_name=self.experiment_name,
            metric=self.metric,
            threshold=threshold,
            comparison=self.comparison,
            only_finished_runs=self.only_finished_runs,
            **self._trigger_kwargs(),
        )
