"""Our Helm values for the official Airflow chart: load, merge like Helm, validate, and police.

- :func:`merge_values` merges layers the way ``helm -f a.yaml -f b.yaml`` does (maps key by key,
  lists and scalars replaced).
- :func:`validate_layers` validates the merged values against the chart's ``values.schema.json``
  made strict (an unknown key is an error at every level, as a typo would be silently ignored by Helm)
  and names, for each error, the key path and the file that set it.
- :func:`find_clear_text_secrets` walks values for credential-like keys holding literal strings.
- :func:`referenced_secret_names` lists every Kubernetes Secret the values refer to.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from platform_devkit.repository import REPO_ROOT

CHART_VERSION = "1.21.0"
ENV_CHART_DIR = "AIRFLOW_CHART_DIR"
ENVIRONMENTS = ("dev", "staging", "prod")
# Sub-chart pass-through values the chart's schema does not describe.
OPEN_SECTIONS = frozenset({"postgresql"})

SECRET_KEY_PATTERN = re.compile(
    r"(^pass$|password|passwd|secret|token|api[_-]?key|private[_-]?key|fernet|credential)",
    re.IGNORECASE,
)
# Keys whose values are names of, or keys inside, Kubernetes Secrets: references, not secrets.
# (Case-sensitive on purpose: ``secretKey`` names a key in a Secret, ``apiSecretKey`` IS a secret.)
REFERENCE_KEY_PATTERN = re.compile(
    r"([sS]ecretName|^secretKey|^statsSecretKey|^existingSecret|^credentialsSecret|^sshKeySecret"
    r"|SecretAnnotations|^envName)$"
)
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
# A value that only says which Secret holds a credential: what the chart's NOTES print for a
# password that the release reads from a Secret (dev's bootstrap admin and bundled PostgreSQL).
SECRET_POINTER = re.compile(
    r"<from Secret (?P<name>[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?), key (?P<key>[-._a-zA-Z0-9]+)>"
)
SECRET_ENV_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|FERNET_KEY|API_KEY|PRIVATE_KEY|SQL_ALCHEMY_CONN)")
# Chart values holding container ``env``/``envFrom`` entries as a templated YAML string, not a list.
TEMPLATED_ENV_KEYS = frozenset({"extraEnv", "extraEnvFrom"})


class ValuesError(ValueError):
    """Values that do not load or do not validate; the message names each file and key path."""


@dataclass(frozen=True)
class Layer:
    """One values file and its parsed content."""

    path: Path
    values: dict[str, Any]


def repo_root() -> Path:
    """Return the repository root (the directory holding ``helm/``)."""
    return REPO_ROOT


def chart_dir() -> Path:
    """Return the directory with the chart's ``values.schema.json`` and ``values.yaml``.

    ``AIRFLOW_CHART_DIR`` wins; otherwise ``<repo>/../shared/airflow-chart/<version>``.
    """
    override = os.environ.get(ENV_CHART_DIR)
    if override:
        return Path(override)
    return repo_root().parent / "shared" / "airflow-chart" / CHART_VERSION


def load_layer(path: Path) -> Layer:
    """Parse one values file (an empty file is an empty mapping)."""
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValuesError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(values, dict):
        raise ValuesError(f"{path.name}: top level must be a mapping, not {type(values).__name__}")
    return Layer(path, values)


def environment_layers(environment: str, helm_dir: Path | None = None) -> list[Layer]:
    """Return ``[values.yaml, values-<environment>.yaml]`` from ``helm/``."""
    if environment not in ENVIRONMENTS:
        raise ValuesError(f"unknown environment {environment!r}; expected one of {ENVIRONMENTS}")
    directory = helm_dir or repo_root() / "helm"
    return [load_layer(directory / "values.yaml"), load_layer(directory / f"values-{environment}.yaml")]


def merge_values(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` over ``base`` as Helm's ``mergeMaps`` merges one values file over the previous.

    A copy of Helm's function (``pkg/cli/values/options.go``): maps merge key by key, recursively;
    anything else in ``overlay`` (scalars, lists, ``null``) replaces what ``base`` holds. ``helm_python``
    parses values files but has no call that merges them, hence this copy.

    Args:
        base: The values merged so far.
        overlay: The next values file.

    Returns:
        A new mapping; neither argument is modified.
    """
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def merge_layers(layers: Sequence[Layer]) -> dict[str, Any]:
    """Merge the layers in order."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = merge_values(merged, layer.values)
    return merged


def _strict(node: Any, *, top: bool = False) -> Any:
    if isinstance(node, dict):
        result = {key: _strict(value) for key, value in node.items()}
        if "properties" in result and not ({"additionalProperties", "patternProperties"} & node.keys()):
            result["additionalProperties"] = False
        if top:
            for name in OPEN_SECTIONS & result.get("properties", {}).keys():
                result["properties"][name] = node["properties"][name]
        return result
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


@cache
def load_schema(directory: Path | None = None, *, strict: bool = True) -> dict[str, Any]:
    """Load the chart's ``values.schema.json``; ``strict`` forbids keys the schema does not declare.

    Raises:
        FileNotFoundError: the chart files are not where :func:`chart_dir` says.
    """
    path = (directory or chart_dir()) / "values.schema.json"
    schema = json.loads(path.read_text())
    return _strict(schema, top=True) if strict else schema


def dotted(
    path: Iterable[Any], *, is_index: Callable[[Any], bool] = lambda part: isinstance(part, int)
) -> str:
    """Join a key path as ``spec.containers[0].image``: list indices in brackets, keys after dots.

    Args:
        path: The keys and list indices, outermost first.
        is_index: Which parts are list indices (by default the ``int`` ones).

    Returns:
        The joined path, ``""`` for the empty path.
    """
    text = ""
    for part in path:
        text += f"[{part}]" if is_index(part) else (f".{part}" if text else str(part))
    return text


def _contains(values: Any, path: Sequence[Any]) -> bool:
    node = values
    for part in path:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if not (in_dict or in_list):
            return False
        node = node[part]
    return True


def _culprit(error: jsonschema.ValidationError) -> list[Any]:
    """The key path of the offending value, including the unknown key for additionalProperties."""
    path = list(error.absolute_path)
    if (
        error.validator == "additionalProperties"
        and isinstance(error.instance, dict)
        and isinstance(error.schema, Mapping)
    ):
        allowed = error.schema.get("properties", {})
        extras = [key for key in error.instance if key not in allowed]
        if extras:
            path.append(extras[0])
    return path


def _owner(layers: Sequence[Layer], path: Sequence[Any]) -> str:
    for layer in reversed(layers):
        if _contains(layer.values, path):
            return layer.path.name
    for depth in range(len(path) - 1, -1, -1):
        for layer in reversed(layers):
            if _contains(layer.values, path[:depth]):
                return layer.path.name
    return layers[-1].path.name if layers else "(no file)"


def schema_errors(layers: Sequence[Layer], schema: Mapping[str, Any] | None = None) -> list[str]:
    """Return ``"<file>: <key.path>: <message>"`` for every schema violation of the merged layers."""
    validator = jsonschema.Draft7Validator(schema if schema is not None else load_schema())
    merged = merge_layers(layers)
    messages = []
    for error in sorted(validator.iter_errors(merged), key=lambda e: list(map(str, e.absolute_path))):
        path = _culprit(error)
        messages.append(f"{_owner(layers, path)}: {dotted(path) or '(top level)'}: {error.message}")
    return messages


def validate_layers(layers: Sequence[Layer], schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the merged values, or raise :class:`ValuesError` listing every violation."""
    errors = schema_errors(layers, schema)
    if errors:
        raise ValuesError("values do not match the chart schema:\n" + "\n".join(errors))
    return merge_layers(layers)


