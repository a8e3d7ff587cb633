"""Deploy requests: validation and the Helm 4 command lines, decided before any cluster contact.

Everything here is pure (no Dagger import, no I/O) so that the refusals and the exact ``helm``
arguments are unit-tested in ``tests/ci``, and the chart tier (``tests/chart``) renders the chart with
exactly these arguments. The Dagger functions in :mod:`airflow_platform_ci.helm_runner` only run what
these functions return.
"""

import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from airflow_platform_ci.pins import CHART_IMAGES, CHART_NAME, CHART_REPO, CHART_VERSION, KUBERNETES_VERSION

ENVIRONMENTS: Final = ("dev", "staging", "prod")
DIGEST_REQUIRED: Final = frozenset({"prod"})
"""Environments that only accept an image by digest: a tag can be moved, a digest cannot."""

BASE_VALUES: Final = "helm/values.yaml"
E2E_VALUES: Final = "helm/values-e2e.yaml"
"""Applied over dev by ``cluster_e2e`` only: the preloaded image, a NodePort, the DAGs the image ships."""
NETWORK_CHART: Final = "helm/network-policies"
"""Our chart of the NetworkPolicies chart 1.21.0 cannot express, installed as ``<release>-network``."""
RELEASE_JOB_COMPONENTS: Final = ("run-airflow-migrations", "create-user-job")
"""The ``component`` labels of the chart's Jobs, which are plain Jobs of the release (no hooks)."""
DEV_ADMIN_USERNAME: Final = "platform-admin"
"""The bootstrap user of values-dev.yaml's ``createUserJob`` (password in Secret ``airflow-dev-admin``)."""
API_SERVER_CONFIG: Final = "helm/webserver_config.py"
"""The FAB auth configuration, mounted by the chart from ``apiServer.apiServerConfig``."""
DIGEST_ONLY_TAG: Final = "pinned"
"""Tag written before ``@digest`` where a setting only takes ``repository:tag`` and none was given."""
DEFAULT_RELEASE: Final = "airflow"
DEFAULT_TIMEOUT: Final = "10m"
DEFAULT_HISTORY_MAX: Final = 10

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DURATION = re.compile(r"(\d+h)?(\d+m)?(\d+s)?")


class DeployRefusedError(ValueError):
    """A deploy, rollback or status request refused before any contact with the cluster."""


@dataclass(frozen=True)
class ImageRef:
    """An image reference split into what the chart's ``images.airflow`` values take."""

    repository: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """The reference as a container runtime pulls it (digest wins over tag)."""
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"


def parse_image(reference: str) -> ImageRef:
    """Split ``repo[:tag][@sha256:...]``; a registry port (``host:5000/repo``) is not a tag.

    Raises:
        DeployRefusedError: the reference has neither a tag nor a valid digest, or is malformed.
    """
    name, _, digest = reference.strip().partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise DeployRefusedError(f"image digest must be sha256:<64 hex characters>, got {digest!r}")
    last_slash = name.rfind("/")
    repository, colon, tag = name.rpartition(":") if name.rfind(":") > last_slash else (name, "", "")
    if not repository or (colon and not tag) or any(char.isspace() for char in name):
        raise DeployRefusedError(f"not an image reference: {reference!r}")
    if not tag and not digest:
        raise DeployRefusedError(
            f"image {reference!r} has neither a tag nor a digest; refusing the implicit 'latest'"
        )
    return ImageRef(repository=repository, tag=tag or None, digest=digest or None)


def overlay_path(env: str) -> str:
    """Return the values overlay for ``env``."""
    return f"helm/values-{env}.yaml"


