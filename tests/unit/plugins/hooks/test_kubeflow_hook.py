"""The Kubeflow Pipelines hook: endpoint from the connection, error mapping (no services)."""

from __future__ import annotations

import secrets

import pytest
from airflow.sdk import Connection

from airflow_platform.exceptions import PlatformPermanentError, PlatformTransientError
from airflow_platform.hooks.kubeflow import KfpEndpoint, classify_http_error


def test_endpoint_from_connection_builds_url_and_hides_token():
    token = secrets.token_hex(16)
    conn = Connection(conn_id="kfp", conn_type="http", host="kfp.example", port=8888, password=token)
    endpoint = KfpEndpoint.from_connection(conn, {"namespace": "team-a", "verify_ssl": "false"})
    assert endpoint.base_url == "http://kfp.example:8888"
    assert endpoint.namespace == "team-a"
    assert endpoint.verify_ssl is False
    assert endpoint.headers()["Authorization"] == f"Bearer {token}"
    assert token not in repr(endpoint)
    assert token not in str(endpoint)


def test_endpoint_keeps_full_url_and_omits_auth_without_token():
    conn = Connection(conn_id="kfp", conn_type="http", host="https://kfp.example/pipeline/")
    endpoint = KfpEndpoint.from_connection(conn, {})
    assert endpoint.base_url == "https://kfp.example/pipeline"
    assert "Authorization" not in endpoint.headers()
    assert endpoint.namespace is None


def test_endpoint_without_host_fails_naming_connection():
    with pytest.raises(PlatformPermanentError, match="'kfp'"):
        KfpEndpoint.from_connection(Connection(conn_id="kfp", conn_type="http"), {})


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_server_errors_are_transient(status):
    assert isinstance(classify_http_error(status, "run id 'x'"), PlatformTransientError)


@pytest.mark.parametrize(("status", "words"), [(404, "not found"), (401, "credentials"), (400, "HTTP 400")])
def test_client_errors_are_permanent_and_name_the_object(status, words):
    error = classify_http_error(status, "pipeline 'train'")
    assert isinstance(error, PlatformPermanentError)
    assert "pipeline 'train'" in str(error)
    assert words in str(error)
