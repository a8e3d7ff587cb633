"""Kubeflow Pipelines hook: the KFP v2 REST API through ``kfp-server-api`` (not the ``kfp`` SDK).

The ``kfp`` SDK pins ``kubernetes<31`` and exact ``requests``/``urllib3`` versions, which break the
Kubernetes provider (see DESIGN.md), so the hook uses the generated REST client. Connection type
``kubeflow_pipelines``, this provider's (``http`` works too). Fields: ``host`` (a URL or a host name,
then ``schema`` and ``port`` apply), ``password`` = an optional bearer token, ``extra.namespace`` = the
KFP namespace (multi-user deployments), ``extra.verify_ssl`` (default true).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk import Connection
    from kfp_server_api import ApiClient

SUCCESS_STATES = frozenset({"SUCCEEDED"})
FAILURE_STATES = frozenset({"FAILED", "CANCELED", "SKIPPED"})
TERMINAL_STATES = SUCCESS_STATES | FAILURE_STATES
TRANSIENT_HTTP_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class KubeflowTransientError(RuntimeError):
    """The KFP API could not be reached or answered with a retryable status (5xx, 429, 408)."""


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
            raise AirflowFailException(f"Connection {conn.conn_id!r} has no host for the KFP API")
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


def run_state(run: dict[str, Any]) -> str:
    """Return a run's upper-case KFP v2 state (``PENDING`` when the API has not set one)."""
    return str(run.get("state") or "PENDING").upper()


def classify_http_error(status: int, what: str) -> Exception:
    """Turn an HTTP error status from the KFP API into a transient or a permanent error.

    Messages name the object (``what``) and the status only: never URLs with credentials or bodies.
    """
    if status in TRANSIENT_HTTP_STATUSES:
        return KubeflowTransientError(f"KFP API answered HTTP {status} for {what}; will retry")
    if status == 404:
        return AirflowFailException(f"{what} not found in Kubeflow Pipelines")
    if status in (401, 403):
        return AirflowFailException(f"KFP API rejected the credentials (HTTP {status}) for {what}")
    return AirflowFailException(f"KFP API answered HTTP {status} for {what}")


