"""``dag-check [PATH ...]``: exit 0 when every DAG file passes, 1 on problems, 2 on bad usage."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from platform_tools.dag_check.environment import GateSetupError, prepare_environment, verify_policies_loaded
from platform_tools.dag_check.problems import FileResult
from platform_tools.dag_check.report import (
    problem_lines,
    summarize_gate_results,
    summary_table,
    write_json,
    write_junit,
)

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
NO_DAG_FILES = "no DAG files"


def dag_check_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="dag-check",
        description="Parse each DAG file in isolation under the production settings; enforce the DAG rules.",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="DAG files or folders (default: dags/)")
    parser.add_argument(
        "--budget",
        type=_positive_float,
        help="per-file parse-time budget in seconds (default: dag_rules.parse_time_budget_seconds)",
    )
    parser.add_argument("--jobs", type=int, default=0, help="parallel parses (default: available cores)")
    parser.add_argument(
        "--fork-per-file",
        action="store_true",
        help="a new process per file (default: a worker per core, module state reset after every file)",
    )
    parser.add_argument(
        "--serialize",
        action="store_true",
        help="also serialize every DAG, as the dag-processor stores it (slower)",
    )
    parser.add_argument("--junit-xml", type=Path, help="write a JUnit XML report to this file")
    parser.add_argument("--json", type=Path, help="write a JSON report to this file")
    parser.add_argument("--plugins-folder", type=Path, help="folder holding airflow_local_settings.py")
    # Nothing of airflow_platform is imported before prepare_environment (--plugins-folder goes first).
    parser.add_argument(
        "--settings",
        type=Path,
        help="platform settings (default: the file platform-settings finds, see its --help)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the gate and return the exit code."""
    parser = dag_check_parser()
    args = parser.parse_args(argv)
    paths = args.paths or [Path("dags")]
    missing = [path for path in paths if not path.exists()]
    if missing:
        parser.print_usage(sys.stderr)
        print(f"dag-check: error: path does not exist: {', '.join(map(str, missing))}", file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    if not _python_files(paths):
        return _no_dag_files(args, paths, started)
    try:
        environment = prepare_environment(args.plugins_folder, args.settings)
        import airflow  # noqa: F401 - imported here, after the production settings are in place

        verify_policies_loaded(environment)
    except GateSetupError as error:
        print(f"dag-check: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    from airflow_platform.platform_settings import load_platform_settings
    from platform_tools.dag_check.runner import add_duplicate_dag_ids, run_checks, warm_up

    files = discover(paths)
    if not files:
        return _no_dag_files(args, paths, started)
    budget = (
        args.budget or load_platform_settings(environment.settings_file).dag_rules.parse_time_budget_seconds
    )
    jobs = args.jobs if args.jobs > 0 else len(os.sched_getaffinity(0))
    warm_up(files)
    results = run_checks(files, budget, jobs, fork_per_file=args.fork_per_file, serialize=args.serialize)
    add_duplicate_dag_ids(results, files)
    return _report(args, results, time.monotonic() - started, budget)


def discover(paths: list[Path]) -> list:
    """Return the DAG files under ``paths`` as the dag-processor lists them; named files always count.

    Folders are listed by Airflow's importer registry (``.airflowignore``, the safe-mode heuristic).
    """
    from airflow.configuration import conf
    from airflow.dag_processing.importers import get_importer_registry

    from platform_tools.dag_check.runner import DagFile

    safe_mode = conf.getboolean("core", "DAG_DISCOVERY_SAFE_MODE")
    registry = get_importer_registry()
    found: dict[str, DagFile] = {}
    for path in paths:
        if path.is_file():
            candidates = [str(path)]
        else:
            candidates = [str(file) for file in registry.list_dag_files(str(path), safe_mode=safe_mode)]
        for candidate in candidates:
            if candidate.endswith(".py"):
                real = str(Path(candidate).resolve())
                found.setdefault(real, DagFile(real, _display(Path(candidate))))
    return sorted(found.values(), key=lambda file: file.display_path)


def _report(args: argparse.Namespace, results: list[FileResult], wall: float, budget: float) -> int:
    summary = summarize_gate_results(results, wall, budget)
    for line in problem_lines(results):
        print(line)
    if summary.problems:
        print()
    print(summary_table(results, summary))
    if args.json:
        write_json(args.json, results, summary)
    if args.junit_xml:
        write_junit(args.junit_xml, results, summary)
    return EXIT_PROBLEMS if summary.failed else EXIT_OK


def _no_dag_files(args: argparse.Namespace, paths: list[Path], started: float) -> int:
    print(f"{NO_DAG_FILES} in {', '.join(map(str, paths))}")
    summary = summarize_gate_results([], time.monotonic() - started, args.budget or 0.0)
    if args.json:
        write_json(args.json, [], summary)
    if args.junit_xml:
        write_junit(args.junit_xml, [], summary)
    return EXIT_OK


def _python_files(paths: list[Path]) -> bool:
    return any(
        (path.is_file() and path.suffix == ".py") or (path.is_dir() and next(path.rglob("*.py"), None))
        for path in paths
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return number
