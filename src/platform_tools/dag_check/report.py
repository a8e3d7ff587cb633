"""Render the gate's results: problem lines, a summary table, JSON and JUnit XML reports."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from platform_tools.dag_check.problems import RULES, FileResult


@dataclass(frozen=True)
class Summary:
    """Totals of one gate run."""

    files: int
    passed: int
    failed: int
    dags: int
    tasks: int
    problems: int
    by_rule: dict[str, int]
    wall_seconds: float
    budget_seconds: float


def summarize_gate_results(results: list[FileResult], wall_seconds: float, budget_seconds: float) -> Summary:
    """Count files, DAGs and problems."""
    by_rule = Counter(problem.rule_id for result in results for problem in result.problems)
    failed = sum(1 for result in results if not result.passed)
    return Summary(
        files=len(results),
        passed=len(results) - failed,
        failed=failed,
        dags=sum(len(result.dag_ids) for result in results),
        tasks=sum(result.task_count for result in results),
        problems=sum(by_rule.values()),
        by_rule=dict(sorted(by_rule.items())),
        wall_seconds=round(wall_seconds, 3),
        budget_seconds=budget_seconds,
    )


def problem_lines(results: list[FileResult]) -> list[str]:
    """Return one ``path:line: RULE-ID message (fix)`` line per problem, by path and line."""
    problems = sorted(
        (problem for result in results for problem in result.problems),
        key=lambda problem: (problem.path, problem.line, problem.rule_id),
    )
    return [problem.render() for problem in problems]


def summary_table(results: list[FileResult], summary: Summary) -> str:
    """Return the table printed after the problem lines: failing files, problems per rule, totals."""
    rows = [
        (result.path, str(len(result.dag_ids)), f"{result.parse_seconds:.3f}", str(len(result.problems)))
        for result in results
        if not result.passed
    ]
    sections = []
    if rows:
        sections.append(_table(("failing file", "DAGs", "parse s", "problems"), rows))
    if summary.by_rule:
        sections.append(
            _table(
                ("rule", "count", "checks that"),
                [(rule, str(n), RULES.get(rule, "")) for rule, n in summary.by_rule.items()],
            )
        )
    totals = [
        ("files", str(summary.files)),
        ("passed", str(summary.passed)),
        ("failed", str(summary.failed)),
        ("DAGs", str(summary.dags)),
        ("tasks", str(summary.tasks)),
        ("problems", str(summary.problems)),
        ("budget per file", f"{summary.budget_seconds:g} s"),
        ("wall time", f"{summary.wall_seconds:.2f} s"),
    ]
    sections.append(_table(("summary", ""), totals))
    return "\n\n".join(sections)


def write_json(path: Path, results: list[FileResult], summary: Summary) -> None:
    """Write the machine-readable report."""
    document = {
        "summary": summary.__dict__,
        "files": [result.to_dict() for result in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def write_junit(path: Path, results: list[FileResult], summary: Summary) -> None:
    """Write a JUnit XML report: one test case per file, one failure listing its problems."""
    suite = ElementTree.Element(
        "testsuite",
        name="dag-check",
        tests=str(summary.files),
        failures=str(summary.failed),
        errors="0",
        skipped="0",
        time=f"{summary.wall_seconds:.3f}",
    )
    for result in results:
        case = ElementTree.SubElement(
            suite, "testcase", classname="dag-check", name=result.path, time=f"{result.parse_seconds:.3f}"
        )
        if result.problems:
            rules = sorted({problem.rule_id for problem in result.problems})
            failure = ElementTree.SubElement(case, "failure", message=", ".join(rules), type="dag-check")
            failure.text = "\n".join(problem.render() for problem in result.problems)
    root = ElementTree.Element("testsuites")
    root.append(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, tuple("-" * width for width in widths), *rows)
    ]
    return "\n".join(lines)
