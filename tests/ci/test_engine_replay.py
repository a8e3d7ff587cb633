"""The engine replay: the module's own code, run by the Dagger SDK against the engine's real schema.

Each function is invoked through the SDK's invoke path in a subprocess, as Dagger's Python runtime runs
it; only the GraphQL session is a stand-in, which validates every document against the engine schema
and answers typed dummies (``platform_devkit.dagger_replay``). The assertions are on what the module
asks the engine to build: registration (against a reviewed golden file), base images, exec argv,
Helm command lines, secrets, compilation in the runtime image and cache-busting of live-cluster calls.
Expectations come from the module's pure modules (``commands``, ``helm``, ``pins``, ``image``), so
they follow the module. What a replay cannot show: exec results, image contents, whether a command
succeeds, and the engine's caching and scheduling.

Regenerate the golden file after a reviewed change of the module's signature:
``PLATFORM_UPDATE_GOLDEN=1 uv run pytest tests/ci/test_engine_replay.py``.
"""

import difflib
import itertools
import json
import os
import posixpath
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import graphql
import httpx
import pytest

from airflow_platform_ci import AirflowPlatform, helm, helm_runner, image, k3s, main, pins
from airflow_platform_ci.commands import COMMANDS, TEST_FUNCTIONS, commands_for
from platform_devkit import ephemeral_secrets
from platform_devkit.dagger_replay import (
    DEFAULT_ANSWERS,
    AnswerTable,
    Chain,
    EnvSecret,
    Exec,
    Invocation,
    Registration,
    SourceView,
    StandInEngine,
    StandInSession,
    base_image,
    container_steps,
    execs,
    load_schema,
    replay_invoke,
    replay_register,
    service_container,
)

GOLDEN = Path(__file__).with_name("golden") / "dagger_typedefs.json"
UPDATE_GOLDEN = os.environ.get("PLATFORM_UPDATE_GOLDEN") == "1"
REGENERATE = "PLATFORM_UPDATE_GOLDEN=1 uv run pytest tests/ci/test_engine_replay.py"

REGISTRY = "ghcr.io/acme/airflow"
DIGEST = "sha256:" + "5e" * 32
KUBECONFIG = EnvSecret("KUBECONFIG_DATA")
BUILT = f"dockerBuild:{image.DOCKERFILE}"
"""What :func:`base_image` calls the image built from the repository's Dockerfile."""


@dataclass(frozen=True)
class Scenario:
    """One function call: the function, its arguments, source paths the seeded repository lacks, and
    answers on top of the stand-in's defaults."""

    function: str
    args: Mapping[str, Any] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    answers: AnswerTable = field(default_factory=dict)


def ephemeral_secrets_output(chain: Chain, args: Mapping[str, Any]) -> str:
    """What ``ephemeral-secrets`` prints (the real command's output); the default answer otherwise."""
    ran = execs(chain)
    if ran and ran[-1].argv[:3] == ("uv", "run", "ephemeral-secrets"):
        listed = ephemeral_secrets.manifests("dev", main.E2E_NAMESPACE, ephemeral_secrets.generate())
        return json.dumps(listed)
    return DEFAULT_ANSWERS[("Container", "stdout")](chain, args)


SCENARIOS: dict[str, Scenario] = {
    "build": Scenario("build"),
    "lint": Scenario("lint"),
    "dag_check": Scenario("dag_check"),
    "unit": Scenario("unit"),
    "integration": Scenario("integration"),
    "chart": Scenario("chart"),
    "test": Scenario("test"),
    "reports": Scenario("reports"),
    "publish": Scenario(
        "publish",
        {
            "registry": REGISTRY,
            "username": "ci-bot",
            "password": EnvSecret("REGISTRY_TOKEN"),
            "tag": "c0ffee1",
        },
    ),
    "deploy-prod": Scenario(
        "deploy", {"env": "prod", "image": f"{REGISTRY}@{DIGEST}", "kubeconfig": KUBECONFIG}
    ),
    "deploy-dry-run": Scenario("deploy", {"env": "prod", "image": f"{REGISTRY}@{DIGEST}", "dry_run": True}),
    "deploy-dry-run-live": Scenario(
        "deploy", {"env": "prod", "image": f"{REGISTRY}@{DIGEST}", "kubeconfig": KUBECONFIG, "dry_run": True}
    ),
    "deploy-staging-tag": Scenario(
        "deploy", {"env": "staging", "image": f"{REGISTRY}:1.4.2", "kubeconfig": KUBECONFIG}
    ),
    "rollback": Scenario("rollback", {"env": "prod", "kubeconfig": KUBECONFIG, "revision": 3}),
    "status": Scenario("status", {"env": "staging", "kubeconfig": KUBECONFIG}),
    "cluster_e2e": Scenario("cluster_e2e", answers={("Container", "stdout"): ephemeral_secrets_output}),
    "serve_image": Scenario("serve_image"),
    # Refused before any container runs.
    "deploy-unknown-env": Scenario(
        "deploy", {"env": "qa", "image": f"{REGISTRY}@{DIGEST}", "kubeconfig": KUBECONFIG}
    ),
    "deploy-prod-by-tag": Scenario(
        "deploy", {"env": "prod", "image": f"{REGISTRY}:1.4.2", "kubeconfig": KUBECONFIG}
    ),
    "deploy-missing-overlay": Scenario(
        "deploy",
        {"env": "staging", "image": f"{REGISTRY}@{DIGEST}", "kubeconfig": KUBECONFIG},
        hidden=frozenset({helm.overlay_path("staging")}),
    ),
}
REFUSED = ("deploy-unknown-env", "deploy-prod-by-tag", "deploy-missing-overlay")
COMPLETING = [name for name in SCENARIOS if name not in REFUSED]
LIVE_CLUSTER = ("deploy-prod", "deploy-dry-run-live", "deploy-staging-tag", "rollback", "status")
"""Calls that read or change a live cluster through the given kubeconfig."""
AGAIN = "#again"
REPEATED = (*LIVE_CLUSTER, "cluster_e2e")
"""Scenarios replayed twice: what changes between two identical calls is their cache-buster."""

