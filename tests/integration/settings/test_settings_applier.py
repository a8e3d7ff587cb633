"""``platform-settings apply`` against a real PostgreSQL metadata database migrated by ``airflow db migrate``.

The command runs as the Helm migration Job, ``platform-dev`` and the end-to-end fixture run it: a child
process with Airflow's configuration in its environment. What it wrote is read back with SQL (values
decrypted with the deployment's Fernet key). Every bad input leaves the database exactly as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

from airflow_platform.platform_settings import load_platform_settings
from platform_devkit.loopback.airflow_environment import SETTINGS_FILE
from platform_devkit.loopback.postgres import PostgresService
from platform_devkit.metadata_db import migrate_metadata_db

COMMAND = Path(sys.executable).with_name("platform-settings")


@dataclass
class MetadataDb:
    """A migrated metadata database and the environment an Airflow command runs with on it."""

    postgres: PostgresService
    database: str
    env: dict[str, str]
    fernet: Fernet

    def run(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run ``platform-settings *args`` on the database, ``extra_env`` added to its environment."""
        return subprocess.run(
            [str(COMMAND), *args],
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def sql(self, statement: str) -> list[tuple]:
        """Execute ``statement`` on the database and commit; return the rows it selected, if any."""
        with contextlib.closing(self.postgres.connect(self.database)) as conn, conn.cursor() as cur:
            cur.execute(statement)
            rows = cur.fetchall() if cur.description else []
            conn.commit()
        return rows

    def state(self) -> dict[str, dict]:
        """Every pool, variable and connection, decrypted."""

        def plain(value: str | None, encrypted: bool) -> str | None:
            return self.fernet.decrypt(value.encode()).decode() if value and encrypted else value

        return {
            "pools": {
                name: (slots, text)
                for name, slots, text in self.sql("SELECT pool, slots, description FROM slot_pool")
            },
            "variables": {
                key: (plain(val, enc), text)
                for key, val, enc, text in self.sql(
                    "SELECT key, val, is_encrypted, description FROM variable"
                )
            },
            "connections": {
                row[0]: (*row[1:5], plain(row[5], row[6]), row[7], plain(row[8], row[9]))
                for row in self.sql(
                    "SELECT conn_id, conn_type, host, port, login, password, is_encrypted, schema, extra,"
                    " is_extra_encrypted FROM connection"
                )
            },
        }


@pytest.fixture(scope="module")
def metadata_db(postgres: PostgresService, tmp_path_factory: pytest.TempPathFactory) -> MetadataDb:
    """A new database on the session's PostgreSQL, migrated by ``airflow db migrate``, a new Fernet key."""
    database = f"settings_{secrets.token_hex(4)}"
    postgres.create_database(database)
    home = tmp_path_factory.mktemp("settings-airflow-home")
    key = Fernet.generate_key()
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW_", "AIRFLOW__"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.url(database, driver="postgresql+psycopg2"),
            "AIRFLOW__CORE__FERNET_KEY": key.decode(),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PLATFORM_SETTINGS_FILE": str(SETTINGS_FILE),
        }
    )
    migrate_metadata_db(env)
    return MetadataDb(postgres, database, env, Fernet(key))


@pytest.fixture
def details_file(tmp_path: Path) -> Iterator[tuple[Path, dict]]:
    """A connection-details file for two declared connections, and the details it holds."""
    details = {
        "postgres_warehouse": {
            "conn_type": "postgres",
            "host": "127.0.0.1",
            "port": 5432,
            "login": "warehouse",
            "password": secrets.token_urlsafe(12),
            "schema": "warehouse",
        },
        "aws_default": {
            "login": secrets.token_hex(8),
            "password": secrets.token_urlsafe(16),
            "extra": {"endpoint_url": "http://127.0.0.1:9000", "region_name": "us-east-1"},
        },
    }
    path = tmp_path / "connections.json"
    path.write_text(json.dumps(details))
    yield path, details


def _bad_settings(tmp_path: Path) -> Path:
    document = yaml.safe_load(SETTINGS_FILE.read_text())
    document["pools"]["cpu_intensive"]["slots"] = 99  # valid, so a partial write would show
    document["variables"]["data_quality_min_rows"]["value"] = 100  # a number, not a string
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_apply_writes_pools_variables_and_the_given_connections(
    metadata_db: MetadataDb, details_file: tuple[Path, dict]
) -> None:
    path, details = details_file
    result = metadata_db.run(
        "apply",
        "--connections",
        str(path),
        AIRFLOW__PLATFORM__ENVIRONMENT="staging",
        AIRFLOW__PLATFORM__DATA_LAKE_BUCKET="lake-staging",
    )
    assert result.returncode == 0, result.stderr
    settings = load_platform_settings(SETTINGS_FILE)
    state = metadata_db.state()
    assert {name: state["pools"][name] for name in settings.pools} == {
        name: (pool.slots, pool.description) for name, pool in settings.pools.items()
    }
    expected_values = {key: spec.value for key, spec in settings.variables.items()}
    expected_values.update(environment="staging", data_lake_bucket="lake-staging")
    assert {key: state["variables"][key][0] for key in settings.variables} == expected_values
    warehouse = details["postgres_warehouse"]
    assert state["connections"]["postgres_warehouse"] == (
        "postgres", "127.0.0.1", 5432, "warehouse", warehouse["password"], "warehouse", None
    )  # fmt: skip
    aws = state["connections"]["aws_default"]
    assert aws[0] == settings.connections["aws_default"].conn_type
    assert json.loads(aws[6]) == details["aws_default"]["extra"]
    assert aws[4] == details["aws_default"]["password"]
    assert "connections  2 of 8 declared" in result.stdout
    assert (
        f"variables    {len(settings.variables)} (2 from [platform]: environment, data_lake_bucket)"
        in result.stdout
    )
    for secret in (
        warehouse["password"],
        details["aws_default"]["password"],
        details["aws_default"]["login"],
    ):
        assert secret not in result.stdout + result.stderr


