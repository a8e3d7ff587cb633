"""No credential in clear: not in a ConfigMap, not in an env value; the chart renders no Secret.

Every credential reaches a pod from a pre-created Secret (helm/SECRETS.md); the NOTES Helm prints
after an install name those Secrets instead of the chart's default passwords.
"""

from __future__ import annotations

import re
import secrets

import pytest

from airflow_platform_ci.helm import ENVIRONMENTS
from platform_devkit.chart.credentials import credential_findings
from platform_devkit.chart.manifests import containers, pod_spec

POINTER = re.compile(r"^<from Secret (?P<name>[a-z0-9-]+), key (?P<key>[\w.-]+)>$")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_credential_in_config_maps_or_env_values(env: str, rendered) -> None:
    findings = [str(problem) for problem in credential_findings(rendered(env).objects)]
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_chart_renders_no_secret(env: str, rendered) -> None:
    rendered_secrets = [item.ref for item in rendered(env).objects if item.kind == "Secret"]
    assert not rendered_secrets, f"pre-create these in helm/SECRETS.md instead: {rendered_secrets}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_credential_env_comes_from_secret_key_refs(env: str, rendered) -> None:
    names = re.compile(r"(PASSWORD|SECRET|TOKEN|FERNET_KEY|SQL_ALCHEMY_CONN|^AIRFLOW_CONN_)")
    seen = 0
    for item in rendered(env).objects:
        for _, container in containers(pod_spec(item.body) or {}):
            for entry in container.get("env") or []:
                if names.search(entry["name"]):
                    assert "secretKeyRef" in (entry.get("valueFrom") or {}), f"{item.ref} {entry['name']}"
                    seen += 1
    assert seen > 10


def test_a_credential_in_airflow_cfg_is_found(render_with_values) -> None:
    release = render_with_values("staging", {"config": {"smtp": {"smtp_password": secrets.token_hex(8)}}})
    findings = [str(problem) for problem in credential_findings(release.objects)]
    assert findings == [
        "ConfigMap/airflow-config: data.airflow.cfg[smtp].smtp_password: a credential in a ConfigMap"
    ]


def test_a_literal_credential_env_is_found(render_with_values) -> None:
    env = [{"name": "PLATFORM_LDAP_BIND_PASSWORD", "value": secrets.token_hex(8)}]
    release = render_with_values("staging", {"scheduler": {"env": env}})
    findings = [str(problem) for problem in credential_findings(release.objects)]
    assert findings and all(
        line.startswith("Deployment/airflow-scheduler: spec.containers[") for line in findings
    )


def _notes_credentials(notes: str, heading: str) -> dict[str, str]:
    assert heading in notes, f"NOTES have no {heading!r}"
    printed = {}
    for line in notes.split(heading, 1)[1].splitlines()[1:]:
        if not line.startswith(" "):
            break
        key, _, value = line.strip().partition(": ")
        printed[key] = value
    return printed


def _env(item, container_name: str) -> dict[str, dict]:
    for _, container in containers(pod_spec(item.body) or {}):
        if container["name"] == container_name:
            return {entry["name"]: entry for entry in container.get("env") or []}
    raise AssertionError(f"{item.ref} has no container {container_name}")


def test_dev_notes_name_the_admin_the_job_creates_and_its_secret(rendered) -> None:
    release = rendered("dev")
    printed = _notes_credentials(release.notes, "Default user (Airflow UI) Login credentials:")
    job = release.get("Job", "airflow-create-user")
    script = job.body["spec"]["template"]["spec"]["containers"][0]["args"][-1]
    username = re.search(r"--username (\S+)", script)
    assert username and username[1] == printed["username"] == "platform-admin"
    pointer = POINTER.match(printed["password"])
    assert pointer, f"NOTES print a password literal: {printed['password']!r}"
    variable = re.search(r'--password "\$\{(\w+)\}"', script)
    assert variable, "the Job's password is not taken from its env"
    reference = _env(job, "create-user")[variable[1]]["valueFrom"]["secretKeyRef"]
    assert reference == {"name": pointer["name"], "key": pointer["key"]}


def test_dev_notes_name_the_bundled_postgres_user_port_and_secret(rendered) -> None:
    release = rendered("dev")
    printed = _notes_credentials(release.notes, "Default Postgres connection credentials:")
    statefulset = release.get("StatefulSet", "airflow-postgresql")
    env = _env(statefulset, "postgresql")
    service = release.get("Service", "airflow-postgresql")
    assert printed["username"] == "postgres"
    assert int(printed["port"]) == service.body["spec"]["ports"][0]["port"]
    pointer = POINTER.match(printed["password"])
    assert pointer, f"NOTES print a password literal: {printed['password']!r}"
    reference = env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert reference == {"name": pointer["name"], "key": pointer["key"]}


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_notes_print_no_credentials_outside_dev(env: str, rendered) -> None:
    notes = rendered(env).notes
    assert notes
    assert "password:" not in notes.lower()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_notes_print_no_warning_that_does_not_apply(env: str, rendered) -> None:
    notes = rendered(env).notes
    assert "WARNING" not in notes, notes
