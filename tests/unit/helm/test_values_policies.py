"""Policies our values must keep beyond the chart schema: secrets by reference, HA in prod, pinning."""

from __future__ import annotations

import re
import secrets
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_platform.platform_settings import load_platform_settings
from platform_devkit.helm_values import (
    ENVIRONMENTS,
    chart_dir,
    find_clear_text_secrets,
    load_layer,
    merge_layers,
    merge_values,
    referenced_secret_names,
    repo_root,
)
from platform_devkit.loopback.airflow_environment import SETTINGS_FILE
from platform_tools.settings_apply.settings_plan import build_plan

REPO = repo_root()
HELM_DIR = REPO / "helm"
PLATFORM = load_platform_settings(SETTINGS_FILE)
SETTINGS_JOB_ARGS = ["bash", "-c", "airflow db migrate && exec platform-settings apply"]
# The seed guide's demo passwords, built here so the literals themselves stay out of the tree.
FORBIDDEN_LITERALS = tuple(f"{word}123" for word in ("admin", "airflow", "minio", "mlflow"))


def _dig(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


# -- no credential in clear -------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_clear_text_credential_in_merged_values(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    assert find_clear_text_secrets(merged(environment)) == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_chart_default_passwords_are_all_out_of_effect(
    environment: str, chart_schema: dict[str, Any], merged: Callable[[str], dict[str, Any]]
) -> None:
    chart_defaults = yaml.safe_load((chart_dir() / "values.yaml").read_text())
    values = merge_values(chart_defaults, merged(environment))
    user_job = values["createUserJob"]
    neutralised = {
        "data.metadataConnection.pass": bool(values["data"]["metadataSecretName"]),
        "createUserJob.defaultUser.password": not user_job["enabled"]
        or "defaultUser.password" not in yaml.safe_dump(user_job["args"]),
        "postgresql.auth.postgresPassword": not values["postgresql"]["enabled"]
        or bool(values["postgresql"]["auth"].get("existingSecret")),
    }
    for finding in find_clear_text_secrets(values):
        assert neutralised.get(finding), f"{finding} is in effect in {environment}"


@pytest.mark.parametrize("path", sorted(p for p in HELM_DIR.iterdir() if p.is_file()), ids=lambda p: p.name)
def test_no_known_default_password_in_any_helm_file(path: Path) -> None:
    text = path.read_text().lower()
    assert not [literal for literal in FORBIDDEN_LITERALS if literal in text]


@pytest.mark.parametrize(
    ("overlay", "expected"),
    [
        ({"redis": {"password": "<generated>"}}, "redis.password"),
        ({"webserver": {"defaultUser": {"password": "<generated>"}}}, "webserver.defaultUser.password"),
        ({"fernetKey": "<generated>"}, "fernetKey"),
        ({"apiSecretKey": "<generated>"}, "apiSecretKey"),
        ({"data": {"metadataConnection": {"pass": "<generated>"}}}, "data.metadataConnection.pass"),
        ({"config": {"smtp": {"smtp_password": "<generated>"}}}, "config.smtp.smtp_password"),
        (
            {"apiServer": {"env": [{"name": "PLATFORM_LDAP_BIND_PASSWORD", "value": "<generated>"}]}},
            "apiServer.env[0].value (env PLATFORM_LDAP_BIND_PASSWORD)",
        ),
        (
            {"config": {"database": {"sql_alchemy_conn": "postgresql://airflow:<generated>@db/airflow"}}},
            "config.database.sql_alchemy_conn (URL with a password)",
        ),
        (
            {"extraEnv": "- name: OPENLINEAGE_API_KEY\n  value: <generated>\n"},
            "extraEnv[0].value (env OPENLINEAGE_API_KEY)",
        ),
    ],
)
def test_a_clear_text_credential_in_an_overlay_is_reported_by_key_path(
    tmp_path: Path, overlay: dict[str, Any], expected: str
) -> None:
    text = yaml.safe_dump(overlay).replace("<generated>", secrets.token_hex(12))
    path = tmp_path / "values-leak.yaml"
    path.write_text(text)
    findings = find_clear_text_secrets(merge_layers([load_layer(HELM_DIR / "values.yaml"), load_layer(path)]))
    assert findings == [expected]


