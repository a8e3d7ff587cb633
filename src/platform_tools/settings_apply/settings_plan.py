"""Validate every input of the applier and decide what it writes, before anything is written.

A :class:`SettingsPlan` holds the pools and variables of ``config/platform.yaml`` (variables with their
``[platform]`` value where the environment sets one) and the connections whose details the caller
passed. Building it is where bad input stops the applier: an option of ``[platform]`` that is not a
declared variable, a connection id that is not declared, a type that differs from the declared one, a
key Airflow would refuse. It touches no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from airflow_platform.platform_settings import ConnectionSpec, PlatformSettings, PoolSpec
from platform_tools.settings_apply.connection_details import ConnectionDetails, SettingsInputError
from platform_tools.settings_apply.platform_section import SECTION

# Airflow's column limits (airflow.models): variable.key and connection.conn_id are VARCHAR(250),
# slot_pool.pool VARCHAR(256); validate_key (airflow.utils.helpers) also checks the characters.
MAX_KEY_LENGTH = 250


@dataclass(frozen=True)
class PlannedVariable:
    """A variable to write: its value comes from ``config/platform.yaml`` or from ``[platform]``."""

    key: str
    value: str
    description: str
    from_platform_section: bool


@dataclass(frozen=True)
class PlannedConnection:
    """A declared connection with the details the caller passed."""

    spec: ConnectionSpec
    details: ConnectionDetails


@dataclass(frozen=True)
class SettingsPlan:
    """Everything the applier writes, validated."""

    settings_path: Path
    pools: tuple[PoolSpec, ...]
    variables: tuple[PlannedVariable, ...]
    connections: tuple[PlannedConnection, ...]
    declared_connections: int

    def summary_lines(self) -> list[str]:
        """Return the counts, one line per kind (names and types only, never a value of a connection)."""
        overridden = [variable.key for variable in self.variables if variable.from_platform_section]
        from_section = f" ({len(overridden)} from [{SECTION}]: {', '.join(overridden)})" if overridden else ""
        left = self.declared_connections - len(self.connections)
        return [
            f"  pools        {len(self.pools)}",
            f"  variables    {len(self.variables)}{from_section}",
            f"  connections  {len(self.connections)} of {self.declared_connections} declared"
            + (f" ({left} left to AIRFLOW_CONN_* or a secrets backend)" if left else ""),
        ]


def build_plan(
    settings: PlatformSettings,
    platform_options: Mapping[str, str],
    details: Mapping[str, ConnectionDetails],
    details_path: Path | None = None,
) -> SettingsPlan:
    """Validate the inputs together and return what to write.

    Args:
        settings: The typed ``config/platform.yaml``.
        platform_options: The ``[platform]`` options of Airflow's configuration.
        details: Connection details by id (empty: write no connection, as in a cluster).
        details_path: The file ``details`` came from (for messages).

    Raises:
        SettingsInputError: An input is invalid; the message names the file (or section) and the key.
    """
    source = settings.path
    for name in platform_options:
        if name not in settings.variables:
            raise SettingsInputError(
                f"airflow.cfg [{SECTION}] {name}: not a variable declared in {source} "
                f"(declared: {', '.join(settings.variables)})"
            )
    for key in settings.variables:
        _check_key(f"{source}: key 'variables.{key}'", key)
    for conn_id in settings.connections:
        _check_key(f"{source}: key 'connections.{conn_id}'", conn_id)
    for name in settings.pools:
        _check_length(f"{source}: key 'pools.{name}'", name, 256)
    variables = tuple(
        PlannedVariable(
            key=key,
            value=platform_options.get(key, spec.value),
            description=spec.description,
            from_platform_section=key in platform_options,
        )
        for key, spec in settings.variables.items()
    )
    connections = tuple(
        PlannedConnection(spec=_declared(settings, entry, details_path), details=entry)
        for entry in details.values()
    )
    return SettingsPlan(
        settings_path=source,
        pools=tuple(settings.pools.values()),
        variables=variables,
        connections=connections,
        declared_connections=len(settings.connections),
    )


def _declared(
    settings: PlatformSettings, entry: ConnectionDetails, details_path: Path | None
) -> ConnectionSpec:
    where = f"{details_path or '<connection details>'}: key '{entry.conn_id}'"
    spec = settings.connections.get(entry.conn_id)
    if spec is None:
        raise SettingsInputError(
            f"{where}: connection {entry.conn_id!r} is not declared in {settings.path} "
            f"(declared: {', '.join(settings.connections)})"
        )
    if entry.conn_type is not None and entry.conn_type != spec.conn_type:
        raise SettingsInputError(
            f"{where}.conn_type is {entry.conn_type!r}, but {settings.path} declares "
            f"{entry.conn_id!r} with conn_type {spec.conn_type!r}"
        )
    return spec


def _check_key(where: str, key: str) -> None:
    from airflow.utils.helpers import validate_key

    try:
        validate_key(key, max_length=MAX_KEY_LENGTH)
    except Exception as error:  # Airflow raises AirflowException or TypeError
        raise SettingsInputError(f"{where}: {error}") from None


def _check_length(where: str, name: str, limit: int) -> None:
    if len(name) > limit:
        raise SettingsInputError(f"{where}: longer than {limit} characters")
