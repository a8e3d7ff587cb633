"""Deploy validation and Helm command lines, decided before any cluster contact."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_platform_ci import helm
from airflow_platform_ci.pins import CHART_IMAGES, CHART_NAME, CHART_REPO, CHART_VERSION, KUBERNETES_VERSION

DIGEST = "sha256:" + "ab" * 32
ALL_VALUES = {
    "helm/values.yaml",
    "helm/values-dev.yaml",
    "helm/values-staging.yaml",
    "helm/values-prod.yaml",
    "helm/values-e2e.yaml",
}
PINNED = {key: f"{reference}@{DIGEST}" for key, reference in CHART_IMAGES.items()}


def pinned_plan(**request) -> helm.DeployPlan:
    """``plan_deploy(**request)`` with every values file present, the chart's images pinned."""
    return helm.pin_chart_images(helm.plan_deploy(existing=ALL_VALUES, **request), PINNED)


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def options(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == name]


@pytest.mark.parametrize(
    ("reference", "repository", "tag", "digest"),
    [
        (f"ghcr.io/acme/airflow@{DIGEST}", "ghcr.io/acme/airflow", None, DIGEST),
        ("ghcr.io/acme/airflow:1.2.3", "ghcr.io/acme/airflow", "1.2.3", None),
        (f"registry:5000/team/airflow:v1@{DIGEST}", "registry:5000/team/airflow", "v1", DIGEST),
        ("registry:5000/airflow:e2e", "registry:5000/airflow", "e2e", None),
    ],
)
def test_parse_image(reference: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = helm.parse_image(reference)
    assert (ref.repository, ref.tag, ref.digest) == (repository, tag, digest)
    assert ref.reference == (f"{repository}@{digest}" if digest else f"{repository}:{tag}")


@pytest.mark.parametrize(
    "reference",
    ["ghcr.io/acme/airflow", "registry:5000/airflow", "airflow@sha256:short", "airflow:", "air flow:1", ""],
)
def test_parse_image_refuses_untagged_or_malformed(reference: str) -> None:
    with pytest.raises(helm.DeployRefusedError):
        helm.parse_image(reference)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_values_files_are_base_then_overlay(env: str) -> None:
    assert helm.values_files(env, ALL_VALUES) == ("helm/values.yaml", f"helm/values-{env}.yaml")


def test_unknown_env_is_refused_with_the_known_ones_named() -> None:
    with pytest.raises(
        helm.DeployRefusedError, match=r"unknown environment 'qa'; expected one of dev, staging, prod"
    ):
        helm.values_files("qa", ALL_VALUES | {"helm/values-qa.yaml"})


def test_missing_overlay_is_refused() -> None:
    with pytest.raises(helm.DeployRefusedError, match=r"missing values file\(s\) helm/values-staging.yaml"):
        helm.plan_deploy(
            env="staging", image=f"r/a@{DIGEST}", existing=ALL_VALUES - {"helm/values-staging.yaml"}
        )


def test_missing_base_values_is_refused() -> None:
    with pytest.raises(helm.DeployRefusedError, match=r"helm/values.yaml"):
        helm.plan_deploy(env="dev", image="r/a:1", existing=ALL_VALUES - {"helm/values.yaml"})


def test_prod_by_mutable_tag_is_refused() -> None:
    with pytest.raises(helm.DeployRefusedError, match=r"mutable tag '1\.2\.3'"):
        helm.plan_deploy(env="prod", image="ghcr.io/acme/airflow:1.2.3", existing=ALL_VALUES)


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_tags_are_accepted_outside_prod(env: str) -> None:
    plan = helm.plan_deploy(env=env, image="ghcr.io/acme/airflow:1.2.3", existing=ALL_VALUES)
    assert plan.image.tag == "1.2.3"
    assert plan.namespace == f"airflow-{env}"


def test_the_chart_is_named_as_its_chart_yaml_names_it(airflow_chart: dict[str, Any]) -> None:
    named = (airflow_chart["name"], airflow_chart["version"])
    assert (CHART_NAME, CHART_VERSION) == named == ("airflow", "1.21.0")


def test_the_pinned_chart_images_are_the_charts_defaults(chart_data: Path) -> None:
    images = yaml.safe_load((chart_data / "values.yaml").read_text())["images"]
    assert {key: f"{images[key]['repository']}:{images[key]['tag']}" for key in CHART_IMAGES} == CHART_IMAGES


def test_prod_upgrade_argv() -> None:
    plan = pinned_plan(
        env="prod",
        image=f"ghcr.io/acme/airflow:1.2.3@{DIGEST}",
        namespace="airflow",
        release="platform",
        timeout="15m",
        history_max=5,
    )
    argv = helm.upgrade_argv(plan)
    assert argv[:5] == ["helm", "upgrade", "--install", "platform", CHART_NAME]
    assert (option(argv, "--repo"), option(argv, "--version")) == (CHART_REPO, CHART_VERSION)
    assert options(argv, "--values") == ["helm/values.yaml", "helm/values-prod.yaml"]
    assert options(argv, "--set-string") == [
        "images.airflow.repository=ghcr.io/acme/airflow",
        f"images.airflow.digest={DIGEST}",
        "images.airflow.tag=1.2.3",
        f"config.kubernetes_executor.worker_container_tag=1.2.3@{DIGEST}",
        "images.pod_template.repository=ghcr.io/acme/airflow",
        f"images.pod_template.tag=1.2.3@{DIGEST}",
        "images.pgbouncer.repository=apache/airflow",
        f"images.pgbouncer.tag=airflow-pgbouncer-2025.03.05-1.23.1@{DIGEST}",
        "images.pgbouncerExporter.repository=apache/airflow",
        f"images.pgbouncerExporter.tag=airflow-pgbouncer-exporter-2025.03.05-0.18.0@{DIGEST}",
        "images.redis.repository=redis",
        f"images.redis.tag=7.2-bookworm@{DIGEST}",
        "images.statsd.repository=quay.io/prometheus/statsd-exporter",
        f"images.statsd.tag=v0.29.0@{DIGEST}",
    ]
    assert options(argv, "--set-file") == ["apiServer.apiServerConfig=helm/webserver_config.py"]
    assert option(argv, "--namespace") == "airflow"
    assert "--create-namespace" in argv
    assert (option(argv, "--timeout"), option(argv, "--history-max")) == ("15m", "5")


def test_upgrade_uses_helm_4_flags() -> None:
    argv = helm.upgrade_argv(pinned_plan(env="dev", image=f"r/a@{DIGEST}"))
    assert {"--wait=watcher", "--wait-for-jobs", "--rollback-on-failure", "--server-side=auto"} <= set(argv)
    assert "--atomic" not in argv, "Helm 4 renamed --atomic to --rollback-on-failure"
    assert "--wait" not in argv, "a bare --wait is Helm 3's boolean; Helm 4 takes a strategy"


def test_prod_without_pinned_chart_images_is_refused() -> None:
    plan = helm.plan_deploy(env="prod", image=f"r/a@{DIGEST}", existing=ALL_VALUES)
    with pytest.raises(helm.DeployRefusedError, match=r"images\.pgbouncer, images\.pgbouncerExporter"):
        helm.upgrade_argv(plan)


@pytest.mark.parametrize(
    ("resolved", "message"),
    [
        ({"redis": "redis:7.2-bookworm"}, r"images\.redis: 'redis:7.2-bookworm' is not pinned by digest"),
        ({"flower": f"flower:1@{DIGEST}"}, r"images\.flower is not an image of chart airflow 1.21.0"),
    ],
)
def test_chart_image_pins_are_digests_of_the_charts_images(resolved: dict[str, str], message: str) -> None:
    plan = helm.plan_deploy(env="prod", image=f"r/a@{DIGEST}", existing=ALL_VALUES)
    with pytest.raises(helm.DeployRefusedError, match=message):
        helm.pin_chart_images(plan, resolved)


def test_no_wait_means_no_rollback_on_failure() -> None:
    plan = helm.plan_deploy(env="dev", image="r/a:1", existing=ALL_VALUES, wait=False)
    argv = helm.upgrade_argv(plan)
    assert not [arg for arg in argv if arg.startswith("--wait")]
    assert "--rollback-on-failure" not in argv


def test_template_renders_the_same_chart_values_and_image_without_cluster_flags() -> None:
    plan = pinned_plan(env="staging", image=f"r/a@{DIGEST}")
    template = helm.template_argv(plan)
    assert template[:4] == ["helm", "template", "airflow", CHART_NAME]
    upgrade = helm.upgrade_argv(plan)
    assert options(template, "--values") == options(upgrade, "--values")
    assert options(template, "--set-string") == options(upgrade, "--set-string")
    assert option(template, "--kube-version") == KUBERNETES_VERSION
    assert not {"--wait=watcher", "--rollback-on-failure", "--create-namespace", "--install"} & set(template)


def test_extra_values_come_after_the_overlay() -> None:
    plan = helm.plan_deploy(env="dev", image="r/a:1", existing=ALL_VALUES, extra_values=(helm.E2E_VALUES,))
    assert options(helm.upgrade_argv(plan), "--values") == [
        "helm/values.yaml",
        "helm/values-dev.yaml",
        "helm/values-e2e.yaml",
    ]
    with pytest.raises(helm.DeployRefusedError, match=r"helm/values-qa\.yaml"):
        helm.plan_deploy(env="dev", image="r/a:1", existing=ALL_VALUES, extra_values=("helm/values-qa.yaml",))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("namespace", "Airflow"),
        ("namespace", "a_b"),
        ("release", "-x"),
        ("timeout", "10"),
        ("timeout", "0m"),
        ("timeout", "1d"),
    ],
)
def test_invalid_names_and_timeouts_are_refused(field: str, value: str) -> None:
    with pytest.raises(helm.DeployRefusedError):
        helm.plan_deploy(env="dev", image="r/a:1", existing=ALL_VALUES, **{field: value})


