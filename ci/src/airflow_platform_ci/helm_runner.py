"""Run the Helm command lines of :mod:`airflow_platform_ci.helm` in the pinned Helm 4 image.

Every exec that reads or changes a live cluster carries a per-call value (:func:`live`): ``cache="never"``
on a function only disables the function-result cache, and the engine would otherwise serve a
repeated ``helm status`` from its exec cache, or skip a repeated upgrade or rollback.
"""

import secrets

import dagger
from dagger import dag

from airflow_platform_ci import helm
from airflow_platform_ci.commands import RENDERED_DIR, rendered_manifest
from airflow_platform_ci.pins import CHART_IMAGES, HELM_IMAGE, KUBECTL_IMAGE

KUBECONFIG_PATH = "/run/secrets/kubeconfig"
HELM_CACHE_VOLUME = "airflow-platform-helm"
WORKDIR = "/work"
CALL_ID_VARIABLE = "PLATFORM_CALL_ID"
"""Set to a fresh random value before every live-cluster exec, so the engine never serves it from cache."""


def live(container: dagger.Container) -> dagger.Container:
    """Mark the next exec as one that must run on every call (it reads or changes a live cluster)."""
    return container.with_env_variable(CALL_ID_VARIABLE, secrets.token_hex(16))


async def values_present(source: dagger.Directory) -> list[str]:
    """List the Helm values files in the source, relative to the repository root."""
    return await source.glob("helm/values*.yaml")


async def resolve_chart_images() -> dict[str, str]:
    """Resolve the chart's third-party image tags to digests through the engine (no image is pulled).

    ``Container.imageRef`` right after ``from`` is the reference the engine resolved, with its digest.
    """
    return {
        key: await dag.container().from_(reference).image_ref() for key, reference in CHART_IMAGES.items()
    }


def with_kubeconfig(container: dagger.Container, kubeconfig: dagger.Secret | None) -> dagger.Container:
    """Mount the kubeconfig as a secret file (never an environment value) and point ``KUBECONFIG`` at it."""
    if kubeconfig is None:
        return container
    return container.with_mounted_secret(KUBECONFIG_PATH, kubeconfig).with_env_variable(
        "KUBECONFIG", KUBECONFIG_PATH
    )


def helm_container(source: dagger.Directory, kubeconfig: dagger.Secret | None) -> dagger.Container:
    """The pinned Helm image with ``helm/`` from the source and, if given, the kubeconfig as a secret file."""
    container = (
        dag.container()
        .from_(HELM_IMAGE)
        .with_mounted_cache("/root/.cache/helm", dag.cache_volume(HELM_CACHE_VOLUME))
        .with_directory(f"{WORKDIR}/helm", source.directory("helm"))
        .with_workdir(WORKDIR)
    )
    return with_kubeconfig(container, kubeconfig)


def kubectl_container(kubeconfig: dagger.Secret) -> dagger.Container:
    """The pinned ``kubectl`` with the kubeconfig as a secret file."""
    return with_kubeconfig(dag.container().from_(KUBECTL_IMAGE), kubeconfig)


async def run_helm(container: dagger.Container, argv: list[str]) -> str:
    """Run one ``helm`` command against the cluster (never from cache); a failure raises Helm's message."""
    return await live(container).with_exec(argv).stdout()


def rendered(container: dagger.Container, plan: helm.DeployPlan) -> dagger.File:
    """Everything a deploy of the plan installs, as ``helm template`` renders it, in one file.

    The official chart's release, then the network release beside it. Helm validates the values
    against the chart's schema here, so a bad overlay is refused naming its key.
    """
    folder = f"{WORKDIR}/{RENDERED_DIR}"
    path = f"{WORKDIR}/{rendered_manifest(plan.env)}"
    return (
        container.with_exec(["mkdir", "-p", folder])
        .with_exec(helm.template_argv(plan), redirect_stdout=f"{folder}/airflow.yaml")
        .with_exec(helm.network_template_argv(plan), redirect_stdout=f"{folder}/network.yaml")
        .with_exec(["sh", "-c", f"cat {folder}/airflow.yaml {folder}/network.yaml > {path}"])
        .file(path)
    )


async def install(helm_ctr: dagger.Container, kubectl: dagger.Container, plan: helm.DeployPlan) -> str:
    """Install or upgrade the plan's releases: the network policies, then Airflow after its old Jobs go.

    Args:
        helm_ctr: :func:`helm_container` with the kubeconfig.
        kubectl: :func:`kubectl_container` for the same cluster.
        plan: The validated, image-pinned plan.
    """
    network = await run_helm(helm_ctr, helm.network_upgrade_argv(plan))
    await remove_finished_jobs(kubectl, plan.release, plan.namespace)
    airflow = await run_helm(helm_ctr, helm.upgrade_argv(plan))
    return f"{network}\n{airflow}"


async def remove_finished_jobs(kubectl: dagger.Container, release: str, namespace: str) -> str:
    """Delete the release's migration and create-user Jobs (see :func:`helm.finished_jobs_cleanup_argv`)."""
    argv = helm.finished_jobs_cleanup_argv(release, namespace)
    return await live(kubectl).with_exec(argv).stdout()


async def live_manifest(container: dagger.Container, plan: helm.DeployPlan) -> str:
    """Return the deployed release's manifests (read-only ``helm get manifest``); empty if none exists."""
    fetched = live(container).with_exec(
        helm.get_manifest_argv(plan.release, plan.namespace), expect=dagger.ReturnType.ANY
    )
    return await fetched.stdout() if await fetched.exit_code() == 0 else ""


def diff_report(plan: helm.DeployPlan, live_text: str, rendered_text: str) -> str:
    """Describe a dry run: the target, the diff from the live release, and the upgrade it would run."""
    diff = helm.manifest_diff(live_text, rendered_text, plan.release)
    header = f"dry run: {plan.env} -> {plan.namespace}/{plan.release} with {plan.image.reference}"
    return f"{header}\n\n{diff or 'no changes'}\n\n$ {' '.join(helm.upgrade_argv(plan))}\n"
