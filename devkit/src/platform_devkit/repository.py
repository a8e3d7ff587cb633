"""Where the repository is: the devkit is installed editable from ``devkit/`` in the repository."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
"""The repository root (``devkit/src/platform_devkit/`` is three levels below it)."""
