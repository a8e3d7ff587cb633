"""MLflow operators against the real tracking server (PostgreSQL backend, S3 artifacts)."""

from __future__ import annotations

import warnings
from urllib.parse import urlsplit

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_platform.operators import mlflow as operators
from airflow_platform.operators.mlflow import (
    MLflowLoadModelOperator,
    MLflowLogMetricsOperator,
    MLflowModelTransitionOperator,
    MLflowRegisterModelOperator,
)

MODEL_INPUTS = ("x", "y")


def test_log_metrics_creates_the_experiment_and_a_finished_run(client, unique_name):
    name = unique_name("log-metrics")
    run_id = MLflowLogMetricsOperator(
        task_id="log",
        experiment_name=name,
        run_name="nightly",
        metrics={"accuracy": 0.91, "loss": "0.2"},
        run_params={"epochs": 3},
        tags={"team": "ml"},
    ).execute(context={})
    run = client.get_run(run_id)
    assert run.data.metrics == {"accuracy": 0.91, "loss": 0.2}
    assert run.data.params == {"epochs": "3"}
    assert run.data.tags["team"] == "ml"
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == name


def test_log_metrics_to_an_existing_run_keeps_it_running(client, experiment_id):
    run = client.create_run(experiment_id)
    returned = MLflowLogMetricsOperator(task_id="log", run_id=run.info.run_id, metrics={"f1": 0.5}).execute(
        {}
    )
    assert returned == run.info.run_id
    logged = client.get_run(run.info.run_id)
    assert logged.data.metrics == {"f1": 0.5}
    assert logged.info.status == "RUNNING"


def test_unknown_run_fails_fast_naming_it(mlflow_conn, capsys):
    missing = "0" * 32
    with pytest.raises(AirflowFailException, match=f"run '{missing}'") as failure:
        MLflowLogMetricsOperator(task_id="log", run_id=missing, metrics={"a": 1}).execute({})
    assert mlflow_conn.token not in str(failure.value)
    assert mlflow_conn.token not in "".join(capsys.readouterr())


def test_non_numeric_metric_fails_naming_it(experiment_id):
    with pytest.raises(AirflowFailException, match="metric 'accuracy' is not a number"):
        MLflowLogMetricsOperator(task_id="log", experiment_name="x", metrics={"accuracy": "high"}).execute({})


def test_registered_model_has_the_version_alias_and_source(client, registered_model):
    version = client.get_model_version(registered_model.name, registered_model.version)
    assert version.status == "READY"
    assert version.run_id == registered_model.run_id
    by_alias = client.get_model_version_by_alias(registered_model.name, registered_model.alias)
    assert by_alias.version == registered_model.version


def test_registering_a_missing_model_path_fails_fast(registered_model):
    operator = MLflowRegisterModelOperator(
        task_id="register", model_uri=f"runs:/{registered_model.run_id}/nothing-here", model_name="m"
    )
    with pytest.raises(AirflowFailException, match=r"no MLflow model at runs:/.*/nothing-here"):
        operator.execute({})


def test_stage_transition_works_and_warns_once(client, registered_model, monkeypatch):
    monkeypatch.setattr(operators, "_stage_warning_issued", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for stage in ("Staging", "Production"):
            result = MLflowModelTransitionOperator(
                task_id="promote",
                model_name=registered_model.name,
                version=registered_model.version,
                stage=stage,
            ).execute({})
            assert result["stage"] == stage
    ours = [w for w in caught if "prefer aliases" in str(w.message)]
    assert len(ours) == 1
    assert (
        client.get_model_version(registered_model.name, registered_model.version).current_stage
        == "Production"
    )


def test_alias_is_set_and_moved(client, registered_model):
    name = registered_model.name
    second = MLflowRegisterModelOperator(
        task_id="register", model_uri=f"runs:/{registered_model.run_id}/model", model_name=name
    ).execute({})["version"]
    first = MLflowModelTransitionOperator(
        task_id="alias", model_name=name, version=registered_model.version, alias="champion"
    ).execute({})
    moved = MLflowModelTransitionOperator(
        task_id="alias", model_name=name, version=second, alias="champion"
    ).execute({})
    assert first["alias"] == "champion"
    assert moved["previous_alias_version"] == registered_model.version
    assert client.get_model_version_by_alias(name, "champion").version == second


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        (
            {"model_name": "no-such-model-xyz", "version": 1, "alias": "a"},
            "model 'no-such-model-xyz' version 1",
        ),
        ({"version": 999, "stage": "Staging"}, "version 999"),
    ],
)
def test_transition_of_unknown_model_or_version_fails_fast(registered_model, kwargs, named):
    kwargs = {"model_name": registered_model.name, **kwargs}
    with pytest.raises(AirflowFailException, match=named):
        MLflowModelTransitionOperator(task_id="t", **kwargs).execute({})


def test_load_model_by_alias_validates_signature_and_predicts(mlflow_conn, registered_model, capsys):
    result = MLflowLoadModelOperator(
        task_id="load",
        model_name=registered_model.name,
        alias=registered_model.alias,
        expected_inputs=list(MODEL_INPUTS),
        expected_outputs=["total"],
        sample_input=[{"x": 1.0, "y": 2.0}, {"x": 0.5, "y": 0.25}],
    ).execute({})
    assert result["model_uri"] == f"models:/{registered_model.name}@{registered_model.alias}"
    assert result["version"] == registered_model.version
    assert result["predictions"] == [{"total": 3.0}, {"total": 0.75}]
    assert "python_function" in result["flavors"]
    assert mlflow_conn.token not in str(result)
    assert mlflow_conn.token not in "".join(capsys.readouterr())


def test_load_model_by_version_rejects_a_signature_mismatch(registered_model):
    operator = MLflowLoadModelOperator(
        task_id="load",
        model_name=registered_model.name,
        version=registered_model.version,
        expected_inputs=["z"],
    )
    with pytest.raises(AirflowFailException, match=r"missing inputs \['z'\]"):
        operator.execute({})


def test_load_model_with_unknown_alias_fails_fast(registered_model):
    operator = MLflowLoadModelOperator(
        task_id="load", model_name=registered_model.name, alias="no-such-alias"
    )
    with pytest.raises(AirflowFailException, match="alias 'no-such-alias'"):
        operator.execute({})


def names(datasets) -> list[tuple[str, str]]:
    """``(namespace, name)`` of each lineage dataset, in order."""
    return [(dataset.namespace, dataset.name) for dataset in datasets]


def test_the_registry_operators_report_their_lineage(mlflow_server, registered_model):
    server = f"mlflow://{urlsplit(mlflow_server.tracking_uri).netloc}"
    name = registered_model.name
    register = MLflowRegisterModelOperator(
        task_id="register", model_uri=f"runs:/{registered_model.run_id}/model", model_name=name
    )
    version = register.execute({})["version"]
    lineage = register.get_openlineage_facets_on_complete(None)
    assert names(lineage.inputs) == [(server, f"runs/{registered_model.run_id}")]
    assert names(lineage.outputs) == [(server, f"models/{name}")]
    assert lineage.outputs[0].facets["version"].datasetVersion == version
    promote = MLflowModelTransitionOperator(
        task_id="alias", model_name=name, version=version, alias="lineage"
    )
    promote.execute({})
    assert names(promote.get_openlineage_facets_on_complete(None).outputs) == [(server, f"models/{name}")]
    load = MLflowLoadModelOperator(task_id="load", model_name=name, alias="lineage")
    load.execute({})
    loaded = load.get_openlineage_facets_on_complete(None)
    assert names(loaded.inputs) == [(server, f"models/{name}")] and loaded.outputs == []
