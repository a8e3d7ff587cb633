"""The connection details file that ``platform-settings apply --connections`` reads (dev and e2e only).

``config/platform.yaml`` declares connections by id and type. In a cluster their secrets reach Airflow
as ``AIRFLOW_CONN_*`` variables from Kubernetes Secrets and nothing is written for them; a local
deployment (``platform-dev``, the end-to-end tier) has no such Secrets, so its caller passes the details
of the services it started in this file, which has the shape ``airflow connections import`` reads
(JSON or YAML)::

    {"postgres_warehouse": {"host": "127.0.0.1", "port": 5432, "login": "...", "password": "...",
                            "schema": "warehouse"}}

Each entry's keys are ``conn_type`` (optional: it must equal the declared type), ``host``, ``port``,
``login``, ``password``, ``schema`` and ``extra`` (a mapping or its JSON text). Messages name the file
and the key, never a value of ``login``, ``password`` or ``extra``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DETAIL_KEYS = ("conn_type", "host", "port", "login", "password", "schema", "extra")


class SettingsInputError(ValueError):
    """An input of the applier is invalid; the message names the file and the key. Nothing is applied."""


@dataclass(frozen=True)
class ConnectionDetails:
    """Where a declared connection points and how it authenticates (secrets are kept out of ``repr``)."""

    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: str | None = field(default=None, repr=False)


def load_connection_details(path: Path) -> dict[str, ConnectionDetails]:
    """Read and check the shape of a connection details file.

    Args:
        path: A JSON or YAML file mapping connection ids to their details.

    Returns:
        The details by connection id, in file order.

    Raises:
        SettingsInputError: The file is unreadable, not YAML/JSON, or an entry has a wrong key or type.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsInputError(f"{path}: cannot read connection details: {error.strerror}") from error
    except yaml.YAMLError as error:
        # The parser's message quotes the offending text, which may be a secret: give its position only.
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SettingsInputError(f"{path}: invalid YAML/JSON{where}") from None
    if not isinstance(document, dict):
        raise SettingsInputError(f"{path}: must map connection ids to their details")
    return {str(conn_id): _details(path, conn_id, entry) for conn_id, entry in document.items()}


def _details(path: Path, conn_id: object, entry: object) -> ConnectionDetails:
    if not isinstance(conn_id, str) or not conn_id:
        raise SettingsInputError(f"{path}: connection id {conn_id!r} is not a non-empty string")
    if not isinstance(entry, dict):
        raise SettingsInputError(f"{path}: key '{conn_id}' must be a mapping of connection fields")
    unknown = sorted(str(key) for key in entry if key not in DETAIL_KEYS)
    if unknown:
        raise SettingsInputError(
            f"{path}: key '{conn_id}.{unknown[0]}' is unknown (allowed: {', '.join(DETAIL_KEYS)})"
        )
    port = entry.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        raise SettingsInputError(f"{path}: key '{conn_id}.port' must be a TCP port number, got {port!r}")
    return ConnectionDetails(
        conn_id=conn_id,
        conn_type=_string(path, conn_id, "conn_type", entry),
        host=_string(path, conn_id, "host", entry),
        port=port,
        login=_string(path, conn_id, "login", entry),
        password=_string(path, conn_id, "password", entry),
        schema=_string(path, conn_id, "schema", entry),
        extra=_extra(path, conn_id, entry.get("extra")),
    )


def _string(path: Path, conn_id: str, key: str, entry: dict) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise SettingsInputError(
            f"{path}: key '{conn_id}.{key}' must be a string, got {type(value).__name__}"
        )
    return value


def _extra(path: Path, conn_id: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SettingsInputError(f"{path}: key '{conn_id}.extra' is not valid JSON") from None
    if not isinstance(value, dict):
        raise SettingsInputError(f"{path}: key '{conn_id}.extra' must be a mapping (or its JSON text)")
    return json.dumps(value, sort_keys=True)
