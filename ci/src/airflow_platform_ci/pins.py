"""Every version and container image the pipeline uses, pinned in one place.

Pure constants: no Dagger import, so the tests in ``tests/ci`` read them without an engine.
"""

from typing import Final

AIRFLOW_VERSION: Final = "3.3.2"
PYTHON_VERSION: Final = "3.12"
"""The Python of the ``apache/airflow:<AIRFLOW_VERSION>-python<PYTHON_VERSION>`` base image."""

UV_IMAGE: Final = "ghcr.io/astral-sh/uv:0.13.8"
"""Where the ``uv`` binary comes from; the same uv version the project is developed with."""

CHART_NAME: Final = "apache-airflow"
CHART_REPO: Final = "https://airflow.apache.org"
CHART_VERSION: Final = "1.21.0"

HELM_VERSION: Final = "3.19.0"
HELM_IMAGE: Final = f"alpine/helm:{HELM_VERSION}"
K3S_IMAGE: Final = "rancher/k3s:v1.33.4-k3s1"

POSTGRES_IMAGE: Final = "postgres:15"
REDIS_IMAGE: Final = "redis:7.4"
MINIO_IMAGE: Final = "minio/minio:RELEASE.2025-04-22T22-12-26Z"
MINIO_CLIENT_IMAGE: Final = "minio/mc:RELEASE.2025-04-16T18-13-26Z"

MLFLOW_BASE_IMAGE: Final = f"python:{PYTHON_VERSION}-slim"
MLFLOW_PACKAGES: Final = ("mlflow==3.17.2", "psycopg2-binary==2.9.13", "boto3==1.44.8")
"""The MLflow server's own environment: the tracking server plus its Postgres and S3 drivers."""

LINT_BASE_IMAGE: Final = f"python:{PYTHON_VERSION}-slim"
"""The linters are PyPI packages of the dev group: they need Python, not the Airflow image."""
