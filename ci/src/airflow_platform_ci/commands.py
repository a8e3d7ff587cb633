"""THE table: each Dagger function and the project commands it runs inside its container.

A Dagger function never runs a command the native test suite does not run too. ``tests/ci`` reads this
table and checks every entry: the cheap linters run natively there and must pass; the heavy tiers
(unit, integration) are run natively by the suite itself, so the tests check that their programs,
paths and options are the ones the suite uses; the DAG gate runs natively in ``tests/ci`` as it is
written here. ``--serialize`` makes the gate store every DAG as the dag-processor does, which catches
operators the dag-processor would reject. The Helm commands are built per call by
:mod:`airflow_platform_ci.helm` (they depend on the environment and the image) and unit-tested there.

Pure data: no Dagger import.
"""

from dataclasses import dataclass
from typing import Final

REPORTS_DIR: Final = "reports"
"""Where the commands write their reports, relative to the repository root (git-ignored)."""

WORKFLOW_FILES: Final = (".github/workflows/ci.yml", ".github/workflows/deploy.yml")
"""The workflow files, listed because the container runs argv lists, not a shell that expands globs."""

DAG_CHECK_JUNIT: Final = f"{REPORTS_DIR}/dag-check.xml"
DAG_CHECK_JSON: Final = f"{REPORTS_DIR}/dag-check.json"
UNIT_JUNIT: Final = f"{REPORTS_DIR}/unit.xml"
INTEGRATION_JUNIT: Final = f"{REPORTS_DIR}/integration.xml"


@dataclass(frozen=True)
class ProjectCommand:
    """One project command that a Dagger function runs in its container.

    Attributes:
        step: Unique name of the step, shown in the summary table.
        function: The Dagger function that runs it.
        argv: The command line, run without a shell from the repository root.
        reports: Files the command writes (relative to the repository root).
    """

    step: str
    function: str
    argv: tuple[str, ...]
    reports: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        """The executable that ``uv run`` starts from the project environment."""
        return self.argv[2] if self.argv[:2] == ("uv", "run") else self.argv[0]


COMMANDS: Final = (
    ProjectCommand("ruff-check", "lint", ("uv", "run", "ruff", "check", ".")),
    ProjectCommand("ruff-format", "lint", ("uv", "run", "ruff", "format", "--check", ".")),
    ProjectCommand("hadolint", "lint", ("uv", "run", "hadolint", "image/Dockerfile")),
    ProjectCommand(
        "workflow-schema",
        "lint",
        ("uv", "run", "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOW_FILES),
    ),
    ProjectCommand("zizmor", "lint", ("uv", "run", "zizmor", "--offline", ".github/workflows")),
    ProjectCommand("yamllint", "lint", ("uv", "run", "yamllint", "helm/")),
    ProjectCommand(
        "dag-check",
        "dag_check",
        (
            "uv",
            "run",
            "dag-check",
            "dags/",
            "--serialize",
            "--junit-xml",
            DAG_CHECK_JUNIT,
            "--json",
            DAG_CHECK_JSON,
        ),
        reports=(DAG_CHECK_JUNIT, DAG_CHECK_JSON),
    ),
    ProjectCommand(
        "unit",
        "unit",
        ("uv", "run", "pytest", "tests/unit", f"--junit-xml={UNIT_JUNIT}"),
        reports=(UNIT_JUNIT,),
    ),
    ProjectCommand(
        "integration",
        "integration",
        ("uv", "run", "pytest", "tests/integration", f"--junit-xml={INTEGRATION_JUNIT}"),
        reports=(INTEGRATION_JUNIT,),
    ),
)

TEST_FUNCTIONS: Final = ("lint", "dag_check", "unit", "integration")
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
