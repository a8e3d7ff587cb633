"""The GitHub workflows: pinned actions and Dagger, least privilege, gated production, secrets via env.

(Schema validation and zizmor run in ``test_commands.py``: they are ``lint`` steps of the table.)
"""

import json
import re
from pathlib import Path

import pytest
import yaml

FULL_SHA = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
SECRET_REF = re.compile(r"\$\{\{\s*secrets\.")


def workflow(repo: Path, name: str) -> dict:
    data = yaml.safe_load((repo / ".github" / "workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # PyYAML reads the key `on` as True
    return data


def steps(data: dict):
    for job_name, job in data["jobs"].items():
        for step in job["steps"]:
            yield job_name, step


def is_dagger(step: dict) -> bool:
    return "dagger-for-github" in step.get("uses", "")


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_actions_are_pinned_by_sha_with_a_version_comment(repo: Path, name: str) -> None:
    text = (repo / ".github" / "workflows" / name).read_text()
    for _, step in steps(workflow(repo, name)):
        if "uses" in step:
            assert FULL_SHA.match(step["uses"]), step["uses"]
            pinned = re.escape(step["uses"]) + r" # v\d+\.\d+\.\d+"
            assert re.search(pinned, text), f"no version comment: {step}"


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_least_privilege_and_no_persisted_credentials(repo: Path, name: str) -> None:
    data = workflow(repo, name)
    assert data["permissions"] == {}
    for job in data["jobs"].values():
        assert job["permissions"]["contents"] == "read"
        assert set(job["permissions"].values()) <= {"read", "write"}
    for _, step in steps(data):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_dagger_version_is_the_engine_version_of_dagger_json(repo: Path, name: str) -> None:
    engine = json.loads((repo / "dagger.json").read_text())["engineVersion"].removeprefix("v")
    dagger_steps = [step for _, step in steps(workflow(repo, name)) if is_dagger(step)]
    assert dagger_steps
    assert {step["with"]["version"] for step in dagger_steps} == {engine}


def test_ci_runs_test_and_uploads_reports_with_a_summary(repo: Path) -> None:
    data = workflow(repo, "ci.yml")
    assert set(data["on"]) == {"pull_request", "push"}
    assert data["on"]["push"]["branches"] == ["main"]
    (job,) = data["jobs"].values()
    calls = [step["with"]["args"] for step in job["steps"] if is_dagger(step)]
    assert calls == ["test", "reports export --path=reports"]
    (upload,) = [step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["with"]["path"] == "reports/"
    assert any("GITHUB_STEP_SUMMARY" in step.get("run", "") for step in job["steps"])


def test_deploy_publishes_then_staging_then_gated_production(repo: Path) -> None:
    data = workflow(repo, "deploy.yml")
    assert data["on"]["release"]["types"] == ["published"]
    assert "workflow_dispatch" in data["on"]
    jobs = data["jobs"]
    assert jobs["deploy-staging"]["needs"] == "publish"
    assert set(jobs["deploy-prod"]["needs"]) == {"publish", "deploy-staging"}
    assert jobs["deploy-prod"]["environment"] == "production"
    assert jobs["publish"]["permissions"]["packages"] == "write"
    runs = {name: " ".join(step.get("run", "") for step in job["steps"]) for name, job in jobs.items()}
    assert "dagger call publish" in runs["publish"]
    assert "--password=env:REGISTRY_TOKEN" in runs["publish"]
    assert "dagger call deploy --env=staging" in runs["deploy-staging"]
    assert "dagger call deploy --env=prod" in runs["deploy-prod"]
    for name in ("deploy-staging", "deploy-prod"):
        assert "--kubeconfig=env:KUBECONFIG_DATA" in runs[name]


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_secrets_only_reach_steps_through_env(repo: Path, name: str) -> None:
    for job_name, step in steps(workflow(repo, name)):
        for key in ("run", "with"):
            outside_env = SECRET_REF.search(json.dumps(step.get(key, "")))
            assert not outside_env, f"{job_name}: secret outside env in {key}"
        assert "${{" not in step.get("run", ""), f"{job_name}: expression expanded inside a shell script"