TOOLS = pins.TOOLS_BASE_IMAGE
LOOKUPS = set(pins.CHART_IMAGES.values())
"""Containers ``from`` the chart's images: the pipeline reads their ``imageRef`` (the digest), no exec."""
DEPLOYS = {pins.HELM_IMAGE, TOOLS, *LOOKUPS}
"""Every deploy renders (Helm), checks (``chart-check`` in the tools container) and pins the images."""
CHECKS = {BUILT, TOOLS, *LOOKUPS}
EVALUATED_IMAGES: dict[str, set[str]] = {
    "build": {BUILT},
    "lint": {TOOLS},
    "dag_check": {BUILT},
    "unit": {TOOLS},
    "integration": {TOOLS},
    "chart": {TOOLS, *LOOKUPS},
    "test": CHECKS,
    "reports": CHECKS,
    "publish": {BUILT},
    "deploy-prod": {*DEPLOYS, pins.KUBECTL_IMAGE},
    "deploy-dry-run": DEPLOYS,
    "deploy-dry-run-live": DEPLOYS,
    "deploy-staging-tag": {*DEPLOYS, pins.KUBECTL_IMAGE},
    "rollback": {pins.HELM_IMAGE, pins.KUBECTL_IMAGE},
    "status": {pins.HELM_IMAGE},
    "cluster_e2e": {BUILT, pins.K3S_IMAGE, *DEPLOYS},
    "serve_image": {BUILT},
}
"""The images of the containers each call runs (evaluates or returns)."""

INTEGRATION_SERVICES = {
    pins.POSTGRES_IMAGE,
    pins.REDIS_IMAGE,
    pins.MINIO_IMAGE,
    pins.MINIO_CLIENT_IMAGE,
    pins.MLFLOW_BASE_IMAGE,
}
SUPPORTING_IMAGES: dict[str, set[str]] = {
    "lint": {pins.UV_IMAGE},
    "integration": INTEGRATION_SERVICES,
    "chart": {pins.UV_IMAGE, pins.HELM_IMAGE},
    "test": {pins.UV_IMAGE, pins.HELM_IMAGE, *INTEGRATION_SERVICES},
    "reports": {pins.UV_IMAGE, pins.HELM_IMAGE, *INTEGRATION_SERVICES},
    "deploy-prod": {pins.UV_IMAGE},
    "deploy-dry-run": {pins.UV_IMAGE},
    "deploy-dry-run-live": {pins.UV_IMAGE},
    "deploy-staging-tag": {pins.UV_IMAGE},
    "cluster_e2e": {pins.UV_IMAGE},
    "serve_image": {pins.POSTGRES_IMAGE},
}
"""Images of the containers only passed to others: the uv binary's source, the services, the renderer."""

CHECK_SCENARIOS = ("lint", "dag_check", "unit", "integration", "chart", "test", "reports")
CLUSTER_COMMANDS = {"upgrade", "install", "rollback", "uninstall", "status", "history", "get", "list", "test"}
"""Helm subcommands that read or change the cluster (``template`` renders locally)."""


@dataclass(frozen=True)
class Replays:
    """The registration and every scenario's invocation (``<name>#again``: its second call)."""

    registration: Registration
    invocations: Mapping[str, Invocation]

    def __getitem__(self, name: str) -> Invocation:
        return self.invocations[name]


def invoke_scenario(repo: Path, schema: Path, scenario: Scenario) -> Invocation:
    """Replay one call of the scenario's function on the seeded repository (without its hidden paths)."""
    source = SourceView(repo, hidden=scenario.hidden)
    return replay_invoke(
        repo,
        scenario.function,
        scenario.args,
        parent={"source": source},
        answers=scenario.answers,
        schema_path=schema,
    )


