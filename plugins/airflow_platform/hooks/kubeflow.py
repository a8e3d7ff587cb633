"""Kubeflow Pipelines hook: the KFP v2beta1 REST API over the package's httpx stack (not the ``kfp`` SDK).

The ``kfp`` SDK pins ``kubernetes<31`` and exact ``requests``/``urllib3`` versions, which break the
Kubernetes provider (see DESIGN.md). The generated ``kfp-server-api`` client is not used either: the
hook needs seven JSON endpoints, which it calls through the same httpx client stack, error mapping and
redaction as the MLflow hook, blocking here and asynchronous in the trigger, instead of a third HTTP
stack (urllib3) whose models would only be converted back to the JSON the API sent.

Connection type ``kubeflow_pipelines``, this provider's (``http`` works too). Fields: ``host`` (a URL or
a host name, then ``schema`` and ``port`` apply), ``password`` = an optional bearer token,
``extra.namespace`` = the KFP namespace (multi-user deployments), ``extra.verify_ssl`` (default true).
Errors are :class:`~airflow_platform.exceptions.PlatformPermanentError` (unknown object, rejected
credentials, invalid request) or :class:`~airflow_platform.exceptions.PlatformTransientError`
(unreachable, 5xx, 429, 408); messages name the object and the status, never a URL with credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_platform.exceptions import PlatformPermanentError, PlatformTransientError, connection_required
from airflow_platform.utils.http import (
    ApiCall,
    AsyncRestClient,
    RestClient,
    RestEndpoint,
    is_transient_status,
)

if TYPE_CHECKING:
    import httpx
    from airflow.sdk import Connection

SERVICE = "KFP API"
API_PREFIX = "apis/v2beta1"


def classify_http_error(status: int, what: str) -> PlatformPermanentError | PlatformTransientError:
    """Turn an HTTP error status from the KFP API about ``what`` into a transient or a permanent error."""
    if is_transient_status(status):
        return PlatformTransientError(f"KFP API answered HTTP {status} for {what}; will retry")
    if status == 404:
        return PlatformPermanentError(f"{what} not found in Kubeflow Pipelines")
    if status in (401, 403):
        return PlatformPermanentError(f"KFP API rejected the credentials (HTTP {status}) for {what}")
    return PlatformPermanentError(f"KFP API answered HTTP {status} for {what}")


def _kfp_status_error(response: httpx.Response, call: ApiCall) -> Exception:
    return classify_http_error(response.status_code, call.subject)


@dataclass(frozen=True)
class KfpEndpoint:
    """Where and how to call the KFP API; built from an Airflow connection. The token never prints."""

    base_url: str
    namespace: str | None = None
    verify_ssl: bool = True
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_connection(cls, conn: Connection, extra: dict[str, Any]) -> KfpEndpoint:
        """Build the endpoint from a connection and its (already parsed) extra."""
        host = (conn.host or "").rstrip("/")
        if not host:
            raise PlatformPermanentError(f"Connection {conn.conn_id!r} has no host for the KFP API")
        if "://" not in host:
            host = f"{conn.schema or 'http'}://{host}"
            if conn.port:
                host = f"{host}:{conn.port}"
        verify = extra.get("verify_ssl", True)
        return cls(
            base_url=host,
            namespace=extra.get("namespace") or None,
            verify_ssl=str(verify).lower() not in {"false", "0", "no"},
            token=conn.password or None,
        )

    def headers(self) -> dict[str, str]:
        """HTTP headers for a request (the bearer token when one is set)."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def rest_endpoint(self, timeout: float) -> RestEndpoint:
        """The REST endpoint of the API, with the token and the KFP error mapping."""
        return RestEndpoint(
            base_url=self.base_url,
            service=SERVICE,
            status_error=_kfp_status_error,
            headers=self.headers(),
            secrets=(self.token,) if self.token else (),
            verify=self.verify_ssl,
            timeout=timeout,
        )


def _equals_filter(key: str, value: str) -> str:
    return json.dumps({"predicates": [{"key": key, "operation": "EQUALS", "string_value": value}]})


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def get_run_call(run_id: str) -> ApiCall:
    """The call that reads a run (``state`` is upper-case: PENDING, RUNNING, SUCCEEDED, FAILED, ...)."""
    return ApiCall("GET", f"{API_PREFIX}/runs/{run_id}", f"run id {run_id!r}")


