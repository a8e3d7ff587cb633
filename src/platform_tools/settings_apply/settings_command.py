"""``platform-settings {apply,check}``: exit 0 when applied (or valid), 1 on bad input or a refused write.

``apply`` validates ``config/platform.yaml``, the ``[platform]`` options of Airflow's configuration and
the optional connection details file, then writes the pools, variables and connections to the metadata
database in one transaction. ``check`` validates the same inputs and writes nothing (no database
needed). Both print counts, never a credential. On any error nothing is applied.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from airflow_platform.platform_settings import SETTINGS_SEARCH, PlatformSettingsError, load_platform_settings
from platform_tools.settings_apply.connection_details import SettingsInputError, load_connection_details

PROG = "platform-settings"
EXIT_OK = 0
EXIT_FAILED = 1


def settings_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Apply the pools, variables and connections of config/platform.yaml to Airflow's "
        "metadata database, all or nothing.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("apply", "validate, then write everything in one transaction"),
        ("check", "validate only; write nothing"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument(
            "--settings",
            type=Path,
            help=f"the platform settings file (default: {SETTINGS_SEARCH})",
        )
        command.add_argument(
            "--connections",
            type=Path,
            help="details of declared connections to write, JSON or YAML as `airflow connections import` "
            "reads (local deployments only; in a cluster connections come from AIRFLOW_CONN_* Secrets)",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command and return its exit code."""
    args = settings_parser().parse_args(argv)
    from sqlalchemy.exc import SQLAlchemyError

    from platform_tools.settings_apply.metadata_writer import write_plan
    from platform_tools.settings_apply.platform_section import platform_options
    from platform_tools.settings_apply.settings_plan import build_plan

    try:
        settings = load_platform_settings(args.settings)
        details = load_connection_details(args.connections) if args.connections else {}
        plan = build_plan(settings, platform_options(), details, args.connections)
    except (PlatformSettingsError, SettingsInputError) as error:
        return _failed(str(error))
    if args.command == "check":
        _print(f"{PROG}: {plan.settings_path} is valid; apply would write:", *plan.summary_lines())
        return EXIT_OK
    try:
        write_plan(plan)
    except SQLAlchemyError as error:
        return _failed(f"writing to the metadata database failed: {_first_line(error)}; rolled back")
    _print(f"{PROG}: applied {plan.settings_path} in one transaction:", *plan.summary_lines())
    return EXIT_OK


def _failed(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    print(f"{PROG}: nothing was applied", file=sys.stderr)
    return EXIT_FAILED


def _print(*lines: str) -> None:
    print("\n".join(lines), flush=True)


def _first_line(error: Exception) -> str:
    # The driver's own message, first line only: SQLAlchemy's text would add the statement's parameters
    # (connection fields), and PostgreSQL's DETAIL line quotes the row's values.
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
