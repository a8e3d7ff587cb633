"""MLflow hook: an Airflow connection turned into an ``MlflowClient`` and into REST clients for sensors.

Connection (``mlflow_default``): type ``mlflow``, this provider's (``http`` and ``https`` work too).
Host, port and schema (``http``/``https``) give the tracking URI (a host that already holds
``http://...`` is used as is; any other schema, such as the path of ``http://host:5000/mlflow``, is the
server's base path). The password is an optional
credential: alone it is sent as a bearer token (``MLFLOW_TRACKING_TOKEN`` semantics); with a login it is
sent as HTTP basic auth (``MLFLOW_TRACKING_USERNAME``/``PASSWORD`` semantics, for MLflow's auth app).

The credential never goes into ``os.environ``: it is kept in this process's memory and attached by a
``requests`` auth object to the requests whose URL starts with the connection's tracking URI. MLflow
asks for that auth object through its request-auth plugin interface, which is switched on by the
non-secret ``MLFLOW_TRACKING_AUTH=airflow-platform-connection``; this covers every HTTP call the MLflow
client makes (tracking, registry, artifact up- and downloads, ``mlflow.pyfunc.load_model``), in any
thread. Triggers never import ``mlflow``: they use the shared asynchronous REST client (httpx) against the
REST API so that the triggerer's event loop is never blocked.

Errors are mapped into :class:`~airflow_platform.exceptions.PlatformPermanentError` (4xx such as an
unknown model, version, alias, experiment or run: retrying cannot help) and
:class:`~airflow_platform.exceptions.PlatformTransientError` (connection refused, timeouts, 5xx, 429:
retry with backoff). Neither message ever carries the credential.
"""

from __future__ import annotations

import base64
import functools
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_platform.exceptions import PlatformPermanentError, PlatformTransientError
from airflow_platform.utils.http import ApiCall, AsyncRestClient, RestClient, RestEndpoint, error_for_status
from airflow_platform.utils.redaction import redact

if TYPE_CHECKING:
    import httpx
    from airflow.sdk import Connection
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

AUTH_PROVIDER_NAME = "airflow-platform-connection"
API_PREFIX = "/api/2.0/mlflow"
SERVICE = "MLflow"


@dataclass(frozen=True)
class MLflowConnectionSettings:
    """Where the tracking server is and how to authenticate; ``repr`` never shows the credential."""

    tracking_uri: str
    login: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_connection(cls, conn: Connection) -> MLflowConnectionSettings:
        """Build the settings from an Airflow connection (see the module docstring)."""
        if not conn.host:
            raise PlatformPermanentError(f"connection '{conn.conn_id}' has no host for the MLflow server")
        host = conn.host.rstrip("/")
        schema = (conn.schema or "").strip("/")
        if "://" in host:
            uri = host
        else:
            scheme = (
                schema if schema in ("http", "https") else "https" if conn.conn_type == "https" else "http"
            )
            uri = f"{scheme}://{host}"
        if conn.port:
            uri = f"{uri}:{conn.port}"
        if schema and schema not in ("http", "https"):
            uri = f"{uri}/{schema}"  # a URI-style connection's path (http://host:5000/mlflow) is a base path
        return cls(tracking_uri=uri, login=conn.login or None, password=conn.password or None)

    def auth_headers(self) -> dict[str, str]:
        """Return the ``Authorization`` header for this credential (empty without one)."""
        return {"Authorization": _authorization(self.login, self.password)} if self.password else {}

    def redact(self, text: str) -> str:
        """Return ``text`` without the credential."""
        return redact(text, [self.password])

    def endpoint(self) -> RestEndpoint:
        """The REST API endpoint of the tracking server, with the credential and MLflow's error mapping."""
        return RestEndpoint(
            base_url=f"{self.tracking_uri}{API_PREFIX}",
            service=SERVICE,
            status_error=_error_from_response,
            headers=self.auth_headers(),
            secrets=(self.password,) if self.password else (),
        )


def _authorization(login: str | None, password: str) -> str:
    if login:
        return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
    return f"Bearer {password}"


class _ConnectionCredentials:
    """A ``requests`` auth callable: adds the credential registered for the tracking URI a request goes to.

    ``requests`` accepts any callable taking and returning the prepared request as ``auth``; this one
    needs no import of ``requests`` (kept out of DAG parsing).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_uri: dict[str, str] = {}

    def register(self, settings: MLflowConnectionSettings) -> None:
        """Use the settings' credential for requests under their tracking URI (or none without one)."""
        with self._lock:
            if settings.password:
                self._by_uri[settings.tracking_uri] = _authorization(settings.login, settings.password)
            else:
                self._by_uri.pop(settings.tracking_uri, None)

    def __call__(self, request: Any) -> Any:
        url = request.url or ""
        with self._lock:
            matches = [uri for uri in self._by_uri if url == uri or url.startswith(f"{uri}/")]
            header = self._by_uri[max(matches, key=len)] if matches else None
        if header is not None:
            request.headers["Authorization"] = header
        return request


