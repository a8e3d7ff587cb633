"""MLflowHook: connection parsing, credential handling (never in os.environ, logs or reprs)."""

from __future__ import annotations

import base64
import json
import os
import secrets

import pytest
import requests

from airflow_platform.exceptions import PlatformPermanentError
from airflow_platform.hooks import mlflow as mlflow_hook
from airflow_platform.hooks.mlflow import MLflowConnectionSettings, MLflowHook


def settings_for(monkeypatch, conn_id: str, conn: dict | str) -> MLflowConnectionSettings:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn if isinstance(conn, str) else json.dumps(conn))
    return MLflowHook(conn_id).settings


@pytest.mark.parametrize(
    ("conn", "uri"),
    [
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ({"conn_type": "https", "host": "mlflow.example.org"}, "https://mlflow.example.org"),
        ({"conn_type": "http", "host": "mlflow", "port": 80, "schema": "https"}, "https://mlflow:80"),
        ({"conn_type": "http", "host": "http://mlflow.internal/"}, "http://mlflow.internal"),
        ("http://mlflow.internal:8080/tracking", "http://mlflow.internal:8080/tracking"),
    ],
)
def test_tracking_uri_comes_from_the_connection(monkeypatch, conn, uri):
    assert settings_for(monkeypatch, "mlflow_t", conn).tracking_uri == uri


def test_connection_without_host_is_a_permanent_error(monkeypatch):
    with pytest.raises(PlatformPermanentError, match="no host"):
        settings_for(monkeypatch, "mlflow_t", {"conn_type": "http"})


def test_token_is_bearer_and_never_in_repr_or_environ(monkeypatch):
    token = secrets.token_hex(16)
    settings = settings_for(monkeypatch, "mlflow_t", {"conn_type": "http", "host": "h", "password": token})
    assert settings.auth_headers() == {"Authorization": f"Bearer {token}"}
    assert token not in repr(settings)
    assert token not in settings.redact(f"failed with {token}")
    MLflowHook("mlflow_t").get_conn()
    assert os.environ.get("MLFLOW_TRACKING_TOKEN") != token
    assert all(token not in value for key, value in os.environ.items() if key != "AIRFLOW_CONN_MLFLOW_T")


def test_login_and_password_are_basic_auth(monkeypatch):
    password = secrets.token_hex(8)
    settings = settings_for(
        monkeypatch, "mlflow_t", {"conn_type": "http", "host": "h", "login": "alice", "password": password}
    )
    expected = base64.b64encode(f"alice:{password}".encode()).decode()
    assert settings.auth_headers() == {"Authorization": f"Basic {expected}"}


def test_mlflow_requests_get_the_credential_only_for_their_server(monkeypatch):
    token = secrets.token_hex(16)
    settings_for(
        monkeypatch, "mlflow_t", {"conn_type": "http", "host": "127.0.0.1", "port": 5001, "password": token}
    )
    MLflowHook("mlflow_t").get_conn()
    assert os.environ["MLFLOW_TRACKING_AUTH"] == mlflow_hook.AUTH_PROVIDER_NAME
    from mlflow.tracking.request_auth.registry import fetch_auth

    auth = fetch_auth(mlflow_hook.AUTH_PROVIDER_NAME)
    ours = auth(requests.Request("GET", "http://127.0.0.1:5001/api/2.0/mlflow/runs/get").prepare())
    assert ours.headers["Authorization"] == f"Bearer {token}"
    other = auth(requests.Request("GET", "http://127.0.0.1:50011/api/2.0/mlflow/runs/get").prepare())
    assert "Authorization" not in other.headers