def values_files(env: str, existing: Collection[str], extra: Sequence[str] = ()) -> tuple[str, ...]:
    """Return the base values file, the environment's overlay and ``extra``, in the order Helm merges them.

    Args:
        env: The target environment.
        existing: Paths (relative to the repository root) of the files present in the source.
        extra: Further values files applied last (``e2e`` adds :data:`E2E_VALUES`).

    Raises:
        DeployRefusedError: unknown environment, or a values file is missing.
    """
    files = (BASE_VALUES, overlay_path(check_env(env)), *extra)
    missing = [path for path in files if path not in existing]
    if missing:
        raise DeployRefusedError(f"refusing to deploy {env!r}: missing values file(s) {', '.join(missing)}")
    return files


def default_namespace(env: str) -> str:
    """Return the namespace an environment deploys to unless told otherwise: ``airflow-<env>``."""
    return f"airflow-{env}"


def check_env(env: str) -> str:
    """Validate the environment name.

    Raises:
        DeployRefusedError: not one of :data:`ENVIRONMENTS`.
    """
    if env not in ENVIRONMENTS:
        raise DeployRefusedError(f"unknown environment {env!r}; expected one of {', '.join(ENVIRONMENTS)}")
    return env


def check_name(kind: str, value: str) -> str:
    """Validate a Kubernetes namespace or Helm release name (an RFC 1123 label).

    Raises:
        DeployRefusedError: not a valid label.
    """
    if not _DNS_LABEL.fullmatch(value):
        raise DeployRefusedError(f"{kind} {value!r} is not a valid RFC 1123 label")
    return value


def check_timeout(value: str) -> str:
    """Validate a Helm duration such as ``10m``, ``600s`` or ``1h30m``.

    Raises:
        DeployRefusedError: not a positive duration in hours, minutes and/or seconds.
    """
    positive = any(char.isdigit() and char != "0" for char in value)
    if not value or not _DURATION.fullmatch(value) or not positive:
        raise DeployRefusedError(f"timeout {value!r} is not a positive duration like 10m, 600s or 1h30m")
    return value


@dataclass(frozen=True)
class DeployPlan:
    """A validated deploy request: everything the Helm command lines are built from.

    ``chart_images`` holds the chart's third-party images (:data:`pins.CHART_IMAGES` keys) pinned by
    digest, once the pipeline has resolved them (:func:`pin_chart_images`).
    """

    env: str
    image: ImageRef
    namespace: str
    release: str
    values: tuple[str, ...]
    wait: bool
    timeout: str
    history_max: int
    chart_images: Mapping[str, ImageRef] = field(default_factory=dict[str, ImageRef])


def plan_deploy(
    *,
    env: str,
    image: str,
    existing: Collection[str],
    namespace: str = "",
    release: str = DEFAULT_RELEASE,
    wait: bool = True,
    timeout: str = DEFAULT_TIMEOUT,
    history_max: int = DEFAULT_HISTORY_MAX,
    extra_values: Sequence[str] = (),
) -> DeployPlan:
    """Validate a deploy request; every refusal happens here, before anything reaches a cluster.

    An empty ``namespace`` means :func:`default_namespace` of the environment; ``extra_values`` are
    values files applied after the environment's overlay.

    Raises:
        DeployRefusedError: unknown environment, missing overlay, a mutable tag for an environment
            that requires a digest, an invalid name, timeout or history size.
    """
    files = values_files(env, existing, extra_values)
    ref = parse_image(image)
    if env in DIGEST_REQUIRED and ref.digest is None:
        raise DeployRefusedError(
            f"refusing to deploy {env!r} by the mutable tag {ref.tag!r}: pass the image by digest "
            f"({ref.repository}@sha256:...), as `publish` returns it"
        )
    if history_max < 1:
        raise DeployRefusedError(f"history_max must be at least 1, got {history_max}")
    return DeployPlan(
        env=env,
        image=ref,
        namespace=check_name("namespace", namespace or default_namespace(env)),
        release=check_name("release", release),
        values=files,
        wait=wait,
        timeout=check_timeout(timeout),
        history_max=history_max,
    )


