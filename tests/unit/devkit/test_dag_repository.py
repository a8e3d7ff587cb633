"""The local DAG repository and the bundle list that points a loopback deployment at it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from platform_devkit.helm_values import ENVIRONMENTS, environment_layers, merge_layers
from platform_devkit.loopback.airflow_environment import (
    GIT_BUNDLE,
    LOCAL_BUNDLE,
    PLATFORM_BUNDLE,
    dag_bundles,
)
from platform_devkit.loopback.dag_repository import DagRepository, create_dag_repository
from platform_devkit.repository import REPO_ROOT


@pytest.fixture
def repository(tmp_path: Path) -> DagRepository:
    """A fresh DAG repository in ``tmp_path``."""
    return create_dag_repository(tmp_path / "repo")


def test_the_first_commit_on_main_holds_a_copy_of_dags(repository: DagRepository) -> None:
    tracked = set(repository.git("ls-tree", "-r", "--name-only", "main").splitlines())
    expected = {
        f"dags/{path.relative_to(REPO_ROOT / 'dags')}"
        for path in (REPO_ROOT / "dags").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert tracked == expected
    assert repository.url == f"file://{repository.path}"


def test_a_commit_moves_main_and_changes_only_the_given_files(repository: DagRepository) -> None:
    first = repository.head()
    second = repository.commit("Add a DAG", {"extra/new_dag.py": "x = 1\n"})
    assert second != first
    changed = repository.git("diff", "--name-only", first, second).splitlines()
    assert changed == ["dags/extra/new_dag.py"]


def test_an_existing_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    with pytest.raises(FileExistsError):
        create_dag_repository(tmp_path / "repo")


def test_a_commit_with_nothing_changed_fails_naming_gits_reason(repository: DagRepository) -> None:
    with pytest.raises(subprocess.CalledProcessError) as failed:
        repository.commit("Nothing", {})
    assert "nothing to commit" in failed.value.stdout + failed.value.stderr


def test_the_platform_bundle_tracks_main_of_the_repository_like_the_helm_overlays() -> None:
    platform, extra = dag_bundles([Path("/srv/e2e-dags")], "file:///srv/repo")
    assert platform == {
        "name": PLATFORM_BUNDLE,
        "classpath": GIT_BUNDLE,
        "kwargs": {"repo_url": "file:///srv/repo", "tracking_ref": "main", "subdir": "dags"},
    }
    assert extra == {
        "name": "extra-1-e2e-dags",
        "classpath": LOCAL_BUNDLE,
        "kwargs": {"path": "/srv/e2e-dags"},
    }


def test_without_a_repository_the_platform_bundle_reads_dags_in_place() -> None:
    (platform,) = dag_bundles([])
    assert platform["name"] == PLATFORM_BUNDLE
    assert platform["classpath"] == LOCAL_BUNDLE
    assert platform["kwargs"] == {"path": str(REPO_ROOT / "dags")}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_bundle_has_the_name_and_layout_of_the_helm_overlays(environment: str) -> None:
    (bundle,) = merge_layers(environment_layers(environment))["dagProcessor"]["dagBundleConfigList"]
    assert bundle["name"] == PLATFORM_BUNDLE
    assert bundle["classpath"] == GIT_BUNDLE
    assert bundle["kwargs"]["subdir"] == "dags"
