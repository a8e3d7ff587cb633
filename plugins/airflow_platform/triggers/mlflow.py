"""Triggers that wait on MLflow in the triggerer, and the checks they share with the sensors' ``poke``.

A *check* is a small sans-IO generator: it yields the REST calls it needs (:class:`ApiCall`), receives
each JSON answer and returns an :class:`Outcome` (done: success or failure) or ``None`` (not yet). The
triggers drive checks with the asynchronous REST client, the sensors' ``poke`` with the blocking one,
so both modes decide in exactly the same way.

The trigger loop retries transient errors (server down, timeouts, 5xx) with exponential backoff for as
long as the task's deferral timeout allows, and fires a ``status: error`` event on a permanent error
(unknown run, model, version, experiment) so the sensor fails at once. Trigger kwargs hold only the
connection id, never the credential, which the triggerer reads from the connection itself.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_platform.hooks.mlflow import (
    ApiCall,
    Check,
    MLflowAsyncRestClient,
    MLflowHook,
    MLflowPermanentError,
    MLflowTransientError,
)
from airflow_platform.utils.backoff import Backoff

RUN_SUCCESS_STATES = frozenset({"FINISHED"})
RUN_FAILURE_STATES = frozenset({"FAILED", "KILLED"})
MODEL_STAGES = ("None", "Staging", "Production", "Archived")
# Spread the polls of triggers deferred at the same moment, so that they do not hit the server in bursts.
POLL_JITTER = 0.1
COMPARISONS: dict[str, str] = {">": "DESC", ">=": "DESC", "<": "ASC", "<=": "ASC"}


@dataclass(frozen=True)
class Outcome:
    """The end of a wait: ``success`` (with details for XCom) or ``failed`` (with the reason)."""

    status: Literal["success", "failed"]
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Return the JSON-serialisable trigger event payload."""
        return {"status": self.status, "message": self.message, "details": self.details}


def validate_stage(stage: str) -> str:
    """Return the registry's spelling of ``stage`` or raise ``ValueError``."""
    for known in MODEL_STAGES:
        if known.lower() == str(stage).lower():
            return known
    raise ValueError(f"unknown model stage {stage!r}; expected one of {', '.join(MODEL_STAGES)}")


def validate_comparison(comparison: str) -> str:
    """Return ``comparison`` if it is one of ``>``, ``>=``, ``<``, ``<=``, else raise ``ValueError``."""
    if comparison not in COMPARISONS:
        raise ValueError(f"unknown comparison {comparison!r}; expected one of {', '.join(COMPARISONS)}")
    return comparison


def run_complete_check(run_id: str) -> Check:
    """Finish when the run is FINISHED (success) or FAILED/KILLED (failure)."""
    body = yield ApiCall("GET", "runs/get", f"run '{run_id}'", params={"run_id": run_id})
    info = body["run"]["info"]
    status = info["status"]
    details = {"run_id": run_id, "run_status": status, "experiment_id": info.get("experiment_id")}
    if status in RUN_SUCCESS_STATES:
        return Outcome("success", f"MLflow run '{run_id}' finished", details)
    if status in RUN_FAILURE_STATES:
        return Outcome("failed", f"MLflow run '{run_id}' ended {status}", details)
    return None


def _registered_model_call(model_name: str) -> ApiCall:
    return ApiCall(
        "GET", "registered-models/get", f"registered model '{model_name}'", params={"name": model_name}
    )


def model_stage_check(model_name: str, stage: str, version: str | None = None) -> Check:
    """Finish when ``version`` (or, without one, any version) of the model is in ``stage``."""
    if version is not None:
        body = yield ApiCall(
            "GET",
            "model-versions/get",
            f"model '{model_name}' version {version}",
            params={"name": model_name, "version": str(version)},
        )
        versions = [body["model_version"]]
    else:
        yield _registered_model_call(model_name)
        body = yield ApiCall(
            "GET",
            "model-versions/search",
            f"versions of model '{model_name}'",
            params={"filter": f"name='{model_name}'", "max_results": 1000},
        )
        versions = body.get("model_versions", [])
    in_stage = [v for v in versions if v.get("current_stage", "None").lower() == stage.lower()]
    if not in_stage:
        return None
    found = max(in_stage, key=lambda v: int(v["version"]))
    details = {"model_name": model_name, "version": str(found["version"]), "stage": found["current_stage"]}
    return Outcome("success", f"model '{model_name}' version {found['version']} is in stage {stage}", details)


