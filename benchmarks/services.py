"""Benchmark: how long each loopback service takes to start (and MLflow to restart) on this machine.

    uv run python benchmarks/services.py

Prints one line per service: seconds from launch to its readiness check passing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from platform_devkit.loopback.ldap import start_ldap
from platform_devkit.loopback.mlflow import start_mlflow
from platform_devkit.loopback.postgres import start_postgres
from platform_devkit.loopback.receivers import SmtpReceiver, WebhookReceiver
from platform_devkit.loopback.redis import start_redis
from platform_devkit.loopback.s3 import start_s3


def timed(name: str, start: Callable[[], Any]) -> Any:
    began = time.monotonic()
    service = start()
    print(f"{name:<16} {time.monotonic() - began:6.2f} s")
    return service


def main() -> None:
    postgres = timed("postgresql", start_postgres)
    redis = timed("redis", start_redis)
    s3 = timed("s3 (moto)", start_s3)
    mlflow = timed("mlflow", lambda: start_mlflow(postgres, s3))
    mlflow.stop()
    timed("mlflow restart", mlflow.start)
    ldap = timed("openldap", start_ldap)
    smtp = timed("smtp receiver", lambda: SmtpReceiver().start())
    webhook = timed("webhook receiver", lambda: WebhookReceiver().start())
    for service in (webhook, smtp, ldap, redis, s3):
        service.stop()
    mlflow.close()
    postgres.stop()


if __name__ == "__main__":
    main()
