"""An ephemeral single-node k3s for ``cluster_e2e``, after Dagger's own k3s harness (``e2e/helm/k3s.go``).

Like that harness: the cluster's state lives on engine-managed mounts, never on the container's
overlay (containerd cannot run its overlayfs snapshotter on an overlay): ``/var/lib/rancher`` is a
cache volume, ``/var/lib/kubelet``, ``/var/lib/cni`` and ``/var/log`` are tmpfs; an entrypoint moves
the processes into a child cgroup and enables every controller for it, which k3s only does itself
when it runs as PID 1 (cgroup v2); the server runs with root capabilities and without traefik,
metrics-server and the egress selector. Unlike it, every volume is per call (``run_id``), so no run
sees another's state, and the built image is preloaded: the tarball is named (containerd imports an
image only under the name its ``io.containerd.image.name`` annotation gives) and copied into the
agent's image folder, which k3s imports at start.
"""

import dagger
from dagger import dag

from airflow_platform_ci.pins import K3S_IMAGE

ALIAS = "k3s"
API_PORT = 6443
API_SERVER_NODE_PORT = 30080
"""The NodePort of the Airflow API server in the e2e values; the smoke test calls it through ``ALIAS``."""
E2E_IMAGE = "docker.io/library/airflow-platform:e2e"
"""The name the built image is imported under, and the image the e2e release runs (never pulled)."""
IMAGE_NAME_ANNOTATION = "io.containerd.image.name"
PRELOAD = "/opt/preload/airflow-platform.tar"
IMAGES_DIR = "/var/lib/rancher/k3s/agent/images"
CONFIG_DIR = "/etc/rancher/k3s"
KUBECONFIG = f"{CONFIG_DIR}/k3s.yaml"

CGROUP_V2_ENTRYPOINT = """#!/bin/sh
set -e
# cgroup v2: move every process out of the root group (which must hold none once controllers are
# delegated), then enable all available controllers for the children k3s and containerd create.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control
fi
exec "$@"
"""

SERVER_COMMAND = (
    f"mkdir -p {IMAGES_DIR} && cp {PRELOAD} {IMAGES_DIR}/ && exec k3s server"
    f" --disable=traefik --disable=metrics-server --egress-selector-mode=disabled"
    f" --tls-san={ALIAS} --write-kubeconfig-mode=0600"
)
"""Copy the image into the agent's image folder (a cache volume, mounted at run time), then start."""


def config_volume(run_id: str) -> dagger.CacheVolume:
    """The volume ``run_id``'s k3s writes its kubeconfig to, and the kubeconfig reader mounts."""
    return dag.cache_volume(f"airflow-platform-k3s-config-{run_id}")


def named_tarball(image: dagger.Container) -> dagger.File:
    """The image as an OCI tarball that containerd imports as :data:`E2E_IMAGE`."""
    return image.with_annotation(IMAGE_NAME_ANNOTATION, E2E_IMAGE).as_tarball()


def server(image: dagger.Container, run_id: str) -> dagger.Service:
    """A single-node k3s with ``image`` preloaded as :data:`E2E_IMAGE`, fresh for ``run_id``."""
    return (
        dag.container()
        .from_(K3S_IMAGE)
        .with_new_file("/usr/local/bin/cgroup-v2-entrypoint.sh", CGROUP_V2_ENTRYPOINT, permissions=0o755)
        .with_entrypoint(["/usr/local/bin/cgroup-v2-entrypoint.sh"])
        .with_file(PRELOAD, named_tarball(image))
        .with_mounted_cache(CONFIG_DIR, config_volume(run_id))
        .with_mounted_cache("/var/lib/rancher", dag.cache_volume(f"airflow-platform-k3s-state-{run_id}"))
        .with_mounted_temp("/var/lib/kubelet")
        .with_mounted_temp("/var/lib/cni")
        .with_mounted_temp("/var/log")
        .with_exposed_port(API_PORT)
        .with_exposed_port(API_SERVER_NODE_PORT, experimental_skip_healthcheck=True)
        .as_service(
            args=["sh", "-c", SERVER_COMMAND],
            use_entrypoint=True,
            insecure_root_capabilities=True,
        )
    )


async def kubeconfig(cluster: dagger.Service, run_id: str) -> dagger.Secret:
    """Wait for the node to be Ready, then return the kubeconfig, pointed at :data:`ALIAS`, as a secret.

    The API answers before the node is schedulable, so readiness is awaited with kubectl, as the
    harness does.
    """
    wait_then_print = (
        f"until [ -s {KUBECONFIG} ]; do sleep 1; done; "
        f"for attempt in $(seq 1 90); do "
        f"kubectl --kubeconfig {KUBECONFIG} --server https://{ALIAS}:{API_PORT} wait --for=condition=Ready "
        f"nodes --all --timeout=5s "
        f">/dev/null 2>&1 && exec cat {KUBECONFIG}; sleep 1; done; "
        f"echo 'k3s node not Ready after 90 attempts' >&2; exit 1"
    )
    config = await (
        dag.container()
        .from_(K3S_IMAGE)
        .with_mounted_cache(CONFIG_DIR, config_volume(run_id))
        .with_env_variable("PLATFORM_RUN_ID", run_id)
        .with_service_binding(ALIAS, cluster)
        .with_exec(["sh", "-c", wait_then_print])
        .stdout()
    )
    config = config.replace(f"https://127.0.0.1:{API_PORT}", f"https://{ALIAS}:{API_PORT}")
    return dag.set_secret(f"airflow-platform-e2e-kubeconfig-{run_id}", config)
