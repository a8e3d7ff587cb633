"""Operators for MLflow tracking and the model registry, on MLflow 3 (aliases; stages still accepted).

All of them reach MLflow through :class:`~airflow_platform.hooks.mlflow.MLflowHook` (connection
``mlflow_default``), so no DAG hard-codes a tracking URI. ``mlflow`` is imported only inside
``execute``: importing it at DAG parse time would cost the parse budget.

Errors: an unknown model, version, alias, experiment or run (any 4xx from MLflow) raises
``AirflowFailException`` naming the object, so no retry is wasted. Transient errors (connection refused,
timeouts, 5xx) are first retried with backoff by the MLflow client itself, then raised as
``PlatformTransientError`` for the task's own retries.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_platform.conditions.mlflow import validate_stage
from airflow_platform.exceptions import fail_task_on_permanent_error
from airflow_platform.hooks.mlflow import MLflowHook
from airflow_platform.utils.arguments import set_required

if TYPE_CHECKING:
    from airflow.sdk import Context
    from mlflow import MlflowClient

T = TypeVar("T")

STAGE_DEPRECATION = (
    "MLflow model registry stages are deprecated upstream; prefer aliases "
    "(MLflowModelTransitionOperator(alias=...), models:/name@alias). Stage transitions still work."
)
_stage_warning_lock = threading.Lock()
_stage_warning_issued = False


def warn_stages_deprecated_once() -> bool:
    """Emit the stage deprecation warning the first time in this process; return whether it was emitted."""
    global _stage_warning_issued
    with _stage_warning_lock:
        if _stage_warning_issued:
            return False
        _stage_warning_issued = True
    warnings.warn(STAGE_DEPRECATION, FutureWarning, stacklevel=3)
    return True


class MLflowBaseOperator(BaseOperator):
    """Shared wiring: the hook, and MLflow calls whose errors are sorted into permanent and transient.

    Args:
        mlflow_conn_id: The MLflow connection id.
    """

    ui_color = "#d5e8f7"

    def __init__(self, *, mlflow_conn_id: str = MLflowHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mlflow_conn_id = mlflow_conn_id

    @cached_property
    def hook(self) -> MLflowHook:
        """The MLflow hook for this task's connection."""
        return MLflowHook(self.mlflow_conn_id)

    @cached_property
    def client(self) -> MlflowClient:
        """The ``MlflowClient`` bound to the connection."""
        return self.hook.get_conn()

    def call(self, what: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``func`` about ``what`` (e.g. "model 'm' version 3"); fail fast on permanent errors.

        Raises:
            AirflowFailException: MLflow rejected the request (unknown object, invalid argument).
            PlatformTransientError: MLflow stayed unreachable or failing through the client's retries.
        """
        with fail_task_on_permanent_error():
            return self.hook.call(what, func, *args, **kwargs)


def _numbers(kind: str, values: Mapping[str, Any]) -> dict[str, float]:
    result = {}
    for key, value in values.items():
        try:
            result[str(key)] = float(value)
        except (TypeError, ValueError):
            raise AirflowFailException(f"{kind} '{key}' is not a number: {value!r}") from None
    return result


class MLflowLogMetricsOperator(MLflowBaseOperator):
    """Log metrics, params and tags to a new run (in an experiment) or to an existing run.

    Args:
        experiment_name: Create a new run in this experiment (created if missing). Templated.
        run_id: Log to this existing run instead. Templated. Give exactly one of the two.
        run_name: Name of the new run. Templated.
        metrics: ``{key: number}``. Templated.
        run_params: MLflow run parameters, ``{key: value}`` (stored as strings). Templated. Named so
            because ``params`` is every operator's Airflow DAG-params argument.
        tags: ``{key: value}``. Templated.
        step: The step recorded with the metrics.
        end_run: End a run this operator created as FINISHED (an existing run keeps its status).
        **kwargs: See :class:`MLflowBaseOperator`.

    Returns:
        The run id (pushed to XCom).
    """

    template_fields: Sequence[str] = (
        "experiment_name",
        "run_id",
        "run_name",
        "metrics",
        "run_params",
        "tags",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "metrics": "json",
        "run_params": "json",
        "tags": "json",
    }

    def __init__(
        self,
        *,
        experiment_name: str | None = None,
        run_id: str | None = None,
        run_name: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        run_params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        step: int = 0,
        end_run: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if bool(experiment_name) == bool(run_id):
            raise ValueError("give exactly one of experiment_name (new run) or run_id (existing run)")
        self.experiment_name = experiment_name
        self.run_id = run_id
        self.run_name = run_name
        self.metrics = dict(metrics or {})
        self.run_params = dict(run_params or {})
        self.tags = dict(tags or {})
        self.step = step
        self.end_run = end_run

    def execute(self, context: Context) -> str:
        """Log to the run and return its id."""
        from mlflow.entities import Metric, Param, RunTag

        metrics = _numbers("metric", self.metrics)
        if self.run_id:
            run_id = self.call(f"run '{self.run_id}'", self.client.get_run, self.run_id).info.run_id
            created = False
        else:
            experiment_id = self._experiment_id(str(self.experiment_name))
            run = self.call(
                f"new run in experiment '{self.experiment_name}'",
                self.client.create_run,
                experiment_id,
                run_name=self.run_name,
            )
            run_id, created = run.info.run_id, True
        now = int(time.time() * 1000)
        self.call(
            f"run '{run_id}'",
            self.client.log_batch,
            run_id,
            metrics=[Metric(key, value, now, self.step) for key, value in metrics.items()],
            params=[Param(str(key), str(value)) for key, value in self.run_params.items()],
            tags=[RunTag(str(key), str(value)) for key, value in self.tags.items()],
        )
        if created and self.end_run:
            self.call(f"run '{run_id}'", self.client.set_terminated, run_id, status="FINISHED")
        self.log.info(
            "Logged %d metrics and %d params to MLflow run %s", len(metrics), len(self.run_params), run_id
        )
        return run_id

    def _experiment_id(self, name: str) -> str:
        what = f"experiment '{name}'"
        experiment = self.call(what, self.client.get_experiment_by_name, name)
        if experiment is None:
            from mlflow.exceptions import MlflowException

            try:
                return self.client.create_experiment(name)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise AirflowFailException(str(self.hook.translate(exc, what))) from None
            experiment = self.call(what, self.client.get_experiment_by_name, name)
        if experiment.lifecycle_stage != "active":
            raise AirflowFailException(f"MLflow {what} is deleted; restore it or use another name")
        return experiment.experiment_id


class MLflowRegisterModelOperator(MLflowBaseOperator):
    """Register a logged model as a new version of a registered model (created if missing).

    Args:
        model_uri: ``runs:/<run_id>/<path>``, ``models:/<model_id>`` (a logged model) or an artifact URI.
            Templated.
        model_name: The registered model's name. Templated.
        tags: Tags of the new version.
        description: Description of the new version.
        alias: Also point this alias (e.g. ``challenger``) at the new version. Templated.
        await_ready_timeout: Seconds to wait for the version to become READY.
        **kwargs: See :class:`MLflowBaseOperator`.

    Returns:
        ``{"model_name", "version", "source", "run_id", "model_uri"}`` (pushed to XCom).
    """

    template_fields: Sequence[str] = ("model_uri", "model_name", "alias")

    def __init__(
        self,
        *,
        model_uri: str,
        model_name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        alias: str | None = None,
        await_ready_timeout: float = 300,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        set_required(self, model_uri=model_uri, model_name=model_name)
        self.tags = dict(tags or {})
        self.description = description
        self.alias = alias
        self.await_ready_timeout = await_ready_timeout

    def execute(self, context: Context) -> dict[str, Any]:
        """Register the model version, wait until it is READY, set the alias; return its coordinates."""
        from mlflow.exceptions import MlflowException

        name = self.model_name
        try:
            self.client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise AirflowFailException(
                    str(self.hook.translate(exc, f"registered model '{name}'"))
                ) from None
        source, run_id, model_id = self._resolve_source(self.model_uri)
        version = self.call(
            f"new version of model '{name}' from {self.model_uri}",
            self.client.create_model_version,
            name,
            source,
            run_id=run_id,
            tags=self.tags,
            description=self.description,
            await_creation_for=0,
            model_id=model_id,
        ).version
        self._await_ready(name, str(version))
        if self.alias:
            self.call(
                f"alias '{self.alias}' of model '{name}'",
                self.client.set_registered_model_alias,
                name,
                self.alias,
                str(version),
            )
        self.log.info("Registered %s as model '%s' version %s", self.model_uri, name, version)
        return {
            "model_name": name,
            "version": str(version),
            "source": source,
            "run_id": run_id,
            "model_uri": f"models:/{name}/{version}",
        }

    def _resolve_source(self, model_uri: str) -> tuple[str, str | None, str | None]:
        """Return (source, run_id, logged model id) for a model URI, as ``mlflow.register_model`` does."""
        if model_uri.startswith("runs:/"):
            run_id, _, path = model_uri.removeprefix("runs:/").partition("/")
            path = path.strip("/")
            run = self.call(f"run '{run_id}'", self.client.get_run, run_id)
            listed = self.call(
                f"artifacts of run '{run_id}'", self.client.list_artifacts, run_id, path or None
            )
            if any(a.path.rsplit("/", 1)[-1] == "MLmodel" for a in listed):
                return f"{run.info.artifact_uri}/{path}".rstrip("/"), run_id, None
            logged = self.call(
                f"logged models of run '{run_id}'",
                self.client.search_logged_models,
                experiment_ids=[run.info.experiment_id],
                filter_string=f"source_run_id = '{run_id}' AND name = '{path}'",
            )
            if not logged:
                raise AirflowFailException(
                    f"no MLflow model at {model_uri}: run '{run_id}' has no model '{path}'"
                )
            return f"models:/{logged[0].model_id}", run_id, logged[0].model_id
        if model_uri.startswith("models:/m-"):
            model_id = model_uri.removeprefix("models:/").strip("/")
            logged_model = self.call(f"logged model '{model_id}'", self.client.get_logged_model, model_id)
            return model_uri, logged_model.source_run_id, model_id
        return model_uri, None, None

    def _await_ready(self, name: str, version: str) -> None:
        deadline = time.monotonic() + self.await_ready_timeout
        what = f"model '{name}' version {version}"
        while True:
            status = self.call(what, self.client.get_model_version, name, version).status
            if status == "READY":
                return
            if status == "FAILED_REGISTRATION":
                raise AirflowFailException(f"MLflow {what} failed registration")
            if time.monotonic() > deadline:
                raise AirflowFailException(f"MLflow {what} not READY after {self.await_ready_timeout}s")
            time.sleep(1)


class MLflowModelTransitionOperator(MLflowBaseOperator):
    """Move a model version to a registry stage (deprecated upstream) and/or point an alias at it.

    Stage transitions still work; the first one in a process emits a ``FutureWarning`` (and a log line)
    that recommends aliases. Setting an alias that exists moves it to this version.

    Args:
        model_name: The registered model. Templated.
        version: The model version. Templated.
        stage: ``Staging``, ``Production``, ``Archived`` or ``None`` (optional).
        alias: An alias to set or move to the version, e.g. ``champion`` (optional). Templated.
        archive_existing_versions: With ``stage``, archive the versions currently in that stage.
        **kwargs: See :class:`MLflowBaseOperator`.

    Returns:
        ``{"model_name", "version", "stage", "alias", "previous_alias_version"}`` (pushed to XCom);
        ``stage`` and ``alias`` are ``None`` when the operator did not change them.
    """

    template_fields: Sequence[str] = ("model_name", "version", "alias")

    def __init__(
        self,
        *,
        model_name: str,
        version: str | int,
        stage: str | None = None,
        alias: str | None = None,
        archive_existing_versions: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        set_required(self, model_name=model_name, version=str(version) if version is not None else None)
        if stage is None and not alias:
            raise ValueError("MLflowModelTransitionOperator needs a stage, an alias, or both")
        self.stage = validate_stage(stage) if stage is not None else None
        self.alias = alias
        self.archive_existing_versions = archive_existing_versions

    def execute(self, context: Context) -> dict[str, Any]:
        """Check the version exists, then transition its stage and/or set the alias."""
        from mlflow.exceptions import MlflowException

        name, version = self.model_name, self.version
        self.call(f"model '{name}' version {version}", self.client.get_model_version, name, version)
        result: dict[str, Any] = {
            "model_name": name,
            "version": version,
            "stage": None,
            "alias": None,
            "previous_alias_version": None,
        }
        if self.stage is not None:
            if warn_stages_deprecated_once():
                self.log.warning("%s", STAGE_DEPRECATION)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                moved = self.call(
                    f"stage of model '{name}' version {version}",
                    self.client.transition_model_version_stage,
                    name,
                    version,
                    self.stage,
                    archive_existing_versions=self.archive_existing_versions,
                )
            result["stage"] = moved.current_stage
        if self.alias:
            try:
                previous = self.client.get_model_version_by_alias(name, self.alias).version
                result["previous_alias_version"] = str(previous)
            except MlflowException:
                result["previous_alias_version"] = None
            self.call(
                f"alias '{self.alias}' of model '{name}'",
                self.client.set_registered_model_alias,
                name,
                self.alias,
                version,
            )
            result["alias"] = self.alias
        self.log.info(
            "Model '%s' version %s: stage=%s alias=%s", name, version, result["stage"], result["alias"]
        )
        return result


class MLflowLoadModelOperator(MLflowBaseOperator):
    """Load a registered model (``models:/name@alias`` or ``/version``) and validate its signature.

    Decision (mlflow-skinny vs. full mlflow): the image carries ``mlflow-skinny``, whose
    ``mlflow.pyfunc`` loads *pyfunc* models in process as long as their Python dependencies are there:
    a ``PythonModel`` needs only cloudpickle, numpy and pandas, which the image has (measured in the
    integration tests: log, register, load and predict with the skinny client). This operator therefore
    loads in the worker, with no isolated environment. A model of another flavor (scikit-learn,
    PyTorch, ...) needs its framework importable: run such loads in an isolated environment
    (``@task.external_python`` with a virtualenv holding full ``mlflow`` and the framework) rather
    than growing the Airflow image.

    Args:
        model_name: The registered model. Templated.
        alias: Load the version this alias points at. Templated.
        version: Or load this version. Templated. Give exactly one of ``alias`` and ``version``.
        require_signature: Fail if the model has no signature.
        expected_inputs: Input names the signature must have (all of them, any order).
        expected_outputs: Output names the signature must have.
        sample_input: Rows (``[{column: value}, ...]``) to predict on after loading; the predictions
            are part of the result. Templated.
        **kwargs: See :class:`MLflowBaseOperator`.

    Returns:
        ``{"model_uri", "model_name", "version", "run_id", "flavors", "signature", "predictions"}``.
    """

    template_fields: Sequence[str] = ("model_name", "alias", "version", "sample_input")

    def __init__(
        self,
        *,
        model_name: str,
        alias: str | None = None,
        version: str | int | None = None,
        require_signature: bool = True,
        expected_inputs: Sequence[str] | None = None,
        expected_outputs: Sequence[str] | None = None,
        sample_input: Sequence[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        set_required(self, model_name=model_name)
        if bool(alias) == (version not in (None, "")):
            raise ValueError("give exactly one of alias or version")
        self.alias = alias
        self.version = None if version in (None, "") else str(version)
        self.require_signature = require_signature
        self.expected_inputs = list(expected_inputs or [])
        self.expected_outputs = list(expected_outputs or [])
        self.sample_input = sample_input

    def execute(self, context: Context) -> dict[str, Any]:
        """Resolve the version, download and load the model, validate it, optionally predict."""
        with fail_task_on_permanent_error():
            loaded = self.hook.load_registered_model(self.model_name, alias=self.alias, version=self.version)
        signature = self._validate_signature(loaded.model, loaded.what)
        result: dict[str, Any] = {
            "model_uri": loaded.model_uri,
            "model_name": loaded.model_name,
            "version": loaded.version,
            "run_id": loaded.run_id,
            "flavors": sorted(loaded.model.metadata.flavors),
            "signature": signature,
            "predictions": None,
        }
        if self.sample_input:
            result["predictions"] = self._predict(loaded.model, loaded.what)
        self.log.info("Loaded %s (version %s), signature %s", loaded.model_uri, loaded.version, signature)
        return result

    def _validate_signature(self, model: Any, what: str) -> dict[str, Any] | None:
        signature = model.metadata.signature
        if signature is None:
            if self.require_signature or self.expected_inputs or self.expected_outputs:
                raise AirflowFailException(f"MLflow {what} has no signature")
            return None
        inputs = signature.inputs.input_names() if signature.inputs is not None else []
        outputs = signature.outputs.input_names() if signature.outputs is not None else []
        missing_in = [n for n in self.expected_inputs if n not in inputs]
        missing_out = [n for n in self.expected_outputs if n not in outputs]
        if missing_in or missing_out:
            raise AirflowFailException(
                f"MLflow {what} signature does not match: missing inputs {missing_in}, missing outputs "
                f"{missing_out} (has inputs {inputs}, outputs {outputs})"
            )
        return signature.to_dict()

    def _predict(self, model: Any, what: str) -> list[Any]:
        import pandas as pd

        try:
            predictions = model.predict(pd.DataFrame(list(self.sample_input or [])))
        except Exception as exc:
            raise AirflowFailException(f"MLflow {what} rejected the sample input: {exc}") from None
        if isinstance(predictions, pd.DataFrame):
            return predictions.to_dict(orient="records")
        if hasattr(predictions, "tolist"):
            return predictions.tolist()
        return list(predictions)
