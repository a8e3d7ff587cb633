"""airflow.cfg as rendered: executors, the Git DAG bundle per environment, the platform section."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest
import yaml

from airflow_platform_ci.helm import ENVIRONMENTS

PLATFORM = yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "platform.yaml").read_text())
BRANCHES = {"dev": "main", "staging": "release/staging", "prod": "production"}


def _cfg(release) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(release.get("ConfigMap", "airflow-config").body["data"]["airflow.cfg"])
    return parser


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_executor_line(env: str, rendered) -> None:
    assert _cfg(rendered(env))["core"]["executor"] == "CeleryExecutor,KubernetesExecutor"
    assert PLATFORM["executors"] == ["CeleryExecutor", "KubernetesExecutor"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_git_dag_bundle_tracks_the_environment_branch(env: str, rendered) -> None:
    (bundle,) = json.loads(_cfg(rendered(env))["dag_processor"]["dag_bundle_config_list"])
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
    platform = _cfg(rendered(env))["platform"]
    assert platform["environment"] == env
    assert platform["data_lake_bucket"].endswith(f"-{env}")


def test_each_environment_has_its_own_data_lake(rendered) -> None:
    buckets = {env: _cfg(rendered(env))["platform"]["data_lake_bucket"] for env in ENVIRONMENTS}
    assert len(set(buckets.values())) == len(ENVIRONMENTS), buckets


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_settings_job_reads_every_variable_the_overlay_sets(env: str, rendered) -> None:
    job = rendered(env).get("Job", "airflow-run-airflow-migrations")
    script = job.body["spec"]["template"]["spec"]["containers"][0]["args"][-1]
    for option in _cfg(rendered(env))["platform"]:
        assert option in PLATFORM["variables"], (
            f"[platform] {option} is not a variable of config/platform.yaml"
        )
        assert f"airflow config get-value platform {option}" in script, option
