"""Every version and container image the pipeline uses, pinned in one place.

Pure constants: no Dagger import, so the tests in ``tests/ci`` read them without an engine.
"""

from typing import Final

AIRFLOW_VERSION: Final = "3.3.2"
PYTHON_VERSION: Final = "3.12"
"""The Python of the ``apache/airflow:<AIRFLOW_VERSION>-python<PYTHON_VERSION>`` base image."""

UV_IMAGE: Final = "ghcr.io/astral-sh/uv:0.13.8"
"""Where the ``uv`` binary comes from; the same uv version the project is developed with."""

TOOLS_BASE_IMAGE: Final = f"python:{PYTHON_VERSION}-slim-bookworm"
"""Debian 12 with the image's Python: the base of the lint and test containers.

``scripts/setup`` prepares it exactly as it prepares a native development machine (Debian 12).
"""

CHART_NAME: Final = "airflow"
"""The chart's ``name`` in its Chart.yaml (the repository alias ``apache-airflow`` is not a chart)."""
CHART_REPO: Final = "https://airflow.apache.org"
CHART_VERSION: Final = "1.21.0"
CHART_IMAGES: Final = {
    "statsd": "quay.io/prometheus/statsd-exporter:v0.29.0",
    "redis": "redis:7.2-bookworm",
    "pgbouncer": "apache/airflow:airflow-pgbouncer-2025.03.05-1.23.1",
    "pgbouncerExporter": "apache/airflow:airflow-pgbouncer-exporter-2025.03.05-0.18.0",
}
"""The third-party images chart 1.21.0 runs (its ``images.<key>`` defaults), pinned by digest for prod."""

HELM_VERSION: Final = "4.2.3"
"""Helm 4 (Helm 3 gets security fixes only until 2027-02-10); the Go SDK the chart tier renders with."""
HELM_IMAGE: Final = f"alpine/helm:{HELM_VERSION}"
KUBERNETES_VERSION: Final = "1.33"
"""The Kubernetes minor the release is rendered and validated for (``helm template --kube-version``)."""
K3S_IMAGE: Final = "rancher/k3s:v1.33.4-k3s1"
KUBECTL_IMAGE: Final = K3S_IMAGE
"""Where ``kubectl`` comes from: the k3s image carries it at the release's Kubernetes minor."""

POSTGRES_IMAGE: Final = "postgres:15"
REDIS_IMAGE: Final = "redis:7.4"
MINIO_IMAGE: Final = "minio/minio:RELEASE.2025-04-22T22-12-26Z"
MINIO_CLIENT_IMAGE: Final = "minio/mc:RELEASE.2025-04-16T18-13-26Z"

MLFLOW_BASE_IMAGE: Final = f"python:{PYTHON_VERSION}-slim"
MLFLOW_PACKAGES: Final = ("mlflow==3.17.2", "psycopg2-binary==2.9.13", "boto3==1.44.8")
"""The MLflow server's own environment: the tracking server plus its Postgres and S3 drivers."""
