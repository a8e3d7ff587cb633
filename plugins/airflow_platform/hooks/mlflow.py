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
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseHook

from airflow_platform.exceptions import PlatformPermanentError, PlatformTransientError, connection_required
from airflow_platform.utils.http import ApiCall, AsyncRestClient, RestClient, RestEndpoint, error_for_status
from airflow_platform.utils.redaction import redact

T = TypeVar("T")

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


@dataclass(frozen=True)
class LoadedModel:
    """A registered model version, loaded as pyfunc.

    Attributes:
        model: The ``mlflow.pyfunc.PyFuncModel``.
        model_uri: ``models:/<name>@<alias>`` or ``models:/<name>/<version>``, as it was asked for.
        model_name: The registered model.
        version: The version the alias or number resolved to.
        run_id: The run that logged the model, if any.
        what: How messages name it, e.g. ``model 'churn' alias 'champion'``.
    """

    model: Any
    model_uri: str
    model_name: str
    version: str
    run_id: str | None
    what: str


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
        with connection_required():
            return MLflowConnectionSettings.from_connection(self.get_connection(self.mlflow_conn_id))

    @classmethod
    async def aget_endpoint(cls, mlflow_conn_id: str = default_conn_name) -> RestEndpoint:
        """Read the connection without blocking the event loop and return its REST endpoint (triggers)."""
        with connection_required():
            conn = await cls.aget_connection(mlflow_conn_id)
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

    def call(self, what: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call an ``MlflowClient`` method about ``what``, its errors sorted into our two kinds.

        Raises:
            PlatformPermanentError: MLflow rejected the request (unknown object, invalid argument).
            PlatformTransientError: MLflow stayed unreachable or failing through the client's retries.
        """
        from mlflow.exceptions import MlflowException

        try:
            return func(*args, **kwargs)
        except MlflowException as exc:
            raise self.translate(exc, what) from None

    def load_registered_model(
        self, model_name: str, *, alias: str | None = None, version: str | None = None
    ) -> LoadedModel:
        """Load a registered model version as a pyfunc model, in this process.

        The version is resolved through this connection's registry (by ``alias`` or ``version``), its
        files are downloaded from the version's artifact location and loaded with ``mlflow.pyfunc``;
        the operator that validates a model and the DAGs that score with it load through here.

        Raises:
            PlatformPermanentError: an unknown model, alias or version, or files that do not load as
                a pyfunc model.
            PlatformTransientError: the server or the artifact store could not answer.
        """
        import mlflow.artifacts
        import mlflow.pyfunc

        client = self.get_conn()
        if alias:
            what = f"model '{model_name}' alias '{alias}'"
            model_version = self.call(what, client.get_model_version_by_alias, model_name, alias)
            model_uri = f"models:/{model_name}@{alias}"
        else:
            what = f"model '{model_name}' version {version}"
            model_version = self.call(what, client.get_model_version, model_name, version)
            model_uri = f"models:/{model_name}/{version}"
        artifact_uri = self._artifact_location(client, model_version, what)
        with tempfile.TemporaryDirectory(prefix="mlflow-model-") as tmp:
            local = self.call(
                what,
                mlflow.artifacts.download_artifacts,
                artifact_uri=artifact_uri,
                dst_path=tmp,
                tracking_uri=self.settings.tracking_uri,
            )
            try:
                model = mlflow.pyfunc.load_model(local)
            except Exception as exc:
                raise PlatformPermanentError(f"MLflow {what} cannot be loaded as pyfunc: {exc}") from None
        return LoadedModel(
            model=model,
            model_uri=model_uri,
            model_name=model_name,
            version=str(model_version.version),
            run_id=model_version.run_id,
            what=what,
        )

    def _artifact_location(self, client: MlflowClient, model_version: Any, what: str) -> str:
        """Return where the version's files are, never a ``models:/`` URI.

        A ``models:/`` URI would be resolved through MLflow's process-wide default registry (a local
        SQLite file when unset) instead of this connection, so it is resolved here with the client.
        """
        source = str(model_version.source)
        if source.startswith("models:/"):
            model_id = source.removeprefix("models:/").strip("/")
            return self.call(what, client.get_logged_model, model_id).artifact_location
        if source.startswith("runs:/"):
            run_id, _, path = source.removeprefix("runs:/").partition("/")
            run = self.call(what, client.get_run, run_id)
            return f"{run.info.artifact_uri}/{path}".rstrip("/")
        return source

    def test_connection(self) -> tuple[bool, str]:
        """Check that the server answers an authenticated API call (the UI's *Test* button)."""
        call = ApiCall("GET", "experiments/search", "experiment search", params={"max_results": 1})
        try:
            with self.rest_client() as client:
                client.call(call)
        except (PlatformPermanentError, PlatformTransientError) as exc:
            return False, str(exc)
        return True, f"MLflow at {self.settings.tracking_uri} answered"
