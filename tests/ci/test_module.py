"""The Dagger module as the engine would see it, introspected offline with dagger-io 0.21.11's resolver.

No engine here: the SDK's own resolver (the code that registers the module's types with the engine)
reads the functions, checks, cache policies, arguments and their docs; pyright checks every call into
the Dagger API against the SDK's typed bindings.
"""

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

from airflow_platform_ci import AirflowPlatform, main
from airflow_platform_ci.image import BUILD_ARG_NAMES, DOCKERFILE

EXPECTED_FUNCTIONS = {
    "build", "lint", "dag_check", "unit", "integration", "chart", "test", "reports",
    "publish", "deploy", "rollback", "status", "cluster_e2e", "serve_image",
}  # fmt: skip
CHECKS = {"lint", "dag_check", "unit", "integration", "chart"}
NEVER_CACHED = {"publish", "deploy", "rollback", "status", "cluster_e2e"}


@pytest.fixture(scope="module")
def object_type():
    return AirflowPlatform.__dagger_object_type__


def test_dagger_json_points_at_this_module(repo: Path) -> None:
    config = json.loads((repo / "dagger.json").read_text())
    assert config == {
        "name": "airflow-platform",
        "engineVersion": "v0.21.11",
        "sdk": {"source": "python"},
        "source": "ci",
    }
    # The main object is the module name in PascalCase.
    assert AirflowPlatform.__name__ == "".join(part.title() for part in config["name"].split("-"))


def test_pyproject_declares_the_main_object_entry_point(repo: Path) -> None:
    project = tomllib.loads((repo / "ci" / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["dagger.mod"]["main_object"] == "airflow_platform_ci:AirflowPlatform"
    root = tomllib.loads((repo / "pyproject.toml").read_text())
    assert "dagger-io==0.21.11" in root["dependency-groups"]["dev"]


def test_functions_checks_and_cache_policies(object_type) -> None:
    functions = {name: fn for name, fn in object_type.functions.items() if name}
    assert set(functions) == EXPECTED_FUNCTIONS
    assert {name for name, fn in functions.items() if fn.check} == CHECKS
    assert {name for name, fn in functions.items() if fn.meta.cache == "never"} == NEVER_CACHED


def test_every_function_and_argument_is_documented(object_type) -> None:
    for name, fn in object_type.functions.items():
        if not name:
            continue
        assert fn.doc, f"{name} has no docstring"
        for parameter_name, parameter in fn.parameters.items():
            assert parameter.doc, f"{name}({parameter_name}) has no Doc"
    for name in CHECKS:
        assert not object_type.functions[name].parameters, f"check {name} must not take arguments"


def test_credentials_are_secrets(object_type) -> None:
    for function, argument in [("publish", "password"), ("deploy", "kubeconfig"), ("rollback", "kubeconfig")]:
        assert "Secret" in str(object_type.functions[function].parameters[argument].resolved_type)
    assert "Secret" in str(object_type.functions["status"].parameters["kubeconfig"].resolved_type)


def test_source_defaults_to_the_repository_without_local_state(object_type) -> None:
    source = object_type.get_constructor().parameters["source"]
    assert source.default_path == "/"
    # Anchored patterns would let ci/.venv or devkit/.venv through to the engine.
    assert {"**/.venv", ".git", "**/__pycache__", "ci/sdk"} <= set(source.ignore or [])
    assert source.doc


def test_dockerfile_declares_the_build_args(repo: Path) -> None:
    declared = {
        line.split()[1].split("=", 1)[0]
        for line in (repo / DOCKERFILE).read_text().splitlines()
        if line.startswith("ARG ")
    }
    assert set(BUILD_ARG_NAMES) <= declared


def test_the_smoke_dag_ships_in_the_image(repo: Path) -> None:
    assert (repo / "dags" / f"{main.SMOKE_DAG}.py").is_file()


def test_the_e2e_login_is_the_dev_bootstrap_user() -> None:
    from airflow_platform_ci import helm
    from platform_devkit import ephemeral_secrets

    assert helm.DEV_ADMIN_USERNAME == ephemeral_secrets.ADMIN_USERNAME
    listed = ephemeral_secrets.manifests("dev", main.E2E_NAMESPACE, ephemeral_secrets.generate())
    assert main.admin_password(json.dumps(listed))


def test_pyright_strict_finds_no_error_in_the_module(repo: Path) -> None:
    completed = subprocess.run(
        ["uv", "run", "pyright", "-p", "ci", "--outputjson"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    report = json.loads(completed.stdout)
    config = json.loads((repo / "ci" / "pyrightconfig.json").read_text())
    assert config["typeCheckingMode"] == "strict"
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert report["summary"]["filesAnalyzed"] >= len(list((repo / "ci" / "src").rglob("*.py")))
    assert errors == [], json.dumps(errors, indent=2)
    assert completed.returncode == 0