@pytest.fixture(scope="session")
def replays(repo: Path, engine_schema: Path) -> Replays:
    """Replay the registration and every scenario once per session, concurrently (each is a subprocess)."""
    names = [*SCENARIOS, *(f"{name}{AGAIN}" for name in REPEATED)]
    # One more worker than cores: each module process also waits on its stand-in session.
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) + 1) as pool:
        registration = pool.submit(replay_register, repo, schema_path=engine_schema)
        futures = {
            name: pool.submit(invoke_scenario, repo, engine_schema, SCENARIOS[name.removesuffix(AGAIN)])
            for name in names
        }
        return Replays(registration.result(), {name: future.result() for name, future in futures.items()})


@pytest.fixture(scope="session")
def registration(replays: Replays) -> Registration:
    """The replayed ``--register`` run."""
    return replays.registration


def repo_values_files(repo: Path, hidden: frozenset[str] = frozenset()) -> list[str]:
    """The values files the seeded source holds (what the module globs)."""
    found = (str(path.relative_to(repo)) for path in repo.glob("helm/values*.yaml"))
    return sorted(path for path in found if path not in hidden)


def run_execs(invocation: Invocation) -> list[Exec]:
    """The execs of the containers the call runs, in the order it evaluated them."""
    return [run for container in invocation.evaluated_containers() for run in execs(container)]


def is_cluster_call(argv: tuple[str, ...]) -> bool:
    """Whether the command talks to the cluster: ``kubectl``, or a ``helm`` :data:`CLUSTER_COMMANDS` one."""
    program = PurePosixPath(argv[0]).name
    return program == "kubectl" or (program == "helm" and len(argv) > 1 and argv[1] in CLUSTER_COMMANDS)


def helm_chart_args(argv: tuple[str, ...]) -> tuple[str, str]:
    """Return ``(release, chart)`` of ``helm upgrade --install R C ...`` or ``helm template R C ...``."""
    positional = [arg for arg in argv[2:] if arg != "--install"]
    return positional[0], positional[1]


def flag_values(argv: tuple[str, ...], name: str) -> list[str]:
    """The value after each occurrence of the flag ``name`` in ``argv``, in order."""
    return [argv[index + 1] for index, arg in enumerate(argv[:-1]) if arg == name]


# --- registration -------------------------------------------------------------------------------


def test_registration_matches_the_reviewed_golden_file(registration: Registration) -> None:
    assert registration.returncode == 0, registration.describe()
    current = json.dumps(registration.typedefs, indent=2, sort_keys=True) + "\n"
    if UPDATE_GOLDEN:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(current, encoding="utf-8")
    reviewed = GOLDEN.read_text(encoding="utf-8") if GOLDEN.exists() else ""
    diff = "".join(
        difflib.unified_diff(
            reviewed.splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile=f"{GOLDEN.name} (reviewed)",
            tofile=f"{GOLDEN.name} (registered now)",
        )
    )
    assert not diff, (
        f"the registered types differ from the golden file; review, then run {REGENERATE}\n{diff}"
    )


def test_registration_queries_validate_against_the_engine_schema(registration: Registration) -> None:
    assert registration.queries and not registration.rejected, registration.describe()


def test_registration_lists_every_function_the_module_defines(registration: Registration) -> None:
    defined = {name for name in AirflowPlatform.__dagger_object_type__.functions if name}
    (main,) = [obj for obj in registration.typedefs["objects"] if obj["name"] == "AirflowPlatform"]
    assert {function["name"] for function in main["functions"]} == defined
    assert main["constructor"]["args"][0]["defaultPath"] == "/"


# --- every call -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*SCENARIOS, *(f"{name}{AGAIN}" for name in REPEATED)])
def test_every_query_validates_against_the_engine_schema(replays: Replays, name: str) -> None:
    invocation = replays[name]
    assert not invocation.rejected, invocation.describe()


@pytest.mark.parametrize("name", COMPLETING)
def test_every_function_completes_through_the_invoke_path(replays: Replays, name: str) -> None:
    invocation = replays[name]
    assert invocation.error is None, invocation.error.message if invocation.error else ""
    assert invocation.returned and invocation.returncode == 0, invocation.describe()


@pytest.mark.parametrize("name", COMPLETING)
def test_containers_start_from_the_pinned_images(replays: Replays, name: str) -> None:
    invocation = replays[name]
    run = {base_image(container) for container in invocation.evaluated_containers()}
    assert run == EVALUATED_IMAGES[name]
    everything = {base_image(container) for container in invocation.containers()}
    assert everything == EVALUATED_IMAGES[name] | SUPPORTING_IMAGES.get(name, set())


@pytest.mark.parametrize("name", [name for name in COMPLETING if BUILT in EVALUATED_IMAGES[name]])
def test_the_built_image_is_the_repository_s_dockerfile_with_the_pinned_versions(
    replays: Replays, repo: Path, name: str
) -> None:
    invocation = replays[name]
    built = [c for c in invocation.containers() if base_image(c) == BUILT]
    assert built
    versions = {"AIRFLOW_VERSION": pins.AIRFLOW_VERSION, "PYTHON_VERSION": pins.PYTHON_VERSION}
    source = invocation.seeds["parent.source"]
    assert source.seeded and source.describe() == f"host.directory(path: {json.dumps(str(repo))})"
    for container in built:
        build = container_steps(container)[0]
        assert build.parent is source, "built from something else than the repository"
        assert build.args["buildArgs"] == [
            {"name": arg, "value": versions[arg]} for arg in image.BUILD_ARG_NAMES
        ]


