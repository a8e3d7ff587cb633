"""Every container has CPU and memory requests and limits: init containers, sidecars, Jobs, task pods."""

from __future__ import annotations

import pytest

from airflow_platform_ci.helm import ENVIRONMENTS
from platform_devkit.chart.manifests import containers, embedded_pods, pod_spec


def _missing(ref: str, spec: dict) -> list[str]:
    missing = []
    for field, container in containers(spec):
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            absent = {"cpu", "memory"} - set(resources.get(kind) or {})
            if absent:
                missing.append(f"{ref} {field}/{container['name']}: no {kind}.{'/'.join(sorted(absent))}")
    return missing


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_container_has_requests_and_limits(env: str, rendered) -> None:
    release = rendered(env)
    missing = []
    for item in release.objects:
        spec = pod_spec(item.body)
        if spec is not None:
            missing += _missing(item.ref, spec)
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_task_pods_and_pod_overrides_have_requests_and_limits(env: str, rendered) -> None:
    pods = embedded_pods(rendered(env).objects)
    assert pods
    missing = [line for pod in pods for line in _missing(pod.ref, pod.body["spec"])]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_jobs_are_covered(env: str, rendered) -> None:
    jobs = {item.name for item in rendered(env).objects if item.kind in {"Job", "CronJob"}}
    assert "airflow-run-airflow-migrations" in jobs