def test_apply_again_overwrites_what_drifted_and_keeps_what_it_does_not_manage(
    metadata_db: MetadataDb,
) -> None:
    metadata_db.sql("UPDATE slot_pool SET slots = 1 WHERE pool = 'gpu_pool'")
    metadata_db.sql(
        "INSERT INTO slot_pool (pool, slots, description, include_deferred)"
        " VALUES ('team_pool', 3, 'x', false)"
    )
    result = metadata_db.run("apply")
    assert result.returncode == 0, result.stderr
    pools = metadata_db.state()["pools"]
    assert pools["gpu_pool"][0] == load_platform_settings(SETTINGS_FILE).pools["gpu_pool"].slots
    assert pools["team_pool"] == (3, "x")
    assert "connections  0 of 8 declared (8 left to AIRFLOW_CONN_* or a secrets backend)" in result.stdout


def _refused(metadata_db: MetadataDb, *args: str, **env: str) -> str:
    before = metadata_db.state()
    result = metadata_db.run("apply", *args, **env)
    assert result.returncode == 1, result.stdout
    assert metadata_db.state() == before
    assert result.stderr.rstrip().endswith("platform-settings: nothing was applied")
    return result.stderr


def test_a_malformed_settings_file_fails_naming_file_and_key_and_applies_nothing(
    metadata_db: MetadataDb, tmp_path: Path
) -> None:
    path = _bad_settings(tmp_path)
    error = _refused(metadata_db, "--settings", str(path))
    assert f"{path.resolve()}: key 'variables.data_quality_min_rows.value' must be a string" in error


def test_an_undeclared_connection_id_is_refused(metadata_db: MetadataDb, tmp_path: Path) -> None:
    path = tmp_path / "connections.yaml"
    path.write_text(yaml.safe_dump({"postgres_warehouse": {"host": "db"}, "shadow_db": {"host": "db"}}))
    error = _refused(metadata_db, "--connections", str(path))
    assert f"{path}: key 'shadow_db': connection 'shadow_db' is not declared in {SETTINGS_FILE}" in error


def test_a_connection_type_other_than_the_declared_one_is_refused(
    metadata_db: MetadataDb, tmp_path: Path
) -> None:
    path = tmp_path / "connections.yaml"
    path.write_text(yaml.safe_dump({"postgres_warehouse": {"conn_type": "mysql", "host": "db"}}))
    error = _refused(metadata_db, "--connections", str(path))
    assert "key 'postgres_warehouse'.conn_type is 'mysql', but" in error
    assert "declares 'postgres_warehouse' with conn_type 'postgres'" in error


def test_a_platform_option_that_is_no_declared_variable_is_refused(metadata_db: MetadataDb) -> None:
    error = _refused(metadata_db, AIRFLOW__PLATFORM__DATA_LAKE_BUCKIT="typo")
    assert "airflow.cfg [platform] data_lake_buckit: not a variable declared in" in error


def test_a_write_the_database_refuses_rolls_back_every_earlier_write(
    metadata_db: MetadataDb, details_file: tuple[Path, dict], tmp_path: Path
) -> None:
    # Pools and variables are written before connections: make the database refuse the connection.
    metadata_db.sql(
        "CREATE FUNCTION refuse_connection() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'connections are"
        " frozen'; END $$ LANGUAGE plpgsql;"
        "CREATE TRIGGER refuse_connection BEFORE INSERT OR UPDATE ON connection"
        " FOR EACH ROW EXECUTE FUNCTION refuse_connection()"
    )
    metadata_db.sql("UPDATE slot_pool SET slots = 1 WHERE pool = 'gpu_pool'")
    try:
        error = _refused(
            metadata_db, "--connections", str(details_file[0]), AIRFLOW__PLATFORM__ENVIRONMENT="rolled-back"
        )
    finally:
        metadata_db.sql("DROP TRIGGER refuse_connection ON connection; DROP FUNCTION refuse_connection()")
    assert "writing to the metadata database failed: connections are frozen; rolled back" in error
    assert metadata_db.state()["pools"]["gpu_pool"][0] == 1


def test_check_validates_without_a_database(metadata_db: MetadataDb, details_file: tuple[Path, dict]) -> None:
    result = metadata_db.run(
        "check",
        "--connections",
        str(details_file[0]),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://nobody@127.0.0.1:1/none",
    )
    assert result.returncode == 0, result.stderr
    assert "is valid; apply would write:" in result.stdout
    assert "connections  2 of 8 declared" in result.stdout
