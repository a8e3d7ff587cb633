"""The MLflow conditions: a run's end, a model version's stage or alias, an experiment's best metric.

Each check yields :class:`~airflow_platform.utils.http.ApiCall` s of the MLflow REST API and returns an
:class:`~airflow_platform.polling.checks.Outcome` or ``None`` (not yet). Calls marked with ``batch`` may
be answered for many triggers at once by the shared poller (see :mod:`airflow_platform.hooks.mlflow_batches`).
"""

from __future__ import annotations

from airflow_platform.polling.checks import Check, Outcome
from airflow_platform.utils.http import ApiCall

RUN_SUCCESS_STATES = frozenset({"FINISHED"})
RUN_FAILURE_STATES = frozenset({"FAILED", "KILLED"})
MODEL_STAGES = ("None", "Staging", "Production", "Archived")
COMPARISONS: dict[str, str] = {">": "DESC", ">=": "DESC", "<": "ASC", "<=": "ASC"}


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
    body = yield ApiCall(
        "GET", "runs/get", f"run '{run_id}'", params={"run_id": run_id}, batch=("run", run_id)
    )
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
            batch=("model_versions", model_name, str(version)),
        )
        versions = [body["model_version"]]
    else:
        yield _registered_model_call(model_name)
        body = yield ApiCall(
            "GET",
            "model-versions/search",
            f"versions of model '{model_name}'",
            params={"filter": f"name='{model_name}'", "max_results": 1000},
            batch=("model_versions", model_name),
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
    experiment: str, metric: str, threshold: float, comparison: str = ">=", finished_only: bool = True
) -> Check:
    """Finish when the best run of the experiment has ``metric`` ``comparison`` ``threshold``."""
    body = yield ApiCall(
        "GET",
        "experiments/get-by-name",
        f"experiment '{experiment}'",
        params={"experiment_name": experiment},
    )
    experiment_id = body["experiment"]["experiment_id"]
    clauses = [f"metrics.`{metric}` {comparison} {float(threshold)!r}"]
    if finished_only:
        clauses.append("attributes.status = 'FINISHED'")
    body = yield ApiCall(
        "POST",
        "runs/search",
        f"runs of experiment '{experiment}'",
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
        f"best run {best['info']['run_id']} of '{experiment}': {metric}={value} {comparison} {threshold}"
    )
    return Outcome("success", message, details)
