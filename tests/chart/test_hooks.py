"""The deploy waits (``--wait``): nothing it needs may be a Helm hook.

Helm runs post-install/post-upgrade hooks only after the wait, while every Airflow Deployment has a
``wait-for-airflow-migrations`` init container: a migration Job as a hook deadlocks the install.
So the migration and create-user Jobs are plain Jobs of the release, and no other object is a hook.
"""

from __future__ import annotations

import pytest

from airflow_platform_ci.helm import ENVIRONMENTS
from platform_devkit.chart.manifests import containers, pod_spec


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_deploy_waits(env: str, rendered) -> None:
    assert rendered(env).invocation.wait


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_object_is_a_helm_hook(env: str, rendered) -> None:
    hooks = [
        f"{item.ref} ({item.annotations['helm.sh/hook']})" for item in rendered(env).objects if item.is_hook
    ]
    assert not hooks, f"Helm hooks in a release deployed with --wait: {', '.join(hooks)}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_migrations_run_in_a_plain_job_of_the_release(env: str, rendered) -> None:
    job = rendered(env).get("Job", "airflow-run-airflow-migrations")
    assert not job.is_hook, f"{job.ref} is a {job.annotations['helm.sh/hook']} hook"
    assert "airflow db migrate" in job.body["spec"]["template"]["spec"]["containers"][0]["args"][-1]


def test_dev_creates_its_admin_in_a_plain_job_of_the_release(rendered) -> None:
    job = rendered("dev").get("Job", "airflow-create-user")
    assert not job.is_hook, f"{job.ref} is a {job.annotations['helm.sh/hook']} hook"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deployments_wait_for_the_migrations_the_release_runs(env: str, rendered) -> None:
    release = rendered(env)
    waiting = [
        item.ref
        for item in release.of_kind("Deployment")
        if any(c["name"] == "wait-for-airflow-migrations" for _, c in containers(pod_spec(item.body)))
    ]
    assert "Deployment/airflow-api-server" in waiting
    job = release.get("Job", "airflow-run-airflow-migrations")
    assert not job.is_hook, f"{', '.join(waiting)} wait for {job.ref}, which Helm runs only after the wait"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_jobs_do_not_apply_the_custom_environment(env: str, rendered) -> None:
    # applyCustomEnv: false, as the chart's docs require with --wait: the Jobs get the standard
    # Airflow environment and their own env only, not the custom env (the connections of `secret`).
    release = rendered(env)
    custom = {item["envName"] for item in release.values["secret"]}
    assert custom
    for job in release.of_kind("Job"):
        for _, container in containers(pod_spec(job.body)):
            applied = sorted(custom & {entry["name"] for entry in container.get("env") or []})
            assert not applied, f"{job.ref} applies the custom env: {', '.join(applied)}"
