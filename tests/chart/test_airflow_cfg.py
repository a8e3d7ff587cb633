"""airflow.cfg as rendered: executors, the Git DAG bundle per environment, the platform section."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_platform.platform_settings import load_platform_settings
from airflow_platform_ci.helm import ENVIRONMENTS
from platform_devkit.loopback.airflow_environment import SETTINGS_FILE

PLATFORM = load_platform_settings(SETTINGS_FILE)
BRANCHES = {"dev": "main", "staging": "release/staging", "prod": "production"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_executor_line(env: str, rendered) -> None:
    assert rendered(env).airflow_cfg["core"]["executor"] == "CeleryExecutor,KubernetesExecutor"
    assert list(PLATFORM.executors) == ["CeleryExecutor", "KubernetesExecutor"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_git_dag_bundle_tracks_the_environment_branch(env: str, rendered) -> None:
    (bundle,) = json.loads(rendered(env).airflow_cfg["dag_processor"]["dag_bundle_config_list"])
    assert bundle["classpath"] == "airflow.providers.git.bundles.git.GitDagBundle"
    assert bundle["kwargs"]["tracking_ref"] == BRANCHES[env]
    assert bundle["kwargs"]["repo_url"] == "https://github.com/acme/airflow-platform.git"
    assert bundle["kwargs"]["subdir"] == "dags"
    assert bundle["kwargs"]["git_conn_id"] == "git_default"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_dag_processor_gets_the_git_connection_from_a_secret(env: str, rendered) -> None:
    deployment = rendered(env).get("Deployment", "airflow-dag-processor")
    (container,) = [
        c for c in deployment.body["spec"]["template"]["spec"]["containers"] if c["name"] == "dag-processor"
    ]
    (entry,) = [e for e in container["env"] if e["name"] == "AIRFLOW_CONN_GIT_DEFAULT"]
    assert entry["valueFrom"]["secretKeyRef"] == {"name": "airflow-git-credentials", "key": "connection"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_platform_section_names_the_environment_and_its_data_lake(env: str, rendered) -> None:
    platform = rendered(env).airflow_cfg["platform"]
    assert platform["environment"] == env
    assert platform["data_lake_bucket"].endswith(f"-{env}")


@pytest.mark.parametrize(("env", "required"), [("dev", "true"), ("staging", "false"), ("prod", "true")])
def test_the_platform_section_says_whether_promotions_wait_for_an_approval(
    env: str, required: str, rendered
) -> None:
    assert rendered(env).airflow_cfg["platform"]["model_approval_required"] == required


def test_each_environment_has_its_own_data_lake(rendered) -> None:
    buckets = {env: rendered(env).airflow_cfg["platform"]["data_lake_bucket"] for env in ENVIRONMENTS}
    assert len(set(buckets.values())) == len(ENVIRONMENTS), buckets


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_settings_job_applies_the_platform_settings_after_migrating(env: str, rendered) -> None:
    job = rendered(env).get("Job", "airflow-run-airflow-migrations")
    assert job.body["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "bash", "-c", "airflow db migrate && exec platform-settings apply"
    ]  # fmt: skip


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_settings_job_reads_every_variable_the_overlay_sets(env: str, rendered, tmp_path: Path) -> None:
    # The applier itself validates the rendered airflow.cfg, as it does in the Job (no database needed).
    config = tmp_path / "airflow.cfg"
    config.write_text(rendered(env).airflow_cfg_text)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    environment.update(
        AIRFLOW_HOME=str(tmp_path), AIRFLOW_CONFIG=str(config), PLATFORM_SETTINGS_FILE=str(SETTINGS_FILE)
    )
    result = subprocess.run(
        [str(Path(sys.executable).with_name("platform-settings")), "check"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    options = list(rendered(env).airflow_cfg["platform"])
    for option in options:
        assert option in PLATFORM.variables, f"[platform] {option} is not a variable of config/platform.yaml"
    in_declared_order = [key for key in PLATFORM.variables if key in options]
    assert f"({len(options)} from [platform]: {', '.join(in_declared_order)})" in result.stdout
