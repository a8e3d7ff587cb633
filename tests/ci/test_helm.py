"""Deploy validation and Helm command lines, decided before any cluster contact."""

from pathlib import Path

import pytest

from airflow_platform_ci import helm
from airflow_platform_ci.pins import CHART_NAME, CHART_REPO, CHART_VERSION

DIGEST = "sha256:" + "ab" * 32
ALL_VALUES = {"helm/values.yaml", "helm/values-dev.yaml", "helm/values-staging.yaml", "helm/values-prod.yaml"}


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


def test_prod_upgrade_argv() -> None:
    plan = helm.plan_deploy(
        env="prod",
        image=f"ghcr.io/acme/airflow:1.2.3@{DIGEST}",
        existing=ALL_VALUES,
        namespace="airflow",
        release="platform",
        timeout="15m",
        history_max=5,
    )
    argv = helm.upgrade_argv(plan, helm_version="3.19.0")
    assert argv[:5] == ["helm", "upgrade", "--install", "platform", CHART_NAME]
    assert (option(argv, "--repo"), option(argv, "--version")) == (CHART_REPO, CHART_VERSION)
    assert CHART_VERSION == "1.21.0"
    assert options(argv, "--values") == ["helm/values.yaml", "helm/values-prod.yaml"]
    assert options(argv, "--set-string") == [
        "images.airflow.repository=ghcr.io/acme/airflow",
        f"images.airflow.digest={DIGEST}",
        "images.airflow.tag=1.2.3",
        f"config.kubernetes_executor.worker_container_tag=1.2.3@{DIGEST}",
    ]
    assert options(argv, "--set-file") == ["apiServer.apiServerConfig=helm/webserver_config.py"]
    assert option(argv, "--namespace") == "airflow"
    assert "--create-namespace" in argv
    assert (option(argv, "--timeout"), option(argv, "--history-max")) == ("15m", "5")
    assert "--wait" in argv
    assert "--atomic" in argv


def test_rollback_flag_follows_the_helm_major_version() -> None:
    plan = helm.plan_deploy(env="dev", image=f"r/a@{DIGEST}", existing=ALL_VALUES)
    assert "--atomic" in helm.upgrade_argv(plan, helm_version="3.19.0")
    helm4 = helm.upgrade_argv(plan, helm_version="4.0.1")
    assert "--rollback-on-failure" in helm4
    assert "--atomic" not in helm4


def test_no_wait_means_no_rollback_on_failure() -> None:
    plan = helm.plan_deploy(env="dev", image="r/a:1", existing=ALL_VALUES, wait=False)
    argv = helm.upgrade_argv(plan)
    assert "--wait" not in argv
    assert "--atomic" not in argv


def test_template_renders_the_same_chart_values_and_image_without_cluster_flags() -> None:
    plan = helm.plan_deploy(env="staging", image=f"r/a@{DIGEST}", existing=ALL_VALUES)
    template = helm.template_argv(plan)
    assert template[:4] == ["helm", "template", "airflow", CHART_NAME]
    upgrade = helm.upgrade_argv(plan)
    assert options(template, "--values") == options(upgrade, "--values")
    assert options(template, "--set-string") == options(upgrade, "--set-string")
    assert not {"--wait", "--atomic", "--create-namespace", "--install"} & set(template)


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
        *("helm", "rollback", "airflow", "--namespace", "airflow-prod", "--wait"),
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
    plan = helm.plan_deploy(env="prod", image=f"ghcr.io/acme/airflow@{DIGEST}", existing=ALL_VALUES)
    argv = helm.upgrade_argv(plan, helm_version="3.19.0")
    assert f"config.kubernetes_executor.worker_container_tag=pinned@{DIGEST}" in options(argv, "--set-string")
    assert not any(value.startswith("images.airflow.tag=") for value in options(argv, "--set-string"))


def test_a_tag_only_image_leaves_the_task_pod_tag_to_the_chart() -> None:
    plan = helm.plan_deploy(env="dev", image="ghcr.io/acme/airflow:1.2.3", existing=ALL_VALUES)
    values = options(helm.upgrade_argv(plan, helm_version="3.19.0"), "--set-string")
    assert not any(value.startswith("config.kubernetes_executor.") for value in values)


def test_the_auth_config_file_exists(repo: Path) -> None:
    assert (repo / helm.API_SERVER_CONFIG).is_file()
