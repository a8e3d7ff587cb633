"""An MLflow tracking server 3.17 on loopback, backed by PostgreSQL and an S3 artifact store.

The Airflow image carries only ``mlflow-skinny`` (the client), so the server runs from its own tool
environment: ``uv tool run --from mlflow==3.17.2``, with the database and S3 drivers it needs. Artifacts
are proxied by the server (``--serve-artifacts``) into ``s3://<bucket>/mlflow``, so clients need no S3
credentials. A stopped server can be started again on the same port, which fault tests use; tests create
and end runs through :meth:`MlflowService.create_run` and :meth:`MlflowService.end_run`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_devkit.loopback.base import ManagedProcess, free_port, require_program
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.loopback.s3 import S3Service

ENV_TRACKING_URI = "PLATFORM_MLFLOW_TRACKING_URI"
MLFLOW_VERSION = "3.17.2"
# The server's tool environment, pinned: the tracking server, its PostgreSQL driver and boto3 for S3.
SERVER_REQUIREMENTS = (f"mlflow=={MLFLOW_VERSION}", "psycopg2-binary==2.9.13", "boto3==1.44.8")
INSTALL_HINT = "pip install uv (the MLflow server runs as `uv tool run --from mlflow==3.17.2`)"
DATABASE = "mlflow"
WORKERS = 2


@dataclass
class MlflowService:
    """A running MLflow tracking server."""

    tracking_uri: str
    process: ManagedProcess | None = field(default=None, repr=False)
    log_dir: Path | None = None
    start_timeout: float = 120.0

    def health(self) -> bool:
        """Tell whether ``/health`` answers 200."""
        with urllib.request.urlopen(f"{self.tracking_uri}/health", timeout=2) as response:  # noqa: S310
            return response.status == 200

    def is_down(self) -> bool:
        """Tell whether the server is down: ``/health`` gets no HTTP answer (refused, reset, timed out)."""
        import httpx  # here, not at the top: only fault tests ask, and every test session imports this module

        try:
            httpx.get(f"{self.tracking_uri}/health", timeout=1)
        except httpx.TransportError:
            return True
        return False

    def call(self, endpoint: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call the REST API (``/api/2.0/mlflow/<endpoint>``): POST ``body``, or GET without one."""
        url = f"{self.tracking_uri}/api/2.0/mlflow/{endpoint}"
        request = urllib.request.Request(  # noqa: S310 - the loopback server's http URL
            url,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read() or b"{}")

    def create_run(self, experiment_name: str) -> str:
        """Start a RUNNING run in experiment ``experiment_name`` (created if needed); return the run's id."""
        query = urllib.parse.urlencode({"experiment_name": experiment_name})
        try:
            experiment_id = self.call(f"experiments/get-by-name?{query}")["experiment"]["experiment_id"]
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
            experiment_id = self.call("experiments/create", {"name": experiment_name})["experiment_id"]
        started = int(time.time() * 1000)
        run = self.call("runs/create", {"experiment_id": experiment_id, "start_time": started})
        return str(run["run"]["info"]["run_id"])

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        """End a run with ``status`` (``FINISHED``, ``FAILED`` or ``KILLED``)."""
        self.call("runs/update", {"run_id": run_id, "status": status, "end_time": int(time.time() * 1000)})

    def start(self) -> float:
        """Start (or restart) the server process and wait for ``/health``; return the seconds it took."""
        if self.process is None:
            raise RuntimeError(
                "this MLflow server is external (PLATFORM_MLFLOW_TRACKING_URI); it cannot be started"
            )
        self.process.start()
        return self.process.wait_until(
            self.health, timeout=self.start_timeout, what="GET /health", interval=0.25
        )

    def stop(self) -> None:
        """Stop the server process (if this object started it)."""
        if self.process is not None:
            self.process.stop()

    def close(self) -> None:
        """Stop the server and remove its log directory."""
        self.stop()
        if self.log_dir is not None:
            shutil.rmtree(self.log_dir, ignore_errors=True)


def server_argv(uv: str, *, port: int, backend_uri: str, artifacts_uri: str) -> list[str]:
    """Return the command line that runs the pinned MLflow server."""
    requirements = [arg for req in SERVER_REQUIREMENTS[1:] for arg in ("--with", req)]
    return [
        uv, "tool", "run", "--from", SERVER_REQUIREMENTS[0], *requirements,
        "mlflow", "server",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", str(WORKERS),
        "--backend-store-uri", backend_uri,
        "--artifacts-destination", artifacts_uri,
        "--serve-artifacts",
    ]  # fmt: skip


def start_mlflow(postgres: PostgresService, s3: S3Service, *, timeout: float = 120.0) -> MlflowService:
    """Start an MLflow server on ``postgres`` and ``s3``, or use ``PLATFORM_MLFLOW_TRACKING_URI``.

    Raises:
        MissingDependencyError: uv is not installed.
        ServiceError: the server did not answer ``/health``; the message carries its log tail.
    """
    if os.environ.get(ENV_TRACKING_URI):
        return MlflowService(tracking_uri=os.environ[ENV_TRACKING_URI].rstrip("/"))
    uv = require_program("uv", hint=INSTALL_HINT)
    postgres.create_database(DATABASE)
    backend_uri = postgres.url(DATABASE, driver="postgresql+psycopg2")
    log_dir = Path(tempfile.mkdtemp(prefix="platform-mlflow-"))
    port = free_port()
    env = {
        **os.environ,
        **s3.environ(),
        # The server's own telemetry and version checks would try to leave this machine.
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        # The server's background job runner (huey consumers, ~10 processes) serves GenAI features the
        # platform does not use; on 2 cores it triples the start-up time.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    process = ManagedProcess(
        "mlflow-server",
        server_argv(uv, port=port, backend_uri=backend_uri, artifacts_uri=f"s3://{s3.bucket}/mlflow"),
        log_path=log_dir / "mlflow.log",
        env=env,
    )
    service = MlflowService(
        tracking_uri=f"http://127.0.0.1:{port}", process=process, log_dir=log_dir, start_timeout=timeout
    )
    service.start()
    return service


def server_version(tracking_uri: str) -> str:
    """Return the version the server reports at ``/version``."""
    with urllib.request.urlopen(f"{tracking_uri}/version", timeout=5) as response:  # noqa: S310
        body = response.read().decode()
    try:
        return str(json.loads(body))
    except json.JSONDecodeError:
        return body.strip()
