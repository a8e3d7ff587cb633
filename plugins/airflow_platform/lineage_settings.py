"""The OpenLineage provider's configuration: ``config/platform.yaml``'s ``lineage`` section plus an endpoint.

Every deployment configures the provider the same way:

- the ``lineage`` section becomes ``[openlineage]`` options (``AIRFLOW__OPENLINEAGE__NAMESPACE``,
  ``AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD``, ``AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT``); the Helm
  values carry the same options in ``config.openlineage``;
- the endpoint, when the deployment has one, is ``OPENLINEAGE_URL`` and ``OPENLINEAGE_API_KEY``, the
  variables the OpenLineage client reads; in the cluster they come from the optional Secret
  ``airflow-openlineage`` (helm/SECRETS.md). Without them (and without any other transport) the
  provider disables itself: lineage is off and nothing about it is logged.

:func:`openlineage_environment` returns both, as environment variables, for the local deployments.

From ``OPENLINEAGE_URL`` alone the client builds its default HTTP transport: a 5 s timeout and five
retries with backoff, about 9 s and five "Retrying" warnings per event against an endpoint that refuses
connections. The tuned transport (one attempt, ``transport_timeout_seconds``) cannot be configured
beside an optional Secret: the provider takes any ``OPENLINEAGE__TRANSPORT*`` variable, or an
``[openlineage] transport``, for a configured transport and would turn lineage on without an endpoint.
So it is derived from the endpoint when an Airflow process starts: :func:`tune_openlineage_transport`,
called by ``airflow_local_settings`` (which every Airflow process imports before any plugin), adds the
``OPENLINEAGE__TRANSPORT__*`` variables, in the way the client itself expands ``OPENLINEAGE_URL``.

Only the standard library and the platform settings are imported: every Airflow process imports this.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

from airflow_platform.platform_settings import LineageSettings, load_platform_settings

URL_VARIABLE = "OPENLINEAGE_URL"
API_KEY_VARIABLE = "OPENLINEAGE_API_KEY"
TRANSPORT_PREFIX = "OPENLINEAGE__TRANSPORT__"
OPTION_PREFIX = "AIRFLOW__OPENLINEAGE__"
# One attempt per event: a retry would hold the task (and log a warning per attempt).
NO_RETRIES = {"total": 0, "connect": 0, "read": 0}


@dataclass(frozen=True)
class LineageEndpoint:
    """Where a deployment sends its lineage events.

    Attributes:
        url: The HTTP(S) base URL of the OpenLineage API; events are posted to ``api/v1/lineage``
            resolved against it as a URL reference (a URL with a path keeps it only up to its last
            ``/``, as in the OpenLineage client).
        api_key: Sent as ``Authorization: Bearer <api_key>``; ``None`` for an endpoint without one.
    """

    url: str
    api_key: str | None = field(default=None, repr=False)


def openlineage_environment(
    lineage: LineageSettings, endpoint: LineageEndpoint | None = None
) -> dict[str, str]:
    """Return the provider's configuration as the environment of every Airflow process of a deployment.

    Args:
        lineage: The platform's lineage settings (``load_platform_settings().lineage``).
        endpoint: The deployment's endpoint; ``None`` leaves the transport unconfigured, so lineage is off.

    Returns:
        The ``[openlineage]`` options as ``AIRFLOW__OPENLINEAGE__*`` variables and, with an endpoint,
        ``OPENLINEAGE_URL`` and ``OPENLINEAGE_API_KEY`` (what the Helm release gives its containers).
    """
    environment = {
        f"{OPTION_PREFIX}NAMESPACE": lineage.namespace,
        f"{OPTION_PREFIX}EXECUTE_IN_THREAD": str(lineage.execute_in_thread),
        f"{OPTION_PREFIX}EXECUTION_TIMEOUT": str(lineage.execution_timeout_seconds),
    }
    if endpoint is not None:
        environment[URL_VARIABLE] = endpoint.url
        if endpoint.api_key:
            environment[API_KEY_VARIABLE] = endpoint.api_key
    return environment


def openlineage_transport_environment(lineage: LineageSettings, endpoint: LineageEndpoint) -> dict[str, str]:
    """Return the client's HTTP transport for ``endpoint`` as ``OPENLINEAGE__TRANSPORT__*`` variables.

    One attempt per event, its connect and its read each bounded by
    ``lineage.transport_timeout_seconds``. The client parses every value as JSON first, so each is
    JSON-encoded: a URL or an API key is then always read back as the same string.
    """
    transport: dict[str, object] = {
        "TYPE": "http",
        "URL": endpoint.url,
        "TIMEOUT": lineage.transport_timeout_seconds,
        "RETRY": NO_RETRIES,
    }
    if endpoint.api_key:
        transport["AUTH"] = {"type": "api_key", "apiKey": endpoint.api_key}
    return {f"{TRANSPORT_PREFIX}{name}": json.dumps(value) for name, value in transport.items()}


def lineage_endpoint_from_environment(environ: Mapping[str, str]) -> LineageEndpoint | None:
    """Return the endpoint that ``OPENLINEAGE_URL`` and ``OPENLINEAGE_API_KEY`` name, if the URL is set."""
    url = environ.get(URL_VARIABLE, "").strip()
    if not url:
        return None
    return LineageEndpoint(url=url, api_key=environ.get(API_KEY_VARIABLE, "").strip() or None)


def tune_openlineage_transport(environ: MutableMapping[str, str] | None = None) -> bool:
    """Give a configured endpoint the platform's HTTP transport, in this process's environment.

    Does nothing without ``OPENLINEAGE_URL`` (lineage stays off) or when ``OPENLINEAGE__TRANSPORT__TYPE``
    is already set (a transport configured explicitly is kept as it is).

    Args:
        environ: The environment to complete; by default ``os.environ``.

    Returns:
        Whether the transport variables were added.

    Raises:
        airflow_platform.platform_settings.PlatformSettingsError: an endpoint is set and the settings
            file is missing or malformed.
    """
    environ = os.environ if environ is None else environ
    endpoint = lineage_endpoint_from_environment(environ)
    if endpoint is None or f"{TRANSPORT_PREFIX}TYPE" in environ:
        return False
    environ.update(openlineage_transport_environment(load_platform_settings().lineage, endpoint))
    return True
