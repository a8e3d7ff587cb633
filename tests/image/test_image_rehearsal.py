"""The image's Python layer, rehearsed natively on CPython 3.12 (see platform_devkit.image_rehearsal).

The rehearsal runs image/Dockerfile's own Python-layer steps (parsed from the Dockerfile, run by the
same script), then proves inside that environment what the image must ship: the dependency check, the
platform as a provider with its connection types, its plugin, and the DAG gate on the image's layout.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from airflow_platform_ci.commands import commands_for
from platform_devkit import image_rehearsal
from platform_devkit.repository import REPO_ROOT

MISSING_PYTHON = (
    "the image rehearsal needs CPython 3.12, the image's Python: install it (pyenv install 3.12, "
    "'uv python install 3.12', or apt's python3.12) or point PLATFORM_PYTHON at one"
)


@pytest.fixture(scope="session")
def rehearsal(
    tmp_path_factory: pytest.TempPathFactory, missing_prerequisite: Callable[[str], NoReturn]
) -> Iterator[image_rehearsal.Rehearsal]:
    python = image_rehearsal.find_python312()
    if python is None:
        missing_prerequisite(MISSING_PYTHON)
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is needed for the image's 'uv pip' steps (run the tests through scripts/test)"
    result = image_rehearsal.rehearse(tmp_path_factory.mktemp("image-rehearsal"), python, Path(uv))
    yield result
    image_rehearsal.write_report(result, REPO_ROOT / "reports" / "image-rehearsal.json")


def test_the_rehearsal_runs_every_python_step_of_the_dockerfile_in_order() -> None:
    plan = image_rehearsal.parse_dockerfile((REPO_ROOT / image_rehearsal.DOCKERFILE).read_text())
    assert [(step.stage, step.name) for step in plan.steps] == [
        ("source-wheels", "source-wheels"),
        ("platform-wheel", "platform-wheel"),
        ("", "install-requirements"),
        ("", "install-platform"),
    ]
    assert plan.copies == (("config/", "/opt/airflow/config/"), ("dags/", "/opt/airflow/dags/"))


def test_the_runtime_install_compiles_nothing_and_checks_dependencies(rehearsal) -> None:
    steps = rehearsal.report()
    assert {"source-wheels", "platform-wheel", "install-requirements", "install-platform"} <= set(steps)
    # install-platform ends with `uv pip check`; rerun it to show its verdict on its own.
    out = rehearsal.run("uv pip check", ["sh", "-c", "uv pip check 2>&1"])
    assert "All installed packages are compatible" in out


def test_the_platform_wheel_holds_the_product_and_no_test_tooling(rehearsal) -> None:
    (wheel,) = (rehearsal.root / "stages" / "platform-wheel" / "tmp" / "platform-wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/", 1)[0] for name in names if not name.startswith("airflow_platform-0")}
    assert top_level == {"airflow_platform", "airflow_local_settings.py", "platform_tools"}
    assert "platform_tools/dag_check/cli.py" in names
    assert "platform_tools/settings_apply/settings_command.py" in names
    assert not [name for name in names if "devkit" in name or "stub" in name or "loopback" in name]


def test_the_platform_wheel_declares_the_shipped_commands(rehearsal) -> None:
    (wheel,) = (rehearsal.root / "stages" / "platform-wheel" / "tmp" / "platform-wheel").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = [
            name for name in archive.namelist() if name.endswith(".dist-info/entry_points.txt")
        ]
        text = archive.read(entry_points).decode()
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    assert dict(parser["console_scripts"]) == {
        "dag-check": "platform_tools.dag_check.cli:main",
        "platform-settings": "platform_tools.settings_apply.settings_command:main",
    }


def test_the_settings_job_command_validates_the_image_settings(rehearsal) -> None:
    # The migration Job's `platform-settings apply` without its database: the same inputs, validated.
    out = rehearsal.run("platform-settings check", ["platform-settings", "check"])
    assert f"{rehearsal.airflow_home / 'config' / 'platform.yaml'} is valid" in out


def test_airflow_lists_the_platform_provider(rehearsal) -> None:
    listed = rehearsal.run("airflow providers list", ["airflow", "providers", "list", "-o", "json"])
    providers = json.loads(listed)
    assert "airflow-platform" in {provider["package_name"] for provider in providers}


def test_the_connection_types_are_registered_with_their_hooks(rehearsal) -> None:
    listed = rehearsal.run("airflow providers hooks", ["airflow", "providers", "hooks", "-o", "json"])
    hooks = json.loads(listed)
    by_type = {hook["connection_type"]: hook for hook in hooks}
    assert by_type["mlflow"]["class"] == "airflow_platform.hooks.mlflow.MLflowHook"
    assert by_type["kubeflow_pipelines"]["class"] == "airflow_platform.hooks.kubeflow.KubeflowPipelinesHook"


def test_airflow_lists_the_platform_plugin(rehearsal) -> None:
    plugins = json.loads(rehearsal.run("airflow plugins", ["airflow", "plugins", "-o", "json"]))
    assert "airflow_platform" in {plugin["name"] for plugin in plugins}


def test_the_dag_gate_passes_inside_the_image_layout(rehearsal) -> None:
    (command,) = commands_for("dag_check")
    (rehearsal.airflow_home / "reports").mkdir(exist_ok=True)
    rehearsal.run("dag-check", command.argv)
    report = json.loads((rehearsal.airflow_home / command.reports[1]).read_text())
    assert report["summary"]["problems"] == 0
    assert report["summary"]["files"] >= len(list((REPO_ROOT / "dags").glob("*.py")))
