"""Concurrency and aggregation of ``test``: every step reported, a failure hides nothing."""

import time

import anyio
import pytest

from airflow_platform_ci.summary import (
    StepResult,
    StepsFailedError,
    ensure_passed,
    gather_steps,
    render_report,
    render_table,
)


def result(function: str, step: str, exit_code: int = 0, output: str = "") -> StepResult:
    return StepResult(function, step, exit_code, output, 0.5)


def test_groups_run_concurrently_and_keep_their_order() -> None:
    async def group(name: str, delay: float) -> list[StepResult]:
        await anyio.sleep(delay)
        return [result(name, f"{name}-step")]

    async def main() -> list[StepResult]:
        return await gather_steps(
            {
                "lint": lambda: group("lint", 0.3),
                "dag_check": lambda: group("dag_check", 0.1),
                "unit": lambda: group("unit", 0.2),
                "integration": lambda: group("integration", 0.3),
            }
        )

    started = time.monotonic()
    results = anyio.run(main)
    elapsed = time.monotonic() - started
    assert [r.function for r in results] == ["lint", "dag_check", "unit", "integration"]
    assert elapsed < 0.8, f"groups ran one after another ({elapsed:.2f} s for 0.9 s of sleeps)"


def test_a_raising_group_becomes_a_failed_result_and_the_others_finish() -> None:
    finished: list[str] = []

    async def boom() -> list[StepResult]:
        await anyio.sleep(0.01)
        raise RuntimeError("engine lost the container")

    async def slow() -> list[StepResult]:
        await anyio.sleep(0.2)
        finished.append("unit")
        return [result("unit", "unit"), result("unit", "unit-extra", exit_code=3, output="boom\n")]

    results = anyio.run(gather_steps, {"integration": boom, "unit": slow})
    assert finished == ["unit"]
    assert [(r.function, r.step, r.exit_code) for r in results] == [
        ("integration", "integration", -1),
        ("unit", "unit", 0),
        ("unit", "unit-extra", 3),
    ]
    assert results[0].output == "RuntimeError: engine lost the container"


def test_table_lists_every_step() -> None:
    table = render_table([result("lint", "ruff-check"), result("unit", "unit", exit_code=1)])
    lines = table.splitlines()
    assert lines[0] == "| function | step | result | exit code | seconds |"
    assert lines[2] == "| lint | ruff-check | pass | 0 | 0.5 |"
    assert lines[3] == "| unit | unit | FAIL | 1 | 0.5 |"


def test_report_shows_counts_and_only_the_failures_output_tail() -> None:
    long_output = "\n".join(f"line {i}" for i in range(100))
    quiet = result("lint", "ruff-check", output="quiet")
    report = render_report([quiet, result("unit", "unit", 2, long_output)])
    assert "1 passed, 1 failed" in report
    assert "### unit / unit (exit 2)" in report
    assert "line 99" in report
    assert "line 59" not in report
    assert "quiet" not in report


def test_ensure_passed_returns_the_report_or_raises_it() -> None:
    assert "2 passed, 0 failed" in ensure_passed([result("a", "x"), result("b", "y")])
    with pytest.raises(StepsFailedError, match="1 passed, 1 failed") as failed:
        ensure_passed([result("a", "x"), result("b", "y", exit_code=1, output="assert 1 == 2")])
    assert "assert 1 == 2" in str(failed.value)


def test_no_steps_is_a_failure() -> None:
    with pytest.raises(StepsFailedError):
        ensure_passed([])
