"""The two-worker run of ``scripts/test`` keeps each xdist group on one worker.

pytest-xdist groups tests silently: when grouping breaks (a pytest release that changes node ids, a
hook that marks too late), the e2e modules spread over both workers, each starting its own Airflow,
and nothing fails but time. This runs a few tests the way ``scripts/test`` does and checks where they
ran.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = "tests/unit/devkit/test_dag_repository.py"


def test_a_group_runs_on_one_worker_and_its_tests_carry_the_group() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider",
         SAMPLE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    ran = re.findall(r"^\[(gw\d)\] .*PASSED (\S+)", completed.stdout, re.MULTILINE)
    assert len(ran) >= 5, completed.stdout[-3000:]
    assert {worker for worker, _ in ran} in ({"gw0"}, {"gw1"}), ran
    assert all(nodeid.endswith("@suite") for _, nodeid in ran), ran
