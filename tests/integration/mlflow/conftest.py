"""Fixtures for the MLflow plugin tests: the Airflow connection, a client, and a real registered model.

The connection carries a random token: the test server does not check it, but every test can look for
it in what the plugins print or raise. Runs and the model are made once per module or session: the
MLflow server itself starts once per session (the ``mlflow_server`` fixture).
"""

from __future__ import annotations

import json
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

MODEL_INPUTS = ("x", "y")


@dataclass(frozen=True)
class MLflowConn:
    """The ``mlflow_default`` connection the tests set: where the server is and the token it carries."""

    tracking_uri: str
    token: str


@pytest.fixture(scope="session")
def mlflow_conn(mlflow_server) -> Iterator[MLflowConn]:
    """Point ``AIRFLOW_CONN_MLFLOW_DEFAULT`` at the session's MLflow server, with a random token."""
    parts = urlsplit(mlflow_server.tracking_uri)
    token = secrets.token_hex(16)
    conn = {"conn_type": "http", "host": parts.hostname, "port": parts.port, "password": token}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps(conn))
        yield MLflowConn(tracking_uri=mlflow_server.tracking_uri, token=token)


@pytest.fixture(scope="session")
def client(mlflow_conn):
    """An ``MlflowClient`` from the hook (the same one the operators use)."""
    from airflow_platform.hooks.mlflow import MLflowHook

    return MLflowHook().get_conn()


def unique(prefix: str) -> str:
    """A name no other test (or earlier session on the same server) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def unique_name():
    """Make names no other test uses: ``unique_name("prefix")``."""
    return unique


@pytest.fixture(scope="session")
def experiment_id(client) -> str:
    """An experiment for the runs the tests create."""
    return client.create_experiment(unique("airflow-platform-it"))


def _sum_model_class():
    import mlflow.pyfunc

    class SumModel(mlflow.pyfunc.PythonModel):
        """A tiny pyfunc model: ``total = x + y``."""

        def predict(self, context, model_input, params=None):
            return model_input.assign(total=model_input["x"] + model_input["y"])[["total"]]

    return SumModel


@dataclass(frozen=True)
class RegisteredModel:
    """A model registered by ``MLflowRegisterModelOperator`` from a run's artifacts."""

    name: str
    version: str
    run_id: str
    alias: str


@pytest.fixture(scope="session")
def registered_model(client, experiment_id) -> RegisteredModel:
    """Save a pyfunc model with a signature, log it to a run and register it with the operator."""
    import mlflow.pyfunc
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from airflow_platform.operators.mlflow import MLflowRegisterModelOperator

    signature = ModelSignature(
        inputs=Schema([ColSpec("double", name) for name in MODEL_INPUTS]),
        outputs=Schema([ColSpec("double", "total")]),
    )
    run = client.create_run(experiment_id, run_name="train-sum-model")
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/model"
        mlflow.pyfunc.save_model(
            path, python_model=_sum_model_class()(), signature=signature, pip_requirements=[]
        )
        client.log_artifacts(run.info.run_id, path, "model")
    client.set_terminated(run.info.run_id)
    name = unique("sum-model")
    result = MLflowRegisterModelOperator(
        task_id="register", model_uri=f"runs:/{run.info.run_id}/model", model_name=name, alias="challenger"
    ).execute(context={})
    return RegisteredModel(name=name, version=result["version"], run_id=run.info.run_id, alias="challenger")