def model_alias_check(model_name: str, alias: str, version: str | None = None) -> Check:
    """Finish when the model has ``alias`` (pointing at ``version``, if given)."""
    body = yield _registered_model_call(model_name)
    aliases = {a["alias"]: str(a["version"]) for a in body["registered_model"].get("aliases", [])}
    current = aliases.get(alias)
    if current is None or (version is not None and current != str(version)):
        return None
    details = {"model_name": model_name, "alias": alias, "version": current}
    return Outcome("success", f"model '{model_name}' alias '{alias}' points at version {current}", details)


def model_performance_check(
    experiment_name: str,
    metric: str,
    threshold: float,
    comparison: str = ">=",
    only_finished_runs: bool = True,
) -> Check:
    """Finish when the best run of the experiment has ``metric`` ``comparison`` ``threshold``."""
    body = yield ApiCall(
        "GET",
        "experiments/get-by-name",
        f"experiment '{experiment_name}'",
        params={"experiment_name": experiment_name},
    )
    experiment_id = body["experiment"]["experiment_id"]
    clauses = [f"metrics.`{metric}` {comparison} {float(threshold)!r}"]
    if only_finished_runs:
        clauses.append("attributes.status = 'FINISHED'")
    body = yield ApiCall(
        "POST",
        "runs/search",
        f"runs of experiment '{experiment_name}'",
        body={
            "experiment_ids": [experiment_id],
            "filter": " and ".join(clauses),
            "order_by": [f"metrics.`{metric}` {COMPARISONS[comparison]}"],
            "max_results": 1,
        },
    )
    runs = body.get("runs", [])
    if not runs:
        return None
    best = runs[0]
    value = next(m["value"] for m in best["data"]["metrics"] if m["key"] == metric)
    details = {
        "experiment_id": experiment_id,
        "run_id": best["info"]["run_id"],
        "metric": metric,
        "value": value,
        "threshold": float(threshold),
        "comparison": comparison,
    }
    message = (
        f"best run {best['info']['run_id']} of '{experiment_name}': {metric}={value} {comparison} {threshold}"
    )
    return Outcome("success", message, details)


class MLflowPollingTrigger(BaseTrigger):
    """Base of the MLflow triggers: polls a check until it finishes, retrying transient errors.

    Args:
        mlflow_conn_id: The MLflow connection id (read in the triggerer; never serialised with a secret).
        poll_interval: Seconds between checks while the awaited state is not reached.
        backoff_initial: First wait after a transient error, doubled per consecutive failure.
        backoff_max: Upper bound of that wait.
    """

    check_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        mlflow_conn_id: str = MLflowHook.default_conn_name,
        poll_interval: float = 30.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        super().__init__()
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        self.mlflow_conn_id = mlflow_conn_id
        self.poll_interval = float(poll_interval)
        self.backoff = Backoff(initial=backoff_initial, maximum=max(backoff_initial, backoff_max))

    def check(self) -> Check:
        """Return a fresh check generator for one poll."""
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the kwargs that rebuild this trigger in the triggerer."""
        kwargs = {name: getattr(self, name) for name in self.check_fields}
        kwargs.update(
            mlflow_conn_id=self.mlflow_conn_id,
            poll_interval=self.poll_interval,
            backoff_initial=self.backoff.initial,
            backoff_max=self.backoff.maximum,
        )
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the check finishes; yield exactly one event."""
        try:
            settings = await MLflowHook.aget_settings(self.mlflow_conn_id)
        except (AirflowNotFoundException, MLflowPermanentError) as exc:
            yield TriggerEvent({"status": "error", "message": f"MLflow connection: {exc}", "details": {}})
            return
        async with MLflowAsyncRestClient(settings) as client:
            event = await self._poll(client)
        yield event

    async def _poll(self, client: MLflowAsyncRestClient) -> TriggerEvent:
        failures = 0
        while True:
            try:
                outcome = await client.run(self.check())
            except MLflowPermanentError as exc:
                return TriggerEvent({"status": "error", "message": str(exc), "details": {}})
            except MLflowTransientError as exc:
                failures += 1
                delay = self.backoff.delay(failures)
                self.log.warning(
                    "Transient MLflow error (attempt %d), retrying in %.1fs: %s", failures, delay, exc
                )
                await asyncio.sleep(delay)
                continue
            if outcome is not None:
                return TriggerEvent(outcome.payload())
            failures = 0
            await asyncio.sleep(self.poll_interval * random.uniform(1 - POLL_JITTER, 1 + POLL_JITTER))  # noqa: S311


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
