"""MLflow operators: argument validation and the once-per-process stage deprecation warning."""

from __future__ import annotations

import warnings

import pytest

from airflow_platform.operators import mlflow as operators
from airflow_platform.operators.mlflow import (
    MLflowLoadModelOperator,
    MLflowLogMetricsOperator,
    MLflowModelTransitionOperator,
    MLflowRegisterModelOperator,
)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MLflowLogMetricsOperator(task_id="t", metrics={"a": 1}), "exactly one"),
        (lambda: MLflowLogMetricsOperator(task_id="t", experiment_name="e", run_id="r"), "exactly one"),
        (lambda: MLflowRegisterModelOperator(task_id="t", model_uri="", model_name="m"), "model_uri"),
        (lambda: MLflowModelTransitionOperator(task_id="t", model_name="m", version=1), "stage, an alias"),
        (
            lambda: MLflowModelTransitionOperator(task_id="t", model_name="m", version=1, stage="Live"),
            "unknown model stage",
        ),
        (
            lambda: MLflowModelTransitionOperator(task_id="t", model_name="m", version="", alias="a"),
            "version",
        ),
        (lambda: MLflowLoadModelOperator(task_id="t", model_name="m"), "exactly one of alias or version"),
        (lambda: MLflowLoadModelOperator(task_id="t", model_name="m", alias="a", version=1), "exactly one"),
    ],
)
def test_operator_arguments_are_validated(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_operators_template_their_object_names():
    assert "run_id" in MLflowLogMetricsOperator.template_fields
    assert "metrics" in MLflowLogMetricsOperator.template_fields
    assert {"model_name", "version", "alias"} <= set(MLflowModelTransitionOperator.template_fields)
    assert {"model_name", "alias", "version"} <= set(MLflowLoadModelOperator.template_fields)


def test_stage_deprecation_warns_once_per_process(monkeypatch):
    monkeypatch.setattr(operators, "_stage_warning_issued", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert operators.warn_stages_deprecated_once() is True
        assert operators.warn_stages_deprecated_once() is False
        assert operators.warn_stages_deprecated_once() is False
    deprecations = [w for w in caught if issubclass(w.category, FutureWarning)]
    assert len(deprecations) == 1
    assert "aliases" in str(deprecations[0].message)
