"""Images: prod runs every container by digest, task pods included; no environment runs ``latest``."""

from __future__ import annotations

import pytest

from airflow_platform_ci.helm import ENVIRONMENTS
from platform_devkit.chart.images import BY_DIGEST, image_references, unpinned_images
from platform_devkit.chart.manifests import embedded_pods


def _images(release) -> dict[str, str]:
    return {f"{ref} {field}": image for ref, field, image in image_references(release.objects)}


def test_prod_runs_every_container_by_digest(rendered) -> None:
    assert len(_images(rendered("prod"))) > 10
    by_tag = [str(problem) for problem in unpinned_images(rendered("prod").objects)]
    assert not by_tag, "\n".join(by_tag)


def test_prod_task_pod_template_runs_the_airflow_image_by_digest(rendered) -> None:
    (template,) = [
        pod for pod in embedded_pods(rendered("prod").objects) if pod.key == "pod_template_file.yaml"
    ]
    (base,) = [container for container in template.body["spec"]["containers"] if container["name"] == "base"]
    assert BY_DIGEST.match(base["image"]), base["image"]


def test_prod_kubernetes_executor_worker_image_is_by_digest(rendered) -> None:
    executor = rendered("prod").airflow_cfg["kubernetes_executor"]
    image = f"{executor['worker_container_repository']}:{executor['worker_container_tag']}"
    assert BY_DIGEST.match(image), image


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_image_is_latest_or_untagged(env: str, rendered) -> None:
    def floating(image: str) -> bool:
        name = image.split("@", 1)[0]
        tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
        return "@" not in image and tag in {"", "latest"}

    floating_images = [
        f"{where}: {image}" for where, image in _images(rendered(env)).items() if floating(image)
    ]
    assert not floating_images, "\n".join(floating_images)