# --- the check functions run the command table ----------------------------------------------------


@pytest.mark.parametrize("name", CHECK_SCENARIOS)
def test_check_containers_run_exactly_the_command_table(replays: Replays, name: str) -> None:
    functions = TEST_FUNCTIONS if name in {"test", "reports"} else (name,)
    table = {command.argv for function in functions for command in commands_for(function)}
    evaluated = [execs(container) for container in replays[name].evaluated_containers()]
    ran = {runs[-1].argv for runs in evaluated if runs}
    preparing = {run.argv for runs in evaluated for run in runs[:-1]}
    missing = sorted(table - ran)
    extra = sorted(ran - table)
    assert not missing, f"table commands never run: {missing}"
    assert not extra, (
        "commands that are no entry of the command table (so the native suite never runs them):\n"
        + "\n".join(shlex.join(argv) for argv in extra)
    )
    unprepared = sorted(preparing - set(image.PREPARATION))
    assert not unprepared, (
        "execs that prepare a check container other than the declared set-up (image.PREPARATION):\n"
        + "\n".join(shlex.join(argv) for argv in unprepared)
    )


def test_the_test_containers_are_prepared_by_the_script_the_native_run_uses(repo: Path) -> None:
    (setup,) = [argv for argv in image.PREPARATION if argv[0] == image.SETUP_SCRIPT]
    assert (repo / setup[0]).is_file()
    assert f"{image.SETUP_SCRIPT} | tail -n 1" in (repo / "scripts" / "test").read_text()
    assert (repo / ".ci" / "run").read_text().rstrip().endswith("exec ./scripts/test")


def test_every_table_command_belongs_to_a_check_function() -> None:
    assert {command.function for command in COMMANDS} <= set(CHECK_SCENARIOS)


# --- nothing compiles in the runtime image --------------------------------------------------------


def simple_commands(argv: tuple[str, ...]) -> Iterator[list[str]]:
    """Split an exec into simple commands: ``sh -c 'a && b; c | d'`` is four of them."""
    if len(argv) >= 3 and PurePosixPath(argv[0]).name in {"sh", "bash", "dash"} and argv[1].startswith("-"):
        for part in re.split(r"&&|\|\||[;|\n]", argv[2]):
            words = shlex.split(part)
            while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
                words = words[1:]  # VAR=value prefixes
            if words:
                yield words
    else:
        yield list(argv)


def compiles(words: list[str]) -> str | None:
    """Why this command may compile or install build tooling, or ``None``."""
    program = PurePosixPath(words[0]).name
    rest = words[1:]
    if program in {"apt-get", "apt", "aptitude", "gcc", "cc", "g++", "c++", "make", "cmake"}:
        return f"runs {program}"
    packages = [word for word in rest if not word.startswith("-")]
    if "build-essential" in packages or any(word.endswith("-dev") for word in packages):
        return "names build-essential or -dev packages"
    if program.startswith("python") and rest[:2] == ["-m", "pip"]:
        program, rest = "pip", rest[2:]
    binary_only = "--no-build" in rest or "--only-binary=:all:" in rest
    binary_only = binary_only or ("--only-binary", ":all:") in itertools.pairwise(rest)
    if program in {"pip", "pip3"} and rest[:1] == ["wheel"]:
        return "builds wheels"
    if program in {"pip", "pip3"} and rest[:1] == ["install"] and not binary_only:
        return "pip install may build from source"
    if program == "uv" and rest[:1] == ["sync"]:
        return "uv sync installs (and builds) the locked environment"
    if program == "uv" and rest[:2] == ["pip", "install"] and "--no-build" not in rest:
        return "uv pip install may build from source"
    return None


@pytest.mark.parametrize("name", [name for name in COMPLETING if BUILT in EVALUATED_IMAGES[name]])
def test_nothing_compiles_in_the_built_runtime_image(replays: Replays, name: str) -> None:
    offending = []
    for container in replays[name].containers():
        if base_image(container) != BUILT:
            continue
        for run in execs(container):
            for words in simple_commands(run.argv):
                if reason := compiles(words):
                    offending.append(f"{shlex.join(run.argv)}\n    -> {shlex.join(words)}: {reason}")
    assert not offending, "execs in the built runtime image that compile or install:\n" + "\n".join(
        sorted(set(offending))
    )


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (("uv", "run", "pytest", "tests/unit"), None),
        (("uv", "pip", "install", "--no-build", "-r", "r.txt"), None),
        (("pip", "install", "--only-binary", ":all:", "x"), None),
        (("uv", "sync", "--no-install-project"), "uv sync installs (and builds) the locked environment"),
        (("sh", "-c", "apt-get update && DEBIAN_FRONTEND=x apt-get install -y slapd"), "runs apt-get"),
        (("python", "-m", "pip", "wheel", "x"), "builds wheels"),
        (("pip", "install", "x"), "pip install may build from source"),
        (("installer", "libldap2-dev"), "names build-essential or -dev packages"),
    ],
)
def test_the_compile_detector(argv: tuple[str, ...], reason: str | None) -> None:
    reasons = [compiles(words) for words in simple_commands(argv)]
    assert (next((r for r in reasons if r), None)) == reason


