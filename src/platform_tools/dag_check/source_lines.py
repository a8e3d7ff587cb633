"""Find the source line a DAG, a task or an exception belongs to, for ``path:line`` output."""

from __future__ import annotations

import ast
import traceback
from types import FrameType, TracebackType


class SourceIndex:
    """Where dag ids and task ids are written in one DAG file (best effort, by literal or name)."""

    def __init__(self, path: str, tree: ast.AST | None):
        self.path = path
        self._literal_lines: dict[str, int] = {}
        self._function_lines: dict[str, int] = {}
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.keyword) and node.arg in {"task_id", "dag_id", "group_id"}:
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    self._literal_lines.setdefault(node.value.value, node.value.lineno)
            elif isinstance(node, ast.Call) and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    self._literal_lines.setdefault(first.value, first.lineno)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self._function_lines.setdefault(node.name, node.lineno)

    @classmethod
    def from_file(cls, path: str) -> SourceIndex:
        """Index ``path``; a file that does not parse gives an empty index."""
        try:
            with open(path, "rb") as source:
                tree = ast.parse(source.read(), filename=path)
        except (OSError, SyntaxError, ValueError):
            tree = None
        return cls(path, tree)

    def line_of(self, name: str | None, default: int = 1) -> int:
        """Return the line defining dag or task ``name`` (its last dotted part), else ``default``."""
        if not name:
            return default
        short = name.rsplit(".", 1)[-1]
        for candidate in (name, short):
            if candidate in self._literal_lines:
                return self._literal_lines[candidate]
            if candidate in self._function_lines:
                return self._function_lines[candidate]
        return default


def line_in_traceback(path: str, tb: TracebackType | None) -> int | None:
    """Return the innermost line of ``path`` in a traceback."""
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == path:
            line = lineno
    return line


def line_in_stack(path: str, frame: FrameType | None) -> int | None:
    """Return the innermost line of ``path`` on the current call stack, starting at ``frame``."""
    while frame is not None:
        if frame.f_code.co_filename == path:
            return frame.f_lineno
        frame = frame.f_back
    return None