def _equals_filter(key: str, value: str) -> str:
    return json.dumps({"predicates": [{"key": key, "operation": "EQUALS", "string_value": value}]})


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
        """The API endpoint from the connection."""
        conn = self.get_connection(self.kubeflow_conn_id)
        return KfpEndpoint.from_connection(conn, conn.extra_dejson)

    @property
    def namespace(self) -> str | None:
        """The KFP namespace from the connection's extra, if any."""
        return self.endpoint.namespace

    def get_conn(self) -> ApiClient:
        """Return a ``kfp_server_api.ApiClient`` bound to the connection (cached per hook)."""
        return self._client

    @cached_property
    def _client(self) -> ApiClient:
        from kfp_server_api import ApiClient, Configuration

        endpoint = self.endpoint
        config = Configuration(host=endpoint.base_url)
        config.verify_ssl = endpoint.verify_ssl
        config.retries = False  # retries with backoff happen in our loops, visibly
        if endpoint.token:
            config.api_key = {"authorization": endpoint.token}
            config.api_key_prefix = {"authorization": "Bearer"}
        return ApiClient(configuration=config)

    def close(self) -> None:
        """Release the client's connection pool."""
        if "_client" in self.__dict__:
            self._client.close()
            del self.__dict__["_client"]

    def _call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Call a ``kfp_server_api`` method; return the response as a dict, errors classified."""
        from kfp_server_api.exceptions import ApiException
        from urllib3.exceptions import HTTPError as Urllib3Error

        try:
            result = func(*args, _request_timeout=self.request_timeout, **kwargs)
        except ApiException as err:
            raise classify_http_error(err.status or 0, what) from None
        except Urllib3Error as err:
            raise KubeflowTransientError(
                f"KFP API unreachable for {what}: {type(err).__name__}; will retry"
            ) from None
        return self._client.sanitize_for_serialization(result) or {}

    def health(self) -> dict[str, Any]:
        """Return ``/healthz`` (``multi_user`` etc.)."""
        from kfp_server_api import HealthzServiceApi

        return self._call("healthz", HealthzServiceApi(self._client).healthz_service_get_healthz)

    # --- pipelines -----------------------------------------------------------------------------

    def get_pipeline(self, pipeline_id: str) -> dict[str, Any]:
        """Return a pipeline by id; unknown ids fail permanently."""
        from kfp_server_api import PipelineServiceApi

        api = PipelineServiceApi(self._client)
        return self._call(f"pipeline id {pipeline_id!r}", api.pipeline_service_get_pipeline, pipeline_id)

    def find_pipeline(self, display_name: str) -> dict[str, Any]:
        """Return the one pipeline with this display name in the connection's namespace.

        Raises:
            AirflowFailException: none or more than one pipeline has that name.
        """
        from kfp_server_api import PipelineServiceApi

        api = PipelineServiceApi(self._client)
        kwargs: dict[str, Any] = {"filter": _equals_filter("display_name", display_name), "page_size": 2}
        if self.namespace:
            kwargs["namespace"] = self.namespace
        what = f"pipeline {display_name!r}"
        found = self._call(what, api.pipeline_service_list_pipelines, **kwargs).get("pipelines") or []
        if not found:
            raise AirflowFailException(f"{what} not found in Kubeflow Pipelines{self._in_namespace()}")
        if len(found) > 1:
            raise AirflowFailException(f"{what} is ambiguous: several pipelines have that display name")
        return found[0]

    # --- experiments ---------------------------------------------------------------------------

    def get_experiment(self, experiment_id: str) -> dict[str, Any]:
        """Return an experiment by id; unknown ids fail permanently."""
        from kfp_server_api import ExperimentServiceApi

        api = ExperimentServiceApi(self._client)
        what = f"experiment id {experiment_id!r}"
        return self._call(what, api.experiment_service_get_experiment, experiment_id)

    def find_experiment(self, display_name: str) -> dict[str, Any] | None:
        """Return the experiment with this display name in the namespace, or ``None``."""
        from kfp_server_api import ExperimentServiceApi

        api = ExperimentServiceApi(self._client)
        kwargs: dict[str, Any] = {"filter": _equals_filter("display_name", display_name), "page_size": 1}
        if self.namespace:
            kwargs["namespace"] = self.namespace
        what = f"experiment {display_name!r}"
        found = self._call(what, api.experiment_service_list_experiments, **kwargs).get("experiments") or []
        return found[0] if found else None

    def get_or_create_experiment(
        self, display_name: str, description: str = ""
    ) -> tuple[dict[str, Any], bool]:
        """Return ``(experiment, created)``: the existing experiment with that name, or a new one."""
        from kfp_server_api import ExperimentServiceApi, V2beta1Experiment

        existing = self.find_experiment(display_name)
        if existing is not None:
            return existing, False
        body = V2beta1Experiment(display_name=display_name, description=description, namespace=self.namespace)
        api = ExperimentServiceApi(self._client)
        what = f"experiment {display_name!r}"
        try:
            return self._call(what, api.experiment_service_create_experiment, body), True
        except AirflowFailException:
            # Another task may have created it between our lookup and create (HTTP 409): look again.
            existing = self.find_experiment(display_name)
            if existing is None:
                raise
            return existing, False

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
        from kfp_server_api import (
            RunServiceApi,
            V2beta1PipelineVersionReference,
            V2beta1Run,
            V2beta1RuntimeConfig,
        )

        run = V2beta1Run(
            display_name=display_name,
            description=description,
            experiment_id=experiment_id,
            pipeline_version_reference=V2beta1PipelineVersionReference(
                pipeline_id=pipeline_id, pipeline_version_id=pipeline_version_id
            ),
            runtime_config=V2beta1RuntimeConfig(parameters=dict(parameters or {})),
            service_account=service_account,
        )
        api = RunServiceApi(self._client)
        return self._call(
            f"run {display_name!r} of pipeline id {pipeline_id!r}", api.run_service_create_run, run
        )

    def get_run(self, run_id: str) -> dict[str, Any]:
        """Return a run by id (``state`` is upper-case: PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED...)."""
        from kfp_server_api import RunServiceApi

        api = RunServiceApi(self._client)
        return self._call(f"run id {run_id!r}", api.run_service_get_run, run_id)

    def _in_namespace(self) -> str:
        return f" (namespace {self.namespace!r})" if self.namespace else ""
