"""The function -> command table: every command a container runs is one the native suite runs too.

The cheap linters run here, natively, and must pass. The heavy tiers (unit, integration) are run
natively by the suite itself; here their programs, paths and options are checked against it. The DAG
gate runs here as the image runs it (its program on ``PATH``) and in the image rehearsal; the chart
check's validator runs in the chart tier.
"""

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from airflow_platform_ci.commands import (
    COMMANDS,
    REPORTS_DIR,
    TEST_FUNCTIONS,
    WORKFLOW_FILES,
    Runtime,
    commands_for,
)


def run(
    argv: tuple[str, ...], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def image_path(repo: Path) -> dict[str, str]:
    """The environment of an image command run natively: the project environment's programs first."""
    return {**os.environ, "PATH": f"{repo / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}


CHEAP = [command for command in COMMANDS if command.function == "lint"]
HEAVY = [command for command in COMMANDS if command.function in {"dag_check", "unit", "integration"}]


def test_every_test_function_has_commands_and_steps_are_unique() -> None:
    assert {command.function for command in COMMANDS} == set(TEST_FUNCTIONS)
    assert all(commands_for(function) for function in TEST_FUNCTIONS)
    assert len({command.step for command in COMMANDS}) == len(COMMANDS)
    with pytest.raises(KeyError):
        commands_for("deploy")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.step)
def test_every_program_exists_in_the_project_environment(command, repo: Path) -> None:
    if command.runtime is Runtime.IMAGE:
        assert command.argv[0] != "uv", "the image has no project to run: its programs are on PATH"
        pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
        assert command.program in pyproject["project"]["scripts"], "the image runs what the wheel ships"
    else:
        assert command.argv[:2] == ("uv", "run"), "project commands run through uv, like the suite"
    program = repo / ".venv" / "bin" / command.program
    assert program.is_file(), f"{command.program} is not in the project env"


def test_workflow_list_matches_the_files(repo: Path) -> None:
    on_disk = {str(path.relative_to(repo)) for path in (repo / ".github" / "workflows").glob("*.y*ml")}
    assert set(WORKFLOW_FILES) == on_disk


@pytest.mark.parametrize("command", CHEAP, ids=lambda command: command.step)
def test_cheap_commands_run_natively_and_pass(command, repo: Path) -> None:
    completed = run(command.argv, repo)
    assert completed.returncode == 0, f"{' '.join(command.argv)}\n{completed.stdout}\n{completed.stderr}"


def test_the_chart_check_validates_one_rendering_per_environment(repo: Path) -> None:
    from airflow_platform_ci.helm import ENVIRONMENTS

    chart = commands_for("chart")
    assert [command.argv[-1] for command in chart] == [f"rendered/{env}.yaml" for env in ENVIRONMENTS]
    devkit = tomllib.loads((repo / "devkit" / "pyproject.toml").read_text())
    assert all(command.program in devkit["project"]["scripts"] for command in chart)
    assert "/rendered/" in (repo / ".gitignore").read_text().splitlines()


def test_the_git_hooks_run_the_lint_commands(repo: Path) -> None:
    import shlex

    import yaml

    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    (local,) = config["repos"]
    assert local["repo"] == "local", "hooks run the tools uv.lock pins, not separately pinned copies"
    hooks = {hook["id"]: hook for hook in local["hooks"]}
    assert {command.step: shlex.join(command.argv) for command in CHEAP} == {
        hook_id: hook["entry"] for hook_id, hook in hooks.items()
    }
    assert all(hook["pass_filenames"] is False and hook["always_run"] for hook in hooks.values())
    completed = run(("uv", "run", "pre-commit", "validate-config", ".pre-commit-config.yaml"), repo)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_reports_are_written_under_the_ignored_reports_dir(repo: Path) -> None:
    assert "/reports/" in (repo / ".gitignore").read_text().splitlines()
    for command in HEAVY:
        assert command.reports
        assert all(report.startswith(f"{REPORTS_DIR}/") for report in command.reports)
        assert all(any(report in arg for arg in command.argv) for report in command.reports)


@pytest.mark.parametrize("command", [c for c in HEAVY if c.program == "pytest"], ids=lambda c: c.step)
def test_pytest_tiers_are_the_suites_tier_folders(command, repo: Path) -> None:
    tier = command.argv[3]
    assert (repo / tier).is_dir()
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    assert "tests" in pyproject["tool"]["pytest"]["ini_options"]["testpaths"]
    assert tier.removeprefix("tests/") in " ".join(pyproject["tool"]["pytest"]["ini_options"]["markers"])


def test_dag_check_is_a_declared_console_script_with_the_report_options(repo: Path) -> None:
    (command,) = commands_for("dag_check")
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    assert command.program in pyproject["project"]["scripts"]
    assert (repo / command.argv[1]).is_dir()
    completed = run((command.program, "--help"), repo, image_path(repo))
    assert completed.returncode == 0, completed.stderr
    for option in ("--junit-xml", "--json"):
        assert option in command.argv
        assert option in completed.stdout, f"dag-check --help does not offer {option}"


def test_dag_check_command_runs_natively_and_passes(repo: Path) -> None:
    (command,) = commands_for("dag_check")
    completed = run(command.argv, repo, image_path(repo))
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    for report in command.reports:
        assert (repo / report).stat().st_size > 0, f"{report} was not written"