def test_history_max_must_be_positive() -> None:
    with pytest.raises(helm.DeployRefusedError, match="history_max"):
        helm.plan_deploy(env="dev", image="r/a:1", existing=ALL_VALUES, history_max=0)


def test_rollback_argv() -> None:
    assert helm.rollback_argv("airflow", "airflow-prod") == [
        *("helm", "rollback", "airflow", "--namespace", "airflow-prod", "--wait=watcher", "--wait-for-jobs"),
        *("--timeout", "10m", "--history-max", "10"),
    ]
    assert helm.rollback_argv("airflow", "airflow-prod", 7, timeout="5m")[:4] == [
        "helm",
        "rollback",
        "airflow",
        "7",
    ]
    with pytest.raises(helm.DeployRefusedError):
        helm.rollback_argv("airflow", "airflow-prod", -1)


def test_status_argvs_are_read_only() -> None:
    argvs = helm.status_argvs("airflow", "airflow-dev")
    assert [argv[1] for argv in argvs] == ["status", "history"]
    assert all(option(argv, "--namespace") == "airflow-dev" for argv in argvs)


def test_check_env() -> None:
    assert helm.check_env("prod") == "prod"
    with pytest.raises(helm.DeployRefusedError):
        helm.check_env("production")


def test_manifest_diff() -> None:
    assert helm.manifest_diff("a: 1\n", "a: 1\n", "airflow") == ""
    diff = helm.manifest_diff("a: 1\n", "a: 2\n", "airflow")
    assert "-a: 1" in diff
    assert "+a: 2" in diff
    assert "airflow (deployed)" in diff


def test_task_pods_are_pinned_to_the_digest_without_a_tag() -> None:
    plan = pinned_plan(env="prod", image=f"ghcr.io/acme/airflow@{DIGEST}")
    values = options(helm.upgrade_argv(plan), "--set-string")
    assert f"config.kubernetes_executor.worker_container_tag=pinned@{DIGEST}" in values
    assert f"images.pod_template.tag=pinned@{DIGEST}" in values
    assert not any(value.startswith("images.airflow.tag=") for value in values)


def test_a_tag_only_image_leaves_the_task_pod_tag_to_the_chart() -> None:
    plan = helm.plan_deploy(env="dev", image="ghcr.io/acme/airflow:1.2.3", existing=ALL_VALUES)
    values = options(helm.upgrade_argv(plan), "--set-string")
    pod_image_keys = ("config.kubernetes_executor.", "images.pod_template.")
    assert not any(value.startswith(pod_image_keys) for value in values)


def test_the_auth_config_file_exists(repo: Path) -> None:
    assert (repo / helm.API_SERVER_CONFIG).is_file()
