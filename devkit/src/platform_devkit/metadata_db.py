"""Migrate an Airflow metadata database from a test, as the Helm migration Job does before anything else."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

MIGRATE_TIMEOUT = 600
"""Seconds ``airflow db migrate`` may take (a fresh database runs every migration)."""


def migrate_metadata_db(env: Mapping[str, str]) -> None:
    """Run ``airflow db migrate`` in a child process with exactly ``env`` (``AIRFLOW_HOME`` and the rest).

    Raises:
        AssertionError: the command failed; the message is the tail of its stdout and stderr.
    """
    migrate = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT,
        check=False,
    )
    if migrate.returncode != 0:
        raise AssertionError(migrate.stdout[-3000:] + migrate.stderr[-3000:])
