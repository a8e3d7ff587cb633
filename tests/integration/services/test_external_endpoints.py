"""The external-endpoint mode the Dagger service containers use works: a slice of this tier, run against
services started separately.

In the pipeline, ``integration`` binds PostgreSQL, Redis, MinIO and MLflow as service containers and
hands their endpoints to the test container through the ``PLATFORM_*`` variables
(``airflow_platform_ci.service_env``); the launchers then use those endpoints instead of starting
servers. Here the services of this session stand for those containers: a second pytest run of the
services slice gets only their endpoints, and its round trips must land in them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient

from airflow_platform_ci import service_env
from platform_devkit.loopback.mlflow import MlflowService
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.loopback.redis import RedisService
from platform_devkit.loopback.s3 import S3Service

REPO = Path(__file__).resolve().parents[3]
SLICE = "tests/integration/services/test_services.py"
IN_TEST_PROCESS = "not smtp and not webhook"
"""The receivers run inside the test process in both worlds, so they have no endpoint to give."""
ROUND_TRIP_DATABASE = "roundtrip"
"""The database the slice's PostgreSQL round trip creates."""


def counts(
    postgres: PostgresService, redis_service: RedisService, s3: S3Service, mlflow_server: MlflowService
) -> dict[str, int]:
    """What the slice's round trips leave behind in each service."""
    with contextlib.closing(postgres.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (ROUND_TRIP_DATABASE,))
        (databases,) = cur.fetchone()
    listed = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix="roundtrip/")
    experiments = MlflowClient(tracking_uri=mlflow_server.tracking_uri).search_experiments(
        filter_string="name LIKE 'services-%'", max_results=1000
    )
    return {
        "postgres databases": databases,
        "redis keys": len(redis_service.client().keys("platform:*")),
        "s3 objects": listed.get("KeyCount", 0),
        "mlflow experiments": len(experiments),
    }


def test_the_services_slice_passes_against_endpoints_given_by_the_contract(
    postgres: PostgresService, redis_service: RedisService, s3: S3Service, mlflow_server: MlflowService
) -> None:
    with contextlib.closing(postgres.connect()) as conn, conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{ROUND_TRIP_DATABASE}"')
    before = counts(postgres, redis_service, s3, mlflow_server)
    contract = {
        service_env.POSTGRES_URL: postgres.url(),
        service_env.REDIS_URL: redis_service.url,
        service_env.S3_ENDPOINT_URL: s3.endpoint_url,
        service_env.S3_BUCKET: s3.bucket,
        service_env.S3_ACCESS_KEY_ID: s3.access_key_id,
        service_env.S3_SECRET_ACCESS_KEY: s3.secret_access_key,
        service_env.MLFLOW_TRACKING_URI: mlflow_server.tracking_uri,
    }
    assert set(contract) == {*service_env.PLAIN_VARIABLES, *service_env.SECRET_VARIABLES}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            SLICE,
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            IN_TEST_PROCESS,
        ],
        cwd=REPO,
        env={**os.environ, **contract},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    after = counts(postgres, redis_service, s3, mlflow_server)
    grew = {name for name in before if after[name] > before[name]}
    assert grew == set(before), f"the slice did not use every given endpoint: {before} -> {after}"
