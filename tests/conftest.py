"""Test configuration shared by every tier: Airflow's environment, tier markers and the real services.

The environment is set here, at import time, because Airflow reads its configuration when it is
first imported. Services are session-scoped fixtures: each starts once, on a free loopback port, in its
own temporary directory, and stops at the end. A service that cannot start is a failure in CI
(``CI=true``) and a skip with what to install on a developer machine.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

from platform_devkit.helm_values import ENV_CHART_DIR, chart_dir
from platform_devkit.loopback.base import MissingDependencyError
from platform_devkit.loopback.mlflow import MlflowService, start_mlflow
from platform_devkit.loopback.postgres import PostgresService, start_postgres
from platform_devkit.loopback.receivers import SmtpReceiver, WebhookReceiver
from platform_devkit.loopback.redis import RedisService, start_redis
from platform_devkit.loopback.s3 import S3Service, start_s3

REPO_ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TIERS = ("unit", "dags", "integration", "e2e", "ci", "image", "chart")

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.update(
    {
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor,KubernetesExecutor",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
    }
)

T = TypeVar("T")
SESSION_STARTED = pytest.StashKey[float]()


# First: pytest-xdist reads the groups in its own collection hook, which would otherwise run before this
# conftest's (an initial conftest registers before the xdist worker's plugin, and later plugins run first).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its tier (the first folder below ``tests/``) and its xdist group.

    With ``-n 2 --dist loadgroup`` (what ``scripts/test`` runs), the e2e tier, which shares one Airflow
    deployment and runs its modules in order, is one group on one worker; every other tier is the other
    group, on the other worker.
    """
    tests_dir = REPO_ROOT / "tests"
    for item in items:
        relative = Path(item.fspath).resolve().relative_to(tests_dir)
        tier = relative.parts[0] if relative.parts and relative.parts[0] in TIERS else None
        if tier is not None:
            item.add_marker(tier)
        item.add_marker(pytest.mark.xdist_group("e2e" if tier == "e2e" else "suite"))


def pytest_configure(config: pytest.Config) -> None:
    """Note when the session started, so that only this session's timing reports are printed."""
    config.stash[SESSION_STARTED] = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print the timing reports the tiers wrote in this session (e.g. the e2e tier's, from its worker)."""
    for report in sorted((REPO_ROOT / "reports").glob("*-timings.json")):
        if report.stat().st_mtime < config.stash[SESSION_STARTED]:
            continue
        terminalreporter.section(f"{report.stem.removesuffix('-timings')} timings (seconds)")
        for key, value in sorted(json.loads(report.read_text()).items()):
            terminalreporter.write_line(f"{key}: {value:.1f}")


def skip_or_fail(message: str) -> NoReturn:
    """Give up on a test whose prerequisite is missing: a failure in CI, a skip elsewhere."""
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def start_or_skip(name: str, start: Callable[[], T]) -> T:
    """Start a service; a missing program fails the test in CI and skips it elsewhere."""
    try:
        return start()
    except MissingDependencyError as error:
        skip_or_fail(f"{name} is unavailable: {error}")


@pytest.fixture(scope="session")
def missing_prerequisite() -> Callable[[str], NoReturn]:
    """:func:`skip_or_fail` for the tiers' fixtures: call it with what is missing and how to get it."""
    return skip_or_fail


@pytest.fixture(scope="session")
def chart_data() -> Path:
    """The official chart's data files (Chart.yaml, values.yaml, values.schema.json), read in place."""
    directory = chart_dir()
    if not (directory / "values.schema.json").is_file():
        skip_or_fail(
            f"the chart's data files are not at {directory}: set {ENV_CHART_DIR} to a folder holding "
            "Chart.yaml, values.yaml and values.schema.json of chart 1.21.0 (from the chart's archive, "
            "https://airflow.apache.org/airflow-1.21.0.tgz), or place shared/airflow-chart beside the "
            "repository"
        )
    return directory


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresService]:
    """A PostgreSQL 15 server for the session."""
    service = start_or_skip("PostgreSQL", start_postgres)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def redis_service() -> Iterator[RedisService]:
    """A Redis server for the session."""
    service = start_or_skip("Redis", start_redis)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Service]:
    """An S3-compatible server (moto) with the platform's bucket created."""
    service = start_or_skip("S3 (moto server)", start_s3)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def mlflow_server(postgres: PostgresService, s3: S3Service) -> Iterator[MlflowService]:
    """An MLflow tracking server backed by the session's PostgreSQL and S3 bucket."""
    service = start_or_skip("MLflow server", lambda: start_mlflow(postgres, s3))
    yield service
    service.close()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpReceiver]:
    """An SMTP receiver that keeps every message."""
    receiver = SmtpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """An HTTP receiver standing in for Slack and PagerDuty; keeps every request."""
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()
