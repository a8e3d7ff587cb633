"""The Kubeflow Pipelines operators: argument validation and resuming from the trigger's event."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_platform.operators.kubeflow import KubeflowExperimentOperator, KubeflowPipelineOperator


def test_complete_from_event():
    operator = KubeflowPipelineOperator(task_id="t", pipeline_id="p", experiment_name="e")
    assert operator.execute_complete({}, {"status": "success", "run_id": "r"}) == "r"
    success = {"status": "success", "message": "KFP run 'r' SUCCEEDED", "details": {"run_id": "r"}}
    assert operator.execute_complete({}, success) == "r"
    with pytest.raises(AirflowFailException, match="ended CANCELED"):
        operator.execute_complete(
            {}, {"status": "failed", "run_id": "r", "message": "KFP run 'r' ended CANCELED."}
        )
    with pytest.raises(AirflowFailException):
        operator.execute_complete({}, None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"experiment_name": "e"},
        {"pipeline_id": "p", "pipeline_name": "n", "experiment_name": "e"},
        {"pipeline_id": "p"},
        {"pipeline_id": "p", "experiment_id": "x", "experiment_name": "e"},
        {"pipeline_id": "p", "experiment_name": "e", "poll_interval": 0},
    ],
)
def test_pipeline_operator_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        KubeflowPipelineOperator(task_id="t", **kwargs)


def test_experiment_operator_rejects_an_empty_name():
    with pytest.raises(ValueError):
        KubeflowExperimentOperator(task_id="t", experiment_name="")
