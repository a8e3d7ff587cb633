"""THE table: each Dagger function and the project commands it runs inside its container.

A Dagger function never runs a command the native test suite does not run too. ``tests/ci`` reads this
table and checks every entry: the cheap linters run natively there and must pass; the heavy tiers
(unit, integration) are run natively by the suite itself, so the tests check that their programs,
paths and options are the ones the suite uses; the DAG gate runs as written here both natively and in
the image rehearsal (``tests/image``), the image's own environment. ``--serialize`` makes the gate store
every DAG as the dag-processor does, which catches operators the dag-processor would reject. The chart
check validates what ``helm template`` renders, which the chart tier (``tests/chart``) does natively
with the same validator. The Helm command lines are built per call by :mod:`airflow_platform_ci.helm`
(they depend on the environment and the image) and unit-tested there.

Pure data: no Dagger import.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from airflow_platform_ci.helm import ENVIRONMENTS

REPORTS_DIR: Final = "reports"
"""Where the commands write their reports, relative to the working directory (git-ignored)."""
RENDERED_DIR: Final = "rendered"
"""Where the chart check finds the manifests ``helm template`` rendered, one file per environment."""

WORKFLOW_FILES: Final = (".github/workflows/ci.yml", ".github/workflows/deploy.yml")
"""The workflow files, listed because the container runs argv lists, not a shell that expands globs."""

DAG_CHECK_JUNIT: Final = f"{REPORTS_DIR}/dag-check.xml"
DAG_CHECK_JSON: Final = f"{REPORTS_DIR}/dag-check.json"
UNIT_JUNIT: Final = f"{REPORTS_DIR}/unit.xml"
INTEGRATION_JUNIT: Final = f"{REPORTS_DIR}/integration.xml"


class Runtime(StrEnum):
    """Where a command runs, natively and in its container."""

    LINTERS = "linters"
    """The dev group's tools (``uv run``): natively the project environment, in Dagger a Python
    container with the locked dev group."""
    IMAGE = "image"
    """The built image's own environment (its programs on ``PATH``): natively the image rehearsal."""
    TESTS = "tests"
    """The test environment (``uv run``): natively the machine ``scripts/setup`` prepared, in Dagger a
    container prepared by the same script."""


@dataclass(frozen=True)
class ProjectCommand:
    """One project command that a Dagger function runs in its container.

    Attributes:
        step: Unique name of the step, shown in the summary table.
        function: The Dagger function that runs it.
        argv: The command line, run without a shell from the working directory (the repository root,
            or ``/opt/airflow`` in the image).
        runtime: The environment the command runs in.
        reports: Files the command writes (relative to the working directory).
    """

    step: str
    function: str
    argv: tuple[str, ...]
    runtime: Runtime
    reports: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        """The executable: the one ``uv run`` starts from the project environment, or ``argv[0]``."""
        return self.argv[2] if self.argv[:2] == ("uv", "run") else self.argv[0]


def rendered_manifest(env: str) -> str:
    """Return where the chart check reads ``env``'s rendered release, relative to the working directory."""
    return f"{RENDERED_DIR}/{env}.yaml"


def chart_check(env: str) -> ProjectCommand:
    """Return the table's chart check of ``env``: strict schemas and network paths of its rendered release."""
    return ProjectCommand(
        f"chart-{env}",
        "chart",
        ("uv", "run", "chart-check", "--env", env, "--require-network-paths", rendered_manifest(env)),
        Runtime.LINTERS,
    )


COMMANDS: Final = (
    ProjectCommand("ruff-check", "lint", ("uv", "run", "ruff", "check", "."), Runtime.LINTERS),
    ProjectCommand("ruff-format", "lint", ("uv", "run", "ruff", "format", "--check", "."), Runtime.LINTERS),
    ProjectCommand("hadolint", "lint", ("uv", "run", "hadolint", "image/Dockerfile"), Runtime.LINTERS),
    ProjectCommand(
        "workflow-schema",
        "lint",
        ("uv", "run", "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOW_FILES),
        Runtime.LINTERS,
    ),
    ProjectCommand(
        "zizmor", "lint", ("uv", "run", "zizmor", "--offline", ".github/workflows"), Runtime.LINTERS
    ),
    ProjectCommand("yamllint", "lint", ("uv", "run", "yamllint", "helm/"), Runtime.LINTERS),
    ProjectCommand("secret-scan", "lint", ("uv", "run", "secret-scan"), Runtime.LINTERS),
    ProjectCommand(
        "dag-check",
        "dag_check",
        ("dag-check", "dags/", "--serialize", "--junit-xml", DAG_CHECK_JUNIT, "--json", DAG_CHECK_JSON),
        Runtime.IMAGE,
        reports=(DAG_CHECK_JUNIT, DAG_CHECK_JSON),
    ),
    ProjectCommand(
        "unit",
        "unit",
        ("uv", "run", "pytest", "tests/unit", f"--junit-xml={UNIT_JUNIT}"),
        Runtime.TESTS,
        reports=(UNIT_JUNIT,),
    ),
    ProjectCommand(
        "integration",
        "integration",
        ("uv", "run", "pytest", "tests/integration", f"--junit-xml={INTEGRATION_JUNIT}"),
        Runtime.TESTS,
        reports=(INTEGRATION_JUNIT,),
    ),
    *(chart_check(env) for env in ENVIRONMENTS),
)

REPORTING_FUNCTIONS: Final = frozenset(command.function for command in COMMANDS if command.reports)
"""The functions whose commands write reports (what ``reports`` collects)."""

TEST_FUNCTIONS: Final = ("lint", "dag_check", "unit", "integration", "chart")
"""The functions ``test`` runs concurrently, in the order its summary lists them."""


def commands_for(function: str) -> tuple[ProjectCommand, ...]:
    """Return the commands ``function`` runs, in table order.

    Raises:
        KeyError: the table has no command for ``function``.
    """
    selected = tuple(command for command in COMMANDS if command.function == function)
    if not selected:
        raise KeyError(f"no project command for Dagger function {function!r}")
    return selected
