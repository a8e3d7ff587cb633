"""ephemeral-secrets: the Secrets of a throw-away dev release, valid Kubernetes, never staging or prod."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from platform_devkit import ephemeral_secrets
from platform_devkit.chart.manifests import K8sObject
from platform_devkit.chart.validate import validate_objects

NAMESPACE = "airflow-dev"


@pytest.fixture(scope="module")
def printed() -> subprocess.CompletedProcess[str]:
    """The command as the e2e pipeline runs it."""
    script = Path(sys.executable).parent / "ephemeral-secrets"
    return subprocess.run(
        [str(script), "--env", "dev", "--namespace", NAMESPACE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_output_is_a_list_of_secrets_valid_in_kubernetes_1_33(printed) -> None:
    assert printed.returncode == 0, printed.stderr
    document = json.loads(printed.stdout)
    assert document["kind"] == "List"
    objects = [K8sObject(item) for item in document["items"]]
    assert {item.kind for item in objects} == {"Secret"}
    assert [str(problem) for problem in validate_objects(objects)] == []
    assert {item.body["metadata"]["namespace"] for item in objects} == {NAMESPACE}


def test_it_holds_every_secret_the_secrets_guide_lists_for_dev(printed) -> None:
    guide = (Path(__file__).resolve().parents[3] / "helm" / "SECRETS.md").read_text()
    rows = [line.split("|") for line in guide.splitlines() if line.startswith("| `airflow-")]
    for_dev = {
        row[1].strip().strip("`"): {key.strip().strip("`") for key in row[2].split(",")}
        for row in rows
        if row[3].strip() in {"all", "dev"} and row[1].strip() != "`airflow-tls`"
    }
    generated = {
        item["metadata"]["name"]: set(item["stringData"]) for item in json.loads(printed.stdout)["items"]
    }
    assert generated == for_dev


def test_nothing_secret_goes_anywhere_but_the_output(printed) -> None:
    assert printed.stderr == ""
    material = ephemeral_secrets.generate()
    assert material.fernet_key not in repr(material)
    assert material.admin_password not in repr(material)


def test_two_runs_never_share_a_value() -> None:
    first, second = ephemeral_secrets.generate(), ephemeral_secrets.generate()
    assert first.airflow_config().keys() == second.airflow_config().keys()
    assert not set(first.airflow_config().values()) & set(second.airflow_config().values())


@pytest.mark.parametrize("env", ["staging", "prod", "qa"])
def test_environments_that_are_not_throw_away_are_refused(env: str, capsys) -> None:
    assert ephemeral_secrets.main(["--env", env, "--namespace", "airflow-x"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "only dev is ephemeral" in captured.err


def test_a_bad_namespace_is_refused() -> None:
    with pytest.raises(ephemeral_secrets.EphemeralSecretsError, match="RFC 1123"):
        ephemeral_secrets.manifests("dev", "Airflow_Dev", ephemeral_secrets.generate())