def local_path_sources(repo: Path) -> list[str]:
    """The local path dependencies of the project (``[tool.uv.sources]`` with ``path``)."""
    sources = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["uv"]["sources"]
    return sorted(spec["path"] for spec in sources.values() if "path" in spec)


def absent_before(container: Chain, step: Chain, paths: list[str]) -> list[str]:
    """Which of ``paths`` (relative to the working directory) are not in the container at ``step``."""
    workdir, copied = "/", []
    for earlier in container_steps(container):
        if earlier is step:
            break
        if earlier.field == "withWorkdir":
            workdir = posixpath.join(workdir, str(earlier.args["path"]))
        elif earlier.field in {
            "withFile",
            "withDirectory",
            "withMountedDirectory",
            "withMountedFile",
            "withNewFile",
        }:
            copied.append(posixpath.join(workdir, str(earlier.args["path"])))
    return [
        path
        for path in paths
        if not any(
            f"{posixpath.join(workdir, path)}/".startswith(f"{there.rstrip('/')}/") for there in copied
        )
    ]


@pytest.mark.parametrize("name", CHECK_SCENARIOS)
def test_uv_sync_runs_with_the_local_path_dependencies_present(
    replays: Replays, repo: Path, name: str
) -> None:
    sources = local_path_sources(repo)
    assert sources, "the project has local path dependencies"
    blind = set()
    for container in replays[name].containers():
        for run in execs(container):
            syncs = [
                w
                for w in simple_commands(run.argv)
                if w[:2] == ["uv", "sync"] and "--no-install-local" not in w
            ]
            if syncs and (absent := absent_before(container, run.step, sources)):
                blind.add(
                    f"{shlex.join(run.argv)} in {base_image(container)} runs before {absent} are copied in"
                )
    assert not blind, (
        "uv sync fails with 'Distribution not found' for a missing path dependency:\n"
        + "\n".join(sorted(blind))
    )


# --- Helm -----------------------------------------------------------------------------------------


def pinned_chart_images(invocation: Invocation) -> dict[str, str]:
    """The chart images as the call resolved them (the ``imageRef`` it read of each chart image)."""
    keys = {reference: key for key, reference in pins.CHART_IMAGES.items()}
    return {
        keys[base_image(leaf.chain)]: str(leaf.value)
        for query in invocation.queries
        for leaf in query.leaves
        if leaf.field == "imageRef" and leaf.chain is not None
    }


def planned_deploy(repo: Path, scenario: Scenario, invocation: Invocation) -> helm.DeployPlan:
    """The plan :mod:`helm` makes for a deploy scenario's arguments, chart images pinned as the call did."""
    args = scenario.args
    return helm.pin_chart_images(
        helm.plan_deploy(env=args["env"], image=args["image"], existing=repo_values_files(repo)),
        pinned_chart_images(invocation),
    )


def expected_helm_argvs(repo: Path, scenario: Scenario, invocation: Invocation) -> list[list[str]]:
    """The cluster command lines :mod:`helm` builds for the scenario's arguments, in the order they run."""
    args = scenario.args
    if scenario.function == "deploy":
        plan = planned_deploy(repo, scenario, invocation)
        if args.get("dry_run"):
            rendered = [helm.template_argv(plan), helm.network_template_argv(plan)]
            if "kubeconfig" in args:
                rendered.append(helm.get_manifest_argv(plan.release, plan.namespace))
            return rendered
        return [
            helm.network_upgrade_argv(plan),
            helm.finished_jobs_cleanup_argv(plan.release, plan.namespace),
            helm.upgrade_argv(plan),
        ]
    namespace = helm.default_namespace(args["env"])
    if scenario.function == "rollback":
        return [
            helm.finished_jobs_cleanup_argv(helm.DEFAULT_RELEASE, namespace),
            helm.rollback_argv(helm.DEFAULT_RELEASE, namespace, args["revision"]),
        ]
    return helm.status_argvs(helm.DEFAULT_RELEASE, namespace)


def rendered_argvs(invocation: Invocation) -> list[list[str]]:
    """The ``helm template`` execs of every container the call built (rendering feeds the check)."""
    return [
        list(run.argv)
        for container in invocation.containers()
        for run in execs(container)
        if run.argv[:2] == ("helm", "template")
    ]


HELM_SCENARIOS = (
    "deploy-prod",
    "deploy-dry-run",
    "deploy-dry-run-live",
    "deploy-staging-tag",
    "rollback",
    "status",
)


@pytest.mark.parametrize("name", HELM_SCENARIOS)
def test_helm_runs_the_command_lines_of_the_helm_module(replays: Replays, repo: Path, name: str) -> None:
    invocation = replays[name]
    ran = [list(run.argv) for run in run_execs(invocation) if run.argv[0] in {"helm", "kubectl"}]
    assert ran == expected_helm_argvs(repo, SCENARIOS[name], invocation)


@pytest.mark.parametrize("name", [name for name in HELM_SCENARIOS if SCENARIOS[name].function == "deploy"])
def test_every_deploy_renders_and_checks_both_releases_first(replays: Replays, repo: Path, name: str) -> None:
    invocation = replays[name]
    args = SCENARIOS[name].args
    plan = planned_deploy(repo, SCENARIOS[name], invocation)
    assert rendered_argvs(invocation)[:2] == [helm.template_argv(plan), helm.network_template_argv(plan)]
    (check,) = [c for c in commands_for("chart") if c.step == f"chart-{args['env']}"]
    ran = [run.argv for run in run_execs(invocation)]
    assert check.argv in ran
    changes = [i for i, argv in enumerate(ran) if argv[:2] in {("helm", "upgrade"), ("kubectl", "delete")}]
    assert all(ran.index(check.argv) < i for i in changes), "the release is checked before it is installed"


def test_the_chart_images_are_pinned_by_the_digests_the_engine_resolved(replays: Replays) -> None:
    invocation = replays["deploy-prod"]
    pinned = pinned_chart_images(invocation)
    assert set(pinned) == set(pins.CHART_IMAGES)
    assert all(helm.parse_image(reference).digest for reference in pinned.values())


@pytest.mark.parametrize("name", HELM_SCENARIOS)
def test_the_kubeconfig_is_mounted_as_the_given_secret_only(replays: Replays, name: str) -> None:
    invocation = replays[name]
    for container in invocation.evaluated_containers():
        if base_image(container) not in {pins.HELM_IMAGE, pins.KUBECTL_IMAGE}:
            continue
        mounts = [step for step in container_steps(container) if step.field == "withMountedSecret"]
        if "kubeconfig" not in SCENARIOS[name].args:
            assert mounts == [], "a dry run without a kubeconfig mounts none"
            continue
        assert [(step.args["path"], step.refs["source"]) for step in mounts] == [
            (helm_runner.KUBECONFIG_PATH, invocation.seeds["kubeconfig"])
        ]
        assert all(run.env["KUBECONFIG"] == helm_runner.KUBECONFIG_PATH for run in execs(container))


@pytest.mark.parametrize("name", [*HELM_SCENARIOS[:4], "cluster_e2e"])
def test_helm_installs_the_official_chart_by_its_name_with_the_env_values(
    replays: Replays, airflow_chart: dict[str, Any], name: str
) -> None:
    env = SCENARIOS[name].args.get("env", "dev")
    installs = [
        run.argv
        for container in replays[name].containers()
        for run in execs(container)
        if run.argv[:2] in {("helm", "upgrade"), ("helm", "template")}
        and helm_chart_args(run.argv)[1] != helm.NETWORK_CHART
    ]
    assert installs
    for argv in installs:
        _, chart = helm_chart_args(argv)
        assert chart == airflow_chart["name"], (
            f"helm is given the chart {chart!r}, but the official chart is named {airflow_chart['name']!r} "
            f"(Chart.yaml); `{shlex.join(argv[:6])} ...` cannot find it in {pins.CHART_REPO}"
        )
        assert flag_values(argv, "--repo") == [pins.CHART_REPO]
        assert flag_values(argv, "--version") == [str(airflow_chart["version"])]
        assert flag_values(argv, "--values")[:2] == [helm.BASE_VALUES, helm.overlay_path(env)]


@pytest.mark.parametrize("name", [*HELM_SCENARIOS, "cluster_e2e"])
def test_helm_runs_in_a_helm_4_image(replays: Replays, name: str) -> None:
    for container in replays[name].evaluated_containers():
        runs = execs(container)
        if not runs or runs[0].argv[0] != "helm":
            continue
        address = base_image(container)
        major = int(address.rpartition(":")[2].lstrip("v").split(".")[0])
        assert major >= 4, f"{address} is Helm {major}: Helm 3 gets security fixes only until 2027-02-10"
        assert not [run.argv for run in runs if "--atomic" in run.argv], "--atomic is Helm 3's flag"


def test_a_dry_run_never_changes_the_cluster(replays: Replays) -> None:
    for name in ("deploy-dry-run", "deploy-dry-run-live"):
        cluster = [run.argv for run in run_execs(replays[name]) if run.argv[0] in {"helm", "kubectl"}]
        assert cluster and {argv[:2] for argv in cluster} <= {("helm", "template"), ("helm", "get")}, cluster


# --- live clusters need a per-call cache-buster ---------------------------------------------------


def env_value(value: "str | Chain") -> str:
    """An exec's environment value as compared across calls: the string, or a chain's content hash."""
    return value if isinstance(value, str) else value.digest


@pytest.mark.parametrize("name", LIVE_CLUSTER)
def test_live_cluster_execs_carry_a_per_call_cache_buster(replays: Replays, name: str) -> None:
    first = [run for run in run_execs(replays[name]) if is_cluster_call(run.argv)]
    second = [run for run in run_execs(replays[f"{name}{AGAIN}"]) if is_cluster_call(run.argv)]
    assert first and [run.argv for run in first] == [run.argv for run in second]
    stale = []
    for one, other in zip(first, second, strict=True):
        busting = {
            variable
            for variable in one.env.keys() | other.env.keys()
            if env_value(one.env.get(variable, "")) != env_value(other.env.get(variable, ""))
        }
        if not busting:
            stale.append(shlex.join(one.argv))
    assert not stale, (
        "execs against a live cluster that are identical in two calls with the same arguments, so the "
        "engine may answer them from its cache instead of asking the cluster (no variable set before "
        "them changes per call):\n" + "\n".join(stale)
    )


@pytest.mark.parametrize("name", ["deploy-prod", "deploy-staging-tag", "cluster_e2e"])
def test_the_network_release_is_our_chart_beside_the_airflow_release(replays: Replays, name: str) -> None:
    upgrades = [run.argv for run in run_execs(replays[name]) if run.argv[:2] == ("helm", "upgrade")]
    assert [helm_chart_args(argv) for argv in upgrades] == [
        (f"{helm.DEFAULT_RELEASE}-network", helm.NETWORK_CHART),
        (helm.DEFAULT_RELEASE, pins.CHART_NAME),
    ]


def test_e2e_installs_into_a_fresh_cluster_per_call(replays: Replays) -> None:
    def install(invocation: Invocation) -> Exec:
        (run,) = [
            run
            for run in run_execs(invocation)
            if run.argv[:2] == ("helm", "upgrade") and helm_chart_args(run.argv)[1] == pins.CHART_NAME
        ]
        return run

    first, second = install(replays["cluster_e2e"]), install(replays[f"cluster_e2e{AGAIN}"])
    assert first.argv == second.argv
    assert first.step.digest != second.step.digest

    def cluster(run: Exec) -> Chain:
        (binding,) = [step for step in container_steps(run.step) if step.field == "withServiceBinding"]
        service = binding.refs["service"]
        assert isinstance(service, Chain)
        return service_container(service)

    assert base_image(cluster(first)) == pins.K3S_IMAGE
    assert cluster(first).digest != cluster(second).digest


def test_e2e_points_the_kubeconfig_at_the_k3s_service(replays: Replays) -> None:
    (plaintext,) = {
        chain.args["plaintext"]
        for chain in replays["cluster_e2e"].chains
        if chain.field == "setSecret" and chain.args["name"].startswith("airflow-platform-e2e-kubeconfig-")
    }
    server = f"https://{k3s.ALIAS}:{k3s.API_PORT}"
    assert f"server: {server}" in plaintext


# --- publish --------------------------------------------------------------------------------------


def test_publish_pushes_the_tag_and_returns_the_digest_reference(replays: Replays) -> None:
    invocation = replays["publish"]
    args = SCENARIOS["publish"].args
    (push,) = [leaf for query in invocation.queries for leaf in query.leaves if leaf.field == "publish"]
    assert push.args == {"address": f"{args['registry']}:{args['tag']}"}
    pushed = helm.parse_image(push.value)
    assert invocation.value == f"{args['registry']}@{pushed.digest}"
    (auth,) = [step for step in container_steps(push.chain) if step.field == "withRegistryAuth"]
    assert auth.args["address"] == args["registry"] and auth.args["username"] == args["username"]
    assert auth.refs["secret"] is invocation.seeds["password"]


# --- secrets --------------------------------------------------------------------------------------


CREDENTIAL_LENGTH = 16
"""Plaintexts (and hex runs inside them, e.g. generated passwords) this long are searched for inside
other strings too; shorter ones (a user name) only as a whole value."""


