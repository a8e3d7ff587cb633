"""``platform-dev``: a local Airflow 3 with the repository's DAGs and plugins, like ``astro dev start``.

Starts, natively from the project environment, the same processes as production (api-server,
scheduler, dag-processor, triggerer, Celery worker) on a local PostgreSQL and Redis (started here, or
the servers ``PLATFORM_POSTGRES_URL`` / ``PLATFORM_REDIS_URL`` name), applies the platform settings
with ``platform-settings apply`` as the Helm migration Job does (``config/platform.yaml``: pools,
variables, and the warehouse connection's details), creates an admin user with a generated password,
prints it once, and serves the UI on ``http://localhost:8080`` until Ctrl-C.

DAGs are read as in production, through a ``GitDagBundle`` (bundle ``platform-dags``, branch ``main``):
by default from a git repository created at start with a copy of the working tree's ``dags/`` (its path
is printed; a commit there is a new DAG version), or from ``--dag-repository URL`` (any git repository
whose ``main`` has ``dags/``, e.g. ``file://$PWD`` for your own commits).

Differences from production, because a laptop has no cluster: tasks pinned to ``KubernetesExecutor``
run on the Celery worker (see :mod:`platform_devkit.loopback.airflow_routing`), and connections to
external services other than the warehouse are left for the developer to add. New DAGs start paused.
OpenLineage is off unless ``--lineage-url`` names an endpoint (e.g. a local Marquez); its API key, if
it needs one, is read from ``$OPENLINEAGE_API_KEY``, never from the command line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from airflow_platform.lineage_settings import API_KEY_VARIABLE, LineageEndpoint
from platform_devkit.loopback.airflow_deployment import ADMIN_USERNAME, remove_home, start_airflow
from platform_devkit.loopback.airflow_environment import AirflowOptions
from platform_devkit.loopback.airflow_processes import LoopbackAirflow
from platform_devkit.loopback.airflow_provisioning import ExternalServices
from platform_devkit.loopback.base import ServiceError, port_open
from platform_devkit.loopback.dag_repository import DagRepository, create_dag_repository
from platform_devkit.loopback.postgres import PostgresService, start_postgres
from platform_devkit.loopback.redis import RedisService, start_redis

WAREHOUSE_DATABASE = "warehouse"
WATCH_INTERVAL = 2.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="platform-dev", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="the UI and API port (default: 8080)")
    parser.add_argument(
        "--unpause-all", action="store_true", help="start every DAG unpaused (default: new DAGs are paused)"
    )
    parser.add_argument(
        "--dag-repository",
        metavar="URL",
        help="a git repository whose main branch has dags/ (default: a new one with a copy of dags/)",
    )
    parser.add_argument(
        "--lineage-url",
        metavar="URL",
        help=f"send OpenLineage events to this endpoint, with ${API_KEY_VARIABLE} as its API key if set "
        "(default: lineage off)",
    )
    return parser.parse_args(argv)


def lineage_endpoint(url: str | None) -> LineageEndpoint | None:
    """The OpenLineage endpoint of ``--lineage-url``, its API key from the environment; none without a URL."""
    if not url:
        return None
    return LineageEndpoint(url=url, api_key=os.environ.get(API_KEY_VARIABLE) or None)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _print(message: str) -> None:
    print(message, flush=True)


def _watch(platform: LoopbackAirflow) -> None:
    """Block until Ctrl-C, reporting any component that exits."""
    reported: set[str] = set()
    while True:
        time.sleep(WATCH_INTERVAL)
        for name, process in platform.processes.items():
            if not process.running() and name not in reported:
                reported.add(name)
                _print(f"!! {name} exited; its log: {process.log_path}")


def _keep_or_remove(repository: DagRepository | None, scratch: Path) -> None:
    """Remove the DAG repository made at start, unless the developer committed to it."""
    if repository is not None and int(repository.git("rev-list", "--count", "HEAD")) > 1:
        _print(f"the DAG repository has your commits; it stays at {repository.path}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    """Start everything, print how to log in, serve until interrupted, stop everything."""
    if port_open("127.0.0.1", args.port):
        _print(f"port {args.port} is in use; pass --port")
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    postgres: PostgresService | None = None
    redis: RedisService | None = None
    platform: LoopbackAirflow | None = None
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="platform-dev-"))
    repository: DagRepository | None = None
    try:
        repository_url = args.dag_repository
        if repository_url is None:
            repository = create_dag_repository(scratch / "airflow-platform")
            repository_url = repository.url
            _print(f"DAGs: a git repository with a copy of dags/ at {repository.path} (commit there)")
        _print("starting PostgreSQL and Redis ...")
        postgres = start_postgres()
        redis = start_redis()
        postgres.create_database(WAREHOUSE_DATABASE)
        _print("starting Airflow (db migrate, api-server, scheduler, dag-processor, triggerer, worker) ...")
        platform = start_airflow(
            postgres,
            redis,
            ExternalServices(warehouse=postgres, warehouse_database=WAREHOUSE_DATABASE),
            AirflowOptions(
                api_port=args.port,
                dag_repository=repository_url,
                use_job_schedule=True,
                paused_at_creation=not args.unpause_all,
                lineage_endpoint=lineage_endpoint(args.lineage_url),
            ),
        )
        admin = platform.users["Admin"]
        _print(
            f"\nAirflow is up in {time.monotonic() - started:.0f}s: http://localhost:{args.port}\n"
            f"  user:     {ADMIN_USERNAME}\n"
            f"  password: {admin.password}   (generated; shown only now)\n"
            f"  logs:     {platform.home / 'process-logs'}\n"
            "Ctrl-C stops everything.\n"
        )
        _watch(platform)
    except KeyboardInterrupt:
        _print("\nstopping ...")
    except ServiceError as error:
        _print(f"failed to start: {error}")
        return 1
    finally:
        for service in (platform, redis, postgres):
            if service is not None:
                service.stop()
        _keep_or_remove(repository, scratch)
    if platform is not None:
        remove_home(platform)
    _print("stopped.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``platform-dev`` console script."""
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
