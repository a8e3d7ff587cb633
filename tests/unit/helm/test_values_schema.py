"""Every overlay merged over the base values validates against the chart 1.21.0 schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from platform_devkit.helm_values import (
    ENVIRONMENTS,
    Layer,
    ValuesError,
    chart_dir,
    environment_layers,
    load_layer,
    merge_values,
    repo_root,
    validate_layers,
)

HELM_DIR = repo_root() / "helm"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_overlay_over_base_matches_chart_schema(environment: str, chart_schema: dict[str, Any]) -> None:
    merged = validate_layers(environment_layers(environment), chart_schema)
    assert merged["executor"] == "CeleryExecutor,KubernetesExecutor"


def test_the_strict_schema_still_accepts_the_chart_defaults(chart_schema: dict[str, Any]) -> None:
    defaults = yaml.safe_load((chart_dir() / "values.yaml").read_text())
    assert list(jsonschema.Draft7Validator(chart_schema).iter_errors(defaults)) == []


def _overlay(tmp_path: Path, name: str, text: str) -> list:
    path = tmp_path / name
    path.write_text(text)
    return [load_layer(HELM_DIR / "values.yaml"), load_layer(path)]


@pytest.mark.parametrize(
    ("text", "key_path"),
    [
        ("apiServer:\n  replcas: 2\n", "apiServer.replcas"),
        ("apiSever:\n  replicas: 2\n", "apiSever"),
        ("workers:\n  celery:\n    resources:\n      limit: {cpu: '1'}\n", "workers.celery.resources.limit"),
        ("ingress:\n  apiServer:\n    hosts:\n      - nme: x.example\n", "ingress.apiServer.hosts[0]"),
    ],
)
def test_a_typo_fails_naming_the_key_and_the_file(
    tmp_path: Path, chart_schema: dict[str, Any], text: str, key_path: str
) -> None:
    layers = _overlay(tmp_path, "values-typo.yaml", text)
    with pytest.raises(ValuesError) as caught:
        validate_layers(layers, chart_schema)
    assert f"values-typo.yaml: {key_path}" in str(caught.value)


def test_a_wrong_type_fails_naming_the_key_and_the_file(tmp_path: Path, chart_schema: dict[str, Any]) -> None:
    layers = _overlay(tmp_path, "values-bad.yaml", "scheduler:\n  replicas: two\n")
    with pytest.raises(ValuesError, match=r"values-bad\.yaml: scheduler\.replicas: 'two' is not of type"):
        validate_layers(layers, chart_schema)


def test_an_error_in_the_base_is_blamed_on_the_base(tmp_path: Path, chart_schema: dict[str, Any]) -> None:
    base = tmp_path / "values.yaml"
    base.write_text("scheduler:\n  replicaz: 2\n")
    overlay = tmp_path / "values-dev.yaml"
    overlay.write_text("scheduler:\n  replicas: 2\n")
    with pytest.raises(ValuesError, match=r"(?m)^values\.yaml: scheduler\.replicaz"):
        validate_layers([load_layer(base), load_layer(overlay)], chart_schema)


def test_merge_is_helm_like_maps_merge_lists_replace() -> None:
    base = {"a": {"x": 1, "l": [1, 2]}, "b": 1}
    overlay = {"a": {"y": 2, "l": [3]}}
    assert merge_values(base, overlay) == {"a": {"x": 1, "y": 2, "l": [3]}, "b": 1}
    assert base == {"a": {"x": 1, "l": [1, 2]}, "b": 1}


def test_the_e2e_overlay_over_dev_matches_chart_schema(
    chart_schema: dict[str, Any], release_layers: Callable[[str], list[Layer]]
) -> None:
    merged = validate_layers(release_layers("e2e"), chart_schema)
    assert merged["images"]["airflow"]["pullPolicy"] == "Never"
    assert merged["apiServer"]["service"]["ports"][0]["nodePort"] == 30080
