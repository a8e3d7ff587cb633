"""Record Variable and Connection access while a DAG file is parsed (a parse must not touch them)."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field

from platform_tools.dag_check.source_lines import line_in_stack

# (module, class, method, what to call it in the report)
GUARDED_METHODS = (
    ("airflow.sdk.definitions.variable", "Variable", "get", "Variable.get"),
    ("airflow.sdk.definitions.variable", "Variable", "set", "Variable.set"),
    ("airflow.sdk.definitions.variable", "Variable", "delete", "Variable.delete"),
    ("airflow.sdk.definitions.connection", "Connection", "get", "Connection.get"),
    ("airflow.sdk.bases.hook", "BaseHook", "get_connection", "BaseHook.get_connection"),
    ("airflow.models.variable", "Variable", "get", "Variable.get"),
    ("airflow.models.variable", "Variable", "set", "Variable.set"),
    ("airflow.models.connection", "Connection", "get_connection_from_secrets", "Connection.get_connection"),
)


class ParseTimeAccessError(RuntimeError):
    """Raised instead of reading a Variable or Connection while a DAG file is parsed."""


@dataclass(frozen=True)
class Access:
    """One recorded call."""

    call: str
    key: str
    line: int | None


@dataclass
class AccessLog:
    """Calls recorded while parsing the file at ``path``."""

    path: str
    accesses: list[Access] = field(default_factory=list)


_current: AccessLog | None = None


def start_recording(path: str) -> AccessLog:
    """Record accesses made while parsing ``path`` (one file per process)."""
    global _current
    _current = AccessLog(path)
    return _current


def install_guards() -> None:
    """Replace the guarded class methods with recorders; call once, before forking."""
    for module_name, class_name, method_name, label in GUARDED_METHODS:
        module = importlib.import_module(module_name)
        owner = getattr(module, class_name)
        original = owner.__dict__.get(method_name)
        if original is None:
            continue
        guard = _make_guard(label)
        if isinstance(original, classmethod):
            replacement = classmethod(_drop_first(guard))
        elif isinstance(original, staticmethod):
            replacement = staticmethod(guard)
        else:
            replacement = _drop_first(guard)
        setattr(owner, method_name, replacement)


def _make_guard(label: str):
    def guard(*args, **kwargs):
        key = str(args[0]) if args else str(next(iter(kwargs.values()), ""))
        if _current is not None:
            line = line_in_stack(_current.path, sys._getframe(1))
            _current.accesses.append(Access(label, key, line))
        raise ParseTimeAccessError(f"{label}({key!r}) called while parsing a DAG file")

    return guard


def _drop_first(function):
    def without_receiver(_receiver, *args, **kwargs):
        return function(*args, **kwargs)

    return without_receiver
