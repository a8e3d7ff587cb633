"""The typed ``config/platform.yaml``: DAG rules, executors, pools, variables, connections, lineage.

This is the one reader of the file. The cluster policies and the DAG factory take their thresholds from
it, ``dag-check`` its executors and pools, ``platform-settings`` (``platform_tools.settings_apply``) the
pools, variables and connection definitions it applies, :mod:`airflow_platform.lineage_settings` the
OpenLineage options, and the tests and the devkit what they check.

The cluster policies run inside the production dag-processor, where only ``plugins/`` and ``config/``
exist, so this module depends on nothing but the standard library and PyYAML (an Airflow dependency).
A file of the wrong shape raises :class:`PlatformSettingsError`, whose message names the file and the
key (``pools.gpu_pool.slots``); unknown keys are errors too, so a misspelt key never passes unnoticed.

The settings file is looked up in this order:

1. the file named by the ``PLATFORM_SETTINGS_FILE`` environment variable (and only it, when set);
2. ``$AIRFLOW_HOME/config/platform.yaml`` (where the image carries it), when ``AIRFLOW_HOME`` is set;
3. ``config/platform.yaml`` next to the plugins folder holding this package (the repository copy);
4. ``config/platform.yaml`` in the working directory or one of its parents (a checkout run from a
   subfolder, or an installed wheel run from the project).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SETTINGS_ENV_VAR = "PLATFORM_SETTINGS_FILE"
SETTINGS_RELATIVE_PATH = Path("config", "platform.yaml")
SETTINGS_SEARCH = (
    "$PLATFORM_SETTINGS_FILE, else config/platform.yaml in $AIRFLOW_HOME, in the repository, "
    "or in the working directory or one of its parents"
)
"""Where :func:`settings_file_candidates` looks, in words, for the commands' ``--help``."""


class PlatformSettingsError(ValueError):
    """The platform settings file is missing or does not have the expected shape."""


@dataclass(frozen=True)
class DagRules:
    """Thresholds of the DAG rules that the cluster policies and the DAG gate enforce."""

    min_retries: int
    forbidden_owners: tuple[str, ...]
    min_tags: int
    parse_time_budget_seconds: float


@dataclass(frozen=True)
class PoolSpec:
    """A pool declared as code."""

    name: str
    slots: int
    description: str


@dataclass(frozen=True)
class VariableSpec:
    """A variable declared as code: its default value (per environment, ``[platform]`` may replace it)."""

    key: str
    value: str
    description: str


@dataclass(frozen=True)
class ConnectionSpec:
    """A connection declared as code: its id and type only (the details and secrets live elsewhere)."""

    conn_id: str
    conn_type: str
    description: str

    @property
    def environment_variable(self) -> str:
        """The variable a deployment gives the connection in (``AIRFLOW_CONN_<ID>``, from a Secret)."""
        return f"AIRFLOW_CONN_{self.conn_id.upper()}"


@dataclass(frozen=True)
class LineageSettings:
    """Platform-wide OpenLineage options; the endpoint (URL, API key) is per deployment, not here.

    Attributes:
        namespace: ``[openlineage] namespace``: the namespace of the jobs this Airflow reports.
        execute_in_thread: ``[openlineage] execute_in_thread``: emit from a thread of the task process
            (instead of a forked child) that the task waits on for at most ``execution_timeout_seconds``.
        execution_timeout_seconds: ``[openlineage] execution_timeout``: the longest a task waits for the
            emission of one event (START, COMPLETE).
        transport_timeout_seconds: The HTTP transport's connect and read timeout; one attempt per event.
    """

    namespace: str
    execute_in_thread: bool
    execution_timeout_seconds: int
    transport_timeout_seconds: float


@dataclass(frozen=True)
class PlatformSettings:
    """The parsed platform settings file."""

    path: Path
    dag_rules: DagRules
    executors: tuple[str, ...]
    pools: Mapping[str, PoolSpec]
    variables: Mapping[str, VariableSpec]
    connections: Mapping[str, ConnectionSpec]
    lineage: LineageSettings

    @property
    def pool_names(self) -> frozenset[str]:
        """Names of the declared pools."""
        return frozenset(self.pools)


