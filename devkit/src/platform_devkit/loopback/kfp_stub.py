"""A CONTRACT STUB of the Kubeflow Pipelines API server (``/apis/v2beta1``), for tests only.

The real KFP API server needs Kubernetes (Argo, MinIO, MySQL, the KFP controllers), which this
workplace cannot run. This stub is a small real HTTP server on a free loopback port that implements
only the endpoints our hook calls, with the JSON shapes of the ``kfp-server-api`` 2.17.3 models
(``V2beta1Experiment``, ``V2beta1Pipeline``, ``V2beta1Run``, ``V2beta1List*Response``,
``V2beta1GetHealthzResponse`` and ``GoogleRpcStatus`` for errors):

- ``GET  /apis/v2beta1/healthz``
- ``POST /apis/v2beta1/experiments``, ``GET /apis/v2beta1/experiments`` (``filter``, ``namespace``),
  ``GET /apis/v2beta1/experiments/{experiment_id}``
- ``GET  /apis/v2beta1/pipelines`` (``filter``, ``namespace``), ``GET /apis/v2beta1/pipelines/{pipeline_id}``
- ``POST /apis/v2beta1/runs``, ``GET /apis/v2beta1/runs/{run_id}``

It does not execute pipelines: run states are driven by the test (:meth:`KfpContractStub.set_run_state`
or a scripted sequence with :meth:`KfpContractStub.script_next_run`). It checks the bearer token when
one is configured, records every request (without the ``Authorization`` header value) and can inject
transient failures (HTTP 5xx) to exercise retries.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from platform_devkit.loopback.base import free_port

API_PREFIX = "/apis/v2beta1"
RUN_STATES = frozenset(
    {"PENDING", "RUNNING", "SUCCEEDED", "SKIPPED", "FAILED", "CANCELING", "CANCELED", "PAUSED"}
)
TERMINAL_STATES = frozenset({"SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"})
EPOCH = "1970-01-01T00:00:00Z"

# google.rpc.Code values used in error bodies, as grpc-gateway reports them.
GRPC_NOT_FOUND = 5
GRPC_INVALID_ARGUMENT = 3
GRPC_UNAUTHENTICATED = 16
GRPC_UNAVAILABLE = 14


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stub received; ``authorized`` tells whether the bearer token matched."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorized: bool
    had_authorization: bool


@dataclass
class _RunScript:
    states: deque[str] = field(default_factory=deque)


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class KfpContractStub:
    """The contract stub server. Use as a context manager or call :meth:`start` / :meth:`stop`.

    Args:
        token: The bearer token requests must carry; ``None`` disables the check.
        multi_user: What ``/healthz`` reports as ``multi_user``.
    """

    def __init__(self, *, token: str | None = None, multi_user: bool = False) -> None:
        self.token = token
        self.multi_user = multi_user
        self.host = "127.0.0.1"
        self.port = free_port()
        self.requests: list[RecordedRequest] = []
        self.experiments: dict[str, dict[str, Any]] = {}
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self._scripts: dict[str, _RunScript] = {}
        self._next_script: deque[str] | None = None
        self._failures: deque[tuple[int, str]] = deque()
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL (scheme, host and port) to put into an Airflow connection."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> KfpContractStub:
        """Start serving on :attr:`port` in a daemon thread."""
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="kfp-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> KfpContractStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test controls -------------------------------------------------------------------------

    def add_pipeline(
        self, display_name: str, *, namespace: str = "", description: str = ""
    ) -> dict[str, Any]:
        """Register a pipeline (as if uploaded) and return its ``V2beta1Pipeline`` JSON."""
        pipeline = {
            "pipeline_id": str(uuid.uuid4()),
            "display_name": display_name,
            "name": display_name,
            "description": description,
            "created_at": _now(),
            "namespace": namespace,
        }
        with self._lock:
            self.pipelines[pipeline["pipeline_id"]] = pipeline
        return pipeline

    def add_experiment(self, display_name: str, *, namespace: str = "") -> dict[str, Any]:
        """Create an experiment directly (as if another client had) and return its JSON."""
        with self._lock:
            return self._create_experiment({"display_name": display_name, "namespace": namespace})

    def add_run(self, pipeline_id: str, experiment_id: str, display_name: str = "run") -> dict[str, Any]:
        """Create a PENDING run directly (works before :meth:`start`) and return its JSON."""
        body = {
            "display_name": display_name,
            "experiment_id": experiment_id,
            "pipeline_version_reference": {"pipeline_id": pipeline_id},
        }
        with self._lock:
            return self._create_run(body)

    def set_run_state(self, run_id: str, state: str, *, error_message: str | None = None) -> None:
        """Move a run to ``state`` (one of the KFP v2 ``V2beta1RuntimeState`` values)."""
        if state not in RUN_STATES:
            raise ValueError(f"unknown KFP run state {state!r}")
        with self._lock:
            self._apply_state(self.runs[run_id], state, error_message)

    def script_next_run(self, *states: str) -> None:
        """Make the next created run advance through ``states``, one state per ``GET`` of that run."""
        unknown = set(states) - RUN_STATES
        if unknown:
            raise ValueError(f"unknown KFP run states {sorted(unknown)}")
        with self._lock:
            self._next_script = deque(states)

    def fail_next_requests(self, count: int, status: int = 503, path_prefix: str = "") -> None:
        """Answer the next ``count`` requests whose path starts with ``path_prefix`` with HTTP ``status``."""
        with self._lock:
            self._failures.extend([(status, path_prefix)] * count)

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        """Return the recorded requests with this method whose path starts with ``path_prefix``."""
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # --- request handling ----------------------------------------------------------------------

    def _apply_state(self, run: dict[str, Any], state: str, error_message: str | None = None) -> None:
        run["state"] = state
        run["state_history"].append({"update_time": _now(), "state": state})
        if state in TERMINAL_STATES:
            run["finished_at"] = _now()
        if error_message is not None:
            run["error"] = {"code": 2, "message": error_message, "details": []}

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        """Answer one request: return the HTTP status and the JSON body."""
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        auth = headers.get("authorization")
        authorized = self.token is None or auth == f"Bearer {self.token}"
        with self._lock:
            self.requests.append(
                RecordedRequest(method, parts.path, query, body, authorized, had_authorization=bool(auth))
            )
            failure = None
            if self._failures and parts.path.startswith(self._failures[0][1]):
                failure = self._failures.popleft()[0]
        if failure is not None:
            return failure, _status(GRPC_UNAVAILABLE, "injected transient failure")
        if not authorized:
            return 401, _status(GRPC_UNAUTHENTICATED, "missing or invalid bearer token")
        if not parts.path.startswith(API_PREFIX + "/"):
            return 404, _status(GRPC_NOT_FOUND, f"no route for {parts.path}")
        route = parts.path[len(API_PREFIX) + 1 :].split("/")
        try:
            with self._lock:
                return 200, self._route(method, route, query, body)
        except _ApiError as err:
            return err.status, _status(err.code, err.message)

    def _route(self, method: str, route: list[str], query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        match method, route:
            case "GET", ["healthz"]:
                return {"multi_user": self.multi_user}
            case "POST", ["experiments"]:
                return self._create_experiment(body)
            case "GET", ["experiments"]:
                found = _filtered(self.experiments.values(), query)
                return {"experiments": found, "total_size": len(found), "next_page_token": ""}
            case "GET", ["experiments", experiment_id]:
                return _get(self.experiments, experiment_id, "experiment")
            case "GET", ["pipelines"]:
                found = _filtered(self.pipelines.values(), query)
                return {"pipelines": found, "total_size": len(found), "next_page_token": ""}
            case "GET", ["pipelines", pipeline_id]:
                return _get(self.pipelines, pipeline_id, "pipeline")
            case "POST", ["runs"]:
                return self._create_run(body)
            case "GET", ["runs", run_id]:
                run = _get(self.runs, run_id, "run")
                script = self._scripts.get(run_id)
                if script is not None and script.states:
                    self._apply_state(run, script.states.popleft())
                return run
        raise _ApiError(404, GRPC_NOT_FOUND, f"no route for {method} /{'/'.join(route)}")

    def _create_experiment(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not body.get("display_name"):
            raise _ApiError(400, GRPC_INVALID_ARGUMENT, "experiment display_name is required")
        namespace = body.get("namespace") or ""
        for existing in self.experiments.values():
            if existing["display_name"] == body["display_name"] and existing["namespace"] == namespace:
                raise _ApiError(409, 6, f"experiment {body['display_name']!r} already exists")
        experiment = {
            "experiment_id": str(uuid.uuid4()),
            "display_name": body["display_name"],
            "description": body.get("description") or "",
            "created_at": _now(),
            "namespace": namespace,
            "storage_state": "AVAILABLE",
            "last_run_created_at": EPOCH,
        }
        self.experiments[experiment["experiment_id"]] = experiment
        return experiment

    def _create_run(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not body.get("display_name"):
            raise _ApiError(400, GRPC_INVALID_ARGUMENT, "run display_name is required")
        reference = body.get("pipeline_version_reference") or {}
        if reference.get("pipeline_id") not in self.pipelines:
            raise _ApiError(404, GRPC_NOT_FOUND, f"pipeline {reference.get('pipeline_id')!r} not found")
        experiment_id = body.get("experiment_id")
        if experiment_id not in self.experiments:
            raise _ApiError(404, GRPC_NOT_FOUND, f"experiment {experiment_id!r} not found")
        now = _now()
        run = {
            "experiment_id": experiment_id,
            "run_id": str(uuid.uuid4()),
            "display_name": body["display_name"],
            "storage_state": "AVAILABLE",
            "description": body.get("description") or "",
            "pipeline_version_reference": {
                "pipeline_id": reference["pipeline_id"],
                "pipeline_version_id": reference.get("pipeline_version_id") or str(uuid.uuid4()),
            },
            "runtime_config": body.get("runtime_config") or {"parameters": {}},
            "service_account": body.get("service_account") or "pipeline-runner",
            "created_at": now,
            "scheduled_at": now,
            "finished_at": EPOCH,
            "state": "PENDING",
            "state_history": [{"update_time": now, "state": "PENDING"}],
        }
        self.runs[run["run_id"]] = run
        self.experiments[experiment_id]["last_run_created_at"] = now
        if self._next_script is not None:
            self._scripts[run["run_id"]] = _RunScript(self._next_script)
            self._next_script = None
        return run


def _status(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "details": []}


def _get(table: dict[str, dict[str, Any]], key: str, kind: str) -> dict[str, Any]:
    if key not in table:
        raise _ApiError(404, GRPC_NOT_FOUND, f"{kind} {key!r} not found")
    return table[key]


def _filtered(items: Any, query: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Apply the ``namespace`` parameter and ``EQUALS`` string predicates of a KFP ``filter``."""
    result = list(items)
    if "namespace" in query:
        result = [i for i in result if i.get("namespace", "") == query["namespace"][0]]
    if "filter" in query:
        spec = json.loads(query["filter"][0])
        for predicate in spec.get("predicates", []):
            if predicate.get("operation") != "EQUALS" or "string_value" not in predicate:
                raise _ApiError(400, GRPC_INVALID_ARGUMENT, f"unsupported predicate {predicate}")
            result = [i for i in result if i.get(predicate["key"]) == predicate["string_value"]]
    return result


def _make_handler(stub: KfpContractStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                status, payload = 400, _status(GRPC_INVALID_ARGUMENT, "body is not JSON")
            else:
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = stub.handle(self.command, self.path, headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler
