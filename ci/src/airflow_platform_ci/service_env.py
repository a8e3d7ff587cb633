"""The environment contract between the pipeline's service containers and the test fixtures.

The ``integration`` function starts each service as a container and passes its endpoint to the test
container under these names. The native launchers in ``devkit/src/platform_devkit/loopback/`` read the same
names: when one is set they use that endpoint instead of starting a local process. One contract for
both runs; ``tests/ci/test_service_env.py`` checks that the launchers use these names.

- ``PLATFORM_POSTGRES_URL`` (secret): ``postgresql://platform:PASSWORD@postgres:5432/platform``
- ``PLATFORM_REDIS_URL``: ``redis://redis:6379/0``
- ``PLATFORM_S3_ENDPOINT_URL``: ``http://minio:9000``; ``PLATFORM_S3_BUCKET``: the bucket created in MinIO
- ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (secrets): the MinIO credentials
- ``PLATFORM_MLFLOW_TRACKING_URI``: ``http://mlflow:5000``

The SMTP and webhook receivers are not containers: they run inside the test process in both worlds
(``platform_devkit.loopback.receivers``), because the tests read what arrived from them. OpenLDAP runs
as a local ``slapd`` process in the test container, as it does natively.

Pure constants and helpers: no Dagger import.
"""

from typing import Final

POSTGRES_URL: Final = "PLATFORM_POSTGRES_URL"
REDIS_URL: Final = "PLATFORM_REDIS_URL"
S3_ENDPOINT_URL: Final = "PLATFORM_S3_ENDPOINT_URL"
S3_BUCKET: Final = "PLATFORM_S3_BUCKET"
S3_ACCESS_KEY_ID: Final = "AWS_ACCESS_KEY_ID"
S3_SECRET_ACCESS_KEY: Final = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name, not a value
MLFLOW_TRACKING_URI: Final = "PLATFORM_MLFLOW_TRACKING_URI"

SECRET_VARIABLES: Final = (POSTGRES_URL, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)
"""Values that carry a credential: passed with ``with_secret_variable``, never as plain variables."""

PLAIN_VARIABLES: Final = (REDIS_URL, S3_ENDPOINT_URL, S3_BUCKET, MLFLOW_TRACKING_URI)
"""Endpoints without credentials: passed with ``with_env_variable``."""


S3_BUCKET_NAME: Final = "airflow-platform"
MLFLOW_PORT: Final = 5000


def plain_values() -> dict[str, str]:
    """Return the credential-free variables, keyed by :data:`PLAIN_VARIABLES`, for the Dagger aliases."""
    return {
        REDIS_URL: "redis://redis:6379/0",
        S3_ENDPOINT_URL: "http://minio:9000",
        S3_BUCKET: S3_BUCKET_NAME,
        MLFLOW_TRACKING_URI: f"http://mlflow:{MLFLOW_PORT}",
    }