_CREDENTIALS = _ConnectionCredentials()
_install_lock = threading.Lock()


def _install_auth_provider() -> None:
    """Register the request-auth plugin with MLflow once per process and switch it on."""
    with _install_lock:
        _register_auth_provider()


@functools.cache
def _register_auth_provider() -> None:
    """Register the request-auth plugin (the cache makes it once; the caller holds ``_install_lock``)."""
    from mlflow.tracking.request_auth.abstract_request_auth_provider import RequestAuthProvider
    from mlflow.tracking.request_auth.registry import _request_auth_provider_registry

    class _AirflowConnectionAuthProvider(RequestAuthProvider):
        def get_name(self) -> str:
            return AUTH_PROVIDER_NAME

        def get_auth(self) -> _ConnectionCredentials:
            return _CREDENTIALS

    _request_auth_provider_registry.register(_AirflowConnectionAuthProvider)
    os.environ.setdefault("MLFLOW_TRACKING_AUTH", AUTH_PROVIDER_NAME)


def classify_mlflow_exception(
    exc: MlflowException, settings: MLflowConnectionSettings, what: str
) -> PlatformPermanentError | PlatformTransientError:
    """Turn an ``MlflowException`` raised for ``what`` (e.g. "model 'm' version 3") into our error kinds."""
    return error_for_status(exc.get_http_status_code(), settings.redact(f"{what}: {exc.message}"))


def _error_from_response(response: httpx.Response, call: ApiCall) -> Exception:
    try:
        payload = response.json()
        detail = f"{payload.get('error_code', response.status_code)}: {payload.get('message', '')}"
    except ValueError:
        detail = f"HTTP {response.status_code}: {response.text[:200]}"
    return error_for_status(response.status_code, f"{SERVICE} {call.subject}: {detail}")


class MLflowHook(BaseHook):
    """Interact with an MLflow tracking server and model registry through an Airflow connection.

    Args:
        mlflow_conn_id: The connection id (type ``mlflow``, or ``http``/``https``; password = optional token).
    """

    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "mlflow_default"
    conn_type = "mlflow"
    hook_name = "MLflow"

    def __init__(self, mlflow_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.mlflow_conn_id = mlflow_conn_id

    @cached_property
    def settings(self) -> MLflowConnectionSettings:
        """The tracking URI and credential from the connection (a missing one is a permanent error)."""
        try:
            return MLflowConnectionSettings.from_connection(self.get_connection(self.mlflow_conn_id))
        except AirflowNotFoundException as exc:
            raise PlatformPermanentError(str(exc)) from None

    @classmethod
    async def aget_endpoint(cls, mlflow_conn_id: str = default_conn_name) -> RestEndpoint:
        """Read the connection without blocking the event loop and return its REST endpoint (triggers)."""
        try:
            conn = await cls.aget_connection(mlflow_conn_id)
        except AirflowNotFoundException as exc:
            raise PlatformPermanentError(str(exc)) from None
        return MLflowConnectionSettings.from_connection(conn).endpoint()

    @staticmethod
    def async_rest_client(endpoint: RestEndpoint) -> AsyncRestClient:
        """Return an asynchronous REST client of ``endpoint`` (close it with ``aclose``), for triggers."""
        return AsyncRestClient(endpoint)

    def get_conn(self) -> MlflowClient:
        """Return an ``MlflowClient`` for the connection's server, its credential attached per request."""
        from mlflow import MlflowClient

        _install_auth_provider()
        _CREDENTIALS.register(self.settings)
        chosen = os.environ.get("MLFLOW_TRACKING_AUTH")
        if self.settings.password and chosen != AUTH_PROVIDER_NAME:
            self.log.warning(
                "MLFLOW_TRACKING_AUTH=%s overrides the credential of connection %s",
                chosen,
                self.mlflow_conn_id,
            )
        return MlflowClient(tracking_uri=self.settings.tracking_uri, registry_uri=self.settings.tracking_uri)

    def rest_client(self) -> RestClient:
        """Return a blocking REST client (close it, e.g. with ``with``) for sensor pokes."""
        return RestClient(self.settings.endpoint())

    def translate(self, exc: MlflowException, what: str) -> PlatformPermanentError | PlatformTransientError:
        """Classify an ``MlflowException`` about ``what`` as permanent or transient (credential removed)."""
        return classify_mlflow_exception(exc, self.settings, what)

    def test_connection(self) -> tuple[bool, str]:
        """Check that the server answers an authenticated API call (the UI's *Test* button)."""
        call = ApiCall("GET", "experiments/search", "experiment search", params={"max_results": 1})
        try:
            with self.rest_client() as client:
                client.call(call)
        except (PlatformPermanentError, PlatformTransientError) as exc:
            return False, str(exc)
        return True, f"MLflow at {self.settings.tracking_uri} answered"