def settings_file_candidates() -> list[Path]:
    """Return the places searched for the settings file, in order of precedence."""
    candidates = []
    if override := os.environ.get(SETTINGS_ENV_VAR):
        return [Path(override)]
    if airflow_home := os.environ.get("AIRFLOW_HOME"):
        candidates.append(Path(airflow_home) / SETTINGS_RELATIVE_PATH)
    candidates.append(Path(__file__).resolve().parents[2] / SETTINGS_RELATIVE_PATH)
    cwd = Path.cwd()
    candidates.extend(folder / SETTINGS_RELATIVE_PATH for folder in (cwd, *cwd.parents))
    return candidates


def find_settings_file() -> Path:
    """Return the settings file to use.

    Raises:
        PlatformSettingsError: No candidate exists (the message lists every place searched).
    """
    candidates = settings_file_candidates()
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(candidate) for candidate in candidates)
    raise PlatformSettingsError(f"platform settings file not found; searched: {searched}")


def load_platform_settings(path: str | os.PathLike[str] | None = None) -> PlatformSettings:
    """Load and validate the platform settings (cached per resolved path).

    Args:
        path: The settings file; by default the one :func:`find_settings_file` finds.

    Raises:
        PlatformSettingsError: The file is missing, is not YAML, or a key is missing or mistyped
            (the message names the file and the key).
    """
    resolved = Path(path) if path is not None else find_settings_file()
    return _load_cached(resolved.resolve())


@functools.cache
def _load_cached(path: Path) -> PlatformSettings:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PlatformSettingsError(f"{path}: cannot read platform settings: {error}") from error
    except yaml.YAMLError as error:
        raise PlatformSettingsError(f"{path}: invalid YAML: {error}") from error
    return _parse(path, document)


ROOT_KEYS = ("dag_rules", "executors", "pools", "variables", "connections", "lineage")
DAG_RULE_KEYS = ("min_retries", "forbidden_owners", "min_tags", "parse_time_budget_seconds")
POOL_KEYS = ("slots", "description")
VARIABLE_KEYS = ("value", "description")
CONNECTION_KEYS = ("conn_type", "description")
LINEAGE_KEYS = (
    "namespace",
    "execute_in_thread",
    "execution_timeout_seconds",
    "transport_timeout_seconds",
)


def _parse(path: Path, document: object) -> PlatformSettings:
    root = _mapping(path, "<root>", document, allowed=ROOT_KEYS)
    rules = _mapping(path, "dag_rules", root.get("dag_rules"), allowed=DAG_RULE_KEYS)
    dag_rules = DagRules(
        min_retries=_integer(path, "dag_rules.min_retries", rules.get("min_retries")),
        forbidden_owners=tuple(_strings(path, "dag_rules.forbidden_owners", rules.get("forbidden_owners"))),
        min_tags=_integer(path, "dag_rules.min_tags", rules.get("min_tags")),
        parse_time_budget_seconds=_positive_number(
            path, "dag_rules.parse_time_budget_seconds", rules.get("parse_time_budget_seconds")
        ),
    )
    executors = tuple(_strings(path, "executors", root.get("executors")))
    if not executors:
        raise PlatformSettingsError(f"{path}: key 'executors' must list at least one executor")
    pools = {
        name: PoolSpec(
            name=name,
            slots=_integer(path, f"pools.{name}.slots", spec.get("slots")),
            description=_text(path, f"pools.{name}.description", spec.get("description", "")),
        )
        for name, spec in _entries(path, "pools", root.get("pools"), allowed=POOL_KEYS)
    }
    variables = {
        key: _variable(path, key, spec)
        for key, spec in _entries(path, "variables", root.get("variables", {}), allowed=VARIABLE_KEYS)
    }
    connections = {
        conn_id: _connection(path, conn_id, spec)
        for conn_id, spec in _entries(
            path, "connections", root.get("connections", {}), allowed=CONNECTION_KEYS
        )
    }
    return PlatformSettings(
        path=path,
        dag_rules=dag_rules,
        executors=executors,
        pools=pools,
        variables=variables,
        connections=connections,
        lineage=_lineage(path, root.get("lineage")),
    )


