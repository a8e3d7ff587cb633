"""The typed loader of config/platform.yaml: what it returns, and how it names the file and key it rejects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_platform.platform_settings import (
    ConnectionSpec,
    LineageSettings,
    PlatformSettingsError,
    PoolSpec,
    VariableSpec,
    load_platform_settings,
)
from platform_devkit.repository import REPO_ROOT

SETTINGS_FILE = REPO_ROOT / "config" / "platform.yaml"


def _document() -> dict:
    return yaml.safe_load(SETTINGS_FILE.read_text())


def _write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(document) if not isinstance(document, str) else document)
    return path


def test_the_repository_settings_load_typed() -> None:
    settings = load_platform_settings(SETTINGS_FILE)
    raw = _document()
    assert settings.dag_rules.min_retries == raw["dag_rules"]["min_retries"]
    assert settings.executors == tuple(raw["executors"])
    assert settings.pools["gpu_pool"] == PoolSpec(
        "gpu_pool", raw["pools"]["gpu_pool"]["slots"], raw["pools"]["gpu_pool"]["description"]
    )
    environment = raw["variables"]["environment"]
    assert settings.variables["environment"] == VariableSpec(
        "environment", environment["value"], environment["description"]
    )
    aws = raw["connections"]["aws_default"]
    assert settings.connections["aws_default"] == ConnectionSpec(
        "aws_default", aws["conn_type"], aws["description"]
    )
    assert set(settings.variables) == set(raw["variables"])
    assert set(settings.connections) == set(raw["connections"])
    assert settings.lineage == LineageSettings(
        namespace=raw["lineage"]["namespace"],
        execute_in_thread=raw["lineage"]["execute_in_thread"],
        execution_timeout_seconds=raw["lineage"]["execution_timeout_seconds"],
        transport_timeout_seconds=float(raw["lineage"]["transport_timeout_seconds"]),
    )


def test_the_lineage_settings_keep_a_slow_endpoint_from_holding_tasks() -> None:
    lineage = load_platform_settings(SETTINGS_FILE).lineage
    assert lineage.execute_in_thread is True
    assert lineage.execution_timeout_seconds > 2 * lineage.transport_timeout_seconds


def _broken(mutate) -> dict:
    document = _document()
    mutate(document)
    return document


BROKEN = {
    "pool slots not a number": (
        lambda d: d["pools"]["gpu_pool"].update(slots="two"),
        "pools.gpu_pool.slots",
    ),
    "misspelt pool key": (lambda d: d["pools"]["gpu_pool"].update(slot=2), "pools.gpu_pool.slot"),
    "variable value not a string": (
        lambda d: d["variables"]["ml_accuracy_threshold"].update(value=0.85),
        "variables.ml_accuracy_threshold.value",
    ),
    "variable without value": (
        lambda d: d["variables"]["environment"].pop("value"),
        "variables.environment.value",
    ),
    "connection without conn_type": (
        lambda d: d["connections"]["aws_default"].pop("conn_type"),
        "connections.aws_default.conn_type",
    ),
    "connection with a secret": (
        lambda d: d["connections"]["aws_default"].update(password="x"),
        "connections.aws_default.password",
    ),
    "connections not a mapping": (lambda d: d.update(connections=["aws_default"]), "connections"),
    "unknown top-level key": (lambda d: d.update(pool={}), "pool"),
    "description not a string": (
        lambda d: d["pools"]["api_calls"].update(description=["x"]),
        "pools.api_calls.description",
    ),
    "lineage missing": (lambda d: d.pop("lineage"), "lineage"),
    "misspelt lineage key": (lambda d: d["lineage"].update(namspace="x"), "lineage.namspace"),
    "empty lineage namespace": (lambda d: d["lineage"].update(namespace=""), "lineage.namespace"),
    "execute_in_thread not a boolean": (
        lambda d: d["lineage"].update(execute_in_thread="yes"),
        "lineage.execute_in_thread",
    ),
    "execution timeout not a whole number of seconds": (
        lambda d: d["lineage"].update(execution_timeout_seconds=5.5),
        "lineage.execution_timeout_seconds",
    ),
    "transport timeout zero": (
        lambda d: d["lineage"].update(transport_timeout_seconds=0),
        "lineage.transport_timeout_seconds",
    ),
    "execution timeout within two transport timeouts": (
        lambda d: d["lineage"].update(execution_timeout_seconds=4, transport_timeout_seconds=2),
        "lineage.execution_timeout_seconds",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_malformed_file_is_refused_naming_the_file_and_the_key(tmp_path: Path, case: str) -> None:
    mutate, key = BROKEN[case]
    path = _write(tmp_path, _broken(mutate))
    with pytest.raises(PlatformSettingsError) as caught:
        load_platform_settings(path)
    assert str(caught.value).startswith(f"{path.resolve()}: key '{key}'"), caught.value


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "pools: [unclosed\n")
    with pytest.raises(PlatformSettingsError, match="invalid YAML") as caught:
        load_platform_settings(path)
    assert str(path.resolve()) in str(caught.value)
