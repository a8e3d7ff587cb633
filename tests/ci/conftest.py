"""Tests of the Dagger module in ci/: puts ``ci/src`` on ``sys.path`` (tests/conftest.py marks the tier).

dagger-io==0.21.11 is in the root project's dev group, so the module imports here without an engine.
"""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CI_SRC = REPO / "ci" / "src"
if str(CI_SRC) not in sys.path:
    sys.path.insert(0, str(CI_SRC))


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO
