"""OpenLineage in the loopback deployments (the e2e tier, ``platform-dev``): as in the cluster."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from airflow_platform.lineage_settings import LineageEndpoint, openlineage_environment
from airflow_platform.platform_settings import load_platform_settings
from platform_devkit.dev_airflow import lineage_endpoint, parse_args
from platform_devkit.loopback.airflow_environment import SETTINGS_FILE, AirflowOptions


def test_lineage_is_off_without_an_endpoint_because_no_transport_is_configured(
    loopback_environment: Callable[[AirflowOptions], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:5000")
    env = loopback_environment(AirflowOptions())
    lineage = load_platform_settings(SETTINGS_FILE).lineage
    assert "AIRFLOW__OPENLINEAGE__DISABLED" not in env
    assert not [name for name in env if name.startswith("OPENLINEAGE")]
    assert {name: value for name, value in env.items() if "OPENLINEAGE" in name} == openlineage_environment(
        lineage
    )


def test_an_endpoint_reaches_every_process_as_the_client_variables(
    loopback_environment: Callable[[AirflowOptions], dict[str, str]],
) -> None:
    key = secrets.token_urlsafe(12)
    endpoint = LineageEndpoint("http://127.0.0.1:5000", key)
    env = loopback_environment(AirflowOptions(lineage_endpoint=endpoint))
    assert (env["OPENLINEAGE_URL"], env["OPENLINEAGE_API_KEY"]) == (endpoint.url, key)
    assert env["AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"] == "True"


def test_platform_dev_takes_the_lineage_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    key = secrets.token_urlsafe(12)
    monkeypatch.setenv("OPENLINEAGE_API_KEY", key)
    args = parse_args(["--lineage-url", "http://127.0.0.1:5000"])
    assert lineage_endpoint(args.lineage_url) == LineageEndpoint("http://127.0.0.1:5000", key)
    assert lineage_endpoint(parse_args([]).lineage_url) is None
