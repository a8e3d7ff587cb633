"""Run the Helm command lines of :mod:`airflow_platform_ci.helm` in the pinned Helm image, and k3s for e2e."""

import json

import dagger
from dagger import dag

from airflow_platform_ci import helm
from airflow_platform_ci.pins import HELM_IMAGE, K3S_IMAGE

KUBECONFIG_PATH = "/run/secrets/kubeconfig"
HELM_CACHE_VOLUME = "airflow-platform-helm"
WORKDIR = "/work"
K3S_ALIAS = "k3s"
K3S_API_PORT = 6443
E2E_API_NODE_PORT = 30080
E2E_IMAGE_REPOSITORY = "airflow-platform"
E2E_IMAGE_TAG = "e2e"
K3S_IMAGES_DIR = "/var/lib/rancher/k3s/agent/images"
"""k3s imports every image tarball it finds here when it starts: how e2e loads the built image."""


async def values_present(source: dagger.Directory) -> list[str]:
    """List the Helm values files in the source, relative to the repository root."""
    return await source.glob("helm/values*.yaml")


def helm_container(source: dagger.Directory, kubeconfig: dagger.Secret | None) -> dagger.Container:
    """The pinned Helm image with ``helm/`` from the source and, if given, the kubeconfig as a secret file."""
    container = (
        dag.container()
        .from_(HELM_IMAGE)
        .with_mounted_cache("/root/.cache/helm", dag.cache_volume(HELM_CACHE_VOLUME))
        .with_directory(f"{WORKDIR}/helm", source.directory("helm"))
        .with_workdir(WORKDIR)
    )
    if kubeconfig is not None:
        container = container.with_mounted_secret(KUBECONFIG_PATH, kubeconfig).with_env_variable(
            "KUBECONFIG", KUBECONFIG_PATH
        )
    return container


async def run_helm(container: dagger.Container, argv: list[str]) -> str:
    """Run one ``helm`` command; a failure raises with Helm's own message."""
    return await container.with_exec(argv).stdout()


async def render_and_diff(plan: helm.DeployPlan, container: dagger.Container, live_cluster: bool) -> str:
    """Render the manifests without a cluster; with a kubeconfig, diff them against the deployed release.

    ``helm get manifest`` is the only cluster access, and it is read-only; a release that does not exist
    yet diffs against nothing.
    """
    rendered = await run_helm(container, helm.template_argv(plan))
    live = ""
    if live_cluster:
        fetched = container.with_exec(
            helm.get_manifest_argv(plan.release, plan.namespace), expect=dagger.ReturnType.ANY
        )
        live = await fetched.stdout() if await fetched.exit_code() == 0 else ""
    diff = helm.manifest_diff(live, rendered, plan.release)
    header = f"dry run: {plan.env} -> {plan.namespace}/{plan.release} with {plan.image.reference}"
    return f"{header}\n\n{diff or 'no changes'}\n\n$ {' '.join(helm.upgrade_argv(plan))}\n"


def e2e_values(username: str, password: str) -> str:
    """Values for the e2e install: the loaded image, a NodePort for the API, and the smoke test's user.

    JSON is YAML, so no YAML library is needed; the result is mounted as a secret file.
    """
    values = {
        "images": {"airflow": {"pullPolicy": "Never"}},
        "apiServer": {
            "service": {
                "type": "NodePort",
                "ports": [{"name": "api-server", "port": 8080, "nodePort": E2E_API_NODE_PORT}],
            }
        },
        "createUserJob": {
            "defaultUser": {"role": "Admin", "username": username, "password": password},
        },
    }
    return json.dumps(values, indent=2)


def k3s_config_volume(run_id: str) -> dagger.CacheVolume:
    """The volume where k3s writes its kubeconfig; one per run, so no run reads a stale one."""
    return dag.cache_volume(f"airflow-platform-k3s-{run_id}")


def k3s_server(image: dagger.Container, run_id: str) -> dagger.Service:
    """A single-node k3s with ``image`` preloaded as ``airflow-platform:e2e``."""
    return (
        dag.container()
        .from_(K3S_IMAGE)
        .with_file(f"{K3S_IMAGES_DIR}/airflow-platform.tar", image.as_tarball())
        .with_mounted_cache("/etc/rancher/k3s", k3s_config_volume(run_id))
        .with_mounted_temp("/var/lib/rancher/k3s/server")
        .with_exposed_port(K3S_API_PORT)
        .with_exposed_port(E2E_API_NODE_PORT, experimental_skip_healthcheck=True)
        .as_service(
            args=["server", "--disable=traefik", "--disable=metrics-server", f"--tls-san={K3S_ALIAS}"],
            use_entrypoint=True,
            insecure_root_capabilities=True,
        )
    )


async def k3s_kubeconfig(server: dagger.Service, run_id: str) -> dagger.Secret:
    """Read the kubeconfig k3s wrote, pointed at the service alias, as a secret."""
    config = await (
        dag.container()
        .from_(K3S_IMAGE)
        .with_service_binding(K3S_ALIAS, server)
        .with_mounted_cache("/etc/rancher/k3s", k3s_config_volume(run_id))
        .with_exec(
            [
                "sh",
                "-c",
                "until [ -s /etc/rancher/k3s/k3s.yaml ]; do sleep 1; done; cat /etc/rancher/k3s/k3s.yaml",
            ]
        )
        .stdout()
    )
    config = config.replace(f"https://127.0.0.1:{K3S_API_PORT}", f"https://{K3S_ALIAS}:{K3S_API_PORT}")
    return dag.set_secret("airflow-platform-e2e-kubeconfig", config)