def _walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Yield ``(path, node)`` for every node; a templated env string is walked as the entries it holds."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))
    elif isinstance(node, str) and path and path[-1] in TEMPLATED_ENV_KEYS:
        for index, value in enumerate(yaml.safe_load(node) or []):
            yield from _walk(value, (*path, index))


def find_clear_text_secrets(values: Mapping[str, Any]) -> list[str]:
    """Return the key paths holding what looks like a literal credential.

    Flagged: a credential-like key (password, secret, token, ...) with a non-empty literal string,
    an env entry named like a credential with a literal ``value``, and a URL with an embedded password.
    Secret names and keys inside Secrets (``*SecretName``, ``secretKey``, ...) are references, and so
    is a value that is exactly a pointer to a Secret (``<from Secret NAME, key KEY>``). The entries of
    the templated ``extraEnv``/``extraEnvFrom`` strings are checked as env entries too.
    """
    findings = []
    for path, node in _walk(values):
        key = path[-1] if path else ""
        if isinstance(node, str) and SECRET_POINTER.fullmatch(node):
            continue
        if isinstance(node, str) and node.strip() and isinstance(key, str):
            where = dotted(path) or "(top level)"
            if SECRET_KEY_PATTERN.search(key) and not REFERENCE_KEY_PATTERN.search(key):
                findings.append(where)
            elif URL_WITH_PASSWORD.search(node):
                findings.append(f"{where} (URL with a password)")
        if (
            isinstance(node, dict)
            and isinstance(node.get("name"), str)
            and isinstance(node.get("value"), str)
            and node["value"].strip()
            and SECRET_ENV_NAME.search(node["name"].upper())
        ):
            findings.append(f"{dotted((*path, 'value'))} (env {node['name']})")
    return findings


def referenced_secret_names(values: Mapping[str, Any]) -> set[str]:
    """Return the name of every Kubernetes Secret the values refer to."""
    names: set[str] = set()
    for path, node in _walk(values):
        key = path[-1] if path else ""
        pointer = SECRET_POINTER.fullmatch(node) if isinstance(node, str) else None
        if pointer:
            names.add(pointer["name"])
        if isinstance(key, str) and isinstance(node, str) and node:
            lowered = key.lower()
            if lowered.endswith("secretname") or lowered in {"existingsecret", "credentialssecret"}:
                names.add(node)
        if isinstance(node, dict):
            for ref in ("secretKeyRef", "secretRef"):
                if isinstance(node.get(ref), dict) and node[ref].get("name"):
                    names.add(node[ref]["name"])
    return names
