"""One environment contract for the Dagger service containers and the native fixtures."""

import importlib
from pathlib import Path

import pytest

from airflow_platform_ci import service_env


@pytest.mark.parametrize(
    ("launcher", "attribute", "name"),
    [
        ("platform_devkit.loopback.postgres", "ENV_URL", service_env.POSTGRES_URL),
        ("platform_devkit.loopback.redis", "ENV_URL", service_env.REDIS_URL),
        ("platform_devkit.loopback.s3", "ENV_ENDPOINT", service_env.S3_ENDPOINT_URL),
        ("platform_devkit.loopback.s3", "ENV_BUCKET", service_env.S3_BUCKET),
        ("platform_devkit.loopback.mlflow", "ENV_TRACKING_URI", service_env.MLFLOW_TRACKING_URI),
    ],
)
def test_native_launchers_read_the_same_names(launcher: str, attribute: str, name: str) -> None:
    assert getattr(importlib.import_module(launcher), attribute) == name


def test_s3_launcher_reads_the_standard_aws_credential_names() -> None:
    source = importlib.import_module("platform_devkit.loopback.s3").__file__
    assert source is not None
    text = Path(source).read_text(encoding="utf-8")
    assert f'os.environ["{service_env.S3_ACCESS_KEY_ID}"]' in text
    assert f'os.environ["{service_env.S3_SECRET_ACCESS_KEY}"]' in text


def test_every_variable_is_either_plain_or_secret() -> None:
    names = {value for key, value in vars(service_env).items() if key.isupper() and isinstance(value, str)}
    names -= {service_env.S3_BUCKET_NAME}
    plain, hidden = set(service_env.PLAIN_VARIABLES), set(service_env.SECRET_VARIABLES)
    assert not plain & hidden
    assert plain | hidden == names


def test_plain_values_cover_exactly_the_plain_variables() -> None:
    values = service_env.plain_values()
    assert set(values) == set(service_env.PLAIN_VARIABLES)
    assert values[service_env.S3_BUCKET] == service_env.S3_BUCKET_NAME
    assert not any("@" in value for value in values.values()), "a credential leaked into a plain variable"


def test_service_passwords_are_fresh_per_call() -> None:
    pytest.importorskip("dagger")
    from airflow_platform_ci import service_containers

    source = Path(service_containers.__file__).read_text(encoding="utf-8")
    assert "secrets.token_hex(16), secrets.token_hex(16)" in source
    assert "derive_password" not in source


def test_mlflow_server_environment_matches_the_native_one() -> None:
    from airflow_platform_ci.pins import MLFLOW_PACKAGES
    from platform_devkit.loopback.mlflow import SERVER_REQUIREMENTS

    assert MLFLOW_PACKAGES == SERVER_REQUIREMENTS
