"""The connection's token reaches the server on every path (MlflowClient, poke, trigger), and nowhere else.

An HTTP receiver that records request headers stands in as the "server" here, because the point is
what goes over the wire; its answers are not MLflow's, so the calls themselves fail and are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets

import pytest

from airflow_platform.hooks.mlflow import MLflowHook
from airflow_platform.sensors.mlflow import MLflowRunCompleteSensor

API = "/api/2.0/mlflow"


@pytest.fixture
def capture_conn(webhook_receiver, monkeypatch):
    token = secrets.token_hex(16)
    host, port = webhook_receiver.url.removeprefix("http://").split(":")
    conn = {"conn_type": "http", "host": host, "port": int(port), "password": token}
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_CAPTURE", json.dumps(conn))
    return token


def authorization_of(webhook_receiver, path: str) -> str | None:
    request = webhook_receiver.wait_for(lambda r: r.path.startswith(f"{API}/{path}"), timeout=20)
    return request.headers.get("Authorization")


def test_mlflow_client_sends_the_token_without_environment_variables(webhook_receiver, capture_conn, capsys):
    client = MLflowHook("mlflow_capture").get_conn()
    with contextlib.suppress(Exception):
        client.get_experiment_by_name("captured-experiment")
    assert authorization_of(webhook_receiver, "experiments/get-by-name") == f"Bearer {capture_conn}"
    assert all(
        capture_conn not in value for key, value in os.environ.items() if key != "AIRFLOW_CONN_MLFLOW_CAPTURE"
    )
    assert capture_conn not in "".join(capsys.readouterr())


def test_poke_and_trigger_send_the_token(webhook_receiver, capture_conn, capsys):
    sensor = MLflowRunCompleteSensor(task_id="wait", run_id="captured-run", mlflow_conn_id="mlflow_capture")
    with contextlib.suppress(Exception):
        sensor.poke(context={})
    assert authorization_of(webhook_receiver, "runs/get?run_id=captured-run") == f"Bearer {capture_conn}"

    async def one_poll():
        async for _ in sensor.build_trigger().run():
            return

    with contextlib.suppress(Exception):
        asyncio.run(asyncio.wait_for(one_poll(), 10))
    requests = [r for r in webhook_receiver.requests if r.path.startswith(f"{API}/runs/get")]
    assert len(requests) >= 2
    assert {r.headers.get("Authorization") for r in requests} == {f"Bearer {capture_conn}"}
    assert capture_conn not in json.dumps(sensor.build_trigger().serialize())
    assert capture_conn not in "".join(capsys.readouterr())
