"""OpenLineage in the Helm values: platform.yaml's options, the endpoint from an optional Secret."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from airflow_platform.lineage_settings import (
    API_KEY_VARIABLE,
    OPTION_PREFIX,
    URL_VARIABLE,
    openlineage_environment,
)
from airflow_platform.platform_settings import load_platform_settings
from platform_devkit.helm_values import ENVIRONMENTS
from platform_devkit.loopback.airflow_environment import SETTINGS_FILE

LINEAGE = load_platform_settings(SETTINGS_FILE).lineage
SECRET = "airflow-openlineage"


@pytest.mark.parametrize("environment", [*ENVIRONMENTS, "e2e"])
def test_the_openlineage_options_are_what_platform_yaml_derives(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    values = merged(environment)
    derived = {
        name.removeprefix(OPTION_PREFIX).lower(): value
        for name, value in openlineage_environment(LINEAGE).items()
        if name.startswith(OPTION_PREFIX)
    }
    options = {name: str(value) for name, value in values["config"]["openlineage"].items()}
    assert options == derived


@pytest.mark.parametrize("environment", [*ENVIRONMENTS, "e2e"])
def test_no_option_turns_lineage_on_or_off_regardless_of_the_secret(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    options = merged(environment)["config"]["openlineage"]
    assert not {"transport", "config_path", "config_conn_id", "disabled"} & set(options)


@pytest.mark.parametrize("environment", [*ENVIRONMENTS, "e2e"])
def test_the_endpoint_comes_from_the_optional_secret_as_the_client_variables(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    entries = {entry["name"]: entry for entry in yaml.safe_load(merged(environment)["extraEnv"])}
    assert entries[URL_VARIABLE]["valueFrom"]["secretKeyRef"] == {
        "name": SECRET,
        "key": "url",
        "optional": True,
    }
    assert entries[API_KEY_VARIABLE]["valueFrom"]["secretKeyRef"] == {
        "name": SECRET,
        "key": "api_key",
        "optional": True,
    }
    assert not [name for name in entries if name.startswith("OPENLINEAGE__")]
