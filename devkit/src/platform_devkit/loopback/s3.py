"""An S3-compatible server on loopback: ``moto`` in server mode, with one bucket created.

The Dagger pipeline uses MinIO instead; both are reached the same way, through ``endpoint_url``.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from platform_devkit.loopback.base import ManagedProcess, free_port

if TYPE_CHECKING:
    import botocore.client


ENV_ENDPOINT = "PLATFORM_S3_ENDPOINT_URL"
ENV_BUCKET = "PLATFORM_S3_BUCKET"
DEFAULT_BUCKET = "airflow-platform"
REGION = "us-east-1"


@dataclass
class S3Service:
    """A running S3-compatible endpoint, its credentials and the bucket tests use."""

    endpoint_url: str
    bucket: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    region: str = REGION
    process: ManagedProcess | None = field(default=None, repr=False)

    def client(self) -> botocore.client.BaseClient:
        """Return a boto3 S3 client for this endpoint."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )

    def environ(self) -> dict[str, str]:
        """Environment variables that point AWS SDKs (and MLflow's S3 store) at this endpoint."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint_url,
        }

    def stop(self) -> None:
        """Stop the server if this object started it."""
        if self.process is not None:
            self.process.stop()


def start_s3(*, timeout: float = 60.0) -> S3Service:
    """Start a moto S3 server and create the bucket, or use ``PLATFORM_S3_ENDPOINT_URL``.

    With the environment variable set, the credentials come from ``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY`` and the bucket from ``PLATFORM_S3_BUCKET``.
    """
    if os.environ.get(ENV_ENDPOINT):
        service = S3Service(
            endpoint_url=os.environ[ENV_ENDPOINT],
            bucket=os.environ.get(ENV_BUCKET, DEFAULT_BUCKET),
            access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
            secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        )
    else:
        port = free_port()
        log = Path(tempfile.mkdtemp(prefix="platform-s3-")) / "moto.log"
        process = ManagedProcess(
            "moto-server",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            log_path=log,
        ).start()
        endpoint = f"http://127.0.0.1:{port}"
        process.wait_until(
            lambda: urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).status == 200,  # noqa: S310
            timeout=timeout,
            what="GET /moto-api/",
        )
        service = S3Service(
            endpoint_url=endpoint,
            bucket=DEFAULT_BUCKET,
            access_key_id=f"test-{secrets.token_hex(8)}",
            secret_access_key=secrets.token_hex(20),
            process=process,
        )
    client = service.client()
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    if service.bucket not in existing:
        client.create_bucket(Bucket=service.bucket)
    return service