def pin_chart_images(plan: DeployPlan, resolved: Mapping[str, str]) -> DeployPlan:
    """Return the plan with the chart's third-party images pinned to the digests the pipeline resolved.

    Args:
        plan: A validated plan.
        resolved: :data:`pins.CHART_IMAGES` key -> the image reference by digest (``repo:tag@sha256:...``).

    Raises:
        DeployRefusedError: a key the chart does not run, or a reference without a digest.
    """
    pinned: dict[str, ImageRef] = {}
    for key, reference in resolved.items():
        if key not in CHART_IMAGES:
            raise DeployRefusedError(f"images.{key} is not an image of chart {CHART_NAME} {CHART_VERSION}")
        ref = parse_image(reference)
        if ref.digest is None:
            raise DeployRefusedError(f"images.{key}: {reference!r} is not pinned by digest")
        pinned[key] = ref
    return replace(plan, chart_images=pinned)


def _pinned_tag(ref: ImageRef) -> str:
    # Settings that take only repository and tag accept "tag@digest": the digest wins when pulling.
    return f"{ref.tag or DIGEST_ONLY_TAG}@{ref.digest}"


def _image_values(plan: DeployPlan) -> list[str]:
    missing = sorted(set(CHART_IMAGES) - set(plan.chart_images))
    if plan.env in DIGEST_REQUIRED and missing:
        names = ", ".join(f"images.{key}" for key in missing)
        raise DeployRefusedError(f"refusing to deploy {plan.env!r} with images not pinned by digest: {names}")
    image = plan.image
    values = [f"images.airflow.repository={image.repository}"]
    if image.digest:
        values.append(f"images.airflow.digest={image.digest}")
    if image.tag:
        values.append(f"images.airflow.tag={image.tag}")
    if image.digest:
        # KubernetesExecutor task pods get their image from [kubernetes_executor] worker_container_tag,
        # joined as repository:tag without a digest; the chart's pod template file has a literal image
        # of its own (images.pod_template). "tag@digest" pins both to the digest.
        values.append(f"config.kubernetes_executor.worker_container_tag={_pinned_tag(image)}")
        values.append(f"images.pod_template.repository={image.repository}")
        values.append(f"images.pod_template.tag={_pinned_tag(image)}")
    for key, ref in sorted(plan.chart_images.items()):
        values.append(f"images.{key}.repository={ref.repository}")
        values.append(f"images.{key}.tag={_pinned_tag(ref)}")
    return values


def _chart_and_values(plan: DeployPlan) -> list[str]:
    argv = [CHART_NAME, "--repo", CHART_REPO, "--version", CHART_VERSION, "--namespace", plan.namespace]
    for path in plan.values:
        argv += ["--values", path]
    argv += ["--set-file", f"apiServer.apiServerConfig={API_SERVER_CONFIG}"]
    for value in _image_values(plan):
        argv += ["--set-string", value]
    return argv


def _upgrade(plan: DeployPlan, release: str, chart_args: list[str], *, wait_for_jobs: bool) -> list[str]:
    argv = ["helm", "upgrade", "--install", release, *chart_args, "--create-namespace"]
    argv += ["--server-side=auto", "--history-max", str(plan.history_max), "--timeout", plan.timeout]
    if plan.wait:
        argv += ["--wait=watcher", *(["--wait-for-jobs"] if wait_for_jobs else []), "--rollback-on-failure"]
    return argv


def _template(release: str, chart_args: list[str]) -> list[str]:
    return ["helm", "template", release, *chart_args, "--kube-version", KUBERNETES_VERSION]


def upgrade_argv(plan: DeployPlan) -> list[str]:
    """Return Helm 4's ``helm upgrade --install`` for the plan.

    With ``wait`` the release is only marked deployed once its resources are ready (kstatus
    ``watcher``) and its Jobs, the database migration among them, have completed; a failed upgrade
    is rolled back (``--rollback-on-failure``, Helm 4's name for ``--atomic``). Objects are applied
    server-side as Helm 4 does for a new release (``auto`` keeps an existing release's method).
    """
    return _upgrade(plan, plan.release, _chart_and_values(plan), wait_for_jobs=True)


