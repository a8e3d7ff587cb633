"""The release values, merged from a Helm command line exactly as Helm merges them.

Helm's ``values.Options.MergeValues`` (``pkg/cli/values/options.go``) builds the user values in this
order: every ``--values`` file deep-merged over the previous ones, then ``--set-json``, ``--set``,
``--set-string``, ``--set-file`` and ``--set-literal``, each kind in command-line order. The parsers
are Helm's own (``strvals`` and the values reader, through ``helm_python``); only the merge of
values files is ours (:func:`platform_devkit.helm_values.merge_values`), because ``helm_python``
does not expose it.

``helm_python`` (CPython >= 3.12) is imported inside the functions that call Helm, so that the rest
of the package (``chart-check``) also runs on Python 3.11.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from platform_devkit.chart.errors import ChartUsageError, ValuesSchemaError
from platform_devkit.chart.invocation import VALUE_FLAGS, HelmInvocation
from platform_devkit.helm_values import dotted, merge_values

if TYPE_CHECKING:
    import helm_python

_SCHEMA_LINE: Final = re.compile(r"^- at '(?P<pointer>[^']*)': (?P<message>.*)$")
_ADDITIONAL: Final = re.compile(r"additional propert(?:y|ies) '(?P<key>[^']+)'")


def _refuse_list_indices(flag: str, expression: str) -> None:
    if "[" in expression.split("=", 1)[0]:
        # strvals.ParseInto updates one element of an existing list in place; parsing the expression
        # alone and merging would replace the whole list instead.
        raise ChartUsageError(f"{flag} {expression!r}: list indices are not interpreted by the renderer")


def _parse(flag: str, expression: str, root: Path) -> dict[str, Any]:
    import helm_python

    _refuse_list_indices(flag, expression)
    if flag == "--set-file":
        if "," in expression:
            raise ChartUsageError(f"--set-file {expression!r}: give one file per --set-file")
        key, _, path = expression.partition("=")
        expression = f"{key}={root / path}"
        return helm_python.parse_set_file(expression)
    parsers = {
        "--set-json": helm_python.parse_set_json,
        "--set": helm_python.parse_set_string,
        "--set-string": helm_python.parse_set_string_values,
        "--set-literal": helm_python.parse_set_literal,
    }
    return parsers[flag](expression)


def merge_release_values(invocation: HelmInvocation, root: Path) -> dict[str, Any]:
    """Return the user values the command line gives Helm, merged the way ``MergeValues`` merges them.

    Args:
        invocation: The parsed command line.
        root: The directory relative paths on the command line are relative to (the repository).

    Returns:
        The user values (before the chart's defaults are coalesced in).

    Raises:
        ChartUsageError: a values file is missing, or a ``--set*`` expression uses list indices.
        helm_python.HelmValuesError: a values file or expression Helm cannot parse.
    """
    import helm_python

    values: dict[str, Any] = {}
    for name in invocation.values_files:
        path = root / name
        if not path.is_file():
            raise ChartUsageError(f"--values {name}: no such file under {root}")
        values = merge_values(values, helm_python.values_from_yaml(path.read_text()))
    for flag in VALUE_FLAGS:
        for expression in invocation.flags_of(flag):
            # ParseInto sets each assigned leaf inside the existing map: for keys without list
            # indices (refused above) that is exactly a merge of the parsed expression.
            values = merge_values(values, _parse(flag, expression, root))
    return values


def _key_path(pointer: str) -> str:
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.strip("/").split("/") if part]
    return dotted(parts, is_index=str.isdigit)


def schema_problems(message: str) -> list[str]:
    """Turn Helm's schema error text into ``"<key.path>: <message>"`` lines.

    Helm reports ``- at '/apiServer': additional properties 'replcas' not allowed``; the key path
    then names the unknown key itself (``apiServer.replcas``).

    Args:
        message: The text of the ``HelmValuesError`` raised by ``Chart.validate_schema``.

    Returns:
        One line per violation (the raw text when it has no recognisable line).
    """
    problems = []
    for line in message.splitlines():
        match = _SCHEMA_LINE.match(line.strip())
        if not match:
            continue
        path = _key_path(match["pointer"])
        for extra in _ADDITIONAL.finditer(match["message"]):
            keys = [key.strip() for key in extra["key"].split(",")]
            path = ", ".join(f"{path}.{key}" if path else key for key in keys)
        problems.append(f"{path or '(top level)'}: {match['message']}")
    return problems or [message.strip()]


def validate_release_values(chart: helm_python.Chart, values: dict[str, Any]) -> None:
    """Validate user values against the chart's ``values.schema.json`` through Helm itself.

    Args:
        chart: The loaded chart.
        values: The user values (:func:`merge_release_values`).

    Raises:
        ValuesSchemaError: the schema rejects the values; ``problems`` name each key path.
    """
    import helm_python

    try:
        # Helm validates the coalesced values (the chart's defaults with the user values over them).
        chart.validate_schema(chart.merge_values(values))
    except helm_python.HelmValuesError as error:
        raise ValuesSchemaError(f"{chart.name} {chart.version}", schema_problems(str(error))) from error