class StringLiterals(graphql.Visitor):
    """Collect a document's string values with where they are, except setSecret's ``plaintext``."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []
        self.argument = ""
        self.values: list[tuple[str, str]] = []

    def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
        named = [arg.value for arg in node.arguments or () if arg.name.value == "name"]
        label = json.dumps(named[0].value) if named and isinstance(named[0], graphql.StringValueNode) else ""
        self.fields.append(f"{node.name.value}({label})" if label else node.name.value)

    def leave_field(self, node: graphql.FieldNode, *_: Any) -> None:
        self.fields.pop()

    def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> Any:
        if self.fields[-1].startswith("setSecret(") and node.name.value == "plaintext":
            return self.SKIP  # where a plaintext belongs
        self.argument = node.name.value
        return None

    def enter_string_value(self, node: graphql.StringValueNode, *_: Any) -> None:
        self.values.append((f"{self.fields[-1]} {self.argument}:", node.value))


def strings_of(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)


def leaked(plaintext: str, text: str) -> bool:
    """Whether ``text`` is the plaintext, or holds it or a credential-length hex run of it."""
    inside = [run for run in re.findall(r"[0-9a-f]+", plaintext) if len(run) >= CREDENTIAL_LENGTH]
    if len(plaintext) >= CREDENTIAL_LENGTH:
        inside.append(plaintext)
    return text == plaintext or any(part in text for part in inside)


@pytest.mark.parametrize(
    ("plaintext", "text", "found"),
    [
        (
            "postgresql://platform:0123456789abcdef0123@postgres:5432/platform",
            "pw=0123456789abcdef0123",
            True,
        ),
        ("platform", "platform", True),
        ("platform", "airflow-platform", False),
        ("a-long-token-without-hex-runs", "Bearer a-long-token-without-hex-runs", True),
        ("a-long-token-without-hex-runs", "a-long-token", False),
    ],
)
def test_the_leak_detector(plaintext: str, text: str, found: bool) -> None:
    assert leaked(plaintext, text) is found


@pytest.mark.parametrize("name", ["integration", "test", "reports", "cluster_e2e", "serve_image"])
def test_no_secret_plaintext_appears_outside_set_secret(replays: Replays, name: str) -> None:
    invocation = replays[name]
    secrets = {
        chain.args["plaintext"]: chain.args["name"]
        for chain in invocation.chains
        if chain.field == "setSecret"
    }
    assert secrets, "the call creates secrets"
    texts = [("the result", text) for text in strings_of(invocation.value)]
    for query in invocation.queries:
        literals = StringLiterals()
        graphql.visit(graphql.parse(query.document), literals)
        texts += [*literals.values, *(("variables", text) for text in strings_of(query.variables))]
    leaks = {
        f"secret {name!r} in {where} = {text[:100]!r}"
        for where, text in texts
        for plaintext, name in secrets.items()
        if leaked(plaintext, text)
    }
    assert not leaks, "secret plaintext outside setSecret(plaintext:):\n" + "\n".join(sorted(leaks))


# --- refused before any container -----------------------------------------------------------------


def refusal(repo: Path, scenario: Scenario) -> str:
    """The message :func:`helm.plan_deploy` refuses the scenario's deploy with."""
    args = scenario.args
    with pytest.raises(helm.DeployRefusedError) as refused:
        helm.plan_deploy(
            env=args["env"], image=args["image"], existing=repo_values_files(repo, scenario.hidden)
        )
    return str(refused.value)


@pytest.mark.parametrize("name", REFUSED)
def test_bad_input_is_refused_before_any_container_runs(replays: Replays, repo: Path, name: str) -> None:
    invocation = replays[name]
    expected = refusal(repo, SCENARIOS[name])
    assert invocation.error is not None and expected in invocation.error.message, invocation.describe()
    assert not invocation.returned
    assert not [chain.describe() for chain in invocation.chains if chain.type_name == "Container"]
    assert not [query.document for query in invocation.queries if "withExec" in query.document]


# --- the stand-in refuses what the engine refuses -------------------------------------------------


@pytest.fixture
def stand_in_session(engine_schema: Path) -> Iterator[tuple[StandInEngine, httpx.Client]]:
    """A stand-in session and an HTTP client holding its token, as the SDK connects."""
    engine = StandInEngine(load_schema(engine_schema))
    with StandInSession(engine) as session, httpx.Client(auth=(session.token, "")) as client:
        client.base_url = f"http://127.0.0.1:{session.port}"
        yield engine, client


def test_the_stand_in_rejects_an_unknown_field_naming_it(
    stand_in_session: tuple[StandInEngine, httpx.Client],
) -> None:
    engine, client = stand_in_session
    answer = client.post("/query", json={"query": '{ container { fromm(address: "x") { id } } }'}).json()
    assert "fromm" in answer["errors"][0]["message"]
    assert "data" not in answer
    assert engine.queries[-1].errors == (answer["errors"][0]["message"],)


def test_the_stand_in_rejects_an_id_of_the_wrong_type_naming_the_argument(
    stand_in_session: tuple[StandInEngine, httpx.Client],
) -> None:
    engine, client = stand_in_session
    made = client.post(
        "/query",
        json={"query": '{ directory { withNewFile(path: "a", contents: "b") { file(path: "a") { id } } } }'},
    ).json()
    file_id = made["data"]["directory"]["withNewFile"]["file"]["id"]
    assert engine.registry.chain(file_id).type_name == "File"
    query = f'{{ container {{ withDirectory(path: "/x", source: {json.dumps(file_id)}) {{ id }} }} }}'
    answer = client.post("/query", json={"query": query}).json()
    message = answer["errors"][0]["message"]
    assert "'source'" in message and "Directory" in message and "File" in message


def test_the_stand_in_refuses_a_client_without_the_session_token(
    stand_in_session: tuple[StandInEngine, httpx.Client],
) -> None:
    engine, client = stand_in_session
    refused = client.post("/query", json={"query": "{ version }"}, auth=("wrong", ""))
    assert refused.status_code == 401
    assert engine.queries == ()