def template_argv(plan: DeployPlan) -> list[str]:
    """Return ``helm template`` for the plan: the manifests an upgrade would apply, without a cluster.

    ``--kube-version`` renders for the Kubernetes minor the release is validated against.
    """
    return _template(plan.release, _chart_and_values(plan))


def network_release(plan: DeployPlan) -> str:
    """Return the release name of :data:`NETWORK_CHART` beside ``plan``'s Airflow release."""
    return f"{plan.release}-network"


def _network_chart_and_values(plan: DeployPlan) -> list[str]:
    return [
        NETWORK_CHART,
        "--namespace",
        plan.namespace,
        "--set-string",
        f"airflowRelease={plan.release}",
    ]


def network_upgrade_argv(plan: DeployPlan) -> list[str]:
    """Return ``helm upgrade --install`` of :data:`NETWORK_CHART` beside the plan's release (no Jobs)."""
    return _upgrade(plan, network_release(plan), _network_chart_and_values(plan), wait_for_jobs=False)


def network_template_argv(plan: DeployPlan) -> list[str]:
    """Return ``helm template`` of :data:`NETWORK_CHART` for the plan."""
    return _template(network_release(plan), _network_chart_and_values(plan))


def finished_jobs_cleanup_argv(release: str, namespace: str) -> list[str]:
    """Return the ``kubectl delete`` of the release's Jobs that run before an upgrade or a rollback.

    The chart's migration and create-user Jobs are plain Jobs (``--wait`` waits for them), and a
    Job's pod template cannot change while the Job exists: an upgrade to a new image, or a rollback
    to an old one, would be refused by the API server. Deleting the Jobs first lets Helm create them
    again from the new revision, and waits for them. Deploys of one release never run concurrently
    (the workflows serialise them), so no Job of another deploy is running.
    """
    components = ",".join(RELEASE_JOB_COMPONENTS)
    return [
        "kubectl",
        "delete",
        "job",
        "--namespace",
        check_name("namespace", namespace),
        "--selector",
        f"tier=airflow,release={check_name('release', release)},component in ({components})",
        "--ignore-not-found",
        "--wait",
    ]


def get_manifest_argv(release: str, namespace: str) -> list[str]:
    """Return the read-only ``helm get manifest`` of the deployed release."""
    return [
        "helm",
        "get",
        "manifest",
        check_name("release", release),
        "--namespace",
        check_name("namespace", namespace),
    ]


def rollback_argv(
    release: str,
    namespace: str,
    revision: int = 0,
    *,
    timeout: str = DEFAULT_TIMEOUT,
    history_max: int = DEFAULT_HISTORY_MAX,
) -> list[str]:
    """Return Helm 4's ``helm rollback``, waiting for readiness; revision ``0`` means the previous release.

    Raises:
        DeployRefusedError: negative revision, invalid name or timeout.
    """
    if revision < 0:
        raise DeployRefusedError(f"revision must be 0 (previous) or a release revision, got {revision}")
    argv = ["helm", "rollback", check_name("release", release)]
    if revision:
        argv.append(str(revision))
    argv += ["--namespace", check_name("namespace", namespace), "--wait=watcher", "--wait-for-jobs"]
    return [*argv, "--timeout", check_timeout(timeout), "--history-max", str(history_max)]


def status_argvs(release: str, namespace: str) -> list[list[str]]:
    """Return ``helm status`` and ``helm history`` of the release (both read-only)."""
    release, namespace = check_name("release", release), check_name("namespace", namespace)
    return [
        ["helm", "status", release, "--namespace", namespace],
        ["helm", "history", release, "--namespace", namespace, "--max", str(DEFAULT_HISTORY_MAX)],
    ]


def manifest_diff(live: str, rendered: str, release: str) -> str:
    """Return a unified diff from the live manifests to the rendered ones (empty when identical)."""
    return "".join(
        difflib.unified_diff(
            live.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            fromfile=f"{release} (deployed)",
            tofile=f"{release} (rendered)",
        )
    )
