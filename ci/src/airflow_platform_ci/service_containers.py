"""Service containers for the integration tier, bound to the test container under fixed aliases.

Each service is a pinned image started with ``as_service(use_entrypoint=True)``; the engine only hands
it to a client once every exposed port accepts connections (its health check). Endpoints reach the
tests through the variables of :mod:`airflow_platform_ci.service_env`.
"""

import secrets
from dataclasses import dataclass

import dagger
from dagger import dag

from airflow_platform_ci import service_env
from airflow_platform_ci.pins import (
    MINIO_CLIENT_IMAGE,
    MINIO_IMAGE,
    MLFLOW_BASE_IMAGE,
    MLFLOW_PACKAGES,
    POSTGRES_IMAGE,
    REDIS_IMAGE,
)

POSTGRES_USER = "platform"
POSTGRES_DB = "platform"
MLFLOW_DB = "mlflow"
S3_BUCKET = service_env.S3_BUCKET_NAME
MLFLOW_PORT = service_env.MLFLOW_PORT
BUCKET_MARKER = "/bucket-created"


@dataclass(frozen=True)
class ServiceSecrets:
    """Credentials of the service containers, as Dagger secrets only."""

    postgres_password: dagger.Secret
    postgres_url: dagger.Secret
    mlflow_backend_uri: dagger.Secret
    s3_access_key_id: dagger.Secret
    s3_secret_access_key: dagger.Secret
    s3_mc_host: dagger.Secret


def service_secrets() -> ServiceSecrets:
    """Create fresh random credentials for the service containers of one call (the S3 user too).

    Fresh passwords cost no cache hits: the engine identifies a ``setSecret`` secret by its name (it
    records the plaintext as ``***``), so an exec that uses these secrets has the same cache key in
    every call, and ``reports`` still reuses the test runs of ``test``.
    """
    pg_password, s3_password = secrets.token_hex(16), secrets.token_hex(16)
    s3_user = f"platform-{secrets.token_hex(8)}"
    pg_base = f"postgresql://{POSTGRES_USER}:{pg_password}@postgres:5432"
    # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; the MLflow server environment has psycopg2.
    mlflow_base = f"postgresql+psycopg2://{POSTGRES_USER}:{pg_password}@postgres:5432"
    return ServiceSecrets(
        postgres_password=dag.set_secret("platform-postgres-password", pg_password),
        postgres_url=dag.set_secret("platform-postgres-url", f"{pg_base}/{POSTGRES_DB}"),
        mlflow_backend_uri=dag.set_secret("platform-mlflow-backend-uri", f"{mlflow_base}/{MLFLOW_DB}"),
        s3_access_key_id=dag.set_secret("platform-s3-access-key-id", s3_user),
        s3_secret_access_key=dag.set_secret("platform-s3-secret-access-key", s3_password),
        s3_mc_host=dag.set_secret("platform-s3-mc-host", f"http://{s3_user}:{s3_password}@minio:9000"),
    )


def postgres(credentials: ServiceSecrets) -> dagger.Service:
    """PostgreSQL 15: the platform database plus the MLflow backend database."""
    return (
        dag.container()
        .from_(POSTGRES_IMAGE)
        .with_env_variable("POSTGRES_USER", POSTGRES_USER)
        .with_env_variable("POSTGRES_DB", POSTGRES_DB)
        .with_secret_variable("POSTGRES_PASSWORD", credentials.postgres_password)
        .with_new_file("/docker-entrypoint-initdb.d/10-mlflow.sql", f"CREATE DATABASE {MLFLOW_DB};\n")
        .with_exposed_port(5432)
        .as_service(use_entrypoint=True)
    )


def redis() -> dagger.Service:
    """Redis: the Celery broker the tests talk to."""
    return dag.container().from_(REDIS_IMAGE).with_exposed_port(6379).as_service(use_entrypoint=True)


def minio(credentials: ServiceSecrets) -> dagger.Service:
    """MinIO: the S3 endpoint for data, MLflow artifacts and remote logs."""
    return (
        dag.container()
        .from_(MINIO_IMAGE)
        .with_secret_variable("MINIO_ROOT_USER", credentials.s3_access_key_id)
        .with_secret_variable("MINIO_ROOT_PASSWORD", credentials.s3_secret_access_key)
        .with_exposed_port(9000)
        .as_service(args=["minio", "server", "/data"], use_entrypoint=True)
    )


def bucket_ready(s3: dagger.Service, credentials: ServiceSecrets) -> dagger.File:
    """Create the bucket with the MinIO client; the returned marker file orders it before the tests."""
    return (
        dag.container()
        .from_(MINIO_CLIENT_IMAGE)
        .with_service_binding("minio", s3)
        .with_secret_variable("MC_HOST_platform", credentials.s3_mc_host)
        .with_exec(["mc", "mb", "--ignore-existing", f"platform/{S3_BUCKET}"], redirect_stdout=BUCKET_MARKER)
        .file(BUCKET_MARKER)
    )


def mlflow(db: dagger.Service, s3: dagger.Service, credentials: ServiceSecrets) -> dagger.Service:
    """The MLflow tracking server in its own pinned environment, on Postgres and S3 (MinIO)."""
    return (
        dag.container()
        .from_(MLFLOW_BASE_IMAGE)
        .with_exec(["pip", "install", "--no-cache-dir", *MLFLOW_PACKAGES])
        .with_service_binding("postgres", db)
        .with_service_binding("minio", s3)
        .with_secret_variable("MLFLOW_BACKEND_STORE_URI", credentials.mlflow_backend_uri)
        .with_secret_variable("AWS_ACCESS_KEY_ID", credentials.s3_access_key_id)
        .with_secret_variable("AWS_SECRET_ACCESS_KEY", credentials.s3_secret_access_key)
        .with_env_variable("MLFLOW_S3_ENDPOINT_URL", "http://minio:9000")
        # The background job runner serves GenAI features the platform does not use.
        .with_env_variable("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        .with_exposed_port(MLFLOW_PORT)
        .as_service(
            args=[
                "mlflow",
                "server",
                "--host=0.0.0.0",
                f"--port={MLFLOW_PORT}",
                f"--artifacts-destination=s3://{S3_BUCKET}/mlflow",
                f"--allowed-hosts=mlflow,mlflow:{MLFLOW_PORT}",
            ]
        )
    )


def with_services(container: dagger.Container) -> dagger.Container:
    """Bind every integration service to ``container`` and pass their endpoints as the contract says.

    OpenLDAP for the LDAP login tests is not a container: it runs as a local ``slapd`` that the test
    fixture starts, as natively (``scripts/setup`` installed it in the test container).
    """
    credentials = service_secrets()
    db, s3 = postgres(credentials), minio(credentials)
    hidden = {
        service_env.POSTGRES_URL: credentials.postgres_url,
        service_env.S3_ACCESS_KEY_ID: credentials.s3_access_key_id,
        service_env.S3_SECRET_ACCESS_KEY: credentials.s3_secret_access_key,
    }
    container = (
        container.with_service_binding("postgres", db)
        .with_service_binding("redis", redis())
        .with_service_binding("minio", s3)
        .with_service_binding("mlflow", mlflow(db, s3, credentials))
        .with_file("/opt/platform-markers/s3-bucket-created", bucket_ready(s3, credentials))
    )
    for name, value in service_env.plain_values().items():
        container = container.with_env_variable(name, value)
    for name, secret in hidden.items():
        container = container.with_secret_variable(name, secret)
    return container