def _variable(path: Path, key: str, spec: dict[str, Any]) -> VariableSpec:
    value = _variable_value(path, f"variables.{key}.value", spec.get("value"))
    return VariableSpec(key, value, _text(path, f"variables.{key}.description", spec.get("description", "")))


def _connection(path: Path, conn_id: str, spec: dict[str, Any]) -> ConnectionSpec:
    conn_type = _value(path, f"connections.{conn_id}.conn_type", spec.get("conn_type"))
    description = _text(path, f"connections.{conn_id}.description", spec.get("description", ""))
    return ConnectionSpec(conn_id, conn_type, description)


def _lineage(path: Path, value: object) -> LineageSettings:
    section = _mapping(path, "lineage", value, allowed=LINEAGE_KEYS)
    namespace = _value(path, "lineage.namespace", section.get("namespace"))
    in_thread = _boolean(path, "lineage.execute_in_thread", section.get("execute_in_thread"))
    execution_timeout = _integer(
        path, "lineage.execution_timeout_seconds", section.get("execution_timeout_seconds")
    )
    transport_timeout = _positive_number(
        path, "lineage.transport_timeout_seconds", section.get("transport_timeout_seconds")
    )
    # requests applies the timeout to the connect and to the read: one attempt can take twice as long.
    # The emitting thread must finish within the provider's wait, so that the failure is logged once
    # by the thread instead of the thread being abandoned and reported separately.
    if execution_timeout <= 2 * transport_timeout:
        raise PlatformSettingsError(
            f"{path}: key 'lineage.execution_timeout_seconds' must exceed twice "
            f"lineage.transport_timeout_seconds ({transport_timeout:g}), got {execution_timeout}"
        )
    return LineageSettings(
        namespace=namespace,
        execute_in_thread=in_thread,
        execution_timeout_seconds=execution_timeout,
        transport_timeout_seconds=transport_timeout,
    )


def _entries(
    path: Path, key: str, value: object, *, allowed: tuple[str, ...]
) -> list[tuple[str, dict[str, Any]]]:
    """Return the ``name: {...}`` entries of section ``key``, each a mapping of only ``allowed`` keys."""
    entries = []
    for name, spec in _mapping(path, key, value).items():
        if not isinstance(name, str) or not name:
            raise PlatformSettingsError(
                f"{path}: key '{key}' has a name that is not a non-empty string: {name!r}"
            )
        entries.append((name, _mapping(path, f"{key}.{name}", spec, allowed=allowed)))
    return entries


def _mapping(path: Path, key: str, value: object, *, allowed: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PlatformSettingsError(f"{path}: key '{key}' must be a mapping, got {type(value).__name__}")
    unknown = sorted(str(name) for name in value if allowed and name not in allowed)
    if unknown:
        where = f"{key}.{unknown[0]}" if key != "<root>" else unknown[0]
        raise PlatformSettingsError(f"{path}: key '{where}' is unknown (allowed: {', '.join(allowed)})")
    return value


def _checked(path: Path, key: str, value: object, valid: bool, expected: str) -> Any:
    """Return ``value`` if ``valid``, else raise the error that names the file, the key and ``expected``."""
    if not valid:
        raise PlatformSettingsError(f"{path}: key '{key}' must be {expected}, got {value!r}")
    return value


def _value(path: Path, key: str, value: object) -> str:
    valid = isinstance(value, str) and bool(value)
    return _checked(path, key, value, valid, "a non-empty string (quote numbers)")


def _variable_value(path: Path, key: str, value: object) -> str:
    return _checked(path, key, value, isinstance(value, str), "a string (quote numbers)")


def _text(path: Path, key: str, value: object) -> str:
    return _checked(path, key, value, isinstance(value, str), "a string")


def _strings(path: Path, key: str, value: object) -> list[str]:
    valid = isinstance(value, list) and all(isinstance(item, str) and item for item in value)
    return _checked(path, key, value, valid, "a list of non-empty strings")


def _integer(path: Path, key: str, value: object) -> int:
    valid = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return _checked(path, key, value, valid, "a non-negative integer")


def _boolean(path: Path, key: str, value: object) -> bool:
    return _checked(path, key, value, isinstance(value, bool), "true or false")


def _positive_number(path: Path, key: str, value: object) -> float:
    valid = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return float(_checked(path, key, value, valid, "a positive number"))