class KubeflowPipelinesHook(BaseHook):
    """Talk to the Kubeflow Pipelines v2beta1 REST API.

    Args:
        kubeflow_conn_id: The Airflow connection (type ``kubeflow_pipelines`` or ``http``) of the KFP API.
        request_timeout: Seconds before a single request is abandoned (a transient error).
    """

    conn_name_attr = "kubeflow_conn_id"
    default_conn_name = "kubeflow_default"
    conn_type = "kubeflow_pipelines"
    hook_name = "Kubeflow Pipelines"

    def __init__(self, kubeflow_conn_id: str = default_conn_name, request_timeout: float = 30.0) -> None:
        super().__init__()
        self.kubeflow_conn_id = kubeflow_conn_id
        self.request_timeout = request_timeout

    @cached_property
    def endpoint(self) -> KfpEndpoint:
        """The API endpoint from the connection (a missing connection is a permanent error)."""
        with connection_required():
            conn = self.get_connection(self.kubeflow_conn_id)
        return KfpEndpoint.from_connection(conn, conn.extra_dejson)

    @classmethod
    async def aget_rest_endpoint(cls, kubeflow_conn_id: str, request_timeout: float) -> RestEndpoint:
        """Read the connection without blocking the event loop and return its REST endpoint (triggers)."""
        with connection_required():
            conn = await cls.aget_connection(kubeflow_conn_id)
        endpoint = KfpEndpoint.from_connection(conn, await conn.aextra_dejson())
        return endpoint.rest_endpoint(request_timeout)

    @staticmethod
    def async_rest_client(endpoint: RestEndpoint) -> AsyncRestClient:
        """Return an asynchronous REST client of ``endpoint`` (close it with ``aclose``), for triggers."""
        return AsyncRestClient(endpoint)

    @property
    def namespace(self) -> str | None:
        """The KFP namespace from the connection's extra, if any."""
        return self.endpoint.namespace

    def get_conn(self) -> RestClient:
        """Return the blocking REST client of the API (cached per hook; release it with :meth:`close`)."""
        return self._client

    @cached_property
    def _client(self) -> RestClient:
        return RestClient(self.endpoint.rest_endpoint(self.request_timeout))

    def close(self) -> None:
        """Release the client's connection pool."""
        if "_client" in self.__dict__:
            self._client.close()
            del self.__dict__["_client"]

    def call(self, call: ApiCall) -> dict[str, Any]:
        """Send one call to the API and return its JSON answer (errors mapped as the module says)."""
        return self._client.call(call)

    def _list(self, kind: str, display_name: str, page_size: int) -> list[dict[str, Any]]:
        params = _without_none(
            {
                "filter": _equals_filter("display_name", display_name),
                "page_size": page_size,
                "namespace": self.namespace,
            }
        )
        answer = self.call(
            ApiCall("GET", f"{API_PREFIX}/{kind}", f"{kind[:-1]} {display_name!r}", params=params)
        )
        return answer.get(kind) or []

    # --- pipelines -----------------------------------------------------------------------------

    def get_pipeline(self, pipeline_id: str) -> dict[str, Any]:
        """Return a pipeline by id; unknown ids fail permanently."""
        return self.call(
            ApiCall("GET", f"{API_PREFIX}/pipelines/{pipeline_id}", f"pipeline id {pipeline_id!r}")
        )

    def find_pipeline(self, display_name: str) -> dict[str, Any]:
        """Return the one pipeline with this display name in the connection's namespace.

        Raises:
            PlatformPermanentError: none or more than one pipeline has that name.
        """
        found = self._list("pipelines", display_name, page_size=2)
        what = f"pipeline {display_name!r}"
        if not found:
            raise PlatformPermanentError(f"{what} not found in Kubeflow Pipelines{self._in_namespace()}")
        if len(found) > 1:
            raise PlatformPermanentError(f"{what} is ambiguous: several pipelines have that display name")
        return found[0]

    # --- experiments ---------------------------------------------------------------------------

    def get_experiment(self, experiment_id: str) -> dict[str, Any]:
        """Return an experiment by id; unknown ids fail permanently."""
        path = f"{API_PREFIX}/experiments/{experiment_id}"
        return self.call(ApiCall("GET", path, f"experiment id {experiment_id!r}"))

    def find_experiment(self, display_name: str) -> dict[str, Any] | None:
        """Return the experiment with this display name in the namespace, or ``None``."""
        found = self._list("experiments", display_name, page_size=1)
        return found[0] if found else None

    def get_or_create_experiment(
        self, display_name: str, description: str = ""
    ) -> tuple[dict[str, Any], bool]:
        """Return ``(experiment, created)``: the existing experiment with that name, or a new one."""
        existing = self.find_experiment(display_name)
        if existing is not None:
            return existing, False
        body = _without_none(
            {"display_name": display_name, "description": description, "namespace": self.namespace}
        )
        try:
            created = self.call(
                ApiCall("POST", f"{API_PREFIX}/experiments", f"experiment {display_name!r}", body=body)
            )
        except PlatformPermanentError:
            # Another task may have created it between our lookup and create (HTTP 409): look again.
            existing = self.find_experiment(display_name)
            if existing is None:
                raise
            return existing, False
        return created, True

    # --- runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        display_name: str,
        pipeline_id: str,
        experiment_id: str,
        parameters: dict[str, Any] | None = None,
        pipeline_version_id: str | None = None,
        description: str = "",
        service_account: str | None = None,
    ) -> dict[str, Any]:
        """Start a run of a pipeline (its latest version unless ``pipeline_version_id`` is given)."""
        body = _without_none(
            {
                "display_name": display_name,
                "description": description,
                "experiment_id": experiment_id,
                "pipeline_version_reference": _without_none(
                    {"pipeline_id": pipeline_id, "pipeline_version_id": pipeline_version_id}
                ),
                "runtime_config": {"parameters": dict(parameters or {})},
                "service_account": service_account,
            }
        )
        what = f"run {display_name!r} of pipeline id {pipeline_id!r}"
        return self.call(ApiCall("POST", f"{API_PREFIX}/runs", what, body=body))

    def get_run(self, run_id: str) -> dict[str, Any]:
        """Return a run by id (``state`` is upper-case: PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED...)."""
        return self.call(get_run_call(run_id))

    def _in_namespace(self) -> str:
        return f" (namespace {self.namespace!r})" if self.namespace else ""
