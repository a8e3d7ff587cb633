"""A local git repository of DAGs, for a loopback deployment's ``GitDagBundle``.

Production reads ``dags/`` from the platform's git repository through ``GitDagBundle`` (the Helm
overlays' ``dagProcessor.dagBundleConfigList``). :func:`create_dag_repository` makes the same shape on
this machine: a new repository with one branch, ``main``, whose ``dags/`` is a copy of the project's,
reachable as a ``file://`` URL without credentials. :meth:`DagRepository.commit` adds commits (a DAG
change becomes a new bundle version, hence a new DAG version).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from platform_devkit.repository import REPO_ROOT

BRANCH = "main"
SUBDIR = "dags"
# The commits' author, so that no git identity needs to be configured on the machine.
IDENTITY = ("-c", "user.name=Platform Loopback", "-c", "user.email=loopback@platform.test")


@dataclass(frozen=True)
class DagRepository:
    """A git repository on disk whose ``dags/`` holds the DAG files.

    Attributes:
        path: Its working tree.
    """

    path: Path

    @property
    def url(self) -> str:
        """The ``repo_url`` a ``GitDagBundle`` clones it from."""
        return self.path.as_uri()

    def git(self, *args: str) -> str:
        """Run ``git ARGS`` in the repository and return its output.

        Raises:
            subprocess.CalledProcessError: git failed (its stderr is on the error).
        """
        completed = subprocess.run(
            ["git", *IDENTITY, *args], cwd=self.path, capture_output=True, text=True, check=True
        )
        return completed.stdout.strip()

    def head(self) -> str:
        """Return the commit ``main`` points at."""
        return self.git("rev-parse", BRANCH)

    def commit(self, message: str, files: Mapping[str, str]) -> str:
        """Write ``files`` (paths relative to ``dags/``, to their text), commit them, return the commit."""
        for relative, text in files.items():
            target = self.path / SUBDIR / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("add", "--all")
        self.git("commit", "--quiet", "--message", message)
        return self.head()


def create_dag_repository(directory: Path, source: Path = REPO_ROOT / SUBDIR) -> DagRepository:
    """Create a git repository at ``directory`` whose first commit on ``main`` holds a copy of ``source``.

    Raises:
        FileExistsError: ``directory`` exists already.
        subprocess.CalledProcessError: git failed.
    """
    directory.mkdir(parents=True)
    shutil.copytree(source, directory / SUBDIR, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    repository = DagRepository(directory)
    repository.git("init", "--quiet", "--initial-branch", BRANCH)
    repository.git("add", "--all")
    repository.git("commit", "--quiet", "--message", f"DAGs of {source}")
    return repository
