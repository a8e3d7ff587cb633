"""The OpenLineage configuration from platform.yaml: what the provider and the client make of it.

The provider's own ``is_disabled`` and the client's own transport resolution read the variables, so
these tests check what OpenLineage really does with them, not only their names.
"""

from __future__ import annotations

import json
import os
import secrets

import pytest
from airflow.providers.openlineage import conf as openlineage_conf
from openlineage.client import OpenLineageClient
from openlineage.client.transport.http import HttpTransport

from airflow_platform.lineage_settings import (
    LineageEndpoint,
    lineage_endpoint_from_environment,
    openlineage_environment,
    openlineage_transport_environment,
    tune_openlineage_transport,
)
from airflow_platform.platform_settings import LineageSettings, load_platform_settings
from platform_devkit.repository import REPO_ROOT

LINEAGE = load_platform_settings(REPO_ROOT / "config" / "platform.yaml").lineage
ENDPOINT = "http://lineage.example:5000"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The test process without any OpenLineage variable."""
    for name in list(os.environ):
        if name.startswith(("OPENLINEAGE", "AIRFLOW__OPENLINEAGE__")):
            monkeypatch.delenv(name)
    return monkeypatch


def _apply(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


def test_without_an_endpoint_only_the_options_are_set_and_the_provider_stays_off(clean_environment) -> None:
    environment = openlineage_environment(LINEAGE)
    assert environment == {
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "airflow-platform",
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": str(LINEAGE.execution_timeout_seconds),
    }
    _apply(clean_environment, environment)
    assert openlineage_conf.is_disabled() is True
    assert openlineage_conf.namespace() == "airflow-platform"
    assert openlineage_conf.execute_in_thread() is True
    assert openlineage_conf.execution_timeout() == LINEAGE.execution_timeout_seconds


def test_an_endpoint_is_the_url_and_api_key_the_client_reads_and_turns_the_provider_on(
    clean_environment,
) -> None:
    key = secrets.token_urlsafe(16)
    environment = openlineage_environment(LINEAGE, LineageEndpoint(ENDPOINT, key))
    assert environment["OPENLINEAGE_URL"] == ENDPOINT
    assert environment["OPENLINEAGE_API_KEY"] == key
    _apply(clean_environment, environment)
    assert openlineage_conf.is_disabled() is False


def test_an_endpoint_without_a_key_sets_no_key(clean_environment) -> None:
    environment = openlineage_environment(LINEAGE, LineageEndpoint(ENDPOINT))
    assert "OPENLINEAGE_API_KEY" not in environment
    assert environment["OPENLINEAGE_URL"] == ENDPOINT


def test_the_client_builds_one_attempt_http_with_the_platform_timeout_and_a_bearer_key(
    clean_environment,
) -> None:
    key = secrets.token_urlsafe(16)
    _apply(clean_environment, openlineage_transport_environment(LINEAGE, LineageEndpoint(ENDPOINT, key)))
    transport = OpenLineageClient().transport
    assert isinstance(transport, HttpTransport)
    assert transport.url == ENDPOINT
    assert transport.timeout == LINEAGE.transport_timeout_seconds
    assert transport.config.retry["total"] == 0
    assert transport._auth_headers(transport.config.auth) == {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("key", ["12345", "null", "true", '{"a": 1}', 'with "quotes" and \\'])
def test_an_api_key_that_looks_like_json_reaches_the_client_unchanged(clean_environment, key: str) -> None:
    _apply(clean_environment, openlineage_transport_environment(LINEAGE, LineageEndpoint(ENDPOINT, key)))
    transport = OpenLineageClient().transport
    assert transport._auth_headers(transport.config.auth) == {"Authorization": f"Bearer {key}"}


def test_the_transport_variables_are_json_the_client_parses() -> None:
    environment = openlineage_transport_environment(
        LineageSettings("ns", True, 5, 1.5), LineageEndpoint(ENDPOINT, "k")
    )
    parsed = {name: json.loads(value) for name, value in environment.items()}
    assert parsed == {
        "OPENLINEAGE__TRANSPORT__TYPE": "http",
        "OPENLINEAGE__TRANSPORT__URL": ENDPOINT,
        "OPENLINEAGE__TRANSPORT__TIMEOUT": 1.5,
        "OPENLINEAGE__TRANSPORT__RETRY": {"total": 0, "connect": 0, "read": 0},
        "OPENLINEAGE__TRANSPORT__AUTH": {"type": "api_key", "apiKey": "k"},
    }


def test_tuning_adds_the_transport_only_for_a_configured_url() -> None:
    unset: dict[str, str] = {"OPENLINEAGE_API_KEY": "k"}
    assert tune_openlineage_transport(unset) is False
    assert unset == {"OPENLINEAGE_API_KEY": "k"}
    blank = {"OPENLINEAGE_URL": "  "}
    assert tune_openlineage_transport(blank) is False
    assert blank == {"OPENLINEAGE_URL": "  "}


def test_tuning_derives_the_transport_from_the_url_and_key() -> None:
    environ = {"OPENLINEAGE_URL": ENDPOINT, "OPENLINEAGE_API_KEY": "k"}
    assert tune_openlineage_transport(environ) is True
    assert environ == {
        "OPENLINEAGE_URL": ENDPOINT,
        "OPENLINEAGE_API_KEY": "k",
        **openlineage_transport_environment(load_platform_settings().lineage, LineageEndpoint(ENDPOINT, "k")),
    }


def test_tuning_keeps_a_transport_configured_explicitly() -> None:
    environ = {"OPENLINEAGE_URL": ENDPOINT, "OPENLINEAGE__TRANSPORT__TYPE": "console"}
    assert tune_openlineage_transport(environ) is False
    assert environ == {"OPENLINEAGE_URL": ENDPOINT, "OPENLINEAGE__TRANSPORT__TYPE": "console"}


def test_the_endpoint_is_read_from_the_client_variables_and_never_shows_its_key() -> None:
    key = secrets.token_urlsafe(16)
    endpoint = lineage_endpoint_from_environment({"OPENLINEAGE_URL": ENDPOINT, "OPENLINEAGE_API_KEY": key})
    assert endpoint == LineageEndpoint(ENDPOINT, key)
    assert key not in repr(endpoint)
    assert lineage_endpoint_from_environment({"OPENLINEAGE_URL": ENDPOINT, "OPENLINEAGE_API_KEY": ""}) == (
        LineageEndpoint(ENDPOINT, None)
    )
