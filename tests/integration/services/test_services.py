"""Each service fixture really works: a round trip through every server the tests rely on."""

from __future__ import annotations

import contextlib
import smtplib
import urllib.request
import uuid
from email.message import EmailMessage
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from platform_devkit.loopback.mlflow import MLFLOW_VERSION, MlflowService, server_version
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.loopback.receivers import SmtpReceiver, WebhookReceiver
from platform_devkit.loopback.redis import RedisService
from platform_devkit.loopback.s3 import S3Service


def test_postgres_sql_round_trip(postgres: PostgresService) -> None:
    url = postgres.create_database("roundtrip")
    assert url.endswith("/roundtrip")
    with contextlib.closing(postgres.connect("roundtrip")) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL)")
        cur.execute("INSERT INTO items (name) VALUES (%s) RETURNING id", ("widget",))
        (row_id,) = cur.fetchone()
        cur.execute("SELECT name FROM items WHERE id = %s", (row_id,))
        assert cur.fetchone() == ("widget",)
        cur.execute("SHOW server_version")
        assert cur.fetchone()[0].startswith("15.")


def test_redis_set_get(redis_service: RedisService) -> None:
    client = redis_service.client()
    key = f"platform:{uuid.uuid4()}"
    assert client.set(key, "value", ex=60)
    assert client.get(key) == b"value"


def test_redis_requires_its_password(redis_service: RedisService) -> None:
    import redis

    anonymous = redis.Redis(host=redis_service.host, port=redis_service.port)
    try:
        anonymous.ping()
    except redis.AuthenticationError:
        return
    raise AssertionError("Redis accepted a client without the password")


def test_s3_put_get(s3: S3Service) -> None:
    client = s3.client()
    key = f"roundtrip/{uuid.uuid4()}.txt"
    client.put_object(Bucket=s3.bucket, Key=key, Body=b"hello platform")
    assert client.get_object(Bucket=s3.bucket, Key=key)["Body"].read() == b"hello platform"


def test_mlflow_metric_and_artifact_round_trip(mlflow_server: MlflowService, s3: S3Service, tmp_path) -> None:
    assert server_version(mlflow_server.tracking_uri) == MLFLOW_VERSION
    client = MlflowClient(tracking_uri=mlflow_server.tracking_uri)
    experiment_id = client.create_experiment(f"services-{uuid.uuid4().hex[:8]}")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "accuracy", 0.93)
    artifact = tmp_path / "notes.txt"
    artifact.write_text("trained on the services fixture")
    mlflow.set_tracking_uri(mlflow_server.tracking_uri)
    client.log_artifact(run.info.run_id, str(artifact))
    client.set_terminated(run.info.run_id)

    fetched = client.get_run(run.info.run_id)
    assert fetched.data.metrics["accuracy"] == 0.93
    assert fetched.info.status == "FINISHED"
    downloaded = client.download_artifacts(run.info.run_id, "notes.txt", str(tmp_path / "out"))
    assert Path(downloaded).read_text() == "trained on the services fixture"
    # The artifact went through the server's proxy into the S3 bucket.
    keys = [
        obj["Key"]
        for obj in s3.client().list_objects_v2(Bucket=s3.bucket, Prefix="mlflow/").get("Contents", [])
    ]
    assert any(key.endswith(f"{run.info.run_id}/artifacts/notes.txt") for key in keys), keys


def test_smtp_receives_an_email(smtp_server: SmtpReceiver) -> None:
    subject = f"platform test {uuid.uuid4()}"
    message = EmailMessage()
    message["From"] = "airflow@example.com"
    message["To"] = "oncall@example.com"
    message["Subject"] = subject
    message.set_content("task failed")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        smtp.send_message(message)
    received = smtp_server.wait_for(lambda m: m["Subject"] == subject, timeout=10)
    assert received.get_content().strip() == "task failed"


def test_webhook_receives_a_post(webhook_receiver: WebhookReceiver) -> None:
    marker = str(uuid.uuid4())
    request = urllib.request.Request(
        f"{webhook_receiver.url}/services/hook",
        data=f'{{"text": "{marker}"}}'.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    received = webhook_receiver.wait_for(lambda r: (r.json or {}).get("text") == marker, timeout=10)
    assert received.path == "/services/hook"
    assert received.method == "POST"