def test_secret_references_are_not_flagged() -> None:
    references = {
        "redis": {"passwordSecretName": "x"},
        "secret": [{"envName": "AIRFLOW_CONN_X", "secretName": "s", "secretKey": "k"}],
        "env": [
            {"name": "PLATFORM_OIDC_CLIENT_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
        ],
        "pgbouncer": {"metricsExporterSidecar": {"statsSecretKey": "connection"}},
        "createUserJob": {"defaultUser": {"password": "<from Secret airflow-dev-admin, key password>"}},
        "extraEnv": yaml.safe_dump(
            [{"name": "X_API_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "api_key"}}}]
        ),
    }
    assert find_clear_text_secrets(references) == []


@pytest.mark.parametrize(
    "text",
    [
        "<from Secret airflow-dev-admin, key password> <generated>",
        "<generated> <from Secret airflow-dev-admin, key password>",
        "<from Secret <generated>>",
    ],
)
def test_a_secret_pointer_with_anything_else_is_flagged(text: str) -> None:
    password = text.replace("<generated>", secrets.token_hex(8))
    values = {"createUserJob": {"defaultUser": {"password": password}}}
    assert find_clear_text_secrets(values) == ["createUserJob.defaultUser.password"]


def test_a_secret_pointer_names_a_referenced_secret() -> None:
    pointer = "<from Secret airflow-dev-postgres, key postgres-password>"
    values = {"data": {"metadataConnection": {"pass": pointer}}}
    assert referenced_secret_names(values) == {"airflow-dev-postgres"}


def test_secrets_named_in_templated_env_strings_are_referenced() -> None:
    values = {
        "extraEnv": yaml.safe_dump([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "a", "key": "k"}}}]),
        "extraEnvFrom": yaml.safe_dump([{"secretRef": {"name": "b"}}]),
    }
    assert referenced_secret_names(values) == {"a", "b"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_referenced_secret_is_documented(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", (HELM_DIR / "SECRETS.md").read_text(), re.M))
    missing = referenced_secret_names(merged(environment)) - documented
    assert not missing, f"add to helm/SECRETS.md: {sorted(missing)}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_chart_secrets_come_from_named_secrets(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    values = merged(environment)
    for key in ("fernetKeySecretName", "apiSecretKeySecretName", "jwtSecretName"):
        assert values.get(key), key
    assert values["data"]["metadataSecretName"]
    assert values["data"]["brokerUrlSecretName"]
    assert values["redis"]["passwordSecretName"]
    if values.get("pgbouncer", {}).get("enabled"):
        assert values["pgbouncer"]["configSecretName"]
        assert values["pgbouncer"]["metricsExporterSidecar"]["statsSecretName"]
    if values.get("postgresql", {}).get("enabled"):
        assert values["postgresql"]["auth"]["existingSecret"]


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_no_default_admin_user_and_external_database(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    values = merged(environment)
    assert values["createUserJob"]["enabled"] is False
    assert "defaultUser" not in values.get("webserver", {})
    assert values["postgresql"]["enabled"] is False
    assert values["pgbouncer"]["enabled"] is True


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_helm_hook_for_a_deploy_that_waits(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    values = merged(environment)
    for job in ("migrateDatabaseJob", "createUserJob"):
        assert values[job]["useHelmHooks"] is False, job
        assert values[job]["applyCustomEnv"] is False, job
    for name, config_map in values.get("extraConfigMaps", {}).items():
        assert config_map["useHelmHooks"] is False, f"extraConfigMaps.{name} would be a pre-install hook"


def test_dev_admin_password_is_read_from_a_secret(merged: Callable[[str], dict[str, Any]]) -> None:
    job = merged("dev")["createUserJob"]
    assert "${PLATFORM_ADMIN_PASSWORD}" in job["args"][-1]
    (entry,) = [e for e in job["env"] if e["name"] == "PLATFORM_ADMIN_PASSWORD"]
    assert entry["valueFrom"]["secretKeyRef"]["name"] == "airflow-dev-admin"


# -- Airflow 3 shape, image, executors, bundles -------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_airflow3_components_and_pinned_image(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    values = merged(environment)
    assert values["airflowVersion"] == "3.3.2"
    image = values["images"]["airflow"]
    assert image["repository"] and "/" in image["repository"]
    assert image["tag"] and image["tag"] != "latest" and image["tag"].startswith(values["airflowVersion"])
    assert values["images"]["useDefaultImageForMigration"] is False
    assert values["dagProcessor"]["enabled"] is True
    assert "webserver" not in values, "Airflow 3 runs apiServer; webserver values would be ignored"
    assert tuple(values["executor"].split(",")) == PLATFORM.executors


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_packages_installed_at_pod_start(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    text = yaml.safe_dump(merged(environment))
    assert "extraPipPackages" not in text
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in text


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_connections_of_platform_yaml_come_from_secrets(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    values = merged(environment)
    provided = {item["envName"] for item in values["secret"]}
    needed = {spec.environment_variable for spec in PLATFORM.connections.values()}
    assert needed <= provided
    assert values["config"]["logging"]["remote_log_conn_id"] in PLATFORM.connections
    assert values["config"]["logging"]["remote_base_log_folder"].endswith(f"/{environment}")


def test_each_environment_has_its_own_data_lake_bucket_and_every_platform_option_is_a_variable(
    merged: Callable[[str], dict[str, Any]],
) -> None:
    buckets = {env: merged(env)["config"]["platform"]["data_lake_bucket"] for env in ENVIRONMENTS}
    assert len(set(buckets.values())) == len(ENVIRONMENTS), buckets
    assert "data_lake_bucket" in PLATFORM.variables
    for environment in ENVIRONMENTS:
        for option in merged(environment)["config"]["platform"]:
            assert option in PLATFORM.variables, f"{environment}: [platform] {option} is not a variable"


def test_prod_promotes_a_model_only_after_a_persons_approval(merged: Callable[[str], dict[str, Any]]) -> None:
    approvals = {env: merged(env)["config"]["platform"]["model_approval_required"] for env in ENVIRONMENTS}
    assert approvals["prod"] == "true"
    assert set(approvals.values()) <= {"true", "false"}, approvals
    assert PLATFORM.variables["model_approval_required"].value == "true"


def test_each_environment_tracks_its_own_branch_with_git_credentials_from_a_secret(
    merged: Callable[[str], dict[str, Any]],
) -> None:
    branches = {}
    for environment in ENVIRONMENTS:
        values = merged(environment)
        (bundle,) = values["dagProcessor"]["dagBundleConfigList"]
        assert bundle["classpath"] == "airflow.providers.git.bundles.git.GitDagBundle"
        conn_env = f"AIRFLOW_CONN_{bundle['kwargs']['git_conn_id'].upper()}"
        assert conn_env in {item["envName"] for item in values["secret"]}
        assert values["config"]["platform"]["environment"] == environment
        branches[environment] = bundle["kwargs"]["tracking_ref"]
    assert len(set(branches.values())) == len(ENVIRONMENTS), branches


def test_overlays_never_replace_a_list_the_base_sets() -> None:
    base = load_layer(HELM_DIR / "values.yaml").values

    def lists(node: Any, path: str = "") -> set[str]:
        found = set()
        if isinstance(node, dict):
            for key, value in node.items():
                found |= lists(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            found.add(path)
        return found

    base_lists = lists(base)
    for environment in ENVIRONMENTS:
        overlay = load_layer(HELM_DIR / f"values-{environment}.yaml").values
        assert not base_lists & lists(overlay), f"values-{environment}.yaml replaces base lists"


@pytest.mark.parametrize(
    ("environment", "auth_type"), [("dev", "db"), ("staging", "oauth"), ("prod", "ldap")]
)
def test_auth_type_per_environment(
    environment: str, auth_type: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    env = {item["name"]: item for item in merged(environment)["apiServer"]["env"]}
    assert env["PLATFORM_AUTH_TYPE"]["value"] == auth_type


# -- prod invariants ----------------------------------------------------------------------------

PROD_COMPONENTS = (
    "apiServer",
    "scheduler",
    "dagProcessor",
    "triggerer",
    "workers.celery",
    "workers.kubernetes",
    "pgbouncer",
    "pgbouncer.metricsExporterSidecar",
    "redis",
    "statsd",
    "migrateDatabaseJob",
    "scheduler.logGroomerSidecar",
    "dagProcessor.logGroomerSidecar",
    "triggerer.logGroomerSidecar",
    "workers.celery.logGroomerSidecar",
)


@pytest.mark.parametrize("component", PROD_COMPONENTS)
def test_prod_component_has_requests_and_limits(
    component: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    resources = _dig(merged("prod"), component)["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{component}.resources.{kind}"


@pytest.mark.parametrize("component", ["apiServer", "scheduler", "dagProcessor", "triggerer", "pgbouncer"])
def test_prod_is_highly_available(component: str, merged: Callable[[str], dict[str, Any]]) -> None:
    values = merged("prod")[component]
    assert values["replicas"] >= 2
    assert values["podDisruptionBudget"]["enabled"] is True
    assert values.get("topologySpreadConstraints") or values.get("affinity", {}).get("podAntiAffinity")


def test_prod_celery_workers_are_highly_available(merged: Callable[[str], dict[str, Any]]) -> None:
    celery = merged("prod")["workers"]["celery"]
    assert celery["replicas"] >= 2
    assert celery["podDisruptionBudget"]["enabled"] is True
    assert celery["topologySpreadConstraints"]


def test_prod_ingress_has_tls(merged: Callable[[str], dict[str, Any]]) -> None:
    ingress = merged("prod")["ingress"]["apiServer"]
    assert ingress["enabled"]
    assert all(host["tls"]["enabled"] and host["tls"]["secretName"] for host in ingress["hosts"])


# -- the settings step -------------------------------------------------------------------------


def test_settings_job_migrates_then_applies_the_platform_settings(
    merged: Callable[[str], dict[str, Any]],
) -> None:
    values = merged("prod")
    job = values["migrateDatabaseJob"]
    assert job["enabled"]
    # a plain Job of the release: the deploy waits (--wait), and a post-install hook would only
    # start after the wait that the Deployments' wait-for-airflow-migrations init containers block
    assert job["useHelmHooks"] is False and job["applyCustomEnv"] is False
    assert job["args"] == SETTINGS_JOB_ARGS
    # the applier is the image's own command: a console script of the platform wheel
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["platform-settings"] == "platform_tools.settings_apply.settings_command:main"


@pytest.mark.parametrize("path", sorted(HELM_DIR.glob("values*.yaml")), ids=lambda p: p.name)
def test_no_program_is_embedded_in_helm_values(path: Path) -> None:
    text = path.read_text()
    assert not re.search(r"<<-?\s*'?\w+'?\n|\bpython3?\b\s+-", text), f"{path.name} embeds a program"
    job = yaml.safe_load(text).get("migrateDatabaseJob", {})
    assert job.get("args", SETTINGS_JOB_ARGS) == SETTINGS_JOB_ARGS, (
        "the settings Job is set in values.yaml only"
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_settings_job_gives_each_environment_its_variable_values(
    environment: str, merged: Callable[[str], dict[str, Any]]
) -> None:
    values = merged(environment)
    bucket = values["config"]["platform"]["data_lake_bucket"]
    options = {name: str(value) for name, value in values["config"]["platform"].items()}
    plan = build_plan(PLATFORM, options, {})
    assert [pool.name for pool in plan.pools] == list(PLATFORM.pools)
    assert all(isinstance(pool.slots, int) and isinstance(pool.description, str) for pool in plan.pools)
    variables = {variable.key: variable.value for variable in plan.variables}
    assert set(variables) == set(PLATFORM.variables)
    assert all(isinstance(value, str) for value in variables.values())
    assert variables["environment"] == environment
    assert variables["data_lake_bucket"] == bucket
    # in the cluster, connections come from the AIRFLOW_CONN_* Secrets: the Job writes none
    assert plan.connections == ()


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_sensors_defer_by_default(environment: str, merged: Callable[[str], dict[str, Any]]) -> None:
    assert _dig(merged(environment), "config.operators.default_deferrable") == "True"


def test_the_e2e_overlay_keeps_the_base_api_server_peers_and_adds_only_the_smoke_client() -> None:
    base = load_layer(HELM_DIR / "values.yaml").values["apiServer"]["networkPolicy"]["ingress"]["from"]
    e2e = load_layer(HELM_DIR / "values-e2e.yaml").values["apiServer"]["networkPolicy"]["ingress"]["from"]
    assert e2e[: len(base)] == base, "values-e2e.yaml must restate the base peers: lists replace"
    assert e2e[len(base) :] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
